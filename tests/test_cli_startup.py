"""Fresh-process start-up of the commands: import only what a command uses.

Each command runs in a new interpreter; a small entry point records which heavy
modules are in ``sys.modules`` when it finishes. Budgets in seconds are checked
by ``benchmarks/bench_cli.py``, not here (timings on a shared machine are noise).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_PROBE = (
    "import sys, io, contextlib, json\n"
    "from giantstep.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    code = main(sys.argv[1:])\n"
    "heavy = sorted({m.split('.')[0] if not m.startswith('scipy.') else '.'.join(m.split('.')[:2])\n"
    "                for m in sys.modules\n"
    "                if m.split('.')[0] in ('numba', 'matplotlib', 'scipy', 'dask', 'distributed', 'tqdm',\n"
    "                                        'sympy', 'numpy')})\n"
    "print(json.dumps({'code': code, 'heavy': heavy}))\n"
)


def _modules(*argv: str) -> tuple[int, set[str]]:
    out = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True,
                         check=True, env={**os.environ, "MPLBACKEND": "Agg"})
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["code"], set(data["heavy"])


@pytest.mark.parametrize("argv", [["leap", "z1"], ["leap", "z1 + z1*z2*z3", "--json"],
                                  ["hermite", "relu", "--degree", "6"], ["thresholds", "z1 + z1*z2"]])
def test_theory_commands_import_neither_numba_nor_plotting_nor_scipy_special(argv):
    code, heavy = _modules(*argv)
    assert code == 0
    assert not heavy & {"numba", "matplotlib", "dask", "distributed", "scipy.special", "scipy.stats",
                        "scipy.linalg"}


def test_overlaps_without_plot_imports_no_plotting_and_no_scipy_special():
    code, heavy = _modules("overlaps", "z1 + z1*z2", "--activation", "relu", "--readout", "sign",
                           "--alpha", "2", "--eta", "1", "--steps", "2")
    assert code == 0
    assert "numba" in heavy
    assert not heavy & {"matplotlib", "dask", "distributed", "scipy.special"}


@pytest.mark.parametrize("command", ["leap", "hermite", "thresholds", "overlaps", "error", "simulate",
                                     "validate", "warmup"])
def test_help_imports_no_numerical_library(command):
    code = ("import sys, io, contextlib\nfrom giantstep.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main([sys.argv[1], '--help'])\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('numpy', 'sympy', 'numba', 'scipy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, command], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_quiet_keeps_stderr_empty_and_json_clean():
    argv = [sys.executable, "-m", "giantstep", "simulate", "z1", "--activation", "relu", "--alpha", "1",
            "--eta", "1", "--d", "32", "--seeds", "2", "--workers", "1", "--json"]
    loud = subprocess.run(argv, capture_output=True, text=True, check=True)
    quiet = subprocess.run(argv + ["--quiet"], capture_output=True, text=True, check=True)
    assert json.loads(quiet.stdout) == json.loads(loud.stdout)  # JSON on stdout either way
    assert quiet.stderr == ""
    assert "simulations" in loud.stderr  # the progress bar went to stderr


def test_cold_cache_is_announced_once_and_warm_cache_is_silent(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    argv = [sys.executable, "-m", "giantstep", "overlaps", "z1", "--activation", "relu", "--alpha", "2",
            "--eta", "1", "--steps", "1", "--json"]
    cold = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
    warm = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
    assert cold.stderr.count("compiling numba kernels") == 1
    assert warm.stderr == ""
    a, b = json.loads(cold.stdout), json.loads(warm.stdout)
    a["quadrature"].pop("seconds"), b["quadrature"].pop("seconds")
    assert a == b


def test_quiet_is_accepted_by_nested_commands():
    from giantstep.cli import build_parser

    args = build_parser().parse_args(["validate", "overlaps", "z1", "--activation", "relu", "--alpha", "1",
                                       "--eta", "1", "--quiet"])
    assert args.quiet and args.no_progress is False  # main() turns --quiet into no_progress


def test_compile_notice_follows_stderr_and_never_breaks_a_compile(tmp_path):
    """The notice listener is process-wide: it must write to the stderr of the moment and survive
    a closed stream (pytest swaps and closes captured streams between tests)."""
    code = (
        "import io, sys\n"
        "from giantstep.numerics.compile_cache import announce_compilation\n"
        "old = sys.stderr\n"
        "dead = io.StringIO(); sys.stderr = dead; announce_compilation(); dead.close()\n"
        "buf = io.StringIO(); sys.stderr = buf\n"
        "import numba\n"
        "f = numba.njit(lambda x: x + 1)\n"
        "assert f(1) == 2\n"
        "sys.stderr = old\n"
        "print('compiling numba kernels' in buf.getvalue())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)})
    assert out.stdout.strip() == "True"
