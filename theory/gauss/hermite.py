"""Probabilists' Hermite polynomials ``He_k``: the one implementation of the recurrence.

docs/model.md §2: ``He_0 = 1``, ``He_1 = x``, ``He_{k+1} = x He_k − k He_{k−1}``,
orthogonal under ``N(0, 1)`` with ``E[He_j He_k] = k! δ_jk``.

:func:`hermite_values` runs the recurrence once for any arithmetic that supports
``*`` and ``−`` — that is the whole implementation; the back ends only choose the type of
``x`` and the unit:

* sympy: :func:`he_sympy` (an expanded polynomial in a symbol or expression);
* mpmath: :func:`hermite_values` on an ``mpf`` (the unit is ``mpmath.mpf(1)`` via ``one``);
* numpy: :func:`hermite_table` (all degrees at many points, shape ``(K+1, N)``) and
  :func:`he_numpy` (one degree, any array shape).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def hermite_values(x: Any, kmax: int, *, one: Any = 1, normalize: Callable[[Any], Any] | None = None) -> list:
    """``[He_0(x), …, He_kmax(x)]`` by the three-term recurrence.

    Parameters
    ----------
    x
        A float, mpmath number, numpy array or sympy expression.
    kmax
        Highest degree (≥ 0).
    one
        ``He_0`` in the arithmetic of ``x`` (``1``, ``mpmath.mpf(1)``, ``np.ones_like(x)``,
        ``sympy.S.One``).
    normalize
        Applied to every new term (``sympy.expand`` keeps sympy polynomials expanded).
    """
    if kmax < 0:
        raise ValueError(f"Hermite degree must be non-negative, got {kmax}")
    out = [one]
    if kmax == 0:
        return out
    out.append(x)
    for n in range(1, kmax):
        nxt = x * out[n] - n * out[n - 1]
        out.append(normalize(nxt) if normalize is not None else nxt)
    return out


def he_sympy(k: int, arg: Any) -> Any:
    """``He_k(arg)`` as an expanded sympy polynomial."""
    import sympy

    return hermite_values(arg, k, one=sympy.S.One, normalize=sympy.expand)[k]


def hermite_table(x: Any, K: int):
    """``He_k(x)`` for ``k = 0..K`` at the points ``x`` (float array of shape ``(K+1, len(x))``)."""
    import numpy as np

    x = np.asarray(x, dtype=float).ravel()
    return np.stack(hermite_values(x, K, one=np.ones_like(x)))


def he_numpy(k: int, x: Any):
    """``He_k(x)`` elementwise for a float array ``x`` of any shape."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    return hermite_values(x, k, one=np.ones_like(x))[k]
