"""The p, n → ∞ limit of the several-type equations (numerics/test_error/plateau.py).

Expectations are computed independently of the code under test: relu's closed forms
``μ0(κ) = rκ Φ(rκ/c) + c φ(rκ/c)``, ``μ1(κ) = Φ(rκ/c)`` on a direct Gauss–Hermite grid in
(κ, ξ) and a Monte-Carlo least squares; the equations themselves are solved on sampled
steps at growing width.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from giantstep.numerics.test_error.plateau import state_ideal, typed_plateau
from giantstep.numerics.test_error.solver import typed as tr
from giantstep.theory import as_activation, as_target

RELU = as_activation("relu")
POLY, TANH = "z1 + (z1**2-1)/2", "tanh(2*z1)"
NOISE = 0.1


def _state(target: str, n_types: int, psi: float = 4.0, d: int = 200):
    tgt = as_target(target)
    geo = tr.sampled_typed_geometry(RELU, tgt, psi, 1.0, 1.0, NOISE, d, 0, "gaussian", n_types)
    tb = tr.typed_tables(RELU, tgt, geo.r, geo.c, geo.gamma, geo.a, 1e-10)
    return geo, tb


def _relu_basis(r, c, kap, xi):
    u = np.outer(kap, r) / c
    mu0 = np.outer(kap, r) * norm.cdf(u) + c * norm.pdf(u)
    mu1 = norm.cdf(u)
    return np.concatenate([mu0, mu1 * kap[:, None], mu1 * xi[:, None]], axis=1)


def _direct_plateau(geo, target: str, kap, xi, w):
    """Least squares of g*(γκ + aξ) on {μ0_t, κμ1_t, μ1_t ξ} by closed forms on given points."""
    y = np.asarray(as_target(target).evaluate((geo.gamma[0] * kap + geo.a[0, 0] * xi)[:, None]),
                   float)
    basis = _relu_basis(geo.r, geo.c, kap, xi)
    sw = np.sqrt(w)
    coef = np.linalg.lstsq(basis * sw[:, None], y * sw, rcond=1e-12)[0]
    return float(w @ (y - basis @ coef) ** 2) + NOISE


@pytest.mark.parametrize("target", [POLY, TANH])
@pytest.mark.parametrize("n_types", [1, 2, 4])
def test_plateau_equals_direct_quadrature(target, n_types):
    """P_T from the κ-tables equals the 2-d least squares with relu's closed forms (T = 1 is
    the one-type plateau of tests/test_multi_step_curve.py, here for relu)."""
    geo, tb = _state(target, n_types)
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    k, xi = (v.ravel() for v in np.meshgrid(x, x, indexing="ij"))
    direct = _direct_plateau(geo, target, k, xi, np.outer(w, w).ravel())
    assert typed_plateau(tb, NOISE) == pytest.approx(direct, abs=1e-6)


def test_plateau_monte_carlo():
    geo, tb = _state(POLY, 2)
    rng = np.random.default_rng(20240613)
    n = 400_000
    kap, xi = rng.standard_normal(n), rng.standard_normal(n)
    mc = _direct_plateau(geo, POLY, kap, xi, np.full(n, 1.0 / n))
    # in-sample residual of 6 regressors: bias O(6/n), spread O(1/sqrt(n))
    assert typed_plateau(tb, NOISE) == pytest.approx(mc, abs=5e-3)


@pytest.mark.parametrize("target", [POLY, TANH])
def test_plateau_decreases_with_types_and_stays_above_the_ideal(target):
    """Measured (not a theorem: a coarse bin's μ0 is not in the span of its sub-bins')."""
    vals = []
    for n_types in (1, 2, 4, 8, 16):
        _, tb = _state(target, n_types)
        vals.append(typed_plateau(tb, NOISE))
        ideal = state_ideal(tb, NOISE)
        assert vals[-1] >= ideal["linear_xi"] - 1e-9
        assert ideal["conditional_variance"] >= ideal["linear_xi"] >= NOISE
    assert np.all(np.diff(vals) <= 1e-9)


def test_relu_span_reaches_linear_plus_even_but_not_odd():
    """Derived: relu's μ0_t, κμ1_t are κ + even and μ1_t is 1/2 + odd, whatever (r_t, c_t):
    a linear + even target reaches the ideal of the state, an odd nonlinear one only the
    linear-regression residual E[g*²] − E[g* z1]² + Δ."""
    _, tb = _state(POLY, 8)
    assert typed_plateau(tb, NOISE) == pytest.approx(state_ideal(tb, NOISE)["linear_xi"],
                                                     abs=1e-6)
    _, tb = _state(TANH, 16)
    x, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / w.sum()
    g = np.tanh(2 * x)
    linear = float(w @ g**2 - (w @ (g * x)) ** 2) + NOISE
    assert typed_plateau(tb, NOISE) == pytest.approx(linear, abs=1e-5)
    assert typed_plateau(tb, NOISE) > state_ideal(tb, NOISE)["linear_xi"] + 0.01


def _gap(target, psi, d=100, n_types=4):
    geo, tb = _state(target, n_types, psi, d)
    out = tr.solve_typed_curve(np.array([300.0]), 1e-4, NOISE, tb, geo, 1e-9, 2000, 0.5)
    return float(out["test"][0]) - typed_plateau(tb, NOISE)


def test_equations_approach_the_plateau_from_above():
    gaps = [_gap(TANH, psi) for psi in (1.0, 4.0)]
    assert 0 < gaps[1] < gaps[0] / 3


@pytest.mark.slow
@pytest.mark.parametrize("target", [POLY, TANH])
def test_equations_approach_the_plateau_from_above_wide(target):
    gaps = [_gap(target, psi) for psi in (1.0, 4.0, 16.0)]
    assert 0 < gaps[2] < gaps[1] < gaps[0]
    assert gaps[2] < gaps[1] / 2.5


def test_odd_student_reaches_the_ideal_of_an_odd_target():
    """tanh student (gaussian readout reduced to |a|: odd μ0_t, even μ1_t, r_t > 0) and the
    odd target tanh(2 z1): P_T decreases with T onto the ideal of the state (measured)."""
    tanh, tgt = as_activation("tanh"), as_target(TANH)
    vals = []
    for n_types in (1, 4, 16):
        geo = tr.sampled_typed_geometry(tanh, tgt, 4.0, 16.0, 1.0, NOISE, 200, 0, "gaussian",
                                        n_types)
        tb = tr.typed_tables(tanh, tgt, geo.r, geo.c, geo.gamma, geo.a, 1e-9)
        vals.append(typed_plateau(tb, NOISE))
    ideal = state_ideal(tb, NOISE)["linear_xi"]
    assert vals[0] > vals[1] > vals[2] >= ideal - 1e-9
    assert vals[0] - ideal > 0.03 and vals[2] - ideal < 5e-4


def test_two_spike_directions_after_two_steps_monte_carlo():
    """The K = 2 path (several steps, numerics/test_error/tables/typed_steps.py, staircase z1 + z1 z2):
    P_T against a Monte-Carlo least squares with relu's closed forms in (κ1, κ2, ξ1, ξ2),
    and P_T decreasing with T onto the ideal of the state (measured)."""
    from giantstep.numerics.test_error.tables import typed_steps as mt

    tgt = as_target("z1 + z1*z2")
    vals = []
    for n_types in (2, 4, 8):
        g = mt.sampled_multi_typed_geometries(RELU, tgt, 4.0, 2.0, 1.0, NOISE, 200, 0, 2,
                                              "gaussian", n_types)[-1]
        tb = mt.multi_typed_tables(RELU, tgt, g.r, g.c, g.gamma, g.a, 1e-6)
        vals.append(typed_plateau(tb, NOISE))
    assert vals[0] > vals[1] > vals[2] >= state_ideal(tb, NOISE)["linear_xi"] - 1e-6
    assert vals[2] - state_ideal(tb, NOISE)["linear_xi"] < 2e-3
    rng = np.random.default_rng(7)
    n = 300_000
    kap, xi = rng.standard_normal((n, 2)), rng.standard_normal((n, 2))
    z = kap @ g.gamma.T + xi @ g.a.T
    y = z[:, 0] + z[:, 0] * z[:, 1]
    u = kap @ g.r.T  # (n, T) spikes ⟨r_t, κ⟩
    mu0 = u * norm.cdf(u / g.c) + g.c * norm.pdf(u / g.c)
    mu1 = norm.cdf(u / g.c)
    basis = np.concatenate([mu0, mu1 * kap[:, :1], mu1 * kap[:, 1:], mu1 * xi[:, :1],
                            mu1 * xi[:, 1:]], axis=1)
    coef = np.linalg.lstsq(basis, y, rcond=1e-12)[0]
    mc = float(np.mean((y - basis @ coef) ** 2)) + NOISE
    assert vals[2] == pytest.approx(mc, abs=0.02)
