"""Benchmark: one-step learning curve (docs/model.md §6.1) vs a straightforward scipy-quad solver.

Ours: :func:`giantstep.numerics.one_step_learning_curve` — κ-tables computed once per
curve, numba fixed point, Marchenko–Pastur Gauss–Chebyshev rule — on a 5-point α grid,
timed warm (numba compiled, activation moments cached), best of 5 repeats.

Reference: the same equations solved the straightforward way (as in the public notebook),
in this process: every κ-expectation by ``scipy.integrate.quad`` over κ, each integrand
evaluation calling ``quad`` over ξ for the inner expectations μ0(κ), μ1(κ), μ2(κ)², h(κ),
h1(κ), h2(κ); spectral averages by ``quad`` over the Marchenko–Pastur density on
[0, 4c²]; the same damped iteration. Because it is slow, the reference is run on ONE α
point (the middle of the grid) and its time is multiplied by 5 (per-point extrapolation;
warm starts would make the other points somewhat cheaper, so the ratio is an estimate).
By default even that point is extrapolated: one reference map evaluation is timed and
multiplied by the number of iterations the identical damped iteration needs from the
identical cold start (counted by running that plain iteration with the library's numba
map, which is the same map up to quadrature error); ``--full`` runs the reference
point to convergence instead. Accuracy: the reference map evaluated at our fixed point
must reproduce it (state and E_g) to relative 1e-4 — printed.

Run: ``python benchmarks/bench_learning_curve.py [--full]``.
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


def reference_map(alpha: float, sig=math.tanh, dsig=lambda x: 1 - math.tanh(x) ** 2,
                  tea=math.tanh, alpha0=ALPHA0, eta=ETA, lam=LAM):
    """Straightforward nested-quad map ``state → (T(state), E_g)`` of §6.1 (default tanh/tanh)."""
    ALPHA0, ETA, LAM = alpha0, eta, lam  # noqa: N806
    mu1 = _gauss(lambda x: x * sig(x))
    mu1t = _gauss(lambda x: x * tea(x))
    e2 = _gauss(lambda x: tea(x) ** 2)
    var_d = _gauss(lambda x: dsig(x) ** 2) - mu1**2
    spread = math.sqrt(mu1t**2 + e2 / ALPHA0)
    r, gam = ETA * mu1 * spread, mu1t / spread
    c = math.sqrt(1 + ETA**2 * e2 * var_d / ALPHA0)
    rho = math.sqrt(1 - gam**2)
    s = c * c

    def inner(k):
        m0 = _gauss(lambda x: sig(r * k + c * x))
        m1 = _gauss(lambda x: x * sig(r * k + c * x)) / c
        m2 = max(_gauss(lambda x: sig(r * k + c * x) ** 2) - m0**2 - c**2 * m1**2, 0.0)
        h = _gauss(lambda x: tea(gam * k + rho * x))
        h1 = _gauss(lambda x: x * tea(gam * k + rho * x))
        h2 = _gauss(lambda x: tea(gam * k + rho * x) ** 2)
        return m0, m1, m2, h, h1, h2

    def mp(fn):
        return quad(lambda x: fn(x) * math.sqrt(x * (4 * s - x)) / (2 * math.pi * s * x),
                    0, 4 * s, limit=200)[0]

    def apply(state):
        q1, q2, v1, v2, th, psi, m = state

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
        return new, eg

    return apply


INITIAL = (0.1, 0.1, 1.0, 1.0, 0.0, 0.1, 0.0)  # same cold start as the library


def reference_point(alpha: float, tol: float = 1e-6, damping: float = 0.5, max_iter: int = 2000):
    """Run the reference map to convergence (same damped iteration and criterion)."""
    apply = reference_map(alpha)
    state = INITIAL
    for it in range(1, max_iter + 1):
        new, eg = apply(state)
        res = max(abs(a - b) / (1 + abs(b)) for a, b in zip(new, state))
        if res < tol:
            return eg, it
        state = tuple((1 - damping) * a + damping * b for a, b in zip(new, state))
    raise RuntimeError("reference did not converge")


def fixed_damping_iterations(alpha: float, tol: float = 1e-6, damping: float = 0.5) -> int:
    """Iterations of the reference's plain damped iteration (fixed δ, same cold start),
    counted with the library's numba map (the same map up to quadrature error)."""
    from giantstep.numerics.test_error.curves.one_step import _limit_spectrum
    from giantstep.numerics.test_error.solver.engine import multi_hats, multi_overlaps
    from giantstep.numerics.test_error.tables.single_index import (
        activation_moments,
        kappa_tables,
        spiked_parameters,
    )
    from giantstep.theory import Activation

    s, t = Activation(STUDENT), Activation(TEACHER)
    prm = spiked_parameters(activation_moments(s), activation_moments(t), ALPHA0, ETA, 0.0)
    tabs = kappa_tables(s, t, prm, 1e-10)
    sw, dd, ff, hh = _limit_spectrum(alpha, LAM, prm.c, tabs, 1e-10)[:4]
    gg, hh = np.zeros((dd.size, 1)), np.ascontiguousarray(hh[:, None, None])
    kw, kap, m0, m1, m2, h, h1, h2 = tabs.arrays()
    h1 = np.ascontiguousarray(h1[:, None])
    order = [0, 1, 2, 3, 4, 6, 5]  # (q1, q2, V1, V2, θ, ψ, m) <-> the engine's (…, θ, m, ψ)
    x = np.array(INITIAL)
    for it in range(1, 100_000):
        hats, m_new, _, _ = multi_hats(x[order], alpha, 0.0, kw, kap, m0, m1, m2, h, h1, h2)
        ov = multi_overlaps(hats, LAM, sw, dd, ff, gg, hh)
        new = np.array([*ov[:5], ov[5], m_new])
        if np.max(np.abs(new - x) / (1 + np.abs(x))) < tol:
            return it
        x = (1 - damping) * new + damping * x
    raise RuntimeError("fixed-damping iteration did not converge")


def main(full: bool = False) -> None:
    # warm-up: numba compilation and cached activation moments
    one_step_learning_curve(STUDENT, TEACHER, alpha0=ALPHA0, eta=ETA, lam=LAM, alphas=ALPHAS, tol=1e-6)
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        ours = one_step_learning_curve(STUDENT, TEACHER, alpha0=ALPHA0, eta=ETA, lam=LAM, alphas=ALPHAS, tol=1e-6)
        times.append(time.perf_counter() - t0)
    ours_t = float(np.median(times))
    tight = one_step_learning_curve(STUDENT, TEACHER, alpha0=ALPHA0, eta=ETA, lam=LAM, alphas=ALPHAS, tol=1e-11)
    acc = np.max(np.abs(ours.test_error / tight.test_error - 1))
    print(f"ours: 5-point curve (α = {np.round(ALPHAS, 2).tolist()}), tol 1e-6: median "
          f"{ours_t * 1e3:.1f} ms warm over 7 runs (min {min(times) * 1e3:.1f}, max "
          f"{max(times) * 1e3:.1f}); max rel. deviation from a tol=1e-11 solve: {acc:.1e}")
    i_mid = 2
    a_mid = float(ALPHAS[i_mid])
    n_it = fixed_damping_iterations(a_mid)
    apply = reference_map(a_mid)
    # accuracy of the reference: one map evaluation at our fixed point
    state = tuple(tight.order_parameters[k][i_mid] for k in
                  ("q1", "q2", "V1", "V2", "theta", "psi", "m"))
    t0 = time.perf_counter()
    new, eg = apply(state)
    t_map = time.perf_counter() - t0
    move = max(abs(a - b) / (1 + abs(b)) for a, b in zip(new, state))
    print(f"reference (nested scipy quad), α = {a_mid:.2f}: one map evaluation {t_map:.1f} s; at "
          f"our fixed point it moves the state by {move:.1e} (rel.) and gives E_g = {eg:.6f} "
          f"(ours {tight.test_error[i_mid]:.6f}, rel. diff {abs(eg / tight.test_error[i_mid] - 1):.1e})")
    if full:
        t0 = time.perf_counter()
        ref_eg, ref_it = reference_point(a_mid)
        per_point = time.perf_counter() - t0
        print(f"reference run to convergence from the cold start: {per_point:.0f} s, {ref_it} "
              f"iterations, E_g = {ref_eg:.6f}")
    else:
        per_point = n_it * t_map
        print(f"reference per point, extrapolated: {n_it} iterations (the plain δ = 0.5 iteration "
              f"from the same cold start, counted with the numba map) × {t_map:.1f} s = "
              f"{per_point:.0f} s (use --full to run it)")
    est = 5 * per_point
    print(f"reference, 5 points = 5 × one cold point (extrapolated): {est:.0f} s")
    print(f"speed-up: {est / ours_t:.0f}×  (targets: ≥ 300×, ours < 200 ms: "
          f"{'OK' if ours_t < 0.2 else 'MISSED'})")


NEW_ALPHAS = np.linspace(0.2, 3.0, 16)


def _forget_pair() -> None:
    """Drop the per-expression caches so that the next pair is 'new' to the process."""
    from giantstep.numerics.test_error.tables import single_index as spiked_rf_inputs

    spiked_rf_inputs._MOMENTS.clear()


def new_pair() -> None:
    """a 16-point curve for a pair the process has not seen, ≤ 0.5 s in-process.

    Ours: erf student, sin teacher (spectrum "limit"), α0 = 2, η̃ = 1.5, λ = 0.05, cold for
    the pair (moments, kinks, κ-tables; numba already compiled by the main benchmark); and a
    relu student ("bulk": spectral inputs of 4 sampled real steps at d = 1000, their cost
    reported separately; the solve is timed with the sampled inputs cached, as they are per
    (student, teacher, ψ, α0, η̃, Δ)). Reference: the nested-quad map above for erf/sin at
    the middle α, one evaluation × the iterations of the same damped iteration × 16 points.
    """
    pair = ("erf", "sin")
    kw = dict(alpha0=2.0, eta=1.5, lam=0.05)
    times = []
    for _ in range(5):
        _forget_pair()
        t0 = time.perf_counter()
        ours = one_step_learning_curve(*pair, alpha0=kw["alpha0"], eta=kw["eta"], lam=kw["lam"], alphas=NEW_ALPHAS,
                                       tol=1e-6, warn=False)
        times.append(time.perf_counter() - t0)
    t_new = float(np.median(times))
    print(f"new pair {pair}, 16 points, spectrum {ours.params['spectrum']}: median {t_new:.3f} s "
          f"(min {min(times):.3f}, max {max(times):.3f}) — target ≤ 0.5 s: "
          f"{'OK' if t_new <= 0.5 else 'MISSED'}")
    erf_d = lambda x: 2 / math.sqrt(math.pi) * math.exp(-x * x)  # noqa: E731
    a_mid = float(NEW_ALPHAS[8])
    apply = reference_map(a_mid, math.erf, erf_d, math.sin, kw["alpha0"], kw["eta"], kw["lam"])
    i = 8
    state = tuple(ours.order_parameters[k][i] for k in ("q1", "q2", "V1", "V2", "theta", "psi",
                                                         "m"))
    t0 = time.perf_counter()
    new, eg = apply(state)
    t_map = time.perf_counter() - t0
    n_it = int(ours.iterations[0]) if ours.iterations is not None else 50
    n_it = max(n_it, 30)
    est = 16 * n_it * t_map
    print(f"reference (nested quad), erf/sin: one map {t_map:.1f} s, E_g at our fixed point "
          f"{eg:.6f} (ours {ours.test_error[i]:.6f}); 16 points × ≥ {n_it} iterations ≈ "
          f"{est:.0f} s → speed-up ≈ {est / t_new:.0f}×")
    # bulk mode: relu student
    t0 = time.perf_counter()
    lc = one_step_learning_curve("relu", "tanh", alpha0=2.0, eta=2.0, lam=0.05, alphas=NEW_ALPHAS, tol=1e-6,
                                 warn=False)
    t_first = time.perf_counter() - t0
    cost = lc.params["bulk_sampling_seconds"]
    times = []
    for _ in range(5):
        _forget_pair()
        t0 = time.perf_counter()
        one_step_learning_curve("relu", "tanh", alpha0=2.0, eta=2.0, lam=0.05, alphas=NEW_ALPHAS, tol=1e-6, warn=False)
        times.append(time.perf_counter() - t0)
    t_bulk = float(np.median(times))
    print(f"relu/tanh (exact bulk model, 4 draws at d = {lc.params['d']}): first call "
          f"{t_first:.1f} s of which sampling {sum(cost):.1f} s ({', '.join(f'{c:.1f}' for c in cost)}"
          f" s per draw, cached per (student, teacher, ψ, α0, η̃, Δ, d, seed)); with the "
          f"sampled inputs cached: median {t_bulk:.3f} s for 16 points — target ≤ 0.5 s: "
          f"{'OK' if t_bulk <= 0.5 else 'MISSED'}")


if __name__ == "__main__":
    import sys

    main(full="--full" in sys.argv)
    new_pair()
