"""Deterministic equations of giant-step training (docs/model.md §5–§6), numba-accelerated.

Public functions (imported lazily so that ``import giantstep.numerics`` is cheap):

* :func:`one_step_overlaps` — §5.1, one step with n = α d;
* :func:`preprocessed_overlaps` — §5.2, one step with n = α d^ℓ, degrees < ℓ removed;
* :func:`overlap_trajectory` — §5.3, several steps with neuron types and shared directions;
* :func:`one_step_learning_curve` — §6.1, Gaussian-equivalence test error after one step;
* :func:`multi_step_learning_curve` — §6.2, ridge test error after each of several steps.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "one_step_overlaps": "overlaps.one_step",
    "preprocessed_overlaps": "overlaps.preprocessed",
    "overlap_trajectory": "overlaps.multi_step",
    "one_step_learning_curve": "test_error.curves.one_step",
    "multi_step_learning_curve": "test_error.curves.multi_step",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"giantstep.numerics.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'giantstep.numerics' has no attribute {name!r}")
