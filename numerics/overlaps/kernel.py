"""Numba kernel of the several-step overlap recursion (docs/model.md §5.3).

One call evaluates, on the nodes ``y = (z, v)`` of a Gaussian product rule, every
expectation one step of the recursion needs, for all K neuron types at once:

* ``Ez[τ, i] = E[(g* − F) Φ_τ z_i]``            (target overlaps)
* ``Ed[τ]    = E[(g* − F) Φd_τ]``                (private rescaling; Stein form of the shared one)
* ``Vp[τ]    = E[((g* − F)² + Δ)(Φ2_τ − Φ_τ²)]``   (new private variance)
* ``Gm[τ,τ'] = E[((g* − F)² + Δ) Φ_τ Φ_τ']``       (new shared directions, before /α)
* ``Pm[τ,τ'] = E[Φ_τ Φ_τ']``                      (Stein form of the shared update)
* moments ``E[F g*], E[F²], E[g*²], E[(g* − F)²], E[F]``.

Here ``a_τ = ⟨coef_τ, y⟩``, ``F = Σ_τ π_τ s_τ S_τ(a_τ)`` and ``S, Φ, Φd, Φ2`` are read
from the tables of :mod:`.smoothing`. The nodes are split into a fixed
number of chunks (independent of the thread count, so results are
bit-reproducible), each accumulated serially and summed at the end.
"""

from __future__ import annotations

import numba
import numpy as np

from giantstep.numerics.overlaps.smoothing import interp_all

N_CHUNKS = 64
N_MOMENTS = 5
PARALLEL_MIN_WORK = 2_000_000


@numba.njit(cache=True)
def _accumulate_range(Y, w, g, coef, r, s, pi, x0s, hs, Gs, vals, ders, delta, start, stop, loc):  # noqa: N803
    """Add the weighted sums of nodes ``start..stop-1`` into ``loc``."""
    dim = Y.shape[1]
    K = coef.shape[0]
    o_ed = K * r
    o_vp = o_ed + K
    o_g = o_vp + K
    o_p = o_g + K * K
    o_m = o_p + K * K
    phi = np.empty(K)
    phid = np.empty(K)
    phi2 = np.empty(K)
    fk = np.empty(4)
    for i in range(start, stop):
        F = 0.0
        for t in range(K):
            a = 0.0
            for j in range(dim):
                a += coef[t, j] * Y[i, j]
            # the 4 tabulated functions at a (the library's one cubic Hermite interpolator)
            interp_all(x0s[t], hs[t], Gs[t], vals[t], ders[t], a, fk)
            F += pi[t] * s[t] * fk[0]
            phi[t] = fk[1]
            phid[t] = fk[2]
            phi2[t] = fk[3]
        e = g[i] - F
        wi = w[i]
        we = wi * e
        we2 = wi * (e * e + delta)
        for t in range(K):
            for j in range(r):
                loc[t * r + j] += we * phi[t] * Y[i, j]
            loc[o_ed + t] += we * phid[t]
            loc[o_vp + t] += we2 * (phi2[t] - phi[t] * phi[t])
            for v in range(t, K):
                loc[o_g + t * K + v] += we2 * phi[t] * phi[v]
                loc[o_p + t * K + v] += wi * phi[t] * phi[v]
        loc[o_m + 0] += wi * F * g[i]
        loc[o_m + 1] += wi * F * F
        loc[o_m + 2] += wi * g[i] * g[i]
        loc[o_m + 3] += wi * e * e
        loc[o_m + 4] += wi * F


@numba.njit(cache=True, parallel=True)
def _sums_parallel(Y, w, g, coef, r, s, pi, x0s, hs, Gs, vals, ders, delta):  # noqa: N803
    N = Y.shape[0]
    K = coef.shape[0]
    L = K * r + 2 * K + 2 * K * K + N_MOMENTS
    acc = np.zeros((N_CHUNKS, L))
    chunk = (N + N_CHUNKS - 1) // N_CHUNKS
    for c in numba.prange(N_CHUNKS):
        start = c * chunk
        stop = min(N, start + chunk)
        _accumulate_range(Y, w, g, coef, r, s, pi, x0s, hs, Gs, vals, ders, delta, start, stop,
                          acc[c])
    return acc


@numba.njit(cache=True)
def _sums_serial(Y, w, g, coef, r, s, pi, x0s, hs, Gs, vals, ders, delta):  # noqa: N803
    N = Y.shape[0]
    K = coef.shape[0]
    L = K * r + 2 * K + 2 * K * K + N_MOMENTS
    acc = np.zeros((N_CHUNKS, L))
    chunk = (N + N_CHUNKS - 1) // N_CHUNKS
    for c in range(N_CHUNKS):
        start = c * chunk
        stop = min(N, start + chunk)
        _accumulate_range(Y, w, g, coef, r, s, pi, x0s, hs, Gs, vals, ders, delta, start, stop,
                          acc[c])
    return acc


def step_expectations(Y, w, g, coef, r, s, pi, x0s, hs, Gs, vals, ders, delta):  # noqa: N803
    """Weighted sums over the nodes; returns one flat vector (see module docstring).

    Threads are used only above :data:`PARALLEL_MIN_WORK` node-types (below that the
    thread start-up costs more than it saves, especially on a loaded machine).
    The node chunks are the same either way, so both paths give identical sums.
    """
    K = coef.shape[0]
    fn = _sums_parallel if Y.shape[0] * K >= PARALLEL_MIN_WORK else _sums_serial
    acc = fn(Y, w, g, coef, r, s, pi, x0s, hs, Gs, vals, ders, delta)
    out = _ordered_sum(acc)
    o_g = K * r + 2 * K
    o_p = o_g + K * K
    for t in range(K):
        for u in range(t + 1, K):
            out[o_g + u * K + t] = out[o_g + t * K + u]
            out[o_p + u * K + t] = out[o_p + t * K + u]
    return out


def _ordered_sum(acc: np.ndarray) -> np.ndarray:
    out = np.zeros(acc.shape[1])
    for row in acc:
        out += row
    return out


def unpack(flat: np.ndarray, K: int, r: int) -> dict:
    """Split the flat output of :func:`step_expectations` into named arrays."""
    o = 0
    out = {}
    for name, size, shape in (
        ("Ez", K * r, (K, r)),
        ("Ed", K, (K,)),
        ("Vp", K, (K,)),
        ("Gm", K * K, (K, K)),
        ("Pm", K * K, (K, K)),
        ("moments", N_MOMENTS, (N_MOMENTS,)),
    ):
        out[name] = flat[o : o + size].reshape(shape)
        o += size
    return out
