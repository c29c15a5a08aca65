"""Fused elementwise kernels of the simulator (docs/model.md §1).

For one chunk of preactivations ``H = X Wᵀ`` (rows = samples), the giant step
needs the network output ``f_ν = Σ_j c_j σ(H_νj)``, the residual
``e_ν = y_ν − f_ν`` and then ``M_νj = e_ν σ'(H_νj)``, after which the gradient
is ``Mᵀ X``. The numba kernel :func:`residual_times_derivative` does all of it in
one pass over each row (the row of length p stays in cache) and overwrites ``H``
with ``M``. It is exact up to floating-point rounding (no approximation): tested
against the plain numpy expression in ``tests/test_simulator.py``.

Activations with a kernel: relu, tanh, erf (by their sympy expression); every
other activation goes through the generic numpy path of
:class:`giantstep.theory.Activation` (same numbers, slower).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from giantstep.theory import Activation
from giantstep.theory.expr.primitives import activation_kind

GENERIC, RELU, TANH, ERF = 0, 1, 2, 3
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


_CODES = {"relu": RELU, "tanh": TANH, "erf": ERF}


def activation_code(act: Activation) -> int:
    """Kernel code of an activation (``GENERIC`` if it has no fused kernel): the ``kernel``
    fact of its primitive record (theory/expr/primitives.py)."""
    return _CODES.get(activation_kind(act.expr, "kernel"), GENERIC)


@numba.njit(cache=True, inline="always")
def _sigma(code, h):
    if code == RELU:
        return h if h > 0.0 else 0.0 * h
    if code == TANH:
        return math.tanh(h)
    return math.erf(h)


@numba.njit(cache=True, inline="always")
def _dsigma(code, h):
    if code == RELU:
        if h > 0.0:
            return 1.0
        if h < 0.0:
            return 0.0
        return 0.5
    if code == TANH:
        t = math.tanh(h)
        return 1.0 - t * t
    return _TWO_OVER_SQRT_PI * math.exp(-h * h)


@numba.njit(cache=True, parallel=True)
def _fused(code, H, c, y, f_out):
    n, p = H.shape
    for i in numba.prange(n):
        acc = 0.0
        for j in range(p):
            acc += c[j] * _sigma(code, H[i, j])
        f_out[i] = acc
        e = y[i] - acc
        for j in range(p):
            H[i, j] = e * _dsigma(code, H[i, j])


@numba.njit(cache=True, parallel=True)
def _apply_sigma(code, H, scale):
    n, p = H.shape
    for i in numba.prange(n):
        for j in range(p):
            H[i, j] = scale * _sigma(code, H[i, j])


def residual_times_derivative(
    act: Activation, code: int, H: np.ndarray, c: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Overwrite ``H`` with ``e σ'(H)`` where ``e = y − σ(H) c``; return ``f = σ(H) c``.

    Parameters
    ----------
    act, code : Activation, int
        The activation and its kernel code (:func:`activation_code`).
    H : ndarray (m, p), C-contiguous, float32 or float64
        Preactivations of a chunk; overwritten.
    c : ndarray (p,)
        Output weights including the ``1/√p`` of the network (``f = Σ_j c_j σ(h_j)``).
    y : ndarray (m,)
        Targets the residual is taken against (labels, possibly preprocessed).
    """
    f = np.empty(H.shape[0], dtype=np.float64)
    if code != GENERIC and H.flags.c_contiguous:
        _fused(code, H, c.astype(H.dtype), y.astype(np.float64), f)
        return f
    S = act.evaluate(H)
    f[:] = S @ c
    e = (y - f).astype(H.dtype)
    D = act.derivative(H, 1)
    np.multiply(D, e[:, None], out=H, casting="unsafe")
    return f


def apply_sigma(act: Activation, code: int, H: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Overwrite ``H`` with ``scale · σ(H)`` and return it (readout features)."""
    if code != GENERIC and H.flags.c_contiguous:
        _apply_sigma(code, H, H.dtype.type(scale))
        return H
    H[...] = scale * act.evaluate(H)
    return H
