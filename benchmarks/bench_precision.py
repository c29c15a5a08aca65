"""float32 against float64 on the same seeds: speed and the change of every quantity.

Workload: target z1 + z1·z2, relu, sign readout, d = 512, p = 512, α = 2, η̃ = 1,
2 giant steps, ridge readout (λ = 0.1, n_r = 2d), 20 000 test points, 4 seeds.
Printed: per quantity the largest |float32 − float64| over seeds and types, the
float32 rounding level of :mod:`giantstep.validation.precision` and the spread
(standard deviation) over seeds; the wall time of each precision and their ratio.

Run: ``python benchmarks/bench_precision.py [--d 512] [--seeds 4]``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from giantstep.validation import simulate
from giantstep.validation.precision import rounding_level


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--seeds", type=int, default=4)
    args = ap.parse_args()
    d = args.d
    base = dict(target="z1 + z1*z2", activation="relu", d=d, p=d, alpha=2.0, steps=2, readout="sign",
                lam=0.1, n_test=20_000, eta=1.0, measure_spike=False)
    for dt in ("float64", "float32"):
        simulate(**dict(base, d=32, p=32), dtype=dt)  # compile / warm up
    runs = {"float64": [], "float32": []}
    secs = {"float64": 0.0, "float32": 0.0}
    for seed in range(args.seeds):
        for dt in runs:
            t = time.perf_counter()
            runs[dt].append(simulate(**base, seed=seed, dtype=dt))
            secs[dt] += time.perf_counter() - t

    def quantities(res) -> dict[str, float]:
        out = {}
        for rec in res.steps[1:]:
            for tp in rec["types"]:
                for i, v in enumerate(tp["overlap_mean"]):
                    out[f"step{rec['step']} {tp['type']} overlap[{i + 1}]"] = v
                out[f"step{rec['step']} {tp['type']} norm2"] = tp["norm2_mean"]
        out["train error"] = res.train_error
        out["test error"] = res.test_error
        return out

    q64 = [quantities(r) for r in runs["float64"]]
    q32 = [quantities(r) for r in runs["float32"]]
    rho = rounding_level(d)
    print(f"d = p = {d}, {args.seeds} seeds; float32 rounding level ρ = 4√d·2⁻²⁴ = {rho:.2e} (relative)")
    print(f"{'quantity':<28} {'max |f32 − f64|':>16} {'seed spread':>12} {'ratio':>9}")
    worst = 0.0
    for name in q64[0]:
        diff = max(abs(a[name] - b[name]) for a, b in zip(q64, q32))
        spread = float(np.std([a[name] for a in q64], ddof=1))
        worst = max(worst, diff / spread)
        print(f"{name:<28} {diff:16.2e} {spread:12.4f} {diff / spread:9.1e}")
    flagged = sorted({q for r in runs["float32"] for q in r.float32_unresolved})
    print(f"largest difference / seed spread: {worst:.1e}; float32_unresolved: {flagged or 'none'}")
    print(f"time: float64 {secs['float64']:.2f} s, float32 {secs['float32']:.2f} s, "
          f"speed-up {secs['float64'] / secs['float32']:.2f}x ({args.seeds} runs each)")
    assert math.isfinite(worst)


if __name__ == "__main__":
    main()
