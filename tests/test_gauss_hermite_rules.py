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


# ---------------------------------------------------------------------------------------------
# Does the error estimate of Rule.refine bound the true error? 24 Gaussian expectations with
# closed forms (smooth, heavy-growing, kinked, jumping, flat pieces, shifted, nearly singular),
# each through the rules that claim to handle it. A rule may refuse (ConvergenceError); if it
# answers, |value − exact| must not exceed its error estimate (plus rounding).
# ---------------------------------------------------------------------------------------------

_PHI = lambda b: 0.5 * (1 + math.erf(b / math.sqrt(2)))  # noqa: E731
_phi = lambda b: math.exp(-b * b / 2) / math.sqrt(2 * math.pi)  # noqa: E731

EXPECTATIONS = [  # (name, f, exact, class, breakpoints)
    ("cos(2ξ)", lambda x: np.cos(2 * x), math.exp(-2.0), "smooth", ()),
    ("sin(ξ)ξ", lambda x: np.sin(x) * x, math.exp(-0.5), "smooth", ()),
    ("ξ^8", lambda x: x**8, 105.0, "smooth", ()),
    ("ξ^12", lambda x: x**12, 10395.0, "smooth", ()),
    ("exp(ξ)", np.exp, math.exp(0.5), "smooth", ()),
    ("exp(2ξ)", lambda x: np.exp(2 * x), math.exp(2.0), "smooth", ()),
    ("|ξ|", np.abs, math.sqrt(2 / math.pi), "kink0", (0.0,)),
    ("relu(ξ − 1)", lambda x: np.maximum(x - 1, 0), _phi(1) - (1 - _PHI(1)), "off", (1.0,)),
    ("relu(ξ + 0.3)²", lambda x: np.maximum(x + 0.3, 0) ** 2, (1 + 0.09) * _PHI(0.3) + 0.3 * _phi(0.3), "off", (-0.3,)),
    ("sign(ξ − 0.5)", lambda x: np.sign(x - 0.5), 1 - 2 * _PHI(0.5), "off", (0.5,)),
    ("1{ξ > 2}", lambda x: (x > 2).astype(float), 1 - _PHI(2), "off", (2.0,)),
    ("1{|ξ| < 0.1} (flat pieces)", lambda x: (np.abs(x) < 0.1).astype(float), 2 * _PHI(0.1) - 1, "narrow",
     (-0.1, 0.1)),
    ("clip(ξ, −1, 1)²", lambda x: np.clip(x, -1, 1) ** 2, (1 - 2 * _PHI(-1) - 2 * _phi(1)) + 2 * (1 - _PHI(1)),
     "off", (-1.0, 1.0)),
    ("1/(1 + ξ²)", lambda x: 1 / (1 + x * x),
     math.sqrt(math.pi / 2) * math.exp(0.5) * math.erfc(1 / math.sqrt(2)), "smooth", ()),
    ("erf(ξ)²", lambda x: np.vectorize(math.erf)(x) ** 2, (2 / math.pi) * math.asin(2 / 3), "smooth", ()),
    ("erf(3ξ)ξ", lambda x: np.vectorize(math.erf)(3 * x) * x, 2 * 3 / math.sqrt(math.pi * (1 + 2 * 9)),
     "smooth", ()),
    ("ξ·1{ξ>0}", lambda x: x * (x > 0), 1 / math.sqrt(2 * math.pi), "kink0", (0.0,)),
    ("He_4(ξ)²", lambda x: (x**4 - 6 * x**2 + 3) ** 2, 24.0, "smooth", ()),
    ("cos(5ξ)", lambda x: np.cos(5 * x), math.exp(-12.5), "smooth", ()),
    ("exp(−ξ²)", lambda x: np.exp(-x * x), 1 / math.sqrt(3), "smooth", ()),
    ("|ξ|³", lambda x: np.abs(x) ** 3, 2 * math.sqrt(2 / math.pi), "kink0", (0.0,)),
    ("sign(ξ)ξ³", lambda x: np.sign(x) * x**3, 2 * math.sqrt(2 / math.pi), "kink0", (0.0,)),
    ("ξ² 1{ξ<−1}", lambda x: x * x * (x < -1), _PHI(-1) + _phi(1), "off", (-1.0,)),
    ("log(1 + e^ξ) − ξ/2", lambda x: np.logaddexp(0, x) - x / 2, None, "smooth", ()),  # mpmath reference
]


def _softplus_reference() -> float:
    return float(mpmath.quad(lambda t: (mpmath.log(1 + mpmath.exp(t)) - t / 2) * mpmath.npdf(t),
                             [-mpmath.inf, 0, mpmath.inf]))


# the class of integrands each rule is made for (docstrings of theory/gauss/rules.py)
RULES = [("gauss-hermite", GAUSS_HERMITE, {"smooth"}), ("trapezoid", TrapezoidRule(), {"smooth"}),
         ("midpoint", MidpointRule(), {"smooth", "kink0"})]


def _check(est, exact, name, rule_name):
    true = abs(float(est.value) - exact)
    assert true <= est.error + 1e-12 * max(1.0, abs(exact)), (name, rule_name, est, exact, true)


@pytest.mark.parametrize("rule_name,rule,klass", RULES, ids=[r[0] for r in RULES])
@pytest.mark.parametrize("name,f,exact,case_class,breaks", EXPECTATIONS, ids=[e[0] for e in EXPECTATIONS])
def test_refine_error_estimate_bounds_the_true_error(name, f, exact, case_class, breaks, rule_name, rule, klass):
    if case_class not in klass:
        pytest.skip(f"{case_class} integrand: not in the class of the {rule_name} rule")
    exact = _softplus_reference() if exact is None else exact
    try:
        est = rule.refine(f, 1e-9 * max(1.0, abs(exact)), n0=16, n_max=2048)
    except ConvergenceError:
        return  # refused: flagged, not a wrong number
    _check(est, exact, name, rule_name)


@pytest.mark.parametrize("name,f,exact,case_class,breaks", [e for e in EXPECTATIONS if e[3] != "smooth"],
                         ids=[e[0] for e in EXPECTATIONS if e[3] != "smooth"])
def test_piecewise_rule_cut_at_the_breakpoints(name, f, exact, case_class, breaks):
    """Kinks, jumps and flat pieces anywhere: Gauss–Legendre pieces cut at the breakpoints."""
    from giantstep.theory.gauss.rules import Estimate, nodes_for_tolerance, piecewise_gauss_rule

    def est(nq: int) -> float:
        x, w = piecewise_gauss_rule(np.zeros(1), np.asarray(breaks, dtype=float), nq=int(nq), pieces=4)
        return float(w[0] @ f(x[0]))

    n, value, diff = nodes_for_tolerance(est, 1e-12, n0=8, n_max=256)
    _check(Estimate(value, diff + 1e-15, n), exact, name, "piecewise")


def test_the_flat_piece_is_invisible_to_an_uncut_rule():
    # why the piecewise rule is needed: no node of GH(16), GH(32) falls in (−0.1, 0.1)
    est = GAUSS_HERMITE.refine(lambda x: (np.abs(x) < 0.1).astype(float), 1e-9, n0=16)
    assert est.value == 0.0 and est.error == 0.0


# --------------------------------------------------------------------------- split and MP rules

def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _Phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


SPLIT_CASES = [  # (f, kinks, closed form of E f(ξ))
    (np.abs, (0.0,), math.sqrt(2 / math.pi)),
    (lambda x: np.maximum(x - 1.0, 0.0), (1.0,), _phi(1.0) - (1 - _Phi(1.0))),
    (lambda x: np.sign(x - 0.5), (0.5,), 1 - 2 * _Phi(0.5)),
    (lambda x: np.where(x > -1.3, x * x, 0.0), (-1.3,), 1 - _Phi(-1.3) + (-1.3) * _phi(-1.3)),
    (lambda x: np.cos(3 * x), (), math.exp(-4.5)),
    (lambda x: np.exp(x), (), math.exp(0.5)),
]


@pytest.mark.parametrize("case", range(len(SPLIT_CASES)))
def test_split_normal_rule_closed_forms(case):
    from giantstep.theory.gauss.rules import SplitNormalRule

    f, kinks, exact = SPLIT_CASES[case]
    est = SplitNormalRule(kinks=kinks).refine(f, 1e-12, n0=8, n_max=256)
    assert abs(float(est.value) - exact) <= max(est.error, 1e-13)
    assert abs(float(est.value) - exact) < 1e-11


@pytest.mark.parametrize("ratio", [0.25, 0.5, 1.0, 2.0, 4.0])
@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_marchenko_pastur_rule_moments(ratio, scale):
    """⟨D^k⟩ of MP(y, s): s, s²(1 + y), s³(1 + 3y + y²) (Narayana polynomials); exact for the
    rule's polynomial degree, with the atom at 0 for y > 1."""
    from giantstep.theory.gauss.rules import MarchenkoPasturRule

    x, w = MarchenkoPasturRule(ratio, scale).nodes(40)
    y, s = ratio, scale
    for k, exact in ((0, 1.0), (1, s), (2, s * s * (1 + y)), (3, s**3 * (1 + 3 * y + y * y))):
        assert abs(float(w @ x**k) - exact) < 1e-9 * max(1.0, exact)


@pytest.mark.parametrize("pole", [1e-3, 0.1, 1.0, 10.0])
def test_marchenko_pastur_for_pole_meets_tolerance(pole):
    """⟨1/(D + a)⟩ at the hard edge (y = 1) against the closed Stieltjes transform."""
    from giantstep.numerics.test_error.spectra.marchenko_pastur import mp_resolvent
    from giantstep.theory.gauss.rules import MarchenkoPasturRule

    for s in (0.3, 1.0, 4.0):
        x, w = MarchenkoPasturRule(1.0, s).for_pole(pole, 1e-10)
        assert abs(float(w @ (1.0 / (x + pole))) - float(mp_resolvent(pole, s))) < 1e-10 / pole
