"""Parameter checks shared by the overlap equations (sklearn-style, at the entry points)."""

from __future__ import annotations

import math

from giantstep.errors import InputError
from giantstep.theory import Activation, Target, as_activation, as_target


def _number(name: str, value) -> float:
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise InputError(f"{name} must be finite, got {value!r}")
    return v


def check_common(target, activation, alpha, eta, noise) -> tuple[Target, Activation, float, float, float]:
    """Coerce target/activation and validate α > 0, η̃ ≥ 0, Δ ≥ 0 (None: use target.noise)."""
    import numpy as np

    tgt = as_target(target)
    act = as_activation(activation)
    # the theory layer's E[g*²] for non-polynomial targets uses a 400-node numpy rule that
    # overflows (reported); we recompute that moment ourselves and silence its warnings here
    with np.errstate(all="ignore"):
        _ = tgt.expansion
    act.check_weakly_differentiable()
    a = _number("alpha (α)", alpha)
    if a <= 0:
        raise InputError(f"alpha (α = n/d) must be > 0, got {alpha!r}")
    e = _number("eta (η̃)", eta)
    if e < 0:
        raise InputError(f"eta (η̃) must be ≥ 0, got {eta!r}")
    if noise is None:
        d = tgt.noise
    else:
        d = _number("noise (Δ)", noise)
        if d < 0:
            raise InputError(f"label noise Δ must be ≥ 0, got {noise!r}")
    m2 = target_second_moment(tgt)
    if not math.isfinite(m2) or m2 > 1e12:
        raise InputError(f"E[g*²] of target {tgt.text!r} is not finite (got {m2!r})")
    return tgt, act, a, e, d


def check_int(name: str, value, minimum: int) -> int:
    """An integer ≥ minimum."""
    if isinstance(value, bool) or not isinstance(value, int) and not (
        hasattr(value, "__index__")
    ):
        raise InputError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    v = int(value)
    if v < minimum:
        raise InputError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return v


def check_tol(tol) -> float:
    t = _number("tol", tol)
    if not (1e-10 <= t <= 0.1):
        raise InputError(f"tol must be between 1e-10 and 0.1, got {tol!r}")
    return t


def target_second_moment(tgt: Target) -> float:
    """``E[g*²]``: exact for polynomials, else the library's one estimate
    (:func:`giantstep.theory.quadrature.second_moment`, through the target's expansion)."""
    return float(tgt.expansion.second_moment)
