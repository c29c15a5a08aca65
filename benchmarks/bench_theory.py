"""Benchmark of the theory layer's hot paths.

1. ``giantstep leap`` on a degree-6 polynomial in 6 variables, warm (target < 2 s):
   the analysis through the public API, then the CLI in-process.
2. ``μ_0..μ_20`` of tanh at 30 digits (target < 1 s), next to the same coefficients
   computed with ``scipy.integrate.quad`` (double precision, one integral per order)
   and with ``mpmath.quad`` at 30 digits (one integral per order), in the same process.

Run: ``python benchmarks/bench_theory.py``
"""

from __future__ import annotations

import contextlib
import io
import time

import mpmath
import numpy as np
from scipy.integrate import quad

from giantstep.cli import main as cli_main
from giantstep.theory import Activation, Target
from giantstep.theory.structure.subspaces import analyze

POLY = (
    "z1 + z1*z2 + z2*z3*z4 + He3(z4)*z5 - z5**2*z6**2 + z1*z2*z3*z4*z5*z6 + He6(z3)/24 "
    "+ 3*z2**4*z6 - z4*z5*z6 + z1**3*z6**3"
)


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    # --- leap, warm
    analyze(POLY)  # warm the imports
    t_api, res = best(lambda: analyze(Target(POLY)))
    buf = io.StringIO()

    def cli():
        with contextlib.redirect_stdout(buf):
            cli_main(["leap", POLY, "--json"])

    t_cli, _ = best(cli)
    print(f"leap of a degree-6 polynomial in 6 variables: leap = {res.leap_index}, k* = {res.information_exponent}")
    print(f"  analyze(Target(...))        {t_api * 1e3:8.1f} ms   (target < 2000 ms)")
    print(f"  giantstep leap --json       {t_cli * 1e3:8.1f} ms   (in-process, warm)")

    # --- tanh coefficients at 30 digits
    act = Activation("tanh")
    t_ours, coeffs = best(lambda: Activation("tanh").coefficients(20, dps=30))

    def scipy_ref():
        out = []
        for k in range(21):
            he = np.polynomial.hermite_e.HermiteE.basis(k)
            val, _ = quad(lambda x, he=he: np.tanh(x) * he(x) * np.exp(-x * x / 2) / np.sqrt(2 * np.pi),
                          -np.inf, np.inf, limit=200)
            out.append(val)
        return out

    t_scipy, ref = best(scipy_ref)

    def mpmath_ref():
        with mpmath.workdps(30):
            out = []
            for k in range(21):
                def f(x, k=k):
                    a, b = mpmath.mpf(1), x
                    if k == 0:
                        return mpmath.tanh(x) * mpmath.exp(-x * x / 2)
                    for n in range(1, k):
                        a, b = b, x * b - n * a
                    return mpmath.tanh(x) * b * mpmath.exp(-x * x / 2)
                out.append(mpmath.quad(f, [-mpmath.inf, 0, mpmath.inf]) / mpmath.sqrt(2 * mpmath.pi))
            return out

    t_mp, ref_mp = best(mpmath_ref, repeat=1)
    t_fast, fast = best(lambda: Activation("tanh").coefficients(20, dps=15))
    ours = coeffs.floats()
    diff_scipy = max(abs(a - b) for a, b in zip(ours, ref))
    with mpmath.workdps(30):
        diff_mp = max(abs(a - b) for a, b in zip(coeffs.values, ref_mp))
    print("\nμ_0..μ_20 of tanh")
    print(f"  giantstep, 30 digits         {t_ours * 1e3:8.1f} ms   (target < 1000 ms; error ≲ {coeffs.error:.1e})")
    print(f"  scipy.integrate.quad, double {t_scipy * 1e3:8.1f} ms   (max |diff| {diff_scipy:.1e})")
    print(f"  mpmath.quad, 30 digits       {t_mp * 1e3:8.1f} ms   (max |diff| {float(diff_mp):.1e})")
    diff_fast = max(abs(a - b) for a, b in zip(fast.floats(), ours))
    print(f"  giantstep, double (--precision 15) {t_fast * 1e3:8.1f} ms (max |diff| to 30 digits {diff_fast:.1e})")
    print(f"  ratio at 30 digits: mpmath.quad/giantstep = {t_mp / t_ours:.1f}x (scipy double/giantstep 30 digits "
          f"= {t_scipy / t_ours:.2f}x)")
    print(f"  ratio at double precision: scipy.quad/giantstep = {t_scipy / t_fast:.1f}x")
    _ = act


if __name__ == "__main__":
    main()
