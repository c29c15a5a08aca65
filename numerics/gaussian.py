"""Gaussian integration in the numerics layer: the shared rules and the numba contractions.

The rules (the :class:`Rule` objects — Gauss–Hermite, trapezoidal, midpoint, Gauss–Legendre —
tensor products, piecewise Gauss–Legendre, the tolerance-driven refinement and ``E[g²]``) live
in :mod:`giantstep.theory.gauss.rules`, the one quadrature module of the library, and are
re-exported here (a new rule of the numerics layer is a :class:`Rule` subclass there); this module adds
the numba kernels for the contractions that sit in the hot loops (docs/model.md §5–§6).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

from giantstep.theory.gauss.rules import (  # noqa: F401  (re-exported for the numerics layer)
    GAUSS_HERMITE,
    GAUSS_LEGENDRE,
    MAX_NODES,
    MAX_SPECTRAL_NODES,
    SPLIT_NORMAL,
    TRAPEZOID_HALF_WIDTH,
    Estimate,
    GaussLegendreRule,
    MarchenkoPasturRule,
    MidpointRule,
    Rule,
    SplitNormalRule,
    TrapezoidRule,
    anisotropic_product_rule,
    gauss_hermite,
    nodes_for_tolerance,
    piecewise_gauss_rule,
    product_of_rules,
    product_rule,
    second_moment,
    stroud3_rule,
    tensor_rules,
    trapezoid_rule,
)


@numba.njit(cache=True, parallel=True, fastmath=False)
def contract_last(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``out[i] = Σ_j values[i, j] weights[j]`` (an inner Gaussian expectation per row)."""
    n, m = values.shape
    out = np.empty(n)
    for i in numba.prange(n):
        acc = 0.0
        for j in range(m):
            acc += values[i, j] * weights[j]
        out[i] = acc
    return out


def smooth(fn: Callable[[np.ndarray], np.ndarray], a: np.ndarray, b: float, n: int = 64) -> np.ndarray:
    """``E_ξ[fn(a + b ξ)]`` for every entry of ``a`` (vectorised, n-point rule).

    ``fn`` is a numpy-vectorised function (e.g. ``Activation.evaluate``).
    """
    a = np.asarray(a, dtype=float)
    x, w = gauss_hermite(n)
    vals = fn(a.reshape(-1, 1) + b * x.reshape(1, -1))
    return contract_last(np.ascontiguousarray(vals), np.ascontiguousarray(w)).reshape(a.shape)


def nodes_for_scaled_tolerance(estimate: Callable[[int], np.ndarray], tol: float, n0: int = 16,
                               n_max: int = 1024) -> tuple[int, np.ndarray, float]:
    """:func:`nodes_for_tolerance` with an absolute test first, then a scale-relative one.

    The absolute test ``max|E(2n) − E(n)| ≤ tol`` is tried first (its node counts are kept
    wherever it succeeds). Where rounding in large entries keeps it from succeeding (e.g. a
    cubic student at a large spike, entries of order 10⁷), the test is repeated on
    ``E(n) / (1 + |E(n_max)|)``: each returned entry then agrees with the next doubling to
    ``tol × (1 + |entry|)`` (the returned difference is then the scaled one). Raises
    :class:`~giantstep.errors.ConvergenceError` if neither test passes by ``n_max`` nodes.
    """
    from giantstep.errors import ConvergenceError

    try:
        return nodes_for_tolerance(estimate, tol, n0=n0, n_max=n_max)
    except ConvergenceError:
        scale = 1.0 + np.abs(np.asarray(estimate(n_max), dtype=float))
    n, value, diff = nodes_for_tolerance(lambda m: np.asarray(estimate(m), dtype=float) / scale,
                                         tol, n0=n0, n_max=n_max)
    return n, value * scale, diff
