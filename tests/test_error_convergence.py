"""The test-error solvers converge on random valid inputs of ``giantstep error``.

A seeded sampler draws inputs of :func:`one_step_learning_curve` /
:func:`multi_step_learning_curve` from the declared parameter rules
(:mod:`giantstep.params`) over moderate ranges: odd, relu-type and polynomial students,
activation and target-expression teachers, α0, η̃, λ, Δ, ψ, α grids, the three readout
laws, the spectrum modes (sampled real steps at a small dimension so that one call stays
within seconds) and one to three steps. Each input must give finite numbers or fail with a
named cause; convergence failures are counted and must stay at or below 1 %.

The CI slice runs the first inputs of the seeded sample; the whole sample (1 000 inputs)
runs under ``-m slow``. ``python tests/test_error_convergence.py N SEED`` prints the survey
(each outcome with its cause).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pytest

from giantstep.errors import ConvergenceError, GiantstepError, InputError

ODD_STUDENTS = ["tanh", "erf", "sin", "x+x**3/3", "He1 + 0.3*He3", "x - 0.1*x**3", "2*tanh(x/2)"]
RELU_STUDENTS = ["relu", "softplus", "gelu", "relu(x) - 0.4", "abs", "x + 0.5*x**2",
                 "sigmoid", "He1 + 0.5*He2"]
TEACHERS = ["tanh", "sin", "relu", "erf", "x", "x + 0.5*(x**2 - 1)", "sign"]
TARGETS = ["tanh(z1) + z1*z2", "z1 + z1*z2", "relu(z1)", "z1 + He2(z2)", "sin(z1) + 0.5*z2*z3",
           "He3(z1) + z1"]


@dataclass
class ErrorInput:
    """One call of the ``error`` curves (keyword arguments of the public functions)."""

    student: str
    teacher: str
    kwargs: dict = field(default_factory=dict)

    def argv(self) -> str:
        """The equivalent command line (for the survey's report)."""
        k = self.kwargs
        a = k["alphas"]
        grid = f"{a[0]:.4g}:{a[-1]:.4g}:{len(a)}" if len(a) > 1 else f"{a[0]:.4g}"
        parts = [f'giantstep error --student "{self.student}" --teacher "{self.teacher}"',
                 f"--alpha0 {k['alpha0']:.4g} --eta {k['eta']:.4g} --lam {k['lam']:.4g}",
                 f"--alpha {grid}"]
        opt = {"noise": "--noise", "width_ratio": "--width-ratio", "readout": "--readout",
               "n_types": "--n-types", "spectrum": "--spectrum", "spectrum_draws":
               "--spectrum-draws", "d": "--d", "steps": "--steps"}
        for key, flag in opt.items():
            if key in k:
                v = k[key]
                parts.append(f"{flag} {v:.4g}" if isinstance(v, float) else f"{flag} {v}")
        return " ".join(parts)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def sample_input(rng: np.random.Generator) -> ErrorInput:
    """One valid input: every value inside its declared rule, ranges moderate."""
    odd = rng.random() < 0.5
    student = str(rng.choice(ODD_STUDENTS if odd else RELU_STUDENTS))
    teacher = str(rng.choice(TARGETS)) if rng.random() < 0.3 else str(rng.choice(TEACHERS))
    start = _log_uniform(rng, 0.05, 2.0)
    num = int(rng.integers(1, 6))
    stop = start * _log_uniform(rng, 1.2, 8.0)
    alphas = [start] if num == 1 else list(np.linspace(start, stop, num))
    kw: dict = {"alpha0": _log_uniform(rng, 0.2, 10.0), "eta": float(rng.uniform(0.0, 5.0)),
                "lam": _log_uniform(rng, 1e-3, 10.0), "alphas": [float(a) for a in alphas],
                "tol": 1e-8}  # the command line's tolerance
    if rng.random() < 0.4:
        kw["noise"] = _log_uniform(rng, 1e-3, 1.0)
    if rng.random() < 0.25:
        kw["width_ratio"] = _log_uniform(rng, 0.5, 2.0)
    u = rng.random()
    if u < 0.15:
        kw["readout"] = "sign"
    elif u < 0.25:
        kw["readout"] = "gaussian"
        kw["n_types"] = int(rng.integers(2, 5))
    steps = int(rng.choice([1, 1, 1, 2, 3]))
    if steps > 1:
        kw["steps"] = steps
    u = rng.random()
    if u < 0.2:
        kw["spectrum"] = "limit"
    elif u < 0.3 and steps == 1 and "width_ratio" not in kw:
        kw["spectrum"] = "sampled"
    elif u < 0.4:
        kw["spectrum"] = "bulk"
    # sampled spectra and real steps at a small dimension (each call within seconds)
    kw["d"] = int(rng.choice([150, 200, 300]))
    kw["spectrum_draws"] = int(rng.integers(1, 3))
    return ErrorInput(student, teacher, kw)


def sample(n: int, seed: int) -> list[ErrorInput]:
    """The first ``n`` inputs of the seeded sample (a prefix of a longer sample is the same)."""
    rng = np.random.default_rng([seed, 22, 4])
    return [sample_input(rng) for _ in range(n)]


def _call(inp: ErrorInput) -> tuple[str, str, bool]:
    """Run one input in this process: ``(outcome, cause, rescued)``; ``rescued`` says that
    a κ-table node count needed the scale-relative test (the input failed before it)."""
    from giantstep.numerics import gaussian
    from giantstep.numerics.test_error.curves.multi_step import multi_step_learning_curve
    from giantstep.numerics.test_error.curves.one_step import one_step_learning_curve
    from giantstep.numerics.test_error.tables import single_index

    rescued = []

    def watched(estimate, tol, n0=16, n_max=1024):
        try:
            return gaussian.nodes_for_tolerance(estimate, tol, n0=n0, n_max=n_max)
        except ConvergenceError:
            rescued.append(True)
        return gaussian.nodes_for_scaled_tolerance(estimate, tol, n0=n0, n_max=n_max)

    restore = getattr(single_index, "nodes_for_scaled_tolerance", None)
    if restore is not None:
        single_index.nodes_for_scaled_tolerance = watched
    kw = dict(inp.kwargs)
    steps = kw.pop("steps", None)
    try:
        if steps is None:
            curve = one_step_learning_curve(inp.student, inp.teacher, warn=False, **kw)
            values = [curve.test_error, curve.train_error, curve.lazy_test_error]
        else:
            curve = multi_step_learning_curve(inp.student, inp.teacher, steps=steps,
                                              warn=False, **kw)
            values = [curve.lazy_test_error] + [s["test_error"] for s in curve.steps]
        outcome, cause = "ok", ""
        if not all(np.all(np.isfinite(np.asarray(v, float))) for v in values):
            outcome, cause = "nonfinite", "non-finite value returned"
    except InputError as exc:
        outcome, cause = "refused", str(exc)
    except (ConvergenceError, GiantstepError) as exc:
        outcome, cause = "failed", f"{type(exc).__name__}: {exc} [in {_raised_in(exc)}]"
    except Exception as exc:  # noqa: BLE001 - a bug: recorded with its type
        outcome, cause = "bug", f"{type(exc).__name__}: {exc} [in {_raised_in(exc)}]"
    finally:
        if restore is not None:
            single_index.nodes_for_scaled_tolerance = restore
    return outcome, cause, bool(rescued)


def _raised_in(exc: BaseException) -> str:
    """The deepest module of the numerics layer in the traceback (``overlaps/multi_step.py``)."""
    import traceback

    where = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        if "/numerics/" in frame.filename:
            where = frame.filename.split("/numerics/", 1)[1]
    return where


def _child(inp: ErrorInput, conn) -> None:  # pragma: no cover - runs in a forked process
    conn.send(_call(inp))
    conn.close()


def run_input(inp: ErrorInput, seconds: float = 120) -> tuple[str, str, bool, float]:
    """``(outcome, cause, rescued, wall seconds)`` of one input in a forked process stopped
    after ``seconds``; outcome ``ok``, ``refused`` (InputError), ``failed``
    (ConvergenceError or another GiantstepError), ``nonfinite``, ``timeout`` or ``bug``."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_child, args=(inp, send))
    proc.start()
    send.close()
    result = ("timeout", f"over {seconds:g} s", False)
    if recv.poll(seconds):
        try:
            result = recv.recv()
        except EOFError:
            result = ("bug", "the worker died", False)
    if proc.is_alive():
        proc.kill()
    proc.join()
    return (*result, time.perf_counter() - t0)


def survey(n: int, seed: int, start: int = 0, seconds: int = 120) -> dict[str, int]:
    """Run inputs ``start..n-1`` of the sample, print each outcome, return counts."""
    counts: dict[str, int] = {}
    for i, inp in enumerate(sample(n, seed)[start:], start=start):
        outcome, cause, rescued, dt = run_input(inp, seconds)
        counts[outcome] = counts.get(outcome, 0) + 1
        counts["rescued"] = counts.get("rescued", 0) + int(rescued)
        tag = "rescued" if rescued else ""
        line = f"{i:4d} {outcome:9s} {tag:7s} {dt:6.1f}s  {inp.argv()}"
        print(line + (f"\n        -> {cause}" if cause else ""), flush=True)
    print(counts, flush=True)
    return counts


# ---------------------------------------------------------------------------- causes

#: Failures whose cause lies outside the test-error solver and its κ tables: the §5.3
#: overlap recursion of the several-step curves (:mod:`giantstep.numerics.overlaps`; its
#: node doubling with an absolute test at polynomial students whose overlaps grow to
#: 1e2–1e6 after two or three steps), named by the module that raised.
OUTSIDE_CAUSES = ("[in overlaps/",)
#: Messages of the test-error solver and its κ tables: each counts as a convergence failure.
SOLVER_CAUSES = ("fixed point", "Gaussian quadrature did not reach")


def slow_teacher_tables(inp: ErrorInput) -> bool:
    """Inputs whose teacher tables take the product rule of a kinked teacher (sign, relu)
    through :mod:`giantstep.numerics.test_error.tables.multi_index` (target expressions and
    the several-type readouts): measured 20 s to minutes under load, a cost of that
    quadrature (it is not cut at the kink), not of the solver. Left out of the CI slice."""
    kinked = any(k in inp.teacher for k in ("sign", "relu", "abs"))
    typed = inp.kwargs.get("readout") == "gaussian" or (
        inp.kwargs.get("readout") == "sign" and inp.student in RELU_STUDENTS)
    multi = "z1" in inp.teacher or "steps" in inp.kwargs
    return kinked and (typed or multi)


def _check_sample(inputs: list[ErrorInput], seconds: float) -> None:
    counts = {"ok": 0, "solver": 0, "outside": 0, "refused": 0, "timeout": 0}
    bad = []
    for inp in inputs:
        outcome, cause, _, _ = run_input(inp, seconds)
        assert outcome not in ("bug", "nonfinite"), (inp.argv(), cause)
        if outcome == "ok":
            counts["ok"] += 1
        elif outcome == "refused":
            assert cause, inp.argv()  # a refusal names its cause
            counts["refused"] += 1
        elif outcome == "timeout":
            counts["timeout"] += 1
            bad.append((inp.argv(), cause))
        elif any(c in cause for c in OUTSIDE_CAUSES):
            counts["outside"] += 1
        else:
            assert any(c in cause for c in SOLVER_CAUSES), (inp.argv(), cause)
            counts["solver"] += 1
            bad.append((inp.argv(), cause))
    attempted = counts["ok"] + counts["solver"] + counts["timeout"]
    assert counts["solver"] + counts["timeout"] <= 0.01 * attempted, (counts, bad)


def test_fast_slice_converges():
    """The first 20 inputs of the seeded sample that avoid the slow kinked teacher tables,
    at the smallest sampled dimension: every one converges, is refused with a named
    reason, or fails with a named cause outside the solver."""
    inputs = [inp for inp in sample(60, 0) if not slow_teacher_tables(inp)][:20]
    for inp in inputs:
        inp.kwargs.update(d=150, spectrum_draws=1)
    _check_sample(inputs, seconds=30)


@pytest.mark.slow
@pytest.mark.xfail(reason="the 99 % target is not met yet: on 100 seeded inputs 2 diverge in the test-error "
                   "solvers and 8 kinked-teacher inputs exceed the time limit (docs/records/test_error.md)",
                   strict=False)
def test_whole_sample_converges():
    """1 000 seeded inputs (hours under load): at least 99 % of the attempted ones converge."""
    _check_sample(sample(1000, 0), seconds=120)


# ---------------------------------------------------------------------------- the fallback


def test_scaled_tolerance_keeps_absolute_node_counts():
    """Where the absolute test passes, the node count and value are the absolute test's."""
    from giantstep.numerics.gaussian import nodes_for_scaled_tolerance, nodes_for_tolerance

    def est(n):  # E[cos(ξ)] = e^{-1/2} by an n-point rule
        x, w = np.polynomial.hermite_e.hermegauss(n)
        return np.array([np.cos(x) @ w / math.sqrt(2 * math.pi)])

    a = nodes_for_tolerance(est, 1e-12, n0=4, n_max=128)
    b = nodes_for_scaled_tolerance(est, 1e-12, n0=4, n_max=128)
    assert a[0] == b[0] and a[1][0] == b[1][0]
    assert abs(b[1][0] - math.exp(-0.5)) < 1e-12


def test_scaled_tolerance_rescues_rounding_in_large_entries():
    """Entries of order 1e8 that wobble by 1e-7 (rounding) fail the absolute test at 1e-9
    and pass the relative one, whose promise tol × (1 + |entry|) is then kept."""
    from giantstep.numerics.gaussian import nodes_for_scaled_tolerance, nodes_for_tolerance

    def est(n):
        return np.array([1e8 + 1e-7 * (-1) ** round(math.log2(n)), 0.5 + 2.0 ** -n])

    with pytest.raises(ConvergenceError):
        nodes_for_tolerance(est, 1e-9, n0=8, n_max=1024)
    n, val, diff = nodes_for_scaled_tolerance(est, 1e-9, n0=8, n_max=1024)
    assert np.all(np.abs(est(n) - est(n // 2)) <= 1e-9 * (1 + np.abs(val)))
    assert n == 64  # |2^-64 − 2^-32| ≤ 1e-9 × 1.5 first between 32 and 64 nodes


def test_cubic_student_example_converges_and_is_stable_in_tolerance():
    """The cubic student of the survey (absolute quadrature test stopped by rounding)
    converges, and tightening the tolerance tenfold moves the curve by < 1e-6."""
    from giantstep.numerics.test_error.curves.one_step import one_step_learning_curve

    kw = dict(alpha0=3.28, eta=2.24, lam=0.51, alphas=[0.1, 0.3], warn=False)
    a = one_step_learning_curve("x+x**3/3", "tanh", tol=1e-8, **kw)
    b = one_step_learning_curve("x+x**3/3", "tanh", tol=1e-9, **kw)
    assert np.all(np.isfinite(a.test_error))
    assert np.max(np.abs(a.test_error - b.test_error) / (1 + np.abs(b.test_error))) < 1e-6


def test_anderson_fallback_reaches_the_damped_answer():
    """With an iteration budget far below what the damped iteration needs (20 vs 49 and 82
    iterations), the Anderson fallback returns the default solve to within the solver
    tolerance, every point satisfying the stopping rule (residual < tol)."""
    from giantstep.numerics.test_error.curves.one_step import one_step_learning_curve

    kw = dict(alpha0=2.0, eta=1.5, lam=0.01, alphas=[0.2, 6.0], spectrum="limit", tol=1e-8,
              warn=False)
    ref = one_step_learning_curve("tanh", "tanh", **kw)
    fast = one_step_learning_curve("tanh", "tanh", max_iter=20, **kw)
    assert np.all(fast.residual < 1e-8)
    assert np.max(np.abs(fast.test_error - ref.test_error)) < 1e-7


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    survey(*args)
