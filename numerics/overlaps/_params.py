"""Coercion shared by the overlap equations.

The declared rules of their parameters (α > 0, η̃ ≥ 0, Δ ≥ 0, the readout law, …) are
checked by :func:`giantstep.params.validate_params` at each entry point; what is left
here needs the parsed objects: square-integrability of the target and weak
differentiability of the student.
"""

from __future__ import annotations

import math

from giantstep.errors import InputError
from giantstep.theory import Activation, Target, as_activation, as_target


def check_common(target, activation, alpha, eta, noise) -> tuple[Target, Activation, float, float, float]:
    """Coerce target/activation and the numbers (rules already checked); Δ = None: ``target.noise``.

    Raises ``InputError`` if E[g*²] is not finite or σ has no weak derivative.
    """
    import numpy as np

    tgt = as_target(target)
    act = as_activation(activation)
    # the theory layer's E[g*²] for non-polynomial targets uses a 400-node numpy rule that
    # overflows (reported); we recompute that moment ourselves and silence its warnings here
    with np.errstate(all="ignore"):
        _ = tgt.expansion
    act.check_weakly_differentiable()
    a, e = float(alpha), float(eta)
    d = float(tgt.noise) if noise is None else float(noise)
    m2 = target_second_moment(tgt)
    if not math.isfinite(m2) or m2 > 1e12:
        raise InputError(f"E[g*²] of target {tgt.text!r} is not finite (got {m2!r})")
    return tgt, act, a, e, d


def target_second_moment(tgt: Target) -> float:
    """``E[g*²]``: exact for polynomials, else the library's one estimate
    (:func:`giantstep.theory.gauss.rules.second_moment`, through the target's expansion)."""
    return float(tgt.expansion.second_moment)
