"""Benchmark of the AMP analysis (docs/amp.md §6).

0. One-direction and radial thresholds by exact label integrals (theory/amp_single.py),
   warm, target ≤ 0.2 s each; next to the Monte-Carlo estimate of the same operator
   (validation.gamp.monte_carlo_operator, 4·10⁶ samples, 200 equal-count bins), in the
   same process; and a two-direction threshold (``z1*z2``, target ≤ 2 s).
   The README curve ``giantstep amp "z1*z2" --alpha 0.2:2:10`` (state evolution at 10 α).
1. Weak-recovery threshold of the 3-index target ``z1² + z2² + z3²`` (exact α_c = 3/2),
   warm, target: relative accuracy 1e-3 in < 2 s; next to the Monte-Carlo estimate of the
   same operator ``M ↦ E_y[G M G]`` (validation.gamp.monte_carlo_operator, 4·10⁶ samples),
   in the same process.
2. The GAMP state-evolution curve of ``z1² + z2²`` (r = 2) at 20 values of α in [0.1, 2],
   warm, target < 5 s (Δ = 0, and Δ = 0.5), with the stated quadrature error of the fixed
   point (solved again on the finer rule, numerics/amp_state_evolution.py); next to a Monte-Carlo state evolution of the
   Δ = 0.5 problem (each SE step by validation.gamp.monte_carlo_state_evolution_map,
   30 plain iterations per α), in the same process.

Run: ``python benchmarks/bench_amp.py``
"""

from __future__ import annotations

import os
import time

import numpy as np

from giantstep.numerics.amp_state_evolution import state_evolution
from giantstep.theory.amp import amp_analysis
from giantstep.validation.gamp import monte_carlo_operator, monte_carlo_state_evolution_map


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def one_direction() -> None:
    """Item 0 of the module docstring."""
    cases = [("He4(z1)", 0.0, 0.644850471), ("He4(z1)", 0.05, 0.660146), ("cos(z1)", 0.0, None),
             ("(z1**2 + z2**2 + z3**2 - 3)**2", 0.0, 2.14164037), ("z1**2 + z2**2 + z3**2 + z4**2", 0.0, 2.0)]
    print("0. one direction / radial: exact label integrals next to Monte Carlo (4e6 samples)")
    for text, noise, ref in cases:
        amp_analysis(text, noise=noise)  # warm
        t_q, res = timed(lambda: amp_analysis(text, noise=noise))  # noqa: B023
        st = res.stages[0]
        t_mc, (_, _, lam) = timed(lambda: monte_carlo_operator(text, noise, n_samples=4_000_000, seed=0))  # noqa: B023
        refs = f"reference {ref:.7g}" if ref else "reference: docs/amp.md §3"
        print(f"   {text:32s} Δ={noise:<5g} α_c = {st.alpha_c:.7f} ± {st.error:.1e}  {t_q:.3f} s | "
              f"MC {1 / lam:.5f}  {t_mc:.2f} s | {refs}")
    amp_analysis("z1*z2")
    t2, res = timed(lambda: amp_analysis("z1*z2"))
    print(f"   z1*z2 (two directions): α_c = {res.stages[0].alpha_c:.6f} ± {res.stages[0].error:.1e}  "
          f"{t2:.2f} s (target ≤ 2 s; Bessel integral 0.5937511)")
    alphas = np.linspace(0.2, 2.0, 10)
    t_c, curve = timed(lambda: state_evolution("z1*z2", alphas=alphas))
    print(f"   README curve z1*z2, 10 α in [0.2, 2]: {t_c:.1f} s (target ≤ 10 s)")


def main() -> None:
    one_direction()
    expr3 = "z1**2 + z2**2 + z3**2"
    amp_analysis(expr3)  # warm (imports, sympy compilation)
    t_q, res = timed(lambda: amp_analysis(expr3))
    a_q = res.stages[0].alpha_c
    t_mc, (_, _, lam) = timed(lambda: monte_carlo_operator(expr3, 0.0, n_samples=4_000_000, seed=0))
    a_mc = 1 / lam
    print("1. threshold of z1² + z2² + z3² (exact 3/2)")
    print(f"   quadrature : α_c = {a_q:.6f}  rel. error {abs(a_q / 1.5 - 1):.1e} "
          f"(estimated ±{res.stages[0].error:.1e})  {t_q:.2f} s (target < 2 s, 1e-3)")
    print(f"   Monte Carlo: α_c = {a_mc:.6f}  rel. error {abs(a_mc / 1.5 - 1):.1e}  {t_mc:.2f} s")
    print(f"   time ratio Monte Carlo / quadrature = {t_mc / t_q:.1f}")

    expr2 = "z1**2 + z2**2"
    alphas = np.linspace(0.1, 2.0, 20)
    state_evolution(expr2, alphas=alphas[:2])  # warm (numba kernel, channel)
    t_se, se = timed(lambda: state_evolution(expr2, alphas=alphas))
    state_evolution(expr2, alphas=alphas[:2], noise=0.5)
    t_sen, sen = timed(lambda: state_evolution(expr2, alphas=alphas, noise=0.5))

    def mc_curve():
        out = []
        for k, a in enumerate(alphas):
            Q = 1e-2 * np.eye(2)
            for it in range(30):
                Q = monte_carlo_state_evolution_map(expr2, a, Q, noise=0.5, n_samples=100_000,
                                                    seed=1000 * k + it)
            out.append(np.trace(Q) / 2)
        return out

    t_mcse, mc = timed(mc_curve)
    print("2. GAMP state evolution of z1² + z2², 20 α in [0.1, 2]")
    for name, t_, res in (("Δ = 0  ", t_se, se), ("Δ = 0.5", t_sen, sen)):
        top = max((p for p in res.points if p.quadrature_error is not None), key=lambda p: p.alpha,
                  default=None)
        where = f" at α = {top.alpha:g} (finer rule: {top.fine_overlap:.5f})" if top else ""
        print(f"   quadrature {name}: {t_:.2f} s (target < 5 s), {sum(p.iterations for p in res.points)} "
              f"map evaluations; stated quadrature error on the fixed point {res.quadrature_error:.1e}{where}")
    print(f"   Monte Carlo Δ = 0.5: {t_mcse:.2f} s (30 iterations, 1e5 samples per step)")
    print(f"   time ratio Monte Carlo / quadrature (Δ = 0.5) = {t_mcse / t_sen:.1f}")
    print(f"   load average (1 min) at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("   α      Δ=0 quad  Δ=0.5 quad  Δ=0.5 MC")
    for a, p, pn, m in zip(alphas, se.points, sen.points, mc):
        print(f"   {a:5.2f}  {p.overlap:8.4f}  {pn.overlap:10.4f}  {m:8.4f}")


if __name__ == "__main__":
    main()
