"""The one He_k recurrence, the quadrature Rule objects, the bounded cache, the teacher test.

References are independent of the code under test: numpy's ``hermite_e`` series
evaluation, sympy's ``hermite_prob``, closed-form Gaussian moments, hand counts.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy

from giantstep.caching import BoundedCache, bounded_cache
from giantstep.errors import ConvergenceError
from giantstep.theory import Target, is_target_expression
from giantstep.theory.gauss.hermite import he_numpy, he_sympy, hermite_table, hermite_values
from giantstep.theory.gauss.rules import (
    GAUSS_HERMITE,
    GaussLegendreRule,
    MidpointRule,
    MPGaussLegendreRule,
    TrapezoidRule,
    gauss_hermite,
)

# 25 (k, x) pairs nobody named: degrees 0..24, points spread over [-6, 6] including 0 and
# the large-|x| region where the terms cancel least
_RNG = np.random.default_rng(20261208)
CASES = [(k, float(x)) for k, x in zip(range(25), _RNG.uniform(-6, 6, 25))]


def _reference(k: int, x: float) -> float:
    c = np.zeros(k + 1)
    c[k] = 1.0
    return float(np.polynomial.hermite_e.hermeval(x, c))


@pytest.mark.parametrize("k,x", CASES)
def test_he_back_ends_agree_with_numpy_series(k, x):
    ref = _reference(k, x)
    scale = max(1.0, abs(ref))
    assert abs(float(he_numpy(k, np.array(x))) - ref) <= 1e-12 * scale
    assert abs(float(hermite_table(np.array([x]), k)[k, 0]) - ref) <= 1e-12 * scale
    with mpmath.workdps(40):
        mp = hermite_values(mpmath.mpf(x), k, one=mpmath.mpf(1))[k]
    assert abs(float(mp) - ref) <= 1e-12 * scale
    assert abs(float(he_sympy(k, sympy.Float(x, 40))) - ref) <= 1e-12 * scale


@pytest.mark.parametrize("k", range(0, 12))
def test_he_sympy_equals_sympy_hermite_prob(k):
    x = sympy.Symbol("x")
    assert sympy.expand(he_sympy(k, x) - sympy.hermite_prob(k, x)) == 0


def test_hermite_orthogonality_under_gauss_hermite():
    x, w = GAUSS_HERMITE.nodes(40)
    H = hermite_table(x, 15)
    norms = np.sqrt([math.factorial(k) for k in range(16)])
    gram = ((H * w) @ H.T) / np.outer(norms, norms)  # E[He_j He_k]/√(j! k!) = δ_jk
    assert np.allclose(gram, np.eye(16), rtol=0, atol=1e-10)


def test_negative_degree_refused():
    with pytest.raises(ValueError):
        hermite_values(0.3, -1)


def test_gauss_hermite_rule_is_cached_read_only_and_shared():
    x1, w1 = gauss_hermite(17)
    x2, w2 = GAUSS_HERMITE.nodes(17)
    assert x1 is x2 and w1 is w2
    assert not x1.flags.writeable and not w1.flags.writeable
    assert abs(w1.sum() - 1.0) < 1e-14


def test_refine_returns_value_with_a_true_error_bound():
    est = GAUSS_HERMITE.refine(np.cos, 1e-12, n0=4)
    assert abs(est.value - math.exp(-0.5)) <= max(est.error, 1e-15) + 1e-15
    assert est.error <= 1e-12 and est.n >= 8
    # vector-valued integrand: E[ξ^{2m}] = (2m−1)!!
    est = GAUSS_HERMITE.refine(lambda x: np.stack([x**2, x**4, x**6], axis=1), 1e-12, n0=4)
    assert np.allclose(est.value, [1.0, 3.0, 15.0], rtol=0, atol=1e-11)


def test_refine_raises_when_the_rule_cannot_converge():
    with pytest.raises(ConvergenceError):
        GAUSS_HERMITE.refine(lambda x: np.abs(x) ** 0.5, 1e-14, n0=4, n_max=32)


def test_midpoint_rule_handles_a_jump_at_zero():
    # E[sign(ξ)²] = 1 and E[1{ξ>0}] = 1/2 exactly: no node sits on the jump
    x, w = MidpointRule(10.0).nodes(101)
    assert len(x) == 102 and not np.any(x == 0.0)
    assert abs(w @ np.sign(x) ** 2 - 1.0) < 1e-14
    assert abs(w @ (x > 0) - 0.5) < 1e-14


def test_trapezoid_rule_converges_geometrically_for_tanh():
    exact = float(mpmath.quad(lambda t: mpmath.tanh(2 * t) ** 2 * mpmath.npdf(t), [-mpmath.inf, 0, mpmath.inf]))
    x, w = TrapezoidRule().nodes(201)
    assert abs(w @ np.tanh(2 * x) ** 2 - exact) < 1e-12


@pytest.mark.parametrize("a,b,p", [(0.0, 1.0, 5), (-2.0, 3.0, 7), (1.5, 2.5, 0)])
def test_gauss_legendre_rule_plain_integral(a, b, p):
    exact = (b ** (p + 1) - a ** (p + 1)) / (p + 1)
    assert abs(GaussLegendreRule(a, b).expect(lambda x: x**p, 6) - exact) < 1e-12 * max(1.0, abs(exact))


def test_mp_gauss_legendre_rule_at_high_precision():
    with mpmath.workdps(50):
        nodes = MPGaussLegendreRule(mpmath.mp.prec + 20).nodes(6)
        total = mpmath.fsum(w * mpmath.exp(t) for t, w in nodes)
        assert abs(total - (mpmath.e - 1 / mpmath.e)) < mpmath.mpf(10) ** -45


def test_bounded_cache_drops_the_least_recently_used_entry():
    c = BoundedCache(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # "a" is now the most recent
    c.put("c", 3)
    assert "b" not in c and "a" in c and "c" in c and len(c) == 2
    assert c.get("b", "missing") == "missing"
    with pytest.raises(ValueError):
        BoundedCache(0)


def test_bounded_cache_decorator_computes_once_and_freezes_arrays():
    calls = []

    @bounded_cache(3, readonly=True)
    def grid(n: int) -> tuple[np.ndarray, np.ndarray]:
        calls.append(n)
        return np.arange(n, dtype=float), np.ones(n)

    a = grid(4)
    b = grid(4)
    assert a is b and calls == [4]
    assert not a[0].flags.writeable
    for n in (5, 6, 7):
        grid(n)
    grid(4)  # evicted by the three newer sizes: computed again
    assert calls == [4, 5, 6, 7, 4]
    grid.cache_clear()
    assert len(grid.cache) == 0


@pytest.mark.parametrize("teacher,expected", [
    ("z1 + z1*z2", True), ("tanh(z1)", True), ("He3(z2)", True), ("z10**2", True),
    ("tanh", False), ("relu", False), ("x**2 - 1", False), ("tanh(3*x)", False),
    ("sin(x) + 0.5*x", False), ("zeta", False), (Target("z1*z2"), True), (3.0, False),
])
def test_is_target_expression(teacher, expected):
    assert is_target_expression(teacher) is expected
