"""AMP weak-recovery analysis of a multi-index target at ``n = α d`` (docs/model.md §7).

Troiani, Dandi, Defilippis, Zdeborová, Loureiro, Krzakala 2024 (arXiv:2405.15480),
quoted; the conditioning hierarchy and the numerics are written out in docs/amp.md.

With ``z ~ N(0, I_r)`` and ``y = g*(z) + √Δ ε``:

* trivial subspace ``T = span{E[z | y]}`` — learned by Bayes-optimal GAMP at any
  ``α > 0`` (the uninformative point is not a fixed point), computed as the
  range of ``E_y[E[z|y] E[z|y]ᵀ]``;
* once a subspace ``V`` is learned, conditioning on ``z_V`` as the paper does:
  directions of ``span{E[z_⊥ | y, z_V]}`` are learned at the same α (closure);
* if nothing more is trivial, the uninformative point on ``V^⊥`` is linearly
  unstable iff ``α > α_c(V) = 1/λ_max(F_V)`` with
  ``F_V(M) = E_{y,z_V}[G M G]`` on symmetric matrices of ``V^⊥`` and
  ``G(y, z_V) = E[z_⊥ z_⊥ᵀ − I | y, z_V]``; the unlocked subspace is the span
  of the ranges of the top eigen-matrices of ``F_V``;
* directions of the relevant subspace never reached (``F_V = 0``) are hard.

Stages are reported with non-decreasing ``α_c``: a stage whose own threshold is
below that of the stage that enabled it is learned at the enabling threshold
and is merged into it.

Targets of one relevant direction, radial targets ``f(|z_U|)`` (any number of
coordinates) and the first stage of ``f(z_i) + c·sign(z_i z_j z_k …)`` use the exact
label integrals of :mod:`.amp_single` (docs/amp.md §2); the rest uses the quadrature
of :mod:`.amp_channel` (r ≤ 3).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from giantstep.errors import InputError
from giantstep.params import Interval, Noneable, validate_params
from giantstep.tables import FrameMixin

from .amp_channel import LabelChannel, gaussian_grid
from .expr.target import as_target
from .structure.subspaces import canonical_basis, relevant_subspace

MAX_R = 3  # largest number of latent variables of the deterministic solver

# (panels per half-line, Gauss–Legendre nodes per panel, quantile bins) per dimension of
# the inner grid, for the "fine" and "coarse" levels; outer (conditioning) grids below.
_INNER = {
    "fine": {1: (24, 8, 192), 2: (24, 8, 96), 3: (4, 8, 64)},
    "coarse": {1: (16, 6, 96), 2: (16, 6, 64), 3: (3, 6, 48)},
}
# inner grids when conditioning on z_V (one inner problem per outer node), and outer grids
_INNER_COND = {
    "fine": {1: (16, 6, 128), 2: (12, 6, 64)},
    "coarse": {1: (10, 6, 64), 2: (8, 5, 48)},
}
_OUTER = {"fine": {1: (6, 5), 2: (3, 4)}, "coarse": {1: (4, 5), 2: (2, 4)}}
COIN_WARNING = ("the stages after the first condition on the exactly known first direction: "
                "their α_c are lower bounds")
ZERO_FLOOR = 1e-8  # eigenvalues below max(ZERO_FLOOR, 10·estimated error) count as zero


@dataclass
class Stage:
    """One stage of the hierarchy: directions unlocked at ``α > alpha_c``.

    Attributes
    ----------
    alpha_c : float
        Threshold ``α_c = 1/λ_max(F_V)`` (n = α d), the largest along the chain of stages.
    directions : list of np.ndarray
        Orthonormal unit vectors of length r spanning the newly learned subspace.
    lambda_max : float
        ``λ_max`` of the linear operator at this stage (``1/alpha_c`` unless merged).
    error : float
        Estimated absolute error on ``alpha_c`` (difference of two quadrature levels).
    conditioned_on : int
        Dimension of the subspace ``V`` learned before this stage.
    """

    alpha_c: float
    directions: list
    lambda_max: float
    error: float
    conditioned_on: int

    def to_dict(self) -> dict:
        """JSON-ready form (keys ``alpha_c``, ``directions`` plus diagnostics)."""
        return {"alpha_c": self.alpha_c, "directions": [d.tolist() for d in self.directions],
                "lambda_max": self.lambda_max, "error": self.error,
                "conditioned_on": self.conditioned_on}


@dataclass
class AMPAnalysis(FrameMixin):
    """Weak-recovery analysis of Bayes-optimal GAMP for one target (see module docstring).

    Attributes
    ----------
    target : str
    r : int
    noise : float
    trivial : list of np.ndarray
        Unit vectors spanning the trivial subspace (learned at any α > 0).
    stages : list of Stage
        In increasing ``alpha_c``.
    hard : list of np.ndarray
        Unit vectors of the relevant subspace not learned at any finite α.
    irrelevant : list of np.ndarray
        Directions the target does not depend on (not counted as hard).
    channel : str
        Kind of label law: ``discrete``, ``continuous``, ``mixed`` or ``noisy``.
    warnings : list of str
        Accuracy flags (e.g. a threshold whose estimated relative error exceeds 1e-2).
    seconds : float
    """

    target: str
    r: int
    noise: float
    trivial: list
    stages: list
    hard: list
    irrelevant: list
    channel: str
    warnings: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def alpha_c(self) -> float | None:
        """The first threshold (None if every relevant direction is trivial or hard)."""
        return self.stages[0].alpha_c if self.stages else None

    def to_dict(self) -> dict:
        """JSON-ready dict with the keys ``trivial``, ``stages``, ``hard`` (and diagnostics)."""
        return {
            "target": self.target, "r": self.r, "noise": self.noise,
            "trivial": [v.tolist() for v in self.trivial],
            "stages": [s.to_dict() for s in self.stages],
            "hard": [v.tolist() for v in self.hard],
            "irrelevant": [v.tolist() for v in self.irrelevant],
            "channel": self.channel, "warnings": list(self.warnings), "seconds": self.seconds,
        }


# ---------------------------------------------------------------------- linear algebra
def sym_basis(m: int) -> np.ndarray:
    """Frobenius-orthonormal basis of symmetric m×m matrices, shape ``(m(m+1)/2, m, m)``."""
    out = []
    for i in range(m):
        for j in range(i, m):
            S = np.zeros((m, m))
            if i == j:
                S[i, i] = 1.0
            else:
                S[i, j] = S[j, i] = 1 / np.sqrt(2)
            out.append(S)
    return np.array(out).reshape(-1, m, m)


def complement(V: np.ndarray, r: int) -> np.ndarray:
    """Orthonormal basis (columns) of the orthogonal complement of span(V) in R^r."""
    if V.shape[1] == 0:
        return np.eye(r)
    U, s, _ = np.linalg.svd(V, full_matrices=True)
    return U[:, V.shape[1]:]


def _join(V: np.ndarray, E: np.ndarray) -> np.ndarray:
    M = np.concatenate([V, E], axis=1)
    U, s, _ = np.linalg.svd(M, full_matrices=False)
    return U[:, s > 1e-8]


# ---------------------------------------------------------------------- moments
def _features(b: np.ndarray) -> np.ndarray:
    """``[1, b, (b bᵀ)_{i≤j}]`` for inner nodes b of shape (K, m)."""
    K, m = b.shape
    cols = [np.ones((K, 1)), b]
    iu = np.triu_indices(m)
    cols.append((b[:, :, None] * b[:, None, :])[:, iu[0], iu[1]])
    return np.concatenate(cols, axis=1)


def _unpack(S: np.ndarray, m: int):
    """Split accumulated features into ``S0 (J,)``, ``S1 (J, m)``, ``S2 (J, m, m)``."""
    S0 = S[:, 0]
    S1 = S[:, 1:1 + m]
    iu = np.triu_indices(m)
    S2 = np.zeros((S.shape[0], m, m))
    S2[:, iu[0], iu[1]] = S[:, 1 + m:]
    S2[:, iu[1], iu[0]] = S[:, 1 + m:]
    return S0, S1, S2


FLAT_RTOL = 1e-6  # a label varying less than this (relative to its rms) given z_V is constant


def complement_in(V: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the part of span(S) orthogonal to span(V) (V ⊂ S)."""
    R = S - V @ (V.T @ S) if V.shape[1] else S
    return _join(np.zeros((S.shape[0], 0)), R)


FORM_TOL = 1e-9  # a linear form lies in a subspace / is orthogonal to another within this


def linear_forms(target) -> np.ndarray:
    """Unit vectors (columns, r × k) of the maximal linear sub-expressions ``a·z`` of the target.

    The expression tree is walked from the root; a sub-expression that is a polynomial
    of degree one in ``z`` (``z3``, ``3z1/5 + 4z2/5``, ``z1 − 2``) is recorded and not
    entered further, so ``3z1/5 + 4z2/5`` gives one form, not ``e1`` and ``e2``. The
    forms rotate with the coordinates in which the target is written, so grids aligned
    with them (:func:`grid_basis`) resolve a jump along ``a·z = c`` in any basis
    (docs/amp.md §2, quadrature). Duplicates up to sign are dropped; order of first visit.
    """
    import sympy

    t = as_target(target)
    zs = t.variables
    zset = set(zs)
    out: list = []

    def visit(node) -> None:
        if not isinstance(node, sympy.Expr):
            return
        free = node.free_symbols
        if not free or not free <= zset:
            for arg in node.args:
                visit(arg)
            return
        if node.is_polynomial(*zs):
            try:
                poly = sympy.Poly(node, *zs)
            except sympy.PolynomialError:
                poly = None
            if poly is not None and poly.total_degree() == 1:
                c = np.array([float(poly.coeff_monomial(z)) for z in zs])
                c = c / np.linalg.norm(c)
                if not any(abs(abs(float(c @ o)) - 1.0) < FORM_TOL for o in out):
                    out.append(c)
                return
        for arg in node.args:
            visit(arg)

    visit(t.expr)
    return np.array(out).T if out else np.zeros((t.r, 0))


def aligned_basis(S: np.ndarray, forms: np.ndarray) -> np.ndarray:
    """Orthonormal basis of span(S) that contains the linear forms lying in it, where possible.

    Forms inside span(S) are taken in order if orthogonal to those already taken; the
    rest of span(S) completes the basis (deterministically). Quadrature grids in this
    basis have the jumps of the label along those forms on grid lines.
    """
    S = _join(np.zeros((S.shape[0], 0)), S) if S.shape[1] else S
    if S.shape[1] == 0 or forms.shape[1] == 0:
        return S
    chosen: list = []
    for c in forms.T:
        if len(chosen) == S.shape[1]:
            break
        if np.linalg.norm(c - S @ (S.T @ c)) < FORM_TOL and all(abs(float(c @ q)) < FORM_TOL for q in chosen):
            chosen.append(c)
    if not chosen:
        return S
    Cm = np.stack(chosen, axis=1)
    rest = complement_in(Cm, S) if Cm.shape[1] < S.shape[1] else np.zeros((S.shape[0], 0))
    return np.concatenate([Cm, rest], axis=1)


def grid_basis(V: np.ndarray, space: np.ndarray, forms: np.ndarray) -> np.ndarray:
    """The basis of ``V^⊥ ∩ space`` on which :func:`conditional_operators` puts its inner grid."""
    return aligned_basis(complement_in(V, space), forms)


def conditional_operators(target, V: np.ndarray, noise: float = 0.0, level: str = "fine",
                          space: np.ndarray | None = None, forms: np.ndarray | None = None):
    """``(T, F, channel_kind)`` on ``V^⊥ ∩ space`` given ``z_V``, in the basis ``grid_basis(V, space, forms)``.

    ``space`` (default ``R^r``) must contain every direction the target depends on
    (the relevant subspace); the others are integrated out exactly.

    ``T = E[E[z_⊥|y,z_V] E[z_⊥|y,z_V]ᵀ]`` (m×m) and ``F`` the matrix of
    ``M ↦ E[G M G]`` in the basis :func:`sym_basis` of ``Sym(m)``, with
    ``G = E[z_⊥z_⊥ᵀ − I | y, z_V]`` (docs/amp.md, eqs. (A1)–(A3)). Conditional
    expectations are ratios of sums over the inner grid weighted by the cell
    probabilities of the discretised label channel (:mod:`.amp_channel`). The inner
    grid (over ``V^⊥``) and the outer grid (over ``z_V``) are laid out in bases that
    contain the target's linear forms (default :func:`linear_forms`) where possible.
    """
    t = as_target(target)
    r = t.r
    if forms is None:
        forms = linear_forms(t)
    Bp = grid_basis(V, np.eye(r) if space is None else space, forms)
    m = Bp.shape[1]
    v = V.shape[1]
    if v:
        V = aligned_basis(V, forms)  # the outer grid: T and F do not depend on this basis
    if m == 0:
        raise InputError("nothing left to condition on: V spans R^r")
    panels, nodes, bins = (_INNER if v == 0 else _INNER_COND)[level][m]
    b, wb = gaussian_grid(m, panels, nodes)
    if v:
        op, on = _OUTER[level][v]
        a, wa = gaussian_grid(v, op, on)
    else:
        a, wa = np.zeros((1, 0)), np.ones(1)
    feats = _features(b)
    basis = sym_basis(m)
    flat = FLAT_RTOL * np.sqrt(max(t.expansion.second_moment, 1e-300)) if v else 0.0
    T = np.zeros((m, m))
    F = np.zeros((len(basis), len(basis)))
    kind = None
    zb = b @ Bp.T  # (K, r)
    for ao, wo in zip(a, wa):
        if wo < 1e-14:
            continue
        z = zb + (V @ ao)[None, :]
        vals = t.evaluate(z)
        vals = np.broadcast_to(vals, (len(b),))
        ch = LabelChannel.build(vals, wb, noise=noise, bins=bins, flat=flat, nodes=b)
        kind = kind or ch.kind
        idx, wt = ch.assign(vals)
        S = ch.accumulate(idx[None], wt[None], wb, feats)[0]
        S0, S1, S2 = _unpack(S, m)
        X = S2 - S0[:, None, None] * np.eye(m)[None]  # Σ w P(j|y) (b bᵀ − I)
        if ch.kernel is None:
            # L²(p_y) projection on the cells: E[E[f|y] E[h|y]] ≈ s_fᵀ Γ⁺ s_h (docs/amp.md (A4))
            Y1 = ch.gram_solve(idx, wt, wb, S1)
            YX = ch.gram_solve(idx, wt, wb, X)
        else:  # noisy channel: trapezoidal y-integral of the ratios, Γ = diag(density)
            keep = S0 > 1e-300
            inv = np.where(keep, 1 / np.where(keep, S0, 1.0), 0.0)
            Y1 = inv[:, None] * S1
            YX = inv[:, None, None] * X
        T += wo * (S1.T @ Y1)
        # F_ab = Σ_jk tr(S_a X_j S_b X_k) Γ⁺_jk
        XS = np.einsum("jik,bkl->jbil", X, basis)
        YXS = np.einsum("jik,akl->jail", YX, basis)
        F += wo * np.einsum("jail,jbli->ab", YXS, XS)
    return T, 0.5 * (F + F.T), kind


def _eig_with_error(fine: np.ndarray, coarse: np.ndarray):
    ef, vf = np.linalg.eigh(fine)
    ec = np.linalg.eigvalsh(coarse)
    err = np.abs(ef - ec)
    return ef, vf, err


def _range_of(mats: list, tol: float = 1e-6) -> np.ndarray:
    """Orthonormal basis of the span of the ranges of symmetric matrices."""
    R = sum(M @ M for M in mats)
    w, U = np.linalg.eigh(R)
    return U[:, w > tol * max(w.max(), 1e-300)]


# ---------------------------------------------------------------------- analysis
def _check(r: int) -> None:
    if r > MAX_R:
        raise InputError(
            f"the deterministic AMP solver handles r ≤ {MAX_R} latent variables (quadrature over "
            f"r-dimensional grids), got r = {r}; use a Monte-Carlo estimate of E_y[G M G] instead "
            "(e.g. validation.gamp.monte_carlo_operator)"
        )


@validate_params(r=Noneable(Interval(int, 1, None)))
def amp_analysis(target, *, noise: float | None = None, r: int | None = None) -> AMPAnalysis:
    """Trivial subspace, weak-recovery thresholds and hard directions of Bayes-optimal GAMP.

    Parameters
    ----------
    target : str, sympy.Expr or Target
        The target ``g*(z1..zr)``, r ≤ 3.
    noise : float or None
        Label-noise variance Δ ≥ 0 (``y = g*(z) + √Δ ε``; None: the target's own Δ, 0 for
        text). Δ = 0 is handled without regularisation: atoms of the label law exactly, its continuous part through a
        soft quantisation (docs/amp.md §3).
    r : int, optional
        Number of latent variables (default: the largest index used).

    Returns
    -------
    AMPAnalysis
        ``.trivial``, ``.stages`` (``.alpha_c``, ``.directions``) in increasing α_c, ``.hard``.
        Thresholds are at ``n = α d``; each carries an error estimate (two quadrature levels).

    Raises
    ------
    InputError
        Δ < 0, r > 3 for a target that is neither radial nor of one direction, or a target
        whose label law cannot be integrated (not finite, or a profile whose monotone pieces
        cannot be found).
    """
    start = time.perf_counter()
    t = as_target(target, r=r, noise=None if noise is None else float(noise))
    noise = float(t.noise)
    r = t.r
    rel = _relevant(t)
    if rel is None:
        return _radial(t, sorted(t.expr.free_symbols, key=lambda v: v.name), start)
    if rel.shape[1] == 1:
        return _one_direction(t, rel, start)
    _check(r)
    forms = linear_forms(t)
    warnings: list[str] = []
    V = np.zeros((r, 0))
    kind = None

    def closure(V: np.ndarray) -> tuple:
        """Add trivial-given-V directions until none is left; return V and the last (F, err)."""
        nonlocal kind
        while True:
            if V.shape[1] >= rel.shape[1]:
                return V, None, None, None
            Tf, Ff, k = conditional_operators(t, V, noise, "fine", rel, forms)
            Tc, Fc, _ = conditional_operators(t, V, noise, "coarse", rel, forms)
            kind = kind or k
            ev, U, err = _eig_with_error(Tf, Tc)
            new = ev > np.maximum(ZERO_FLOOR, 10 * err)
            Bp = grid_basis(V, rel, forms)
            if not np.any(new):
                return V, (Ff, Fc), Bp, None
            found = Bp @ U[:, new]
            if V.shape[1] == 0:
                found = _snap_trivial(t, found)
            V = _join(V, found)

    V, Fs, Bp, _ = closure(V)
    trivial_basis = V.copy()
    stages: list[Stage] = []
    prev = 0.0
    coin = _coin_first_stage(t) if V.shape[1] == 0 and Fs is not None else None
    if coin is not None:  # exact first stage (docs/amp.md §2, one direction plus a parity)
        stages, prev = [coin], coin.alpha_c
        V, Fs, Bp, _ = closure(np.stack(coin.directions, axis=1))
        warnings += [COIN_WARNING] if Fs is not None else []
    while Fs is not None and V.shape[1] < rel.shape[1]:
        Ff, Fc = Fs
        ev, U, err = _eig_with_error(Ff, Fc)
        lam, lam_err = ev[-1], err[-1]
        if lam <= max(ZERO_FLOOR, 10 * lam_err):
            break
        m = Bp.shape[1]
        basis = sym_basis(m)
        top = ev >= lam - max(1e-6 * lam, 3 * lam_err)
        mats = [np.einsum("a,aij->ij", U[:, i], basis) for i in np.flatnonzero(top)]
        raw = Bp @ _range_of(mats)
        # the same directions from the coarse operator: their distance estimates the error
        ec, Uc = np.linalg.eigh(Fc)
        top_c = np.argsort(ec)[::-1][: int(top.sum())]
        raw_c = Bp @ _range_of([np.einsum("a,aij->ij", Uc[:, i], basis) for i in top_c])
        dirs = _snap(raw, V, rel)
        snapped = dirs.shape == raw.shape and np.allclose(dirs @ dirs.T, raw @ raw.T, atol=1e-12)
        if raw_c.shape == raw.shape and (dirs.shape[1] + V.shape[1] < rel.shape[1]) and snapped:
            dir_err = float(np.linalg.norm(raw @ raw.T - raw_c @ raw_c.T, 2))
            if dir_err > 100 * FLAT_RTOL:
                warnings.append(
                    f"the directions unlocked at α_c ≈ {1 / lam:.4g} are known to ~{dir_err:.1e} "
                    "(quadrature); the later stages condition on them and may be wrong (a label "
                    "discontinuity not aligned with the grid?)")
        V_before = V.shape[1]
        V, Fs, Bp, _ = closure(_join(V, dirs))
        alpha = 1.0 / lam
        a_err = lam_err / lam**2
        if a_err > 1e-2 * alpha:
            warnings.append(f"α_c ≈ {alpha:.4g} has an estimated error {a_err:.2g} (quadrature)")
        new_dirs = _new_directions(V, V_before, stages, trivial_basis)
        if stages and alpha <= prev:
            last = stages[-1]
            merged = _join(np.stack(last.directions, axis=1), new_dirs)
            last.directions = [c for c in canonical_basis(merged).T]
        else:
            stages.append(Stage(alpha, [c for c in canonical_basis(new_dirs).T], float(lam), float(a_err),
                                V_before))
            prev = alpha
    hard_space = _join(np.zeros((r, 0)), rel - V @ (V.T @ rel)) if rel.shape[1] else np.zeros((r, 0))
    irrelevant = complement(rel, r) if rel.shape[1] < r else np.zeros((r, 0))
    hard = [c for c in canonical_basis(hard_space).T] if hard_space.shape[1] else []
    return AMPAnalysis(
        target=t.text, r=r, noise=noise,
        trivial=[c for c in canonical_basis(trivial_basis).T] if trivial_basis.shape[1] else [],
        stages=stages, hard=hard,
        irrelevant=[c for c in canonical_basis(irrelevant).T] if irrelevant.shape[1] else [],
        channel=kind or "none", warnings=warnings, seconds=time.perf_counter() - start,
    )


def _relevant(t) -> np.ndarray | None:
    """The relevant subspace (one axis for a one-variable target), or None for a radial target."""
    used = sorted(t.expr.free_symbols, key=lambda v: v.name)
    if len(used) >= 2 and _is_radial(t, used):
        return None
    if len(used) == 1:  # one coordinate: the relevant subspace is its axis
        rel = np.zeros((t.r, 1))
        rel[t.variables.index(used[0]), 0] = 1.0
        return rel
    return relevant_subspace(t)


def _coin_split(t):
    """``(i, f, c)`` if the target is ``f(z_i) + c·sign(Π)`` with f even and Π a product of
    distinct coordinates containing at least two others than z_i (else None)."""
    import sympy

    terms = sympy.Add.make_args(t.expr)
    syms = [e.free_symbols for e in terms]
    single = {next(iter(fs)) for fs in syms if len(fs) == 1}
    rest = [e for e, fs in zip(terms, syms) if len(fs) > 1]
    if len(single) != 1 or len(rest) != 1:
        return None
    zi = next(iter(single))
    f = sympy.Add(*[e for e, fs in zip(terms, syms) if len(fs) <= 1])
    coeff, core = rest[0].as_coeff_Mul()
    if not isinstance(core, sympy.sign):
        return None
    factors = sympy.Mul.make_args(core.args[0])
    if not all(isinstance(a, sympy.Symbol) for a in factors) or len(set(factors)) != len(factors):
        return None
    if len(set(factors) - {zi}) < 2:
        return None
    s = sympy.Symbol("s", real=True)
    fs = f.subs(zi, s)
    x = np.linspace(0.01, 9, 300)
    from .expr.evaluate import compile_numpy

    fn = compile_numpy(fs, (s,))
    if not np.allclose(fn(x), fn(-x), rtol=1e-13, atol=1e-13):
        return None
    return t.variables.index(zi), fs, s, float(coeff)


def _coin_first_stage(t) -> Stage | None:
    """First stage of ``f(z_i) + c·sign(z_i z_j z_k …)`` (f even) from a one-direction integral.

    Given z_i the parity is a fair coin independent of z_i, so the label law of z_i is
    ``y = f(z_i) ± c`` (½ each); every other coordinate enters y only through its sign and
    flips of pairs of them leave y unchanged, so ``G = diag(E[z_i² − 1 | y], 0, …)``:
    ``λ = E_y[E[z_i² − 1 | y]²]`` (theory/amp_single.py with two shifts), direction e_i.
    Only at Δ = 0; None when the target has another form or λ is not resolved.
    """
    if t.noise > 0:
        return None
    split = _coin_split(t)
    if split is None:
        return None
    from .amp_single import Profile, noiseless_moments, pieces

    i, fs, s, c = split
    prof = Profile(fs, s)
    mom = noiseless_moments(prof, pieces(prof), shifts=((c, 0.5), (-c, 0.5)))
    if mom.F <= max(ZERO_FLOOR, 10 * mom.F_error):
        return None
    e = np.zeros(t.r)
    e[i] = 1.0
    return Stage(1.0 / mom.F, [e], float(mom.F), float(mom.F_error / (mom.F * (mom.F - mom.F_error))), 0)


def _is_radial(t, used: list) -> bool:
    """``g`` depends on the used coordinates only through their norm (to 1e-11, 256 random points)."""
    rng = np.random.default_rng(20240515)
    idx = [t.variables.index(v) for v in used]
    z = np.zeros((256, t.r))
    z[:, idx] = rng.standard_normal((256, len(idx))) * rng.uniform(0.2, 2.5, (256, 1))
    e = np.zeros_like(z)
    e[:, idx[0]] = np.linalg.norm(z, axis=1)
    try:
        a, b = t.evaluate(z), t.evaluate(e)
    except InputError:
        return False
    return bool(np.all(np.isfinite(a)) and np.all(np.abs(a - b) <= 1e-11 * (1 + np.abs(a))))


def _radial(t, used: list, start: float) -> AMPAnalysis:
    """A target ``f(|z_U|)`` of the norm of ``m ≥ 2`` coordinates U (docs/amp.md §2, radial targets).

    Given ``y``, the direction of ``z_U`` is uniform and independent of ``y``, so
    ``E[z_U | y] = 0`` and ``G = (E[ρ|y]/m − 1) I`` with ``ρ = |z_U|²``: every symmetric
    ``M`` is an eigen-matrix of ``F`` with ``λ = E_y[(E[ρ|y]/m − 1)²]``, a one-dimensional
    integral against the chi law of ``|z_U|`` (:mod:`.amp_single`, ``dof = m``). All m
    directions are unlocked together at ``α_c = 1/λ``, or are hard if ``λ = 0``.
    """
    import sympy

    from .amp_single import Profile, noiseless_moments, noisy_moments, pieces

    s = sympy.Symbol("s", real=True)
    sub = {v: (s if v == used[0] else 0) for v in used}
    prof = Profile(t.expr.subs(sub, simultaneous=True), s, dof=len(used))
    ps = pieces(prof)
    mom = noisy_moments(prof, ps, t.noise) if t.noise > 0 else noiseless_moments(prof, ps)
    return _one_stage_result(t, mom, [t.variables.index(v) for v in used], start)


def _one_stage_result(t, mom, axes: list, start: float) -> AMPAnalysis:
    """Trivial / one stage / hard from ``T``, ``F`` of :mod:`.amp_single` for coordinate axes."""
    warnings: list[str] = []
    eye = np.eye(t.r)
    dirs = [eye[:, i] for i in axes]
    trivial, stages, hard = [], [], []
    if mom.T > max(ZERO_FLOOR, 10 * mom.T_error):
        trivial = dirs
    elif mom.F > max(ZERO_FLOOR, 10 * mom.F_error):
        alpha = 1.0 / mom.F
        err = mom.F_error / (mom.F * (mom.F - mom.F_error))
        if err > 1e-2 * alpha:
            warnings.append(f"α_c ≈ {alpha:.4g} has an estimated error {err:.2g} (quadrature)")
        stages = [Stage(alpha, dirs, float(mom.F), float(err), 0)]
    else:
        hard = dirs
        if mom.F_error > ZERO_FLOOR:
            warnings.append(f"E[G²] = {mom.F:.2g} ± {mom.F_error:.1g}: reported hard; a threshold "
                            f"above {1 / (10 * mom.F_error):.3g} is not excluded")
    irrelevant = [eye[:, i] for i in range(t.r) if i not in axes]
    return AMPAnalysis(target=t.text, r=t.r, noise=float(t.noise), trivial=trivial, stages=stages,
                       hard=hard, irrelevant=irrelevant, channel=mom.kind, warnings=warnings,
                       seconds=time.perf_counter() - start)


def _one_direction(t, rel: np.ndarray, start: float) -> AMPAnalysis:
    """A target of one relevant direction ``u``: exact label integrals of :mod:`.amp_single`.

    ``T = E[E[z|y]²] > 10·error`` (and > 1e-8): trivial; else ``F = E[E[z²−1|y]²]``
    ``> 10·error`` (and > 1e-8): one stage at ``α_c = 1/F`` with error ``error_F/F²``
    (a bound when ``error_F ≪ F``); else hard.
    """
    import sympy

    from .amp_single import Profile, noiseless_moments, noisy_moments, pieces

    u = rel[:, 0]
    exact = np.round(u)
    if np.allclose(u, exact, atol=1e-12):
        u_sym = [sympy.Integer(int(v)) for v in exact]
    else:
        u_sym = [sympy.Float(float(v), 17) for v in u]
    s = sympy.Symbol("s", real=True)
    prof = Profile(t.expr.subs({z: c * s for z, c in zip(t.variables, u_sym)}, simultaneous=True), s)
    ps = pieces(prof)
    mom = noisy_moments(prof, ps, t.noise) if t.noise > 0 else noiseless_moments(prof, ps)
    warnings: list[str] = []
    trivial, stages, hard = [], [], []
    direction = canonical_basis(rel)[:, 0]
    if mom.T > max(ZERO_FLOOR, 10 * mom.T_error):
        trivial = [direction]
    elif mom.F > max(ZERO_FLOOR, 10 * mom.F_error):
        alpha = 1.0 / mom.F
        err = mom.F_error / (mom.F * (mom.F - mom.F_error))
        if err > 1e-2 * alpha:
            warnings.append(f"α_c ≈ {alpha:.4g} has an estimated error {err:.2g} (quadrature)")
        stages = [Stage(alpha, [direction], float(mom.F), float(err), 0)]
    else:
        hard = [direction]
        if mom.F_error > ZERO_FLOOR:
            warnings.append(f"E[E[z²−1|y]²] = {mom.F:.2g} ± {mom.F_error:.1g}: the direction is reported "
                            f"hard; a threshold above {1 / (10 * mom.F_error):.3g} is not excluded")
    irrelevant = complement(rel, t.r) if t.r > 1 else np.zeros((t.r, 0))
    return AMPAnalysis(
        target=t.text, r=t.r, noise=float(t.noise), trivial=trivial, stages=stages, hard=hard,
        irrelevant=[c for c in canonical_basis(irrelevant).T] if irrelevant.shape[1] else [],
        channel=mom.kind, warnings=warnings, seconds=time.perf_counter() - start)


def _snap_trivial(t, found: np.ndarray) -> np.ndarray:
    """The exact span of ``E[z g*^k]``, k = 1..3, if it matches the numerical trivial subspace.

    These vectors lie in ``span{E[z|y]}`` (for any Δ) and are exact for polynomial
    targets (Hermite coefficients of ``g*^k``); when they span a subspace of the same
    dimension within 1e-2 of the quadrature answer, they replace it.
    """
    from .expr.target import Target

    try:
        cands = [Target(t.expr**k, r=t.r).tensor(1) for k in (1, 2, 3)]
    except Exception:  # noqa: BLE001 - a target whose powers cannot be expanded: keep numerics
        return found
    C = np.stack(cands, axis=1)
    if not np.all(np.isfinite(C)):
        return found
    U, sv, _ = np.linalg.svd(C, full_matrices=False)
    E = U[:, sv > 1e-9 * max(sv.max(), 1e-300)]
    if E.shape[1] != found.shape[1]:
        return found
    if np.linalg.norm(E @ E.T - found @ found.T, 2) < 1e-2:
        return E
    return found


def _snap(dirs: np.ndarray, V: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """Replace numerically found directions by exact ones when they are determined.

    The unlocked directions come from eigen-matrices of a quadrature operator
    (errors ~1e-6); conditioning on a slightly wrong subspace would leak the
    label's dependence on it. Directions are first projected on the relevant
    subspace ``U*`` (exact for polynomial targets); if together with V they fill
    ``U*``, the remaining part of ``U*`` itself is returned.
    """
    if rel.shape[1] == 0:
        return dirs
    Pd = rel @ (rel.T @ dirs)
    rem = rel - V @ (V.T @ rel) if V.shape[1] else rel
    rem = _join(np.zeros((rel.shape[0], 0)), rem)
    if Pd.shape[1] >= rem.shape[1] and _join(np.zeros((rel.shape[0], 0)), Pd).shape[1] >= rem.shape[1]:
        return rem
    return _join(np.zeros((rel.shape[0], 0)), Pd)


def _new_directions(V: np.ndarray, before: int, stages: list, trivial: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the part of span(V) not in the trivial subspace or earlier stages."""
    prior = [trivial] + [np.stack(s.directions, axis=1) for s in stages]
    P = np.concatenate(prior, axis=1) if prior else np.zeros((V.shape[0], 0))
    if P.shape[1]:
        P = _join(np.zeros((V.shape[0], 0)), P)
        R = V - P @ (P.T @ V)
    else:
        R = V
    return _join(np.zeros((V.shape[0], 0)), R)
