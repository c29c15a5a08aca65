"""Generative exponent and generative leap (docs/model.md §7, derived here from the definitions).

Definitions (quoted: Damian, Pillaud-Vivien, Lee, Bruna 2024, arXiv:2403.05529;
Damian et al. 2025, arXiv:2506.05500):

* single index: ``k_gen = min{k ≥ 1 : E[He_k(z) | y] ≢ 0}``; SQ / low-degree
  algorithms need ``n ≍ d^{k_gen/2}``;
* multi-index: grow a learned subspace ``V`` (``V_0 = {0}``) by the smallest k
  with ``E[He_k(z_⊥) | y, z_V] ≢ 0`` (``z_⊥`` the coordinates on ``V^⊥``), adding
  the span of the images of that tensor over all ``(y, z_V)``; the generative leap
  is the largest k used.

How it is computed (derived here). ``E[He_k(z_⊥) | y, z_V] ≡ 0`` iff
``E[F(y, z_V) He_k(z_⊥)] = 0`` for every test function F, and the span of its
images is the span of ``Im E[F(y, z_V) He_k(z_⊥)]`` over all F. With the test
functions ``F = y^m He_γ(z_V)`` these are exactly the conditional extensions
``E_k(V)`` of docs/model.md §3 applied to the powers ``g*^m`` — so the basis-free
machinery of :mod:`giantstep.theory.structure.subspaces` is reused, and for polynomial
targets every entry is an exact rational Hermite moment. Label noise
``y = g* + √Δ ε`` does not change the spans: ``E_ε[(g* + √Δε)^m]`` is a monic
polynomial of degree m in ``g*``, so the powers of the noisy label span the same
family; Δ only changes the strengths.

Powers ``m = 1..M``: polynomials in y are a complete family of test functions
when they are dense in ``L²(y, z_V)`` (e.g. bounded or discrete y); for heavy-tailed
labels this is a statement about the powers used, which is reported
(``powers``). A k that only the powers above M would reveal is missed (the result
is then an upper bound of k_gen); ``max_power`` raises M.

Strength of a direction v learned at order k given V:
``s = E[‖T[v, ·, …, ·]‖²] ∈ [0, k!]`` with ``T = E[He_k(z_⊥) | y, z_V]`` contracted
once with v (for one index: ``E_y[E[He_k(z) | y]²]``; the strengths of an
orthonormal basis of a stage add up to the basis-free ``E‖T‖²``), computed
numerically:

* noiseless polynomial target with one free coordinate (single index, or the
  last direction given V): exact level sets — for fixed ``z_V`` the label is a
  polynomial ``p(t)`` of the free coordinate t, the level set ``{p = y}`` is
  finitely many points (companion-matrix roots) with weights ``φ(t_i)/|p'(t_i)|``
  — integrated by composite Gauss–Legendre between the critical points and the
  preimages of the critical values (error: change from n to 2n nodes, ~1e-13);
* Δ > 0: ``E[He_k | y, z_V]`` as a ratio of quadrature sums (midpoint grid in z) with the Gaussian
  kernel ``φ_Δ(y − g)``, integrated over ``y = g + √Δ ε``;
* noiseless, one free coordinate, non-polynomial (relu, sign, tanh, …): level
  sets from the crossings of a fine midpoint grid, flat pieces as atoms;
* otherwise (noiseless, two or more free coordinates): midpoint product grid,
  y binned into equal-mass bins within each slice of ``z_V`` (discrete labels are
  grouped exactly). This estimator converges slowly; its error is 6× the change
  between two resolutions (calibrated on z1·z2 and sign(z1 z2 z3), known exactly).

The grid methods report (a multiple of) the change between two resolutions as error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from giantstep.errors import InputError
from giantstep.params import Boolean, Interval, Noneable, validate_params
from giantstep.tables import FrameMixin

from ..expr.target import Target, as_target
from ..gauss.hermite import he_numpy
from ..gauss.rules import GAUSS_HERMITE, GaussLegendreRule, MidpointRule
from .hermite_tensor import HermiteExpansion, _beta_factorial
from .subspaces import _Context, _extension, _join, _relevant, _sym_context, canonical_basis, orthonormal_basis

TENSOR_BUDGET = 1 << 20  # largest r^K of the Hermite tensors of a power g*^m
DEFAULT_MAX_POWER = 6
DEFAULT_MAX_POWER_NONPOLY = 3
MAX_STRENGTH_DIM = 3  # dim U* up to which strengths are computed on grids


@dataclass
class GenerativeStage:
    """Directions added at one stage of the generative growth.

    Attributes
    ----------
    k : int
        Order of the conditional Hermite tensor that first reveals them.
    directions : ndarray (r, m)
        Canonical orthonormal basis of the new directions.
    strengths : list of float or None
        ``E[‖T[v, ·, …, ·]‖²]`` per direction v, ``T = E[He_k(z_⊥) | y, z_V]`` (for one
        index ``E_y[E[He_k(z) | y]²]``); None: not computed.
    strength_errors : list of float or None
        Estimated absolute errors of the strengths.
    powers : list of int
        The powers m of the label whose moments reveal the stage.
    """

    k: int
    directions: np.ndarray
    strengths: list = field(default_factory=list)
    strength_errors: list = field(default_factory=list)
    powers: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "k": self.k,
            "directions": [v.tolist() for v in self.directions.T],
            "strengths": self.strengths,
            "strength_errors": self.strength_errors,
            "label_powers": self.powers,
        }


@dataclass
class GenerativeAnalysis(FrameMixin):
    """Generative exponent / leap of one target (see the module docstring)."""

    r: int
    noise: float
    generative_exponent: int | None
    generative_leap: int | None
    stages: list
    hard: np.ndarray
    powers: list
    exact: bool
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready dictionary (``generative_*`` keys of ``giantstep leap --json``)."""
        return {
            "generative_exponent": self.generative_exponent,
            "generative_leap": self.generative_leap,
            "generative_stages": [s.to_dict() for s in self.stages],
            "generative_hard": [v.tolist() for v in self.hard.T],
            "generative_label_powers": self.powers,
            "generative_exact": self.exact,
            "generative_noise": self.noise,
            "generative_notes": self.notes,
        }


def _kcap(r: int) -> int:
    return max(1, int(math.floor(math.log(TENSOR_BUDGET) / math.log(max(r, 2)))))


def _power_contexts(t: Target, max_power: int | None, max_degree: int | None) -> tuple[list, list, list]:
    """Contexts of ``g*^m`` for the admissible powers m (tensor budget r^K ≤ TENSOR_BUDGET)."""
    import sympy

    notes = []
    if t.is_polynomial:
        deg = int(sympy.Poly(sympy.expand(t.expr), *t.variables).total_degree()) if t.expr.free_symbols else 0
        M = DEFAULT_MAX_POWER if max_power is None else int(max_power)
        cap = _kcap(t.r)
        if deg > 0:
            allowed = max(1, cap // deg)
            if allowed < M:
                notes.append(f"label powers limited to m ≤ {allowed} (tensor size r^(m·deg) ≤ {TENSOR_BUDGET})")
                M = allowed
    else:
        M = DEFAULT_MAX_POWER_NONPOLY if max_power is None else int(max_power)
    if M < 1:
        raise InputError(f"max_power must be ≥ 1, got {max_power}")
    ctxs, powers = [], []
    base = _normalised(t).expr  # E_k(V; (c g)^m) = E_k(V; g^m): powers of g/c stay in range
    for m in range(1, M + 1):
        tm = Target(base**m, r=t.r)
        ctx = _fast_context(tm, max_degree)
        ctxs.append(ctx)
        powers.append(m)
    return ctxs, powers, notes


def _normalised(t: Target) -> Target:
    """A polynomial target divided by its largest Hermite coefficient (exactly); others as they are.

    Without label noise every generative quantity is invariant under ``y → y / c``.
    """
    import sympy

    scale = max((abs(v) for v in t.expansion.coeffs.values()), default=0.0)
    if not t.is_polynomial or scale in (0.0, 1.0):
        return t
    return Target(t.expr / sympy.Rational(scale), r=t.r)


def _tensor(exp: HermiteExpansion, k: int) -> np.ndarray:
    """``C_k`` of an expansion, vectorised over the r^k entries (no permutation loops)."""
    r = exp.r
    if k == 0:
        return np.asarray(exp.coefficient((0,) * r), dtype=float).reshape(())
    base = k + 1
    table = {}
    for beta, a in exp.coeffs.items():
        if sum(beta) == k:
            code = 0
            for b in beta:
                code = code * base + b
            table[code] = a * _beta_factorial(beta)
    if not table:
        return np.zeros((r,) * k)
    idx = np.indices((r,) * k).reshape(k, -1)
    code = np.zeros(idx.shape[1], dtype=np.int64)
    for i in range(r):
        code = code * base + (idx == i).sum(axis=0)
    keys = np.array(sorted(table), dtype=np.int64)
    vals = np.array([table[c] for c in keys])
    pos = np.searchsorted(keys, code)
    pos = np.minimum(pos, keys.size - 1)
    out = np.where(keys[pos] == code, vals[pos], 0.0)
    return out.reshape((r,) * k)


def _fast_context(t: Target, max_degree: int | None) -> _Context:
    """The symmetric sparse context of :mod:`giantstep.theory.structure.subspaces` (scale-free zero tests)."""
    return _sym_context(t, max_degree=max_degree)


def _gen_extension(ctxs: list, V: np.ndarray, k: int) -> tuple[np.ndarray, list]:
    """``Σ_m E_k(V; g*^m)``: span of the images of ``E[y^m He_γ(z_V) He_k(z_⊥)]``."""
    r = V.shape[0]
    cols, used = [], []
    for m, ctx in enumerate(ctxs, start=1):
        if k > ctx.kmax:
            continue
        E = _extension(ctx, V, k)
        if E.shape[1]:
            cols.append(E)
            used.append(m)
    if not cols:
        return np.zeros((r, 0)), []
    P_perp = np.eye(r) - V @ V.T
    E = orthonormal_basis(P_perp @ np.concatenate(cols, axis=1), 1e-8)
    return E, used


@validate_params(max_power=Noneable(Interval(int, 1, 12)), strengths=Boolean(),
                 resolution=Interval(int, 1, 16))
def generative_analysis(target, *, noise: float | None = None, max_power: int | None = None,
                        max_degree: int | None = None, strengths: bool = True,
                        resolution: int = 1) -> GenerativeAnalysis:
    """Generative exponent, generative leap and per-direction strengths of ``target``.

    Parameters
    ----------
    target : str, sympy.Expr or Target
        The target ``g*``; labels ``y = g*(z) + √Δ ε``.
    noise : float, optional
        Label-noise variance Δ (default: the target's own ``noise``). Changes the
        strengths only (see the module docstring).
    max_power : int, optional
        Largest power m of the label used as a test function (default 6 for
        polynomials, limited by the tensor budget; 3 otherwise).
    max_degree : int, optional
        Truncation degree of the Hermite expansions of non-polynomial powers.
    strengths : bool
        Compute the strengths ``E[‖E[He_k(z_⊥) | y, z_V][v, ·, …, ·]‖²]`` (numerical).
    resolution : int
        Grid refinement factor of the numerical strengths (1 = default).

    Returns
    -------
    GenerativeAnalysis
        ``generative_exponent`` (k at the first stage), ``generative_leap`` (largest
        k used; None if some direction of U* is never reached), ``stages``
        (``GenerativeStage``), ``hard`` (directions of U* never reached).
    """
    t = as_target(target)
    Delta = t.noise if noise is None else float(noise)
    r = t.r
    ctxs, powers, notes = _power_contexts(t, max_power, max_degree)
    U = _relevant(ctxs[0])
    V = np.zeros((r, 0))
    stages: list[GenerativeStage] = []
    kcap = max(c.kmax for c in ctxs)
    while V.shape[1] < U.shape[1]:
        for k in range(1, kcap + 1):
            E, used = _gen_extension(ctxs, V, k)
            if E.shape[1]:
                E = canonical_basis(E)
                stages.append(GenerativeStage(k, E, powers=used))
                V = _join(V, E)
                break
        else:
            break
    hard = canonical_basis(orthonormal_basis((np.eye(r) - V @ V.T) @ U, 1e-8)) if V.shape[1] < U.shape[1] \
        else np.zeros((r, 0))
    reached = hard.shape[1] == 0
    kgen = stages[0].k if stages else None
    leap = (max(s.k for s in stages) if stages else 0) if reached else None
    if not t.is_polynomial:
        notes.append(f"non-polynomial target: Hermite expansions of y^m truncated at degree {ctxs[0].kmax}")
    if not reached:
        notes.append(f"{hard.shape[1]} direction(s) of U* are not revealed by E[y^m He_k | y, z_V] for "
                     f"m ≤ {powers[-1]}, k ≤ {kcap}")
    if strengths:
        _fill_strengths(_normalised(t) if not Delta else t, Delta, U, stages, notes, resolution)
    exact = bool(t.is_polynomial)
    return GenerativeAnalysis(r, Delta, kgen, leap, stages, hard, powers, exact, notes)


def generative_exponent(target, **kwargs) -> int | None:
    """``k_gen = min{k : E[He_k(z) | y] ≢ 0}`` (first stage of :func:`generative_analysis`)."""
    return generative_analysis(target, strengths=False, **kwargs).generative_exponent


def generative_leap(target, **kwargs) -> int | None:
    """The generative leap (largest k of the generative growth; see :func:`generative_analysis`)."""
    return generative_analysis(target, strengths=False, **kwargs).generative_leap


# ---------------------------------------------------------------------------
# strengths
# ---------------------------------------------------------------------------


#: Largest polynomial degree whose level-set strengths are within their stated error (checked on
#: z1**d, exact strength 2 at k = 2: d = 16 within its estimate, d = 20 off by 4 × its estimate).
MAX_LEVELSET_DEGREE = 16


def _degree(t: Target) -> int:
    """Total degree of a polynomial target (0 for other targets)."""
    import sympy

    if not t.is_polynomial or not t.expr.free_symbols:
        return 0
    return int(sympy.Poly(sympy.expand(t.expr), *t.variables).total_degree())


def _fill_strengths(t: Target, Delta: float, U: np.ndarray, stages: list, notes: list, resolution: int) -> None:
    u = U.shape[1]
    deg = _degree(t)
    if u > MAX_STRENGTH_DIM or deg > MAX_LEVELSET_DEGREE:
        notes.append(f"strengths not computed: dim U* = {u} > {MAX_STRENGTH_DIM}" if u > MAX_STRENGTH_DIM
                     else f"strengths not computed: target degree {deg} > {MAX_LEVELSET_DEGREE} (the "
                     "level-set fit loses accuracy beyond its error estimate)")
        for st in stages:
            st.strengths = [None] * st.directions.shape[1]
            st.strength_errors = [None] * st.directions.shape[1]
        return
    V = np.zeros((t.r, 0))
    for st in stages:
        vals, errs = [], []
        for v in st.directions.T:
            s, e = conditional_strength(t, st.k, v, V, noise=Delta, U=U, resolution=resolution)
            vals.append(s)
            errs.append(e)
        st.strengths, st.strength_errors = vals, errs
        V = _join(V, st.directions)


def _adapted_basis(U: np.ndarray, V: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Orthonormal basis of U* ordered as (V, v, rest)."""
    r = U.shape[0]
    cols = [V, v.reshape(r, 1)]
    B = np.concatenate(cols, axis=1)
    P = np.eye(r) - B @ B.T
    rest = orthonormal_basis(P @ U, 1e-8)
    return np.concatenate([B, rest], axis=1)


def conditional_strength(target, k: int, v, V=None, *, noise: float = 0.0, U: np.ndarray | None = None,
                         resolution: int = 1) -> tuple[float, float]:
    """``E[‖T[v, ·, …, ·]‖²]``, ``T = E[He_k(z_⊥) | y, z_V]``, and an error estimate.

    The tensor contracted once with v: ``Σ_{|β|=k, β_v ≥ 1} (k−1)!/(β−e_v)! E[E[He_β(w) | y, z_V]²]``
    in coordinates w adapted to (V, v, rest of U*); see the module docstring for the methods.

    Parameters
    ----------
    target : str, sympy.Expr or Target
    k : int
        Hermite order.
    v : array (r,)
        Unit direction orthogonal to V.
    V : array (r, j), optional
        Orthonormal basis of the conditioning subspace (default: none).
    noise : float
        Label-noise variance Δ.
    U : array, optional
        Basis of U* (computed if omitted).
    resolution : int
        Grid refinement factor.

    Returns
    -------
    (float, float)
        The strength and its estimated absolute error.
    """
    t = as_target(target)
    r = t.r
    v = np.asarray(v, dtype=float).reshape(r)
    v = v / np.linalg.norm(v)
    V = np.zeros((r, 0)) if V is None else np.asarray(V, dtype=float).reshape(r, -1)
    if k < 1:
        raise InputError(f"k must be ≥ 1, got {k}")
    if U is None:
        U = _relevant(_sym_context(t))
    if V.shape[1]:
        v = v - V @ (V.T @ v)
        v = v / np.linalg.norm(v)
    B = _adapted_basis(U, V, v)
    j, u = V.shape[1], B.shape[1]
    free = u - j
    if noise == 0 and t.is_polynomial and free == 1:
        return _strength_levelset(t, k, B, j, resolution)
    if noise == 0 and free == 1:
        a = _strength_crossings(t, k, B, j, resolution)
        b = _strength_crossings(t, k, B, j, resolution + 1)
        return float(b), float(2 * abs(b - a))
    if noise > 0:
        a = _strength_noisy(t, k, B, j, noise, resolution)
        b = _strength_noisy(t, k, B, j, noise, resolution + 1)
    else:
        a = _strength_binned(t, k, B, j, resolution)
        b = _strength_binned(t, k, B, j, resolution + 1)
        # the binned estimator converges slowly (like bins^-0.45 for z1*z2, whose m(y) has a
        # 1/log|y| singularity at 0): 6 × the change between resolutions, calibrated on
        # z1*z2 and sign(z1*z2*z3), whose values are known (tests/test_generative.py)
        return float(b), float(6 * abs(b - a))
    return float(b), float(2 * abs(b - a))


def _scaled(n: int, res: int) -> int:
    """Node count at refinement level ``res`` (1, 2, …: ×1, ×1.5, ×2, …)."""
    return int(round(n * (1.0 + 0.5 * (res - 1))))


def _slices(j: int, n: int):
    """Product nodes/weights of the conditioning coordinates z_V (negligible weights dropped)."""
    if j == 0:
        yield np.zeros(0), 1.0
        return
    import itertools

    x, w = MidpointRule(8.0).nodes(n)
    keep = w > 1e-14 * w.max()
    x, w = x[keep], w[keep]
    for idx in itertools.product(range(x.size), repeat=j):
        ws = float(np.prod(w[list(idx)]))
        if ws > 1e-16:
            yield x[list(idx)], ws


def _free_grid(free: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = MidpointRule({1: 10.0, 2: 8.5, 3: 7.5}.get(free, 7.0)).nodes(n)
    grids = np.meshgrid(*([x] * free), indexing="ij")
    wg = np.meshgrid(*([w] * free), indexing="ij")
    pts = np.stack([g.ravel() for g in grids], axis=1)
    wts = np.prod(np.stack([g.ravel() for g in wg], axis=1), axis=1)
    keep = wts > 1e-18
    return pts[keep], wts[keep] / wts[keep].sum()


def _labels(t: Target, B: np.ndarray, wV: np.ndarray, pts: np.ndarray) -> np.ndarray:
    j = wV.size
    z = pts @ B[:, j:].T
    if j:
        z = z + B[:, :j] @ wV
    return np.asarray(t.evaluate(z), dtype=float).reshape(-1)


def _direction_hermites(k: int, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns ``He_β(w)`` (|β| = k, β_1 ≥ 1) on the free coordinates and weights
    ``(k−1)!/(β−e_1)!``: ``Σ_β c_β E[m_β²] = E[‖T[v, ·, …, ·]‖_F²]`` for the tensor
    ``T = E[He_k(z_⊥) | y, z_V]`` contracted once with v (the first free axis)."""
    from .hermite_tensor import _multi_indices

    f = pts.shape[1]
    cols, coef = [], []
    for beta in _multi_indices(f, k):
        if beta[0] < 1:
            continue
        h = np.ones(pts.shape[0])
        for i, b in enumerate(beta):
            if b:
                h = h * he_numpy(b, pts[:, i])
        cols.append(h)
        rest = (beta[0] - 1,) + tuple(beta[1:])
        coef.append(math.factorial(k - 1) / _beta_factorial(rest))
    return np.stack(cols, axis=1), np.array(coef)


def _strength_binned(t: Target, k: int, B: np.ndarray, j: int, res: int) -> float:
    free = B.shape[1] - j
    n_free = _scaled({1: 1600, 2: 160, 3: 50}[free], res)
    n_slice = _scaled(32, res)
    pts, wts = _free_grid(free, n_free)
    H, c = _direction_hermites(k, pts)
    bins = max(8, int(round(math.sqrt(pts.shape[0]) / 1.5)))
    total = 0.0
    for wV, ws in _slices(j, n_slice):
        y = _labels(t, B, wV, pts)
        total += ws * _binned(y, wts, H, bins) @ c
    return total


def _binned(y: np.ndarray, w: np.ndarray, H: np.ndarray, bins: int) -> np.ndarray:
    """``Σ_b W_b (E[h | bin b])²`` per column h of H, equal-mass bins of y (ties kept together)."""
    yr = np.round(y, 12)
    uniq, inv = np.unique(yr, return_inverse=True)
    if uniq.size > 64:
        order = np.argsort(yr, kind="stable")
        cw = np.cumsum(w[order]) / w.sum()
        start = np.concatenate([[0.0], cw[:-1]])
        # a tie group takes the bin of its first member
        lab = np.minimum((start * bins).astype(int), bins - 1)
        first = np.searchsorted(yr[order], yr[order], side="left")
        lab = lab[first]
        inv = np.empty_like(lab)
        inv[order] = lab
        nb = bins
    else:
        nb = uniq.size
    W = np.bincount(inv, weights=w, minlength=nb)
    ok = W > 0
    out = np.empty(H.shape[1])
    for col in range(H.shape[1]):
        S = np.bincount(inv, weights=w * H[:, col], minlength=nb)
        out[col] = np.sum(S[ok] ** 2 / W[ok])
    return out


def _strength_crossings(t: Target, k: int, B: np.ndarray, j: int, res: int) -> float:
    """One free coordinate, any target: level sets from the crossings of a fine grid.

    On the midpoint grid ``t_i`` the label ``y_i`` is interpolated linearly in each
    cell; a level y collects, from every cell that crosses it, the point ``t*`` with
    weight ``φ(t*)/|slope|``. Runs of equal labels (flat pieces: relu, sign) are atoms
    of the law of y and are averaged exactly.
    """
    n = _scaled(1600 if j == 0 else 600, res)
    x, w = MidpointRule(10.0).nodes(n)
    hx = x[1] - x[0]
    total = 0.0
    for wV, ws in _slices(j, _scaled(32, res)):
        y = _labels(t, B, wV, x[:, None])
        h = he_numpy(k, x)
        total += ws * _crossing_sum(x, w, y, h, hx)
    return total


def _crossing_sum(x: np.ndarray, w: np.ndarray, y: np.ndarray, h: np.ndarray, hx: float) -> float:
    yr = np.round(y, 12)
    flat = np.zeros(x.size, dtype=bool)
    same = yr[1:] == yr[:-1]
    flat[1:] |= same
    flat[:-1] |= same
    out = 0.0
    atoms = np.unique(yr[flat])
    for a in atoms:
        sel = yr == a
        W = w[sel].sum()
        out += (w[sel] @ h[sel]) ** 2 / W
    rest = ~np.isin(yr, atoms)
    if not rest.any():
        return float(out)
    ya = y[rest]
    y0, y1 = y[:-1], y[1:]
    dy = y1 - y0
    ok = (dy != 0) & ~(flat[:-1] & flat[1:])
    y0, y1, dy, xc = y0[ok], y1[ok], dy[ok], x[:-1][ok]
    m = np.empty(ya.size)
    for s in range(0, ya.size, 256):
        yy = ya[s:s + 256, None]
        up = (dy > 0) & (y0 <= yy) & (yy < y1)
        down = (dy < 0) & (y1 < yy) & (yy <= y0)
        cross = up | down
        frac = np.where(cross, (yy - y0) / dy, 0.0)
        ts = xc + frac * hx
        dens = np.where(cross, np.exp(-0.5 * ts * ts) / (np.abs(dy) / hx), 0.0)
        num = (dens * np.where(cross, _he_array(h, ts, x), 0.0)).sum(axis=1)
        den = dens.sum(axis=1)
        m[s:s + 256] = np.where(den > 0, num / np.maximum(den, 1e-300), 0.0)
    return float(out + w[rest] @ (m * m))


def _he_array(h: np.ndarray, ts: np.ndarray, x: np.ndarray) -> np.ndarray:
    """He_k at the crossing points by linear interpolation of the node values h."""
    return np.interp(ts, x, h)


def _strength_noisy(t: Target, k: int, B: np.ndarray, j: int, Delta: float, res: int) -> float:
    free = B.shape[1] - j
    n_free = _scaled({1: 400, 2: 30, 3: 14}[free], res)
    n_slice = _scaled(20, res)
    pts, wts = _free_grid(free, n_free)
    H, c = _direction_hermites(k, pts)
    e, we = GAUSS_HERMITE.nodes(_scaled({1: 16, 2: 6, 3: 6}[free], res))
    sd = math.sqrt(Delta)
    total = 0.0
    for wV, ws in _slices(j, n_slice):
        g = _labels(t, B, wV, pts)
        ys = (g[:, None] + sd * e[None, :]).ravel()
        wy = (wts[:, None] * we[None, :]).ravel()
        acc = 0.0
        for s in range(0, ys.size, 4096):
            yy = ys[s:s + 4096]
            logk = -0.5 * ((yy[:, None] - g[None, :]) / sd) ** 2
            logk -= logk.max(axis=1, keepdims=True)
            K = np.exp(logk) * wts[None, :]
            m = (K @ H) / K.sum(axis=1)[:, None]
            acc += float(wy[s:s + 4096] @ (m * m) @ c)
        total += ws * acc
    return total


def _strength_levelset(t: Target, k: int, B: np.ndarray, j: int, res: int) -> tuple[float, float]:
    """Exact level sets in the one free coordinate (noiseless polynomial target)."""
    import sympy

    deg = int(sympy.Poly(sympy.expand(t.expr), *t.variables).total_degree())
    # the label restricted to the line: p(s) = g(B_V w_V + b s), fitted exactly (degree ≤ deg)
    nodes = np.cos(np.pi * (np.arange(deg + 1) + 0.5) / (deg + 1)) * 3.0
    total, err = 0.0, 0.0
    for wV, ws in _slices(j, _scaled(32, res)):
        vals = _labels(t, B, wV, nodes[:, None])
        coef = np.polynomial.polynomial.polyfit(nodes, vals, deg)
        coef[np.abs(coef) < 1e-11 * max(1.0, np.max(np.abs(coef)))] = 0.0
        s_val, s_err = _levelset_integral(coef, k, 48 * res)
        total += ws * s_val
        err += ws * s_err
    return float(total), float(err)


def _real_roots_batch(hi_coef: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real roots of ``p(s) = y`` for many y at once (companion matrices); NaN where complex."""
    c = hi_coef / hi_coef[0]
    D = c.size - 1
    comp = np.zeros((ys.size, D, D))
    comp[:, 0, :] = -c[1:]
    comp[:, 0, -1] += ys / hi_coef[0]
    if D > 1:
        comp[:, np.arange(1, D), np.arange(D - 1)] = 1.0
    roots = np.linalg.eigvals(comp)
    real = np.abs(roots.imag) < 1e-6 * (1.0 + np.abs(roots.real))
    return np.where(real, roots.real, np.nan), real


def _levelset_integral(coef: np.ndarray, k: int, n: int) -> tuple[float, float]:
    """``∫ φ(x) m(p(x))² dx``, ``m(y) = Σ_i He_k(s_i) φ(s_i)/|p'(s_i)| / Σ_i φ(s_i)/|p'(s_i)|``
    over the real roots ``s_i`` of ``p = y``; composite Gauss–Legendre between the critical
    points and the preimages of the critical values (where the number of roots changes),
    with a smoothstep change of variable at every breakpoint; error = change from n to 2n."""
    P = np.polynomial.Polynomial(coef).trim(1e-300)
    if P.degree() < 1:  # constant label: nothing is revealed
        return 0.0, 0.0
    dP = P.deriv()
    hi = P.coef[::-1].copy()
    L = 12.0
    breaks = {-L, L}
    if dP.degree() >= 1:
        for c in dP.roots():
            if abs(c.imag) < 1e-9 and -L < c.real < L:
                breaks.add(float(c.real))
                yc = float(P(c.real))
                rr, ok = _real_roots_batch(hi, np.array([yc]))
                for x in rr[ok]:
                    if -L < x < L:
                        breaks.add(float(x))
    edges = sorted(breaks)
    edges = [e for i, e in enumerate(edges) if i == 0 or e - edges[i - 1] > 1e-12]

    def rule(m: int) -> float:
        u, wu = GaussLegendreRule(0.0, 1.0).nodes(m)
        s = 3 * u * u - 2 * u**3
        ds = 6 * u * (1 - u)
        xs, wx = [], []
        for a, b in zip(edges[:-1], edges[1:]):
            xs.append(a + (b - a) * s)
            wx.append((b - a) * ds * wu)
        x = np.concatenate(xs)
        w = np.concatenate(wx)
        roots, real = _real_roots_batch(hi, P(x))
        r0 = np.where(real, roots, 0.0)
        dens = np.where(real, np.exp(-0.5 * r0 * r0) / np.maximum(np.abs(dP(r0)), 1e-300), 0.0)
        num = (dens * np.where(real, he_numpy(k, r0), 0.0)).sum(axis=1)
        den = dens.sum(axis=1)
        mval = np.where(den > 0, num / np.maximum(den, 1e-300), 0.0)
        return float(np.sum(w * np.exp(-0.5 * x * x) * mval * mval) / math.sqrt(2 * math.pi))

    a, b = rule(n), rule(2 * n)
    return b, abs(b - a) + 1e-13


def online_sgd_exponent(k: int | None) -> dict:
    """Sample complexity of online SGD at information exponent / leap k (quoted).

    Ben Arous, Gheissari, Jagannath 2021: ``n ≍ d^{k−1}`` for k ≥ 3, ``d log d`` for
    k = 2, ``d`` for k = 1; multi-index with the leap in place of k (Abbe,
    Boix-Adserà, Misiakiewicz 2023: ``d^{max(leap−1, 1)}`` up to logs).

    Returns
    -------
    dict
        ``{"exponent": κ, "log_factor": bool, "text": "d^κ" or "d log d"}``; exponent
        None when k is None (never learned).
    """
    if k is None:
        return {"exponent": None, "log_factor": False, "text": "never"}
    if k <= 0:
        return {"exponent": 0.0, "log_factor": False, "text": "O(1)"}
    if k == 1:
        return {"exponent": 1.0, "log_factor": False, "text": "d"}
    if k == 2:
        return {"exponent": 1.0, "log_factor": True, "text": "d log d"}
    return {"exponent": float(k - 1), "log_factor": False, "text": f"d^{k - 1}"}


__all__ = [
    "GenerativeAnalysis",
    "GenerativeStage",
    "conditional_strength",
    "generative_analysis",
    "generative_exponent",
    "generative_leap",
    "online_sgd_exponent",
]

