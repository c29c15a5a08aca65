"""Finite-d simulations of the giant-step protocol and theory-versus-simulation reports.

Public functions (imported lazily):

* :func:`simulate` — docs/model.md §1 protocol at finite d, p, n (module ``simulator``);
* :func:`validate` — theory versus simulation, point by point (module ``compare``).
"""

from __future__ import annotations

import importlib

_LAZY = {
    "simulate": "simulator",
    "SimulationConfig": "simulator",
    "validate": "compare",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"giantstep.validation.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'giantstep.validation' has no attribute {name!r}")
