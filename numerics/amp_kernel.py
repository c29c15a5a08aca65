"""Numba kernel of the GAMP state-evolution map (docs/amp.md (B3)).

For every outer node ``ω_o`` and every node ``z_k`` of the fixed standard-Gaussian
grid, the importance weight ``ρ_ok = w_k N(z_k; ω_o, V)/N(z_k; 0, I)`` is
accumulated into the (at most two) label cells of ``z_k``:

    S0[o, j]    = Σ_k ρ_ok P(j | y_k),
    S1[o, j, a] = Σ_k ρ_ok P(j | y_k) (z_k − ω_o)_a.

Same sums as the dense numpy reference :func:`accumulate_reference` (tested to
agree to 1e-12 relative); the kernel avoids the ``G × K`` temporaries.
The kernel runs the outer nodes in parallel (``numba.prange``): each thread
writes only its own rows ``S0[o]``, ``S1[o]`` and sums over ``k`` in the serial
order, so the result is bit-identical for any number of threads (test
``test_kernels_are_bit_reproducible_across_threads``).
"""

from __future__ import annotations

import numba
import numpy as np


def grid_axis(z: np.ndarray) -> np.ndarray:
    """The 1-D nodes of a tensor-product grid ``z`` in ``"ij"`` order (checked: ValueError
    if ``z`` is not such a grid)."""
    K, m = z.shape
    n = round(K ** (1.0 / m))
    x = z[:: n ** (m - 1), 0].copy() if m > 1 else z[:, 0].copy()
    if n**m != K or len(x) != n:
        raise ValueError("z is not a tensor-product grid")
    mesh = np.stack([g.ravel() for g in np.meshgrid(*([x] * m), indexing="ij")], axis=1)
    if not np.array_equal(mesh, z):
        raise ValueError("z is not a tensor-product grid in 'ij' order")
    return x


def cell_pairs(idx: np.ndarray, wt: np.ndarray, z: np.ndarray, n_cells: int):
    """The ``(k, cell)`` pairs of non-zero weight sorted by cell (stable), as
    ``(ptr, pk, pw, pz)``: pairs ``ptr[j]:ptr[j+1]`` belong to cell ``j``, ``pk`` is the grid
    node, ``pw = P(j | y_k)`` and ``pz = pw · z_k`` (computed once per fixed grid)."""
    k = np.repeat(np.arange(idx.shape[0]), idx.shape[1])
    j = idx.ravel()
    w = wt.ravel()
    keep = w != 0.0
    k, j, w = k[keep], j[keep], w[keep]
    order = np.argsort(j, kind="stable")
    ptr = np.zeros(n_cells + 1, dtype=np.int64)
    np.add.at(ptr, j + 1, 1)
    pk = np.ascontiguousarray(k[order], dtype=np.int64)
    pw = np.ascontiguousarray(w[order])
    return np.cumsum(ptr), pk, pw, np.ascontiguousarray(pw[:, None] * z[pk])


#: per outer node, the separable factors are used when ``c_o + Σ_a max_i b_a x_i`` stays
#: below this (no overflow of ``exp``); otherwise the exponent is exponentiated per node
SEPARABLE_MAX_EXPONENT = 600.0


@numba.njit(cache=True, parallel=True)
def accumulate_cells(x, z, log_w, ptr, pk, pw, pz, omega, Vinv, logdet):  # noqa: N803
    """``S[j, o] = (S0[o, j], S1[o, j, :])`` of shape ``(J, G, m + 1)`` (module docstring).

    ``z`` is the tensor-product grid of the 1-D nodes ``x`` in ``"ij"`` order, as
    :func:`giantstep.theory.amp_channel.gaussian_grid` builds it (``x`` empty: any nodes,
    every weight exponentiated directly), and ``log_w = log w_k + |z_k|²/2``. The weight is
    ``ρ_ok = exp(L_k) · exp(c_o) · Π_a exp(b_oa x_{i_a(k)})`` with
    ``L_k = log_w_k − z_kᵀV⁻¹z_k/2`` (K exponentials per call), ``b_o = V⁻¹ω_o`` and
    ``c_o = −ω_oᵀV⁻¹ω_o/2 − log det V/2``: the linear part of the exponent is separable on
    the tensor grid, so an outer node costs ``m·n`` exponentials instead of ``n^m``. Each
    axis factor is scaled by its largest value (≤ 1, no overflow; ``exp(c_o + Σ max)`` is
    applied once; where ``exp(L_k)`` underflows the weight is below ``e^{-145}``), and a node
    whose scale would exceed ``SEPARABLE_MAX_EXPONENT`` is exponentiated directly. Every
    cell's sums are gathered over its pairs (:func:`cell_pairs`) in registers, and
    ``S1 = Σ p z − ω_o S0``. The layout ``(J, G, ·)`` is the one the noise kernel multiplies
    (no transpose).
    """
    G, m = omega.shape
    if m < 1 or m > 3:
        raise ValueError("accumulate_cells handles 1 ≤ m ≤ 3")
    K = z.shape[0]
    n = x.size
    J = ptr.size - 1
    L = np.empty(K)
    eL = np.empty(K)
    for k in range(K):
        q = 0.0
        for a in range(m):
            acc = 0.0
            for b in range(m):
                acc += Vinv[a, b] * z[k, b]
            q += z[k, a] * acc
        L[k] = log_w[k] - 0.5 * q
        eL[k] = np.exp(L[k])
    S = np.zeros((J, G, m + 1))
    for o in numba.prange(G):
        b = np.empty(m)
        c0 = -0.5 * logdet
        for a in range(m):
            acc = 0.0
            for bb in range(m):
                acc += Vinv[a, bb] * omega[o, bb]
            b[a] = acc
            c0 -= 0.5 * omega[o, a] * acc
        rho = np.empty(K)
        E = np.ones((3, max(n, 1)))
        top = c0
        for a in range(m if n > 0 else 0):
            mx = -np.inf
            for i in range(n):
                mx = max(mx, b[a] * x[i])
            top += mx
            for i in range(n):
                E[a, i] = np.exp(b[a] * x[i] - mx)
        if n > 0 and top < SEPARABLE_MAX_EXPONENT:
            scale = np.exp(top)
            n1 = n if m > 1 else 1
            n2 = n if m > 2 else 1
            k = 0
            for i0 in range(n):
                f0 = scale * E[0, i0]
                for i1 in range(n1):
                    f1 = f0 * E[1, i1]
                    for i2 in range(n2):
                        rho[k] = eL[k] * (f1 * E[2, i2])
                        k += 1
        else:
            for k in range(K):
                e = c0
                for a in range(m):
                    e += b[a] * z[k, a]
                rho[k] = np.exp(L[k] + e)  # one exponent: exp(L_k) may underflow alone
        for j in range(J):  # m ≤ 3: the sums are scalars (registers), not an array
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for t in range(ptr[j], ptr[j + 1]):
                r = rho[pk[t]]
                s0 += pw[t] * r
                s1 += pz[t, 0] * r
                if m > 1:
                    s2 += pz[t, 1] * r
                    if m > 2:
                        s3 += pz[t, 2] * r
            S[j, o, 0] = s0
            S[j, o, 1] = s1 - omega[o, 0] * s0
            if m > 1:
                S[j, o, 2] = s2 - omega[o, 1] * s0
                if m > 2:
                    S[j, o, 3] = s3 - omega[o, 2] * s0
    return S


def accumulate_reweighted(z, wz, half_sq, idx, wt, omega, Vinv, logdet, n_cells):  # noqa: N803
    """``(S0, S1)`` of shapes ``(G, J)`` and ``(G, J, m)`` (module docstring), by
    :func:`accumulate_cells` (the state-evolution map calls that kernel directly, with
    the pairs computed once per grid)."""
    with np.errstate(divide="ignore"):
        log_w = np.log(wz) + half_sq
    try:
        x = grid_axis(z)
    except ValueError:  # not a tensor grid: every weight exponentiated directly
        x = np.zeros(0)
    ptr, pk, pw, pz = cell_pairs(idx, wt, z, n_cells)
    S = accumulate_cells(x, z, log_w, ptr, pk, pw, pz, np.ascontiguousarray(omega), Vinv, logdet)
    return np.ascontiguousarray(S[:, :, 0].T), np.ascontiguousarray(S[:, :, 1:].transpose(1, 0, 2))


def accumulate_reference(z, wz, half_sq, idx, wt, omega, Vinv, logdet, n_cells):  # noqa: N803
    """Slow dense numpy version of :func:`accumulate_reweighted` (for tests and benchmarks)."""
    G, m = omega.shape
    S0 = np.zeros((G, n_cells))
    S1 = np.zeros((G, n_cells, m))
    for o in range(G):
        d = z - omega[o][None, :]
        q = np.einsum("ka,ab,kb->k", d, Vinv, d)
        rho = wz * np.exp(-0.5 * q + half_sq - 0.5 * logdet)
        for c in range(2):
            p = wt[:, c] * rho
            S0[o] += np.bincount(idx[:, c], weights=p, minlength=n_cells)
            for a in range(m):
                S1[o, :, a] += np.bincount(idx[:, c], weights=p * d[:, a], minlength=n_cells)
    return S0, S1
