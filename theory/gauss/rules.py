"""Gaussian quadrature for every layer: rule objects and the functional helpers built on them.

docs/model.md §2, §5–§6. Every expectation over standard Gaussians in giantstep goes through
this module. A :class:`Rule` is a family of rules indexed by the number of nodes ``n``
(the model is mpmath's ``QuadratureRule``): it owns its nodes (``rule.nodes(n)``, computed
once and kept read-only in a bounded cache), evaluates ``rule.expect(f, n)`` and refines
itself, ``rule.refine(f, tol)``, doubling ``n`` until two successive rules agree, which
returns an :class:`Estimate` (value, error estimate, nodes used) or raises
:class:`~giantstep.errors.ConvergenceError`. The rules:

* :class:`GaussHermiteRule` — probabilists' Gauss–Hermite, ``E[f(ξ)] ≈ Σ_i w_i f(x_i)``,
  weights summing to 1, exact for polynomials of degree ``2n−1``;
* :class:`TrapezoidRule` and :class:`MidpointRule` — equispaced rules for ``N(0, 1)`` on
  ``[−L, L]`` (geometric convergence for integrands analytic in a strip, where
  Gauss–Hermite converges only like ``exp(−c√n)``; the midpoint rule never puts a node
  on 0, so a jump there costs ``O(h²)``);
* :class:`GaussLegendreRule` — plain ``∫_a^b f`` (numpy), and :class:`MPGaussLegendreRule`
  — the same at a stated mpmath precision;

plus tensor products with pruning, piecewise Gauss–Legendre rules cut at the kinks of an
integrand, :func:`nodes_for_tolerance` (the shared error estimate) and
:func:`second_moment`, the one ``E[g(z)²]`` of the library.

The numerics layer re-exports the functional names from :mod:`giantstep.numerics.gaussian`
next to its numba contractions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from giantstep.caching import BoundedCache
from giantstep.errors import ConvergenceError, InputError

MAX_NODES = 4096


@dataclass(frozen=True)
class Estimate:
    """A quadrature value with the error estimate that bounds it and the nodes used."""

    value: Any
    error: float
    n: int


def tail_bound(f: Callable[[np.ndarray], np.ndarray], L: float) -> float:
    """``4 (|f(L)| + |f(−L)|) P(ξ > L)``: bounds the tails ``∫_{|ξ|>L} f φ`` left out by a rule
    on ``[−L, L]``, for f growing at most like a polynomial of degree ≤ 0.75 L² or like
    ``e^{c|ξ|}`` with ``c < L/2``."""
    ends = np.abs(np.asarray(f(np.array([-L, L])), dtype=float)).reshape(2, -1).sum(axis=0)
    tail = 0.5 * math.erfc(L / math.sqrt(2))
    return float(4.0 * np.max(ends) * tail)


class Rule:
    """A family of quadrature rules indexed by the number of nodes ``n``.

    Subclasses implement :meth:`_make` (nodes and weights for one ``n``) and
    :meth:`key` (the parameters that identify the family). Nodes are computed once
    per ``(key, n)`` and shared, read-only, through a bounded cache.
    """

    _cache = BoundedCache(256, readonly=True)

    def key(self) -> tuple:
        """Parameters that identify the family (part of the cache key)."""
        return (type(self).__name__,)

    def _make(self, n: int) -> tuple[Any, Any]:
        raise NotImplementedError

    def nodes(self, n: int) -> tuple[Any, Any]:
        """Nodes and weights of the ``n``-node rule (cached, read-only)."""
        key = (self.key(), n)
        data = Rule._cache._data
        try:  # hit path kept short (Gauss–Hermite nodes are fetched inside hot loops); still LRU
            value = data[key]
            data.move_to_end(key)
            return value
        except KeyError:
            return Rule._cache.get_or_compute(key, lambda: self._make(int(n)))

    def expect(self, f: Callable[[np.ndarray], np.ndarray], n: int) -> np.ndarray | float:
        """``Σ_i w_i f(x_i)`` for the ``n``-node rule; ``f`` maps the node array to values
        whose first axis runs over the nodes."""
        x, w = self.nodes(n)
        return np.tensordot(w, np.asarray(f(x), dtype=float), axes=(0, 0))

    def truncation(self, f: Callable[[np.ndarray], np.ndarray]) -> float:
        """Bound on the part of ``E[f]`` a rule on a finite interval leaves out (0 on the whole line)."""
        return 0.0

    def refine(self, f: Callable[[np.ndarray], np.ndarray], tol: float, n0: int = 16,
               n_max: int = 1024) -> Estimate:
        """Double ``n`` from ``n0`` until two successive rules agree within ``tol``.

        The error estimate is the difference of the last two rules plus :meth:`truncation`.
        It bounds the true error for integrands in the class the rule is made for (each
        subclass says which: smooth, or with jumps at 0 only) once the rule converges
        geometrically; a kink elsewhere needs :func:`piecewise_gauss_rule` cut at it, and a
        feature narrower than the node spacing is invisible to every rule. Raises
        :class:`ConvergenceError` beyond ``n_max``.
        """
        n, value, diff = nodes_for_tolerance(lambda m: self.expect(f, m), tol, n0=n0, n_max=n_max)
        return Estimate(value, diff + self.truncation(f), n)


class GaussHermiteRule(Rule):
    """Probabilists' Gauss–Hermite rules for ``E_{ξ~N(0,1)}``: ``Σ w = 1``, exact to degree ``2n−1``.

    For smooth integrands (entire functions converge fastest; analytic in a strip only like
    ``exp(−c√n)``)."""

    _KEY = ("gauss-hermite",)

    def key(self) -> tuple:
        return self._KEY

    def _make(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if n <= 100:
            x, w = np.polynomial.hermite_e.hermegauss(n)
        else:  # numpy's recursion overflows for n ≳ 360; scipy switches to asymptotics
            from scipy.special import roots_hermitenorm

            x, w = roots_hermitenorm(n)
        return x, w / np.sum(w)


class IntervalRule(Rule):
    """A rule for ``E_{ξ~N(0,1)}`` on ``[−L, L]``, ``L = half_width`` (subclasses declare it);
    :meth:`truncation` is :func:`tail_bound` at L."""

    half_width: float

    def truncation(self, f: Callable[[np.ndarray], np.ndarray]) -> float:
        return tail_bound(f, float(self.half_width))


@dataclass(frozen=True)
class TrapezoidRule(IntervalRule):
    """``n``-point trapezoidal rule for ``E_{ξ~N(0,1)}`` on ``[−L, L]`` (weights ∝ φ, summing to 1).

    For integrands analytic in a strip ``|Im ξ| < τ``; the error decays like ``exp(−2πτ/h)``.
    """

    half_width: float = 8.5

    def key(self) -> tuple:
        return ("trapezoid", float(self.half_width))

    def _make(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        x = np.linspace(-self.half_width, self.half_width, n)
        w = np.exp(-0.5 * x * x)
        return x, w / w.sum()


@dataclass(frozen=True)
class MidpointRule(IntervalRule):
    """Midpoint rule for ``E_{ξ~N(0,1)}`` on ``[−L, L]`` with ``n`` nodes (rounded up to even).

    0 is a cell boundary, never a node, so a jump at 0 (sign, Heaviside, relu') costs
    ``O(h²)``; smooth integrands converge geometrically.
    """

    half_width: float = 10.0

    def key(self) -> tuple:
        return ("midpoint", float(self.half_width))

    def _make(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        n = n + n % 2
        h = 2 * self.half_width / n
        x = -self.half_width + h * (np.arange(n) + 0.5)
        w = np.exp(-0.5 * x * x)
        return x, w / w.sum()


@dataclass(frozen=True)
class GaussLegendreRule(Rule):
    """Gauss–Legendre rules for the plain integral ``∫_a^b f(x) dx`` (numpy, double precision)."""

    a: float = -1.0
    b: float = 1.0

    def key(self) -> tuple:
        return ("legendre", float(self.a), float(self.b))

    def _make(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        t, w = np.polynomial.legendre.leggauss(n)
        half, mid = (self.b - self.a) / 2, (self.b + self.a) / 2
        return half * t + mid, half * w


GAUSS_LEGENDRE = GaussLegendreRule()


@dataclass(frozen=True)
class SplitNormalRule(IntervalRule):
    """``E_{ξ~N(0,1)}`` by ``n``-point Gauss–Legendre on each piece of ``[−L, L]`` cut into
    ``pieces`` equal parts and at the ``kinks`` (weights ``w_GL φ``; the truncation at
    ``L = 10`` costs < 1e-22).

    For piecewise-analytic integrands: every piece is analytic, and short pieces keep the
    convergence geometric for functions with poles near the real axis (tanh), where
    Gauss–Hermite converges only like ``exp(−c√n)``.
    """

    half_width: float = 10.0
    pieces: int = 8
    kinks: tuple[float, ...] = ()

    def key(self) -> tuple:
        return ("split-normal", float(self.half_width), int(self.pieces),
                tuple(float(k) for k in self.kinks))

    def _make(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        t, wl = GAUSS_LEGENDRE.nodes(n)
        L = float(self.half_width)
        cuts = set(np.linspace(-L, L, int(self.pieces) + 1).tolist())
        edges = sorted(cuts | {float(k) for k in self.kinks if -L < k < L})
        xs, ws = [], []
        for lo, hi in zip(edges[:-1], edges[1:]):
            half = 0.5 * (hi - lo)
            if half <= 1e-12:
                continue
            x = 0.5 * (hi + lo) + half * t
            xs.append(x)
            ws.append(half * wl * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi))
        return np.concatenate(xs), np.concatenate(ws)


SPLIT_NORMAL = SplitNormalRule()

MAX_SPECTRAL_NODES = 200_001


@dataclass(frozen=True)
class MarchenkoPasturRule(Rule):
    """``⟨g(D)⟩`` over the Marchenko–Pastur law of ratio ``y = p/d`` and scale ``s``
    (eigenvalues of ``W Wᵀ``, W ``p × d`` with iid entries of variance ``s/d``; docs/model.md §6.1).

    * ``y = 1`` (hard edge at 0; ``hard_edge`` forces either form): ``nodes(n)`` is the
      folded ``2n−1``-point Gauss–Chebyshev-II rule for ``(2/π)∫ sqrt(1−t²) g(4 s t²) dt`` —
      ``n`` nodes in ``[0, 4s]``, exact for polynomials of degree ``≤ 2n−2`` in ``D``;
    * ``y ≠ 1``: an atom of mass ``max(0, 1 − 1/y)`` at 0 (first node, when ``y > 1``) and
      the density ``sqrt((b − x)(x − a))/(2π y s x)`` on ``[a, b] = s(1 ∓ √y)²``, with
      ``x = s(1 + y) + 2 s √y t`` integrated by the ``n``-point Gauss–Chebyshev-II rule.

    Weights sum to 1. The error for an integrand with a (double) pole at ``D = −pole`` is
    set by :meth:`nodes_for_pole` (Bernstein-ellipse rate, safety factor 1e3).
    """

    ratio: float = 1.0
    scale: float = 1.0
    hard_edge: bool | None = None  # the folded rule; default: exactly when ratio == 1

    @property
    def folded(self) -> bool:
        """Whether the folded hard-edge rule is used (``ratio == 1`` unless stated)."""
        return self.ratio == 1.0 if self.hard_edge is None else bool(self.hard_edge)

    def key(self) -> tuple:
        return ("marchenko-pastur", float(self.ratio), float(self.scale), self.folded)

    def _make(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self.folded:
            m = n - 1
            N = 2 * m + 1
            theta = np.arange(1, N + 1) * np.pi / (N + 1)
            t = np.cos(theta)
            w = (2.0 / (N + 1)) * np.sin(theta) ** 2  # (2/π)·π/(N+1)·sin²
            # fold t and −t (node k ↔ N+1−k); the middle node is t = 0
            wf = w[: m + 1].copy()
            wf[:m] *= 2.0
            return 4.0 * float(self.scale) * t[: m + 1] ** 2, wf
        y, s = float(self.ratio), float(self.scale)
        theta = np.arange(1, n + 1) * np.pi / (n + 1)
        t = np.cos(theta)
        wt = (np.pi / (n + 1)) * np.sin(theta) ** 2
        x = s * (1.0 + y) + 2.0 * s * np.sqrt(y) * t
        w = (2.0 * s / np.pi) * wt / x
        if y > 1.0:
            x = np.concatenate([[0.0], x])
            w = np.concatenate([[1.0 - 1.0 / y], w])
        return x, w

    def nodes_for_pole(self, pole: float, tol: float) -> int:
        """``n`` such that a rational integrand with a (double) pole at ``D = −pole``
        (``pole > 0``) is integrated to ``tol``: the nearest singularity in the ``t`` plane
        (the pole, and for ``y ≠ 1`` the ``1/x`` of the density at 0) sets the rate ``ρ^{−2N}``
        of the ``N``-point rule; safety factor 1e3 and 16 extra nodes."""
        if not pole > 0:
            raise InputError("the integrand has a pole on the spectrum (λ must be > 0)")
        y, s = float(self.ratio), float(self.scale)
        if self.folded:
            b = np.sqrt(float(pole) / (4.0 * s))
            rate = np.log(b + np.sqrt(1.0 + b * b))
            n_full = np.log(1e3 / tol) / (2.0 * rate) + 16
            return max(16, min(int(np.ceil(n_full / 2)) + 4, MAX_SPECTRAL_NODES // 2))
        m, h = s * (1.0 + y), 2.0 * s * np.sqrt(y)
        rho = np.inf
        for x0 in (0.0, -float(pole)):
            t0 = abs((x0 - m) / h)
            rho = min(rho, t0 + np.sqrt(max(t0 * t0 - 1.0, 0.0)))
        rate = np.log(max(rho, 1.0 + 1e-12))
        n = int(np.ceil(np.log(1e3 / tol) / (2.0 * rate))) + 16
        return max(16, min(n, MAX_SPECTRAL_NODES))

    def for_pole(self, pole: float, tol: float) -> tuple[np.ndarray, np.ndarray]:
        """Nodes and weights of :meth:`nodes_for_pole` nodes (the pole clipped at ``10⁶ s``
        for ``y ≠ 1`` and ``4·10⁶ s`` for ``y = 1``: beyond it the integrand is flat on the support)."""
        s = float(self.scale)
        cap = (4e6 if self.folded else 1e6) * s
        return self.nodes(self.nodes_for_pole(min(float(pole), cap), tol))


@dataclass(frozen=True)
class MPGaussLegendreRule(Rule):
    """mpmath Gauss–Legendre rules on ``[−1, 1]`` at ``prec`` bits: ``nodes(degree)`` is the
    list of ``(t, w)`` pairs of mpmath's rule of that degree (``3·2^{degree−1}`` nodes)."""

    prec: int = 53

    def key(self) -> tuple:
        return ("mp-legendre", int(self.prec))

    def _make(self, degree: int) -> list:
        import mpmath
        from mpmath.calculus.quadrature import GaussLegendre

        return GaussLegendre(mpmath.mp).calc_nodes(degree, self.prec)

    def nodes(self, n: int) -> list:  # type: ignore[override]
        """The ``(t, w)`` pairs of the rule of degree ``n`` (cached)."""
        return super().nodes(n)


GAUSS_HERMITE = GaussHermiteRule()


def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the n-point rule for ``E_{ξ~N(0,1)}[f(ξ)]``.

    Returns read-only arrays ``(x, w)`` with ``Σ w = 1`` and
    ``Σ w x^{2k} = (2k-1)!!`` for ``2k ≤ 2n - 1``.
    """
    if not isinstance(n, (int, np.integer)) or n < 1 or n > MAX_NODES:
        raise InputError(f"number of quadrature nodes must be an integer in [1, {MAX_NODES}], got {n!r}")
    return GAUSS_HERMITE.nodes(int(n))


def product_rule(n: int, dim: int, rule: Rule | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-product rule for ``E_{κ~N(0,I_dim)}`` from ``n`` nodes of the one-dimensional
    ``rule`` per axis (Gauss–Hermite by default; e.g. :data:`SPLIT_NORMAL` for integrands with
    poles near the real axis): nodes ``(N**dim, dim)``, weights ``(N**dim,)``, no pruning."""
    if dim < 0:
        raise InputError(f"dimension must be ≥ 0, got {dim}")
    one = gauss_hermite(n) if rule is None else rule.nodes(int(n))
    if len(one[1]) ** dim > 50_000_000:
        raise InputError(f"product rule with {len(one[1])}^{dim} nodes is too large")
    return product_of_rules([one] * dim, prune=0.0)


def nodes_for_tolerance(
    estimate: Callable[[int], np.ndarray | float], tol: float, n0: int = 16, n_max: int = 1024
) -> tuple[int, np.ndarray | float, float]:
    """Double ``n`` from ``n0`` until ``estimate(n)`` and ``estimate(2n)`` agree within ``tol``.

    Returns ``(n, value, difference)``; raises :class:`~giantstep.errors.ConvergenceError`
    (a numerical failure, not bad input) if ``n_max`` is reached without agreement (the
    integrand is too rough for the tolerance); its ``residual`` is the last difference.
    """
    n = n0
    prev = np.asarray(estimate(n), dtype=float)
    diff = float("nan")
    doublings = 0
    while True:
        n2 = 2 * n
        if n2 > n_max:
            raise ConvergenceError(
                f"Gaussian quadrature did not reach tolerance {tol:g} with {n_max} nodes",
                residual=diff, iterations=doublings)
        doublings += 1
        cur = np.asarray(estimate(n2), dtype=float)
        diff = float(np.max(np.abs(cur - prev)))
        if diff <= tol:
            return n2, cur, diff
        prev, n = cur, n2


def anisotropic_product_rule(
    ns: tuple[int, ...] | list[int], prune: float = 1e-15
) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-product rule for ``E_{κ~N(0,I_dim)}`` with ``ns[i]`` nodes along axis ``i``.

    Nodes whose product weight is below ``prune`` are dropped and the remaining
    weights are left as they are, so the dropped mass (at most ``prune × Π ns``)
    bounds the extra error for integrands of order one at those far-out nodes.

    Returns ``(nodes, weights)`` of shapes ``(N, dim)`` and ``(N,)``, C-contiguous.
    """
    ns = [int(n) for n in ns]
    if any(n < 1 for n in ns):
        raise InputError(f"node counts must be ≥ 1, got {ns}")
    total = int(np.prod(ns)) if ns else 1
    if total > 50_000_000:
        raise InputError(f"product rule with {' x '.join(map(str, ns))} nodes is too large")
    return product_of_rules([gauss_hermite(n) for n in ns], prune=prune)


def stroud3_rule(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Degree-3 rule for ``E_{v~N(0,I_m)}`` with 2m nodes ``±√m e_i`` (weights ``1/(2m)``).

    Exact for polynomials of degree ≤ 3; used for axes along which the integrand
    is nearly polynomial (small variance), where its error is O(λ²) per axis.
    """
    if m < 1:
        return np.zeros((1, 0)), np.ones(1)
    nodes = np.zeros((2 * m, m))
    for i in range(m):
        nodes[2 * i, i] = np.sqrt(m)
        nodes[2 * i + 1, i] = -np.sqrt(m)
    return nodes, np.full(2 * m, 1.0 / (2 * m))


def tensor_rules(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Product of two rules on independent Gaussian blocks: nodes ``(Na·Nb, da+db)``."""
    xa, wa = a
    xb, wb = b
    xa = xa.reshape(len(wa), -1)
    xb = xb.reshape(len(wb), -1)
    na, nb = len(wa), len(wb)
    nodes = np.empty((na * nb, xa.shape[1] + xb.shape[1]))
    nodes[:, : xa.shape[1]] = np.repeat(xa, nb, axis=0)
    nodes[:, xa.shape[1]:] = np.tile(xb, (na, 1))
    return nodes, np.repeat(wa, nb) * np.tile(wb, na)


TRAPEZOID_HALF_WIDTH = 8.5  # φ(8.5) ≈ 2e-16: the truncation of the line costs nothing


def trapezoid_rule(n: int, half_width: float = TRAPEZOID_HALF_WIDTH) -> tuple[np.ndarray, np.ndarray]:
    """n-point trapezoidal rule for ``E_{ξ~N(0,1)}`` on ``[−L, L]`` (weights ∝ φ, summing to 1).

    For integrands analytic in a strip ``|Im ξ| < τ`` the error decays like
    ``exp(−2πτ/h)`` with ``h = 2L/(n−1)`` — much faster than Gauss–Hermite, whose
    error decays only like ``exp(−c τ √n)`` for such functions (e.g. ``tanh(2z)``).
    """
    if not isinstance(n, (int, np.integer)) or n < 2 or n > MAX_NODES:
        raise InputError(f"number of trapezoid nodes must be an integer in [2, {MAX_NODES}], got {n!r}")
    return TrapezoidRule(float(half_width)).nodes(int(n))


def product_of_rules(
    rules: list[tuple[np.ndarray, np.ndarray]], prune: float = 1e-15
) -> tuple[np.ndarray, np.ndarray]:
    """Tensor product of one-dimensional rules ``[(x_i, w_i), ...]``, pruning tiny weights."""
    if not rules:
        return np.zeros((1, 0)), np.ones(1)
    total = int(np.prod([len(r[1]) for r in rules]))
    if total > 50_000_000:
        raise InputError(f"product rule with {total} nodes is too large")
    grids = np.meshgrid(*[r[0] for r in rules], indexing="ij")
    wgrid = rules[0][1]
    for r in rules[1:]:
        wgrid = np.multiply.outer(wgrid, r[1])
    weights = wgrid.ravel()
    keep = weights >= prune if prune > 0 else np.ones(weights.shape, dtype=bool)
    nodes = np.stack([g.ravel()[keep] for g in grids], axis=1)
    return np.ascontiguousarray(nodes), np.ascontiguousarray(weights[keep])


def piecewise_gauss_rule(
    shifts: np.ndarray, breakpoints: np.ndarray, nq: int = 48, half_width: float = 9.0,
    pieces: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Rules for ``E_ξ[f(ξ)]`` when f is smooth except at the points ``breakpoints − shifts[i]``.

    For every row i the interval ``[−L, L]`` is cut at the (clipped) breakpoints and each
    piece gets an ``nq``-point Gauss–Legendre rule times the Gaussian density, so kinks
    and jumps of f cost nothing (the pieces are smooth). ``pieces > 1`` also cuts
    ``[−L, L]`` into that many equal parts, which keeps Gauss–Legendre fast for
    functions with complex singularities near the real line (e.g. tanh(2x)). Used for
    ``E σ(a + bξ)`` with ``shifts = a/b`` and ``breakpoints = x_k/b`` (the non-smooth
    points of σ).

    Returns ``(nodes, weights)`` of shape ``(len(shifts), (m+1)·nq)``; rows sum to
    ``1 − 2Φ(−L)`` (≈ 1 − 2e-19 for L = 9).
    """
    shifts = np.asarray(shifts, dtype=float).reshape(-1)
    bp = np.asarray(breakpoints, dtype=float).reshape(-1)
    t, wt = GAUSS_LEGENDRE.nodes(int(nq))
    G = shifts.size
    uniform = np.linspace(-half_width, half_width, int(pieces) + 1)
    cuts = np.clip(bp[None, :] - shifts[:, None], -half_width, half_width)
    ends = np.sort(np.concatenate([np.broadcast_to(uniform, (G, uniform.size)), cuts], axis=1),
                   axis=1)
    lo, hi = ends[:, :-1], ends[:, 1:]  # (G, m+1)
    mid, rad = (lo + hi) / 2, (hi - lo) / 2
    nodes = (mid[:, :, None] + rad[:, :, None] * t[None, None, :]).reshape(G, -1)
    weights = (rad[:, :, None] * wt[None, None, :]).reshape(G, -1)
    weights = weights * np.exp(-0.5 * nodes * nodes) / np.sqrt(2 * np.pi)
    return nodes, weights


SECOND_MOMENT_RTOL = 1e-10
_TRAPEZOID_MAX = {2: 512, 3: 128}


def second_moment(evaluate: Callable[[np.ndarray], np.ndarray], r: int,
                  kinks: tuple[float, ...] = ()) -> float:
    """``E[g(z)²]`` for ``z ~ N(0, I_r)``, ``evaluate`` mapping ``(N, r)`` points to values.

    * r = 1: Gauss–Legendre pieces cut at ``kinks`` (the points where g is not smooth) on
      ``[−9, 9]``, nodes per piece doubled until two rules agree to 1e-12 relative — exact
      to rounding for piecewise-analytic g;
    * r = 2, 3: product trapezoidal rules with an even number of nodes per axis (no node on
      the coordinate hyperplanes, where ``sign(z_i)``-type targets jump), doubled until two
      rules agree to ``1e-10`` relative (geometric convergence for analytic g, where
      Gauss–Hermite converges only like ``exp(−c√n)``);
    * r ≥ 4: a scrambled Sobol sample of 2²⁰ points (seed 12345), relative error about 1e-4.

    A trapezoidal rule whose nodes include a jump loses the jump's share of the nodes' mass:
    with an odd number of nodes, ``E[sign(z1 z2 z3)²]`` comes out as 0.85 instead of 1.
    """
    if r == 1:
        def est1(nq: int) -> float:
            x, w = piecewise_gauss_rule(np.zeros(1), np.asarray(kinks, dtype=float), nq=nq, pieces=4)
            with np.errstate(all="ignore"):
                return float(w[0] @ np.asarray(evaluate(x[0][:, None]), dtype=float) ** 2)

        return float(nodes_for_tolerance(lambda nq: est1(int(nq)), 1e-12, n0=16, n_max=512)[1])
    if r <= 3:
        def est(n: int) -> float:
            Y, w = product_of_rules([trapezoid_rule(n)] * r, prune=0.0)
            with np.errstate(all="ignore"):
                return float(w @ np.asarray(evaluate(Y), dtype=float) ** 2)

        n = 64
        prev = est(n)
        while n < _TRAPEZOID_MAX[r]:
            n *= 2
            cur = est(n)
            if abs(cur - prev) <= SECOND_MOMENT_RTOL * max(1.0, abs(cur)):
                return cur
            prev = cur
        return prev
    from scipy.stats import norm, qmc

    sob = qmc.Sobol(r, scramble=True, seed=12345).random_base2(20)
    z = norm.ppf(np.clip(sob, 1e-16, 1 - 1e-16))
    return float(np.mean(np.asarray(evaluate(z), dtype=float) ** 2))


def normal_quantile(p: np.ndarray) -> np.ndarray:
    """Φ⁻¹(p) elementwise, for p in (0, 1) (Wichura's AS 241 through :class:`statistics.NormalDist`,
    relative accuracy about 1e-15; no scipy.special import on the start-up path of the theory commands)."""
    from statistics import NormalDist

    inv = np.frompyfunc(NormalDist().inv_cdf, 1, 1)
    return np.asarray(inv(np.asarray(p, dtype=float)), dtype=float)
