"""Results journals (``--out``): never lose a record, never trust a bad one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from giantstep.errors import InputError
from giantstep.validation.journal import Journal, is_finite_record, read_records
from giantstep.validation.sweep import grid, point_key, run_sweep

BASE = dict(target="z1", activation="relu", d=16, p=8, alpha=1.0, eta=1.0, steps=1, readout="sign")


def _points(alphas, seeds=(0,)):
    return grid(BASE, seeds=seeds, alpha=alphas)


def _rec(key: str, value) -> dict:
    return {"key": key, "config": {"k": key}, "result": {"value": value}}


def _keys(path) -> list[str]:
    return [json.loads(ln)["key"] for ln in open(path, encoding="utf-8") if ln.strip()]


def test_resume_with_a_smaller_grid_keeps_every_record(tmp_path):
    out = str(tmp_path / "runs.jsonl")
    big = run_sweep(_points([0.5, 1.0, 1.5, 2.0]), out, workers=1, progress=False)
    assert len(_keys(out)) == 4
    small = run_sweep(_points([1.0]), out, resume=True, workers=1, progress=False)
    assert small == [big[1]]  # nothing recomputed: the record of the first run is reused
    assert sorted(_keys(out)) == sorted(r["key"] for r in big)


def test_two_grids_resumed_on_one_file_keep_both(tmp_path):
    out = str(tmp_path / "runs.jsonl")
    a = run_sweep(_points([0.5, 1.0]), out, workers=1, progress=False)
    b = run_sweep(_points([1.5, 2.0]), out, resume=True, workers=1, progress=False)
    a2 = run_sweep(_points([0.5, 1.0]), out, resume=True, workers=1, progress=False)
    assert a2 == a
    assert sorted(_keys(out)) == sorted(r["key"] for r in a + b)


def test_existing_file_without_resume_is_refused_and_kept(tmp_path):
    out = tmp_path / "runs.jsonl"
    run_sweep(_points([0.5]), str(out), workers=1, progress=False)
    before = out.read_bytes()
    with pytest.raises(InputError, match="--resume.*--overwrite"):
        run_sweep(_points([1.0]), str(out), workers=1, progress=False)
    assert out.read_bytes() == before
    run_sweep(_points([1.0]), str(out), overwrite=True, workers=1, progress=False)
    assert _keys(out) == [point_key(run_sweep(_points([1.0]), None, workers=1, progress=False)[0]["config"])]


def test_torn_non_utf8_malformed_and_non_finite_lines_are_not_trusted(tmp_path):
    path = tmp_path / "j.jsonl"
    good = json.dumps(_rec("a", 1.0))
    path.write_bytes(b"\n".join([
        good.encode(),
        b"\xff\xfe not utf-8",
        b"{not json",
        json.dumps({"no": "key"}).encode(),
        json.dumps(_rec("b", float("nan"))).encode(),       # NaN literal
        json.dumps(_rec("c", float("inf"))).encode(),       # Infinity literal
        json.dumps(_rec("d", "inf")).encode(),              # inf spelt as a string
        json.dumps(_rec("e", [1.0, "-inf"])).encode(),
        json.dumps(_rec("f", 2.0)).encode(),
        b'{"key": "g", "result": {"value": 3',             # torn last line
    ]))
    warnings: list[str] = []
    recs = read_records(str(path), warn=warnings.append)
    assert set(recs) == {"a", "f"}
    assert len(warnings) == 1 and "not UTF-8" in warnings[0] and "non-finite" in warnings[0]
    assert "torn" in warnings[0]
    # resuming drops only the torn tail; the unreadable lines stay in the file, untouched
    j = Journal(str(path), resume=True, warn=warnings.append)
    assert set(j.read()) == {"a", "f"}
    j.append(_rec("h", 4.0))
    j.finalize([_rec("f", 2.0), _rec("h", 4.0)])
    lines = path.read_bytes().split(b"\n")
    assert b"\xff\xfe not utf-8" in lines and b"{not json" in lines
    assert set(read_records(str(path), warn=lambda _: None)) == {"a", "f", "h"}


def test_non_finite_records_are_never_written(tmp_path):
    j = Journal(str(tmp_path / "j.jsonl"))
    assert not j.append(_rec("x", float("inf")))
    assert not j.append(_rec("y", {"deep": [1.0, float("nan")]}))
    assert j.append(_rec("z", 1.0))
    assert _keys(tmp_path / "j.jsonl") == ["z"]
    assert is_finite_record({"a": [1, 2.5, "ok", None, True]})
    assert not is_finite_record({"a": "NaN"})


_WRITER = """
import sys
from giantstep.validation.journal import Journal
j = Journal(sys.argv[1], resume=True)
for i in range(int(sys.argv[3])):
    j.append({"key": f"{sys.argv[2]}-{i}", "config": {}, "result": {"v": "x" * 5000}})
"""


def test_concurrent_writers_are_serialised(tmp_path):
    path = str(tmp_path / "j.jsonl")
    n = 150
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, path, name, str(n)]) for name in "ab"]
    for p in procs:
        assert p.wait(timeout=120) == 0
    keys = _keys(path)  # every line parses: no interleaved partial lines
    assert sorted(keys) == sorted([f"a-{i}" for i in range(n)] + [f"b-{i}" for i in range(n)])


def test_concurrent_finalize_keeps_the_other_runs_records(tmp_path):
    path = str(tmp_path / "j.jsonl")
    a = Journal(path)
    b = Journal(path, resume=True)
    for i in range(3):
        a.append(_rec(f"a{i}", i))
        b.append(_rec(f"b{i}", i))
    a.finalize([_rec(f"a{i}", i) for i in range(3)])
    b.finalize([_rec(f"b{i}", i) for i in range(3)])
    assert sorted(_keys(path)) == sorted([f"a{i}" for i in range(3)] + [f"b{i}" for i in range(3)])
    assert _keys(path)[-3:] == ["b0", "b1", "b2"]


@pytest.mark.parametrize("where", ["folder", "device", "missing"])
def test_unusable_paths_are_refused(tmp_path, where):
    path = {"folder": str(tmp_path), "device": "/dev/null",
            "missing": str(tmp_path / "no" / "x.jsonl")}[where]
    with pytest.raises(InputError):
        Journal(path)


_PARENT = """
import sys
from giantstep.validation.sweep import execute
import time

def slow(x):
    import os
    print(os.getpid(), flush=True)
    time.sleep(300)
    return x

if __name__ == "__main__":
    for _ in execute(slow, [1, 2], workers=2, progress=False):
        pass
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process checks through /proc")
def test_killing_the_parent_stops_its_workers(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(_PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pids = [int(parent.stdout.readline()) for _ in range(2)]
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.time() + 20
    alive = pids
    while alive and time.time() < deadline:
        time.sleep(0.2)
        alive = [p for p in pids if _alive(p)]
    assert not alive


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
