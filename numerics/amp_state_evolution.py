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

Iteration: plain fixed-point iteration warm-started from the previous α;
while ``‖Q‖ < 1e-3`` the map is linear, so a steady contraction rate < 1 means
the uninformative fixed point is reached (reported as 0, ``"decayed"``) and a
steady rate > 1 is skipped by rescaling ``Q`` along its (converged) direction.
Away from 0, when the measured contraction rate exceeds 0.6 (critical slowing
down near a transition), Newton steps with a finite-difference Jacobian, rejected
if they jump back towards the unstable point ``Q = 0``. The stopping rule bounds the distance to the
fixed point by ``‖ΔQ‖ ρ/(1 − ρ)`` with the measured contraction rate ρ.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from giantstep.errors import ConvergenceError, InputError
from giantstep.params import Interval, validate_params
from giantstep.theory.amp import MAX_R
from giantstep.theory.amp_channel import LabelChannel, gaussian_grid
from giantstep.theory.subspaces import relevant_subspace
from giantstep.theory.target import as_target

from .amp_kernel import accumulate_reweighted
from .gaussian import product_rule

# (outer Gauss–Hermite nodes per dim, inner panels per half-line, inner nodes per panel, bins)
# r = 2: 16 outer nodes per dimension (8 gave 0.5526 for z1²+z2², Δ = 0.5, α = 2.2 against the
# exact 0.5385 of docs/amp.md §5; 16 give 0.5401)
_LEVELS = {1: (48, 24, 8, 128), 2: (16, 8, 6, 128), 3: (6, 4, 5, 48)}
SE_NOISE_GRID = 400
NEAR_ONE = 1e-3  # overlaps this close to 1 are reported with the gap to 1 as error
SADDLE_PROBE = 1e-3
NEWTON_RATE = 0.6  # contraction rates above this switch to Newton steps
V_SWITCH = 0.1  # smallest eigenvalue of V = I − Q below which the grid moves with ω
LINEAR_REGIME = 1e-3
START = 1e-4


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
    """

    alpha: float
    overlap: float
    matrix: np.ndarray
    iterations: int
    error: float
    status: str

    def to_dict(self) -> dict:
        """``{"alpha", "overlap", ...}`` for JSON."""
        return {"alpha": self.alpha, "overlap": self.overlap, "matrix": self.matrix.tolist(),
                "iterations": self.iterations, "error": self.error, "status": self.status}


@dataclass
class StateEvolution:
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
    of :func:`state_evolution` measures that error.
    """

    def __init__(self, target, noise: float, level: dict | None = None):
        self.t = as_target(target, noise=noise)
        self.R = relevant_subspace(self.t)
        m = self.R.shape[1]
        if m == 0:
            raise InputError(f"the target {self.t.text!r} is constant: nothing to learn")
        self.m = m
        n_out, panels, nodes, bins = (level or _LEVELS)[m]
        self.xi, self.wxi = product_rule(n_out, m)
        self.z, self.wz = gaussian_grid(m, panels, nodes)
        vals = self.t.evaluate(self.z @ self.R.T)
        vals = np.broadcast_to(vals, (len(self.z),))
        self.channel = LabelChannel.build(vals, self.wz, noise=noise, bins=bins,
                                          max_noise_grid=SE_NOISE_GRID, nodes=self.z)
        self.idx, self.wt = self.channel.assign(vals)
        self.half_sq = 0.5 * np.sum(self.z**2, axis=1)
        self.features = np.concatenate([np.ones((len(self.z), 1)), self.z], axis=1)

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
        if not direct:
            S0, S1 = accumulate_reweighted(self.z, self.wz, self.half_sq, self.idx, self.wt,
                                           np.ascontiguousarray(omega), Vinv, logdet,
                                           self.channel.n_cells)
        else:  # V small: move the grid with ω, z = ω + L u (docs/amp.md (B4))
            L = np.linalg.cholesky(Vm)
            zz = omega[:, None, :] + (self.z @ L.T)[None, :, :]
            vals = np.broadcast_to(self.t.evaluate(zz @ self.R.T), zz.shape[:2])
            idx, wt = self.channel.assign(vals)
            S = self.channel.accumulate(idx, wt, self.wz, self.features, kernel=False)
            S0, S1 = S[:, :, 0], S[:, :, 1:] @ L.T
        if self.channel.kernel is not None:
            S0 = S0 @ self.channel.kernel.T
            S1 = np.einsum("gbc,ab->gac", S1, self.channel.kernel, optimize=True)
        inv = np.where(S0 > 1e-300, 1 / np.where(S0 > 1e-300, S0, 1.0), 0.0)
        A = np.einsum("g,gj,gja,gjb->ab", self.wxi, inv, S1, S1)
        Qhat = alpha * Vinv @ A @ Vinv  # α E[g gᵀ], g = V⁻¹(E[z | y, ω] − ω)
        Qhat = 0.5 * (Qhat + Qhat.T)
        Qn = Qhat @ np.linalg.inv(np.eye(m) + Qhat)
        return _clean(0.5 * (Qn + Qn.T))


def _clean(Q: np.ndarray) -> np.ndarray:
    w, U = np.linalg.eigh(0.5 * (Q + Q.T))
    w = np.clip(w, 0.0, 1 - 1e-9)
    return (U * w) @ U.T


def _norm(Q: np.ndarray) -> float:
    return float(np.linalg.norm(Q, 2))


def _vec(Q: np.ndarray) -> np.ndarray:
    return Q[np.triu_indices(len(Q))]


def _unvec(v: np.ndarray, m: int) -> np.ndarray:
    Q = np.zeros((m, m))
    iu = np.triu_indices(m)
    Q[iu] = v
    Q[(iu[1], iu[0])] = v
    return Q


def _newton_step(fmap: _SEMap, alpha: float, Q: np.ndarray, FQ: np.ndarray, direct: bool):
    """Deflated Newton step on ``(F(Q) − Q)/‖Q‖_F = 0`` (≤ 6 unknowns, forward differences).

    The division by ``‖Q‖`` removes the root at the uninformative point ``Q = 0``,
    which plain Newton finds near a continuous transition.
    """
    m = len(Q)
    x, fx = _vec(Q), _vec(FQ)
    p = len(x)

    def G(xv, fv):
        return (fv - xv) / np.linalg.norm(_unvec(xv, m))

    g0 = G(x, fx)
    h = 1e-6 * max(_norm(Q), 1e-3)
    Jm = np.empty((p, p))
    for i in range(p):
        e = np.zeros(p)
        e[i] = h
        Jm[:, i] = (G(x + e, _vec(fmap(alpha, _unvec(x + e, m), direct))) - g0) / h
    try:
        delta = np.linalg.solve(Jm, -g0)
    except np.linalg.LinAlgError:
        return None
    return _clean(_unvec(x + delta, m))


def _solve(fmap: _SEMap, alpha: float, Q0: np.ndarray, tol: float, max_iter: int):
    """Stable fixed point of ``Q ↦ fmap(α, Q)`` from Q0 (see the module docstring).

    A fixed point with unlearned directions (eigenvalues of Q below 1e-6) is tested for
    stability along them (a 1e-3 perturbation, one step); if it grows — Newton can land on
    such saddles — the iteration restarts from there with plain steps only.
    """
    Q, it, err, status = _solve_once(fmap, alpha, Q0, tol, max_iter, newton=True)
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
        if grown <= 1.0:
            break
        Q, it, err, status = _solve_once(fmap, alpha, Qp, tol, max_iter, newton=False)
        total += it
    return Q, total, err, status


def _solve_once(fmap: _SEMap, alpha: float, Q0: np.ndarray, tol: float, max_iter: int,
                newton: bool = True):
    """Fixed point of ``Q ↦ fmap(α, Q)`` from Q0 (one attempt)."""
    Q = Q0.copy()
    rates: list = []
    prev_step = None
    escaped = False
    direct = False  # switch once to the moving grid when V = I − Q gets small, never back
    for it in range(1, max_iter + 1):
        direct = direct or bool(np.linalg.eigvalsh(np.eye(len(Q)) - Q)[0] < V_SWITCH)
        Fq = fmap(alpha, Q, direct)
        sn = float(np.linalg.norm(Fq - Q))
        qn = _norm(Fq)
        if prev_step is not None and prev_step > 0:
            rates.append(sn / prev_step)
        prev_step = sn
        if sn < 1e-13:
            return Fq, it, sn, "converged"
        if qn < LINEAR_REGIME and _norm(Q) > 0 and not escaped:
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
        rho = float(np.median(rates[-3:])) if len(rates) >= 2 else 0.5
        if len(rates) >= 2 and rho < 1 and sn * max(rho, 1e-3) / (1 - rho) < tol:
            return Fq, it, sn * rho / (1 - rho), "converged"
        if newton and len(rates) >= 2 and rho > NEWTON_RATE:
            prop = _newton_step(fmap, alpha, Q, Fq, direct)
            if prop is not None and _norm(prop) >= 0.5 * qn:
                step = float(np.linalg.norm(prop - Q))
                Q = prop
                rates.clear()
                prev_step = None
                if step < tol:
                    return Q, it, step, "converged"
                continue
        Q = Fq
    raise ConvergenceError(f"GAMP state evolution at α = {alpha:g} did not converge",
                           residual=float(prev_step or np.nan), iterations=max_iter)


@validate_params(max_iter=Interval(int, 1, None))
def state_evolution(target, *, alphas, noise: float | None = None, tol: float = 1e-6,
                    max_iter: int = 3000) -> StateEvolution:
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

    Returns
    -------
    StateEvolution
        ``.points`` in the order of ``alphas``; ``.quadrature_error`` is the largest
        overlap difference against a finer quadrature at the largest α.

    Raises
    ------
    InputError
        α ≤ 0, Δ < 0, r > 3.
    ConvergenceError
        If the iteration does not reach ``tol`` within ``max_iter`` steps.
    """
    start = time.perf_counter()
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
    for i in order:
        Q0 = Q if _norm(Q) >= START else START * np.eye(m)
        Q, its, err, status = _solve(fmap, float(al[i]), Q0, tol, max_iter)
        full = fmap.R @ Q @ fmap.R.T
        points[i] = SEPoint(float(al[i]), float(np.trace(Q) / m), full, its, float(err), status)
    # quadrature check at the largest α: one map evaluation on finer grids
    finer = {k: (v[0] + v[0] // 2, v[1] + v[1] // 2, v[2], 2 * v[3]) for k, v in _LEVELS.items()}
    fine_map = _SEMap(t, noise, finer)
    top = points[order[-1]]
    Qt = fmap.R.T @ top.matrix @ fmap.R
    qerr = float(abs(np.trace(fine_map(top.alpha, Qt)) - np.trace(fmap(top.alpha, Qt))) / m)
    warnings = []
    if qerr > 1e-2:
        warnings.append(f"quadrature error on the overlap ≈ {qerr:.2g} at α = {top.alpha:g}")
    return StateEvolution(t.text, t.r, noise, points, fmap.channel.kind, qerr, warnings,
                          time.perf_counter() - start)


#: Public name used by ``giantstep.gamp_state_evolution``.
gamp_state_evolution = state_evolution
