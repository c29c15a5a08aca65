"""Independent computations for the reference table of docs/amp.md §3 (no library code).

Each function computes ``λ = 1/α_c`` of a one-direction or radial target by a method
written for the table:

* ``poly_branches``: branch integral for a polynomial label at Δ = 0: roots of
  ``p(x) = y`` by ``numpy.roots``, weights ``φ(x)/|p'(x)|``, scipy quad in ``t`` with
  ``y = a + t²`` at each critical value (removes the square-root singularities);
* ``cos_branches``: ``y = cos θ``; the branches ``±θ + 2πk`` share ``|sin x|``, so
  ``λ = ∫_0^π (Σ φ(x_k)(x_k² − 1))² / Σ φ(x_k) dθ``;
* ``deposit``: Δ > 0 by depositing ``g(z)`` (z on a uniform grid) linearly on a y-grid
  of step ``σ/40`` and convolving with the Gaussian of variance ``σ² − h²/6``;
* ``radial_deposit``: the same with ``ρ = |z|²`` of ``m`` coordinates on a grid with the
  ``χ²_m`` density and statistic ``ρ/m − 1``;
* closed forms where they exist.

Run: ``python benchmarks/amp_reference_table.py`` (prints one markdown row per target
with the library value, its stated error, the reference and the difference).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import mpmath as mp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from amp_references import deposit_lambda, deposit_one_direction  # noqa: E402


def poly_branches(coeffs: list[float]) -> float:
    """``λ`` for the polynomial with ``coeffs`` (highest degree first) at Δ = 0 (scipy quad).

    Roots of ``p(x) = y`` by ``numpy.roots`` (imaginary part below 1e-7 counts as real),
    ``y = a + t²`` / ``b − t²`` at the critical values; accurate to ~1e-6 near critical
    values where ``numpy.roots`` splits double roots.
    """
    from scipy import integrate

    p = np.poly1d(coeffs)
    dp = p.deriv()
    crit = sorted(r.real for r in dp.roots if abs(r.imag) < 1e-9)
    cv = sorted({float(p(c)) for c in crit})

    def integrand(y: float) -> float:
        xs = [r.real for r in (p - y).roots if abs(r.imag) < 1e-7 * (1 + abs(r))]
        w = np.array([np.exp(-x * x / 2) / np.sqrt(2 * np.pi) / abs(dp(x)) for x in xs])
        g = np.array([x * x - 1 for x in xs])
        return float((w @ g) ** 2 / w.sum()) if len(xs) and w.sum() > 0 else 0.0

    total = 0.0
    for a, b in zip(cv[:-1], cv[1:]):
        m = 0.5 * (a + b)
        total += integrate.quad(lambda t, a=a: 2 * t * integrand(a + t * t), 0, np.sqrt(m - a),
                                epsabs=1e-13, epsrel=1e-11, limit=200)[0]
        total += integrate.quad(lambda t, b=b: 2 * t * integrand(b - t * t), 0, np.sqrt(b - m),
                                epsabs=1e-13, epsrel=1e-11, limit=200)[0]
    total += integrate.quad(lambda t: 2 * t * integrand(cv[-1] + t * t), 0, 40,
                            epsabs=1e-13, epsrel=1e-11, limit=400)[0]
    return total


def quantile_binning(p, bins: int = 50_000, n: int = 40_000_001) -> float:
    """A lower bound on ``λ`` (Jensen): y on a uniform z-grid of ``[−8, 8]``, ``bins`` equal-mass
    bins of y, ``Σ_bins P(bin) E[z² − 1 | bin]²`` (converges from below as the bins shrink)."""
    z = np.linspace(-8, 8, n)
    w = np.exp(-z * z / 2)
    w /= w.sum()
    y = p(z)
    o = np.argsort(y, kind="stable")
    w, z = w[o], z[o]
    idx = np.minimum((np.cumsum(w) * bins).astype(int), bins - 1)
    W = np.bincount(idx, w, bins)
    N = np.bincount(idx, w * (z * z - 1), bins)
    m = W > 0
    return float((N[m] ** 2 / W[m]).sum())


def cos_branches(kmax: int = 4) -> float:
    """``λ`` for ``cos(z)`` at Δ = 0 (mpmath, 30 digits)."""
    with mp.workdps(30):
        def f(th):
            xs = [s * th + 2 * mp.pi * k for k in range(-kmax, kmax + 1) for s in (1, -1)]
            w = [mp.npdf(x) for x in xs]
            return mp.fsum(a * (x * x - 1) for a, x in zip(w, xs)) ** 2 / mp.fsum(w)

        return float(mp.quad(f, [0, mp.pi / 2, mp.pi]))


def chi2_branches_rho_minus_3_squared() -> float:
    """``λ`` for ``(ρ − 3)²``, ``ρ ~ χ²_3`` (mpmath, 30 digits): branches ``ρ = 3 ± t``."""
    with mp.workdps(30):
        def p(v):
            return mp.sqrt(v) * mp.e ** (-v / 2) / (2 ** mp.mpf(1.5) * mp.gamma(mp.mpf(3) / 2))

        def f(t):
            rs = [3 + t] + ([3 - t] if t < 3 else [])
            w = [p(v) / (2 * t) for v in rs]
            return 2 * t * mp.fsum(a * (v / 3 - 1) for a, v in zip(w, rs)) ** 2 / mp.fsum(w)

        return float(mp.quad(f, [0, 1, 2, 3, 5, 10, 20, 60]))


def coin_z2() -> float:
    """``λ`` of z1 for ``z1² + sign(z1 z2 z3)``: ``y = u ± 1``, ``u ~ χ²_1``, ``E[z1²−1|y,±] = y ∓ 1 − 1``."""
    with mp.workdps(30):
        def p1(u):
            return mp.e ** (-u / 2) / mp.sqrt(2 * mp.pi * u) if u > 0 else mp.mpf(0)

        def f(y):
            w = [p1(y - c) / 2 for c in (1, -1)]
            num = mp.fsum(a * (y - c - 1) for a, c in zip(w, (1, -1)))
            den = mp.fsum(w)
            return num**2 / den if den > 0 else mp.mpf(0)

        # y = −1 + t² on (−1, 1), y = 1 + t² above (square-root singularities at ±1)
        lo = mp.quad(lambda t: 2 * t * f(-1 + t * t), [0, 1, mp.sqrt(2)])
        hi = mp.quad(lambda t: 2 * t * f(1 + t * t), [0, 1, 3, 10, 30])
        return float(lo + hi)


def deposit(g, noise: float, zmax: float = 6.5, nz: int = 4_000_001) -> float:
    """``λ`` for ``y = g(z) + √Δ ε``, one direction."""
    return deposit_one_direction(g, np.sqrt(noise), zmax=zmax, nz=nz)


def radial_deposit(f, m: int, noise: float, nrho: int = 4_000_001, rho_max: float = 80.0) -> float:
    """``λ`` for ``y = f(ρ) + √Δ ε``, ``ρ ~ χ²_m``."""
    from scipy import stats

    rho = np.linspace(0, rho_max, nrho)[1:]
    w = stats.chi2(m).pdf(rho) * (rho[1] - rho[0])
    return deposit_lambda(rho / m - 1, w, f(rho), np.sqrt(noise))


def radial_two_atoms(m: int, c: float, n: int = 4_000_000, seed: int = 7) -> tuple[float, float]:
    """``λ`` for ``sign(ρ − c)`` by Monte Carlo: value and standard error (batch means)."""
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(8):
        rho = rng.chisquare(m, n // 8)
        a = rho > c
        vals.append(sum(s.mean() * ((rho[s] / m - 1).mean()) ** 2 for s in (a, ~a)))
    return float(np.mean(vals)), float(np.std(vals, ddof=1) / np.sqrt(len(vals)))


def rows():
    """(target, Δ, reference λ, reference error, how) for the one-direction and radial rows."""
    he4 = [1, 0, -6, 0, 3]
    he6 = [1, 0, -15, 0, 45, 0, -15]
    out = [
        ("z1**2", 0.0, 2.0, 0.0, "closed form"),
        ("abs(z1)", 0.0, 2.0, 0.0, "closed form"),
        ("He4(z1)", 0.0, poly_branches(he4), 1e-6, "branch integral (scipy)"),
        ("He6(z1)", 0.0, quantile_binning(np.poly1d(he6)), 0.0, "lower bound on λ: 50 000 quantile bins"),
        ("z1**4 - z1**2", 0.0, poly_branches([1, 0, -1, 0, 0]), 1e-6, "branch integral (scipy)"),
        ("z1**2 + z1**4/10", 0.0, poly_branches([0.1, 0, 1, 0, 0]), 1e-6, "branch integral (scipy)"),
        ("(z1**2 - 1)**3", 0.0, 2.0, 0.0, "closed form (injective in z²)"),
        ("z1**4 - 3*z1**2", 0.0, poly_branches([1, 0, -3, 0, 0]), 1e-6, "branch integral (scipy)"),
        ("cos(z1)", 0.0, cos_branches(), 1e-12, "branch integral over θ (mpmath)"),
        ("z1**2", 0.5, deposit(lambda z: z * z, 0.5), 1e-6, "deposit + convolution"),
        ("abs(z1)", 1.0, deposit(np.abs, 1.0), 1e-6, "deposit + convolution"),
        ("He4(z1)", 0.01, deposit(lambda z: np.polyval(he4, z), 0.01), 1e-6, "deposit + convolution"),
        ("He4(z1)", 0.05, deposit(lambda z: np.polyval(he4, z), 0.05), 1e-6, "deposit + convolution"),
        ("He4(z1)", 0.5, deposit(lambda z: np.polyval(he4, z), 0.5), 1e-6, "deposit + convolution"),
        ("He6(z1)", 0.05, deposit(lambda z: np.polyval(he6, z), 0.05), 1e-6, "deposit + convolution"),
        ("cos(z1)", 0.1, deposit(np.cos, 0.1), 1e-6, "deposit + convolution"),
        ("z1**2 + z2**2", 0.0, 1.0, 0.0, "closed form 2/r"),
        ("z1**2 + z2**2 + z3**2", 0.0, 2 / 3, 0.0, "closed form 2/r"),
        ("(z1**2 + z2**2 + z3**2 + z4**2)/4", 0.0, 0.5, 0.0, "closed form 2/r"),
        ("z1**2 + z2**2 + z3**2 + z4**2 + z5**2", 0.0, 0.4, 0.0, "closed form 2/r"),
        ("z1**2 + z2**2 + z3**2 + z4**2 + z5**2 + z6**2", 0.0, 1 / 3, 0.0, "closed form 2/r"),
        ("z1**2 + z2**2", 0.5, radial_deposit(lambda r: r, 2, 0.5), 1e-6, "χ² deposit + convolution"),
        ("(z1**2 + z2**2 + z3**2 + z4**2)/4", 0.1,
         radial_deposit(lambda r: r / 4, 4, 0.1), 1e-6, "χ² deposit + convolution"),
    ]
    out.append(("(z1**2 + z2**2 + z3**2 - 3)**2", 0.0, chi2_branches_rho_minus_3_squared(), 1e-12,
                "χ²_3 branch integral (mpmath)"))
    out.append(("z1**2 + sign(z1*z2*z3)", 0.0, coin_z2(), 1e-12, "χ²_1 ± 1 branch integral (mpmath)"))
    lam, se = radial_two_atoms(3, 3.0)
    out.append(("sign(z1**2 + z2**2 + z3**2 - 3)", 0.0, lam, 3 * se, "Monte Carlo 4·10⁶, 3 s.e."))
    return out


def main() -> None:
    from giantstep.theory.amp import amp_analysis

    print("| target | Δ | library α_c ± error | time | reference α_c | method | |diff| |")
    print("|---|---|---|---|---|---|---|")
    for text, noise, lam, lam_err, how in rows():
        t0 = time.perf_counter()
        res = amp_analysis(text, noise=noise)
        dt = time.perf_counter() - t0
        st = res.stages[0]
        ref = 1 / lam
        ref_err = lam_err / lam**2
        print(f"| `{text}` | {noise:g} | {st.alpha_c:.7f} ± {st.error:.1e} | {dt:.2f} s | "
              f"{ref:.7f}{f' ± {ref_err:.0e}' if ref_err else ''} | {how} | {abs(st.alpha_c - ref):.1e} |")


if __name__ == "__main__":
    main()
