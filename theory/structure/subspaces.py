"""Relevant subspace, information exponent, staircase and leap index (docs/model.md §3).

All objects are basis-free: they are computed from the Hermite tensors
``C_k(g*)`` (which transform as tensors under rotations of z) by contractions
with orthonormal bases and column spaces (SVD with a relative tolerance), and
returned as orthonormal bases of subspaces of ``R^r``.

* ``Im(T)``: column space of the ``r × r^{k-1}`` unfolding of a symmetric tensor.
* ``U* = Σ_k Im(C_k)``; ``k* = min{k ≥ 1 : C_k ≠ 0}``.
* ``E_k(V) = Σ_γ Im(E[g He_γ(z_V) He_k(z_⊥)])``: the entries of
  ``E[g He_γ(z_V) He_k(z_⊥)]`` are those of ``C_{|γ|+k}`` with ``|γ|`` modes
  contracted with a basis of ``V`` and ``k`` modes projected on ``V^⊥``, so
  ``E_k(V)`` is the column space of the last-mode unfolding of those
  contractions, summed over ``j = |γ| ≥ 0``.
* Staircase ``V_{t+1} = V_t ⊕ E_1(V_t)``; leap: greedy growth by the smallest
  ``k`` with ``E_k(V) ≠ 0``, ``leap = max k used``.

Activation-aware variant (docs/model.md §3, "checked" for k = 1): the gradient that a
student σ receives along a new direction through ``He_γ(z_V) He_k(z_⊥)``
carries the factor ``E[σ^{(|γ|+k)}(h)]`` (Gaussian integration by parts), so
the ``j = |γ|`` contribution is dropped whenever ``s ↦ E[σ(sξ) He_{j+k}(ξ)]``
vanishes identically. For k = 1 this is the checked statement; for k ≥ 2 it is
the same integration-by-parts count applied to the order-k term (documented as
an extrapolation in docs/theory.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from giantstep.errors import InputError
from giantstep.params import Expression, Noneable, validate_params
from giantstep.tables import FrameMixin

from ..expr.target import Activation, Target, as_activation, as_target

RANK_RTOL = 1e-9


def orthonormal_basis(M: np.ndarray, tol: float) -> np.ndarray:
    """Orthonormal basis (columns) of the column space of ``M`` (singular values > tol)."""
    r = M.shape[0]
    if M.size == 0:
        return np.zeros((r, 0))
    U, s, _ = np.linalg.svd(M, full_matrices=False)
    return U[:, s > tol]


def canonical_basis(B: np.ndarray) -> np.ndarray:
    """A deterministic, readable orthonormal basis of span(B).

    Pivoted Gram–Schmidt on the columns of the projector ``P = B Bᵀ`` (the
    projections of the coordinate axes): the axis with the largest remaining
    projection first, ties to the lower index. So ``span{e1}`` gives ``e1``,
    ``span{e1+e2}`` gives ``(e1+e2)/√2``, and the result only depends on the
    subspace, not on the basis B it came in.
    """
    k = B.shape[1]
    if k == 0:
        return B
    P = B @ B.T
    R = P.copy()
    out = []
    for _ in range(k):
        norms = np.linalg.norm(R, axis=0)
        best = norms.max()
        i = int(np.argmax(norms >= best - 1e-9))
        q = R[:, i] / norms[i]
        out.append(q)
        R = R - np.outer(q, q @ R)
    Q = np.array(out).T
    # back onto span(B) exactly, then orthonormalise (keeps the order)
    Q, _ = np.linalg.qr(B @ (B.T @ Q))
    order = sorted(range(k), key=lambda j: int(np.argmax(np.abs(Q[:, j]) > 1e-9)))
    return _fix_signs(Q[:, order])


def _fix_signs(B: np.ndarray) -> np.ndarray:
    out = B.copy()
    for j in range(out.shape[1]):
        i = int(np.argmax(np.abs(out[:, j]) > 1e-9))
        if out[i, j] < 0:
            out[:, j] *= -1
    out[np.abs(out) < 1e-14] = 0.0
    return out


def image(T: np.ndarray, tol: float) -> np.ndarray:
    """Orthonormal basis of ``Im(T)`` for a symmetric tensor ``T`` of order ≥ 1."""
    if T.ndim == 0:
        raise InputError("the image is defined for tensors of order ≥ 1")
    r = T.shape[0]
    return orthonormal_basis(T.reshape(r, -1), tol)


@dataclass
class _Context:
    target: Target
    tensors: list  # C_0..C_K
    tol: float
    activation: Activation | None
    kmax: int
    _vanish: dict = field(default_factory=dict)

    def student_blind(self, order: int) -> bool:
        """True if the student cannot receive gradient through Hermite order ``order``."""
        if self.activation is None:
            return False
        if order not in self._vanish:
            self._vanish[order] = self.activation.vanishes_at_all_scales(order)
        return self._vanish[order]


def _context(target, activation=None, max_degree: int | None = None) -> _Context:
    t = as_target(target)
    exp = t.expansion if max_degree is None else type(t.expansion).of(t, max_degree)
    K = exp.max_degree
    tensors = exp.tensors(K)
    scale = max([1.0] + [float(np.max(np.abs(T))) for T in tensors[1:] if T.size])
    tol = max(RANK_RTOL * scale, 10.0 * exp.error)
    act = as_activation(activation) if activation is not None else None
    return _Context(t, tensors, tol, act, K)


def _relevant(ctx: _Context) -> np.ndarray:
    if isinstance(ctx, _SymContext):
        return _sym_relevant(ctx)
    r = ctx.target.r
    blocks = [T.reshape(r, -1) for T in ctx.tensors[1:]]
    if not blocks:
        return np.zeros((r, 0))
    return orthonormal_basis(np.concatenate(blocks, axis=1), ctx.tol)


def _extension(ctx: _Context, V: np.ndarray, k: int) -> np.ndarray:
    """``E_k(V)`` (activation-aware if the context has an activation)."""
    if isinstance(ctx, _SymContext):
        return _sym_extension(ctx, V, k)
    r = ctx.target.r
    P_perp = np.eye(r) - V @ V.T
    cols = []
    for j in range(0, ctx.kmax - k + 1):
        if j > 0 and V.shape[1] == 0:
            break
        if ctx.student_blind(j + k):
            continue
        T = ctx.tensors[j + k]
        # contract j modes with V: each tensordot eats axis 0 and appends a V axis at the end
        for _ in range(j):
            T = np.tensordot(T, V, axes=([0], [0]))
        # the k remaining original modes are now the first k axes: project them on V^⊥
        for axis in range(k):
            T = np.moveaxis(np.tensordot(P_perp, T, axes=([1], [axis])), 0, axis)
        M = T.reshape(r, -1)
        cols.append(M)
    if not cols:
        return np.zeros((r, 0))
    E = orthonormal_basis(np.concatenate(cols, axis=1), ctx.tol)
    # numerical safety: remove any component inside V
    E = orthonormal_basis(P_perp @ E, 1e-8) if E.shape[1] else E
    return E


def _join(V: np.ndarray, E: np.ndarray) -> np.ndarray:
    return orthonormal_basis(np.concatenate([V, E], axis=1), 1e-8)


# --------------------------------------------------------------------------- symmetric sparse form
#
# The analyses below never build a dense r^k array: the order-n tensor is kept as its
# multiplicity table {β: C_n[β]} (sorted multi-indices, |β| = n), and a change of basis
# y = Qᵀ z is a substitution in the homogeneous polynomial Σ_β a_β z^β (a_β = C_n[β]/β!):
# C'_n[γ] = γ! · [y^γ] Σ_β a_β (Q y)^β. The unfoldings whose column spaces define U*, E_k(V)
# are read off that table: column γ − e_i, row i, value C'_n[γ].

#: Largest number of monomials of one order the change of basis may build (budget of the sparse form).
TERM_BUDGET = 400_000
#: Largest Hermite degree analysed (k! stays far inside floating-point range).
MAX_ORDER = 150


@dataclass
class _Order:
    """The order-n tensor, normalised by its largest entry, with its own zero tolerance."""

    n: int
    entries: dict  # β -> C_n[β] / scale (max |entry| = 1)
    rtol: float    # relative tolerance of a rank decision on this order
    rotated: dict = field(default_factory=dict)  # basis key -> rotated entries


@dataclass
class _SymContext:
    target: Target
    orders: list  # index n -> _Order or None (zero order)
    activation: Activation | None
    kmax: int
    _vanish: dict = field(default_factory=dict)

    student_blind = _Context.student_blind


def _sym_context(target, activation=None, max_degree: int | None = None) -> _SymContext:
    """Orders 0..K of the expansion, each normalised (scale-free zero tests).

    An exact expansion decides zeros exactly (a coefficient is zero or it is not); an
    approximate one counts an order as zero when its largest entry is within ten times the
    expansion's coefficient error estimate, and uses that ratio as its rank tolerance.
    """
    t = as_target(target)
    exp = t.expansion if max_degree is None else type(t.expansion).of(t, max_degree)
    K = exp.max_degree
    if K > MAX_ORDER:
        raise InputError(f"the target has Hermite degree {K}; at most {MAX_ORDER} is supported "
                         "(the tensor entries C_k = a_β β! leave floating-point range)")
    exact = bool(exp.exact) or exp.error == 0.0
    orders: list = [None] * (K + 1)
    for n in range(1, K + 1):
        entries = exp.symmetric_entries(n)
        if not entries:
            continue
        scale = max(abs(v) for v in entries.values())
        rtol = RANK_RTOL
        if not exact:
            noise = 10.0 * exp.error  # ten times the coefficient error bound, as the entries' zero level
            if noise >= scale:
                continue
            rtol = max(RANK_RTOL, noise / scale)
        orders[n] = _Order(n, {b: v / scale for b, v in entries.items()}, rtol)
    act = as_activation(activation) if activation is not None else None
    return _SymContext(t, orders, act, K)


def _poly_collect(E: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if E.shape[0] == 0:
        return E, c
    uniq, inv = np.unique(E, axis=0, return_inverse=True)
    out = np.zeros(uniq.shape[0])
    np.add.at(out, inv.reshape(-1), c)
    return uniq, out


def _poly_mul(A: tuple, B: tuple) -> tuple[np.ndarray, np.ndarray]:
    (Ea, ca), (Eb, cb) = A, B
    r = Ea.shape[1]
    if Ea.shape[0] * Eb.shape[0] > 8 * TERM_BUDGET:
        raise InputError(f"the change of basis of a tensor needs more than {8 * TERM_BUDGET} products "
                         "of monomials (target of too high degree in too many variables)")
    E = (Ea[:, None, :] + Eb[None, :, :]).reshape(-1, r)
    return _poly_collect(E, (ca[:, None] * cb[None, :]).reshape(-1))


def _rotate(entries: dict, Q: np.ndarray, n: int) -> dict:
    """Entries of the order-n tensor in the basis of the columns of Q (orthogonal r × r)."""
    r = Q.shape[0]
    if math.comb(n + r - 1, r - 1) > TERM_BUDGET:
        raise InputError(f"the order-{n} tensor in r = {r} variables has {math.comb(n + r - 1, r - 1)} "
                         f"symmetric entries, beyond the budget of {TERM_BUDGET}")
    R = np.round(Q)
    if np.allclose(Q, R, atol=1e-13, rtol=0) and np.all(np.abs(R).sum(axis=1) == 1):
        # a signed permutation: z_i = s_i y_{π(i)} — relabel exactly
        perm = np.argmax(np.abs(R), axis=1)
        sign = R[np.arange(r), perm]
        out = {}
        for beta, v in entries.items():
            gamma = [0] * r
            for i, b in enumerate(beta):
                gamma[perm[i]] = b
            out[tuple(gamma)] = v * float(np.prod(sign ** np.array(beta)))
        return out
    eye = np.eye(r, dtype=np.int64)
    linear = [(eye, Q[i].astype(float)) for i in range(r)]  # z_i = Σ_a Q_ia y_a
    powers: dict = {}

    def power(i: int, b: int) -> tuple:
        if (i, b) not in powers:
            powers[(i, b)] = (np.zeros((1, r), dtype=np.int64), np.ones(1)) if b == 0 else \
                _poly_mul(power(i, b - 1), linear[i])
        return powers[(i, b)]

    Es, cs = [], []
    for beta, v in entries.items():
        prod = (np.zeros((1, r), dtype=np.int64), np.array([v / _beta_factorial_f(beta)]))
        for i, b in enumerate(beta):
            if b:
                prod = _poly_mul(prod, power(i, b))
        Es.append(prod[0])
        cs.append(prod[1])
    E, c = _poly_collect(np.concatenate(Es), np.concatenate(cs))
    return {tuple(int(x) for x in g): float(v) * _beta_factorial_f(g) for g, v in zip(E, c) if v != 0.0}


def _beta_factorial_f(beta) -> float:
    out = 1.0
    for b in beta:
        out *= math.factorial(int(b))
    return out


def _sym_relevant(ctx: _SymContext) -> np.ndarray:
    """``U* = Σ_n Im(C_n)``: rows i, columns β − e_i of every order, blocks normalised."""
    r = ctx.target.r
    cols: dict = {}
    rtol = RANK_RTOL
    for order in ctx.orders[1:]:
        if order is None:
            continue
        rtol = max(rtol, order.rtol)
        for beta, v in order.entries.items():
            for i in range(r):
                if beta[i]:
                    key = (order.n, beta[:i] + (beta[i] - 1,) + beta[i + 1:])
                    cols.setdefault(key, np.zeros(r))[i] = v
    if not cols:
        return np.zeros((r, 0))
    return orthonormal_basis(np.array(list(cols.values())).T, rtol)


def _complement(V: np.ndarray) -> np.ndarray:
    """A readable orthonormal basis of V^⊥ (coordinate axes where V^⊥ contains them)."""
    r, m = V.shape
    if m == 0:
        return np.eye(r)
    U, _, _ = np.linalg.svd(V, full_matrices=True)
    return canonical_basis(U[:, m:]) if m < r else np.zeros((r, 0))


def _sym_extension(ctx: _SymContext, V: np.ndarray, k: int) -> np.ndarray:
    """``E_k(V)`` from the symmetric sparse tensors (activation-aware if the context has one).

    In the basis ``[V, W]`` (W a basis of V^⊥), the ``j``-th contribution is the column space
    of the rows ``a ∈ W`` of the entries with k indices in W and j in V, mapped back by W.
    """
    r, m = V.shape
    W = _complement(V)
    Q = np.concatenate([V, W], axis=1)
    key = Q.round(12).tobytes()
    cols: dict = {}
    rtol = RANK_RTOL
    for j in range(0, ctx.kmax - k + 1):
        if j > 0 and m == 0:
            break
        order = ctx.orders[j + k]
        if order is None or ctx.student_blind(j + k):
            continue
        if m == 0:
            rotated = order.entries
        else:
            if key not in order.rotated:
                order.rotated = {key: _rotate(order.entries, Q, order.n)}
            rotated = order.rotated[key]
        rtol = max(rtol, order.rtol)
        for gamma, v in rotated.items():
            if sum(gamma[:m]) != j:
                continue
            for a in range(m, r):
                if gamma[a]:
                    col = (j, gamma[:a] + (gamma[a] - 1,) + gamma[a + 1:])
                    cols.setdefault(col, np.zeros(r - m))[a - m] = v
    if not cols:
        return np.zeros((r, 0))
    U = orthonormal_basis(np.array(list(cols.values())).T, rtol)  # entries relative to their order
    return orthonormal_basis(W @ U, 1e-8) if U.shape[1] else np.zeros((r, 0))


def _sym_nonzero_order(ctx: _SymContext) -> int | None:
    """``k* = min{k ≥ 1 : C_k ≠ 0}`` with the orders' own zero tests."""
    return next((n for n in range(1, ctx.kmax + 1) if ctx.orders[n] is not None), None)


@dataclass
class LeapAnalysis(FrameMixin):
    """Everything docs/model.md §3 says about one target (and optionally one student).

    Attributes
    ----------
    r : int
    information_exponent : int or None
        ``k*`` (None for a constant target).
    leap_index : int or None
        Largest leap of the greedy growth (0 for a constant target); None when the
        activation-aware growth cannot reach ``U*``.
    relevant_basis : ndarray (r, dim U*)
    staircase : list of dict
        ``{"step", "dim", "new_directions"}`` for ``V_1 ⊂ V_2 ⊂ …`` (n ≍ d per step).
    leaps : list of int
        The ``k`` used at each greedy stage.
    stages : list of ndarray
        Bases of the directions added at each greedy stage.
    activation : str or None
    """

    r: int
    information_exponent: int | None
    leap_index: int | None
    relevant_basis: np.ndarray
    staircase: list
    leaps: list
    stages: list
    activation: str | None = None
    generic_leap_index: int | None = None
    notes: list = field(default_factory=list)

    @property
    def relevant_dim(self) -> int:
        return int(self.relevant_basis.shape[1])

    def to_dict(self) -> dict:
        """JSON-ready dictionary (keys of ``giantstep leap --json``)."""
        return {
            "r": self.r,
            "activation": self.activation,
            "information_exponent": self.information_exponent,
            "leap_index": self.leap_index,
            "generic_leap_index": self.generic_leap_index,
            "relevant_dim": self.relevant_dim,
            "relevant_subspace": [v.tolist() for v in self.relevant_basis.T],
            "staircase": self.staircase,
            "leaps": self.leaps,
            "leap_stages": [
                {"leap": k, "new_directions": [v.tolist() for v in B.T]} for k, B in zip(self.leaps, self.stages)
            ],
            "notes": self.notes,
        }


def _staircase(ctx: _SymContext, max_steps: int = 64) -> tuple[list, np.ndarray]:
    r = ctx.target.r
    V = np.zeros((r, 0))
    steps = []
    for t in range(1, max_steps + 1):
        E = _sym_extension(ctx, V, 1)
        if E.shape[1] == 0:
            break
        E = canonical_basis(E)
        V = _join(V, E)
        steps.append({"step": t, "dim": int(V.shape[1]), "new_directions": [v.tolist() for v in E.T]})
    return steps, V


def _greedy(ctx: _SymContext, U: np.ndarray, max_k: int | None = None):
    r = ctx.target.r
    V = np.zeros((r, 0))
    leaps, stages = [], []
    kcap = ctx.kmax if max_k is None else min(max_k, ctx.kmax)
    while V.shape[1] < U.shape[1]:
        for k in range(1, kcap + 1):
            E = _sym_extension(ctx, V, k)
            if E.shape[1]:
                E = canonical_basis(E)
                V = _join(V, E)
                leaps.append(k)
                stages.append(E)
                break
        else:
            return V, leaps, stages, False
    return V, leaps, stages, True


@validate_params(activation=Noneable(Expression("activation")))
def analyze(target, activation=None, *, max_degree: int | None = None) -> LeapAnalysis:
    """Relevant subspace, information exponent, staircase and leap index of ``target``.

    Parameters
    ----------
    target : str, sympy.Expr or Target
        The target ``g*``.
    activation : str or Activation, optional
        If given, the staircase and the leap are activation-aware (docs/model.md §3): a
        contribution of Hermite order m to a gradient is dropped when the student's
        coefficient ``s ↦ E[σ(sξ)He_m(ξ)]`` vanishes identically.
    max_degree : int, optional
        Truncation degree for non-polynomial targets (default 8).

    Returns
    -------
    LeapAnalysis
    """
    ctx = _sym_context(target, activation, max_degree)
    r = ctx.target.r
    U = _sym_relevant(ctx)
    kstar = _sym_nonzero_order(ctx)
    steps, _ = _staircase(ctx)
    V, leaps, stages, reached = _greedy(ctx, U)
    notes = []
    if not ctx.target.is_polynomial:
        notes.append(
            f"non-polynomial target: Hermite expansion truncated at degree {ctx.kmax} "
            f"(coefficient error ≤ {ctx.target.expansion.error:.1e})"
        )
    leap = (max(leaps) if leaps else 0) if reached else None
    generic = leap
    if ctx.activation is not None:
        g_ctx = _SymContext(ctx.target, ctx.orders, None, ctx.kmax)
        _, gl, _, gr = _greedy(g_ctx, U)
        generic = (max(gl) if gl else 0) if gr else None
        if not reached:
            notes.append(
                f"with activation {ctx.activation.name}, the directions outside the learned "
                f"{V.shape[1]}-dimensional subspace receive no gradient at any order "
                "(the student's Hermite coefficients of the needed orders vanish at every scale)"
            )
    return LeapAnalysis(
        r=r,
        information_exponent=kstar,
        leap_index=leap,
        relevant_basis=canonical_basis(U),
        staircase=steps,
        leaps=leaps,
        stages=stages,
        activation=None if ctx.activation is None else ctx.activation.name,
        generic_leap_index=generic,
        notes=notes,
    )


@validate_params(activation=Noneable(Expression("activation")))
def leap_index(target, activation=None) -> int | None:
    """The leap index of ``target`` (docs/model.md §3); see :func:`analyze`."""
    return analyze(target, activation).leap_index


@validate_params()
def information_exponent(target) -> int | None:
    """``k* = min{k ≥ 1 : C_k(g*) ≠ 0}`` (None for a constant target)."""
    return analyze(target).information_exponent


@validate_params(activation=Noneable(Expression("activation")))
def staircase(target, activation=None) -> list:
    """The staircase ``V_1 ⊂ V_2 ⊂ …`` as a list of ``{"step", "dim", "new_directions"}``."""
    return analyze(target, activation).staircase


def relevant_subspace(target) -> np.ndarray:
    """Orthonormal basis (columns) of ``U* = Σ_k Im(C_k)``."""
    return analyze(target).relevant_basis


def conditional_extension(target, V: np.ndarray, k: int, activation=None) -> np.ndarray:
    """Orthonormal basis of ``E_k(V)`` for a subspace with orthonormal basis ``V`` (r × dim)."""
    ctx = _sym_context(target, activation)
    V = np.asarray(V, dtype=float).reshape(ctx.target.r, -1)
    if V.shape[1] and not np.allclose(V.T @ V, np.eye(V.shape[1]), atol=1e-8):
        raise InputError("V must have orthonormal columns")
    if k < 1:
        raise InputError(f"k must be ≥ 1, got {k}")
    return canonical_basis(_sym_extension(ctx, V, k))
