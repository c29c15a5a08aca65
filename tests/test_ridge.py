"""Ridge readout: primal and dual forms agree, and both satisfy the normal equations."""

from __future__ import annotations

import numpy as np
import pytest

from giantstep.errors import InputError
from giantstep.validation.ridge import ridge, solve_primal


@pytest.mark.parametrize("n,p", [(30, 80), (80, 30), (40, 40)])
@pytest.mark.parametrize("lam", [1e-3, 0.5, 10.0])
def test_primal_and_dual_agree(n, p, lam):
    rng = np.random.default_rng(n * p)
    Phi = rng.standard_normal((n, p)) / np.sqrt(p)
    y = rng.standard_normal(n)
    a_primal = ridge(Phi, y, lam, form="primal")
    a_dual = ridge(Phi, y, lam, form="dual")
    np.testing.assert_allclose(a_primal, a_dual, rtol=1e-8, atol=1e-10)
    # stationarity of Σ(y − Φa)² + λ‖a‖²:  Φᵀ(Φa − y) + λ a = 0
    grad = Phi.T @ (Phi @ a_primal - y) + lam * a_primal
    assert np.max(np.abs(grad)) < 1e-10 * max(1.0, np.max(np.abs(Phi.T @ y)))


def test_hand_computed_one_dimensional_case():
    # one feature: a = Σ φ y / (Σ φ² + λ)
    phi = np.array([[1.0], [2.0], [-1.0]])
    y = np.array([1.0, 1.0, 2.0])
    assert ridge(phi, y, 1.0)[0] == pytest.approx((1 + 2 - 2) / (1 + 4 + 1 + 1))
    assert ridge(phi, y, 1.0, form="dual")[0] == pytest.approx(1 / 7)


def test_zero_penalty_is_min_norm_least_squares():
    rng = np.random.default_rng(1)
    Phi = rng.standard_normal((5, 12))
    y = rng.standard_normal(5)
    a = ridge(Phi, y, 0.0)
    np.testing.assert_allclose(Phi @ a, y, atol=1e-10)  # interpolates
    np.testing.assert_allclose(a, np.linalg.pinv(Phi) @ y, atol=1e-10)
    Phi = rng.standard_normal((40, 6))
    y = rng.standard_normal(40)
    np.testing.assert_allclose(solve_primal(Phi.T @ Phi, Phi.T @ y, 0.0),
                               np.linalg.lstsq(Phi, y, rcond=None)[0], atol=1e-10)


def test_bad_inputs():
    with pytest.raises(InputError):
        ridge(np.ones((3, 2)), np.ones(3), -1.0)
    with pytest.raises(InputError):
        ridge(np.ones((3, 2)), np.ones(4), 1.0)
    with pytest.raises(InputError):
        ridge(np.ones((3, 2)), np.ones(3), 1.0, form="cholesky")
