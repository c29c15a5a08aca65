"""giantstep: theory companion for two-layer networks trained by a few giant gradient steps.

The small public API re-exports the main entry points of the three layers;
they are imported lazily so that ``import giantstep`` stays cheap.

>>> import giantstep as gs
>>> gs.leap_index("z1 + z1*z2*z3")
2
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    # theory
    "Target": "giantstep.theory",
    "Activation": "giantstep.theory",
    "hermite_coefficients": "giantstep.theory",
    "analyze": "giantstep.theory.structure.subspaces",
    "leap_index": "giantstep.theory.structure.subspaces",
    "information_exponent": "giantstep.theory.structure.subspaces",
    "staircase": "giantstep.theory.structure.subspaces",
    "thresholds": "giantstep.theory.structure.thresholds",
    "generative_analysis": "giantstep.theory.structure.generative",
    "generative_exponent": "giantstep.theory.structure.generative",
    "generative_leap": "giantstep.theory.structure.generative",
    "amp_analysis": "giantstep.theory.amp",
    "gamp_state_evolution": "giantstep.numerics.amp_state_evolution",
    # numerics
    "one_step_overlaps": "giantstep.numerics",
    "preprocessed_overlaps": "giantstep.numerics",
    "overlap_trajectory": "giantstep.numerics",
    "one_step_learning_curve": "giantstep.numerics",
    "multi_step_learning_curve": "giantstep.numerics",
    # validation
    "simulate": "giantstep.validation",
    "validate": "giantstep.validation",
    "run_sweep": "giantstep.validation.sweep",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'giantstep' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API (lazily imported names included), for ``dir(giantstep)`` and tab completion."""
    return sorted(set(__all__) | {n for n in globals() if n.startswith("__")})
