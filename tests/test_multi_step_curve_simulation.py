"""Several-step test error (docs/model.md §6.2) against simulations of docs/model.md §1.

Slow (``pytest -m slow``, ≈ 1.5 h on the shared 2-core machine): d = 1024, p = ψ d, seeds
0–7, 2·10⁴ test points, α ∈ {0.5, 2}; the ridge readout is refit after every step t = 0..4
on the same fresh readout samples (``simulate(..., readout_every_step=True)``). Criterion of
|theory − mean over seeds| ≤ 0.01 + 2 s.e. at every step t = 1..4 (s.e. of the
simulation combined with the spread of the sampled draws of the theory), asserted on the
points flagged ``validated``.

``python tests/test_multi_step_curve_simulation.py [CONFIGS] [d] [seeds]`` prints the
markdown table of docs/multi_step_error.md.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from giantstep.numerics.test_error.curves.multi_step import multi_step_learning_curve
from giantstep.validation.simulator import simulate

ALPHAS = (0.5, 2.0)
STEPS = 4
CONFIGS = {
    "A staircase": dict(target="z1 + z1*z2", activation="relu", readout="constant", alpha0=2.0,
                        eta=1.0, lam=0.05, psi=1.0, noise=0.0),
    "B leap 2": dict(target="z1 + z2*z3", activation="erf", readout="constant", alpha0=2.0,
                     eta=1.5, lam=0.05, psi=1.0, noise=0.0),
    "C parity, sign": dict(target="z1 + z1*z2", activation="tanh", readout="sign", alpha0=2.0,
                           eta=1.5, lam=0.05, psi=1.0, noise=0.0),
    "D relu, p = d/2": dict(target="tanh(2*z1)", activation="relu", readout="constant",
                            alpha0=1.0, eta=1.0, lam=0.05, psi=0.5, noise=0.1),
    "F tanh staircase, p = 2d": dict(target="tanh(2*z1) + 0.5*(z1**2-1)*z2", activation="tanh",
                                     readout="constant", alpha0=2.0, eta=1.5, lam=0.05, psi=2.0,
                                     noise=0.0),
    "G tanh, noise": dict(target="tanh(2*z1)", activation="tanh", readout="constant", alpha0=1.0,
                          eta=2.0, lam=0.05, psi=1.0, noise=0.1),
}


def theory(cfg: dict):
    return multi_step_learning_curve(
        cfg["activation"], cfg["target"], alpha0=cfg["alpha0"], eta=cfg["eta"], steps=STEPS,
        lam=cfg["lam"], alphas=list(ALPHAS), noise=cfg["noise"], width_ratio=cfg["psi"],
        readout=cfg["readout"], warn=False)


def simulation(cfg: dict, d: int, seeds: int, n_test: int = 20_000) -> np.ndarray:
    """(len(ALPHAS), seeds, STEPS + 1) ridge test errors after t = 0..STEPS steps."""
    p = int(round(cfg["psi"] * d))
    out = np.empty((len(ALPHAS), seeds, STEPS + 1))
    for i, a in enumerate(ALPHAS):
        for s in range(seeds):
            res = simulate(target=cfg["target"], activation=cfg["activation"], d=d, p=p,
                           steps=STEPS, alpha=cfg["alpha0"], eta=cfg["eta"],
                           readout=cfg["readout"], noise=cfg["noise"], lam=cfg["lam"],
                           alpha_readout=a, n_test=n_test, seed=s, readout_every_step=True,
                           measure_spike=False)
            out[i, s] = [st["readout"]["test_error"] for st in res.steps]
    return out


def rows(name: str, d: int, seeds: int):
    """(config, α, t, theory, sim mean, s.e. = sim s.e. ⊕ draw spread/√draws, validated)."""
    cfg = CONFIGS[name]
    cur = theory(cfg)
    sims = simulation(cfg, d, seeds)
    mean, se = sims.mean(axis=1), sims.std(axis=1, ddof=1) / np.sqrt(seeds)
    draws = cur.params.get("spectrum_draws", 1)
    out = []
    for i, a in enumerate(ALPHAS):
        out.append((name, a, 0, float(cur.lazy_test_error[i]), mean[i, 0], se[i, 0], True))
        for t in range(1, STEPS + 1):
            st = cur.steps[t - 1]
            spread = 0.0 if st["test_error_std"] is None else st["test_error_std"][i] / np.sqrt(draws)
            out.append((name, a, t, float(st["test_error"][i]), mean[i, t],
                        float(np.hypot(se[i, t], spread)), bool(st["validated"][i])))
    return out, cur


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONFIGS))
def test_multi_step_error_against_simulation(name):
    """Every *validated* point (t ≥ 1) within 0.01 + 2 s.e.; 8 seeds, 12 for A and B (the
    targets with a z_i z_j part are heavy-tailed: 4 seeds are not enough, and A at α = 0.5,
    t = 1 missed with 8 seeds but not with 12, docs/multi_step_error.md)."""
    table, cur = rows(name, 1024, 12 if name.split()[0] in ("A", "B") else 8)
    assert cur.validated[:, list(ALPHAS).index(2.0)].all()  # α = 2 is inside the region
    for _, a, t, th, m, se, ok in table:
        if t == 0 or not ok:
            continue
        assert abs(th - m) <= 0.01 + 2 * se, (name, a, t, th, m, se)


def main(argv: list[str]) -> None:
    names = argv[1].split(",") if len(argv) > 1 else list(CONFIGS)
    names = [n for n in CONFIGS if n.split()[0] in names or n in names]
    d = int(argv[2]) if len(argv) > 2 else 1024
    seeds = int(argv[3]) if len(argv) > 3 else 8
    print("| config | α | step t | theory | simulation (mean ± s.e.) | theory − sim | "
          "0.01 + 2 s.e. | pass |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        table, _ = rows(name, d, seeds)
        for _, a, t, th, m, se, _ in table:
            tolv = 0.01 + 2 * se
            print(f"| {name} | {a:g} | {t} | {th:.4f} | {m:.4f} ± {se:.4f} | {th - m:+.4f} | "
                  f"{tolv:.4f} | {'✓' if abs(th - m) <= tolv else '✗'} |", flush=True)


if __name__ == "__main__":
    main(sys.argv)
