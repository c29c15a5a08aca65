"""Exact label integrals for a target of one direction (docs/model.md §7, docs/amp.md §2).

For ``y = g(z) + √Δ ε`` with ``z, ε ~ N(0, 1)`` the weak-recovery quantities of
Bayes-optimal GAMP are

* ``T = E_y[E[z | y]²]`` — the direction is trivial (learned at any α > 0) iff ``T > 0``;
* ``F = E_y[G(y)²]`` with ``G(y) = E[z² − 1 | y]`` — otherwise it is learned at
  ``α > α_c = 1/F``, and it is hard if ``F = 0``.

``F ≤ E[(z² − 1)²] = 2`` (Jensen), so ``α_c ≥ 1/2`` for every one-direction target.

The line is cut into *pieces* on which ``g`` is strictly monotone or constant
(:func:`pieces`): cut points are the kinks of the expression, the real zeros of ``g'``
(closed form for polynomials, bracketed bisection otherwise) and ``±X``
(``X = 12``, Gaussian mass beyond ``6e-33``).

Δ = 0 (:func:`noiseless_moments`). A constant piece is an atom of the law of ``y``;
its conditional moments are closed forms (``∫_a^b (x² − 1)φ = aφ(a) − bφ(b)``,
``∫_a^b xφ = φ(a) − φ(b)``). On the continuous part, given ``y`` the posterior
sits on the branches ``x_k = g_k⁻¹(y)`` with weights ``φ(x_k)/|g'(x_k)|`` (co-area
formula), so ``F_cont = E_z[G(g(z))² 1{z in a monotone piece}]``. Each monotone piece
is split at the preimages of every piece's end values (where branches appear or
vanish), the other branches are found by bisection inside their pieces, and each
sub-panel is integrated with tanh-sinh quadrature (bounded integrand, algebraic
endpoint behaviour); the error estimate is the difference between step ``h`` and
``h/2``.

Δ > 0 (:func:`noisy_moments`). ``F = E_{z,ε}[G(g(z) + √Δ ε)²]`` by a piecewise
Gauss–Legendre rule in ``z`` (panels cut at the preimages of every piece end value
``± k√Δ``) times Gauss–Hermite in ``ε``; ``G(y)`` is a ratio of integrals over ``x`` of
``φ(x) φ_Δ(y − g(x))`` restricted to the window ``|g(x) − y| ≤ 12.5√Δ`` of each
piece (closed form on constant pieces). The kernel is evaluated pointwise, so it is
normalised at every Δ and label range. Error: three times the difference of two levels
of all three rules (the finer one with every outer panel halved); the factor covers the
measured ratio of true to estimated error (≤ 2 on the deposit–convolution references of
tests/test_amp_single.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from giantstep.errors import InputError

NO_SHIFT = ((0.0, 1.0),)  # y = g(z) + c with probability prob, c independent of z
X_MAX = 12.0  # the line is [−X, X]; Gaussian mass outside: 6e-33
SAMPLES = 24001  # grid on which g' is sampled to bracket its zeros
END_GAP = 1e-9  # tanh-sinh nodes closer than this (relative) to a sub-panel end are dropped
WINDOW = 12.5  # noise kernel window in units of √Δ (Gauss–Hermite nodes reach 11.5)
OUTER_MAX = 10.0  # outer z-integral on [−10, 10] (Gaussian mass outside 1.5e-23)
_SQ2PI = np.sqrt(2 * np.pi)
# extra sub-panel ends (the Gaussian weight is resolved on each)
PANEL_CUTS = np.array([-8.0, -6.0, -4.5, -3.0, -2.0, -1.0, 1.0, 2.0, 3.0, 4.5, 6.0, 8.0])


def _phi(x):
    return np.exp(-0.5 * x * x) / _SQ2PI


@dataclass
class Piece:
    """``[a, b]`` on which the profile is strictly monotone (``sign = ±1``) or constant (0)."""

    a: float
    b: float
    sign: int
    ya: float  # g(a+)
    yb: float  # g(b−)

    @property
    def ylo(self) -> float:
        return min(self.ya, self.yb)

    @property
    def yhi(self) -> float:
        return max(self.ya, self.yb)


@dataclass
class Moments:
    """``T = E[E[z|y]²]``, ``F = E[E[z²−1|y]²]`` and error bounds (absolute)."""

    T: float
    F: float
    T_error: float
    F_error: float
    kind: str  # discrete / continuous / mixed / noisy


class Profile:
    """The one-direction profile ``s ↦ g(s u)`` of a target, its derivative and pieces."""

    def __init__(self, expr: sympy.Expr, s: sympy.Symbol, dof: int = 1):
        from math import lgamma, log

        from .expr.evaluate import compile_numpy
        from .expr.primitives import kinks

        self.expr = expr
        self._s = s
        self.dof = int(dof)
        self.lo = -X_MAX if self.dof == 1 else 0.0
        self._lognorm = 0.5 * log(2 * np.pi) if self.dof == 1 else (
            (0.5 * self.dof - 1) * log(2.0) + lgamma(0.5 * self.dof))
        d = sympy.diff(expr, s).replace(sympy.DiracDelta, lambda *a: sympy.S.Zero)
        if expr.is_polynomial(s):  # Horner in floating point
            pc_ = np.array([float(v) for v in sympy.Poly(expr, s).all_coeffs()])
            dc_ = np.polyder(pc_) if len(pc_) > 1 else np.zeros(1)
            self._g = lambda x: np.polyval(pc_, x)
            self._dg = lambda x: np.polyval(dc_, x)
        else:
            self._g = compile_numpy(expr, (s,))
            try:
                self._dg = compile_numpy(d, (s,))
                self._dg(np.linspace(-1, 1, 3))
            except (InputError, TypeError, ValueError):
                self._dg = None
        cuts = set(kinks(expr, s))
        if expr.is_polynomial(s) and sympy.degree(expr, s) >= 2:
            coeffs = [float(c) for c in sympy.Poly(sympy.diff(expr, s), s).all_coeffs()]
            for c in np.roots(coeffs):
                if abs(c.imag) < 1e-7 * (1 + abs(c)):
                    cuts.add(_polish(np.poly1d(coeffs), c.real))
        den = sympy.denom(sympy.together(expr))
        if den.has(s) and den.is_polynomial(s):  # poles split the line
            for c in np.roots([float(v) for v in sympy.Poly(den, s).all_coeffs()]):
                if abs(c.imag) < 1e-9 * (1 + abs(c)):
                    cuts.add(float(c.real))
        self.hint = sorted(c for c in cuts if self.lo < c < X_MAX)

    # the base law: N(0, 1) on the line (dof = 1), the chi law of |z| on [0, ∞) (dof = r)
    def logdens(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            out = -0.5 * x * x - self._lognorm
            return out if self.dof == 1 else out + (self.dof - 1) * np.log(np.abs(x))

    def dens(self, x):
        return np.exp(self.logdens(x))

    def stat(self, x):
        """``|z|²/r − 1`` (``z² − 1`` for one direction)."""
        return np.asarray(x, dtype=float) ** 2 / self.dof - 1

    def atom_integrals(self, a: float, b: float) -> tuple[float, float, float]:
        """``∫_a^b`` of the density, of ``x`` times it and of ``stat`` times it (closed forms)."""
        if self.dof == 1:
            from math import erf, sqrt

            m = 0.5 * (erf(b / sqrt(2)) - erf(a / sqrt(2)))
            return m, float(_phi(a) - _phi(b)), float(a * _phi(a) - b * _phi(b))
        from scipy.special import gammainc

        k = 0.5 * self.dof
        m = float(gammainc(k, b * b / 2) - gammainc(k, a * a / 2))
        m2 = float(gammainc(k + 1, b * b / 2) - gammainc(k + 1, a * a / 2))  # ∫ ρ/r · dens
        return m, 0.0, m2 - m

    def g(self, x):
        x = np.asarray(x, dtype=float)
        out = self._g(x)
        if not np.all(np.isfinite(out)):
            raise InputError("the target is not finite on the real line along its direction "
                             "(a singularity: its label law cannot be integrated)")
        return out

    def is_even(self) -> bool:
        """``g(−s) = g(s)`` to 1e-13 relative on 2000 points of [−X, X] (always for a radial profile)."""
        if self.dof > 1:
            return True
        x = np.linspace(0, X_MAX, 2001)[1:] - 1e-4 / 3
        a, b = self.g(x), self.g(-x)
        return bool(np.all(np.abs(a - b) <= 1e-13 * (1 + np.abs(a))))

    def dg(self, x):
        x = np.asarray(x, dtype=float)
        if self._dg is not None:
            out = self._dg(x)
            if np.all(np.isfinite(out)):
                return out
        h = 1e-5 * (1 + np.abs(x))  # Richardson-extrapolated central difference, rel. error ~1e-10
        d1 = (self.g(x + h) - self.g(x - h)) / (2 * h)
        d2 = (self.g(x + h / 2) - self.g(x - h / 2)) / h
        return (4 * d2 - d1) / 3


def _polish(poly: np.poly1d, x: float) -> float:
    """A few Newton steps on a polynomial root (kept only if they improve it)."""
    d = poly.deriv()
    for _ in range(4):
        step = poly(x) / d(x) if d(x) != 0 else 0.0
        if not np.isfinite(step) or abs(poly(x - step)) >= abs(poly(x)):
            break
        x -= step
    return float(x)


def _bisect_sign(f, lo: float, hi: float, iters: int = 200) -> float:
    flo = np.sign(f(np.array([lo]))[0])
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        fm = np.sign(f(np.array([mid]))[0])
        if fm == flo:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def pieces(p: Profile) -> list[Piece]:
    """Monotone and constant pieces of the profile on ``[−X, X]`` (module docstring)."""
    x = np.linspace(p.lo, X_MAX, SAMPLES)
    d = p.dg(x)
    cuts = set(p.hint)
    hint = np.array(p.hint)
    sg = np.sign(d)
    for i in np.flatnonzero((sg[:-1] * sg[1:]) < 0):
        if hint.size and np.any((hint >= x[i]) & (hint <= x[i + 1])):
            continue
        cuts.add(_bisect_sign(p.dg, x[i], x[i + 1]))
    zero = np.flatnonzero(sg[1:-1] == 0) + 1  # a zero of g' on a sample point
    for i in zero[sg[zero - 1] * sg[zero + 1] < 0]:
        cuts.add(float(x[i]))
    edges = sorted({p.lo, X_MAX} | {c for c in cuts if p.lo < c < X_MAX})
    out: list[Piece] = []
    for a, b in zip(edges[:-1], edges[1:]):
        if b - a < 1e-13:
            continue
        inner = np.concatenate([np.linspace(a, b, 19)[1:-1], x[(x > a) & (x < b)]])
        di = p.dg(inner)
        eps = 1e-12 * (b - a)
        ya, yb = p.g(np.array([a + eps, b - eps]))
        if np.all(di == 0):
            v = float(p.g(np.array([0.5 * (a + b)]))[0])
            out.append(Piece(a, b, 0, v, v))
            continue
        pos, neg = np.any(di > 0), np.any(di < 0)
        if pos and neg:
            raise InputError("the target's profile changes monotonicity between detected critical "
                             f"points near [{a:.3g}, {b:.3g}]; its label law cannot be integrated")
        out.append(Piece(a, b, 1 if pos else -1, float(ya), float(yb)))
    return out


def invert(p: Profile, pc: Piece, y: np.ndarray, iters: int = 44) -> np.ndarray:
    """``x`` in the monotone piece with ``g(x) = y`` (clamped to its ends).

    A bracket from the tabulated piece (:func:`_table`, 4001 points) is refined by
    ``iters`` bisection steps (bracket 6e-3 → 4e-16).
    """
    y = np.asarray(y, dtype=float)
    xt, yt = _table(p, pc)
    k = np.clip(np.searchsorted(yt, y), 1, len(yt) - 1)
    lo, hi = np.minimum(xt[k - 1], xt[k]), np.maximum(xt[k - 1], xt[k])
    lo = np.where(y <= yt[0], xt[0], lo)  # out of range: the clamped end
    hi = np.where(y <= yt[0], xt[0], hi)
    lo = np.where(y >= yt[-1], xt[-1], lo)
    hi = np.where(y >= yt[-1], xt[-1], hi)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        below = (p.g(mid) - y) * pc.sign < 0
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _table(p: Profile, pc: Piece, n: int = 4001):
    """``(x, g(x))`` on a monotone piece, ordered by increasing g (brackets for :func:`invert`)."""
    key = (pc.a, pc.b)
    cache = p.__dict__.setdefault("_tables", {})
    if key not in cache:
        x = np.linspace(pc.a, pc.b, n)
        x[0], x[-1] = pc.a + 1e-12 * (pc.b - pc.a), pc.b - 1e-12 * (pc.b - pc.a)
        y = np.maximum.accumulate(p.g(x) * pc.sign) * pc.sign  # exact monotonicity
        x[0], x[-1] = pc.a, pc.b
        cache[key] = (x, y) if pc.sign > 0 else (x[::-1].copy(), y[::-1].copy())
    return cache[key]


# ---------------------------------------------------------------------- Δ = 0
def _tanh_sinh(a: float, b: float, h: float, tmax: float = 3.3):
    """Tanh-sinh nodes on ``(a, b)`` at step h, weights, and a mask of the step-2h nodes.

    Nodes closer than ``END_GAP·(b − a)`` to an end are dropped; :func:`noiseless_moments`
    adds the integrand at the outermost kept node times the dropped length, and the same
    amount to the error.
    """
    t = np.arange(-np.ceil(tmax / h), np.ceil(tmax / h) + 1) * h
    u = 0.5 * np.pi * np.sinh(t)
    # distance to the nearest end, computed without cancellation
    frac = 1.0 / (1.0 + np.exp(2 * np.abs(u)))
    x = np.where(u < 0, a + (b - a) * frac, b - (b - a) * frac)
    w = (b - a) * 0.5 * h * 0.5 * np.pi * np.cosh(t) / np.cosh(u) ** 2
    keep = (frac > END_GAP) & (x > a) & (x < b)
    return x[keep], w[keep], np.abs(np.round(t[keep] / h)).astype(int) % 2 == 0


def _end_correction(x: np.ndarray, f: np.ndarray, a: float, b: float) -> float:
    """Integrand at the outermost kept nodes times the dropped lengths at both ends."""
    return float(abs(f[0]) * (x[0] - a) + abs(f[-1]) * (b - x[-1]))


def _atoms(p: Profile, ps: list[Piece], shifts=NO_SHIFT) -> tuple[float, float, int]:
    """Sum over atoms of ``P(a) E[z|a]²`` and ``P(a) E[stat|a]²`` (closed forms)."""
    groups: dict[float, list] = {}
    for pc in ps:
        for c, prob in shifts:
            if pc.sign == 0:
                v = pc.ya + c
                key = next((k for k in groups if abs(k - v) <= 1e-12 * (1 + abs(k))), v)
                groups.setdefault(key, []).append((pc, prob))
    T = F = 0.0
    for group in groups.values():
        ints = np.array([np.array(p.atom_integrals(pc.a, pc.b)) * prob for pc, prob in group]).sum(axis=0)
        m, s1, s2 = (float(v) for v in ints)
        if m > 0:
            T += s1 * s1 / m
            F += s2 * s2 / m
    return T, F, len(groups)


def _posterior(p: Profile, branches: list, owner: np.ndarray, z: np.ndarray):
    """``E[z | y]``, ``E[stat | y]`` at ``y = g(z) + c`` for node i in ``branches[owner[i]] = (piece, c, prob)``.

    The bound is ``4 max_k (x_k² − 1)² · min(1, δ_k / gap_k)``: rounding of ``y``
    moves a partner branch by ``δ_k ≤ 4e-16 (1 + |y|)/|g'(x_k)|``, a relative error
    ``δ_k/gap_k`` of its weight near a critical point at distance ``gap_k``.
    """
    c_own = np.array([b[1] for b in branches])[owner]
    p_own = np.array([b[2] for b in branches])[owner]
    y = p.g(z) + c_own
    eps_y = 4e-16 * (1 + np.abs(y))
    dz = np.maximum(np.abs(p.dg(z)), 1e-300)
    num1 = z.copy()
    num2 = p.stat(z)
    den = np.ones_like(z)
    lz = p.logdens(z)
    bound = np.zeros_like(z)
    rel = np.zeros_like(z)
    for k, (pc, c, prob) in enumerate(branches):
        inside = (y - c > pc.ylo) & (y - c < pc.yhi) & (owner != k)
        if not np.any(inside):
            continue
        yi = y[inside] - c
        xk = invert(p, pc, yi)
        dk = np.maximum(np.abs(p.dg(xk)), 1e-300)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            r = prob / p_own[inside] * dz[inside] / dk * np.exp(p.logdens(xk) - lz[inside])
            q = np.minimum(1.0, eps_y[inside] / (dk * np.maximum(np.minimum(xk - pc.a, pc.b - xk), 1e-300)))
        r = np.where(np.isfinite(r), r, 0.0)
        num1[inside] += r * xk
        num2[inside] += r * p.stat(xk)
        den[inside] += r
        rel[inside] = np.maximum(rel[inside], q)
        bound[inside] = np.maximum(bound[inside], np.where(r > 0, p.stat(xk) ** 2 + xk * xk, 0.0))
    bound = np.maximum(bound, p.stat(z) ** 2 + z * z)
    return num1 / den, num2 / den, 4 * bound * rel


def noiseless_moments(p: Profile, ps: list[Piece], h: float = 1 / 16, shifts=NO_SHIFT) -> Moments:
    """``T`` and ``F`` at Δ = 0: atoms in closed form, branches by tanh-sinh (module docstring).

    ``shifts``: the label is ``g(z) + c`` with probability ``prob`` for ``(c, prob)`` in
    ``shifts``, c independent of z (e.g. ``z1² + sign(z1 z2 z3)``: ``c = ±1``, ½ each).
    """
    Ta, Fa, n_atoms = _atoms(p, ps, shifts)
    mono = [pc for pc in ps if pc.sign != 0]
    branches = [(pc, c, prob) for pc in mono for c, prob in shifts]
    ends = sorted({v + c for pc in mono for v in (pc.ya, pc.yb) for c, _ in shifts})
    panels = []
    for k, (pc, c, _) in enumerate(branches):
        inner = [v - c for v in ends if pc.ylo < v - c < pc.yhi]
        cuts = invert(p, pc, np.array(inner)) if inner else np.zeros(0)
        fixed = PANEL_CUTS[(PANEL_CUTS > pc.a) & (PANEL_CUTS < pc.b)]
        edges = np.unique(np.concatenate([[pc.a, pc.b], cuts, fixed]))
        panels += [(k, a, b) for a, b in zip(edges[:-1], edges[1:]) if b - a >= 1e-14]
    T = np.zeros(2)
    F = np.zeros(2)
    rounding = 0.0
    if panels:
        rules = [_tanh_sinh(a, b, h) for _, a, b in panels]
        x = np.concatenate([r[0] for r in rules])
        w = np.concatenate([r[1] for r in rules])
        even = np.concatenate([r[2] for r in rules])
        owner = np.concatenate([np.full(len(r[0]), k) for (k, _, _), r in zip(panels, rules)])
        m1, g2, bound = _posterior(p, branches, owner, x)
        dens = p.dens(x) * np.array([b[2] for b in branches])[owner]
        wp = w * dens
        rounding += float(np.dot(wp, bound))
        fT, fF = dens * m1 * m1, dens * g2 * g2
        start = np.cumsum([0] + [len(r[0]) for r in rules])
        for (_, a, b), i, j in zip(panels, start[:-1], start[1:]):
            if j > i:
                ct = _end_correction(x[i:j], fT[i:j], a, b)
                cf = _end_correction(x[i:j], fF[i:j], a, b)
                T += ct
                F += cf
                rounding += ct + cf
        T += [np.dot(wp, m1 * m1), 2 * np.dot(wp[even], (m1 * m1)[even])]
        F += [np.dot(wp, g2 * g2), 2 * np.dot(wp[even], (g2 * g2)[even])]
    kind = "discrete" if not mono else ("continuous" if n_atoms == 0 else "mixed")
    T_val, T_err = float(Ta + T[0]), float(abs(T[0] - T[1]) + rounding + 1e-13)
    if p.is_even():  # z ↦ −z leaves y unchanged: E[z | y] = 0 exactly
        T_val, T_err = 0.0, 0.0
    return Moments(T_val, float(Fa + F[0]), T_err, float(abs(F[0] - F[1]) + rounding + 1e-13), kind)


# ---------------------------------------------------------------------- Δ > 0
# (outer GL nodes, outer panels halved?, Gauss–Hermite nodes, inner GL nodes) of the two levels
_NOISY_LEVELS = ((6, False, 20, 8), (8, True, 32, 10))
INNER_PARTS = 4  # each kernel window is cut into this many Gauss–Legendre panels
OUTER_PANEL = 0.75  # longest outer z-panel
NOISY_SAFETY = 3.0  # stated error = 3 × |fine − coarse| (docs/amp.md: checked against a deposit reference)
_KSIGMA = np.array([-6.0, -4.0, -3.0, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])


def _gl(n: int):
    t, w = np.polynomial.legendre.leggauss(n)
    return t, w


def _outer_panels(p: Profile, ps: list[Piece], sigma: float) -> list[tuple[float, float]]:
    """z-panels: pieces cut where ``g`` crosses a piece end value ``± k√Δ`` and at most OUTER_PANEL long."""
    ends = np.array(sorted({v for pc in ps for v in (pc.ya, pc.yb)}))
    targets = (ends[:, None] + sigma * _KSIGMA[None, :]).ravel()
    out = []
    for pc in ps:
        if pc.b <= -OUTER_MAX or pc.a >= OUTER_MAX:
            continue
        cuts = [max(pc.a, -OUTER_MAX), min(pc.b, OUTER_MAX)]
        if pc.sign != 0:
            inner = targets[(targets > pc.ylo) & (targets < pc.yhi)]
            if inner.size:
                xs = invert(p, pc, inner, iters=60)
                cuts.extend(xs[np.abs(xs) < OUTER_MAX].tolist())
        cuts.extend(PANEL_CUTS[(PANEL_CUTS > pc.a) & (PANEL_CUTS < pc.b)].tolist())
        edges = np.unique(np.array(cuts))
        for a, b in zip(edges[:-1], edges[1:]):
            k = max(1, int(np.ceil((b - a) / OUTER_PANEL)))
            e = np.linspace(a, b, k + 1)
            out.extend(zip(e[:-1], e[1:]))
    return out


def _noisy_posterior(p: Profile, ps: list[Piece], y: np.ndarray, sigma: float, n_inner: int):
    """``E[z | y]`` and ``E[z² − 1 | y]`` for ``y = g(z) + σε`` (windowed integrals per piece)."""
    t, wt = _gl(n_inner)
    u = (np.arange(INNER_PARTS)[:, None] + 0.5 * (t[None, :] + 1)).ravel() / INNER_PARTS
    wu = np.tile(wt, INNER_PARTS) / (2 * INNER_PARTS)
    s0 = np.zeros_like(y)
    s1 = np.zeros_like(y)
    s2 = np.zeros_like(y)
    for pc in ps:
        if pc.sign == 0:
            m, i1, i2 = p.atom_integrals(pc.a, pc.b)
            k = np.exp(-0.5 * ((y - pc.ya) / sigma) ** 2)
            s0 += k * m
            s1 += k * i1
            s2 += k * i2
            continue
        near = (y + WINDOW * sigma > pc.ylo) & (y - WINDOW * sigma < pc.yhi)
        if not np.any(near):
            continue
        yn = y[near]
        xt, yt = _table(p, pc)
        lo = np.interp(yn - WINDOW * sigma, yt, xt)
        hi = np.interp(yn + WINDOW * sigma, yt, xt)
        a, b = np.minimum(lo, hi), np.maximum(lo, hi)
        x = a[:, None] + (b - a)[:, None] * u[None, :]
        w = (b - a)[:, None] * wu[None, :] * p.dens(x) * np.exp(-0.5 * ((yn[:, None] - p.g(x)) / sigma) ** 2)
        s0[near] += w.sum(axis=1)
        s1[near] += (w * x).sum(axis=1)
        s2[near] += (w * p.stat(x)).sum(axis=1)
    if np.any(s0 <= 0):
        bad = np.flatnonzero(s0 <= 0)[:5]
        raise InputError(f"the noisy label density vanished at a quadrature node (internal error) y={y[bad]}")
    return s1 / s0, s2 / s0


def noisy_moments(p: Profile, ps: list[Piece], noise: float) -> Moments:
    """``T`` and ``F`` at Δ > 0 (module docstring); error = difference of two rule levels."""
    sigma = float(np.sqrt(noise))
    panels = _outer_panels(p, ps, sigma)
    res = []
    for n_out, halve, n_eps, n_in in _NOISY_LEVELS:
        t, wt = _gl(n_out)
        a = np.array([q[0] for q in panels])
        b = np.array([q[1] for q in panels])
        if halve:
            a, b = np.concatenate([a, 0.5 * (a + b)]), np.concatenate([0.5 * (a + b), b])
        z = ((a + b)[:, None] / 2 + (b - a)[:, None] / 2 * t[None, :]).ravel()
        wz = ((b - a)[:, None] / 2 * wt[None, :]).ravel() * p.dens(z)
        e, we = np.polynomial.hermite_e.hermegauss(n_eps)
        we = we / np.sqrt(2 * np.pi)
        y = (p.g(z)[:, None] + sigma * e[None, :]).ravel()
        w = (wz[:, None] * we[None, :]).ravel()
        m1, g2 = _noisy_posterior(p, ps, y, sigma, n_in)
        res.append((float(np.dot(w, m1 * m1)), float(np.dot(w, g2 * g2))))
    (Tc, Fc), (Tf, Ff) = res
    T_err = NOISY_SAFETY * abs(Tf - Tc) + 1e-12
    if p.is_even():
        Tf, T_err = 0.0, 0.0
    return Moments(Tf, Ff, T_err, NOISY_SAFETY * abs(Ff - Fc) + 1e-12, "noisy")
