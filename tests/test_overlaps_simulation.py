"""Overlap equations (docs/model.md §5.3) against a finite-d simulation of the protocol of §1.

The simulation is the tests' oracle (``tests/naive_protocol.py``, deliberately minimal and
independent of the validation layer's simulator; it only has to be obviously right):

* ``x ~ N(0, I_d)``; by rotation invariance of x and of the initialisation we
  take ``W* = [I_r, 0]``, so ``z = x[:r]`` and the target overlaps of a row are
  its first r entries;
* ``W0 = randn(p, d)/√d``; readout ``a = s/√p`` with ``s = 1`` (constant) or
  ``s = ±1`` in equal numbers (sign), frozen;
* T giant steps, each on a fresh batch of ``n = α d`` samples:
  ``e = y − f(x)``, ``f(x) = (1/p) Σ_j s_j σ(⟨w_j, x⟩)``,
  ``w_j ← w_j + η̃ s_j (1/n) Σ_ν e_ν σ'(⟨w_j, x_ν⟩) x_ν`` (ℓ = 1, η = η̃ p);
* measured per step and per type: the mean over the type's neurons of the
  target overlaps and of ``‖w_j‖²``.

Acceptance (the issue's rule): |theory − mean over seeds| ≤ 3 s.e. + 0.03 for
d = 1024–2048 (slow test, several seeds); the default run uses d = 384 with
2 seeds and a looser, stated margin (3 s.e. + 0.06): at finite d each batch
moves the overlaps shared by all neurons by O(η̃/√n), which is what the
seed-to-seed spread measures.
"""

from __future__ import annotations

import naive_protocol as naive
import numpy as np
import pytest

from giantstep.numerics import overlap_trajectory
from giantstep.theory import as_activation, as_target

GAUSSIAN_BINS = 6


def simulate(target, activation, *, d, p, alpha, eta, steps, readout, seed, noise=0.0,
             return_s=False):
    """Mean per-type overlaps and squared norms after each step: arrays (T+1, K, r), (T+1, K).

    The protocol is the tests' oracle (:mod:`naive_protocol`), ℓ = 1 (learning rate η̃). For the
    gaussian readout the "types" are GAUSSIAN_BINS quantile bins of s; with ``return_s`` the
    readout values of each bin are returned as a third item."""
    tgt, act = as_target(target), as_activation(activation)
    r = tgt.r
    rng = np.random.default_rng(seed)
    W, s = naive.draw_init(rng, p, d, readout=readout)
    groups = naive.readout_types(s, readout, bins=GAUSSIAN_BINS)
    batches = naive.fresh_batches(rng, int(round(alpha * d)), d, lambda X: tgt.evaluate(X[:, :r]), noise)
    stats = [naive.type_means(W, groups, r)]
    stats += [naive.type_means(Wt, groups, r)
              for Wt, _ in naive.train(W, s, act, batches, steps=steps, lr=eta)]
    ovs, nrs = np.array([o for o, _ in stats]), np.array([q for _, q in stats])
    if return_s:
        return ovs, nrs, [s[g] for g in groups]
    return ovs, nrs


def compare(target, activation, readout, *, alpha, eta, steps, d, p, seeds):
    """Rows (step, type, quantity, theory, sim mean, s.e.) for overlaps and norms."""
    th = overlap_trajectory(target, activation, alpha=alpha, eta=eta, steps=steps, readout=readout)
    sims = [simulate(target, activation, d=d, p=p, alpha=alpha, eta=eta, steps=steps,
                     readout=readout, seed=sd) for sd in seeds]
    ov = np.array([x[0] for x in sims])  # (S, T+1, K, r)
    nr = np.array([x[1] for x in sims])  # (S, T+1, K)
    S = len(seeds)
    rows = []
    for t in range(1, steps + 1):
        for k, tp in enumerate(th.steps[t].types):
            for i in range(len(tp.overlap)):
                vals = ov[:, t, k, i]
                rows.append((t, tp.s, f"m{i + 1}", tp.overlap[i], vals.mean(),
                             vals.std(ddof=1) / np.sqrt(S)))
            vals = nr[:, t, k]
            rows.append((t, tp.s, "norm2", tp.norm2, vals.mean(), vals.std(ddof=1) / np.sqrt(S)))
    return rows


CASES = [
    ("((z1+z1**2)+(z2-z2**2))/2", "relu", "sign", 2.0, 2.0),
    ("((z1+z1**2)+(z2-z2**2))/2", "tanh", "constant", 1.0, 2.0),
    ("z1 + z1*z2", "relu", "constant", 2.0, 1.0),
    ("z1 + z1*z2", "tanh", "sign", 1.0, 2.0),
    ("tanh(2*z1)", "relu", "constant", 1.0, 2.0),
    ("tanh(2*z1)", "tanh", "sign", 2.0, 2.0),
]


def _check(rows, margin):
    bad = [r for r in rows if r[2] != "norm2" and abs(r[3] - r[4]) > 3 * r[5] + margin]
    assert not bad, "theory outside 3 s.e. + margin: " + "; ".join(
        f"step {t} s={s:+g} {q}: theory {a:.4f} sim {b:.4f} ± {c:.4f}" for t, s, q, a, b, c in bad)


@pytest.mark.parametrize("target,activation,readout,alpha,eta", CASES[::2] + [CASES[3]])
def test_overlaps_match_small_simulation(target, activation, readout, alpha, eta):
    """Reduced check (d = 384, p = 192, 2 seeds, 3 steps, margin 0.06)."""
    rows = compare(target, activation, readout, alpha=alpha, eta=eta, steps=3, d=384, p=192,
                   seeds=[11, 12])
    _check(rows, 0.06)


@pytest.mark.slow
@pytest.mark.parametrize("target,activation,readout,alpha,eta", CASES)
def test_overlaps_match_simulation(target, activation, readout, alpha, eta):
    """The issue's check: d = 2048 (p = 1024), 4 seeds, 3 steps, 3 s.e. + 0.03."""
    rows = compare(target, activation, readout, alpha=alpha, eta=eta, steps=3, d=2048, p=1024,
                   seeds=[1, 2, 3, 4])
    _check(rows, 0.03)


def compare_gaussian(target, activation, *, alpha, eta, steps, d, p, seeds, n_types=8):
    """Gaussian readout: simulated neurons binned by s against the theory's type curve m(s).

    The theory curve is evaluated at 15 probe values of s (zero-weight types that move in
    the mean field of the K-type law, :func:`giantstep.numerics.overlaps.multi_step.type_curve`),
    interpolated by a cubic spline at every simulated neuron's s and averaged over the bin
    exactly as the simulation averages the neurons."""
    from scipy.interpolate import CubicSpline

    from giantstep.numerics.overlaps.multi_step import type_curve

    grid = np.linspace(-4.5, 4.5, 15)
    th_ov, th_nr = type_curve(target, activation, grid, alpha=alpha, eta=eta, steps=steps,
                              readout="gaussian", n_types=n_types)
    rows = []
    sims = [simulate(target, activation, d=d, p=p, alpha=alpha, eta=eta, steps=steps,
                     readout="gaussian", seed=sd, return_s=True) for sd in seeds]
    S = len(seeds)
    for t in range(1, steps + 1):
        spl_o = CubicSpline(grid, th_ov[t], axis=0)
        spl_n = CubicSpline(grid, th_nr[t])
        for b in range(GAUSSIAN_BINS):
            s_mean = np.mean([sim[2][b].mean() for sim in sims])
            th_o = np.mean([spl_o(sim[2][b]).mean(axis=0) for sim in sims], axis=0)
            th_n = np.mean([spl_n(sim[2][b]).mean() for sim in sims])
            for i in range(th_o.size):
                vals = np.array([sim[0][t, b, i] for sim in sims])
                rows.append((t, s_mean, f"m{i + 1}", th_o[i], vals.mean(),
                             vals.std(ddof=1) / np.sqrt(S)))
            vals = np.array([sim[1][t, b] for sim in sims])
            rows.append((t, s_mean, "norm2", th_n, vals.mean(), vals.std(ddof=1) / np.sqrt(S)))
    return rows


def test_gaussian_readout_small_simulation():
    """Reduced gaussian-readout check (d = 384, p = 384, 2 seeds, 2 steps, margin 0.06)."""
    rows = compare_gaussian("((z1+z1**2)+(z2-z2**2))/2", "relu", alpha=2.0, eta=1.0, steps=2,
                            d=384, p=384, seeds=[5, 6], n_types=6)
    _check(rows, 0.06)


@pytest.mark.slow
@pytest.mark.parametrize("target,activation", [("((z1+z1**2)+(z2-z2**2))/2", "relu"),
                                               ("z1 + z1*z2", "tanh")])
def test_gaussian_readout_simulation(target, activation):
    """docs/model.md §5.3 gaussian readout: d = p = 2048, 4 seeds, 3 steps, K = 8, 3 s.e. + 0.03."""
    rows = compare_gaussian(target, activation, alpha=2.0, eta=1.0, steps=3, d=2048, p=2048,
                            seeds=[1, 2, 3, 4], n_types=8)
    _check(rows, 0.03)
