"""Benchmark of the generative-exponent hot paths, each next to a straightforward
reference computing the same quantity in the same process.

1. Level-set strength ``E_y[E[z | y]²]`` for ``y = He3(z)`` (one variable, exact level sets):
   ours (batched companion-matrix roots + composite Gauss–Legendre) vs ``scipy.integrate.quad``
   with ``numpy.roots`` at every integrand evaluation.
2. Binned strength for ``y = z1 z2`` (two free coordinates): ours (midpoint grid, equal-mass bins)
   vs Monte Carlo with 2·10⁶ samples and the same binning; exact value from Bessel functions.
3. Hermite tensors of the label powers ``y^m`` (the moment test functions): our vectorised
   builder vs ``HermiteExpansion.tensor`` (permutation loops), for ``He3(z1)^3`` (the
   reference needs 9! permutations per entry; ``y^4`` would need 12!).

Run: ``python benchmarks/bench_generative.py``
"""

from __future__ import annotations

import math
import time

import mpmath as mp
import numpy as np
from scipy.integrate import quad

from giantstep.theory import Target
from giantstep.theory.structure.generative import _fast_context, conditional_strength


def _timed(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def reference_levelset_he3() -> float:
    def m_of(y):
        roots = np.roots([1.0, 0.0, -3.0, -y])
        s = roots.real[np.abs(roots.imag) < 1e-7]
        w = np.exp(-0.5 * s * s) / np.abs(3 * s * s - 3)
        return float(np.sum(w * s) / np.sum(w))

    def f(x):
        return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) * m_of(x**3 - 3 * x) ** 2

    pts = [-12, -2, -1, 1, 2, 12]
    return sum(quad(f, a, b, limit=200, epsabs=1e-12, epsrel=1e-10)[0] for a, b in zip(pts[:-1], pts[1:]))


def reference_mc_product(n: int = 2_000_000, bins: int = 400, seed: int = 0) -> float:
    g = np.random.default_rng(seed)
    z = g.standard_normal((n, 2))
    y = z[:, 0] * z[:, 1]
    lab = np.minimum((np.argsort(np.argsort(y)) * bins) // n, bins - 1)
    out = 0.0
    for h in (z[:, 0] ** 2 - 1, z[:, 0] * z[:, 1]):
        S = np.bincount(lab, weights=h, minlength=bins)
        W = np.bincount(lab, minlength=bins)
        out += float(np.sum(S**2 / W)) / n
    return out


def main() -> None:
    print("1. E_y[E[z|y]²], y = He3(z)")
    t_ours, (v_ours, e_ours) = _timed(lambda: conditional_strength("He3(z1)", 1, np.array([1.0])))
    t_ref, v_ref = _timed(reference_levelset_he3, repeat=1)
    print(f"   ours      {v_ours:.12f} ± {e_ours:.1e}   {t_ours * 1e3:8.1f} ms")
    print(f"   scipy     {v_ref:.12f}             {t_ref * 1e3:8.1f} ms   (ratio {t_ref / t_ours:.1f}×)")

    print("2. E[‖E[He2(z)|y][e1,·]‖²], y = z1 z2")
    mfun = lambda y: y * mp.besselk(1, y) / mp.besselk(0, y) - 1  # noqa: E731
    exact = float(1 + 2 * mp.quad(lambda y: mp.besselk(0, y) / mp.pi * mfun(y) ** 2, [0, 1, mp.inf]))
    t_ours, (v_ours, e_ours) = _timed(lambda: conditional_strength("z1*z2", 2, np.array([1.0, 0.0])))
    t_ref, v_ref = _timed(reference_mc_product, repeat=1)
    print(f"   exact     {exact:.6f}")
    print(f"   ours      {v_ours:.6f} ± {e_ours:.1e}   {t_ours * 1e3:8.1f} ms")
    print(f"   MC 2e6    {v_ref:.6f}             {t_ref * 1e3:8.1f} ms   (ratio {t_ref / t_ours:.1f}×)")

    print("3. Hermite tensors C_0..C_9 of He3(z1)^3")
    t = Target("(z1**3 - 3*z1)**3")
    _ = t.expansion
    t_ours, ctx = _timed(lambda: _fast_context(t, None))
    t_ref, ref = _timed(lambda: t.expansion.tensors(t.expansion.max_degree), repeat=1)
    same = all(np.array_equal(a, b) for a, b in zip(ctx.tensors, ref))
    print(f"   ours      {t_ours * 1e3:8.2f} ms   reference (permutations) {t_ref * 1e3:8.2f} ms   "
          f"(ratio {t_ref / t_ours:.1f}×, identical: {same})")


if __name__ == "__main__":
    main()
