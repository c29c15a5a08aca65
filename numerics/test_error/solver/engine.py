"""The fixed point of the test-error equations over spike directions (docs/model.md §6.1–§6.2).

One solver for the spiked-random-features equations of Cui et al. (2024), Result 3.3, in
the form that covers every case with one neuron type: K spike directions (a multi-index
teacher, several steps), of which K = 1 is the quoted single-index system (with label noise
Δ and, for a sampled real step, the cross weights G; derived here, docs/test_error.md).

Given ``κ = ⟨v̂, x⟩`` the target coordinates are ``z = γ κ + A ξ``, ``ξ ~ N(0, I_K)`` the
coordinates along an orthonormal basis ``ζ̂_1..ζ̂_K`` of ``Π Θᵀ`` (Π ⊥ v̂). The readout
correlates with each ``ξ_k`` through the bulk column ``B ζ̂_k``, so the overlap ψ is a vector
``ψ_k`` with conjugates ``ψ̂_k = α E[μ1(κ) h1_k(κ)/(1+V)]``, ``h1_k(κ) = E[ξ_k g*(z) | κ]``,
and in the test error ``−2 μ1(κ) Σ_k ψ_k h1_k(κ)``. With ``k_i = θ̂ f_i + Σ_l ψ̂_l h_{l,i}``
(signed projections ``f_i = √p u_iᵀ B v̂``, ``h_{l,i} = √p u_iᵀ B ζ̂_l``, or for the d → ∞
limit the weights ``F = ψ c², H_kl = ψ D δ_kl, G = 0``) the spectral sums carry the
quadratic form of k in place of ``θ̂²F + ψ̂²H + 2θ̂ψ̂G``.

State ``x = (q1, q2, V1, V2, θ, m, ψ_1..ψ_K)``; spectral weights ``sw, D, F (n,)``,
``G (n, K)``, ``H (n, K, K)``; κ-tables ``kw, κ, μ0, μ1, μ2², h, h2 (n_κ,)``, ``h1 (n_κ, K)``.
One map application costs ``O(n_κ K + n K²)``; :func:`solve_curve` walks the α grid with
warm starts (each point starts from the previous solution).

Several neuron types (T > 1, a readout law whose values differ between neurons) have a
non-diagonal entropic part and are solved by :mod:`giantstep.numerics.test_error.solver.typed`.
"""

from __future__ import annotations

import numba
import numpy as np

from giantstep.errors import ConvergenceError


@numba.njit(cache=True)
def relative_residual(new, x):
    """``max_i |new_i − x_i| / (1 + |x_i|)``: the stopping rule of the fixed-point solvers."""
    residual = 0.0
    for i in range(x.size):
        r = abs(new[i] - x[i]) / (1.0 + abs(x[i]))
        if r > residual:
            residual = r
    return residual


@numba.njit(cache=True)
def damping_control(residual, best, stall, delta):
    """Adaptive damping of the fixed-point solvers: after 20 iterations without a new best
    residual, move δ halfway to 1 (up to 0.95). Returns ``(best, stall, delta)``."""
    if residual < best:
        return residual, 0, delta
    stall += 1
    if stall > 20 and delta < 0.95:
        return best, 0, 0.5 * (1.0 + delta)
    return best, stall, delta


@numba.njit(cache=True)
def damp(x, new, delta):
    """``x ← (1 − δ) new + δ x`` in place."""
    for i in range(x.size):
        x[i] = (1.0 - delta) * new[i] + delta * x[i]


@numba.njit(cache=True)
def multi_hats(state, alpha, noise, kw, kappa, mu0, mu1, mu2sq, h, h1, h2):
    """κ-integrals; ``h1`` has shape (n_κ, K). Returns ``(hats, m_new, E_g, E_train)`` with
    ``hats = (q̂1, q̂2, V̂1, V̂2, θ̂, ψ̂_1..ψ̂_K)``."""
    K = h1.shape[1]
    q1, q2, v1, v2, th, m = state[0], state[1], state[2], state[3], state[4], state[5]
    hats = np.zeros(5 + K)
    num_m = 0.0
    den_m = 0.0
    eg = 0.0
    et = 0.0
    for j in range(kw.shape[0]):
        w = kw[j]
        a1 = mu1[j]
        a1s = a1 * a1
        a2s = mu2sq[j]
        vk = a1s * v1 + a2s * v2
        qk = a1s * q1 + a2s * q2
        ck = mu0[j] * m + a1 * kappa[j] * th
        lin = 0.0
        for k in range(K):
            lin += state[6 + k] * h1[j, k]
        rk = h2[j] + ck * ck - 2.0 * ck * h[j] - 2.0 * a1 * lin + qk
        rt = rk + noise
        inv = 1.0 / (1.0 + vk)
        inv2 = inv * inv
        hats[0] += w * a1s * rt * inv2
        hats[1] += w * a2s * rt * inv2
        hats[2] += w * a1s * inv
        hats[3] += w * a2s * inv
        hats[4] += w * kappa[j] * a1 * (h[j] - ck) * inv
        for k in range(K):
            hats[5 + k] += w * a1 * h1[j, k] * inv
        num_m += w * mu0[j] * (h[j] - a1 * kappa[j] * th) * inv
        den_m += w * mu0[j] * mu0[j] * inv
        eg += w * rk
        et += w * rt * inv2
    for i in range(5 + K):
        hats[i] *= alpha
    m_new = num_m / den_m if den_m > 1e-300 else 0.0
    return hats, m_new, eg + noise, et


@numba.njit(cache=True)
def multi_overlaps(hats, lam, sw, dd, ff, gg, hh):
    """Spectral sums; returns ``(q1, q2, V1, V2, θ, ψ_1..ψ_K)``."""
    K = gg.shape[1]
    qh1, qh2, vh1, vh2, thh = hats[0], hats[1], hats[2], hats[3], hats[4]
    out = np.zeros(5 + K)
    for i in range(sw.shape[0]):
        w = sw[i]
        di = dd[i]
        inv = 1.0 / (lam + vh1 * di + vh2)
        quad = thh * thh * ff[i]
        for k in range(K):
            quad += 2.0 * thh * hats[5 + k] * gg[i, k]
            for l in range(K):
                quad += hats[5 + k] * hats[5 + l] * hh[i, k, l]
        num = (qh1 * di + qh2 + quad) * inv * inv
        out[0] += w * di * num
        out[1] += w * num
        out[2] += w * di * inv
        out[3] += w * inv
        t = thh * ff[i]
        for k in range(K):
            t += hats[5 + k] * gg[i, k]
        out[4] += w * t * inv
        for k in range(K):
            s = thh * gg[i, k]
            for l in range(K):
                s += hats[5 + l] * hh[i, k, l]
            out[5 + k] += w * s * inv
    return out


@numba.njit(cache=True)
def multi_solve(state0, alpha, lam, noise, kw, kappa, mu0, mu1, mu2sq, h, h1, h2,
                sw, dd, ff, gg, hh, tol, max_iter, damping):
    """Damped iteration ``x ← (1−δ) T(x) + δ x`` until ``max_i |T(x)_i − x_i|/(1+|x_i|) < tol``.

    Returns ``(state, hats, test_error, train_error, residual, iterations)``; the returned
    state is ``T(x)`` at the last iterate (so it satisfies the equations to ``residual``).
    While the residual stalls the damping moves towards 1 (:func:`damping_control`).
    """
    K = h1.shape[1]
    x = state0.copy()
    residual = np.inf
    best = np.inf
    delta = damping
    new = x.copy()
    hats = np.zeros(5 + K)
    eg = np.nan
    et = np.nan
    it = 0
    stall = 0
    for it in range(1, max_iter + 1):
        hats, m_new, eg, et = multi_hats(x, alpha, noise, kw, kappa, mu0, mu1, mu2sq, h, h1, h2)
        ov = multi_overlaps(hats, lam, sw, dd, ff, gg, hh)
        for i in range(5):
            new[i] = ov[i]
        new[5] = m_new
        for k in range(K):
            new[6 + k] = ov[5 + k]
        residual = relative_residual(new, x)
        if not np.isfinite(residual):
            break
        if residual < tol:
            return new, hats, eg, et, residual, it
        best, stall, delta = damping_control(residual, best, stall, delta)
        damp(x, new, delta)
    return new, hats, eg, et, residual, it


def initial_state(K: int) -> np.ndarray:
    """Cold start matching the single-index solver's ``(0.1, 0.1, 1, 1, 0, ψ=0.1, m=0)``."""
    return np.concatenate([[0.1, 0.1, 1.0, 1.0, 0.0, 0.0], np.full(K, 0.1)])


def _solve_point(state, a, lam, noise, tables, spec, tol, max_iter, damping):
    kw, kappa, m0, m1, m2, h, h1, h2 = tables
    sw, dd, ff, gg, hh = spec
    res = multi_solve(state, float(a), lam, noise, kw, kappa, m0, m1, m2, h, h1, h2,
                      sw, dd, ff, gg, hh, tol, max_iter, damping)
    if not (res[4] < tol and np.isfinite(res[2])):  # slow contraction: Anderson mixing
        res = _anderson_point(state, a, lam, noise, tables, spec, tol, max_iter, damping)
    return res, bool(res[4] < tol and np.isfinite(res[2]))


def _anderson_point(state, a, lam, noise, tables, spec, tol, max_iter, damping):
    """The map of :func:`multi_solve` solved by Anderson mixing
    (:func:`giantstep.numerics.test_error.solver.typed.anderson`, memory 6, same stopping
    rule); returns the tuple of :func:`multi_solve`."""
    from giantstep.numerics.test_error.solver.typed import anderson

    kw, kappa, m0, m1, m2, h, h1, h2 = tables
    sw, dd, ff, gg, hh = spec
    K = h1.shape[1]
    last: list = [None]

    def step(x):
        hats, m_new, eg, et = multi_hats(x, float(a), noise, kw, kappa, m0, m1, m2, h, h1, h2)
        ov = multi_overlaps(hats, lam, sw, dd, ff, gg, hh)
        new = np.concatenate([ov[:5], [m_new], ov[5:5 + K]])
        last[0] = (hats, eg, et)
        return new

    with np.errstate(all="ignore"):
        new, residual, it = anderson(step, np.asarray(state, float).copy(), tol, max_iter,
                                     damping)
    if last[0] is None or not np.all(np.isfinite(new)):
        return new, np.full(5 + K, np.nan), np.nan, np.nan, np.inf, it
    hats, eg, et = last[0]
    return new, hats, eg, et, residual, it


def continuation(a_from, state_from, a_to, lam, noise, tables, spec_of_alpha, tol, max_iter,
                 damping, max_halvings=6):
    """Continuation in α: walk from a converged point ``(a_from, state_from)`` to ``a_to`` in
    2, 4, …, 2^max_halvings geometric sub-steps, each warm-started from the previous one (short
    steps keep the start inside the basin of the iteration). Returns the solve at ``a_to``
    (residual < tol) or ``None``."""
    for k in range(1, max_halvings + 1):
        grid = np.geomspace(a_from, a_to, 2 ** k + 1)[1:]
        state = state_from.copy()
        res = None
        for a in grid:
            res, ok = _solve_point(state, a, lam, noise, tables, spec_of_alpha(a), tol,
                                   max_iter, damping)
            if not ok:
                break
            state = res[0].copy()
        else:
            return res
    return None


def solve_curve(alphas_eff, lam, noise, tables, spec_of_alpha, tol, max_iter, damping, label):
    """Warm-started damped iteration along the α grid; raises ConvergenceError on failure.

    ``tables = (kw, κ, μ0, μ1, μ2², h, h1, h2)``; ``spec_of_alpha(α) = (sw, D, F, G, H)``.
    A point that fails from the warm start is retried from the cold start with damping
    ≥ 0.8, then by :func:`continuation` in α from the previous converged point (or, at the
    first point, from α/64, where the conjugates are small and the cold start converges).
    Every returned point satisfies the stopping rule ``max_i |T(x)_i − x_i|/(1+|x_i|) < tol``
    (its value in ``residual``); points that converge without the fallbacks are computed
    exactly as before them. Returns ``test, train, residual, iterations`` (per α),
    ``states`` (α, 6 + K) and ``hats`` (α, 5 + K).
    """
    K = tables[6].shape[1]
    out = {k: np.empty(alphas_eff.size) for k in ("test", "train", "residual", "iterations")}
    states = np.empty((alphas_eff.size, 6 + K))
    hats = np.empty((alphas_eff.size, 5 + K))
    state = initial_state(K)
    prev = None
    for i, a in enumerate(alphas_eff):
        spec = spec_of_alpha(a)
        res, ok = _solve_point(state, a, lam, noise, tables, spec, tol, max_iter, damping)
        if not ok:
            last = res
            res, ok = _solve_point(initial_state(K), a, lam, noise, tables, spec, tol, max_iter,
                                   max(damping, 0.8))
            last = res if ok else last
        if not ok:
            if prev is None:  # continuation from a small α solved from the cold start
                a0 = float(a) / 64.0
                r0, ok0 = _solve_point(initial_state(K), a0, lam, noise, tables,
                                       spec_of_alpha(a0), tol, max_iter, max(damping, 0.8))
                prev = (a0, r0[0]) if ok0 else None
            cont = None if prev is None else continuation(
                prev[0], prev[1], float(a), lam, noise, tables, spec_of_alpha, tol, max_iter,
                damping)
            if cont is None:
                why = ("the iterates diverged (non-finite values)" if not np.isfinite(last[4])
                       else "slow convergence")
                raise ConvergenceError(f"the §6.1 fixed point ({label}) did not converge at "
                                       f"α/ψ = {a:g}: {why} (tried warm start, cold start, "
                                       "Anderson mixing and continuation in α)",
                                       residual=float(last[4]), iterations=int(last[5]))
            res = cont
        state = res[0].copy()
        prev = (float(a), state.copy())
        states[i], hats[i] = res[0], res[1]
        out["test"][i], out["train"][i] = res[2], res[3]
        out["residual"][i], out["iterations"][i] = res[4], res[5]
    out["states"], out["hats"] = states, hats
    return out
