"""One-direction AMP thresholds (theory/amp_single.py) against computations written for the test.

References (none uses the code under test):

* polynomial targets at Δ = 0: ``F = ∫ N(y)²/D(y) dy`` with the branches of
  ``g(x) = y`` from ``numpy.roots`` at each y, weights ``φ(x)/|g'(x)|``, and
  ``scipy.integrate.quad`` between the critical values (substitution
  ``y = c + t²`` at each end removes the square-root singularities);
* closed forms: ``z², |z|, z³`` give ``F = 2`` (``α_c = 1/2``); ``relu`` gives ``F = 1``
  on the continuous part plus the atom at 0 with ``E[z² − 1 | z < 0] = 0`` (``α_c = 1``);
  ``z² e^{−z²} = u e^{−u}`` (``u = z²``) has ``E[z² − 1 | y] ≡ 0`` (hard) because the two
  ``u``-roots satisfy ``u^{-1/2} e^{u/2} = y^{-1/2}`` on both branches;
* Δ > 0: nested adaptive quadrature of ``N(y)²/D(y)`` with the Gaussian kernel.
* ``α_c ≥ 1/2`` for one direction: ``E[G²] ≤ E[(z² − 1)²] = 2`` (Jensen).
"""

from __future__ import annotations

import numpy as np
import pytest
from amp_references import deposit_one_direction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize

from giantstep.errors import InputError
from giantstep.theory.amp import amp_analysis

PHI = 1 / np.sqrt(2 * np.pi)


def _branch_F(coeffs: list[float]) -> float:
    """``E_y[E[z²−1|y]²]`` for the polynomial with ``coeffs`` (highest first), Δ = 0."""
    p = np.poly1d(coeffs)
    dp = p.deriv()
    crit = sorted(r.real for r in dp.roots if abs(r.imag) < 1e-9)
    cv = sorted({float(p(c)) for c in crit})

    def integrand(y: float) -> float:
        roots = (p - y).roots
        xs = [r.real for r in roots if abs(r.imag) < 1e-7 * (1 + abs(r))]
        w = np.array([np.exp(-x * x / 2) * PHI / abs(dp(x)) for x in xs])
        g = np.array([x * x - 1 for x in xs])
        return float((w @ g) ** 2 / w.sum()) if len(xs) and w.sum() > 0 else 0.0

    lo_inf = p.coeffs[0] < 0 if p.order % 2 == 0 else True
    hi_inf = p.coeffs[0] > 0 if p.order % 2 == 0 else True
    edges = cv
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        m = 0.5 * (a + b)
        total += integrate.quad(lambda t, a=a: 2 * t * integrand(a + t * t), 0, np.sqrt(m - a),
                                epsabs=1e-13, epsrel=1e-11, limit=200)[0]
        total += integrate.quad(lambda t, b=b: 2 * t * integrand(b - t * t), 0, np.sqrt(b - m),
                                epsabs=1e-13, epsrel=1e-11, limit=200)[0]
    top, bot = (edges[-1], edges[0]) if edges else (0.0, 0.0)
    if hi_inf:
        total += integrate.quad(lambda t: 2 * t * integrand(top + t * t), 0, np.inf,
                                epsabs=1e-13, epsrel=1e-11, limit=400)[0]
    if lo_inf:
        total += integrate.quad(lambda t: 2 * t * integrand(bot - t * t), 0, np.inf,
                                epsabs=1e-13, epsrel=1e-11, limit=400)[0]
    return total


def _noisy_F(g, crit: list[float], sigma: float, zmax: float = 8.0, ymax: float = 1e9) -> float:
    """``∫ N(y)²/D(y) dy`` for ``y = g(z) + σ ε`` by nested adaptive quadrature."""
    edges = [-zmax] + sorted(crit) + [zmax]

    def inner(y: float, f) -> float:
        tot = 0.0
        for a, b in zip(edges[:-1], edges[1:]):
            pts = None
            if (g(a) - y) * (g(b) - y) < 0:
                pts = [optimize.brentq(lambda z: g(z) - y, a, b)]
            tot += integrate.quad(lambda z: np.exp(-z * z / 2) * f(z) * np.exp(-0.5 * ((y - g(z)) / sigma) ** 2),
                                  a, b, points=pts, limit=400, epsabs=1e-15, epsrel=1e-11)[0]
        return tot * PHI

    vals = [g(c) for c in crit] + [g(-zmax), g(zmax)]
    ylo, yhi = min(vals) - 12 * sigma, min(max(vals), ymax) + 12 * sigma
    ybr = [ylo] + sorted({v for v in (g(c) for c in crit) if ylo < v < yhi}) + [yhi]

    def f(y: float) -> float:
        return inner(y, lambda z: z * z - 1) ** 2 / max(inner(y, lambda z: 1.0), 1e-300)

    tot = sum(integrate.quad(f, a, b, limit=400, epsabs=1e-11, epsrel=1e-9)[0]
              for a, b in zip(ybr[:-1], ybr[1:]))
    return tot / (np.sqrt(2 * np.pi) * sigma)


def _deposit_F(g, sigma: float, zmax: float = 6.5, nz: int = 2_000_001, per_sigma: int = 20) -> float:
    """``∫ N²/D dy`` for ``y = g(z) + σε`` by the deposit–convolution reference
    (tests/amp_references.py); exact for ``z²`` at Δ = 0.5 to 3e-7."""
    return deposit_one_direction(g, sigma, zmax=zmax, nz=nz, per_sigma=per_sigma)


def _stage(res):
    assert len(res.stages) == 1 and not res.trivial and not res.hard, res.to_dict()
    return res.stages[0]


@pytest.mark.parametrize("text, coeffs", [
    ("He4(z1)", [1, 0, -6, 0, 3]),
    ("z1**4 - z1**2", [1, 0, -1, 0, 0]),
    ("z1**2 + z1**4/10", [0.1, 0, 1, 0, 0]),
    ("(z1**2 - 1)**3", [1, 0, -3, 0, 3, 0, -1]),
])
def test_even_polynomials_against_branch_quadrature(text, coeffs):
    st_ = _stage(amp_analysis(text))
    ref = 1 / _branch_F(coeffs)
    assert abs(st_.alpha_c - ref) <= st_.error + 1e-7, (st_.alpha_c, ref, st_.error)
    assert st_.error < 1e-4


def test_he4_value():
    # the value quoted in docs/amp.md; the branch reference gives 0.64485047
    assert abs(_stage(amp_analysis("He4(z1)")).alpha_c - 0.64485047) < 1e-6


@pytest.mark.parametrize("text, alpha", [
    ("z1**2", 0.5), ("abs(z1)", 0.5), ("relu(z1)", None), ("z1**3", None),
    ("(3*z1/5 + 4*z2/5)**2", 0.5), ("abs(z1)**3", 0.5),
])
def test_closed_forms(text, alpha):
    res = amp_analysis(text)
    if alpha is None:  # relu and z³ have E[z|y] ≠ 0: trivial
        assert len(res.trivial) == 1 and not res.stages
    else:
        st_ = _stage(res)
        assert abs(st_.alpha_c - alpha) <= st_.error + 1e-12


def test_relu_without_its_trivial_part_is_one():
    # relu(z) − relu(−z)·0 … the even part |z|/2 shares the law structure; E[G²] for relu itself:
    # continuous part y = z > 0 gives E[(z²−1)² 1{z>0}] = 1, the atom adds 0 (module docstring)
    import sympy

    from giantstep.theory.amp_single import Profile, noiseless_moments, pieces
    from giantstep.theory.expr.target import as_target

    s = sympy.Symbol("s", real=True)
    t = as_target("relu(z1)")
    p = Profile(t.expr.subs(t.variables[0], s), s)
    m = noiseless_moments(p, pieces(p))
    assert abs(m.F - 1.0) <= m.F_error + 1e-12


def test_equal_weight_branches_are_hard():
    res = amp_analysis("z1**2*exp(-z1**2)")
    assert res.hard and not res.stages and not res.trivial


@pytest.mark.parametrize("text, g, crit, noise", [
    ("z1**2", lambda z: z * z, [0.0], 0.5),
    ("abs(z1)", abs, [0.0], 1.0),
])
def test_noisy_against_nested_quadrature(text, g, crit, noise):
    st_ = _stage(amp_analysis(text, noise=noise))
    ref = 1 / _noisy_F(g, crit, np.sqrt(noise))
    assert abs(st_.alpha_c - ref) <= st_.error, (st_.alpha_c, ref, st_.error)


def test_deposit_reference_is_exact_on_z2():
    ref = _noisy_F(lambda z: z * z, [0.0], np.sqrt(0.5))
    assert abs(_deposit_F(lambda z: z * z, np.sqrt(0.5)) - ref) < 2e-6


@pytest.mark.parametrize("noise", [0.01, 0.05, 0.5])
def test_noisy_he4_against_deposit_reference(noise):
    st_ = _stage(amp_analysis("He4(z1)", noise=noise))
    ref = 1 / _deposit_F(lambda z: z**4 - 6 * z * z + 3, np.sqrt(noise))
    assert abs(st_.alpha_c - ref) <= st_.error + 1e-6, (st_.alpha_c, ref, st_.error)  # 1e-6: the reference


@pytest.mark.slow
@pytest.mark.parametrize("text, g, noise", [
    ("cos(z1)", np.cos, 0.1), ("He6(z1)", lambda z: z**6 - 15 * z**4 + 45 * z * z - 15, 0.05),
    ("z1**2*exp(-z1**2)", lambda z: z * z * np.exp(-z * z), 0.001),
])
def test_noisy_single_index_against_deposit_reference(text, g, noise):
    res = amp_analysis(text, noise=noise)
    ref = _deposit_F(g, np.sqrt(noise), nz=4_000_001, per_sigma=40)
    if res.stages:
        F = 1 / res.stages[0].alpha_c
        F_err = res.stages[0].error * F * F
        assert abs(F - ref) <= 1.01 * F_err + 1e-6, (F, ref, F_err)
    else:
        assert res.hard and ref < 1e-3, (ref, res.to_dict())


def test_small_noise_he4_is_near_the_noiseless_value():
    # Δ = 0.05 lies between the noiseless value and the Δ = 0.5 one; never below 1/2
    a0 = _stage(amp_analysis("He4(z1)")).alpha_c
    a = _stage(amp_analysis("He4(z1)", noise=0.05))
    assert a0 - a.error <= a.alpha_c <= 0.7018 + a.error
    assert a.error < 2e-3


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(-3, 3), min_size=3, max_size=5),
       st.one_of(st.just(0.0), st.floats(1e-3, 2.0)))
def test_one_direction_threshold_is_at_least_one_half(coeffs, noise):
    if not any(coeffs[:-1]) or all(c == 0 for c in coeffs[1:-1]) and coeffs[0] == 0:
        return
    terms = [f"({c})*z1**{len(coeffs) - 1 - i}" for i, c in enumerate(coeffs) if c]
    text = " + ".join(terms) or "0"
    try:
        res = amp_analysis(text, noise=noise)
    except InputError:
        return  # a constant target has no relevant direction
    for s in res.stages:
        assert s.alpha_c >= 0.5 - s.error - 1e-9, (text, noise, s.alpha_c, s.error)


def test_label_not_finite_is_input_error():
    import sympy

    from giantstep.theory.amp_single import Profile, pieces

    s = sympy.Symbol("s", real=True)
    with pytest.raises(InputError, match="not finite"):
        pieces(Profile(sympy.sqrt(s), s))


def test_a_pole_splits_the_line():
    # y = 1/z: one branch, E[z | y] = 1/y, so T = E[z²] = 1 and F = E[(z² − 1)²] = 2
    import sympy

    from giantstep.theory.amp_single import Profile, noiseless_moments, pieces

    s = sympy.Symbol("s", real=True)
    p = Profile(1 / s, s)
    m = noiseless_moments(p, pieces(p))
    assert abs(m.T - 1) <= m.T_error + 1e-9 and abs(m.F - 2) <= m.F_error + 1e-9


# ---------------------------------------------------------------------- radial targets
@pytest.mark.parametrize("text, r", [
    ("z1**2 + z2**2", 2), ("(z1**2 + z2**2 + z3**2 + z4**2)/4", 4),
    ("z1**2 + z2**2 + z3**2 + z4**2 + z5**2 + z6**2", 6), ("exp(-(z1**2 + z2**2 + z3**2))", 3),
])
def test_injective_norm_targets_are_learned_at_r_over_two(text, r):
    # ρ = |z|² is a function of y: G = (ρ/r − 1) I, λ = Var(ρ)/r² = 2/r (χ²_r)
    res = amp_analysis(text)
    st_ = _stage(res)
    assert abs(st_.alpha_c - r / 2) <= st_.error + 1e-12
    assert len(st_.directions) == r


def test_non_injective_norm_target_against_chi_square_branches():
    # y = (ρ − 3)², ρ ~ χ²_3: branches ρ = 3 ± t (y = t²), weights p(ρ)/(2t); mpmath at 30 digits
    import mpmath as mp

    with mp.workdps(30):
        def p(v):
            return mp.sqrt(v) * mp.e ** (-v / 2) / (2 ** mp.mpf(1.5) * mp.gamma(mp.mpf(3) / 2))

        def f(t):
            rs = [3 + t] + ([3 - t] if t < 3 else [])
            w = [p(v) / (2 * t) for v in rs]
            num = sum(a * (v / 3 - 1) for a, v in zip(w, rs))
            return 2 * t * num**2 / sum(w)

        lam = float(mp.quad(f, [0, 1, 2, 3, 5, 10, 20, 60]))
    st_ = _stage(amp_analysis("(z1**2 + z2**2 + z3**2 - 3)**2"))
    assert abs(st_.alpha_c - 1 / lam) <= st_.error + 1e-12, (st_.alpha_c, 1 / lam, st_.error)


def test_norm_indicator_against_monte_carlo():
    # y = sign(ρ − 3), r = 3: λ = Σ_± P(±) E[ρ/3 − 1 | ±]², by 4·10⁶ samples (SE of λ ≈ 1e-4)
    rng = np.random.default_rng(7)
    rho = rng.chisquare(3, 4_000_000)
    a = rho > 3
    lam = sum(m.mean() * ((rho[m] / 3 - 1).mean()) ** 2 for m in (a, ~a))
    st_ = _stage(amp_analysis("sign(z1**2 + z2**2 + z3**2 - 3)"))
    assert abs(1 / st_.alpha_c - lam) < 5e-4 + st_.error / st_.alpha_c**2


# ---------------------------------------------------------------------- one direction plus a parity
def _coin_F(coeffs: list[float], c: float = 1.0) -> float:
    """``E_y[E[z1² − 1 | y]²]`` for ``y = p(z1) ± c`` (½ each): branches of ``p(x) = y ∓ c``."""
    p = np.poly1d(coeffs)
    dp = p.deriv()
    crit = sorted(r.real for r in dp.roots if abs(r.imag) < 1e-9)
    cv = sorted({float(p(x)) + s for x in crit for s in (c, -c)})

    def integrand(y: float) -> float:
        num = den = 0.0
        for s in (c, -c):
            for r in (p - (y - s)).roots:
                if abs(r.imag) < 1e-7 * (1 + abs(r)):
                    x = r.real
                    w = 0.5 * np.exp(-x * x / 2) * PHI / abs(dp(x))
                    num += w * (x * x - 1)
                    den += w
        return num * num / den if den > 0 else 0.0

    total = 0.0
    for a, b in zip(cv[:-1], cv[1:]):
        m = 0.5 * (a + b)
        total += integrate.quad(lambda t, a=a: 2 * t * integrand(a + t * t), 0, np.sqrt(m - a),
                                epsabs=1e-13, epsrel=1e-11, limit=200)[0]
        total += integrate.quad(lambda t, b=b: 2 * t * integrand(b - t * t), 0, np.sqrt(b - m),
                                epsabs=1e-13, epsrel=1e-11, limit=200)[0]
    total += integrate.quad(lambda t: 2 * t * integrand(cv[-1] + t * t), 0, 30,
                            epsabs=1e-13, epsrel=1e-11, limit=400)[0]
    return total


@pytest.mark.slow
@pytest.mark.parametrize("text, coeffs", [
    ("z1**2 + sign(z1*z2*z3)", [1, 0, 0]),
    ("He4(z1) + sign(z1*z2*z3)", [1, 0, -6, 0, 3]),
])
def test_parity_plus_one_direction_first_stage(text, coeffs):
    # given z1 the parity is a fair coin: y = p(z1) ± 1; the other coordinates enter only by sign
    res = amp_analysis(text)
    st_ = res.stages[0]
    assert [list(d) for d in st_.directions] == [[1.0, 0.0, 0.0]]
    ref = 1 / _coin_F(coeffs)
    # 1e-5: the numpy.roots reference splits near-double roots at the critical values
    # (it is off by 4.7e-6 on He4 ± 1, where the library is stable to 1e-9 under refinement)
    assert abs(st_.alpha_c - ref) <= st_.error + 1e-5, (st_.alpha_c, ref, st_.error)


def test_parity_coin_channel_against_branches():
    # the same first-stage integral without the 3-d later stages (fast)
    import sympy

    from giantstep.theory.amp_single import Profile, noiseless_moments, pieces

    s = sympy.Symbol("s", real=True)
    p = Profile(s**2, s)
    m = noiseless_moments(p, pieces(p), shifts=((1.0, 0.5), (-1.0, 0.5)))
    assert abs(m.F - _coin_F([1, 0, 0])) <= m.F_error + 1e-9
