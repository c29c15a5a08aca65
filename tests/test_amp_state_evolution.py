"""GAMP state evolution by quadrature (numerics/amp_state_evolution.py) and its numba kernel.

Hand-derived checks (docs/amp.md §4):

* noiseless linear target ``y = z1``: ``g_out = (y − ω)/V`` so ``Q̂ = α/(1 − q)`` and
  ``q = Q̂/(1 + Q̂)``; the fixed points are ``q = α`` and ``q = 1``, and from a small
  start ``q = α`` for ``α < 1``;
* ``y = z1²`` / ``z1² + z2²``: overlap 0 below ``α_c = 1/2`` / ``1`` and > 0 above (the
  linear analysis of theory/amp.py, checked by hand there);
* ``y = Σ_{i≤m} z_i² + √Δ ε`` (m = 1, 2) at ``Q = qI``: by rotation invariance the SE map
  reduces to radial integrals (:func:`radial_se_map`, derived here and in docs/amp.md §5):
  with ``ρ = |ω|`` and the radius ``s = |z|``, ``E[z·ω̂ | y, ω]`` is the ratio of
  ``∫ s² I1(sρ/V) e^{−(s²+ρ²)/2V} φ_Δ(y − s²) ds`` and ``∫ s I0(sρ/V) … ds`` (m = 2;
  ``sinh``/``cosh`` for m = 1), ``q̂ = (α/m) E_{ρ,y}[(E[z·ω̂ | y, ω] − ρ)²]/V²``. Computed on
  dense trapezoid/Gauss–Legendre grids with numpy only — the slow simple reference. For
  z1² + z2², Δ = 0.5, α = 2.2 it gives the fixed point 0.53853 (docs/amp.md: 0.5385).
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import i0e, i1e

from giantstep.errors import ConvergenceError, InputError
from giantstep.numerics.amp_kernel import accumulate_reference, accumulate_reweighted
from giantstep.numerics.amp_state_evolution import _SEMap, _solve_once, state_evolution


def radial_se_map(m: int, alpha: float, q: float, noise: float, n_r: int = 160, n_s: int = 3000,
                  n_y: int = 1500) -> float:
    """One SE step ``q ↦ q_new`` for ``y = Σ_{i≤m} z_i² + √Δ ε`` at ``Q = qI`` (module docstring)."""
    V = 1.0 - q
    t, w = np.polynomial.legendre.leggauss(n_r)
    r, wr = 4.5 * (t + 1), 4.5 * w  # |ξ| on [0, 9]
    wr = wr * (2 * np.exp(-r**2 / 2) / np.sqrt(2 * np.pi) if m == 1 else r * np.exp(-r**2 / 2))
    rho = np.sqrt(q) * r
    smax = 9 * np.sqrt(q) + 9 * np.sqrt(V) + 1
    s = np.linspace(0.0, smax, n_s)
    ws = np.full(n_s, s[1] - s[0])
    ws[[0, -1]] /= 2
    plus = np.exp(-(s[:, None] - rho[None, :]) ** 2 / (2 * V))
    if m == 1:  # z = ±s
        minus = np.exp(-(s[:, None] + rho[None, :]) ** 2 / (2 * V))
        a0 = (plus + minus) / np.sqrt(2 * np.pi * V)
        a1 = s[:, None] * (plus - minus) / np.sqrt(2 * np.pi * V)
    else:  # angular integral: 2π I0, 2π I1 (scaled Bessel functions times e^{sρ/V})
        x = np.outer(s, rho) / V
        a0 = s[:, None] * plus * i0e(x) / V
        a1 = s[:, None] ** 2 * plus * i1e(x) / V
    sd = np.sqrt(noise)
    y = np.linspace(-8 * sd, smax**2 + 8 * sd, n_y)
    phi = np.exp(-(y[:, None] - s[None, :] ** 2) ** 2 / (2 * noise)) / np.sqrt(2 * np.pi * noise)
    n0, n1 = (phi * ws) @ a0, (phi * ws) @ a1  # p(y | ρ) and p(y | ρ) E[z·ω̂ | y, ω]
    e = np.where(n0 > 1e-300, n1 / np.where(n0 > 1e-300, n0, 1.0), 0.0)
    qhat = alpha / m * np.sum(wr[None, :] * (y[1] - y[0]) * n0 * ((e - rho[None, :]) / V) ** 2)
    return qhat / (1 + qhat)


@lru_cache(maxsize=8)
def radial_fixed_point(m: int, alpha: float, noise: float) -> float:
    """The nonzero fixed point of :func:`radial_se_map` in (0.05, 0.95)."""
    return brentq(lambda q: radial_se_map(m, alpha, q, noise) - q, 0.05, 0.95, xtol=1e-8)


@pytest.mark.parametrize("alpha", [0.3, 0.6])
def test_noiseless_linear_overlap_equals_alpha(alpha):
    se = state_evolution("z1", alphas=[alpha])
    assert se.points[0].overlap == pytest.approx(alpha, abs=3e-3)


def test_phase_retrieval_transition_at_one_half():
    se = state_evolution("z1**2", alphas=[0.4, 0.47, 0.55, 0.7])
    ov = [p.overlap for p in se.points]
    assert ov[0] == 0.0 and ov[1] == 0.0
    assert se.points[0].status == "decayed"
    assert ov[2] > 0.005 and ov[3] > ov[2]


def test_two_index_transition_at_one():
    se = state_evolution("z1**2+z2**2", alphas=[0.9, 1.15])
    assert se.points[0].overlap == 0.0
    assert se.points[1].overlap > 0.01
    Q = se.points[1].matrix
    assert Q[0, 0] == pytest.approx(Q[1, 1], rel=1e-6) and abs(Q[0, 1]) < 1e-8  # O(2) symmetry


def test_small_q_map_is_the_linear_operator():
    # the quadrature SE linearises to α·F on the same grid (z1²: α·2·q); bins bias ≤ 1e-3
    f = _SEMap("z1**2", 0.0)
    q = 1e-6
    assert f(0.2, q * np.eye(1))[0, 0] / q == pytest.approx(0.4, rel=3e-3)


def test_trivial_direction_learned_at_small_alpha():
    se = state_evolution("tanh(z1)", alphas=[0.05])
    assert se.points[0].overlap > 0.01


def test_bad_input():
    with pytest.raises(InputError, match=r"alphas \(α\) must be .* each number > 0"):
        state_evolution("z1**2", alphas=[0.0, 1.0])
    with pytest.raises(InputError, match="Δ"):
        state_evolution("z1**2", alphas=[1.0], noise=-1)
    with pytest.raises(InputError, match="r ≤ 3"):
        state_evolution("z1*z2*z3*z4", alphas=[1.0])


def test_kernel_matches_reference():
    rng = np.random.default_rng(0)
    K, G, m, J = 300, 7, 2, 11
    z = rng.standard_normal((K, m))
    wz = rng.random(K)
    half = 0.5 * np.sum(z**2, axis=1)
    idx = np.stack([rng.integers(0, J - 1, K)] * 2, axis=1)
    idx[:, 1] += 1
    f = rng.random(K)
    wt = np.stack([1 - f, f], axis=1)
    om = 0.3 * rng.standard_normal((G, m))
    V = np.array([[0.7, 0.1], [0.1, 0.6]])
    Vi = np.linalg.inv(V)
    ld = float(np.linalg.slogdet(V)[1])
    a0, a1 = accumulate_reweighted(z, wz, half, idx, wt, om, Vi, ld, J)
    b0, b1 = accumulate_reference(z, wz, half, idx, wt, om, Vi, ld, J)
    assert np.allclose(a0, b0, rtol=1e-12, atol=1e-300)
    assert np.allclose(a1, b1, rtol=1e-12, atol=1e-14)


def test_saddle_with_unlearned_direction_is_escaped():
    # y = z1 + z2² + noise: z1 trivial; given z1, z2 is phase retrieval; at α = 1.5 the point
    # with Q22 = 0 is a saddle (one SE step doubles a small Q22), so both are learned
    se = state_evolution("z1 + z2**2", alphas=[1.5], noise=0.25)
    Q = se.points[0].matrix
    assert Q[0, 0] > 0.4 and Q[1, 1] > 0.3


def test_kernels_are_bit_reproducible_across_threads():
    f = _SEMap("z1**2+z2**2", 0.0)
    omega = np.ascontiguousarray(0.6 * f.xi[:40])
    V = np.array([[0.4, 0.05], [0.05, 0.5]])
    args = (f.z, f.wz, f.half_sq, f.idx, f.wt, omega, np.linalg.inv(V), float(np.linalg.slogdet(V)[1]),
            f.channel.n_cells)
    n = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = accumulate_reweighted(*args)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = accumulate_reweighted(*args)
    finally:
        numba.set_num_threads(n)
    for a, b in zip(one, many):
        assert np.array_equal(a, b)


def test_radial_reference_reproduces_the_documented_exact_value():
    # docs/amp.md §5: 0.5385 from Rice/Bessel integrals on 8000 × 12000 nodes (another code)
    assert radial_fixed_point(2, 2.2, 0.5) == pytest.approx(0.5385, abs=1e-4)


@pytest.mark.parametrize("expr, m, alpha, noise", [
    ("z1**2", 1, 1.0, 0.5),
    ("z1**2", 1, 1.5, 0.5),
    ("z1**2+z2**2", 2, 2.2, 0.5),  # 2 α_c: 8 outer nodes gave 0.5526, stated error 0.002
])
def test_overlap_and_stated_quadrature_error_against_the_radial_reference(expr, m, alpha, noise):
    se = state_evolution(expr, alphas=[alpha], noise=noise)
    p = se.points[0]
    exact = radial_fixed_point(m, alpha, noise)
    true_err = abs(p.overlap - exact)
    assert p.status == "converged"
    assert se.quadrature_error == p.quadrature_error
    assert true_err <= se.quadrature_error  # the stated error bounds the true one …
    assert se.quadrature_error < 10 * true_err + 1e-4  # … without being vacuous
    assert true_err < 2e-3
    assert se.to_list()[0]["quadrature_error"] == se.quadrature_error


def test_accelerated_and_plain_iterations_reach_the_same_fixed_point():
    f = _SEMap("z1**2", 0.5)
    Q0 = 0.3 * np.eye(1)
    Qa, ita, erra, sa = _solve_once(f, 1.5, Q0, 1e-8, 500, accelerate=True)
    Qp, itp, errp, sp = _solve_once(f, 1.5, Q0, 1e-8, 500, accelerate=False)
    assert sa == sp == "converged"
    assert abs(Qa[0, 0] - Qp[0, 0]) < 2e-8
    assert ita < itp / 3  # Anderson: a few map evaluations instead of a slow contraction
    # the stated iteration error bounds the distance to the well-converged plain result
    Qa6, _, err6, _ = _solve_once(f, 1.5, Q0, 1e-6, 500, accelerate=True)
    assert abs(Qa6[0, 0] - Qp[0, 0]) <= err6 + 1e-8


def test_quadrature_error_above_tolerance_warns_or_raises():
    se = state_evolution("z1**2", alphas=[0.4, 1.5], noise=0.5, quadrature_tol=1e-6)
    assert se.points[0].quadrature_error is None  # decayed: not checked
    assert any("quadrature error" in w and "α = 1.5" in w for w in se.warnings)
    with pytest.raises(ConvergenceError, match="quadrature error on the overlap") as exc:
        state_evolution("z1**2", alphas=[1.5], noise=0.5, quadrature_tol=1e-6, strict=True)
    assert exc.value.residual == pytest.approx(se.points[1].quadrature_error)
    quiet = state_evolution("z1**2", alphas=[1.5], noise=0.5)  # default tolerance 1e-2
    assert quiet.warnings == []
    with pytest.raises(InputError, match="check"):
        state_evolution("z1**2", alphas=[1.5], check="some")


def test_check_all_states_an_error_per_converged_point():
    se = state_evolution("z1**2", alphas=[0.4, 1.0, 1.5], noise=0.5, check="all")
    errs = [p.quadrature_error for p in se.points]
    assert errs[0] is None and errs[1] > 0 and errs[2] > 0
    assert se.quadrature_error == max(errs[1:])
