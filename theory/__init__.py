"""Symbolic core (sympy, mpmath): targets, Hermite expansions, subspaces, leap, thresholds.

docs/model.md §1–§4 and §7. Subpackages: ``gauss`` (Hermite polynomials, quadrature rules) →
``expr`` (functions, parsing, evaluation, ``Target``/``Activation``) → ``structure`` (Hermite
tensors, subspaces, thresholds, generative exponent); ``amp`` and ``amp_channel`` (AMP weak
recovery) build on all three. This layer imports neither :mod:`giantstep.numerics` nor
:mod:`giantstep.validation`.
"""

from __future__ import annotations

from .expr.hermite1d import Coefficients, hermite_coefficients
from .expr.target import Activation, Target, as_activation, as_target, is_target_expression
from .structure.hermite_tensor import HermiteExpansion

__all__ = [
    "Activation",
    "Coefficients",
    "HermiteExpansion",
    "Target",
    "as_activation",
    "as_target",
    "hermite_coefficients",
    "is_target_expression",
]
