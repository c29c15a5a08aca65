"""Symbolic core (sympy, mpmath): targets, Hermite expansions, subspaces, leap, thresholds.

THEORY.md §1–§4. This layer imports neither :mod:`giantstep.numerics` nor
:mod:`giantstep.validation`.
"""

from __future__ import annotations

from .hermite1d import Coefficients, hermite_coefficients
from .hermite_tensor import HermiteExpansion
from .target import Activation, Target, as_activation, as_target

__all__ = [
    "Activation",
    "Coefficients",
    "HermiteExpansion",
    "Target",
    "as_activation",
    "as_target",
    "hermite_coefficients",
]
