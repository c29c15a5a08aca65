"""Benchmark: spectral inputs of the real first step for a 16-point relu curve.

Ours: :func:`giantstep.numerics.test_error.spectra.limit.limit_bulk_inputs` (the d → ∞
deterministic equivalent, one quadrature per (student, teacher, ψ, α0, η̃, Δ)), then the
§6.1 curve solved on it (the solver patched by ``tests/step_limit_plug.py``, no edits).

Today: ``one_step_learning_curve(..., spectrum="auto")`` — 4 sampled real steps at
d = 1000 (one n0 × d × p step and one p × p eigendecomposition each), caches cleared.
This is also the straightforward reference: the sampled-spectrum fixed point.

Prints both times (inputs and whole curve; the machine is shared, times are under load)
and the largest difference between the two curves.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_step_spectrum.py``.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from step_limit_plug import limit_inputs  # noqa: E402

import giantstep.numerics.test_error.spectra.sampled_steps as bsi  # noqa: E402
from giantstep.numerics import one_step_learning_curve  # noqa: E402

CURVE = dict(alpha0=2.0, eta=2.0, lam=0.05, alphas=np.linspace(0.25, 4.0, 16))


def main() -> None:
    warnings.simplefilter("ignore")
    # warm the solver's numba kernels and the activation moments once (not timed)
    one_step_learning_curve("relu", "tanh", **{**CURVE, "alphas": [1.0]}, d=200,
                            spectrum_draws=2)
    for psi in (1.0, 2.0):
        t0 = time.perf_counter()
        with limit_inputs() as made:
            ours = one_step_learning_curve("relu", "tanh", **CURVE, width_ratio=psi,
                                           spectrum="bulk", spectrum_draws=2)
        t_ours = time.perf_counter() - t0
        b = next(iter(made.values()))
        bsi._cached.cache_clear()
        t0 = time.perf_counter()
        today = one_step_learning_curve("relu", "tanh", **CURVE, width_ratio=psi)
        t_today = time.perf_counter() - t0
        diff = np.max(np.abs(ours.test_error - today.test_error))
        print(f"relu/tanh ψ = {psi}, 16 α: limit inputs {b.seconds:.2f} s, curve {t_ours:.2f} s"
              f" | today (4 draws, d = 1000): curve {t_today:.2f} s"
              f" | max |E_g limit − E_g today| = {diff:.4f}"
              f" (today's draw spread/√4 ≤ {np.max(today.test_error_std) / 2:.4f})")


if __name__ == "__main__":
    main()
