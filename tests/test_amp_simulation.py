"""Finite-d Bayes-optimal GAMP (validation/gamp.py) against the quadrature state evolution.

Small versions run by default; the d = 1000, 2000 tables of docs/amp.md §5 are ``slow``.

Exact facts used (docs/amp.md §5): Bayes-optimal GAMP satisfies the Nishimori identity
``Q = ŴᵀŴ/d ≈ M = ŴᵀW*/d`` (up to the symmetries of the target), hence ``Q ≤ I``; the
undamped iteration is unstable for ``z1² + z2²`` above α_c (its variance recursion has
gain ``−α J``, ``J = 1`` at Δ = 0 for Σ z_i², so ≈ −2 at α = 2.2) and loses ``I + A ≻ 0``.
"""

from __future__ import annotations

import numpy as np
import pytest

from giantstep.errors import ConvergenceError, InputError
from giantstep.numerics.amp_state_evolution import state_evolution
from giantstep.theory.amp import amp_analysis
from giantstep.validation.gamp import gamp_versus_state_evolution, monte_carlo_operator, run_gamp


def test_gamp_is_seeded():
    a = run_gamp("z1**2", 200, 1.0, 0.1, seed=3, max_iter=20)
    b = run_gamp("z1**2", 200, 1.0, 0.1, seed=3, max_iter=20)
    assert np.array_equal(a.matrix, b.matrix)


def test_gamp_small_below_and_above_threshold():
    ac = amp_analysis("z1**2", noise=0.1).stages[0].alpha_c
    se = state_evolution("z1**2", alphas=[2 * ac], noise=0.1).points[0].overlap
    below = [run_gamp("z1**2", 400, 0.5 * ac, 0.1, seed=s, max_iter=100).overlap for s in (0, 1)]
    above = [run_gamp("z1**2", 400, 2 * ac, 0.1, seed=s, max_iter=150).overlap for s in (0, 1)]
    assert max(below) < 3 / np.sqrt(400)
    assert np.mean(above) > 0.5 * se
    assert np.mean(above) == pytest.approx(se, abs=0.2)


def test_gamp_two_index_above_threshold_is_bayes_consistent():
    # the regression test of the multi-index failure (docs/amp.md §5, §7): before the fix
    # the self-overlap reached ≈ 1.4 per direction and the overlap stayed far below the SE
    ac = amp_analysis("z1**2+z2**2", noise=0.5).stages[0].alpha_c
    se = state_evolution("z1**2+z2**2", alphas=[2 * ac], noise=0.5).points[0].overlap
    runs = [run_gamp("z1**2+z2**2", 400, 2 * ac, 0.5, seed=s, max_iter=100) for s in (0, 1, 2)]
    for r in runs:
        Q = r.self_overlap
        assert np.linalg.eigvalsh(Q)[-1] <= 1.0  # Nishimori: Q = M ≤ I
        assert max(np.linalg.eigvalsh(q)[-1] for q in r.history_self_overlap) <= 1.0
        assert np.trace(Q) / 2 == pytest.approx(r.overlap, abs=0.1)  # Q ≈ M up to the O(2) symmetry
    # finite-d spread of one run at d = 400 is ≈ ±0.1 (docs/amp.md §5): the mean of three
    assert np.mean([r.overlap for r in runs]) == pytest.approx(se, abs=0.1)


def test_undamped_gamp_loses_the_channel_precision():
    # the cause (docs/amp.md §5, (C4)): without damping the variance recursion oscillates
    # with growing amplitude and I + A stops being positive definite within a few steps
    with pytest.raises(ConvergenceError, match="not positive definite"):
        run_gamp("z1**2+z2**2", 400, 2.2, 0.5, seed=0, max_iter=60, damping=0.0)


def test_gamp_rejects_bad_damping():
    with pytest.raises(InputError, match="damping"):
        run_gamp("z1**2", 50, 1.0, 0.1, seed=0, damping=1.0)


def test_monte_carlo_operator_agrees_with_quadrature():
    T, F, lam = monte_carlo_operator("z1**2", 0.0, n_samples=400_000, seed=1)
    assert abs(T[0, 0]) < 1e-2
    assert lam == pytest.approx(2.0, rel=0.03)


@pytest.mark.parametrize("expr, noise", [("z1**2", 0.1), ("z1*z2", 0.25), ("z1**2+z2**2", 0.5)])
@pytest.mark.slow
def test_gamp_tables(expr, noise):
    # the 0.6 α_c and 2 α_c rows of the tables of docs/amp.md §5 (8 seeds, d = 1000, 2000)
    ac = amp_analysis(expr, noise=noise).stages[0].alpha_c
    rows = gamp_versus_state_evolution(expr, noise, [0.6 * ac, 2.0 * ac], [1000, 2000], range(8))
    for row in rows:
        assert row["self_max"] <= 1.0  # Nishimori: ŴᵀŴ/d ≈ ŴᵀW*/d ≤ I
        if row["alpha"] < ac:
            assert row["se_overlap"] == 0.0
            assert row["mean"] < 3 / np.sqrt(row["d"])
        else:
            assert row["mean"] == pytest.approx(row["se_overlap"], abs=max(0.1, 3 * row["sem"]))
