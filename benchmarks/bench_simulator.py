"""Benchmark: one giant step + ridge readout at d = 512, n = d², p = 1024.

Prints, for the same problem in this process:

* ``giantstep``: :func:`giantstep.validation.simulate` (chunked, fused numba kernel,
  threaded draws, Cholesky ridge);
* ``naive``: a straightforward numpy implementation — whole batch in memory,
  ``np.linalg.inv`` for the ridge (allowed only here, as the reference);
* ``matmul only``: the time of the matrix products the step cannot avoid
  (``X Wᵀ`` and ``Mᵀ X`` over the batch, plus the readout/test products), on
  pre-drawn data;

* ``giantstep float32``: the same run in single precision, next to the float32 products;
* ``distributed (2 workers)``: the same run with every pass over a batch cut into
  row ranges computed on a LocalCluster of 2 single-threaded worker processes
  (:mod:`giantstep.validation.distributed`), as a ratio to the single-process run,
  with the bytes sent to the workers per step (the weights, once per pass);

with wall time, peak traced memory (tracemalloc; numpy reports its buffers to it)
and the ratios. Targets: ≥ 3× faster and ≤ 1/4 of the memory of the naive code,
within 1.5× of the products alone. On a 2-core machine the distributed row shows
the overhead of the map/reduce, not a speed-up.

Usage: ``python benchmarks/bench_simulator.py [--d 512] [--p 1024] [--n N] [--no-distributed]``.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
import tracemalloc

import numpy as np

from giantstep.validation.simulator import SimulationConfig, simulate

TARGET = "z1 + z1*z2"
ETA = 1.0
LAM = 0.1
ALPHA_R = 4.0
N_TEST = 10_000


def naive(d: int, p: int, n: int, seed: int = 0) -> float:
    """Whole-batch numpy implementation of the same protocol; returns the test error."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((p, d)) / math.sqrt(d)
    a = np.ones(p) / math.sqrt(p)
    X = rng.standard_normal((n, d))
    y = X[:, 0] + X[:, 0] * X[:, 1]
    H = X @ W.T
    S = np.maximum(H, 0)
    f = S @ a / math.sqrt(p)
    e = y - f
    D = (H > 0).astype(float)
    G = (D * e[:, None]).T @ X / n
    W = W + ETA * math.sqrt(d) * a[:, None] * math.sqrt(p) * G  # η = η̃ p d^{1/2}, a_j = s_j/√p
    del X, H, S, D
    nr = int(ALPHA_R * d)
    Xr = rng.standard_normal((nr, d))
    yr = Xr[:, 0] + Xr[:, 0] * Xr[:, 1]
    Phi = np.maximum(Xr @ W.T, 0) / math.sqrt(p)
    a_hat = np.linalg.inv(Phi.T @ Phi + LAM * np.eye(p)) @ (Phi.T @ yr)
    Xt = rng.standard_normal((N_TEST, d))
    yt = Xt[:, 0] + Xt[:, 0] * Xt[:, 1]
    ft = np.maximum(Xt @ W.T, 0) / math.sqrt(p) @ a_hat
    return float(np.mean((yt - ft) ** 2))


def ours(d: int, p: int, n: int, seed: int = 0, dtype: str = "float64", client=None) -> float:
    cfg = SimulationConfig(target=TARGET, activation="relu", d=d, p=p, n_samples=n, ell=2.0,
                           eta=ETA, steps=1, readout="constant", lam=LAM,
                           alpha_readout=ALPHA_R, n_test=N_TEST, seed=seed, dtype=dtype,
                           measure_spike=False)
    return float(simulate(cfg, client=client).test_error)


def matmul_only(d: int, p: int, n: int, dtype: str = "float64") -> float:
    """Products of the same shapes as the simulator's chunks, on one pre-drawn chunk."""
    from giantstep.validation.sampling import round_chunk
    from giantstep.validation.simulator import CHUNK_BYTES

    dt = np.dtype(dtype)
    chunk = round_chunk(max(128, CHUNK_BYTES // ((d + p) * dt.itemsize)), n)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((chunk, d)).astype(dt)
    Wt = (rng.standard_normal((p, d)) / math.sqrt(d)).astype(dt).T
    h = np.empty((chunk, p), dtype=dt)
    t0 = time.perf_counter()
    for start in range(0, n, chunk):
        rows = min(chunk, n - start)
        np.matmul(x[:rows], Wt, out=h[:rows])
        _ = h[:rows].T @ x[:rows]
    nr = int(ALPHA_R * d)
    xr = rng.standard_normal((nr, d)).astype(dt)
    phi = xr @ Wt
    _ = phi.T @ phi
    xt = rng.standard_normal((N_TEST, d)).astype(dt)
    _ = xt @ Wt
    return time.perf_counter() - t0


def measure(fn, *args) -> tuple[float, float, float]:
    """(seconds, peak traced MiB, return value); memory traced in a second run."""
    gc.collect()
    t0 = time.perf_counter()
    val = fn(*args)
    secs = time.perf_counter() - t0
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return secs, peak, val


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--p", type=int, default=1024)
    ap.add_argument("--n", type=int, default=None, help="batch size (default d²)")
    ap.add_argument("--no-distributed", action="store_true", help="skip the LocalCluster row")
    args = ap.parse_args()
    d, p = args.d, args.p
    n = args.n or d * d
    print(f"one giant step (n = {n}) + ridge readout (n_r = {int(ALPHA_R * d)}) + test "
          f"({N_TEST}), d = {d}, p = {p}, relu")
    for dt in ("float64", "float32"):
        ours(min(d, 64), min(p, 64), 4096, 0, dt)  # numba compile / warm-up
    t_ours, m_ours, e_ours = measure(ours, d, p, n, 0)
    t_mm = matmul_only(d, p, n)
    t_32, m_32, e_32 = measure(ours, d, p, n, 0, "float32")
    t_mm32 = matmul_only(d, p, n, "float32")
    t_naive, m_naive, e_naive = measure(naive, d, p, n)
    print(f"{'':>24} {'time [s]':>10} {'peak [MiB]':>11} {'test error':>11} {'/ matmul':>9}")
    print(f"{'giantstep float64':>24} {t_ours:10.2f} {m_ours:11.0f} {e_ours:11.6f} {t_ours / t_mm:9.2f}")
    print(f"{'giantstep float32':>24} {t_32:10.2f} {m_32:11.0f} {e_32:11.6f} {t_32 / t_mm32:9.2f}")
    print(f"{'naive numpy':>24} {t_naive:10.2f} {m_naive:11.0f} {e_naive:11.6f} {t_naive / t_mm:9.2f}")
    print(f"{'matmul only float64':>24} {t_mm:10.2f}")
    print(f"{'matmul only float32':>24} {t_mm32:10.2f}")
    if not args.no_distributed:
        from distributed import Client, LocalCluster

        from giantstep.validation.distributed import DaskMapper

        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                          silence_logs=50) as cluster, Client(cluster) as client:
            mapper = DaskMapper(client)
            ours(min(d, 64), min(p, 64), 4096, 0, "float64", mapper)  # workers compile / warm up
            sent0 = mapper.bytes_sent
            t0 = time.perf_counter()
            e_dist = ours(d, p, n, 0, "float64", mapper)
            t_dist = time.perf_counter() - t0
            sent = mapper.bytes_sent - sent0
            parts = mapper.default_parts()
        print(f"{'distributed (2 workers)':>24} {t_dist:10.2f} {'':>11} {e_dist:11.6f} {t_dist / t_mm:9.2f}"
              f"   = {t_dist / t_ours:.2f}x the single-process run; sent {sent / 2**20:.1f} MiB "
              f"(W once per pass: {8 * p * d / 2**20:.1f} MiB), returned {parts} "
              f"partial sums of {8 * p * d / 2**20:.1f} MiB per gradient pass")
    print(f"speed-up vs naive: {t_naive / t_ours:.2f}x (target ≥ 3)   memory ratio: "
          f"{m_ours / m_naive:.3f} (target ≤ 0.25)   time / matmul-only: {t_ours / t_mm:.2f} "
          f"(target ≤ 1.5)   float32 speed-up: {t_ours / t_32:.2f}x, test-error change "
          f"{abs(e_32 - e_ours):.2e}")


if __name__ == "__main__":
    main()
