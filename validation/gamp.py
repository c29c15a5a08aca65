"""Finite-d Bayes-optimal GAMP for multi-index targets, and Monte-Carlo references (docs/amp.md §5).

* :func:`run_gamp` — GAMP (Rangan 2011; committee-machine form of Aubin et al.
  2018, as used by Troiani et al. 2024) on ``n = α d`` samples
  ``y_μ = g*(W*ᵀ x_μ) + √Δ ε_μ``, ``x_μ ~ N(0, I_d/d)``... in the normalisation
  ``X_μi ~ N(0, 1/d)``, ``W*`` with columns of norm ``√d`` (orthogonal), prior
  ``N(0, I_r)`` on the rows of W. ``g_out`` and its Jacobian are computed per
  sample by quadrature over ``z = ω + L u``, so the label noise Δ must be > 0.
  The iteration is damped with exact Onsager terms (a linear memory of Ŵ, of the
  Onsager term and of V, docs/amp.md §5 (C3)): undamped GAMP oscillates with growing
  amplitude at the Bayes-optimal fixed point of these even channels (C4).
  Returns the overlap matrix ``M = Ŵᵀ W*/d``; the scalar reported
  is ``‖M‖_*/m`` (m = dim of the relevant subspace; nuclear norm: invariant under the symmetries ``W ↦ W O`` of the
  target), to be compared with ``tr(Q)/m`` of the state evolution.
* :func:`monte_carlo_operator` — seeded Monte-Carlo estimate of ``T = E[E[z|y]E[z|y]ᵀ]``
  and of the operator ``M ↦ E_y[G M G]`` (equal-count bins of y, with the
  within-bin sampling bias removed): the reference of benchmarks/bench_amp.py and
  the fallback for r > 3.
* :func:`monte_carlo_state_evolution_map` — the SE map ``Q ↦ Q_new`` by Monte Carlo.

Every random draw takes a seed (:func:`giantstep.validation.sampling.rng`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from giantstep.errors import ConvergenceError, InputError
from giantstep.theory.amp import sym_basis
from giantstep.theory.expr.target import as_target

from .sampling import rng

_KEY_TEACHER, _KEY_DATA, _KEY_INIT, _KEY_MC = 11, 12, 13, 14
_GAMP_GRID = {1: (12, 8), 2: (3, 6), 3: (2, 5)}
_PRUNE = 1e-12  # inner nodes with smaller weight are dropped (their mass is < 1e-8 in total)
DAMPING = 0.5  # β of run_gamp (C3): maps an eigenvalue λ ∈ (−3, 1] of the undamped iteration to β + (1 − β)λ ∈ (−1, 1]


@dataclass
class GAMPResult:
    """One GAMP run.

    Attributes
    ----------
    d, n : int
    alpha, noise : float
    seed : int
    overlap : float
        ``‖M‖_*/m`` with ``M = Ŵᵀ W*/d`` (relevant subspace, m = its dimension).
    matrix : np.ndarray
        ``M`` (r × r).
    self_overlap : np.ndarray
        ``Q = ŴᵀŴ/d`` (Bayes optimality predicts ``Q ≈ M`` up to the symmetry).
    cosine : float
        ``‖M‖_* / √(m · tr Q)``: scale-free alignment, ``O(d^{-1/2})`` for an estimate
        unrelated to W*.
    iterations : int
    converged : bool
        True if ``‖Ŵ_t − Ŵ_{t−1}‖_F/√d`` fell below the tolerance.
    seconds : float
    step_modulo_rotation : float
        The last ``min_O ‖Ŵ_t − Ŵ_{t−1} O‖_F/√d`` over orthogonal O (Procrustes): the step
        without a drift along a continuous symmetry ``Ŵ ↦ ŴO`` of the target (z1² + z2²).
    converged_modulo_rotation : bool
        ``converged`` or ``step_modulo_rotation`` below the tolerance.
    precision : np.ndarray
        The last ``A = −α mean ∂_ω g_out`` (r × r).
    precision_nishimori : np.ndarray
        The last ``α mean g_out g_outᵀ``; equal to ``precision`` at a Bayes-consistent
        state (Nishimori), so their difference is a diagnostic.
    history_matrix, history_self_overlap : np.ndarray
        ``M`` and ``Q`` after each iteration, shape ``(iterations, r, r)``.
    """

    d: int
    n: int
    alpha: float
    noise: float
    seed: int
    overlap: float
    matrix: np.ndarray
    self_overlap: np.ndarray
    cosine: float
    iterations: int
    converged: bool
    seconds: float
    step_modulo_rotation: float
    converged_modulo_rotation: bool
    precision: np.ndarray
    precision_nishimori: np.ndarray
    history_matrix: np.ndarray
    history_self_overlap: np.ndarray


def _gout(t, R, y, omega, V, noise, u, wu):
    """Per-sample ``g_out`` (n × m) and ``∂_ω g_out`` (n × m × m) by quadrature (docs/amp.md §5 (C1))."""
    L = np.linalg.cholesky(V)
    Linv = np.linalg.inv(L)
    z = omega[:, None, :] + (u @ L.T)[None, :, :]  # (n, K, m)
    vals = np.broadcast_to(t.evaluate(z @ R.T), z.shape[:2])
    logp = y[:, None] - vals
    logp *= logp
    logp *= -0.5 / noise
    logp += np.log(wu)[None, :]
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp, out=logp)
    p /= p.sum(axis=1, keepdims=True)
    mu = p @ u  # E[u | y, ω]
    n, m = mu.shape
    second = (p @ (u[:, :, None] * u[:, None, :]).reshape(len(u), m * m)).reshape(n, m, m)
    cov = second - mu[:, :, None] * mu[:, None, :]
    g = mu @ Linv  # L⁻ᵀ E[u]  (row form)
    dg = np.einsum("ab,nbc,cd->nad", Linv.T, cov - np.eye(m)[None], Linv)
    return g, dg


def run_gamp(target, d: int, alpha: float, noise: float, seed: int, *, max_iter: int = 300,
             tol: float = 1e-6, init: float = 1e-3, damping: float = DAMPING) -> GAMPResult:
    """Bayes-optimal GAMP at finite d, damped with exact Onsager terms (docs/amp.md §5, (C1)–(C4)).

    One iteration (row form, ``Ŵ`` is d × m, ``g`` is n × m, β = ``damping``):

    * (C1) ``ω = X Ŵ − S``;  ``g, ∂g = g_out(y, ω, V)`` per sample (posterior of
      ``z ~ N(ω, V)`` given ``y``, quadrature);
    * (C2) ``A = −α mean_μ ∂_ω g_μ`` (symmetrised), ``C = (I + A)⁻¹``,
      ``B = Xᵀ g + Ŵ A``;
    * (C3) ``Ŵ ← β Ŵ + (1 − β) B C``, ``S ← β S + (1 − β) g C``, ``V ← β V + (1 − β) C``.

    With β = 0 this is the committee-machine GAMP of Aubin et al. 2018 (``S = g_old V``,
    ``V = C``). The damping is a linear memory: the Onsager term ``S`` is damped with the
    same weights as ``Ŵ``, so ``∂ω_μ/∂X_μi`` is still ``Ŵ_i`` and ``B`` keeps its exact
    reaction term ``Ŵ A``; every fixed point is one of undamped GAMP (``Ŵ = Xᵀ g``,
    ``ω = X Ŵ − g V``, ``V = (I + A)⁻¹``). Damping ``Ŵ`` and ``V`` while keeping
    ``ω = XŴ − V g_old`` (the usual recipe) breaks the Onsager cancellation.
    Why damping is needed (C4): the full state evolution of the undamped iteration,
    in ``(M, Q, V)`` off the Nishimori line, has an eigenvalue below −1 at the
    Bayes-optimal fixed point for these even channels (period-two oscillation),
    e.g. −1.5 for ``z1² + z2²`` at α = 2.2, and ``−α J`` with ``J = ∂E[−∂g]/∂V ≈ 1``
    at the uninformative point; β damps an eigenvalue λ to ``β + (1 − β)λ``.

    Parameters
    ----------
    target : str or Target
        ``g*(z1..zr)``; the run works in its relevant subspace.
    d : int
        Input dimension.
    alpha : float
        ``n = round(α d)`` samples.
    noise : float
        Label-noise variance Δ > 0 (the per-sample posterior is computed with it).
    seed : int
        Seeds the teacher, the data and the initialisation.
    max_iter, tol : int, float
        Iteration cap and stopping rule on ``‖ΔŴ‖_F/√d``.
    init : float
        Scale of the random initialisation ``Ŵ₀ ~ N(0, init² I)`` (uninformative).
    damping : float
        β ∈ [0, 1) of (C3).

    The posterior of ``g_out`` is computed on the piecewise Gauss–Legendre grid of
    :func:`giantstep.theory.amp_channel.gaussian_grid` (192 nodes for r = 1, 36² for
    r = 2, 20³ for r = 3, weights below 1e-12 dropped): a coarse Gauss–Hermite rule
    under-resolves the likelihood ``φ_Δ(y − g*(z))`` for small Δ.

    Raises
    ------
    InputError
        d < 2, α ≤ 0, Δ ≤ 0 or β outside [0, 1).
    ConvergenceError
        If ``I + A`` stops being positive definite (no valid ``C``) or the estimates
        become non-finite; the message carries the iteration and the eigenvalues.
    """
    start = time.perf_counter()
    if d < 2 or alpha <= 0:
        raise InputError(f"need d ≥ 2 and α > 0, got d = {d}, α = {alpha}")
    if noise <= 0:
        raise InputError("finite-d GAMP needs label noise Δ > 0 (its g_out integrates the noise)")
    if not 0.0 <= damping < 1.0:
        raise InputError(f"damping β must lie in [0, 1), got {damping}")
    from giantstep.theory.amp_channel import gaussian_grid
    from giantstep.theory.structure.subspaces import relevant_subspace

    t = as_target(target, noise=noise)
    R = relevant_subspace(t)
    m = R.shape[1]
    n = int(round(alpha * d))
    G = rng(seed, _KEY_TEACHER).standard_normal((d, m))
    Wstar = np.linalg.qr(G)[0] * np.sqrt(d)  # columns orthogonal, norm √d
    gd = rng(seed, _KEY_DATA)
    X = gd.standard_normal((n, d)) / np.sqrt(d)
    Z = X @ Wstar  # (n, m), ≈ N(0, I_m) rows
    y = np.asarray(np.broadcast_to(t.evaluate(Z @ R.T), (n,)), dtype=float)
    y = y + np.sqrt(noise) * gd.standard_normal(n)
    u, wu = gaussian_grid(m, *_GAMP_GRID[m])
    keep = wu > _PRUNE
    u, wu = u[keep], wu[keep] / wu[keep].sum()
    W = init * rng(seed, _KEY_INIT).standard_normal((d, m))
    V = np.eye(m)
    S = np.zeros((n, m))
    beta = float(damping)
    converged = False
    it = 0
    rot_step = float("inf")
    overlaps, selfs = [], []
    A = np.zeros((m, m))
    gg = np.zeros((m, m))
    for it in range(1, max_iter + 1):
        omega = X @ W - S
        g, dg = _gout(t, R, y, omega, V, noise, u, wu)
        A = -alpha * dg.mean(axis=0)
        A = 0.5 * (A + A.T)
        lam = np.linalg.eigvalsh(np.eye(m) + A)
        if lam[0] <= 1e-10:
            raise ConvergenceError(f"GAMP: I + A is not positive definite (eigenvalues {lam.tolist()})",
                                   residual=float(lam[0]), iterations=it)
        C = np.linalg.inv(np.eye(m) + A)
        B = X.T @ g + W @ A
        Wn = beta * W + (1 - beta) * (B @ C)
        S = beta * S + (1 - beta) * (g @ C)
        V = beta * V + (1 - beta) * C
        if not np.all(np.isfinite(Wn)):
            raise ConvergenceError("GAMP produced non-finite estimates", residual=float("nan"),
                                   iterations=it)
        step = float(np.linalg.norm(Wn - W) / np.sqrt(d))
        Uo, _, Vo = np.linalg.svd(W.T @ Wn)
        rot_step = float(np.linalg.norm(Wn - W @ (Uo @ Vo)) / np.sqrt(d))
        W = Wn
        overlaps.append(W.T @ Wstar / d)
        selfs.append(W.T @ W / d)
        gg = alpha * (g.T @ g) / n
        if step < tol:
            converged = True
            break
    M = W.T @ Wstar / d
    Q = W.T @ W / d
    nuc = float(np.sum(np.linalg.svd(M, compute_uv=False)))
    cos = nuc / np.sqrt(m * max(float(np.trace(Q)), 1e-300))
    hist_M = np.array([R @ x @ R.T for x in overlaps])
    hist_Q = np.array([R @ x @ R.T for x in selfs])
    return GAMPResult(d, n, float(alpha), float(noise), int(seed), nuc / m, R @ M @ R.T, R @ Q @ R.T,
                      float(cos), it, converged, time.perf_counter() - start,
                      rot_step, bool(converged or rot_step < tol), R @ A @ R.T, R @ gg @ R.T, hist_M, hist_Q)


def monte_carlo_operator(target, noise: float = 0.0, n_samples: int = 1_000_000, seed: int = 0,
                         bins: int = 200):
    """Monte-Carlo ``(T, F, λ_max)`` of the threshold analysis at V = ∅ (docs/amp.md (A1)–(A3)).

    Labels are grouped by value when they take at most 64 values, otherwise into
    ``bins`` equal-count bins of y. Statistical error ``O(n_samples^{-1/2})``; biases:
    ``+O(bins/n_samples)`` from squared bin means, ``−O(bins^{-2})`` from the binning.
    """
    t = as_target(target, noise=noise)
    r = t.r
    gen = rng(seed, _KEY_MC)
    z = gen.standard_normal((n_samples, r))
    y = np.asarray(np.broadcast_to(t.evaluate(z), (n_samples,)), dtype=float)
    if noise > 0:
        y = y + np.sqrt(noise) * gen.standard_normal(n_samples)
    uniq, inv = np.unique(y, return_inverse=True)
    if len(uniq) > 64:
        order = np.argsort(y, kind="stable")
        inv = np.empty(n_samples, dtype=np.int64)
        inv[order] = np.arange(n_samples) * bins // n_samples
        nb = bins
    else:
        nb = len(uniq)
    cnt = np.bincount(inv, minlength=nb).astype(float)
    p = cnt / n_samples
    iu = np.triu_indices(r)
    feats = np.concatenate([z, (z[:, :, None] * z[:, None, :])[:, iu[0], iu[1]]], axis=1)
    s1 = np.stack([np.bincount(inv, weights=feats[:, c], minlength=nb) for c in range(feats.shape[1])],
                  axis=1) / cnt[:, None]
    mz = s1[:, :r]
    T = np.einsum("j,ja,jb->ab", p, mz, mz)
    A = np.zeros((nb, r, r))
    A[:, iu[0], iu[1]] = s1[:, r:]
    A[:, iu[1], iu[0]] = s1[:, r:]
    A -= np.eye(r)[None]
    basis = sym_basis(r)
    F = np.einsum("j,aim,jmk,bkl,jli->ab", p, basis, A, basis, A)
    F = 0.5 * (F + F.T)
    return T, F, float(np.linalg.eigvalsh(F)[-1])


def monte_carlo_state_evolution_map(target, alpha: float, Q: np.ndarray, noise: float,
                                    n_samples: int = 200_000, seed: int = 0, bins: int = 128):
    """Monte-Carlo version of one SE step ``Q ↦ Q̂(I+Q̂)⁻¹`` (Δ > 0: exact posterior by MC).

    Draws ``ξ, z | ω`` jointly (``z = ω + L u``), labels with noise, and estimates
    ``E[g_out g_outᵀ]`` with ``g_out`` from an inner Monte-Carlo posterior over ``u``
    (1024 draws shared by all samples). Reference for benchmarks only.
    """
    t = as_target(target, noise=noise)
    m = t.r
    gen = rng(seed, _KEY_MC, 1)
    w, U = np.linalg.eigh(Q)
    sq = (U * np.sqrt(np.clip(w, 0, None))) @ U.T
    L = np.linalg.cholesky(np.eye(m) - Q)
    n_outer = max(n_samples // 100, 1)
    inner = 1024
    xi = gen.standard_normal((n_outer, m))
    omega = xi @ sq
    z = omega + gen.standard_normal((n_outer, m)) @ L.T
    y = np.asarray(np.broadcast_to(t.evaluate(z), (n_outer,)), dtype=float)
    y = y + np.sqrt(noise) * gen.standard_normal(n_outer)
    u = gen.standard_normal((inner, m))
    g, _ = _gout(t, np.eye(m), y, omega, np.eye(m) - Q, noise, u, np.full(inner, 1.0 / inner))
    Qhat = alpha * (g.T @ g) / n_outer
    return Qhat @ np.linalg.inv(np.eye(m) + Qhat)


def gamp_versus_state_evolution(target, noise: float, alphas, ds, seeds, *, max_iter: int = 300) -> list[dict]:
    """GAMP at each (α, d, seed) next to the deterministic state evolution (docs/amp.md §5).

    Returns one row per (α, d): ``alpha, d, seeds, se_overlap, mean, sem, cosine_mean,
    converged`` (number of seeds whose iteration met the tolerance),
    ``converged_modulo_rotation`` (same, for the Procrustes step), ``self_max`` (largest
    eigenvalue of ``ŴᵀŴ/d`` over the seeds; ≤ 1 for a Bayes-consistent state) and
    ``overlaps`` (per seed).
    """
    from giantstep.numerics.amp_state_evolution import state_evolution

    se = state_evolution(target, alphas=alphas, noise=noise)
    rows = []
    for p in se.points:
        for d in ds:
            runs = [run_gamp(target, int(d), p.alpha, noise, int(s), max_iter=max_iter) for s in seeds]
            ov = np.array([r.overlap for r in runs])
            rows.append({"alpha": p.alpha, "d": int(d), "seeds": len(runs), "se_overlap": p.overlap,
                         "mean": float(ov.mean()), "sem": float(ov.std(ddof=1) / np.sqrt(len(ov)))
                         if len(ov) > 1 else float("nan"),
                         "cosine_mean": float(np.mean([r.cosine for r in runs])),
                         "converged": int(sum(r.converged for r in runs)),
                         "converged_modulo_rotation": int(sum(r.converged_modulo_rotation for r in runs)),
                         "self_max": float(max(np.linalg.eigvalsh(r.self_overlap)[-1] for r in runs)),
                         "overlaps": ov.tolist(),
                         "seconds": float(sum(r.seconds for r in runs))})
    return rows
