"""Reference for the tests: the single-index equations of docs/model.md §6.1 written out.

Cui et al. (2024), Result 3.3 (quoted in docs/model.md §6.1), with one spike direction and the
scalar ψ, independently of the library's solver
(:mod:`giantstep.numerics.test_error.solver.engine`, K spike directions, of which this is
the case K = 1): the tests check that the library's fixed points are fixed points of this map.
The state is ``x = (q1, q2, V1, V2, θ, ψ, m)``; one application of the map is

1. the κ-integrals (Gaussian, ``κ ~ N(0,1)``, Gauss–Hermite nodes of
   :mod:`giantstep.numerics.gaussian`) give the conjugates
   ``q̂1, q̂2, V̂1, V̂2, θ̂, ψ̂`` and the new ``m``;
2. the spectral sums over ``(D_i, F_i, H_i)`` with weights (a quadrature of the
   Marchenko–Pastur law, or ``1/p`` for a sampled spectrum) give the new overlaps.

Label noise Δ (not in the quoted equations, which are noiseless) enters the training
residual: ``R → R + Δ`` in ``q̂1, q̂2`` and in the training error, and the test error is
``E_κ[R] + Δ``. The training error of ridge is ``E_κ[(R + Δ)/(1 + V(κ))²]`` (the
training residual is the test residual shrunk by ``1/(1 + V)``).

Everything that depends only on (σ, σ*, r, c, γ) — the inner expectations
``μ0(κ), μ1(κ), μ2(κ)², h(κ), h1(κ), h2(κ)`` on the κ nodes — is tabulated once, so an
iteration costs ``O(n_κ + n_spectral)`` and a whole curve runs in milliseconds.
"""

from __future__ import annotations

import numba
import numpy as np

# the stopping rule and the adaptive damping are the library's (the reference is independent
# in the equations, not in how a fixed-point iteration is driven)
from giantstep.numerics.test_error.solver.engine import damp, damping_control, relative_residual

N_STATE = 7  # q1, q2, V1, V2, theta, psi, m
N_HATS = 6  # q̂1, q̂2, V̂1, V̂2, θ̂, ψ̂


@numba.njit(cache=True)
def hats_and_errors(state, alpha, noise, kw, kappa, mu0, mu1, mu2sq, h, h1, h2):
    """κ-integrals of §6.1 at the overlaps ``state``.

    Returns ``(hats[6], m_new, test_error, train_error)``; ``test_error`` includes Δ.
    """
    q1, q2, v1, v2, th, psi, m = state[0], state[1], state[2], state[3], state[4], state[5], state[6]
    hats = np.zeros(N_HATS)
    num_m = 0.0
    den_m = 0.0
    eg = 0.0
    et = 0.0
    for k in range(kw.shape[0]):
        w = kw[k]
        a1 = mu1[k]
        a1s = a1 * a1
        a2s = mu2sq[k]
        vk = a1s * v1 + a2s * v2
        qk = a1s * q1 + a2s * q2
        ck = mu0[k] * m + a1 * kappa[k] * th
        rk = h2[k] + ck * ck - 2.0 * ck * h[k] - 2.0 * a1 * psi * h1[k] + qk
        rt = rk + noise
        inv = 1.0 / (1.0 + vk)
        inv2 = inv * inv
        hats[0] += w * a1s * rt * inv2
        hats[1] += w * a2s * rt * inv2
        hats[2] += w * a1s * inv
        hats[3] += w * a2s * inv
        hats[4] += w * kappa[k] * a1 * (h[k] - ck) * inv
        hats[5] += w * a1 * h1[k] * inv
        num_m += w * mu0[k] * (h[k] - a1 * kappa[k] * th) * inv
        den_m += w * mu0[k] * mu0[k] * inv
        eg += w * rk
        et += w * rt * inv2
    for i in range(N_HATS):
        hats[i] *= alpha
    m_new = num_m / den_m if den_m > 1e-300 else 0.0
    return hats, m_new, eg + noise, et


@numba.njit(cache=True)
def overlaps_from_hats_cross(hats, lam, sw, dd, ff, hh, gg):
    """Spectral averages of §6.1 with the cross weights ``G_i = p (u_iᵀBv̂)(u_iᵀBζ̂)``.

    ``⟨·⟩ = Σ_i sw_i (·)_i``; returns the first 6 overlaps. The readout is the resolvent
    applied to ``θ̂ f + ψ̂ h`` (``f_i, h_i`` the spike and teacher columns of the bulk in
    the eigenbasis), so the quadratic form carries ``θ̂² F + ψ̂² H + 2 θ̂ ψ̂ G`` and
    ``θ = θ̂⟨F/S⟩ + ψ̂⟨G/S⟩``, ``ψ = ψ̂⟨H/S⟩ + θ̂⟨G/S⟩`` (derived here; G → 0 for the
    ideal spiked model of Cui et al., whose equations are recovered).
    """
    qh1, qh2, vh1, vh2, thh, psih = hats[0], hats[1], hats[2], hats[3], hats[4], hats[5]
    out = np.zeros(N_HATS)
    cross = 0.0
    for i in range(sw.shape[0]):
        w = sw[i]
        di = dd[i]
        inv = 1.0 / (lam + vh1 * di + vh2)
        num = (qh1 * di + qh2 + thh * thh * ff[i] + psih * psih * hh[i]
               + 2.0 * thh * psih * gg[i]) * inv * inv
        out[0] += w * di * num
        out[1] += w * num
        out[2] += w * di * inv
        out[3] += w * inv
        out[4] += w * ff[i] * inv
        out[5] += w * hh[i] * inv
        cross += w * gg[i] * inv
    out[4] = thh * out[4] + psih * cross
    out[5] = psih * out[5] + thh * cross
    return out


def overlaps_from_hats(hats, lam, sw, dd, ff, hh):
    """Spectral averages of §6.1 (Cui et al.: no cross weights); returns 6 overlaps."""
    return overlaps_from_hats_cross(hats, lam, sw, dd, ff, hh, np.zeros_like(ff))


@numba.njit(cache=True)
def apply_map_cross(state, alpha, lam, noise, kw, kappa, mu0, mu1, mu2sq, h, h1, h2,
                    sw, dd, ff, hh, gg):
    """One application ``T(state)`` of the §6.1 map with cross weights ``gg``."""
    hats, m_new, eg, et = hats_and_errors(state, alpha, noise, kw, kappa, mu0, mu1, mu2sq, h, h1, h2)
    ov = overlaps_from_hats_cross(hats, lam, sw, dd, ff, hh, gg)
    new = np.empty(N_STATE)
    new[:6] = ov
    new[6] = m_new
    return new, hats, eg, et


def apply_map(state, alpha, lam, noise, kw, kappa, mu0, mu1, mu2sq, h, h1, h2, sw, dd, ff, hh,
              gg=None):
    """One application ``T(state)`` of the §6.1 map; also returns hats and errors."""
    if gg is None:
        gg = np.zeros_like(ff)
    return apply_map_cross(state, alpha, lam, noise, kw, kappa, mu0, mu1, mu2sq, h, h1, h2,
                           sw, dd, ff, hh, gg)


@numba.njit(cache=True)
def solve_fixed_point(
    state0, alpha, lam, noise, kw, kappa, mu0, mu1, mu2sq, h, h1, h2, sw, dd, ff, hh, gg,
    tol, max_iter, damping,
):
    """Damped iteration ``x ← (1−δ) T(x) + δ x`` until ``max_i |T(x)_i − x_i|/(1+|x_i|) < tol``.

    ``gg``: cross weights G (zeros for the quoted equations of Cui et al.).

    Returns ``(state, hats, test_error, train_error, residual, iterations)``; the returned
    state is ``T(x)`` at the last iterate (so it satisfies the equations to ``residual``).
    If the residual grows (oscillation) the damping is increased towards 1.
    """
    x = state0.copy()
    residual = np.inf
    best = np.inf
    delta = damping
    new = x.copy()
    hats = np.zeros(N_HATS)
    eg = np.nan
    et = np.nan
    it = 0
    stall = 0
    for it in range(1, max_iter + 1):
        new, hats, eg, et = apply_map_cross(
            x, alpha, lam, noise, kw, kappa, mu0, mu1, mu2sq, h, h1, h2, sw, dd, ff, hh, gg
        )
        residual = relative_residual(new, x)
        if not np.isfinite(residual):
            break
        if residual < tol:
            return new, hats, eg, et, residual, it
        best, stall, delta = damping_control(residual, best, stall, delta)
        damp(x, new, delta)
    return new, hats, eg, et, residual, it
