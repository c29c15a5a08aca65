"""Sweeps: streaming JSON lines, resume after a kill, local processes and Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from giantstep.validation.sweep import grid, point_key, read_records, run_sweep

BASE = dict(target="z1 + z1*z2", activation="relu", d=24, p=12, alpha=2.0, eta=2.0, steps=2,
            readout="sign", lam=0.1, n_test=200)


def _points(n_seeds=3):
    return grid(BASE, seeds=range(n_seeds), alpha=[1.0, 2.0])


def test_sweep_in_process_streams_and_orders(tmp_path):
    out = tmp_path / "a.jsonl"
    recs = run_sweep(_points(), str(out), workers=1, progress=False)
    assert len(recs) == 6
    lines = out.read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == [r["key"] for r in recs]
    assert [json.loads(line)["config"]["seed"] for line in lines] == [0, 1, 2, 0, 1, 2]
    first = json.loads(lines[0])
    assert "timings" not in first["result"]
    assert len(first["result"]["steps"]) == 3
    assert first["result"]["readout"]["test_error"] > 0


def test_local_processes_give_the_same_file(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run_sweep(_points(2), str(a), workers=1, progress=False)
    run_sweep(_points(2), str(b), workers=2, progress=False)
    assert a.read_bytes() == b.read_bytes()


def test_resume_skips_done_points_and_repairs_torn_line(tmp_path):
    full = tmp_path / "full.jsonl"
    run_sweep(_points(), str(full), workers=1, progress=False)
    lines = full.read_text().splitlines(keepends=True)
    partial = tmp_path / "part.jsonl"
    # a killed sweep: two points done (in another order), a third torn mid-write
    partial.write_text(lines[4] + lines[1] + lines[2][: len(lines[2]) // 2])
    recs = run_sweep(_points(), str(partial), resume=True, workers=1, progress=False)
    assert len(recs) == 6
    assert partial.read_bytes() == full.read_bytes()
    assert set(read_records(str(partial))) == {point_key(json.loads(ln)["config"]) for ln in lines}


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from giantstep.validation.sweep import grid, run_sweep
    base = dict(target="z1 + z1*z2", activation="relu", d=64, p=48, alpha=30.0, eta=2.0,
                steps=3, readout="sign", lam=0.1, n_test=2000)
    pts = grid(base, seeds=range(int(sys.argv[2])), alpha=[20.0, 30.0])
    run_sweep(pts, sys.argv[1], resume=sys.argv[3] == "1", workers=1, progress=False)
    """
)


def test_killed_and_resumed_sweep_is_identical(tmp_path):
    script = tmp_path / "sweep_script.py"
    script.write_text(_KILL_SCRIPT)
    ref, killed = tmp_path / "ref.jsonl", tmp_path / "killed.jsonl"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, str(script), str(ref), "4", "0"], check=True, env=env)
    n_total = len(ref.read_text().splitlines())
    proc = subprocess.Popen([sys.executable, str(script), str(killed), "4", "0"], env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        if killed.exists() and len(killed.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = len(read_records(str(killed)))
    assert 1 <= n_before < n_total, "the sweep should have been killed part-way"
    subprocess.run([sys.executable, str(script), str(killed), "4", "1"], check=True, env=env)
    assert killed.read_bytes() == ref.read_bytes()


def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    ref = tmp_path / "ref.jsonl"
    run_sweep(_points(2), str(ref), workers=1, progress=False)
    out = tmp_path / "dask.jsonl"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            recs = run_sweep(_points(2), str(out), scheduler=client, progress=False)
        assert len(recs) == 4
        assert out.read_bytes() == ref.read_bytes()
        # by address, as with --scheduler ADDRESS
        out2 = tmp_path / "dask2.jsonl"
        run_sweep(_points(2), str(out2), scheduler=cluster.scheduler_address, progress=False)
        assert out2.read_bytes() == ref.read_bytes()


def test_output_in_a_missing_directory_is_one_clear_error(tmp_path):
    from giantstep.errors import InputError
    from giantstep.validation.sweep import run_sweep

    with pytest.raises(InputError, match="does not exist"):
        run_sweep([{"target": "z1", "d": 16, "p": 8}], str(tmp_path / "nodir" / "x.jsonl"),
                  progress=False)
