"""The two public reference protocols, run with this package's simulator.

(i) :func:`stairway` — one giant step with preprocessing (mean and linear part of the
labels removed), Hermite teacher ``(h(z1) + h(z2))/2`` with ``h = He4/24 + He2/2 + He1``,
relu student, gaussian readout ``a0 = randn(p)/√p``, ``η = 10·√(n p)``, ridge λ = 1,
test error versus ``κ = log n / log d`` (the "stairway"). As in the public notebook the
readout is fitted on the step's batch; unlike it, the preprocessing estimates used at
test time are the training ones (docs/model.md §1), so expect small differences.

(ii) :func:`gradient_orientation` — several giant steps with ``η = 2p`` (η̃ = 2),
``n = d``, sign readout, relu student, teacher ``(σ1*(z1) + σ2*(z2))/2``: the cosines
of each neuron's update with the two target directions, step by step. After the first
step every update points along ``μ1(σ1*) e1 + μ1(σ2*) e2`` (§5.1), so the cosines lie on
a line of slope ``μ1(σ2*)/μ1(σ1*)``; with ``z + z²`` and ``z − z²`` (leap 1, §3) later
steps leave that line, with ``4z + z²`` and ``z`` they stay on it.

``python -m giantstep.validation.reference {stairway,orientation} …`` prints JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np

from giantstep.theory import as_activation
from giantstep.theory.expr.parsing import X, zvar

from .simulator import SimulationConfig, simulate

H_TEACHER = "(He4(z1)/24 + He2(z1)/2 + He1(z1) + He4(z2)/24 + He2(z2)/2 + He1(z2))/2"
TEACHER_PAIRS = {
    "stairs": ("x + x**2", "x - x**2"),
    "spike": ("4*x + x**2", "x"),
}


def _two_index_target(f1: str, f2: str) -> str:
    e1 = as_activation(f1).expr.subs(X, zvar(1))
    e2 = as_activation(f2).expr.subs(X, zvar(2))
    return str((e1 + e2) / 2)


def stairway(
    d: int = 512,
    p: int = 1024,
    kappas: tuple[float, ...] = (1.3, 1.65, 2.0),
    seeds: int = 3,
    lam: float = 1.0,
    n_test: int = 100_000,
    dtype: str = "float64",
) -> list[dict[str, Any]]:
    """Reference protocol (i): test error after one preprocessed giant step versus κ."""
    out = []
    for kappa in kappas:
        n = int(d**kappa)
        errs = []
        for seed in range(seeds):
            cfg = SimulationConfig(target=H_TEACHER, activation="relu", d=d, p=p, n_samples=n,
                                   eta_raw=10.0 * math.sqrt(n * p), steps=1, readout="gaussian",
                                   preprocess=2, lam=lam, readout_on_step_batch=True,
                                   n_test=n_test, seed=seed, dtype=dtype, measure_spike=False)
            errs.append(simulate(cfg).test_error)
        e = np.array(errs)
        out.append({"kappa": math.log(n) / math.log(d), "n": n, "test_error_mean": float(e.mean()),
                    "test_error_std": float(e.std()), "seeds": seeds})
    return out


def gradient_orientation(
    pair: str = "stairs",
    d: int = 4096,
    p: int = 1024,
    steps: int = 6,
    seed: int = 0,
    dtype: str = "float64",
) -> dict[str, Any]:
    """Reference protocol (ii): cosines of the updates with the two target directions."""
    f1, f2 = TEACHER_PAIRS[pair]
    mu1 = as_activation(f1).mu(1)
    mu2 = as_activation(f2).mu(1)
    cfg = SimulationConfig(target=_two_index_target(f1, f2), activation="relu", d=d, p=p,
                           alpha=1.0, eta=2.0, steps=steps, readout="sign", n_test=0, seed=seed,
                           dtype=dtype, record_neurons=True, measure_spike=False)
    res = simulate(cfg)
    cos = res.neurons["grad_cosine"]  # (T, p, 2)
    s = res.neurons["s"]
    rows = []
    for t in range(steps):
        for label, mask in (("s=+1", s > 0), ("s=-1", s < 0)):
            c1, c2 = cos[t, mask, 0], cos[t, mask, 1]
            slope = float(c1 @ c2 / (c1 @ c1))  # least squares through the origin
            rows.append({
                "step": t + 1,
                "type": label,
                "mean_cos": [float(c1.mean()), float(c2.mean())],
                "std_cos": [float(c1.std()), float(c2.std())],
                "slope": slope,
                "rms_off_predicted_line": float(np.sqrt(np.mean((c2 - mu2 / mu1 * c1) ** 2))),
            })
    return {"teachers": [f1, f2], "target": cfg.target, "predicted_slope": mu2 / mu1,
            "d": d, "p": p, "n": cfg.n, "eta": 2.0 * p, "steps": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="public reference protocols")
    sub = ap.add_subparsers(dest="which", required=True)
    s = sub.add_parser("stairway")
    s.add_argument("--d", type=int, default=512)
    s.add_argument("--p", type=int, default=1024)
    s.add_argument("--kappas", default="1.3,1.65,2.0")
    s.add_argument("--seeds", type=int, default=3)
    s.add_argument("--n-test", type=int, default=100_000)
    o = sub.add_parser("orientation")
    o.add_argument("--pair", choices=sorted(TEACHER_PAIRS), default="stairs")
    o.add_argument("--d", type=int, default=4096)
    o.add_argument("--p", type=int, default=1024)
    o.add_argument("--steps", type=int, default=6)
    o.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.which == "stairway":
        kappas = tuple(float(k) for k in args.kappas.split(","))
        res: Any = stairway(args.d, args.p, kappas, args.seeds, n_test=args.n_test)
    else:
        res = gradient_orientation(args.pair, args.d, args.p, args.steps, args.seed)
    json.dump(res, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
