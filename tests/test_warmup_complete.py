"""After ``giantstep warmup`` no command compiles a numba kernel (every kernel is cached)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

NOTICE = "compiling numba kernels"

COMMANDS = {
    "overlaps": ["overlaps", "z1 + z1*z2", "--activation", "relu", "--alpha", "1", "--eta", "1", "--steps", "2"],
    "overlaps-gaussian": ["overlaps", "tanh(z1)", "--activation", "tanh", "--alpha", "1", "--eta", "1",
                          "--steps", "1", "--readout", "gaussian", "--types", "4"],
    "error": ["error", "--student", "tanh", "--teacher", "tanh", "--alpha0", "1", "--eta", "1", "--lam", "0.1",
              "--alpha", "0.5:1:2"],
    "simulate": ["simulate", "z1", "--activation", "relu", "--alpha", "1", "--eta", "1", "--d", "16",
                 "--seeds", "1", "--workers", "1", "--lam", "0.1", "--n-test", "64", "--no-progress"],
    "validate": ["validate", "overlaps", "z1", "--activation", "tanh", "--alpha", "1", "--eta", "1", "--d", "32",
                 "--seeds", "2", "--workers", "1", "--no-progress"],
    "amp": ["amp", "z1**2", "--alpha", "1:2:2"],
}


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "giantstep", *argv], capture_output=True, text=True,
                          env=env, timeout=900)


@pytest.fixture(scope="module")
def warmed():
    p = _run(["warmup"])
    assert p.returncode == 0, p.stderr
    return p


@pytest.mark.parametrize("name", ["overlaps", "simulate"])
def test_no_compilation_after_warmup(warmed, name):
    p = _run(COMMANDS[name])
    assert p.returncode in (0, 1), p.stderr
    assert NOTICE not in p.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(COMMANDS) - {"overlaps", "simulate"}))
def test_no_compilation_after_warmup_every_command(warmed, name):
    p = _run(COMMANDS[name])
    assert NOTICE not in p.stderr


@pytest.mark.slow
def test_fresh_cache_warmup_then_no_command_compiles(tmp_path):
    """From an empty cache (NUMBA_CACHE_DIR): warmup compiles, then every command only loads."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "NUMBA_CACHE_DIR": str(tmp_path / "cache")}

    def run(argv):
        return subprocess.run([sys.executable, "-m", "giantstep", *argv], capture_output=True, text=True,
                              env=env, timeout=1800)

    before = run(COMMANDS["overlaps"])
    assert NOTICE in before.stderr  # the empty cache really compiles
    assert run(["warmup"]).returncode == 0
    for name, argv in COMMANDS.items():
        assert NOTICE not in run(argv).stderr, name
