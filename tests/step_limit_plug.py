"""Test/benchmark helper: run :func:`one_step_learning_curve` on the d → ∞ spectral inputs
of :mod:`giantstep.numerics.test_error.spectra.limit` without editing the solver.

Inside :func:`limit_inputs`, ``bulk_step_inputs.sampled_bulk_inputs`` returns
:func:`limit_bulk_inputs` (same fields) and the curve solver uses its quadrature weights
instead of the uniform ``1/p``. The permanent switch in ``learning_curve._bulk_runs`` is
``b = limit_bulk_inputs(student, target, psi, alpha0, eta, noise)`` with
``sw = b.weights``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

import giantstep.numerics.test_error.curves.one_step as lc
import giantstep.numerics.test_error.spectra.sampled_steps as bsi
from giantstep.numerics.test_error.spectra.limit import LimitBulkInputs, limit_bulk_inputs


@contextlib.contextmanager
def limit_inputs(nodes: int = 96) -> Iterator[dict]:
    """Patch the sampled route by the limit; yields the dict of the inputs computed."""
    orig_sample, orig_curve = bsi.sampled_bulk_inputs, lc._solve_curve
    made: dict[tuple, LimitBulkInputs] = {}

    def fake(student, teacher, psi, alpha0, eta, noise, d, seed):
        key = (str(student), str(teacher), psi, alpha0, eta, noise)
        if key not in made:
            made[key] = limit_bulk_inputs(student, teacher, psi, alpha0, eta, noise,
                                          nodes=nodes)
        return made[key]

    def solve_curve(alphas, lam, noise, tabs, c, spectrum_of_alpha, *args, **kw):
        def spec(alpha):
            s = spectrum_of_alpha(alpha)
            for b in made.values():
                if np.shares_memory(s[1], b.D):
                    return (b.weights, *s[1:])
            return s
        return orig_curve(alphas, lam, noise, tabs, c, spec, *args, **kw)

    bsi.sampled_bulk_inputs, lc._solve_curve = fake, solve_curve
    try:
        yield made
    finally:
        bsi.sampled_bulk_inputs, lc._solve_curve = orig_sample, orig_curve
