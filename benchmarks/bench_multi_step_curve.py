"""Benchmark of the several-step test-error curve (docs/model.md §6.2).

Workload: 4 giant steps, r = 2 (g* = z1 + z1 z2), erf student, sign readout (odd σ: exact
reduction to the constant readout), α0 = 2, η̃ = 1.5, λ = 0.05, 10 readout ratios α in
[0.3, 3], p = d; the default mode (exact bulk model) and the limit mode.

Printed:
1. ``multi_step_learning_curve`` warm (numba compiled, sampled trajectories cached in-process,
   best of 3), the first call's sampling cost, and the limit mode;
2. a straightforward reference run in this process: the §5.3 recursion of the constant
   type with every latent expectation sampled (N_rec draws per step, inner ξ-expectations in
   closed form for erf), then for each step the §6.1 multi-index fixed point iterated in
   plain numpy with every κ-integral a Monte-Carlo average over N draws of (κ, ξ) (joint
   samples of the teacher: the integrands are linear in h, h1, h2) and the Marchenko–Pastur
   average over the eigenvalues of one sampled 2000 × 2000 Wishart matrix;
3. both times, their ratio and the largest difference between the two curves (expected of
   the order of the Monte-Carlo error, ~1e-2).

4. the cost of the default mode in *fresh processes* (``--cache`` only runs this part): the
   first call with an empty on-disk cache of the sampled inputs (``GIANTSTEP_CACHE_DIR`` set
   to a new temporary folder: sampling + eigendecompositions), then a second fresh process
   that reads them back (numerics/test_error/spectra/step_cache.py), and whether the two curves are
   bit-identical.

Run: ``python benchmarks/bench_multi_step_curve.py [--samples N] [--cache]``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy.special import erf

TARGET = "z1 + z1*z2"
ALPHA0, ETA, STEPS, LAM = 2.0, 1.5, 4, 0.05
ALPHAS = np.linspace(0.3, 3.0, 10)


def g_star(z: np.ndarray) -> np.ndarray:
    return z[..., 0] + z[..., 0] * z[..., 1]


def erf_smoothed(a: np.ndarray, b: float):
    """E σ, E σ', E σ'', E σ'² of erf at a + bξ (closed forms)."""
    s2 = 1.0 + 2.0 * b * b
    phi = 2.0 / math.sqrt(math.pi) * np.exp(-a * a / s2) / math.sqrt(s2)
    phi2 = 4.0 / math.pi * np.exp(-2.0 * a * a / (1.0 + 4.0 * b * b)) / math.sqrt(1.0 + 4.0 * b * b)
    return erf(a / math.sqrt(s2)), phi, -2.0 * a / s2 * phi, phi2


def reference_geometry(n_samples: int, rng: np.random.Generator):
    """§5.3 recursion, one type (constant readout), expectations by sampling; returns the
    (r_t, γ_t, c_t) of t = 1..T."""
    r = 2
    m = np.zeros(r)  # coefficients on κ = (z, u)
    q = 1.0
    out = []
    for _ in range(STEPS):
        kap = rng.standard_normal((n_samples, m.size))
        a = kap @ m
        S, phi, phid, phi2 = erf_smoothed(a, math.sqrt(q))
        e = g_star(kap[:, :r]) - S
        ez = (e * phi) @ kap / n_samples
        ed = float(np.mean(e * phid))
        vp = float(np.mean(e * e * (phi2 - phi**2)))
        gm = float(np.mean(e * e * phi * phi)) / ALPHA0
        # Stein on the shared coordinates: E[e σ' u] = m^u (−E[Φ²] + E[(g* − F) Φd])
        cu = -float(np.mean(phi * phi)) + ed
        m = np.concatenate([m[:r] + ETA * ez[:r], m[r:] + ETA * cu * m[r:], [ETA * math.sqrt(gm)]])
        q = q * (1.0 + ETA * ed) ** 2 + ETA**2 * vp / ALPHA0
        rr = float(np.linalg.norm(m))
        out.append((rr, m[:r] / rr, math.sqrt(q)))
    return out


def reference_curve(geo, n_samples: int, eig: np.ndarray, rng: np.random.Generator,
                    spectrum=None):
    """§6.1 multi-index fixed point, every κ-integral by Monte Carlo (plain numpy).

    ``spectrum=None``: idealised bulk (eigenvalues ``c² eig``, F = c², H = D, G = 0);
    otherwise ``(amat, D, F, G, H)`` of a sampled real trajectory (exact bulk model)."""
    r, gamma, c = geo
    kap = rng.standard_normal(n_samples)
    xi = rng.standard_normal((n_samples, 2))
    if spectrum is None:
        w, v = np.linalg.eigh(np.eye(2) - np.outer(gamma, gamma))
        amat = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
        dd = c * c * eig
        ff, gg = np.full(dd.size, c * c), np.zeros((dd.size, 2))
        hh = dd[:, None, None] * np.eye(2)[None]
    else:
        amat, dd, ff, gg, hh = spectrum
    z = gamma[None, :] * kap[:, None] + xi @ amat.T
    g = g_star(z)
    gx, gw = np.polynomial.hermite_e.hermegauss(40)
    gw = gw / gw.sum()
    vals = erf(r * kap[:, None] + c * gx[None, :])
    mu0 = vals @ gw
    mu1 = (vals * gx[None, :]) @ gw / c
    mu2s = np.maximum((vals**2) @ gw - mu0**2 - c * c * mu1**2, 0.0)
    out = []
    x = np.array([0.1, 0.1, 1.0, 1.0, 0.0, 0.0, 0.1, 0.1])
    for alpha in ALPHAS:
        for _ in range(20_000):
            q1, q2, v1, v2, th, mm, p1, p2 = x
            vk = mu1**2 * v1 + mu2s * v2
            ck = mu0 * mm + mu1 * kap * th
            rk = g * g + ck * ck - 2 * ck * g - 2 * mu1 * (p1 * xi[:, 0] + p2 * xi[:, 1]) * g + (
                mu1**2 * q1 + mu2s * q2)
            inv = 1.0 / (1.0 + vk)
            qh1, qh2 = alpha * np.mean(mu1**2 * rk * inv**2), alpha * np.mean(mu2s * rk * inv**2)
            vh1, vh2 = alpha * np.mean(mu1**2 * inv), alpha * np.mean(mu2s * inv)
            thh = alpha * np.mean(kap * mu1 * (g - ck) * inv)
            ph = alpha * np.array([np.mean(mu1 * xi[:, k] * g * inv) for k in range(2)])
            m_new = np.mean(mu0 * (g - mu1 * kap * th) * inv) / np.mean(mu0**2 * inv)
            sv = 1.0 / (LAM + vh1 * dd + vh2)
            quad = thh**2 * ff + 2 * thh * (gg @ ph) + np.einsum("ikl,k,l->i", hh, ph, ph)
            num = (qh1 * dd + qh2 + quad) * sv * sv
            new = np.array([np.mean(dd * num), np.mean(num), np.mean(dd * sv), np.mean(sv),
                            np.mean((thh * ff + gg @ ph) * sv), m_new,
                            *np.mean((thh * gg + np.einsum("ikl,l->ik", hh, ph)) * sv[:, None],
                                     axis=0)])
            res = np.max(np.abs(new - x) / (1 + np.abs(x)))
            x = 0.5 * new + 0.5 * x
            if res < 1e-8:
                break
        out.append(float(np.mean(rk)))
    return np.array(out)


FRESH_CALL = """
import json, sys, time
t0 = time.perf_counter()
from giantstep.numerics import multi_step_learning_curve
cur = multi_step_learning_curve("erf", {target!r}, alpha0={alpha0}, eta={eta}, steps={steps},
                                lam={lam}, alphas={alphas}, readout="sign", warn=False)
print(json.dumps({{"seconds": time.perf_counter() - t0, "test": cur.test_error.tolist(),
                  "source": cur.params["bulk_inputs_source"]}}))
"""


def fresh_process_times() -> None:
    """First call (empty disk cache) and cached call of the default mode, each in a new
    interpreter (numba's compile cache warm in both)."""
    import json
    import os
    import subprocess
    import sys
    import tempfile

    code = FRESH_CALL.format(target=TARGET, alpha0=ALPHA0, eta=ETA, steps=STEPS, lam=LAM,
                             alphas=ALPHAS.tolist())
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GIANTSTEP_CACHE_DIR": tmp}
        runs = []
        for label in ("first call, empty cache", "fresh process, cached inputs"):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                 capture_output=True, text=True).stdout
            wall = time.perf_counter() - t0
            rec = json.loads(out.strip().splitlines()[-1])
            runs.append(rec)
            print(f"{label}: {wall:.2f} s wall (interpreter start included), "
                  f"{rec['seconds']:.2f} s from import to result; inputs: {rec['source']}")
    same = runs[0]["test"] == runs[1]["test"]
    print(f"cached and fresh curves bit-identical: {same}")


def _timed(fn, repeats: int = 3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000, help="κ draws per fixed point")
    parser.add_argument("--recursion-samples", type=int, default=2_000_000)
    parser.add_argument("--cache", action="store_true",
                        help="only time the first and the cached call in fresh processes")
    args = parser.parse_args()
    if args.cache:
        fresh_process_times()
        return

    from giantstep.numerics.test_error.curves.multi_step import multi_step_learning_curve
    from giantstep.numerics.test_error.tables.multi_index import sampled_bulk_geometries
    from giantstep.theory import as_activation, as_target

    kw = dict(alpha0=ALPHA0, eta=ETA, steps=STEPS, lam=LAM, alphas=ALPHAS, readout="sign",
              warn=False)
    print(f"workload: {TARGET}, erf, sign readout, α0={ALPHA0}, η̃={ETA}, {STEPS} steps, λ={LAM}, "
          f"{ALPHAS.size} α in [{ALPHAS[0]:g}, {ALPHAS[-1]:g}], p = d")
    t0 = time.perf_counter()
    cur = multi_step_learning_curve("erf", TARGET, **kw)  # default: exact bulk model
    first = time.perf_counter() - t0
    first_source = cur.params["bulk_inputs_source"]
    cur, ours = _timed(lambda: multi_step_learning_curve("erf", TARGET, **kw))
    print(f"default (spectrum auto = bulk: 4 sampled trajectories at d = 1000): first call "
          f"in this process {first:.2f} s (inputs {first_source}; original sampling cost "
          f"{sum(cur.params['bulk_sampling_seconds']):.2f} s)"
          f"; warm (trajectories in memory, best of 3): {ours:.3f} s")
    lim, ours_lim = _timed(lambda: multi_step_learning_curve("erf", TARGET, spectrum="limit", **kw))
    print(f"spectrum limit (idealised bulk), warm, best of 3: {ours_lim:.3f} s")

    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    geos = reference_geometry(args.recursion_samples, rng)
    w0 = rng.standard_normal((2000, 2000)) / math.sqrt(2000)
    eig = np.clip(np.linalg.eigvalsh(w0 @ w0.T), 0.0, None)
    ref_lim = np.array([reference_curve(geo, args.samples, eig, rng) for geo in geos])
    t_lim = time.perf_counter() - t0
    t0 = time.perf_counter()
    st, tg = as_activation("erf"), as_target(TARGET)
    ref_bulk = np.zeros((STEPS, ALPHAS.size))
    for k in range(4):
        traj = sampled_bulk_geometries(st, tg, 1.0, ALPHA0, ETA, 0.0, 1000, k, STEPS)
        for t, g in enumerate(traj):
            ref_bulk[t] += reference_curve((g[0], g[1], g[3]), args.samples // 4, eig, rng,
                                           spectrum=(g[2], g[4], g[5], g[6], g[7])) / 4
    t_bulk = time.perf_counter() - t0
    print(f"reference, Monte Carlo over the latent variables (N = {args.samples:.0e} per fixed "
          f"point; limit: §5.3 recursion sampled with {args.recursion_samples:.0e} per step)")
    print(f"  bulk (same cached trajectories): {t_bulk:8.2f} s   ratio reference/ours "
          f"{t_bulk / ours:,.0f}x   max |ours − reference| {np.abs(ref_bulk - cur.test_error).max():.1e}")
    print(f"  limit:                            {t_lim:8.2f} s   ratio reference/ours "
          f"{t_lim / ours_lim:,.0f}x   max |ours − reference| "
          f"{np.abs(ref_lim - lim.test_error).max():.1e}   (Monte-Carlo error ~1e-2)")
    for t in range(STEPS):
        print(f"  step {t + 1}: bulk ours {np.round(cur.test_error[t, [0, 4, 9]], 4)} reference "
              f"{np.round(ref_bulk[t, [0, 4, 9]], 4)} | limit ours "
              f"{np.round(lim.test_error[t, [0, 4, 9]], 4)} reference "
              f"{np.round(ref_lim[t, [0, 4, 9]], 4)}  (α = {ALPHAS[[0, 4, 9]].round(2)})")
    fresh_process_times()


if __name__ == "__main__":
    main()
