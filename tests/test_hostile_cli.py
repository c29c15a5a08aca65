"""Hostile, odd and extreme invocations through the real command line (a subprocess each).

Every one ends with exit code 0 (answer), 1 (numerical failure) or 2 (refused input), at most
one line on stderr when it fails, never a Python traceback, never ``inf``/``nan`` in the
output, and within a time bound: sizes and costs are estimated before anything is allocated.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

SIM = ["simulate", "z1", "--activation", "relu", "--alpha", "1", "--eta", "1", "--no-progress"]
ERR = ["error", "--student", "tanh", "--teacher", "tanh", "--alpha0", "1", "--eta", "1", "--lam", "0.1"]
SMALL = SIM + ["--d", "16", "--seeds", "1", "--workers", "1"]


def _run(argv: list[str], env: dict | None = None, timeout: float = 60) -> tuple[int, str, str, float]:
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "giantstep", *argv], capture_output=True, text=True,
                       timeout=timeout, env=full_env)
    return p.returncode, p.stdout, p.stderr, time.perf_counter() - t0


def _check(argv, code, needle="", env=None, seconds=30.0):
    rc, out, err, dt = _run(argv, env, timeout=seconds + 60)
    assert "Traceback" not in err and "Traceback" not in out
    assert rc == code, (rc, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if code != 0:
        assert len(lines) == 1, err
        assert needle.lower() in lines[0].lower(), lines[0]
    assert "inf" not in out.replace("info", "").replace("Inf", "") or "infinite" in out
    assert dt < seconds, f"{dt:.1f} s"
    return out, err


REFUSED = [
    # sizes estimated before allocating
    (SIM + ["--d", "100000"], "memory"),
    (SIM + ["--p", "10000000"], "memory"),
    (SIM + ["--seeds", "100000000"], "simulations"),
    (SIM + ["--n-test", "10000000000", "--lam", "0.1"], "floating-point operations"),
    (SIM + ["--alpha", "0:1:100000000"], "grid points"),
    (ERR + ["--alpha", "0:10:100000000"], "grid points"),
    (ERR + ["--alpha", "1", "--spectrum", "sampled", "--d", "10000000"], "memory"),
    (ERR + ["--alpha", "1", "--spectrum", "bulk", "--spectrum-draws", "1000000"], "floating-point"),
    (["validate", "overlaps", "z1", "--activation", "relu", "--alpha", "1", "--eta", "1", "--d",
      "100000"], "memory"),
    # huge numbers refused by the declared rules
    (SIM + ["--alpha", "1e308"], "alpha"),
    (SIM + ["--eta", "1e308"], "eta"),
    (ERR + ["--alpha", "1", "--eta", "1e308"], "η̃"),
    (["validate", "overlaps", "z1", "--activation", "relu", "--alpha", "1", "--eta", "1e308"], "η̃"),
    (["overlaps", "z1", "--activation", "relu", "--alpha", "1e308", "--eta", "1", "--steps", "1"], "α"),
    (["amp", "z1**2", "--alpha", "1e308:1e308:1"], ""),
    (["overlaps", "z1", "--activation", "relu", "--alpha", "1", "--eta", "1", "--steps", "200", "--readout",
      "gaussian", "--types", "256"], "types"),
    (SIM + ["--d", "2.5"], "--d"),
    (SIM + ["--d", "0"], "--d"),
    # files and addresses
    (SMALL + ["--out", "/tmp"], "folder"),
    (SMALL + ["--out", "/proc/version"], "regular"),
    (SMALL + ["--out", "/dev/full"], "regular"),
    (SMALL + ["--plot", "x.xyz"], "format"),
    (SMALL + ["--plot", "/no/such/folder/x.png"], "does not exist"),
    (SMALL + ["--scheduler", "garbage"], "scheduler"),
    (SMALL + ["--resume"], "--out"),
]


@pytest.mark.parametrize("argv, needle", REFUSED, ids=[" ".join(a[:1] + a[-2:]) for a, _ in REFUSED])
def test_refused_in_one_line(argv, needle):
    _check(argv, 2, needle)


def test_bad_thread_count_is_refused():
    _check(["overlaps", "z1", "--activation", "relu", "--alpha", "1", "--eta", "1", "--steps", "1"], 2,
           "NUMBA_NUM_THREADS", env={"NUMBA_NUM_THREADS": "0"})


@pytest.mark.parametrize("target, kstar", [
    ("z1**64", 2), ("He40(z1)", 40), ("(z1+z2)**22", 2), ("z1*z2*z3*z4*z5*z6*z7*z8*z9*z10", 10),
    ("1e-12*z1", 1), ("1e308*z1", 1), ("1e-300*(z1 + z1*z2)", 1),
])
def test_high_degree_and_extreme_scale_targets_answer(target, kstar):
    out, _ = _check(["leap", target], 0, seconds=40)
    assert f"information exponent {kstar}" in out


def test_thresholds_of_a_high_degree_target_answer():
    _check(["thresholds", "He40(z1)"], 0, seconds=40)


def test_hermite_beyond_float_range_is_exact_not_inf():
    import json

    out, _ = _check(["hermite", "1e200*z1**10", "--degree", "3", "--json"], 0)
    data = json.loads(out)
    assert data["second_moment"] is not None and "inf" not in json.dumps(data)


def test_debug_prints_the_traceback():
    rc, _, err, _ = _run(SMALL + ["--scheduler", "garbage", "--debug"])
    assert rc == 2 and "--scheduler" in err


def test_unexpected_exception_is_one_line_with_a_hint(monkeypatch, capsys):
    from giantstep import cli

    def boom(args):
        raise RuntimeError("something\nbroke")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    args = parser.parse_args(["leap", "z1"])
    parser.set_defaults()  # keep the parser; replace the handler of the sub-command
    sub = parser._subparsers._group_actions[0].choices["leap"]
    sub.set_defaults(func=boom)
    assert cli.main(["leap", "z1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RuntimeError: something broke" in err[0] and "--debug" in err[0]
    assert cli.main(["leap", "z1", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err
    assert args.command == "leap"


def test_results_file_handling(tmp_path):
    out = tmp_path / "runs.jsonl"
    _check(SMALL + ["--out", str(out)], 0)
    before = out.read_bytes()
    _check(SMALL + ["--out", str(out)], 2, "--resume")  # existing file: refused, untouched
    assert out.read_bytes() == before
    _check(SMALL + ["--out", str(out), "--resume"], 0)
    assert out.read_bytes() == before
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe not utf-8\n")
    _, err = _check(SMALL + ["--out", str(bad), "--resume"], 0)
    assert "not UTF-8" in err and len(err.strip().splitlines()) == 1


def test_overflowing_activation_is_a_numerical_failure_not_a_record(tmp_path):
    out = tmp_path / "runs.jsonl"
    argv = SIM + ["--activation", "x**64", "--steps", "3", "--d", "16", "--seeds", "1", "--workers", "1",
                  "--out", str(out)]
    argv[argv.index("--eta") + 1] = "10000"
    _check(argv, 1, "numerical failure")
    text = out.read_text() if out.exists() else ""
    assert "inf" not in text and "nan" not in text.lower()


_KERNEL = """
import numba

@numba.njit(cache=True)
def twice(x):
    return 2.0 * x
"""

_CALL = """
import sys
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "heal":
    from giantstep.numerics.compile_cache import heal_corrupt_entries
    heal_corrupt_entries()
import kern_mod
print(kern_mod.twice(21.0))
"""


@pytest.mark.parametrize("which", ["nbc", "nbi"])
def test_corrupt_numba_cache_entry_is_rebuilt(tmp_path, which):
    (tmp_path / "kern_mod.py").write_text(_KERNEL)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}

    def call(mode):
        return subprocess.run([sys.executable, "-c", _CALL, str(tmp_path), mode], capture_output=True,
                              text=True, env=env, timeout=120)

    assert call("heal").stdout.strip() == "42.0"
    files = [p for p in (tmp_path / "cache").rglob(f"*.{which}")]
    assert files
    for f in files:
        f.write_bytes(b"k\x00garbage" * 7)
    broken = call("plain")  # numba alone trusts the corrupt file
    assert broken.returncode != 0
    healed = call("heal")
    assert healed.returncode == 0 and healed.stdout.strip() == "42.0"
    assert all(f.read_bytes()[:1] != b"k" for f in files)  # rewritten by the rebuild
    assert call("plain").stdout.strip() == "42.0"  # and now readable without the guard
