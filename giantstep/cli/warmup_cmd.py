"""``giantstep warmup``: compile every numba kernel ahead of time.

The kernels are cached on disk (``numba.njit(cache=True)``), so this is needed
once per install (and again after an upgrade changes a kernel's source). Each
workload below is the smallest call that reaches a kernel family with the
signatures the commands use; the command reports which kernels were cold
before and how long each workload took.
"""

from __future__ import annotations

import argparse
import sys
import time

from .options import document
from .output import add_csv, format_table, print_csv, print_json

#: Modules with cached kernels in the validation layer (the numerics ones: compile_cache).
VALIDATION_KERNEL_MODULES = ("giantstep.validation.kernels",)


def _workloads() -> list[tuple[str, object]]:
    def overlaps():
        import giantstep.numerics as gn
        from giantstep.numerics.overlaps import kernel as overlap_kernel

        gn.overlap_trajectory("z1 + z1*z2", "relu", alpha=2.0, eta=1.0, steps=2, readout="sign")
        threshold = overlap_kernel.PARALLEL_MIN_WORK
        try:  # the threaded variant, used above a work threshold
            overlap_kernel.PARALLEL_MIN_WORK = 0
            gn.overlap_trajectory("z1", "relu", alpha=2.0, eta=1.0, steps=2, readout="sign")
        finally:
            overlap_kernel.PARALLEL_MIN_WORK = threshold
        gn.overlap_trajectory("z1", "tanh", alpha=2.0, eta=1.0, steps=2, readout="gaussian", n_types=4)
        gn.one_step_overlaps("z1", "erf", alpha=2.0, eta=1.0)
        import numpy as np

        from giantstep.numerics.gaussian import smooth
        from giantstep.numerics.overlaps.smoothing import interp

        interp(0.0, 1.0, 2, np.zeros((4, 2)), np.zeros((4, 2)), 0, 0.5)  # the reference interpolator
        smooth(np.tanh, np.zeros(2), 1.0, 8)  # the generic inner Gaussian expectation

    def learning_curve():
        import giantstep.numerics as gn

        gn.one_step_learning_curve("tanh", "tanh", alpha0=1.0, eta=1.0, lam=0.1, alphas=[0.5, 1.0])

    def simulator():
        from giantstep.validation import simulate
        from giantstep.validation.simulator import SimulationConfig

        for act in ("relu", "tanh", "erf"):
            for dtype in ("float64", "float32"):
                simulate(SimulationConfig(target="z1", activation=act, d=32, p=32, alpha=1.0, steps=1,
                                          lam=0.1, n_test=64, dtype=dtype))

    def amp():
        import giantstep as gs

        gs.gamp_state_evolution("z1**2", alphas=[0.6])

    return [("overlap equations (§5)", overlaps), ("test error (§6.1)", learning_curve),
            ("simulator (§1)", simulator), ("GAMP state evolution (§7)", amp)]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``warmup`` sub-command."""
    p = sub.add_parser("warmup", help="compile every numba kernel ahead of time (once per install)",
                       description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print JSON")
    add_csv(p)
    document(p, "giantstep warmup",
             "Compile every numba kernel ahead of time: the kernels are cached on disk, so this is "
             "needed once per install (about a minute); the first command that needs a cold kernel "
             "would otherwise compile it and say so on stderr. Prints the time of each workload.")
    p.set_defaults(func=_warmup)


def _warmup(args: argparse.Namespace) -> int:
    from giantstep.numerics.compile_cache import NUMERICS_KERNEL_MODULES, cold_kernels

    modules = (*NUMERICS_KERNEL_MODULES, *VALIDATION_KERNEL_MODULES)
    before = cold_kernels(modules)
    rows = []
    for label, fn in _workloads():
        if not args.quiet:
            print(f"giantstep warmup: {label} …", file=sys.stderr)
        t = time.perf_counter()
        fn()
        rows.append({"workload": label, "seconds": time.perf_counter() - t})
    after = cold_kernels(modules)
    payload = {"cold_before": before, "cold_after": after, "workloads": rows}
    if args.json:
        print_json(payload)
    elif args.csv:
        print_csv(["workload", "seconds"], [[r["workload"], r["seconds"]] for r in rows])
    else:
        print(format_table(["workload", "seconds"], [[r["workload"], f"{r['seconds']:.2f}"] for r in rows]))
        print(f"\nkernels compiled now: {len(before) - len(after)} of {len(before)} cold"
              + (f"; still cold: {', '.join(after)}" if after else "; every kernel is cached"))
    return 0
