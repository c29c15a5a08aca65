"""Overlap equations (THEORY.md §5.3) against a finite-d simulation of the protocol of §1.

The simulation here is deliberately minimal and self-contained (the validation
layer has its own simulator; this one only has to be obviously right):

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

import numpy as np
import pytest

from giantstep.numerics import overlap_trajectory
from giantstep.theory import as_activation, as_target


def simulate(target, activation, *, d, p, alpha, eta, steps, readout, seed, noise=0.0):
    """Mean per-type overlaps and squared norms after each step: arrays (T+1, K, r), (T+1, K)."""
    tgt, act = as_target(target), as_activation(activation)
    r = tgt.r
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((p, d)) / np.sqrt(d)
    if readout == "constant":
        s = np.ones(p)
        groups = [np.arange(p)]
    elif readout == "sign":
        s = np.where(np.arange(p) % 2 == 0, 1.0, -1.0)
        groups = [np.flatnonzero(s > 0), np.flatnonzero(s < 0)]
    else:
        raise ValueError(readout)
    n = int(round(alpha * d))

    def measure(W):
        ov = np.array([W[g, :r].mean(axis=0) for g in groups])
        nr = np.array([np.mean(np.sum(W[g] ** 2, axis=1)) for g in groups])
        return ov, nr

    ovs, nrs = [], []
    o, q = measure(W)
    ovs.append(o)
    nrs.append(q)
    for _ in range(steps):
        X = rng.standard_normal((n, d))
        y = tgt.evaluate(X[:, :r]) + np.sqrt(noise) * rng.standard_normal(n)
        H = X @ W.T
        f = act.evaluate(H) @ s / p
        e = y - f
        D = act.derivative(H, 1) * e[:, None]
        W = W + eta * s[:, None] * (D.T @ X) / n
        o, q = measure(W)
        ovs.append(o)
        nrs.append(q)
    return np.array(ovs), np.array(nrs)


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
