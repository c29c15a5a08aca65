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


@numba.njit(cache=True, parallel=True)
def accumulate_reweighted(z, wz, half_sq, idx, wt, omega, Vinv, logdet, n_cells):  # noqa: N803
    """``(S0, S1)`` of shapes ``(G, J)`` and ``(G, J, m)`` (see the module docstring)."""
    G, m = omega.shape
    K = z.shape[0]
    S0 = np.zeros((G, n_cells))
    S1 = np.zeros((G, n_cells, m))
    for o in numba.prange(G):
        d = np.empty(m)
        for k in range(K):
            q = 0.0
            for a in range(m):
                d[a] = z[k, a] - omega[o, a]
            for a in range(m):
                acc = 0.0
                for b in range(m):
                    acc += Vinv[a, b] * d[b]
                q += d[a] * acc
            rho = wz[k] * np.exp(-0.5 * q + half_sq[k] - 0.5 * logdet)
            if rho == 0.0:
                continue
            for c in range(2):
                p = wt[k, c] * rho
                if p == 0.0:
                    continue
                j = idx[k, c]
                S0[o, j] += p
                for a in range(m):
                    S1[o, j, a] += p * d[a]
    return S0, S1


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
