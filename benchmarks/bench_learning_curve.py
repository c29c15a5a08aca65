"""Benchmark: one-step learning curve (THEORY.md §6.1) vs a straightforward scipy-quad solver.

Ours: :func:`giantstep.numerics.one_step_learning_curve` — κ-tables computed once per
curve, numba fixed point, Marchenko–Pastur Gauss–Chebyshev rule — on a 5-point α grid,
timed warm (numba compiled, activation moments cached), best of 5 repeats.

Reference: the same equations solved the straightforward way (as in the public notebook),
in this process: every κ-expectation by ``scipy.integrate.quad`` over κ, each integrand
evaluation calling ``quad`` over ξ for the inner expectations μ0(κ), μ1(κ), μ2(κ)², h(κ),
h1(κ), h2(κ); spectral averages by ``quad`` over the Marchenko–Pastur density on
[0, 4c²]; the same damped iteration. Because it is slow, the reference is run on ONE α
point (the middle of the grid) from the same cold start and its time is multiplied by 5
(per-point extrapolation; warm starts would make the other points somewhat cheaper, so
the quoted ratio is an estimate). Accuracy: both reach relative 1e-4 on the test error;
the script prints the relative difference at that point.

Run: ``python benchmarks/bench_learning_curve.py``.
"""

# ruff: noqa: B023  (the reference builds closures over the iterate, used immediately)
from __future__ import annotations

import math
import time

import numpy as np
from scipy.integrate import quad

from giantstep.numerics import one_step_learning_curve

STUDENT = TEACHER = "tanh"
ALPHA0, ETA, LAM = 0.5, 1.0, 0.01
ALPHAS = np.linspace(0.2, 3.0, 5)
INF = np.inf


def _gauss(fn):
    return quad(lambda x: fn(x) * math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi), -INF, INF)[0]


def reference_point(alpha: float, tol: float = 1e-6, damping: float = 0.3, max_iter: int = 2000):
    """Straightforward nested-quad solver of §6.1 for tanh/tanh (one α point)."""
    sig, dsig, tea = math.tanh, lambda x: 1 - math.tanh(x) ** 2, math.tanh
    mu1 = _gauss(lambda x: x * sig(x))
    mu1t = _gauss(lambda x: x * tea(x))
    e2 = _gauss(lambda x: tea(x) ** 2)
    var_d = _gauss(lambda x: dsig(x) ** 2) - mu1**2
    spread = math.sqrt(mu1t**2 + e2 / ALPHA0)
    r, gam = ETA * mu1 * spread, mu1t / spread
    c = math.sqrt(1 + ETA**2 * e2 * var_d / ALPHA0)
    rho = math.sqrt(1 - gam**2)

    def inner(k):
        m0 = _gauss(lambda x: sig(r * k + c * x))
        m1 = _gauss(lambda x: x * sig(r * k + c * x)) / c
        m2 = max(_gauss(lambda x: sig(r * k + c * x) ** 2) - m0**2 - c**2 * m1**2, 0.0)
        h = _gauss(lambda x: tea(gam * k + rho * x))
        h1 = _gauss(lambda x: x * tea(gam * k + rho * x))
        h2 = _gauss(lambda x: tea(gam * k + rho * x) ** 2)
        return m0, m1, m2, h, h1, h2

    s = c * c

    def mp(fn):
        return quad(lambda x: fn(x) * math.sqrt(x * (4 * s - x)) / (2 * math.pi * s * x),
                    0, 4 * s, limit=200)[0]

    q1, q2, v1, v2, th, psi, m = 0.1, 0.1, 1.0, 1.0, 0.0, 0.1, 0.0
    for it in range(1, max_iter + 1):
        def parts(k):
            m0, m1, m2, h, h1, h2 = inner(k)
            vk = m1**2 * v1 + m2 * v2
            ck = m0 * m + m1 * k * th
            rk = h2 + ck**2 - 2 * ck * h - 2 * m1 * psi * h1 + m1**2 * q1 + m2 * q2
            return m0, m1, m2, h, h1, vk, ck, rk

        def g(fn):
            return _gauss(lambda k: fn(*parts(k), k))

        qh1 = alpha * g(lambda m0, m1, m2, h, h1, vk, ck, rk, k: m1**2 * rk / (1 + vk) ** 2)
        qh2 = alpha * g(lambda m0, m1, m2, h, h1, vk, ck, rk, k: m2 * rk / (1 + vk) ** 2)
        vh1 = alpha * g(lambda m0, m1, m2, h, h1, vk, ck, rk, k: m1**2 / (1 + vk))
        vh2 = alpha * g(lambda m0, m1, m2, h, h1, vk, ck, rk, k: m2 / (1 + vk))
        thh = alpha * g(lambda m0, m1, m2, h, h1, vk, ck, rk, k: k * m1 * (h - ck) / (1 + vk))
        psih = alpha * g(lambda m0, m1, m2, h, h1, vk, ck, rk, k: m1 * h1 / (1 + vk))
        m_new = (g(lambda m0, m1, m2, h, h1, vk, ck, rk, k: m0 * (h - m1 * k * th) / (1 + vk))
                 / g(lambda m0, m1, m2, h, h1, vk, ck, rk, k: m0**2 / (1 + vk)))
        eg = g(lambda m0, m1, m2, h, h1, vk, ck, rk, k: rk)

        def num(x):
            return (qh1 * x + qh2 + thh**2 * s + psih**2 * x) / (LAM + vh1 * x + vh2) ** 2

        new = (mp(lambda x: x * num(x)), mp(num), mp(lambda x: x / (LAM + vh1 * x + vh2)),
               mp(lambda x: 1 / (LAM + vh1 * x + vh2)),
               thh * s * mp(lambda x: 1 / (LAM + vh1 * x + vh2)),
               psih * mp(lambda x: x / (LAM + vh1 * x + vh2)), m_new)
        old = (q1, q2, v1, v2, th, psi, m)
        res = max(abs(a - b) / (1 + abs(b)) for a, b in zip(new, old))
        if res < tol:
            return eg, it
        q1, q2, v1, v2, th, psi, m = ((1 - damping) * a + damping * b for a, b in zip(new, old))
    raise RuntimeError("reference did not converge")


def main() -> None:
    # warm-up: numba compilation and cached activation moments
    one_step_learning_curve(STUDENT, TEACHER, ALPHA0, ETA, LAM, ALPHAS, tol=1e-6)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        ours = one_step_learning_curve(STUDENT, TEACHER, ALPHA0, ETA, LAM, ALPHAS, tol=1e-6)
        times.append(time.perf_counter() - t0)
    ours_t = min(times)
    tight = one_step_learning_curve(STUDENT, TEACHER, ALPHA0, ETA, LAM, ALPHAS, tol=1e-11)
    acc = np.max(np.abs(ours.test_error / tight.test_error - 1))
    print(f"ours: 5-point curve (α = {np.round(ALPHAS, 2).tolist()}), tol 1e-6: "
          f"{ours_t * 1e3:.1f} ms warm (best of 5; median {np.median(times) * 1e3:.1f} ms); "
          f"max relative deviation from tol=1e-11: {acc:.1e}")
    a_mid = float(ALPHAS[2])
    t0 = time.perf_counter()
    ref_eg, ref_it = reference_point(a_mid)
    ref_t = time.perf_counter() - t0
    rel = abs(ref_eg / tight.test_error[2] - 1)
    print(f"reference (nested scipy quad): 1 point α = {a_mid:.2f}: {ref_t:.1f} s, {ref_it} "
          f"iterations, E_g = {ref_eg:.6f} (ours {tight.test_error[2]:.6f}, rel. diff {rel:.1e})")
    est = 5 * ref_t
    print(f"reference, 5 points extrapolated (×5): {est:.0f} s")
    print(f"speed-up: {est / ours_t:.0f}×  (target ≥ 300×, ours target < 200 ms: "
          f"{'OK' if ours_t < 0.2 else 'MISSED'})")


if __name__ == "__main__":
    main()
