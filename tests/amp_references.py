"""Independent references for one-direction AMP thresholds with label noise (shared by
tests/test_amp_single.py and benchmarks/amp_reference_table.py).

``λ = ∫ N(y)²/D(y) dy`` with ``D = E[p(y|z)]`` and ``N = E[stat · p(y|z)]`` for
``y = label + σε``: the labels are deposited linearly on a y-grid of step ``h = σ/per_sigma``
and convolved with the Gaussian of variance ``σ² − h²/6`` (the deposit's hat supplies
``h²/6``). No code of the library is used.
"""

from __future__ import annotations

import numpy as np


def deposit_lambda(stat, weights, labels, sigma: float, per_sigma: int = 40) -> float:
    """``∫ N²/D dy`` from samples ``labels`` with quadrature ``weights`` and statistic ``stat``."""
    from scipy.signal import fftconvolve

    h = sigma / per_sigma
    lo = labels.min() - 12 * sigma
    n = int((labels.max() + 12 * sigma - lo) / h) + 2
    t = (labels - lo) / h
    i = np.floor(t).astype(int)
    f = t - i

    def dep(v):
        return np.bincount(i, v * (1 - f), n) + np.bincount(i + 1, v * f, n)

    se = np.sqrt(sigma**2 - h * h / 6)
    k = np.arange(-int(12 * sigma / h) - 1, int(12 * sigma / h) + 2) * h
    K = np.exp(-0.5 * (k / se) ** 2) / (np.sqrt(2 * np.pi) * se)
    D = fftconvolve(dep(weights), K, "same")
    N = fftconvolve(dep(weights * stat), K, "same")
    ok = D > 1e-300
    return float(h * np.sum(N[ok] ** 2 / D[ok]))


def deposit_one_direction(g, sigma: float, zmax: float = 6.5, nz: int = 2_000_001,
                          per_sigma: int = 40) -> float:
    """``λ`` for ``y = g(z) + σε``, ``z ~ N(0, 1)`` on a uniform grid, statistic ``z² − 1``."""
    z = np.linspace(-zmax, zmax, nz)
    w = np.exp(-z * z / 2) / np.sqrt(2 * np.pi) * (z[1] - z[0])
    return deposit_lambda(z * z - 1, w, g(z), sigma, per_sigma)
