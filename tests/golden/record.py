"""Record the golden outputs of the public API (``tests/golden/golden.json``).

Each case in :data:`CASES` is one public call (every entry point and mode: the one-step
test error with each readout law and spectrum mode, several steps, the overlaps of one
step / preprocessed / several steps, AMP, thresholds, leap analysis, Hermite coefficients,
a seeded simulation at small d). :func:`flatten` turns its result into a flat mapping
``path -> list of numbers`` (floats, ints and booleans; strings are not recorded), which
``tests/test_golden.py`` compares to the file at 1e-10 relative.

A change that moves one of these values on purpose regenerates the file in the same
commit, with the reason in the commit message::

    python tests/golden/record.py            # rewrites tests/golden/golden.json
    python tests/golden/record.py --check    # compares without writing (what the test does)
    python tests/golden/record.py --only NAME [NAME ...]   # re-records only the named cases
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

GOLDEN = Path(__file__).with_name("golden.json")
RTOL = 1e-10
ATOL = 1e-14  # absolute floor for values that are rounding-level zeros
# Leaves not recorded: wall times, and the fixed-point residuals (the difference of two
# nearly equal states, so rounding-level changes move them by more than RTOL; the errors
# they certify are recorded).
SKIPPED = {"seconds", "bulk_sampling_seconds", "timings", "residual"}


def _gs():
    import giantstep as gs

    return gs


def _one(student: str, teacher: str, **kw) -> Callable[[], Any]:
    base = {"alpha0": 1.0, "eta": 2.0, "lam": 0.05, "alphas": [0.5, 1.5], "warn": False}
    return lambda: _gs().one_step_learning_curve(student, teacher, **{**base, **kw})


def _multi(student: str, teacher: str, **kw) -> Callable[[], Any]:
    base = {"alpha0": 1.5, "eta": 1.5, "steps": 2, "lam": 0.05, "alphas": [0.5, 1.5], "warn": False}
    return lambda: _gs().multi_step_learning_curve(student, teacher, **{**base, **kw})


def _call(name: str, *args, **kw) -> Callable[[], Any]:
    return lambda: getattr(_gs(), name)(*args, **kw)


def _hermite(expr: str, kmax: int) -> Callable[[], Any]:
    def run():
        import sympy

        x = sympy.Symbol("x")
        return _gs().hermite_coefficients(sympy.sympify(expr), x, kmax=kmax, exact=False)
    return run


SAMPLED = {"spectrum": "sampled", "spectrum_draws": 2, "d": 200, "seed": 3}
BULK = {"spectrum": "bulk", "spectrum_draws": 2, "d": 200, "seed": 3}

CASES: dict[str, Callable[[], Any]] = {
    # one step, constant readout, d → ∞ spectrum
    "one/tanh-tanh/limit": _one("tanh", "tanh"),
    "one/erf-tanh/limit-noise": _one("erf", "tanh", noise=0.1, alpha0=2.0, eta=3.0),
    "one/tanh-sin/limit": _one("tanh", "sin", alpha0=20.0, eta=3.0, lam=0.1, alphas=[2.3]),
    "one/tanh-tanh/lazy": _one("tanh", "tanh", eta=0.0, alphas=[0.5, 1.5, 3.0]),
    "one/tanh-tanh/width": _one("tanh", "tanh", width_ratio=2.0),
    "one/tanh-tanh/offset-teacher": _one("tanh", "tanh(x) + 0.5", eta=0.0, alphas=[1.0]),
    "one/tanh-tanh/tol": _one("tanh", "tanh", tol=1e-10, alphas=[0.3, 1.0, 4.0]),
    "one/erf-z1^2": _one("erf", "z1**2 - 1", alphas=[1.0]),
    # one step, sampled and bulk spectra
    "one/tanh-tanh/sampled": _one("tanh", "tanh", **SAMPLED),
    "one/relu-tanh/auto": _one("relu", "tanh", alphas=[1.0], spectrum_draws=2, d=200, seed=3),
    "one/relu-tanh/bulk": _one("relu", "tanh(2*x)", alphas=[0.7], **BULK),
    "one/relu-tanh/lazy": _one("relu", "tanh", eta=0.0, alphas=[1.0, 2.0]),
    # one step, readout laws
    "one/tanh-tanh/sign": _one("tanh", "tanh", readout="sign"),
    "one/relu-tanh/sign": _one("relu", "tanh", readout="sign", alphas=[1.0], spectrum_draws=2, d=200, seed=3),
    "one/tanh-tanh/gaussian": _one("tanh", "tanh", readout="gaussian", n_types=4, alphas=[1.0],
                                   spectrum_draws=2, d=200, seed=3),
    # one step, multi-index teacher
    "one/tanh-multi-index": _one("tanh", "tanh(z1) + z1*z2", alphas=[1.0]),
    # several steps
    "multi/tanh-tanh/limit": _multi("tanh", "tanh", spectrum="limit", noise=0.1),
    "multi/erf-parity/lazy": _multi("erf", "z1*z2*z3", eta=0.0, steps=3, alpha0=2.0, lam=0.1, alphas=[1.0]),
    "multi/tanh-parity/sign": _multi("tanh", "z1*z2*z3", readout="sign", alphas=[1.0]),
    "multi/tanh-stair": _multi("tanh", "z1 + z1*z2", steps=3, alpha0=2.0, eta=2.0, alphas=[1.0]),
    "multi/relu-tanh/bulk": _multi("relu", "tanh(2*z1)", alphas=[0.7], **BULK),
    # overlaps
    "overlaps/one/tanh-z1": _call("one_step_overlaps", "z1", "tanh", alpha=2.0, eta=1.5),
    "overlaps/one/relu-stair/noise": _call("one_step_overlaps", "z1 + z1*z2", "relu", alpha=1.0, eta=2.0, noise=0.2),
    "overlaps/one/sign": _call("one_step_overlaps", "z1 + z1*z2", "tanh", alpha=1.0, eta=2.0, readout="sign"),
    "overlaps/one/gaussian": _call("one_step_overlaps", "z1**3 - 3*z1", "tanh", alpha=1.0, eta=2.0,
                                   readout="gaussian", n_types=4),
    "overlaps/pre/ell2": _call("preprocessed_overlaps", "z1*z2", "tanh", alpha=1.0, eta=2.0, ell=2),
    "overlaps/pre/ell1": _call("preprocessed_overlaps", "z1 + z1*z2", "relu", alpha=0.5, eta=1.0, ell=1),
    "overlaps/pre/sign": _call("preprocessed_overlaps", "z1*z2*z3", "tanh", alpha=1.0, eta=1.0, ell=2,
                               readout="sign"),
    "overlaps/traj/stair": _call("overlap_trajectory", "z1 + z1*z2", "tanh", alpha=2.0, eta=1.5, steps=3),
    "overlaps/traj/norm": _call("overlap_trajectory", "z1 + z1*z2 + z1*z2*z3", "relu", alpha=2.0, eta=1.0,
                                steps=2, normalize=True),
    "overlaps/traj/sign": _call("overlap_trajectory", "z1*z2", "tanh", alpha=2.0, eta=1.0, steps=2, readout="sign"),
    # theory
    "thresholds/stair": _call("thresholds", "z1 + z1*z2 + z1*z2*z3", compare=False, amp=False),
    "thresholds/parity-relu": _call("thresholds", "z1*z2*z3", "relu", compare=False, amp=False),
    "thresholds/single-amp": _call("thresholds", "z1**2 - 1", amp=True),
    "amp/single-he2": _call("amp_analysis", "z1**2 - 1"),
    "amp/single-abs": _call("amp_analysis", "abs(z1)", noise=0.1),
    "amp/two-index": _call("amp_analysis", "z1*z2"),
    "leap/analyze": _call("analyze", "z1 + z1*z2 + z1*z2*z3"),
    "leap/analyze-relu": _call("analyze", "z1**3 + z2", "relu"),
    "leap/index": _call("leap_index", "z1 + z1*z2*z3"),
    "leap/info-exponent": _call("information_exponent", "z1**3 - 3*z1"),
    "leap/staircase": _call("staircase", "z1 + z1*z2 + z2*z3"),
    "generative/exponent": _call("generative_exponent", "z1**3 - 3*z1"),
    "hermite/tanh": _hermite("tanh(x)", 7),
    "hermite/relu": _hermite("Max(x, 0)", 6),
    # simulation
    "simulate/tanh-stair": _call("simulate", target="z1 + z1*z2", activation="tanh", d=60, p=40, alpha=2.0,
                                 eta=1.0, steps=2, lam=0.05, n_test=500, seed=7),
    "simulate/relu-sign": _call("simulate", target="tanh(z1)", activation="relu", d=50, p=50, alpha=1.0,
                                eta=2.0, readout="sign", steps=1, lam=0.05, n_test=400, seed=11),
}


def _number(x: Any) -> float | None:
    if isinstance(x, bool | np.bool_):
        return float(bool(x))
    if isinstance(x, int | float | np.integer | np.floating | Fraction):
        return float(x)
    try:
        import sympy

        if isinstance(x, sympy.Basic) and x.is_number:
            return float(x)
    except (TypeError, ValueError):
        return None
    return None


def flatten(obj: Any, prefix: str = "", out: dict[str, list[float]] | None = None) -> dict[str, list[float]]:
    """Flat ``path -> list of floats`` of every number reachable in ``obj`` (strings skipped)."""
    out = {} if out is None else out
    if obj is None or isinstance(obj, str):
        return out
    num = _number(obj)
    if num is not None:
        out[prefix] = [num]
        return out
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "biuf":
            out[prefix] = [float(v) for v in np.ravel(obj)]
        elif obj.dtype.kind == "O":
            for i, v in enumerate(np.ravel(obj)):
                flatten(v, f"{prefix}[{i}]", out)
        return out
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            if f.name not in SKIPPED:
                flatten(getattr(obj, f.name), f"{prefix}.{f.name}", out)
        return out
    if isinstance(obj, dict):
        for k in sorted(obj, key=str):
            if k not in SKIPPED:
                flatten(obj[k], f"{prefix}.{k}", out)
        return out
    if isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            flatten(v, f"{prefix}[{i}]", out)
        return out
    if hasattr(obj, "to_dict"):
        return flatten(obj.to_dict(), prefix, out)
    if hasattr(obj, "__dict__"):
        return flatten({k: v for k, v in vars(obj).items() if not k.startswith("_")}, prefix, out)
    return out


def record(names: list[str] | None = None) -> dict[str, dict[str, list[float]]]:
    """Run the cases (all, or ``names``) and return their flattened outputs."""
    return {name: flatten(CASES[name]()) for name in (names or list(CASES))}


def _jsonable(values: list[float]) -> list:
    return [v if math.isfinite(v) else repr(v) for v in values]


def differences(expected: dict[str, list], got: dict[str, list[float]]) -> list[str]:
    """Paths whose values differ by more than ``RTOL`` relative (``ATOL`` floor) or are missing."""
    bad = []
    for path in sorted(set(expected) | set(got)):
        if path not in got or path not in expected:
            bad.append(f"{path}: {'missing now' if path not in got else 'new path'}")
            continue
        e = np.array([float(v) for v in expected[path]])
        g = np.array(got[path])
        if e.shape != g.shape:
            bad.append(f"{path}: shape {e.shape} -> {g.shape}")
        elif not np.allclose(g, e, rtol=RTOL, atol=ATOL, equal_nan=True):
            err = np.max(np.abs(g - e) / np.maximum(np.abs(e), ATOL))
            bad.append(f"{path}: max relative difference {err:.3g}")
    return bad


def main(argv: list[str]) -> int:
    if "--check" in argv:
        expected = json.loads(GOLDEN.read_text())
        bad = [f"{n}{line}" for n, vals in record().items() for line in differences(expected[n], vals)]
        print("\n".join(bad) or "golden: all cases agree")
        return 1 if bad else 0
    if "--only" in argv:  # re-record the named cases, keep every other case as recorded
        names = argv[argv.index("--only") + 1:]
        unknown = sorted(set(names) - set(CASES))
        if unknown or not names:
            print(f"--only takes recorded case names; unknown: {unknown}")
            return 2
        data = json.loads(GOLDEN.read_text())
        for name in names:
            data[name] = {k: _jsonable(v) for k, v in record([name])[name].items()}
    else:
        data = {name: {k: _jsonable(v) for k, v in vals.items()} for name, vals in record().items()}
    GOLDEN.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN} ({len(data)} cases, {sum(len(v) for v in data.values())} paths)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
