"""State evolution of Bayes-optimal GAMP for a multi-index target, r ≤ 3 (docs/amp.md §4).

Quoted (Aubin et al. 2018 for committee machines; Troiani et al. 2024,
arXiv:2405.15480, for general multi-index models), with Gaussian prior
``W*_i ~ N(0, I_r)`` and ``n = α d``:

    Q̂ = α E_{ξ, y}[ g_out g_outᵀ ],   ω = Q^{1/2} ξ,  V = I − Q,
    g_out(y, ω, V) = V⁻¹ (E[z | y, ω, V] − ω),   z | ω ~ N(ω, V),
    Q = Q̂ (I + Q̂)⁻¹.

Computed deterministically: Gauss–Hermite over ξ, the piecewise Gauss–Legendre
grid of :mod:`giantstep.theory.amp_channel` over ``z = ω + L u`` (``L Lᵀ = V``),
and the discretised label channel of that module (exact atoms; at Δ = 0 a soft
quantisation of the continuous part — the SE of GAMP observing that quantised
label, a lower bound; for Δ > 0 the Gaussian channel on a fine y-grid). The
reported overlap is ``tr(Q)/r`` (the Bayes-optimal overlap ``E⟨ŵ, w*⟩/d`` per
direction of the relevant subspace U*, m = dim U*: ``tr(Q)/m``); the full matrix is kept.

Iteration: warm-started from the previous α; while ``‖Q‖ < 1e-3`` the map is linear
and plain steps are taken, so a steady contraction rate < 1 means the uninformative
fixed point is reached (reported as 0, ``"decayed"``) and a steady rate > 1 is skipped by
rescaling ``Q`` along its (converged) direction. Away from 0: Anderson acceleration
(memory = number of unknowns), safeguarded (no jumps back towards the unstable point
``Q = 0``, none onto an expanding point or across the switch to the moving grid, restart
on a growing residual). The stopping rule bounds the distance to the fixed point by
``‖ΔQ‖ ρ/(1 − ρ)`` with the contraction rate ρ measured on the iteration history (secant
Jacobian). Quadrature check: the fixed point itself is solved again on a finer rule
(not one map evaluation, whose error the fixed point amplifies by ``1/(1 − ρ)``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from giantstep.errors import ConvergenceError, InputError
from giantstep.params import Interval, validate_params
from giantstep.tables import FrameMixin
from giantstep.theory.amp import MAX_R
from giantstep.theory.amp_channel import LabelChannel, gaussian_grid
from giantstep.theory.expr.target import as_target
from giantstep.theory.structure.subspaces import relevant_subspace

from .amp_kernel import accumulate_cells, cell_pairs, grid_axis
from .gaussian import product_rule

# (outer Gauss–Hermite nodes per dim, inner panels per half-line, inner nodes per panel, bins)
# r = 2: 16 outer nodes per dimension (8 gave 0.5526 for z1²+z2², Δ = 0.5, α = 2.2 against the
# exact 0.5385 of docs/amp.md §5; 16 give 0.5401)
_LEVELS = {1: (48, 24, 8, 128), 2: (16, 8, 6, 128), 3: (6, 4, 5, 48)}
# Δ = 0, r = 2: the label cells must hold many inner nodes each. Two biases compete
# (measured against the exact radial reference of z1² + z2², docs/amp.md §4): the soft
# quantisation of the label (negative, ∝ 1/bins²) and the noise of the per-cell sums
# (positive, Jensen in Σ S1²/S0, growing with bins / nodes per cell). With 8 panels and
# 128 bins the second dominated (+0.0185 at α = 1.75) and the finer rule (more bins) did
# not see it; with 16 panels and 64 bins the per-cell noise is negligible, the SE is a
# lower bound (quantisation only) and the finer rule (2× bins) measures it.
_LEVELS_NOISELESS = {2: (16, 16, 6, 64)}
SE_NOISE_GRID = 400
NEAR_ONE = 1e-3  # overlaps this close to 1 are reported with the gap to 1 as error
SADDLE_PROBE = 1e-3
V_SWITCH = 0.1  # smallest eigenvalue of V = I − Q below which the grid moves with ω
LINEAR_REGIME = 1e-3
START = 1e-4
FINE_TOL = 1e-5  # iteration tolerance of the finer solve (its error is added to the stated one)


@dataclass
class SEPoint:
    """One α of the state-evolution curve.

    Attributes
    ----------
    alpha : float
    overlap : float
        ``tr(Q)/m`` (m = dim of the relevant subspace) at the fixed point reached from
        ``Q₀ = 1e-4·I`` (warm start).
    matrix : np.ndarray
        The overlap matrix ``Q`` (r × r, in the coordinates of the target).
    iterations : int
    error : float
        Bound on the distance of ``Q`` to the fixed point (iteration error only).
    status : str
        ``"converged"`` or ``"decayed"`` (uninformative point, linear regime contracting).
    quadrature_error : float or None
        Stated quadrature error on ``overlap`` (fixed point solved again on the finer
        rule, :func:`state_evolution`); None where not checked.
    fine_overlap : float or None
        The overlap on the finer rule (None where not checked).
    """

    alpha: float
    overlap: float
    matrix: np.ndarray
    iterations: int
    error: float
    status: str
    quadrature_error: float | None = None
    fine_overlap: float | None = None

    def to_dict(self) -> dict:
        """``{"alpha", "overlap", ...}`` for JSON."""
        return {"alpha": self.alpha, "overlap": self.overlap, "matrix": self.matrix.tolist(),
                "iterations": self.iterations, "error": self.error, "status": self.status,
                "quadrature_error": self.quadrature_error}


@dataclass
class StateEvolution(FrameMixin):
    """The GAMP state-evolution curve for one target."""

    target: str
    r: int
    noise: float
    points: list
    channel: str
    quadrature_error: float
    warnings: list = field(default_factory=list)
    seconds: float = 0.0

    def to_list(self) -> list[dict]:
        """The ``state_evolution`` JSON list of ``{"alpha", "overlap", …}``."""
        return [p.to_dict() for p in self.points]


class _SEMap:
    """The map ``Q ↦ Q_new`` on the relevant subspace, with a fixed grid and channel.

    ``E[f(z) | j, ω] `` with ``z ~ N(ω, V)`` is computed on the fixed standard-Gaussian
    grid ``z_k`` by importance weights ``ρ_k(ω) = N(z_k; ω, V)/N(z_k; 0, I)``
    (docs/amp.md (B3)); the labels and their cells are then fixed, and for small
    ``Q`` the map linearises to exactly the operator of the threshold analysis on the
    same grid, so the weak-recovery transition is where the linear analysis puts it.
    The weights become peaked as ``V → 0`` (overlaps near 1): the quadrature check
    of :func:`state_evolution` measures that error. ``refine > 1`` divides the y-spacing
    of a noisy channel by ``refine`` (the finer rule of the check).
    """

    def __init__(self, target, noise: float, level: dict | None = None, refine: int = 1):
        self.t = as_target(target, noise=noise)
        self.R = relevant_subspace(self.t)
        m = self.R.shape[1]
        if m == 0:
            raise InputError(f"the target {self.t.text!r} is constant: nothing to learn")
        self.m = m
        n_out, panels, nodes, bins = (level or _levels(noise))[m]
        self.xi, self.wxi = product_rule(n_out, m)
        self.z, self.wz = gaussian_grid(m, panels, nodes)
        vals = self.t.evaluate(self.z @ self.R.T)
        vals = np.broadcast_to(vals, (len(self.z),))
        if noise > 0 and refine > 1:
            self.channel = LabelChannel.noisy(vals, self.wz, noise, refine * SE_NOISE_GRID,
                                                 per_sigma=4 * refine)
        else:
            self.channel = LabelChannel.build(vals, self.wz, noise=noise, bins=bins,
                                              max_noise_grid=SE_NOISE_GRID, nodes=self.z)
        self.idx, self.wt = self.channel.assign(vals)
        self.half_sq = 0.5 * np.sum(self.z**2, axis=1)
        self.features = np.concatenate([np.ones((len(self.z), 1)), self.z], axis=1)
        self.kernel_band = (None if self.channel.kernel is None
                            else band_blocks(self.channel.kernel))
        with np.errstate(divide="ignore"):
            self.log_w = np.log(self.wz) + self.half_sq
        self.pairs = cell_pairs(self.idx, self.wt, self.z, self.channel.n_cells)
        self.axis = grid_axis(self.z)

    def __call__(self, alpha: float, Q: np.ndarray, direct: bool | None = None) -> np.ndarray:
        """One SE step; ``direct`` forces the moving-grid route (default: when V is small)."""
        m = self.m
        Vm = np.eye(m) - Q
        Vinv = np.linalg.inv(Vm)
        _, logdet = np.linalg.slogdet(Vm)
        w, U = np.linalg.eigh(Q)
        sq = (U * np.sqrt(np.clip(w, 0, None))) @ U.T
        omega = self.xi @ sq  # (G, m)
        if direct is None:
            direct = bool(np.linalg.eigvalsh(Vm)[0] < V_SWITCH)
        G = len(omega)
        if not direct:  # S[j, g] = (S0, S1) of cell j at node g, layout (J, G, m + 1)
            S = accumulate_cells(self.axis, self.z, self.log_w, *self.pairs, np.ascontiguousarray(omega),
                                 Vinv, logdet)
        else:  # V small: move the grid with ω, z = ω + L u (docs/amp.md (B4))
            L = np.linalg.cholesky(Vm)
            zz = omega[:, None, :] + (self.z @ L.T)[None, :, :]
            vals = np.broadcast_to(self.t.evaluate(zz @ self.R.T), zz.shape[:2])
            idx, wt = self.channel.assign(vals)
            Sg = self.channel.accumulate(idx, wt, self.wz, self.features, kernel=False)
            Sg[:, :, 1:] = Sg[:, :, 1:] @ L.T
            S = np.ascontiguousarray(Sg.transpose(1, 0, 2))
        J = S.shape[0]
        if self.kernel_band is not None:  # noise kernel on S0 and S1, banded products
            S = band_apply(self.kernel_band, S.reshape(J, -1)).reshape(J, G, m + 1)
        S0, S1 = S[:, :, 0], S[:, :, 1:]
        # A = Σ_g w_g Σ_j S1_jg S1_jgᵀ / S0_jg (cells of zero mass dropped)
        inv = np.where(S0 > 1e-300, 1 / np.where(S0 > 1e-300, S0, 1.0), 0.0)
        T = (S1 * np.sqrt(self.wxi[None, :] * inv)[:, :, None]).reshape(-1, m)
        A = T.T @ T
        Qhat = alpha * Vinv @ A @ Vinv  # α E[g gᵀ], g = V⁻¹(E[z | y, ω] − ω)
        Qhat = 0.5 * (Qhat + Qhat.T)
        Qn = Qhat @ np.linalg.inv(np.eye(m) + Qhat)
        return _clean(0.5 * (Qn + Qn.T))


#: entries of the Gaussian noise kernel below this fraction of its largest are dropped
#: (their contribution is below the rounding of the sums)
BAND_CUT = 1e-17
BAND_ROWS = 64


def band_blocks(kernel: np.ndarray, cut: float = BAND_CUT,
                rows: int = BAND_ROWS) -> tuple[int, list]:
    """``(number of rows, blocks)``: row blocks ``(r0, r1, c0, c1, K[r0:r1, c0:c1])``
    covering the entries of ``kernel`` above ``cut·max|kernel|`` (the Gaussian noise kernel
    is banded)."""
    big = np.abs(kernel) > cut * float(np.max(np.abs(kernel)))
    out = []
    for r0 in range(0, kernel.shape[0], rows):
        r1 = min(r0 + rows, kernel.shape[0])
        cols = np.flatnonzero(big[r0:r1].any(axis=0))
        if cols.size:
            c0, c1 = int(cols[0]), int(cols[-1]) + 1
            out.append((r0, r1, c0, c1, np.ascontiguousarray(kernel[r0:r1, c0:c1])))
    return kernel.shape[0], out


def band_apply(band: tuple[int, list], X: np.ndarray) -> np.ndarray:
    """``kernel @ X`` from :func:`band_blocks` (equal to the dense product to ~1e-17 relative)."""
    n_rows, blocks = band
    Y = np.zeros((n_rows, X.shape[1]))
    for r0, r1, c0, c1, blk in blocks:
        Y[r0:r1] = blk @ X[c0:c1]
    return Y


def _clean(Q: np.ndarray) -> np.ndarray:
    w, U = np.linalg.eigh(0.5 * (Q + Q.T))
    w = np.clip(w, 0.0, 1 - 1e-9)
    return (U * w) @ U.T


def _norm(Q: np.ndarray) -> float:
    return float(np.linalg.norm(Q, 2))


def _vec(Q: np.ndarray) -> np.ndarray:
    """Upper triangle of a symmetric Q, off-diagonals × √2 (so ``‖vec Q‖ = ‖Q‖_F``)."""
    iu = np.triu_indices(len(Q))
    return Q[iu] * np.where(iu[0] == iu[1], 1.0, np.sqrt(2.0))


def _unvec(v: np.ndarray, m: int) -> np.ndarray:
    """Inverse of :func:`_vec`."""
    iu = np.triu_indices(m)
    v = v / np.where(iu[0] == iu[1], 1.0, np.sqrt(2.0))
    Q = np.zeros((m, m))
    Q[iu] = v
    Q[(iu[1], iu[0])] = v
    return Q


LINEARISATION_EPS = 1e-7

#: Where the state evolution was checked against finite-d GAMP (docs/amp.md §5: z1² at
#: Δ = 0.1, z1 z2 at Δ = 0.25, z1² + z2² at Δ = 0.5; α = 0.6, 1.15–1.5 and 2 α_c;
#: d = 1000–8000, 8 seeds): no trivial subspace, one stage, at most two relevant directions,
#: Δ in the simulated range (finite-d GAMP needs Δ > 0), α up to 2 α_c.
SE_CHECKED = {"noise": (0.1, 0.5), "max_directions": 2, "max_alpha_over_alpha_c": 2.0}


def se_checked(alpha: float, noise: float, n_trivial: int, stage_alphas: list,
               n_directions: int) -> tuple[bool, str]:
    """``(validated, reason)`` of one state-evolution point against :data:`SE_CHECKED`.

    ``stage_alphas`` are the thresholds of the linear analysis (``amp_analysis(...).stages``),
    ``n_directions`` the dimension of the relevant subspace.
    """
    lo, hi = SE_CHECKED["noise"]
    if n_trivial:
        return False, "targets with a trivial subspace were not simulated with GAMP"
    if len(stage_alphas) != 1:
        return False, "only one-stage targets were simulated with GAMP"
    if n_directions > SE_CHECKED["max_directions"]:
        return False, f"more than {SE_CHECKED['max_directions']} directions were not simulated with GAMP"
    if not lo <= noise <= hi:
        return False, (f"Δ = {noise:g} is outside the simulated range [{lo:g}, {hi:g}] "
                       "(finite-d GAMP needs Δ > 0)")
    if alpha > SE_CHECKED["max_alpha_over_alpha_c"] * stage_alphas[0]:
        return False, f"α above {SE_CHECKED['max_alpha_over_alpha_c']:g} α_c was not simulated"
    return True, ""


def grid_threshold(fmap: _SEMap) -> float:
    """Weak-recovery threshold ``α_c = 1/λ_max`` of the SE map linearised at ``Q = 0`` on
    ``fmap``'s own grid and cells (``inf`` if λ_max ≤ 0); ``nan`` when ``Q = 0`` is not a
    fixed point (a trivial subspace: ``F(0) ≠ 0``).

    ``F(Q) = α L(Q) + O(Q²)`` with ``L`` linear on symmetric matrices (docs/amp.md (B3)):
    ``L`` is measured on the PSD basis ``E_aa``, ``(e_a + e_b)(e_a + e_b)ᵀ`` at scale
    ``LINEARISATION_EPS`` (relative error of the same order) and written in the coordinates
    of :func:`_vec`. For ``α < α_c`` the iteration from ``Q₀ → 0`` decays to the
    uninformative point, so :func:`state_evolution` reports those points without iterating.
    """
    m = fmap.m
    if _norm(fmap(1.0, np.zeros((m, m)), False)) > 1e-12:
        return float("nan")
    eps = LINEARISATION_EPS
    diag = {a: fmap(1.0, eps * np.outer(np.eye(m)[a], np.eye(m)[a]), False) / eps for a in range(m)}
    iu = np.triu_indices(m)
    cols = []
    for a, b in zip(*iu):
        if a == b:
            img = diag[a]
        else:
            e = np.eye(m)[a] + np.eye(m)[b]
            img = fmap(1.0, eps * np.outer(e, e), False) / eps - diag[a] - diag[b]
            img = img / np.sqrt(2.0)  # image of the unit-norm vec coordinate E_ab + E_ba over √2
        cols.append(_vec(img))
    lam = float(np.max(np.linalg.eigvals(np.array(cols).T).real))
    return 1.0 / lam if lam > 0 else float("inf")


def _in_moving_region(Q: np.ndarray) -> bool:
    """True where the map uses the moving grid (``λ_min(I − Q) < V_SWITCH``)."""
    return bool(np.linalg.eigvalsh(np.eye(len(Q)) - Q)[0] < V_SWITCH)


def _secant_rate(xs: list, gs: list) -> float:
    """Contraction rate of the map from its history: spectral radius of ``ΔG ΔX⁺``.

    ``xs``, ``gs``: the last iterates and their images (vec form). The secant Jacobian
    acts on the span of the steps taken, which is where the residual lives; for plain
    iterations it reproduces the ratio of successive steps.
    """
    dX = np.diff(np.array(xs), axis=0).T
    dG = np.diff(np.array(gs), axis=0).T
    J = dG @ np.linalg.pinv(dX, rcond=1e-8)
    return float(np.max(np.abs(np.linalg.eigvals(J))))


def _anderson(xs: list, gs: list) -> np.ndarray | None:
    """Anderson (type II) extrapolation ``x = g_k − ΔG γ``, ``γ = argmin ‖f_k − ΔF γ‖``, ``f = g − x``."""
    X, Gm = np.array(xs).T, np.array(gs).T
    F = Gm - X
    dF, dG = np.diff(F, axis=1), np.diff(Gm, axis=1)
    if not np.all(np.isfinite(dF)) or np.linalg.norm(dF) == 0:
        return None
    gamma = np.linalg.lstsq(dF, F[:, -1], rcond=1e-10)[0]
    return Gm[:, -1] - dG @ gamma


def _solve(fmap: _SEMap, alpha: float, Q0: np.ndarray, tol: float, max_iter: int):
    """Stable fixed point of ``Q ↦ fmap(α, Q)`` from Q0 (see the module docstring).

    A fixed point with unlearned directions (eigenvalues of Q below 1e-6) is tested for
    stability along them (a 1e-3 perturbation, one step); if it grows — an accelerated
    iteration can land on such saddles — the iteration restarts from there with plain
    steps only.
    """
    Q, it, err, status = _solve_once(fmap, alpha, Q0, tol, max_iter, accelerate=True)
    total = it
    for _ in range(Q.shape[0]):
        if status != "converged":
            break
        w, U = np.linalg.eigh(Q)
        small = U[:, w < 1e-6]
        if small.shape[1] == 0:
            break
        P = small @ small.T
        Qp = _clean(Q + SADDLE_PROBE * P)
        grown = float(np.trace(P @ fmap(alpha, Qp, None))) / (SADDLE_PROBE * small.shape[1])
        total += 1
        if grown <= 1.0:
            break
        Q, it, err, status = _solve_once(fmap, alpha, Qp, tol, max_iter, accelerate=False)
        total += it
    return Q, total, err, status


def _solve_once(fmap: _SEMap, alpha: float, Q0: np.ndarray, tol: float, max_iter: int,
                accelerate: bool = True):
    """Fixed point of ``Q ↦ fmap(α, Q)`` from Q0 (one attempt; one map evaluation per iteration).

    Linear regime (``‖Q‖ < 1e-3``): plain steps (decay / escape, module docstring).
    Elsewhere: Anderson acceleration with memory ``p`` (the number of unknowns of Q),
    safeguarded — a proposal that jumps back towards ``Q = 0`` (norm below half that of
    ``F(Q)``) is replaced by the plain step, one that would cross into the moving-grid
    region (a different discretisation of the map) is shortened towards ``F(Q)``, and the
    history restarts (one plain step) when the map changes route or the residual grows. Stopping rule as
    before: ``‖F(Q) − Q‖ ρ/(1 − ρ) < tol`` with the contraction rate ρ measured on the
    history (secant Jacobian, :func:`_secant_rate`); ``F(Q)`` is returned.
    """
    m = len(Q0)
    memory = m * (m + 1) // 2
    Q = Q0.copy()
    rates: list = []
    prev_step = None
    escaped = False
    direct = False  # switch once to the moving grid when V = I − Q gets small, never back
    xs: list = []
    gs: list = []
    for it in range(1, max_iter + 1):
        switched = not direct and _in_moving_region(Q)
        direct = direct or switched
        if switched:
            xs.clear()
            gs.clear()
        Fq = fmap(alpha, Q, direct)
        sn = float(np.linalg.norm(Fq - Q))
        qn = _norm(Fq)
        if prev_step is not None and prev_step > 0:
            rates.append(sn / prev_step)
        grew = prev_step is not None and sn > prev_step
        prev_step = sn
        if sn < 1e-13:
            return Fq, it, sn, "converged"
        if qn < LINEAR_REGIME and _norm(Q) > 0 and not escaped and not xs:
            growth = qn / _norm(Q)
            last = rates[-3:]
            if len(last) == 3 and max(abs(a - b) for a, b in zip(last, last[1:])) < 1e-2:
                if growth < 1.0:
                    return np.zeros_like(Q), it, qn * growth / (1 - growth), "decayed"
                # escape the linear regime along the unstable direction
                Fq = Fq * (10 * LINEAR_REGIME / qn)
                escaped = True
                rates.clear()
                prev_step = None
            Q = Fq
            continue
        gap = 1.0 - float(np.linalg.eigvalsh(Fq)[0])
        if gap < NEAR_ONE and sn < NEAR_ONE:  # (near-)perfect recovery: Q* lies between Fq and I
            return Fq, it, max(gap, sn), "converged"
        if grew:
            xs, gs = xs[-1:], gs[-1:]
        xs.append(_vec(Q))
        gs.append(_vec(Fq))
        del xs[:-(memory + 1)], gs[:-(memory + 1)]
        rho = _secant_rate(xs, gs) if len(xs) >= 2 else float("nan")
        if rho < 1 and sn * max(rho, 1e-3) / (1 - rho) < tol:
            return Fq, it, sn * max(rho, 1e-3) / (1 - rho), "converged"
        prop = Fq
        # accelerate only towards a stable point (ρ < 1): where the map expands, the plain
        # steps leave the unstable point, the secant step would jump onto it
        if accelerate and rho < 1 and not grew:
            a = _anderson(xs, gs)
            if a is not None and np.all(np.isfinite(a)):
                cand = _clean(_unvec(a, m))
                for _ in range(4):  # shorten a step that leaves the region of the current route
                    if direct or not _in_moving_region(cand):
                        break
                    cand = _clean(0.5 * (cand + Fq))
                if _norm(cand) >= 0.5 * qn and (direct or not _in_moving_region(cand)):
                    prop = cand
        Q = prop
    raise ConvergenceError(f"GAMP state evolution at α = {alpha:g} did not converge",
                           residual=float(prev_step or np.nan), iterations=max_iter)


def _levels(noise: float) -> dict:
    """The base rule per dimension m: ``_LEVELS``, with ``_LEVELS_NOISELESS`` at Δ = 0."""
    return {**_LEVELS, **_LEVELS_NOISELESS} if noise == 0 else _LEVELS


def _finer_levels(noise: float) -> dict:
    """The quadrature check's rule: 1.5× the outer nodes and inner panels, 2× the bins."""
    return {k: (v[0] + v[0] // 2, v[1] + v[1] // 2, v[2], 2 * v[3]) for k, v in _levels(noise).items()}


#: Richardson factor of the quadrature check: if the overlap error decays like n^-p in the
#: node count n (p ≥ 2 assumed; measured p ≈ 3–4 for the outer rule of z1²+z2², Δ = 0.5),
#: err(n) ≤ |q(n) − q(1.5n)| / (1 − 1.5^-p) ≤ 1.8 |q(n) − q(1.5n)|.
RICHARDSON = 1.0 / (1.0 - 1.5**-2)


@validate_params(max_iter=Interval(int, 1, None))
def state_evolution(target, *, alphas, noise: float | None = None, tol: float = 1e-6,
                    max_iter: int = 500, quadrature_tol: float = 1e-2, check: str = "last",
                    strict: bool = False) -> StateEvolution:
    """Overlap of Bayes-optimal GAMP at the SE fixed point, for each α (docs/amp.md §4).

    Parameters
    ----------
    target : str, sympy.Expr or Target
        ``g*(z1..zr)`` with r ≤ 3.
    alphas : sequence of float
        Sample ratios ``α = n/d > 0`` (solved in increasing order, warm-started).
    noise : float or None
        Label-noise variance Δ ≥ 0 (None: the target's own Δ, 0 for text).
    tol : float
        Target bound on the distance of ``Q`` to the fixed point (iteration error).
    max_iter : int
        Map evaluations allowed per α.
    quadrature_tol : float
        Largest acceptable stated quadrature error on the overlap (see Returns).
    check : {"last", "all"}
        Where the quadrature error is measured: at the largest α whose point converged
        (default), or at every converged point.
    strict : bool
        If True, a stated quadrature error above ``quadrature_tol`` raises
        ``ConvergenceError``; otherwise it is a warning in ``.warnings``.

    Returns
    -------
    StateEvolution
        ``.points`` in the order of ``alphas``. ``.quadrature_error`` is the stated error
        on the overlap at the fixed point: the fixed point is solved again on a finer rule
        (1.5× the outer and inner nodes, 2× the label bins / y-resolution), warm-started
        from the first, and ``RICHARDSON·|Δ overlap|`` plus both iteration errors is
        stated (the largest over the checked points; each checked point carries its own
        ``quadrature_error``).

    Raises
    ------
    InputError
        α ≤ 0, Δ < 0, r > 3, an unknown ``check``.
    ConvergenceError
        If the iteration does not reach ``tol`` within ``max_iter`` steps, or (``strict``)
        the stated quadrature error exceeds ``quadrature_tol``.
    """
    start = time.perf_counter()
    if check not in ("last", "all"):
        raise InputError(f"check must be 'last' or 'all', got {check!r}")
    al = np.asarray(alphas, dtype=float).ravel()  # non-empty, every α > 0: the declared rule
    t = as_target(target, noise=None if noise is None else float(noise))
    noise = float(t.noise)
    if t.r > MAX_R:
        raise InputError(
            f"the deterministic GAMP state evolution handles r ≤ {MAX_R} latent variables, got "
            f"r = {t.r}; use a Monte-Carlo state evolution or validation.gamp at finite d instead"
        )
    fmap = _SEMap(t, noise)
    m = fmap.m
    order = np.argsort(al)
    points: list = [None] * len(al)
    Q = START * np.eye(m)
    alpha_grid = grid_threshold(fmap)  # below it: the uninformative point, no iteration
    for i in order:
        if al[i] < alpha_grid * (1.0 - 1e-6):
            points[i] = SEPoint(float(al[i]), 0.0, np.zeros((t.r, t.r)), 0, 0.0, "decayed")
            continue
        Q0 = Q if _norm(Q) >= START else START * np.eye(m)
        Q, its, err, status = _solve(fmap, float(al[i]), Q0, tol, max_iter)
        full = fmap.R @ Q @ fmap.R.T
        points[i] = SEPoint(float(al[i]), float(np.trace(Q) / m), full, its, float(err), status)
    # quadrature check on the fixed point itself: solve again on a finer rule
    conv = [i for i in order if points[i].status == "converged"]
    checked = conv if check == "all" else conv[-1:]
    warnings: list = []
    qerr = 0.0
    if checked:
        fine_map = _SEMap(t, noise, _finer_levels(noise), refine=2)
    for i in checked:
        p = points[i]
        Qc = fmap.R.T @ p.matrix @ fmap.R
        try:
            Qf, _, err_f, _ = _solve(fine_map, p.alpha, Qc, max(tol, FINE_TOL), max_iter)
            fine = float(np.trace(Qf) / m)
            p.quadrature_error = RICHARDSON * abs(fine - p.overlap) + p.error + float(err_f)
        except ConvergenceError:
            fine = float("nan")
            p.quadrature_error = float("inf")
        p.fine_overlap = fine
        qerr = max(qerr, p.quadrature_error)
        if p.quadrature_error > quadrature_tol:
            msg = (f"quadrature error on the overlap ≈ {p.quadrature_error:.2g} at α = {p.alpha:g} "
                   f"(overlap {p.overlap:.5f}, {fine:.5f} on the finer rule) is above "
                   f"quadrature_tol = {quadrature_tol:g}")
            if strict:
                raise ConvergenceError(msg, residual=p.quadrature_error, iterations=p.iterations)
            warnings.append(msg)
    return StateEvolution(t.text, t.r, noise, points, fmap.channel.kind, qerr, warnings,
                          time.perf_counter() - start)


#: Public name used by ``giantstep.gamp_state_evolution``.
gamp_state_evolution = state_evolution
