"""Multivariate Hermite tensors: Parseval, Monte Carlo, rotation covariance, separable/ridge forms."""

import math

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from giantstep.theory import Target
from giantstep.theory.expr.parsing import zvar


def _gaussian_moment(m: int) -> int:
    return 0 if m % 2 else math.prod(range(m - 1, 0, -2))


def exact_second_moment(expr, r):
    """E[g²] from the Gaussian moments of the expanded square (independent of the Hermite code)."""
    zs = [zvar(i + 1) for i in range(r)]
    poly = sympy.Poly(sympy.expand(expr**2), *zs)
    return sum(c * math.prod(_gaussian_moment(n) for n in monom) for monom, c in poly.terms())


@pytest.mark.parametrize("text", ["z1 + z1*z2", "z1*z2*z3 + He4(z2)/24 - 3", "(z1+z1**2)/2 + (z2-z2**2)/2",
                                  "(z1 + 2*z2 - z3)**3", "z1**6 - z2**5*z1 + 7"])
def test_parseval_exact(text):
    t = Target(text)
    e = t.expansion
    total = sum(e.exact_energy(k) for k in range(e.max_degree + 1))
    assert sympy.simplify(total - exact_second_moment(t.expr, t.r)) == 0


def test_hand_derived_tensors():
    t = Target("z1 + z1*z2")
    assert np.allclose(t.tensor(1), [1, 0])
    assert np.allclose(t.tensor(2), [[0, 1], [1, 0]])
    t = Target("He3(z1)")
    T3 = t.tensor(3)
    assert T3[0, 0, 0] == 6 and np.count_nonzero(T3) == 1
    t = Target("z1**2")  # z² = He_2 + 1 → C_0 = 1, C_2 = 2
    assert float(t.tensor(0)) == 1 and t.tensor(2)[0, 0] == 2
    assert t.energy(2) == 2  # ‖P_2‖² = C_2²/2!


def test_sign_product_and_ridge_are_exact():
    t = Target("sign(z1*z2*z3)")
    T = t.tensor(3)
    expected = (2 / math.pi) ** 1.5  # E[sign(z) z]^3
    assert abs(T[0, 1, 2] - expected) < 1e-12
    assert abs(t.energy(3) - (2 / math.pi) ** 3) < 1e-12
    assert abs(t.expansion.second_moment - 1.0) < 1e-10
    # ridge relu((z1+z2)/√2·√2): C_k = μ_k(relu(√2 ·)) (u⊗k), u = (1,1)/√2
    t = Target("relu(z1 + z2)")
    u = np.array([1, 1]) / np.sqrt(2)
    assert np.allclose(t.tensor(1), np.sqrt(2) * 0.5 * u)
    # μ_2(relu(√2 ·)) = E[(relu(√2ξ))''] = 2 E[δ(√2 ξ)] = √2 φ(0) = 1/√π
    assert np.allclose(t.tensor(2), 1 / np.sqrt(np.pi) * np.outer(u, u))


def test_rotation_covariance():
    """Writing g in rotated coordinates rotates every C_k as a tensor (docs/model.md §2)."""
    Q = sympy.Matrix([[sympy.Rational(3, 5), -sympy.Rational(4, 5)], [sympy.Rational(4, 5), sympy.Rational(3, 5)]])
    z = sympy.Matrix([zvar(1), zvar(2)])
    base = "z1 + z1*z2 + He3(z2)/6"
    g = Target(base)
    zq = Q * z
    rotated = Target(g.expr.xreplace({zvar(1): zq[0], zvar(2): zq[1]}))
    Qn = np.array(Q, dtype=float)
    for k in range(1, 4):
        T = g.tensor(k)
        for _ in range(k):  # (g∘Q) has C_k' = C_k ×_all Qᵀ
            T = np.tensordot(T, Qn, axes=([0], [0]))
        assert np.allclose(T, rotated.tensor(k), atol=1e-12)
        assert abs(g.energy(k) - rotated.energy(k)) < 1e-12


poly_terms = st.lists(
    st.tuples(st.integers(-3, 3), st.integers(0, 2), st.integers(0, 2), st.integers(0, 1)),
    min_size=1, max_size=4,
)


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(poly_terms)
def test_exact_tensors_match_monte_carlo(terms):
    """E[g He_β] from the exact expansion agrees with a seeded Monte Carlo estimate within 5 s.e."""
    expr = sum(c * zvar(1) ** a * zvar(2) ** b * zvar(3) ** e for c, a, b, e in terms)
    if expr == 0 or expr.is_number:
        return
    t = Target(expr, r=3)
    rng = np.random.default_rng(2024)
    z = rng.standard_normal((200_000, 3))
    g = t.evaluate(z)
    he = [np.ones_like(z), z, z**2 - 1]
    for k in (1, 2):
        T = t.tensor(k)
        for idx in np.ndindex(*T.shape):
            beta = np.bincount(idx, minlength=3)
            h = he[beta[0]][:, 0] * he[beta[1]][:, 1] * he[beta[2]][:, 2]
            sample = g * h
            se = sample.std() / np.sqrt(len(sample))
            assert abs(sample.mean() - T[idx]) <= 5 * se + 1e-9


def test_nonpolynomial_quadrature_term_reports_error_and_matches_mc():
    t = Target("tanh(z1*z2)")
    e = t.expansion
    assert not e.complete
    rng = np.random.default_rng(7)
    z = rng.standard_normal((400_000, 2))
    g = t.evaluate(z)
    sample = g * z[:, 0] * z[:, 1]
    se = sample.std() / np.sqrt(len(sample))
    assert abs(sample.mean() - t.tensor(2)[0, 1]) < 5 * se
    assert abs(np.mean(g**2) - e.second_moment) < 5 * (g**2).std() / np.sqrt(len(g))


@pytest.mark.parametrize("text, second", [("relu(z1)", 0.5), ("tanh(z1)**2", None), ("exp(-z1**2)", 1 / np.sqrt(5))])
def test_second_moment_of_univariate_nonpolynomial_targets(text, second):
    """E[g²] by quadrature is finite and right (E[relu²] = 1/2, E[exp(-2z²)] = 1/√5)."""
    e = Target(text).expansion
    assert np.isfinite(e.second_moment) and np.isfinite(e.tail_energy)
    if second is not None:
        assert abs(e.second_moment - second) < 1e-6
    assert 0 <= e.tail_energy < e.second_moment


def test_constant_next_to_nonpolynomial_term():
    """abs(z1) - 0.8: the constant only shifts C_0 (E|z| = √(2/π))."""
    e = Target("abs(z1) - 0.8").expansion
    assert abs(float(Target("abs(z1) - 0.8").tensor(0)) - (np.sqrt(2 / np.pi) - 0.8)) < 1e-12
    assert abs(e.energy(2) - Target("abs(z1)").energy(2)) < 1e-12
