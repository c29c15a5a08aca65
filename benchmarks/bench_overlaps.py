"""Benchmark of the several-step overlap equations (docs/model.md §5.3).

Workload: 4 giant steps, r = 2 (g* = ((z1+z1²)+(z2−z2²))/2), relu, sign readout,
α = 2, η̃ = 2, accuracy 1e-4.

Printed:
1. ``overlap_trajectory`` warm (numba compiled, best of 5);
2. a straightforward numpy Monte-Carlo evaluation of the same equations (same
   recursion, expectations over the latent Gaussian κ by sampling; the inner
   ξ-expectations in closed form for relu), run in this process at N samples per
   step. Its Monte-Carlo standard error on the overlap updates is measured, and
   the time it would need for standard error 1e-4 is extrapolated (time ∝ N ∝ 1/se²);
3. time to first result in a fresh interpreter with an empty numba cache (cold,
   compilation included) and again with that cache filled (warm cache).

Run: ``python benchmarks/bench_overlaps.py [--mc-samples N]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy import special

TARGET = "((z1+z1**2)+(z2-z2**2))/2"
KW = dict(alpha=2.0, eta=2.0, steps=4, readout="sign", tol=1e-4)


def g_star(z: np.ndarray) -> np.ndarray:
    return ((z[:, 0] + z[:, 0] ** 2) + (z[:, 1] - z[:, 1] ** 2)) / 2


def relu_smoothed(a: np.ndarray, b: float):
    """S, Φ, Φd, Φ2 of relu for h = a + bξ (closed forms)."""
    t = a / b
    cdf = special.ndtr(t)
    pdf = np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)
    return a * cdf + b * pdf, cdf, pdf / b, cdf


def monte_carlo_trajectory(n_samples: int, seed: int = 0, chunk: int = 500_000):
    """The §5.3 recursion with every κ-expectation estimated from n_samples draws per step.

    Returns the final + type overlap and the largest Monte-Carlo standard error of the
    overlap increments η̃ s E[e Φ z] met along the way.
    """
    rng = np.random.default_rng(seed)
    alpha, eta, steps = KW["alpha"], KW["eta"], KW["steps"]
    s = np.array([1.0, -1.0])
    pi = np.array([0.5, 0.5])
    r, K = 2, 2
    M = np.zeros((K, r))  # coefficients on κ = (z, u)
    q = np.ones(K)
    worst_se = 0.0
    for _ in range(steps):
        D = M.shape[1]
        Ez = np.zeros((K, D))
        Ez2 = np.zeros((K, r))
        Ed = np.zeros(K)
        Vp = np.zeros(K)
        Gm = np.zeros((K, K))
        done = 0
        while done < n_samples:
            m = min(chunk, n_samples - done)
            kappa = rng.standard_normal((m, D))
            g = g_star(kappa[:, :r])
            A = kappa @ M.T
            F = np.zeros(m)
            Phi = np.empty((K, m))
            Phid = np.empty((K, m))
            Phi2 = np.empty((K, m))
            for k in range(K):
                S, Phi[k], Phid[k], Phi2[k] = relu_smoothed(A[:, k], np.sqrt(q[k]))
                F += pi[k] * s[k] * S
            e = g - F
            for k in range(K):
                x = (e * Phi[k])[:, None] * kappa
                Ez[k] += x.sum(axis=0)
                Ez2[k] += (x[:, :r] ** 2).sum(axis=0)
                Ed[k] += (e * Phid[k]).sum()
                Vp[k] += (e * e * (Phi2[k] - Phi[k] ** 2)).sum()
                for j in range(K):
                    Gm[k, j] += (e * e * Phi[k] * Phi[j]).sum()
            done += m
        Ez /= n_samples
        var = Ez2 / n_samples - Ez[:, :r] ** 2
        worst_se = max(worst_se, float(eta * np.sqrt(var.max() / n_samples)))
        Ed /= n_samples
        Vp /= n_samples
        Gm /= n_samples * alpha
        M = M + eta * s[:, None] * Ez
        q = q * (1 + eta * s * Ed) ** 2 + eta**2 * Vp / alpha
        lam, U = np.linalg.eigh(Gm)
        keep = lam > 1e-12 * lam.max()
        L = U[:, keep] * np.sqrt(lam[keep])
        M = np.hstack([M, eta * s[:, None] * L])
    return M[0, :r], worst_se


def fresh_process_seconds(cache_dir: str) -> float:
    code = (
        "import time; t=time.perf_counter(); "
        "from giantstep.numerics import overlap_trajectory; "
        f"overlap_trajectory({TARGET!r}, 'relu', **{KW!r}); "
        "print(time.perf_counter()-t)"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mc-samples", type=int, default=2_000_000)
    parser.add_argument("--skip-cold", action="store_true")
    args = parser.parse_args()

    from giantstep.numerics import overlap_trajectory

    res = overlap_trajectory(TARGET, "relu", **KW)  # compile / load cache
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        res = overlap_trajectory(TARGET, "relu", **KW)
        times.append(time.perf_counter() - t0)
    ours = min(times)
    plus = res.steps[-1].types[0].overlap
    print(f"workload: {TARGET}, relu, sign readout, α=2, η̃=2, 4 steps, tol 1e-4")
    print(f"overlap_trajectory (warm, best of 5): {ours * 1e3:8.1f} ms   m+ = {np.round(plus, 5)}"
          f"   (quadrature difference {res.quadrature['difference_with_previous_rule']:.1e})")

    t0 = time.perf_counter()
    mc_plus, se = monte_carlo_trajectory(args.mc_samples)
    t_mc = time.perf_counter() - t0
    n_needed = args.mc_samples * (se / 1e-4) ** 2
    t_needed = t_mc * n_needed / args.mc_samples
    print(f"numpy Monte Carlo, N = {args.mc_samples:.1e}/step: {t_mc:8.2f} s   m+ = "
          f"{np.round(mc_plus, 4)}, standard error of the overlap updates ≤ {se:.1e}")
    print(f"numpy Monte Carlo at standard error 1e-4 (N ≈ {n_needed:.1e}/step, extrapolated): "
          f"{t_needed:8.1f} s")
    print(f"ratio (Monte Carlo at 1e-4 / ours): {t_needed / ours:,.0f}x   "
          f"(measured run at N={args.mc_samples:.0e}: {t_mc / ours:,.0f}x)")
    print(f"|ours − Monte Carlo| on m+ = {np.abs(plus - mc_plus).max():.1e} "
          f"(expected ≲ 3 s.e. accumulated over the steps)")

    if not args.skip_cold:
        with tempfile.TemporaryDirectory() as tmp:
            cold = fresh_process_seconds(tmp)
            warm = fresh_process_seconds(tmp)
        print(f"fresh interpreter, empty numba cache (cold, compile included): {cold:6.2f} s")
        print(f"fresh interpreter, warm numba cache:                            {warm:6.2f} s")


if __name__ == "__main__":
    main()
