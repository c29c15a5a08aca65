"""Finite-d Bayes-optimal GAMP (validation/gamp.py) against the quadrature state evolution.

Small versions run by default; the d = 1000, 2000 tables of docs/amp.md §5 are ``slow``.
"""

from __future__ import annotations

import numpy as np
import pytest

from giantstep.numerics.amp_state_evolution import state_evolution
from giantstep.theory.amp import amp_analysis
from giantstep.validation.gamp import gamp_versus_state_evolution, monte_carlo_operator, run_gamp


def test_gamp_is_seeded():
    a = run_gamp("z1**2", 200, 1.0, 0.1, seed=3, max_iter=20)
    b = run_gamp("z1**2", 200, 1.0, 0.1, seed=3, max_iter=20)
    assert np.array_equal(a.matrix, b.matrix)


def test_gamp_small_below_and_above_threshold():
    ac = amp_analysis("z1**2", 0.1).stages[0].alpha_c
    se = state_evolution("z1**2", [2 * ac], 0.1).points[0].overlap
    below = [run_gamp("z1**2", 400, 0.5 * ac, 0.1, seed=s, max_iter=100).overlap for s in (0, 1)]
    above = [run_gamp("z1**2", 400, 2 * ac, 0.1, seed=s, max_iter=150).overlap for s in (0, 1)]
    assert max(below) < 3 / np.sqrt(400)
    assert np.mean(above) > 0.5 * se
    assert np.mean(above) == pytest.approx(se, abs=0.2)


def test_monte_carlo_operator_agrees_with_quadrature():
    T, F, lam = monte_carlo_operator("z1**2", 0.0, n_samples=400_000, seed=1)
    assert abs(T[0, 0]) < 1e-2
    assert lam == pytest.approx(2.0, rel=0.03)


_SHORT = pytest.mark.xfail(reason="finite-d multi-index GAMP falls short of the SE value above α_c "
                            "(ŴᵀŴ/d > 1 for z1²+z2²): open, docs/amp.md §7", strict=False)


@pytest.mark.parametrize("expr, noise", [("z1**2", 0.1), pytest.param("z1*z2", 0.25, marks=_SHORT),
                                         pytest.param("z1**2+z2**2", 0.5, marks=_SHORT)])
@pytest.mark.slow
def test_gamp_tables(expr, noise):
    ac = amp_analysis(expr, noise).stages[0].alpha_c
    rows = gamp_versus_state_evolution(expr, noise, [0.6 * ac, 2.0 * ac], [1000, 2000], [0, 1, 2, 3])
    for row in rows:
        if row["alpha"] < ac:
            assert row["se_overlap"] == 0.0
            assert row["mean"] < 3 / np.sqrt(row["d"])
        else:
            assert row["mean"] == pytest.approx(row["se_overlap"], abs=max(0.1, 3 * row["sem"]))
