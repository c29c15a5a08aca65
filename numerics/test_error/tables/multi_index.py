"""One-step learning curve for a multi-index teacher ``y = g*(z1..zr) + √Δ ε``.

Geometry (derived here from docs/model.md §5.1): with a constant readout the step's spike is
``η̃ μ1 (C_1 + noise)``, so ``r = η̃ μ1 sqrt(‖C_1‖² + E[e²]/α0)`` and its overlaps with the
target directions are ``γ = C_1/sqrt(‖C_1‖² + E[e²]/α0)`` (a vector); given ``κ = ⟨v̂, x⟩``
the latent vector is ``z = γ κ + A ξ`` with ``A = (I − γγᵀ)^{1/2}`` and ``ξ ~ N(0, I_r)`` the
coordinates along an orthonormal basis of ``Π Θᵀ``. The step learns the direction of
``C_1``; the readout fits the rest of g* through ``h(κ) = E[g*|κ]``, ``h1_k(κ) = E[ξ_k g*|κ]``
and ``h2(κ) = E[g*²|κ]`` (:mod:`giantstep.numerics.test_error.solver.engine`). In the exact bulk mode
γ, A, r, c and the spectral weights are read off sampled real steps.
"""

from __future__ import annotations

import math

import numpy as np

from giantstep.caching import BoundedCache
from giantstep.numerics.gaussian import (
    SPLIT_NORMAL,
    MarchenkoPasturRule,
    gauss_hermite,
    nodes_for_scaled_tolerance,
    nodes_for_tolerance,
    product_rule,
)
from giantstep.numerics.test_error.tables.single_index import (
    _inner,
    activation_kinks,
    activation_moments,
)
from giantstep.theory import Activation, Target

MAX_PRODUCT_NODES = 300_000


def xi_product_rule(n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The rule of the inner ``ξ ~ N(0, I_dim)`` expectations of a non-polynomial teacher:
    :func:`~giantstep.numerics.gaussian.product_rule` of the split Gauss–Legendre rule
    (:data:`~giantstep.numerics.gaussian.SPLIT_NORMAL`: 8 pieces of [−10, 10], n nodes
    each; geometric convergence also for tanh-like targets, whose poles near the real axis
    slow Gauss–Hermite down) for ``dim ≤ 2``, and of Gauss–Hermite for ``dim ≥ 3``, where
    8 pieces per axis would be too many nodes."""
    return product_rule(n, dim, None if dim >= 3 else SPLIT_NORMAL)


def _n_max(dim: int) -> int:
    """Largest per-axis node parameter of :func:`xi_product_rule` within MAX_PRODUCT_NODES."""
    if dim >= 3:
        return 64
    return max(16, int(MAX_PRODUCT_NODES ** (1.0 / dim)) // 8)


def target_moments(target: Target, n: int = 0) -> tuple[float, np.ndarray, float]:
    """``E g*``, ``C_1 = E[g* z]`` and ``E g*²`` by a product Gauss–Hermite rule (node
    doubling to 1e-12; exact for polynomials)."""
    r = target.r

    def est(m):
        x, w = xi_product_rule(m, r)
        x, w = np.asarray(x), np.asarray(w)
        g = np.asarray(target.evaluate(x), dtype=float)
        return np.concatenate([[w @ g], (w * g) @ x, [w @ (g * g)]])

    n_max = _n_max(r)
    _, val, _ = nodes_for_tolerance(est, 1e-12, n0=4 if r < 3 else 8, n_max=n_max)
    return float(val[0]), np.asarray(val[1:1 + r]), float(val[-1])


def limit_geometry(student: Activation, target: Target, alpha0: float, eta: float,
                   noise: float) -> tuple[float, np.ndarray, np.ndarray, float]:
    """``(r, γ, A, c)`` of the d → ∞ spiked model for a constant readout (docs/model.md §5.1)."""
    ms = activation_moments(student)
    mean_g, c1, second = target_moments(target)
    mean_e = mean_g - ms.mu0
    e2 = second - 2 * mean_g * ms.mu0 + ms.mu0**2 + noise
    c2 = (1 + eta * ms.mu2 * mean_e) ** 2 + eta**2 * e2 * ms.var_derivative / alpha0
    if eta == 0:
        rr = target.r
        return 0.0, np.zeros(rr), np.eye(rr), 1.0
    spread = math.sqrt(float(c1 @ c1) + e2 / alpha0)
    gamma = c1 / spread
    w, v = np.linalg.eigh(np.eye(target.r) - np.outer(gamma, gamma))
    a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    return eta * ms.mu1 * spread, gamma, a, math.sqrt(c2)


def _polynomial_degree(target: Target) -> int | None:
    """Total degree of a polynomial target (None otherwise)."""
    import sympy

    if not target.is_polynomial:
        return None
    try:
        return int(sympy.Poly(target.expr, *sorted(target.expr.free_symbols, key=str)).total_degree())
    except (sympy.PolynomialError, ValueError):
        return None


def _teacher_tables_exact(target: Target, gamma: np.ndarray, a: np.ndarray, kappa: np.ndarray,
                          degree: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``h, h1, h2`` of a polynomial target by the Gauss–Hermite product rule with
    ``degree + 2`` nodes per axis: exact (the integrands have degree ≤ 2·degree + 1 in ξ),
    vectorised over κ."""
    K = a.shape[1]
    x, w = product_rule(degree + 2, K)
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    ax = x @ a.T
    pts = gamma[None, None, :] * kappa[:, None, None] + ax[None, :, :]
    g = np.asarray(target.evaluate(pts.reshape(-1, gamma.size)), dtype=float).reshape(
        kappa.size, w.size)
    return g @ w, (g * w[None, :]) @ x, (g * g) @ w


def teacher_tables(target: Target, gamma: np.ndarray, a: np.ndarray, kappa: np.ndarray,
                    tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    K = a.shape[1]
    degree = _polynomial_degree(target)
    if degree is not None and (degree + 2) ** K <= MAX_PRODUCT_NODES:
        return _teacher_tables_exact(target, gamma, a, kappa, degree)

    def at(m, kap):
        x, w = xi_product_rule(m, K)
        x, w = np.asarray(x), np.asarray(w)
        h = np.empty(kap.size)
        h1 = np.empty((kap.size, K))
        h2 = np.empty(kap.size)
        ax = x @ a.T
        step = max(1, (1 << 21) // max(w.size, 1))  # κ nodes per vectorised chunk
        for j0 in range(0, kap.size, step):
            kk = kap[j0:j0 + step]
            pts = gamma[None, None, :] * kk[:, None, None] + ax[None, :, :]
            g = np.asarray(np.broadcast_to(target.evaluate(pts.reshape(-1, gamma.size)),
                                           (pts.shape[0] * pts.shape[1],)),
                           dtype=float).reshape(kk.size, w.size)
            h[j0:j0 + step] = g @ w
            h1[j0:j0 + step] = (g * w[None, :]) @ x
            h2[j0:j0 + step] = (g * g) @ w
        return h, h1, h2

    key = (target.text, gamma.tobytes(), a.tobytes(), float(tol))
    m = _NODES_CACHE.get(key)
    if m is None:  # nodes per axis, chosen once per geometry on 16 probe values of κ
        probe = np.asarray(gauss_hermite(16)[0])
        m, _, _ = nodes_for_tolerance(lambda m: np.concatenate([v.ravel() for v in at(m, probe)]),
                                      tol, n0=4 if K < 3 else 8, n_max=_n_max(K))
        _NODES_CACHE.put(key, m)
    return at(m, kappa)


_NODES_CACHE = BoundedCache(256)


def student_tables(student: Activation, r: float, c: float, kappa: np.ndarray, n: int):
    if r == 0.0 and c == 1.0:
        ms = activation_moments(student)
        one = np.ones_like(kappa)
        return (ms.mu0 * one, ms.mu1 * one,
                max(ms.second - ms.mu0**2 - ms.mu1**2, 0.0) * one)
    e0, e1, e2 = _inner(student.evaluate, r * kappa, c, n, activation_kinks(student))
    return e0, e1 / c, np.maximum(e2 - e0**2 - e1**2, 0.0)


def kappa_tables_multi(student, target, r, gamma, a, c, tol):
    """Student and teacher κ-tables on a shared Gauss–Hermite κ rule (node doubling on
    representative integrals to ``tol``). Returns ``(kw, kappa, mu0, mu1, mu2sq, h, h1, h2)``."""
    probe = np.asarray(gauss_hermite(32)[0])
    if r == 0.0 and c == 1.0:
        n_inner = 1
    else:
        n_inner = nodes_for_scaled_tolerance(
            lambda n: np.concatenate(student_tables(student, r, c, probe, n)), tol, n0=8,
            n_max=1024)[0]

    def summary(nk):
        x, w = gauss_hermite(nk)
        x, w = np.asarray(x), np.asarray(w)
        m0, m1, m2 = student_tables(student, r, c, x, n_inner)
        h, h1, h2 = teacher_tables(target, gamma, a, x, tol)
        cols = [m0**2, m1**2, m2, m0 * h, x * m1 * h, h2] + [m1 * h1[:, k] for k in
                                                          range(h1.shape[1])]
        return np.array([w @ col for col in cols])

    nk = 2 if (r == 0.0 and not np.any(gamma)) else nodes_for_scaled_tolerance(
        summary, tol, n0=16, n_max=1024)[0]
    x, w = gauss_hermite(nk)
    x, w = np.ascontiguousarray(x, dtype=float), np.ascontiguousarray(w, dtype=float)
    m0, m1, m2 = student_tables(student, r, c, x, n_inner)
    h, h1, h2 = teacher_tables(target, gamma, a, x, tol)
    arr = [np.ascontiguousarray(v, dtype=float) for v in (m0, m1, m2, h, h1, h2)]
    return (w, x, *arr)


def limit_weights(alpha_eff: float, lam: float, c: float, psi: float, K: int, mu1sq_max: float,
                  tol: float):
    """MP(ψ, c²) nodes with ``F = ψ c²``, ``G = 0``, ``H = ψ D I_K``."""
    pole = lam / max(alpha_eff * mu1sq_max, 1e-300)
    x, w = MarchenkoPasturRule(float(psi), c * c).for_pole(pole, tol)
    x = np.ascontiguousarray(x)
    hh = np.zeros((x.size, K, K))
    for k in range(K):
        hh[:, k, k] = psi * x
    return np.ascontiguousarray(w), x, np.full(x.size, psi * c * c), np.zeros((x.size, K)), hh


def bulk_geometry(w0: np.ndarray, w1: np.ndarray, r_dirs: int):
    """Read ``(r, γ, A, c)`` and the spectral weights ``(D, F, G, H)`` off a real step
    (θ_k = e_k): the multi-index version of
    :func:`giantstep.numerics.test_error.spectra.sampled_steps.bulk_inputs`."""
    from giantstep.numerics.test_error.spectra.sampled_steps import spike_and_bulk

    p, d = w1.shape
    _, r, v, b, c, bv, evals, evecs = spike_and_bulk(w0, w1)
    gamma = v[:r_dirs].copy()
    pt = np.zeros((d, r_dirs))
    pt[np.arange(r_dirs), np.arange(r_dirs)] = 1.0
    pt -= np.outer(v, gamma)
    z, _ = np.linalg.qr(pt)
    a = z[:r_dirs, :]
    f = (evecs.T @ bv) * math.sqrt(p)
    hcol = (evecs.T @ (b @ z)) * math.sqrt(p)
    return (r, gamma, a, c, evals, f * f, f[:, None] * hcol,
            hcol[:, :, None] * hcol[:, None, :])


_GEOMETRY_CACHE = BoundedCache(32)


def sampled_bulk_geometry(student: Activation, target: Target, psi: float, alpha0: float,
                          eta: float, noise: float, d: int, seed: int):
    """:func:`bulk_geometry` of one sampled real step, cached per (student, target, ψ, α0,
    η̃, Δ, d, seed); the last element is the sampling cost in seconds."""
    import time

    from giantstep.numerics.test_error.spectra.sampled_steps import sample_step

    key = (str(student.expr), str(target.expr), float(psi), float(alpha0), float(eta),
           float(noise), int(d), int(seed))

    def compute():
        t0 = time.perf_counter()
        w0, w1 = sample_step(student, target, psi, alpha0, eta, noise, d, seed)
        geo = bulk_geometry(w0, w1, target.r)
        return (*geo, time.perf_counter() - t0)

    return _GEOMETRY_CACHE.get_or_compute(key, compute)


_STEPS_GEOMETRY_CACHE = BoundedCache(32)


def sampled_bulk_geometries(student: Activation, target: Target, psi: float, alpha0: float,
                            eta: float, noise: float, d: int, seed: int, steps: int):
    """:func:`bulk_geometry` of ``W_t`` (against ``W_0``) after each of t = 1..T sampled
    real giant steps (:func:`giantstep.numerics.test_error.spectra.sampled_steps.sample_steps`, constant
    readout), cached per (student, target, ψ, α0, η̃, Δ, d, seed, T). Returns a list of T
    tuples ``(r, γ, A, c, D, F, G, H, seconds)``; ``seconds`` is the cost of the whole
    trajectory, reported on every step. Step 1 equals :func:`sampled_bulk_geometry`."""
    import time

    from giantstep.numerics.test_error.spectra.sampled_steps import sample_steps

    key = (str(student.expr), str(target.expr), float(psi), float(alpha0), float(eta),
           float(noise), int(d), int(seed), int(steps))

    def compute():
        t0 = time.perf_counter()
        ws = sample_steps(student, target, psi, alpha0, eta, noise, d, seed, steps)
        geos = [bulk_geometry(ws[0], w, target.r) for w in ws[1:]]
        secs = time.perf_counter() - t0
        return [(*g, secs) for g in geos]

    return _STEPS_GEOMETRY_CACHE.get_or_compute(key, compute)
