"""Fresh-process latency of every command, next to ``python -c "import numpy"``.

Each command is run ``--repeat`` times as ``python -m giantstep …`` in a new
interpreter (warm numba cache: one untimed run first), and the median wall time
is printed next to the median of ``python -c "import numpy"`` measured in the
same run, with the difference and the in-process compute time of the same
command (``main(argv)`` called twice in one process: the second call is the
compute alone, imports and kernel loads excluded).

Budgets: ``leap``, ``hermite``, ``thresholds`` on small targets
≤ 1.0 s; ``overlaps`` and ``error`` ≤ 1.5 s beyond their in-process compute;
``--help`` of every command ≤ 0.3 s.

Run: ``python benchmarks/bench_cli.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS: list[tuple[str, list[str], float, bool]] = [
    # (label, argv, budget in s, budget counts beyond in-process compute)
    ("leap", ["leap", "z1"], 1.0, False),
    ("leap (3 variables)", ["leap", "z1 + z1*z2*z3"], 1.0, False),
    ("hermite", ["hermite", "relu", "--degree", "6"], 1.0, False),
    ("thresholds", ["thresholds", "z1 + z1*z2"], 1.0, False),
    ("overlaps", ["overlaps", "z1+z1*z2", "--activation", "relu", "--readout", "sign",
                  "--alpha", "2", "--eta", "2", "--steps", "4"], 1.5, True),
    ("error", ["error", "--student", "tanh", "--teacher", "tanh", "--alpha0", "0.5", "--eta", "1",
               "--lam", "0.01", "--alpha", "0.2:3:8"], 1.5, True),
]
HELP_COMMANDS = ["leap", "hermite", "thresholds", "overlaps", "error", "simulate", "validate", "warmup"]


def _wall(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _in_process(argv: list[str]) -> float:
    """Compute time of ``main(argv)`` alone: second call in one interpreter."""
    code = ("import io, contextlib, time, sys; from giantstep.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(sys.argv[1:])\n"
            "t = time.perf_counter()\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(sys.argv[1:])\n"
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code, *argv], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    py = [sys.executable]
    numpy_t = _wall(py + ["-c", "import numpy"], args.repeat)
    print(f"python -c 'import numpy': {numpy_t:.3f} s (median of {args.repeat})\n")
    print(f"{'command':<22} {'fresh':>7} {'−numpy':>7} {'compute':>8} {'budget':>7}  verdict")
    for label, argv, budget, beyond in COMMANDS:
        cmd = py + ["-m", "giantstep", *argv]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm cache
        fresh = _wall(cmd, args.repeat)
        compute = _in_process(argv)
        spent = fresh - compute if beyond else fresh
        verdict = "ok" if spent <= budget else "OVER"
        print(f"{label:<22} {fresh:7.3f} {fresh - numpy_t:7.3f} {compute:8.3f} {budget:7.2f}  {verdict}"
              + ("  (budget beyond compute)" if beyond else ""))
    print()
    for name in HELP_COMMANDS:
        t = _wall(py + ["-m", "giantstep", name, "--help"], args.repeat)
        print(f"{name + ' --help':<22} {t:7.3f} {t - numpy_t:7.3f} {'':>8} {0.3:7.2f}  "
              + ("ok" if t <= 0.3 else "OVER"))


if __name__ == "__main__":
    main()
