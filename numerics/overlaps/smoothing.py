"""Gaussian smoothing of a student activation, tabulated for the overlap kernels.

docs/model.md §5.3 needs, for a preactivation ``h = a + b ξ`` (``ξ ~ N(0,1)`` private),
four functions of ``a`` at fixed ``b``::

    S(a)   = E σ(a + bξ)          (output)
    Φ(a)   = E σ'(a + bξ)          (gradient factor)
    Φd(a)  = E σ''(a + bξ) = E[σ'(a + bξ) ξ]/b
    Φ2(a)  = E σ'(a + bξ)²

They are computed either in closed form (relu, erf) or by quadrature in ξ
through :mod:`giantstep.numerics.gaussian` using only σ and σ'
(Stein: ``Φ = E[σ ξ]/b``, ``Φd = E[σ (ξ²−1)]/b²``): the non-smooth points of σ
and σ' (zeros of the arguments of relu, abs, Heaviside, sign, Max) are found
symbolically, the ξ-line is cut there and every smooth piece gets a
Gauss–Legendre rule times the Gaussian density, with the number of nodes per
piece doubled until two rules agree within the table tolerance. (Plain
Gauss–Hermite converges only algebraically across a kink or jump.) The tables
hold values and first derivatives on a uniform grid of spacing
``h = b·(96·tol)^{1/4}`` (between b/32 and b/6) and are read by cubic Hermite
interpolation (error ``≤ h⁴ max|f⁗|/384 ≲ tol`` for these Gaussian-smoothed
functions, whose fourth derivatives are ≲ 4 b⁻⁴ for b ≳ 1; tested against the
closed forms).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import sympy

from giantstep.errors import InputError
from giantstep.numerics import special
from giantstep.numerics.gaussian import nodes_for_tolerance, piecewise_gauss_rule
from giantstep.theory import Activation
from giantstep.theory.expr.primitives import activation_kind

N_FUNCS = 4  # S, Φ, Φd, Φ2
_SQRT2PI = np.sqrt(2.0 * np.pi)


def closed_form_kind(activation: Activation) -> str | None:
    """``'relu'`` or ``'erf'`` if the activation has closed-form smoothings, else None
    (the ``tables`` fact of its primitive record, theory/expr/primitives.py)."""
    return activation_kind(activation.expr, "tables")


def _closed_form(kind: str, a: np.ndarray, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Values and a-derivatives of (S, Φ, Φd, Φ2), each of shape (4, len(a))."""
    if kind == "relu":
        t = a / b
        cdf = special.ndtr(t)
        pdf = np.exp(-0.5 * t * t) / _SQRT2PI
        vals = np.stack([a * cdf + b * pdf, cdf, pdf / b, cdf])
        ders = np.stack([cdf, pdf / b, -t * pdf / (b * b), pdf / b])
        return vals, ders
    # erf: σ' = (2/√π) exp(-x²);  E exp(-c(a+bξ)²) = exp(-c a²/(1+2cb²)) / sqrt(1+2cb²)
    u1 = 1.0 + 2.0 * b * b
    u2 = 1.0 + 4.0 * b * b
    phi = 2.0 / np.sqrt(np.pi) * np.exp(-a * a / u1) / np.sqrt(u1)
    phid = -2.0 * a / u1 * phi
    phi2 = 4.0 / np.pi * np.exp(-2.0 * a * a / u2) / np.sqrt(u2)
    vals = np.stack([special.erf(a / np.sqrt(u1)), phi, phid, phi2])
    ders = np.stack([phi, phid, phi * (4.0 * a * a / (u1 * u1) - 2.0 / u1), -4.0 * a / u2 * phi2])
    return vals, ders


_LAST_NQ: dict[str, int] = {}


def activation_breakpoints(activation: Activation) -> np.ndarray:
    """Real points where σ or σ' is not smooth (:attr:`Activation.kinks`) as an array."""
    return np.array(activation.kinks, dtype=float)


def _quadrature(activation: Activation, a: np.ndarray, b: float, nq: int,
                breakpoints: np.ndarray) -> np.ndarray:
    """(S, Φ, Φd, Φ2) and derivatives stacked as (8, len(a)): piecewise Gauss–Legendre
    in ξ with ``nq`` nodes per smooth piece (:func:`gaussian.piecewise_gauss_rule`)."""
    x, w = piecewise_gauss_rule(a / b, breakpoints / b, nq, pieces=12)
    pts = a[:, None] + b * x
    sig = activation.evaluate(pts)
    dsig2 = activation.derivative(pts, 1) ** 2
    he1, he2, he3 = x, x * x - 1.0, x**3 - 3.0 * x
    S = np.sum(sig * w, axis=1)
    phi = np.sum(sig * he1 * w, axis=1) / b
    phid = np.sum(sig * he2 * w, axis=1) / b**2
    phid_d = np.sum(sig * he3 * w, axis=1) / b**3
    phi2 = np.sum(dsig2 * w, axis=1)
    phi2_d = np.sum(dsig2 * he1 * w, axis=1) / b
    return np.stack([S, phi, phid, phi2, phi, phid, phid_d, phi2_d])


def _adaptive(activation: Activation, a: np.ndarray, b: float, tol: float) -> tuple[int, np.ndarray]:
    """Double the nodes per piece until two rules agree within tol (starting from half the
    count that sufficed last time for this activation, so usually two evaluations)."""
    bps = activation_breakpoints(activation)
    key = sympy.srepr(activation.expr)
    n0 = max(8, _LAST_NQ.get(key, 16) // 2)
    # the agreement is asked relative to the values' own size where they exceed 1 (a polynomial σ
    # at |a| ≫ 1: rounding alone is 1e-16 of a large number, beyond an absolute tol)
    scale = max(1.0, float(np.max(np.abs(_quadrature(activation, a, b, n0, bps)))))
    n, val, _ = nodes_for_tolerance(lambda nq: _quadrature(activation, a, b, nq, bps) / scale, tol,
                                    n0=n0, n_max=256)
    _LAST_NQ[key] = n
    return n, np.asarray(val) * scale


def smoothed(activation: Activation, a: np.ndarray, b: float, tol: float = 1e-9) -> np.ndarray:
    """``(S, Φ, Φd, Φ2)`` at the points ``a`` for private width ``b``; shape ``(4, len(a))``."""
    a = np.atleast_1d(np.asarray(a, dtype=float))
    kind = closed_form_kind(activation)
    if kind is not None:
        return _closed_form(kind, a, b)[0]
    return _adaptive(activation, a, b, tol)[1][:N_FUNCS]


@dataclass
class Table:
    """Tabulated smoothing for one private width ``b`` on ``[x0, x0 + (G−1)h]``."""

    x0: float
    h: float
    vals: np.ndarray  # (4, G)
    ders: np.ndarray  # (4, G)
    b: float
    quad_nodes: int


def build_table(activation: Activation, b: float, amax: float, tol: float) -> Table:
    """Tabulate ``(S, Φ, Φd, Φ2)`` for ``|a| ≤ amax`` at private width ``b``."""
    if not (b > 0 and np.isfinite(b)):
        raise InputError(f"private variance became {b**2!r}; the recursion has degenerated")
    # cubic Hermite error ≲ h⁴ max|f⁗|/384 with max|f⁗| ≲ 4/b⁴ for these Gaussian-smoothed
    # functions (b ≳ 1): h = b·(96·tol)^{1/4}, clipped to [b/32, b/6], keeps it ≲ tol
    h = b * float(np.clip((96.0 * tol) ** 0.25, 1 / 32, 1 / 6))
    amax = max(float(amax), 1.0) + 2 * h
    G = int(np.ceil(2 * amax / h)) + 1
    if G > 2_000_000:
        raise InputError("the preactivations grew too large to tabulate (|a| ≫ private width)")
    grid = -amax + h * np.arange(G)
    kind = closed_form_kind(activation)
    if kind is not None:
        vals, ders = _closed_form(kind, grid, b)
        return Table(-amax, h, np.ascontiguousarray(vals), np.ascontiguousarray(ders), b, 0)
    n, res = _adaptive(activation, grid, b, tol)
    return Table(-amax, h, np.ascontiguousarray(res[:4]), np.ascontiguousarray(res[4:]), b, n)


@numba.njit(cache=True)
def interp_all(x0: float, h: float, G: int, vals: np.ndarray, ders: np.ndarray, a: float,
               out: np.ndarray) -> None:
    """Cubic Hermite interpolation of every tabulated function at ``a`` (one shared basis).

    ``vals``/``ders`` have shape ``(m, ≥G)`` (values and derivatives on the grid
    ``x0 + i h``); ``out[k]`` receives function k. Outside the grid the value is
    extrapolated linearly (callers build the grid to cover every node). The library's one
    interpolator: the overlap kernel and :func:`interp` call it.
    """
    u = (a - x0) / h
    if u <= 0.0 or u >= G - 1:
        lo = 0 if u <= 0.0 else G - 1
        dx = a - (x0 + lo * h)
        for k in range(out.shape[0]):
            out[k] = vals[k, lo] + ders[k, lo] * dx
        return
    i = int(u)
    t = u - i
    t2 = t * t
    t3 = t2 * t
    c00 = 2.0 * t3 - 3.0 * t2 + 1.0
    c10 = (t3 - 2.0 * t2 + t) * h
    c01 = -2.0 * t3 + 3.0 * t2
    c11 = (t3 - t2) * h
    for k in range(out.shape[0]):
        out[k] = c00 * vals[k, i] + c10 * ders[k, i] + c01 * vals[k, i + 1] + c11 * ders[k, i + 1]


@numba.njit(cache=True)
def interp(x0: float, h: float, G: int, vals: np.ndarray, ders: np.ndarray, k: int, a: float) -> float:
    """Function ``k`` of a table at ``a`` (:func:`interp_all`, one value)."""
    out = np.empty(vals.shape[0])
    interp_all(x0, h, G, vals, ders, a, out)
    return out[k]


def pack_tables(tables: list[Table]) -> tuple[np.ndarray, ...]:
    """Stack per-type tables into padded arrays ``(x0s, hs, Gs, vals, ders)`` for the kernels."""
    K = len(tables)
    Gmax = max(t.vals.shape[1] for t in tables)
    vals = np.zeros((K, N_FUNCS, Gmax))
    ders = np.zeros((K, N_FUNCS, Gmax))
    for i, t in enumerate(tables):
        vals[i, :, : t.vals.shape[1]] = t.vals
        ders[i, :, : t.ders.shape[1]] = t.ders
    x0s = np.array([t.x0 for t in tables])
    hs = np.array([t.h for t in tables])
    Gs = np.array([t.vals.shape[1] for t in tables], dtype=np.int64)
    return x0s, hs, Gs, vals, ders
