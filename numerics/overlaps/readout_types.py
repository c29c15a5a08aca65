"""Readout laws as neuron *types* (docs/model.md §1, §5.3).

The second layer is ``a_j = s_j/√p`` with ``s`` drawn from a readout law. In the
d → ∞ limit neurons with the same ``s`` move together, so a law becomes a list
of types ``(s_τ, π_τ)`` (values and weights summing to one):

* ``constant``: one type, ``s = 1``;
* ``sign``: ``s = ±1`` with weight ½ each;
* ``gaussian``: ``s ~ N(0,1)`` discretised by the K-point Gauss–Hermite rule
  (exact for the moments of ``s`` up to order ``2K − 1``).

``symmetric=True`` (pairs ``(w, a), (w, −a)``) adds the mirror image ``−s`` of
every type with half the weight, which makes the network output at
initialisation vanish.
"""

from __future__ import annotations

import numpy as np

from giantstep.errors import InputError
from giantstep.numerics.gaussian import gauss_hermite
from giantstep.params import READOUTS


def readout_types(readout: str, n_types: int = 8, symmetric: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Values ``s_τ`` and weights ``π_τ`` of the neuron types of a readout law.

    Parameters
    ----------
    readout : {"constant", "sign", "gaussian"}
        The law of ``s`` (docs/model.md §1).
    n_types : int
        Number of Gauss–Hermite types K for the ``gaussian`` law (ignored otherwise).
    symmetric : bool
        Symmetrise the law (pairs ``(w, a), (w, −a)``).

    Returns
    -------
    s, pi : ndarray
        Type values and weights (``Σ π = 1``).
    """
    if readout not in READOUTS:
        raise InputError(f"readout must be one of {', '.join(READOUTS)}, got {readout!r}")
    if readout == "constant":
        s, pi = np.array([1.0]), np.array([1.0])
    elif readout == "sign":
        s, pi = np.array([1.0, -1.0]), np.array([0.5, 0.5])
    else:
        if not isinstance(n_types, (int, np.integer)) or isinstance(n_types, bool) or n_types < 1:
            raise InputError(f"number of types K must be an integer ≥ 1, got {n_types!r}")
        if n_types > 256:
            raise InputError(f"number of types K must be at most 256, got {n_types}")
        x, w = gauss_hermite(int(n_types))
        s, pi = np.array(x, dtype=float), np.array(w, dtype=float)
    if symmetric:
        s = np.concatenate([s, -s])
        pi = np.concatenate([pi, pi]) / 2.0
        # merge exact duplicates (e.g. sign readout, or the node s = 0 of an odd K)
        key = np.round(s, 14)
        uniq, inv = np.unique(key, return_inverse=True)
        pi = np.bincount(inv, weights=pi)
        s = uniq.astype(float)
        order = np.argsort(-s, kind="stable")
        s, pi = s[order], pi[order]
    return s, pi
