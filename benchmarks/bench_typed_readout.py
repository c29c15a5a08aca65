"""Benchmark: the several-type one-step test error (numerics/test_error/solver/typed.py).

Ours: ``solve_typed_curve`` (Anderson mixing on the closed (V, θ, ψ, m) subsystem, one
Cholesky inverse per iteration, the (Q1, q2) stage as one linear system). Reference, in the
same process on the same sampled step and tables: the straightforward scheme — damped
iteration (δ = 0.5) of the whole map, the ridge side by ``np.linalg.inv`` and the
fluctuation overlaps with ``S⁻¹ N S⁻¹`` formed explicitly at every iteration.

    python benchmarks/bench_typed_readout.py [--d 600] [--alphas 4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from giantstep.numerics.test_error.solver import typed as tr
from giantstep.numerics.test_error.spectra.sampled_steps import blas_threads
from giantstep.theory import as_activation, as_target


def reference_point(alpha, lam, noise, tb, geo, x0, tol=1e-6, max_iter=5000):
    """Plain damped iteration of the full several-type map (explicit inverses)."""
    T, p, t = geo.r.size, geo.p, geo.types
    proj = [(t == k).astype(float) for k in range(T)]
    x = {k: np.array(v, float) for k, v in x0.items()}
    its = 0
    for _ in range(max_iter):
        its += 1
        en = tr.energetic(x, alpha, noise, tb, with_q=True)
        s_mat = en["V1h"][t][:, t] * geo.omega + np.diag(lam + en["V2h"][t])
        sinv = np.linalg.inv(s_mat)
        k = en["thh"][t] * geo.f + np.sum(en["psih"][t] * geo.h, axis=1)
        pm = np.stack(proj, axis=1)  # (p, T) indicators 1_t
        umat = pm.T @ sinv @ pm
        m = np.linalg.solve(np.eye(T) + umat @ en["m_gram"],
                            pm.T @ sinv @ k + umat @ en["m_rhs"])
        a = sinv @ (k + pm @ (en["m_rhs"] - en["m_gram"] @ m))
        n_mat = en["q1h"][t][:, t] * geo.omega + np.diag(en["q2h"][t])
        cov = sinv @ n_mat @ sinv
        new = {
            "V1": np.array([[np.sum(np.outer(proj[i], proj[j]) * geo.omega * sinv) / p
                             for j in range(T)] for i in range(T)]),
            "V2": np.array([proj[i] @ np.diag(sinv) / p for i in range(T)]),
            "theta": np.array([proj[i] @ (geo.f * a) for i in range(T)]),
            "psi": np.array([proj[i] @ (geo.h * a[:, None]) for i in range(T)]),
            "m": m,
            "Q1": np.array([[(proj[i] * a) @ geo.omega @ (proj[j] * a)
                             + np.sum(np.outer(proj[i], proj[j]) * geo.omega * cov) / p
                             for j in range(T)] for i in range(T)]),
            "q2": np.array([(proj[i] * a) @ a + proj[i] @ np.diag(cov) / p for i in range(T)]),
        }
        res = max(float(np.max(np.abs(new[key] - x[key]) / (1 + np.abs(x[key])))) for key in new)
        x = {key: 0.5 * new[key] + 0.5 * x[key] for key in new}
        if res < tol:
            break
    return tr.energetic(x, alpha, noise, tb, with_q=True)["test"], its


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", type=int, default=600)
    ap.add_argument("--alphas", type=int, default=4)
    args = ap.parse_args()
    st, tg = as_activation("relu"), as_target("tanh(z1)")
    alphas = np.linspace(0.5, 2.0, args.alphas)
    with blas_threads(1):
        geo = tr.sampled_typed_geometry(st, tg, 1.0, 1.0, 2.0, 0.0, args.d, 100, "sign", 8)
        tb = tr.typed_tables(st, tg, geo.r, geo.c, geo.gamma, geo.a, 1e-7)
        tr.solve_typed_curve(alphas[:1], 0.05, 0.0, tb, geo, 1e-6, 2000, 0.5)  # warm-up
        t0 = time.perf_counter()
        ours = tr.solve_typed_curve(alphas, 0.05, 0.0, tb, geo, 1e-6, 2000, 0.5)
        t_ours = time.perf_counter() - t0
        x0 = {"V1": np.eye(2), "V2": np.ones(2), "theta": np.zeros(2),
              "psi": np.full((2, 1), 0.05), "m": np.zeros(2), "Q1": np.zeros((2, 2)),
              "q2": np.zeros(2)}
        t0 = time.perf_counter()
        ref = []
        for a in alphas:
            e, _ = reference_point(float(a), 0.05, 0.0, tb, geo, x0)
            ref.append(e)
        t_ref = time.perf_counter() - t0
    print(f"relu / tanh(z1), sign readout, α0 = 1, η̃ = 2, λ = 0.05, d = p = {geo.p}, "
          f"{alphas.size} α points, one BLAS thread")
    print(f"ours      {t_ours:8.2f} s   iterations {ours['iterations'].astype(int).tolist()}")
    print(f"reference {t_ref:8.2f} s   (damped full map, np.linalg.inv, explicit S⁻¹NS⁻¹)")
    print(f"ratio     {t_ref / t_ours:8.1f}×   max |Δ test error| = "
          f"{float(np.max(np.abs(np.array(ref) - ours['test']))):.2e}")


if __name__ == "__main__":
    main()
