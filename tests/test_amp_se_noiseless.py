"""Exact Δ = 0 state evolution of ``y = z1² + z2²`` and the library's noiseless route
(docs/amp.md §4, "Δ = 0, continuous label").

Derived here. At ``Q = qI`` (rotation invariance), ``V = vI`` with ``v = 1 − q``; given ω and
``y = |z|² = s²``, ``z ~ N(ω, vI)`` restricted to the circle of radius s has a von Mises
angle around ω̂ with concentration ``κ = sρ/v`` (ρ = |ω|), so

    E[z | y, ω] = s · I1(κ)/I0(κ) · ω̂,   g_out = (E[z | y, ω] − ω)/v,
    q̂ = (α/2) E_{ρ, s}[(s I1(κ)/I0(κ) − ρ)²] / v²,   q' = q̂/(1 + q̂),

with ρ Rayleigh(√q) and s | ρ Rice(ρ, √v): ``p(s|ρ) = (s/v) e^{−(s−ρ)²/(2v)} Ĩ0(sρ/v)``
(scaled Bessel functions, no overflow). The two integrals are done on dense piecewise
Gauss–Legendre grids; the map is checked against a Monte-Carlo estimate of the same
expectation and against the linear analysis (α_c = r/2 = 1).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import ive

from giantstep.numerics.amp_state_evolution import state_evolution


def _panels(a: float, b: float, npan: int, n: int = 8):
    x, w = np.polynomial.legendre.leggauss(n)
    e = np.linspace(a, b, npan + 1)
    h = np.diff(e)[:, None]
    return (e[:-1, None] + 0.5 * h * (x + 1)).ravel(), (0.5 * h * w).ravel()


def radial_se_map_noiseless(alpha: float, q: float, npan: int = 160) -> float:
    """The exact Δ = 0 SE map ``q ↦ q'`` of ``z1² + z2²`` at ``Q = qI`` (module docstring)."""
    v = 1.0 - q
    rho, wr = _panels(0.0, 9.0 * np.sqrt(q), npan)
    prho = wr * rho / q * np.exp(-rho**2 / (2 * q))
    u, wu = _panels(-10.0, 10.0, npan)  # s = ρ + √v u, clipped at 0
    s = rho[:, None] + np.sqrt(v) * u[None, :]
    ok = s > 0
    s = np.where(ok, s, 0.0)
    k = s * rho[:, None] / v
    ps = np.where(ok, (s / v) * np.exp(-((s - rho[:, None]) ** 2) / (2 * v)) * ive(0, k), 0.0)
    ratio = np.where(ok, ive(1, k) / np.where(ok, ive(0, k), 1.0), 0.0)
    integrand = ps * (s * ratio - rho[:, None]) ** 2 * np.sqrt(v) * wu[None, :]
    qh = 0.5 * alpha * float(prho @ integrand.sum(axis=1)) / v**2
    return qh / (1.0 + qh)


def radial_fixed_point_noiseless(alpha: float) -> float:
    return brentq(lambda q: radial_se_map_noiseless(alpha, q) - q, 1e-3, 0.99, xtol=1e-8)


def test_radial_map_is_converged_and_normalised():
    a = radial_se_map_noiseless(2.0, 0.5, 160)
    b = radial_se_map_noiseless(2.0, 0.5, 240)
    assert a == pytest.approx(b, abs=5e-8)
    # the independent loop version of the same integrals (per-ρ grids, 200 panels): 0.5314080
    assert a == pytest.approx(0.5314080, abs=2e-7)


@pytest.mark.parametrize("q", [0.3, 0.8])
def test_radial_map_equals_monte_carlo(q):
    rng = np.random.default_rng(0)
    n, v, alpha = 400_000, 1 - q, 2.0
    om = np.sqrt(q) * rng.standard_normal((n, 2))
    z = om + np.sqrt(v) * rng.standard_normal((n, 2))
    s, r = np.linalg.norm(z, axis=1), np.linalg.norm(om, axis=1)
    g2 = (s * ive(1, s * r / v) / ive(0, s * r / v) - r) ** 2 / v**2
    qh, se = 0.5 * alpha * g2.mean(), 0.5 * alpha * g2.std() / np.sqrt(n)
    exact_qh = 1 / (1 / radial_se_map_noiseless(alpha, q) - 1)
    assert abs(qh - exact_qh) < 4 * se


def test_radial_map_linearises_at_the_threshold_alpha_c_equal_one():
    # α_c = r/2 = 1 for z1² + z2² (hand-derived in tests/test_amp.py): q' ≈ α q for small q
    for alpha in (0.5, 1.0, 1.5):
        assert radial_se_map_noiseless(alpha, 1e-4) / 1e-4 == pytest.approx(alpha, rel=2e-3)


# exact fixed points (this reference, brentq to 1e-8): docs/amp.md §4 table
EXACT = {1.25: 0.110563, 1.5: 0.270142, 1.75: 0.486085, 1.9: 0.660202, 2.0: 0.829683}


@pytest.mark.parametrize("alpha", [1.9])
def test_exact_fixed_points_of_the_table(alpha):
    assert radial_fixed_point_noiseless(alpha) == pytest.approx(EXACT[alpha], abs=2e-6)


def test_library_noiseless_route_is_a_lower_bound_within_its_stated_error():
    """Δ = 0: the SE of the soft-quantised label is below the exact value (information is
    lost, never added) and its stated quadrature error bounds the distance."""
    se = state_evolution("z1**2 + z2**2", alphas=[1.25, 1.75], check="all")
    for p in se.points:
        exact = EXACT[p.alpha]
        assert p.overlap <= exact
        assert exact - p.overlap <= p.quadrature_error
        # the finer rule halves the label cells: closer to the exact value
        assert abs(p.fine_overlap - exact) < abs(p.overlap - exact)
