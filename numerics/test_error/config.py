"""Declared configuration of a test-error curve (docs/model.md §6.1–§6.2).

The public entry points (:func:`~giantstep.numerics.one_step_learning_curve`,
:func:`~giantstep.numerics.multi_step_learning_curve`) check their arguments against the
rules of :mod:`giantstep.params`, coerce them into one :class:`CurveConfig` and hand it to
the curve of the equations that apply (:mod:`giantstep.numerics.test_error.curves`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from giantstep.theory import Activation


@dataclass(frozen=True)
class CurveConfig:
    """The inputs of one test-error curve, coerced.

    Attributes
    ----------
    student : Activation
        Student activation σ.
    teacher : Activation, str or Target
        Single-index teacher σ* (an Activation) or, when ``multi``, the target expression in
        ``z1..zr`` as given.
    multi : bool
        The teacher is a target expression (several target directions).
    alpha0, eta, lam : float
        Step batch ratio ``n0/d``, rescaled learning rate η̃, ridge penalty λ.
    alphas : ndarray
        Readout sample ratios ``n/d``, solved in this order with warm starts.
    noise, psi : float
        Label-noise variance Δ, width ratio ψ = p/d.
    readout : {"constant", "sign", "gaussian"}
        Law of the second layer during the steps; ``n_types`` bins for ``"gaussian"``.
    spectrum : {"auto", "limit", "sampled", "bulk"}
        Spectral inputs; ``draws`` sampled draws of size ``d`` (None: the curve's default)
        from ``seed`` on.
    tol, max_iter, damping : float, int, float
        Fixed-point tolerance, iteration budget, initial damping δ.
    warn : bool
        Print the notes on stderr.
    steps, overlap_tol : int, float
        Number of giant steps and the tolerance of the §5.3 overlaps (several steps).
    """

    student: Activation
    teacher: Any
    multi: bool
    alpha0: float
    eta: float
    lam: float
    alphas: np.ndarray
    noise: float = 0.0
    psi: float = 1.0
    readout: str = "constant"
    n_types: int = 8
    spectrum: str = "auto"
    draws: int = 4
    d: int | None = None
    seed: int = 0
    tol: float = 1e-6
    max_iter: int = 20_000
    damping: float = 0.5
    warn: bool = True
    steps: int = 1
    overlap_tol: float = 1e-4

    def replace(self, **changes: Any) -> CurveConfig:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def sampling_defaults(self) -> CurveConfig:
        """The same curve with the default spectrum settings (``"auto"``, 4 draws, default d,
        seed 0)."""
        return self.replace(spectrum="auto", draws=4, d=None, seed=0)
