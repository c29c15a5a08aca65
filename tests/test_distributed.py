"""One simulation across workers: the same numbers as the in-process run.

Exact statements tested:

* a stream cut into row ranges yields exactly the rows of the whole batch;
* ``simulate(cfg, parts=k)`` differs from ``simulate(cfg)`` only by the order of
  floating-point additions: ≤ 1e-12 relative on every reported number;
* on a LocalCluster of 2 workers (d = 256, n = d², 2 seeds) the distributed run
  equals the in-process run with the same ``parts`` bit for bit;
* a worker killed mid-run: the run resumes (same bits) or raises DistributedError —
  never a partial sum.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time

import numpy as np
import pytest

from giantstep.validation import simulate
from giantstep.validation.sampling import BLOCK_ROWS, GaussianStream


def _numbers(obj, out=None):
    """Every float of a result dict, in a fixed order (timings removed)."""
    out = [] if out is None else out
    if isinstance(obj, dict):
        for k in sorted(obj):
            if k != "timings":
                _numbers(obj[k], out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _numbers(v, out)
    elif isinstance(obj, (float, int, np.floating)) and not isinstance(obj, bool):
        out.append(float(obj))
    return out


def _payload(res) -> dict:
    d = res.to_dict()
    d.pop("timings")
    return d


@pytest.mark.parametrize("n, parts", [(1000, 3), (128, 5), (5 * BLOCK_ROWS, 5), (130, 2)])
def test_rows_of_a_partition_are_the_rows_of_the_batch(n, parts):
    s = GaussianStream(7, (1, 2), n, 5)
    x, eps = s.all()
    ranges = s.partition(parts)
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    assert all(a % BLOCK_ROWS == 0 and b > a for a, b in ranges)
    assert all(b == a2 for (_, b), (a2, _) in zip(ranges, ranges[1:]))
    xs, es = zip(*(s.rows(a, b).all() for a, b in ranges))
    assert np.array_equal(np.concatenate(xs), x) and np.array_equal(np.concatenate(es), eps)


CONFIGS = [
    dict(target="z1 + z1*z2", activation="relu", d=96, p=64, alpha=2.0, steps=2, readout="sign",
         lam=0.1, n_test=3000, chunk_size=256),
    dict(target="He2(z1)", activation="tanh", d=32, p=24, alpha=1.0, ell=2.0, steps=1, preprocess=3,
         readout="sign", lam=0.1, n_test=1000, chunk_size=256, noise=0.2),
    dict(target="tanh(z1)", activation="x + x**2/2", d=40, p=300, alpha=3.0, steps=1,
         alpha_readout=2.0, lam=0.05, n_test=700),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=["relu-sign", "preprocessed-l2", "generic-dual"])
def test_parts_change_only_the_rounding(cfg):
    plain = _numbers(_payload(simulate(**cfg)))
    for parts in (2, 7):
        split = _numbers(_payload(simulate(**cfg, parts=parts)))
        assert len(split) == len(plain)
        for a, b in zip(plain, split):
            assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-14), (a, b)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=50)
    client = distributed.Client(cl)
    yield client
    client.close()
    cl.close()


BIG = dict(target="z1 + z1*z2", activation="relu", d=256, p=128, alpha=1.0, ell=2.0, steps=1,
           readout="sign", lam=0.1, alpha_readout=2.0, n_test=4096)


@pytest.mark.parametrize("seed", [0, 1])
def test_cluster_run_equals_local_run_bit_for_bit(cluster, seed):
    from giantstep.validation.distributed import DaskMapper

    mapper = DaskMapper(cluster)
    local = simulate(**BIG, seed=seed, parts=8)
    remote = simulate(**BIG, seed=seed, client=mapper, parts=8)
    assert local.config["alpha"] * 256**2 == 65536  # n = d²
    assert _payload(remote) == _payload(local)
    plain = _numbers(_payload(simulate(**BIG, seed=seed)))
    for a, b in zip(plain, _numbers(_payload(remote))):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-14)
    # the weights were sent once per pass (gradient, readout Gram, test), never the batch
    assert mapper.passes == 3
    assert mapper.bytes_sent == 3 * BIG["p"] * BIG["d"] * 8


def test_killed_worker_resumes_or_fails_clearly(cluster):
    from giantstep.validation.distributed import DaskMapper, DistributedError

    cfg = dict(BIG, steps=3, seed=3)
    local = simulate(**cfg, parts=16)
    pids = list(cluster.run(os.getpid).values())
    box: dict = {}

    def run():
        try:
            box["res"] = simulate(**cfg, client=DaskMapper(cluster, retries=3), parts=16)
        except Exception as exc:  # noqa: BLE001 - the assertion below says which are allowed
            box["err"] = exc

    th = threading.Thread(target=run)
    th.start()
    time.sleep(1.0)
    os.kill(pids[0], signal.SIGKILL)
    th.join(timeout=240)
    assert not th.is_alive()
    if "res" in box:
        assert _payload(box["res"]) == _payload(local)
    else:
        assert isinstance(box["err"], DistributedError), repr(box["err"])
        assert "failed" in str(box["err"])
    cluster.wait_for_workers(2, timeout=60)
