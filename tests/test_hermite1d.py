"""Univariate Hermite coefficients: hand-derived values, Stein, orthogonality."""

import math

import mpmath
import numpy as np
import pytest
import sympy

from giantstep.errors import InputError
from giantstep.theory import Activation
from giantstep.theory.expr.hermite1d import hermite_coefficients, monomial_to_hermite
from giantstep.theory.expr.parsing import X

SQRT2PI = sympy.sqrt(2 * sympy.pi)


def test_known_values_exact():
    relu = Activation("relu").coefficients(6)
    assert relu.exact
    assert sympy.simplify(relu.values[0] - 1 / SQRT2PI) == 0
    assert relu.values[1] == sympy.Rational(1, 2)
    assert sympy.simplify(relu.values[2] - 1 / SQRT2PI) == 0
    # μ_k(relu) = He_{k-2}(0)/√(2π): He_2(0) = -1, He_4(0) = 3
    assert sympy.simplify(relu.values[4] + 1 / SQRT2PI) == 0
    assert sympy.simplify(relu.values[6] - 3 / SQRT2PI) == 0
    assert relu.values[3] == 0 and relu.values[5] == 0
    erf = Activation("erf").coefficients(3)
    assert sympy.simplify(erf.values[1] - 2 / sympy.sqrt(3 * sympy.pi)) == 0
    sin = Activation("sin").coefficients(3)
    assert sympy.simplify(sin.values[1] - sympy.exp(-sympy.Rational(1, 2))) == 0
    sign = Activation("sign").coefficients(9)
    assert all(sign.values[k] == 0 for k in range(0, 10, 2))
    assert sympy.simplify(sign.values[1] - 2 / SQRT2PI) == 0
    cos = Activation("cos").coefficients(2)
    assert sympy.simplify(cos.values[2] + sympy.exp(-sympy.Rational(1, 2))) == 0


def test_tanh_numerical_value_and_precision():
    c = Activation("tanh").coefficients(20, dps=30)
    assert not c.exact
    assert abs(float(c.values[1]) - 0.6057) < 1e-4
    assert c.error < 1e-25
    # independent check of μ_1 and μ_3 with mpmath.quad at 30 digits
    with mpmath.workdps(30):
        for k, he in ((1, lambda x: x), (3, lambda x: x**3 - 3 * x)):
            ref = mpmath.quad(
                lambda x, he=he: mpmath.tanh(x) * he(x) * mpmath.exp(-x * x / 2), [-mpmath.inf, 0, mpmath.inf]
            )
            ref /= mpmath.sqrt(2 * mpmath.pi)
            assert abs(ref - c.values[k]) < mpmath.mpf(10) ** -25
    assert all(c.values[k] == 0 for k in range(0, 21, 2))  # odd function


def test_monomial_conversion_matches_moments():
    # x^n = Σ c_j He_j  ⇒  E[x^n He_j] = c_j j!  (checked against E[x^n He_j] from moments)
    def moment(m):
        return 0 if m % 2 else math.prod(range(m - 1, 0, -2))

    for n in range(9):
        for j, c in monomial_to_hermite(n):
            he = sympy.Poly(sympy.hermite_prob(j, X), X)
            val = sum(int(coef) * moment(n + d[0]) for d, coef in he.terms())
            assert val == c * math.factorial(j)


@pytest.mark.parametrize("name", ["tanh", "erf", "sin", "relu(x)**2", "x*tanh(x)", "exp(x/2)", "relu(2*x - 1)"])
def test_stein_identity(name):
    """E[σ^{(k)}(ξ)] = μ_k(σ) for weakly differentiable σ (docs/model.md §2), by Gauss–Hermite on σ^{(k)}."""
    act = Activation(name)
    mus = act.coefficients(4, dps=20).floats()
    from scipy.integrate import quad

    for k in range(1, 3):
        dk = sympy.diff(act.expr, X, k)
        if dk.has(sympy.DiracDelta):
            continue

        def integrand(t, k=k):
            return float(act.derivative(np.array([t]), k)[0]) * np.exp(-t * t / 2) / np.sqrt(2 * np.pi)

        ref, err = quad(integrand, -14, 14, points=[0.0, 0.5], limit=400, epsabs=1e-12)
        assert abs(ref - mus[k]) < 1e-9


def test_orthogonality_of_coefficients_of_hermite_polynomials():
    for k in range(8):
        act = Activation(f"He{k}")
        c = act.coefficients(10)
        assert c.exact
        assert [int(v) for v in c.values] == [math.factorial(k) if j == k else 0 for j in range(11)]


def test_exact_and_numeric_paths_agree():
    for name in ["relu", "abs", "erf(2*x+1)", "sin(3*x-1)", "relu(x)*x**2", "sign(x-0.5)"]:
        expr = Activation(name).expr
        exact = hermite_coefficients(expr, X, kmax=8)
        num = hermite_coefficients(expr, X, kmax=8, exact=False, dps=25)
        assert exact.exact and not num.exact
        for a, b in zip(exact.floats(), num.floats()):
            assert abs(a - b) < 1e-12 * max(1, abs(a))


def test_parseval_univariate():
    # Σ μ_k²/k! = E[σ²]: relu → 1/2, sin → (1 - e^{-2})/2
    c = Activation("relu").coefficients(120).floats()
    assert abs(sum(v * v / math.factorial(k) for k, v in enumerate(c)) - 0.5) < 1e-3
    s = Activation("sin").coefficients(40).floats()
    assert abs(sum(v * v / math.factorial(k) for k, v in enumerate(s)) - (1 - math.exp(-2)) / 2) < 1e-12


def test_bad_degree():
    with pytest.raises(InputError):
        Activation("relu").coefficients(-1)


def test_vanishing_at_all_scales():
    tanh, relu, square = Activation("tanh"), Activation("relu"), Activation("x**2")
    assert tanh.vanishes_at_all_scales(2) and tanh.vanishes_at_all_scales(4)
    assert not tanh.vanishes_at_all_scales(3)
    assert not relu.vanishes_at_all_scales(2) and relu.vanishes_at_all_scales(3)
    assert square.vanishes_at_all_scales(1) and square.vanishes_at_all_scales(4)
    assert not Activation("relu + x**2").vanishes_at_all_scales(2)


@pytest.mark.parametrize("act", ["relu", "abs", "sign", "erf", "sin", "cos", "exp(x)", "x*erf(x)",
                                 "erf(2*x+1)", "sin(3*x-1)", "x**2*sign(x)", "relu(x-1)", "relu(2*x)"])
def test_cheap_canonical_form_equals_simplify(act):
    """The start-up-friendly canonical form is the value sympy.simplify gives (and prints alike)."""
    import giantstep.theory.expr.hermite1d as h1
    from giantstep.theory import as_activation

    for v in h1.hermite_coefficients(as_activation(act).expr, X, kmax=8).values:
        ref = sympy.simplify(v)
        assert sympy.simplify(v - ref) == 0
        if act != "relu(x-1)":  # there the cheap form groups the constant differently
            assert str(v) == str(ref)
