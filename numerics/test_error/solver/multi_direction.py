"""§6.1 fixed point for a multi-index teacher ``y = g*(z1..zr)`` (derived here, issue 9).

The spike direction v̂ learned by the step lies along ``C_1(g*)`` (THEORY.md §5.1); given
``κ = ⟨v̂, x⟩`` the target coordinates are ``z = γ κ + A ξ`` with ``ξ ~ N(0, I_K)`` the
coordinates of x along an orthonormal basis ``ζ̂_1..ζ̂_K`` of ``Π Θᵀ`` (Π ⊥ v̂). The readout
correlates with each ``ξ_k`` through the bulk column ``B ζ̂_k``, so the scalar ψ of the
single-index equations becomes a vector ``ψ_k`` with conjugates
``ψ̂_k = α E[μ1(κ) h1_k(κ)/(1+V)]``, ``h1_k(κ) = E[ξ_k g*(z) | κ]``, and in the test error
``−2 μ1(κ) Σ_k ψ_k h1_k(κ)``. With ``k_i = θ̂ f_i + Σ_l ψ̂_l h_{l,i}`` (signed projections
``f_i = √p u_iᵀ B v̂``, ``h_{l,i} = √p u_iᵀ B ζ̂_l``, or for the d → ∞ limit the weights
``F = ψ c², H_kl = ψ D δ_kl, G = 0``), the spectral sums are those of the single-index
equations with ``θ̂²F + ψ̂²H + 2θ̂ψ̂G`` replaced by the quadratic form of k. For K = 1 this is
exactly :mod:`giantstep.numerics.test_error.solver.single_type` with the cross weights (tested).

State ``x = (q1, q2, V1, V2, θ, m, ψ_1..ψ_K)``; weights: ``F (n,)``, ``G (n, K)``,
``H (n, K, K)``.
"""

from __future__ import annotations

import numba
import numpy as np

from giantstep.numerics.test_error.solver.single_type import damp, damping_control, relative_residual


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
    """Damped iteration as :func:`giantstep.numerics.test_error.solver.single_type.solve_fixed_point`."""
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
