"""Univariate Hermite coefficients ``μ_k(f) = E[f(ξ) He_k(ξ)]`` (docs/model.md §2).

Exact (sympy) where a closed form exists, otherwise mpmath quadrature at a
stated precision with an error estimate.

Exact cases. A function is split into additive terms, each of the form
``p(x) · h(a x + b)`` with ``p`` a polynomial and ``h`` one of ``1``,
``Heaviside``, ``sign``, ``erf``, ``sin``, ``cos``, ``exp`` (``relu(u) = u·H(u)``
and ``|u| = u·sign(u)`` are rewritten first). Then ``p·He_k`` is expanded in the
Hermite basis (linearisation ``He_m He_n = Σ_r C(m,r) C(n,r) r! He_{m+n-2r}``)
and ``ν_j = E[h(aξ+b) He_j(ξ)]`` is the ``j``-th derivative at ``t = 0`` of the
Gaussian smoothing ``S(t) = E[h(a(ξ+t)+b)]``, which is elementary:

* ``H``: ``S = Φ((at+b)/|a|)`` so ``ν_j = s^j (-1)^{j-1} He_{j-1}(β) φ(β)``, ``β = b/|a|``, ``s = sign a``;
* ``sign = 2H - 1``; ``erf(aξ+c)`` smooths to ``erf(c/√(1+2a²))``;
* ``sin``/``cos``: ``e^{-a²/2} a^j sin(b + jπ/2)`` / ``cos(…)``; ``exp``: ``e^{a²/2+b} a^j``.

Everything else (``tanh``, products of different non-linearities, non-affine
arguments) goes to :func:`numeric_coefficients`: composite Gauss–Legendre on
unit panels of ``[-L, L]`` split at the kinks, all orders at once, with the
difference between two rule sizes as error estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import comb, factorial

import mpmath
import sympy

from giantstep.caching import bounded_cache
from giantstep.errors import InputError
from giantstep.params import Boolean, validate_params

from ..gauss.hermite import he_sympy, hermite_table, hermite_values
from ..gauss.rules import MPGaussLegendreRule
from .evaluate import compile_mpmath
from .primitives import SMOOTHING_KINDS, kinks, rewrite_kinks

_SQRT2PI = sympy.sqrt(2 * sympy.pi)


@dataclass
class Coefficients:
    """Hermite coefficients ``μ_0..μ_K`` of a univariate function.

    Attributes
    ----------
    values : list
        ``μ_k`` as sympy numbers (exact) or mpmath numbers (numerical).
    exact : bool
        True if every value is an exact closed form.
    error : float
        Estimated absolute error of the numerical part (0 when exact).
    dps : int
        Decimal digits of the numerical part.
    """

    values: list
    exact: bool
    error: float = 0.0
    dps: int = 30
    notes: list[str] = field(default_factory=list)

    def floats(self) -> list[float]:
        """The coefficients as Python floats."""
        return [float(sympy.N(v, 20)) if isinstance(v, sympy.Basic) else float(v) for v in self.values]


# --------------------------------------------------------------------- polynomials


@bounded_cache(512)
def monomial_to_hermite(n: int) -> tuple[tuple[int, int], ...]:
    """``x^n = Σ_j c_j He_j(x)``; returns pairs ``(j, c_j)`` with integer ``c_j``.

    ``c_j = n! / (j! ((n-j)/2)! 2^{(n-j)/2})`` for ``n - j`` even.
    """
    out = []
    for j in range(n % 2, n + 1, 2):
        m = (n - j) // 2
        out.append((j, factorial(n) // (factorial(j) * factorial(m) * 2**m)))
    return tuple(out)


@bounded_cache(512)
def hermite_product(m: int, n: int) -> tuple[tuple[int, int], ...]:
    """``He_m He_n = Σ_r C(m,r) C(n,r) r! He_{m+n-2r}``; returns ``(degree, coefficient)``."""
    return tuple((m + n - 2 * r, comb(m, r) * comb(n, r) * factorial(r)) for r in range(min(m, n) + 1))


def polynomial_in_hermite(coeffs: dict[int, sympy.Expr]) -> dict[int, sympy.Expr]:
    """Convert ``Σ_n coeffs[n] x^n`` into Hermite form ``Σ_j out[j] He_j``."""
    out: dict[int, sympy.Expr] = {}
    for n, c in coeffs.items():
        for j, cj in monomial_to_hermite(n):
            out[j] = out.get(j, 0) + c * cj
    return {j: v for j, v in out.items() if v != 0}


# --------------------------------------------------------------------- smoothings


def _phi(x: sympy.Expr) -> sympy.Expr:
    return sympy.exp(-(x**2) / 2) / _SQRT2PI


def _Phi(x: sympy.Expr) -> sympy.Expr:
    return (1 + sympy.erf(x / sympy.sqrt(2))) / 2


def _smoothing_derivatives(kind: str, a: sympy.Expr, b: sympy.Expr, jmax: int) -> list[sympy.Expr]:
    """``ν_j = E[h(aξ+b) He_j(ξ)]`` for ``j = 0..jmax`` (closed forms of the module doc)."""
    nu: list[sympy.Expr] = []
    if kind in ("heaviside", "sign", "erf"):
        if kind == "erf":
            s = sympy.sqrt(1 + 2 * a**2)
            alpha, beta, scale, nu0 = sympy.sqrt(2) * a / s, sympy.sqrt(2) * b / s, 2, sympy.erf(b / s)
        else:
            alpha, beta = sympy.sign(a), b / sympy.Abs(a)
            scale = 1 if kind == "heaviside" else 2
            nu0 = _Phi(beta) if kind == "heaviside" else 2 * _Phi(beta) - 1
        nu.append(sympy.nsimplify(nu0) if nu0.is_Rational else nu0)
        ph = _phi(beta)
        for j in range(1, jmax + 1):
            nu.append(scale * alpha**j * (-1) ** (j - 1) * he_sympy(j - 1, beta) * ph)
    elif kind in ("sin", "cos"):
        damp = sympy.exp(-(a**2) / 2)
        f = sympy.sin if kind == "sin" else sympy.cos
        for j in range(jmax + 1):
            nu.append(damp * a**j * f(b + j * sympy.pi / 2))
    elif kind == "exp":
        base = sympy.exp(a**2 / 2 + b)
        nu = [base * a**j for j in range(jmax + 1)]
    else:  # pragma: no cover
        raise ValueError(kind)
    return [sympy.simplify(v) if v.has(sympy.Abs, sympy.sign) else v for v in nu]


_KIND = SMOOTHING_KINDS  # closed-form smoothing of each primitive: theory/expr/primitives.py


def _split_term(term: sympy.Expr, x: sympy.Symbol):
    """Split a product into (polynomial part, [non-polynomial factors])."""
    poly, nonpoly = sympy.S.One, []
    for f in sympy.Mul.make_args(term):
        if f.is_polynomial(x):
            poly *= f
        elif isinstance(f, sympy.Pow) and f.exp.is_Integer and f.exp > 0:
            base, n = f.base, int(f.exp)
            if isinstance(base, sympy.sign):
                if n % 2 == 0:
                    continue  # sign(u)^2 = 1 almost everywhere
                nonpoly.append(base)
            elif isinstance(base, sympy.Heaviside):
                nonpoly.append(base)
            else:
                nonpoly.extend([base] * n)
        else:
            nonpoly.append(f)
    # H(u)·sign(u) = H(u) and H(u)·H(u) = H(u) almost everywhere
    merged: list[sympy.Expr] = []
    for f in nonpoly:
        if isinstance(f, (sympy.Heaviside, sympy.sign)) and any(
            isinstance(g, (sympy.Heaviside, sympy.sign)) and g.args[0] == f.args[0] for g in merged
        ):
            i = next(i for i, g in enumerate(merged) if g.args[0] == f.args[0])
            g = merged[i]
            if isinstance(g, sympy.sign) and isinstance(f, sympy.sign):
                merged.pop(i)
            elif isinstance(f, sympy.Heaviside):
                merged[i] = f
            continue
        merged.append(f)
    return poly, merged


def _exact_term(term: sympy.Expr, x: sympy.Symbol, kmax: int) -> list[sympy.Expr] | None:
    """Exact ``μ_0..μ_kmax`` of one additive term, or None if no closed form applies."""
    poly, nonpoly = _split_term(term, x)
    pcoeffs = {m[0]: c for m, c in sympy.Poly(poly, x).terms()} if poly != 0 else {}
    p_he = polynomial_in_hermite(pcoeffs)
    if not nonpoly:
        # μ_k = k! · coefficient of He_k
        return [p_he.get(k, sympy.S.Zero) * factorial(k) for k in range(kmax + 1)]
    if len(nonpoly) != 1:
        return None
    (h,) = nonpoly
    kind = _KIND.get(type(h))
    if kind is None:
        return None
    u = h.args[0]
    if not u.is_polynomial(x) or sympy.degree(u, x) > 1:
        return None
    a, b = sympy.Poly(u, x).coeff_monomial(x), sympy.Poly(u, x).coeff_monomial(1)
    if a == 0:
        return None
    degp = max(p_he) if p_he else 0
    nu = _smoothing_derivatives(kind, sympy.nsimplify(a), sympy.nsimplify(b), kmax + degp)
    out = []
    for k in range(kmax + 1):
        total = sympy.S.Zero
        for i, pi in p_he.items():
            for j, c in hermite_product(i, k):
                total += pi * c * nu[j]
        out.append(_simplify_constant(total) if total.free_symbols == set() else total)
    return out


def _simplify_constant(value: sympy.Expr) -> sympy.Expr:
    """A canonical form of a closed-form constant, cheaply when possible.

    ``expand → powsimp → radsimp → factor_terms`` gives the same printed form as
    ``sympy.simplify`` on the coefficients of the shipped activations (checked over
    18 activations × degrees 0..10) at a fraction of the cost: ``simplify`` imports
    ``sympy.physics.units`` (≈ 0.15 s per process). Longer results fall back to it.
    """
    cheap = sympy.factor_terms(sympy.radsimp(sympy.powsimp(sympy.expand(value))))
    return cheap if cheap.count_ops() <= 12 else sympy.simplify(value)


# --------------------------------------------------------------------- numerics


def numeric_coefficients(expr: sympy.Expr, x: sympy.Symbol, kmax: int, dps: int = 30,
                         parity: str | None = None):
    """``μ_0..μ_kmax`` by composite Gauss–Legendre quadrature at ``dps`` digits.

    For an odd or even ``f`` (``parity``) only ``[0, L]`` is integrated and the
    integrals of the matching parity are doubled. Returns ``(values, error)``
    with mpmath values and an absolute error estimate (difference of two rule
    sizes plus the truncated tails).
    """
    if dps <= 15:
        return _numeric_coefficients_float(expr, x, kmax, parity)
    with mpmath.workdps(dps + 10):
        f = compile_mpmath(expr, x)
        # tail: e^{-L²/2} L^{kmax} below 10^{-dps-5} relative to 1
        L = 8
        while -(L**2) / 2 + kmax * mpmath.log(L) + 2 * mpmath.log(L) > -(dps + 8) * mpmath.log(10):
            L += 1
        lo_end = 0 if parity else -L
        breaks = sorted({float(t) for t in range(lo_end, L + 1)} | {p for p in kinks(expr, x) if lo_end < p < L})
        results = []
        for degree in (4, 5):
            nodes = MPGaussLegendreRule(mpmath.mp.prec + 20).nodes(degree)
            acc = [mpmath.mpf(0)] * (kmax + 1)
            for lo, hi in zip(breaks[:-1], breaks[1:]):
                lo_, hi_ = mpmath.mpf(lo), mpmath.mpf(hi)
                half, mid = (hi_ - lo_) / 2, (hi_ + lo_) / 2
                for t, w in nodes:
                    xx = half * t + mid
                    ww = w * half * f(xx) * mpmath.exp(-xx * xx / 2)
                    for k, hk in enumerate(hermite_values(xx, kmax, one=mpmath.mpf(1))):
                        acc[k] += ww * hk
            norm = mpmath.sqrt(2 * mpmath.pi)
            if parity:
                keep = 1 if parity == "odd" else 0
                acc = [2 * v if k % 2 == keep else mpmath.mpf(0) for k, v in enumerate(acc)]
            results.append([v / norm for v in acc])
        err = max(abs(a - b) for a, b in zip(*results))
        values = [+v for v in results[1]]
    with mpmath.workdps(dps):
        values = [+v for v in values]
    return values, float(err) + 10.0 ** (-dps)


def _numeric_coefficients_float(expr: sympy.Expr, x: sympy.Symbol, kmax: int, parity: str | None):
    """Double-precision version of :func:`numeric_coefficients` (vectorised numpy).

    The rule is the library's piecewise Gauss–Legendre rule
    (:func:`giantstep.theory.gauss.rules.piecewise_gauss_rule`) on ``[−L, L]`` cut into unit
    pieces and at the kinks of ``expr``; ``L`` makes the Gaussian tail times ``|He_kmax|``
    smaller than e⁻⁴⁰. The error estimate is the difference between 24 and 48 nodes per
    piece. A known parity sets the other coefficients to exactly 0.
    """
    import numpy as np

    from ..gauss.rules import piecewise_gauss_rule
    from .evaluate import compile_numpy

    f = compile_numpy(expr, (x,))
    L = 8
    while -(L**2) / 2 + (kmax + 2) * np.log(L) > -40.0:
        L += 1
    cuts = np.array([p for p in kinks(expr, x) if -L < p < L], dtype=float)
    results = []
    for n in (24, 48):
        xx, ww = piecewise_gauss_rule(np.zeros(1), cuts, nq=n, half_width=float(L), pieces=2 * L)
        xx, ww = xx[0], ww[0]
        acc = hermite_table(xx, kmax) @ (ww * f(xx))
        if parity:
            keep = 1 if parity == "odd" else 0
            acc = np.array([v if k % 2 == keep else 0.0 for k, v in enumerate(acc)])
        results.append(acc)
    scale = max(1.0, float(np.max(np.abs(results[1]))))
    err = float(np.max(np.abs(results[0] - results[1]))) + 1e-15 * scale
    return [mpmath.mpf(float(v)) for v in results[1]], err


# --------------------------------------------------------------------- public


def _parity(expr: sympy.Expr, x: sympy.Symbol) -> str | None:
    """'odd', 'even' or None, decided symbolically."""
    flipped = expr.subs(x, -x)
    if sympy.expand(flipped + expr) == 0:
        return "odd"
    if sympy.expand(flipped - expr) == 0:
        return "even"
    return None


@validate_params(exact=Boolean())
def hermite_coefficients(
    expr: sympy.Expr, x: sympy.Symbol, *, kmax: int, exact: bool = True, dps: int = 30
) -> Coefficients:
    """Hermite coefficients ``μ_k = E[f(ξ) He_k(ξ)]``, ``k = 0..kmax``, of ``f = expr(x)``.

    Parameters
    ----------
    expr : sympy.Expr
        A function of ``x`` built by the parser.
    x : sympy.Symbol
        The variable.
    kmax : int
        Largest order (0 ≤ kmax ≤ 200).
    exact : bool
        Try closed forms first (docs/model.md §2); if False, use quadrature only.
    dps : int
        Decimal digits for the numerical part.

    Returns
    -------
    Coefficients
    """
    kmax, dps = int(kmax), int(dps)
    extra = expr.free_symbols - {x}
    if extra:
        raise InputError(f"expected a function of {x} only, found {sorted(map(str, extra))}")
    expr = rewrite_kinks(sympy.expand(expr))  # relu(u) → u·H(u), |u| → u·sign(u)
    expr = sympy.expand(expr)
    exact_total = [sympy.S.Zero] * (kmax + 1)
    rest = sympy.S.Zero
    for term in sympy.Add.make_args(expr):
        vals = _exact_term(term, x, kmax) if exact else None
        if vals is None:
            rest += term
        else:
            exact_total = [a + b for a, b in zip(exact_total, vals)]
    if rest == 0:
        return Coefficients([sympy.nsimplify(v) if v.is_Rational else v for v in exact_total], True, 0.0, dps)
    # odd functions have μ_k = 0 for even k, and vice versa: integrate over half the line
    num, err = numeric_coefficients(rest, x, kmax, dps, parity=_parity(rest, x))
    with mpmath.workdps(dps):
        values = [mpmath.mpf(sympy.N(e, dps + 5)) + n if e != 0 else n for e, n in zip(exact_total, num)]
    return Coefficients(values, False, err, dps)
