"""Inputs of the spiked-random-features equations (docs/model.md §5.1 and §6.1).

* :func:`activation_moments` — exact / mpmath Gaussian moments of an activation
  (μ0, μ1, μ2, E σ², E σ'²), cached per expression;
* :func:`spiked_parameters` — the spike strength r, alignment γ and bulk scale c of
  §5.1 for a single-index teacher ``y = σ*(⟨θ,x⟩) + √Δ ε`` and a constant readout;
* :func:`kappa_tables` — the inner Gaussian expectations ``μ0(κ), μ1(κ), μ2(κ)²,
  h(κ), h1(κ), h2(κ)`` of §6.1 on Gauss–Hermite κ nodes, with the numbers of inner and
  outer nodes chosen for a requested tolerance (:func:`giantstep.numerics.gaussian.nodes_for_tolerance`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from giantstep.caching import BoundedCache
from giantstep.errors import ConvergenceError, InputError
from giantstep.numerics.gaussian import (
    GAUSS_LEGENDRE,
    SPLIT_NORMAL,
    SplitNormalRule,
    gauss_hermite,
    nodes_for_scaled_tolerance,
    nodes_for_tolerance,
)
from giantstep.theory import Activation


@dataclass(frozen=True)
class Moments:
    """Gaussian moments of ``σ(ξ)``, ``ξ ~ N(0,1)`` (docs/model.md §2)."""

    mu0: float
    mu1: float
    mu2: float
    second: float  # E σ²
    deriv_second: float  # E σ'² (nan if σ' has a Dirac mass)

    @property
    def var_derivative(self) -> float:
        """``Var σ' = E σ'² − μ1²`` (Stein: E σ' = μ1)."""
        return self.deriv_second - self.mu1**2


_MOMENTS = BoundedCache(256)


def _compute_moments_exact(act: Activation) -> Moments:
    """Moments through the theory layer (exact / mpmath; slow for composite expressions)."""
    mu = [act.mu(k) for k in range(3)]
    second = Activation(act.expr**2).mu(0)
    try:
        act.check_weakly_differentiable()
        deriv_second = Activation(act.derivative_expr(1) ** 2).mu(0)
    except InputError:
        deriv_second = float("nan")
    vals = [*mu, second]
    if not all(math.isfinite(v) for v in vals):
        raise InputError(f"activation '{act.name}' has divergent Gaussian moments")
    return Moments(mu[0], mu[1], mu[2], second, deriv_second)


MOMENT_TOL = 1e-13


def _compute_moments(act: Activation) -> Moments:
    """μ0, μ1, μ2, E σ², E σ'² by float quadrature (node doubling to
    :data:`MOMENT_TOL` absolute; kinks split), falling back to the theory layer when the
    rule does not converge. Stated accuracy 1e-12 relative, tested against exact values
    (relu, erf, sin, tanh: tests/test_bulk_model.py)."""
    try:
        act.check_weakly_differentiable()
        smooth_derivative = True
    except InputError:
        smooth_derivative = False
    kinks = activation_kinks(act)

    def estimate(n):
        x, w = SplitNormalRule(kinks=kinks).nodes(n)
        with np.errstate(all="ignore"):
            f = np.asarray(act.evaluate(x), dtype=float)
            fp = (np.asarray(act.derivative(x, 1), dtype=float) if smooth_derivative
                  else np.zeros_like(x))
        if not (np.all(np.isfinite(f)) and np.all(np.isfinite(fp))):
            raise ConvergenceError("overflow on the quadrature nodes")
        return np.array([w @ f, w @ (x * f), w @ ((x * x - 1) * f), w @ (f * f), w @ (fp * fp)])

    try:
        n, val, _ = nodes_for_tolerance(estimate, MOMENT_TOL, n0=16, n_max=256)
        scale = 1.0 + np.abs(val)
        val2 = estimate(2 * n)
        if np.any(np.abs(val2 - val) > MOMENT_TOL * scale):
            raise ConvergenceError("moments not converged", float(np.max(np.abs(val2 - val))))
    except ConvergenceError:  # rough or overflowing on the float rule: exact / mpmath route
        return _compute_moments_exact(act)
    # values below the rule's accuracy are zero by symmetry (e.g. μ0, μ2 of odd σ): snap
    # them, since μ0 = 0 decides whether a constant mode can be fitted at all
    val = np.where(np.abs(val) < 10 * MOMENT_TOL * (1.0 + abs(val[3])), 0.0, val)
    mu0, mu1, mu2, second, dsec = (float(v) for v in val)
    return Moments(mu0, mu1, mu2, second, dsec if smooth_derivative else float("nan"))


def activation_moments(act: Activation) -> Moments:
    """Moments of ``act`` (cached by the sympy expression)."""
    return _MOMENTS.get_or_compute(str(act.expr), lambda: _compute_moments(act))


@dataclass(frozen=True)
class SpikedParameters:
    """Spike strength ``r``, alignment ``γ``, bulk scale ``c`` (docs/model.md §5.1)."""

    r: float
    gamma: float
    c: float
    mean_error: float  # E[e] = μ0* − μ0(σ)
    error_second: float  # E[e²] = E[(σ* − μ0(σ))²] + Δ


def spiked_parameters(
    student: Moments, teacher: Moments, alpha0: float, eta: float, noise: float
) -> SpikedParameters:
    """docs/model.md §5.1, single index, constant readout (``f_0 = μ0(σ)``).

    ``r = η̃ μ1 sqrt(μ1*² + E[e²]/α0)``, ``γ = μ1*/sqrt(μ1*² + E[e²]/α0)``,
    ``c = sqrt((1 + η̃ μ2 E[e])² + η̃² E[e²] Var σ'/α0)``. For ``η̃ = 0`` (lazy) the
    network is at initialisation: ``r = 0``, ``γ = 0``, ``c = 1``.
    """
    mean_e = teacher.mu0 - student.mu0
    e2 = teacher.second - 2 * teacher.mu0 * student.mu0 + student.mu0**2 + noise
    if eta == 0:
        return SpikedParameters(0.0, 0.0, 1.0, mean_e, e2)
    spread = math.sqrt(teacher.mu1**2 + e2 / alpha0)
    r = eta * student.mu1 * spread
    gamma = teacher.mu1 / spread
    c2 = (1 + eta * student.mu2 * mean_e) ** 2 + eta**2 * e2 * student.var_derivative / alpha0
    return SpikedParameters(r, gamma, math.sqrt(c2), mean_e, e2)


@dataclass(frozen=True)
class KappaTables:
    """Inner expectations of §6.1 on the κ nodes (all arrays of shape ``(n_kappa,)``)."""

    kappa: np.ndarray
    weights: np.ndarray
    mu0: np.ndarray
    mu1: np.ndarray
    mu2sq: np.ndarray
    h: np.ndarray
    h1: np.ndarray
    h2: np.ndarray
    n_inner: int

    def arrays(self) -> tuple[np.ndarray, ...]:
        """``(weights, kappa, mu0, mu1, mu2sq, h, h1, h2)`` in the kernels' order."""
        return (self.weights, self.kappa, self.mu0, self.mu1, self.mu2sq, self.h, self.h1, self.h2)


def activation_kinks(act: Activation) -> tuple[float, ...]:
    """Real points where σ or σ' is not analytic (:attr:`Activation.kinks`, the registry's)."""
    return act.kinks




def _inner_kinked(fn, a, b, n, kinks):
    """``E_ξ`` of ``f(a+bξ)``, ``ξ f(a+bξ)``, ``f(a+bξ)²``: Gauss–Legendre pieces of ``[−L, L]``.

    The ξ-line is cut every 2.5 (short pieces: geometric convergence also for functions
    with poles near the real axis, e.g. tanh(3x), where Gauss–Hermite needs > 1024 nodes)
    and at the kinks ``(u_k − a)/b`` (every piece analytic). The truncation at
    ``|ξ| = 10`` costs < 1e-22 relative to the Gaussian mass.
    """
    t, wl = GAUSS_LEGENDRE.nodes(n)
    L = SPLIT_NORMAL.half_width  # Gaussian mass beyond ±10 is 1.5e-23
    out = np.zeros((3, a.size))
    fixed = [np.full(a.size, c) for c in np.linspace(-L, L, 9)]
    cuts = [np.clip((u - a) / b, -L, L) for u in kinks]
    edges = np.sort(np.stack(fixed + cuts), axis=0)
    for lo, hi in zip(edges[:-1], edges[1:]):
        half = 0.5 * (hi - lo)
        xi = 0.5 * (hi + lo)[:, None] + half[:, None] * t[None, :]
        wt = half[:, None] * wl[None, :] * np.exp(-0.5 * xi * xi) / np.sqrt(2 * np.pi)
        vals = fn(a[:, None] + b * xi)
        if not np.all(np.isfinite(vals)):
            raise InputError("activation overflows on the quadrature nodes (moments diverge)")
        out[0] += np.sum(wt * vals, axis=1)
        out[1] += np.sum(wt * xi * vals, axis=1)
        out[2] += np.sum(wt * vals * vals, axis=1)
    return out[0], out[1], out[2]


def _inner(fn, a: np.ndarray, b: float, n: int, kinks: tuple[float, ...] = ()):
    """``E_ξ f(a+bξ)``, ``E_ξ[ξ f(a+bξ)]``, ``E_ξ f(a+bξ)²`` for every entry of ``a``.

    Piecewise Gauss–Legendre (:func:`_inner_kinked`), cut at the kinks if any.
    """
    if kinks and len(kinks) > 1 and not np.all(np.diff(kinks) > 0):
        raise InputError("kinks must be distinct")
    return _inner_kinked(fn, a, b, n, kinks)


def _tables_at(student, teacher, p: SpikedParameters, kappa, n_inner, mom_s, mom_t):
    rho = math.sqrt(max(0.0, 1.0 - p.gamma**2))
    if p.r == 0.0 and p.c == 1.0:
        # lazy limit: exact moments, no quadrature (works for kinked students as well)
        one = np.ones_like(kappa)
        mu0, mu1 = mom_s.mu0 * one, mom_s.mu1 * one
        mu2sq = max(mom_s.second - mom_s.mu0**2 - mom_s.mu1**2, 0.0) * one
    else:
        e0, e1, e2 = _inner(student.evaluate, p.r * kappa, p.c, n_inner,
                            activation_kinks(student))
        mu0, mu1 = e0, e1 / p.c
        mu2sq = np.maximum(e2 - e0**2 - e1**2, 0.0)  # c² μ1(κ)² = e1²
    if p.gamma == 0.0:
        one = np.ones_like(kappa)
        h, h1, h2 = mom_t.mu0 * one, mom_t.mu1 * one, mom_t.second * one
    else:
        h, h1, h2 = _inner(teacher.evaluate, p.gamma * kappa, rho, n_inner,
                           activation_kinks(teacher))
    return mu0, mu1, mu2sq, h, h1, h2


def _outer_summary(tabs, kappa, w) -> np.ndarray:
    mu0, mu1, mu2sq, h, h1, h2 = tabs
    cols = [mu0**2, mu1**2, mu2sq, mu0 * h, kappa * mu1 * h, mu1 * h1, h2, mu1**2 * h2,
            kappa**2 * mu1**2]
    return np.array([float(np.dot(w, c)) for c in cols])


def kappa_tables(
    student: Activation, teacher: Activation, p: SpikedParameters, tol: float
) -> KappaTables:
    """Tabulate the inner expectations with node counts chosen for ``tol``.

    The inner rule (ξ) is doubled until the tables agree to ``tol`` on a 64-node κ grid;
    the outer rule (κ) is doubled until nine representative κ-integrals agree to ``tol``.
    Raises :class:`InputError` if 1024 nodes do not reach the tolerance (integrand too rough).
    """
    mom_s = activation_moments(student)
    mom_t = activation_moments(teacher)
    probe, _ = gauss_hermite(64)
    probe = np.asarray(probe)
    smooth_inputs = p.r == 0.0 and p.c == 1.0 and p.gamma == 0.0
    if smooth_inputs:
        n_inner = 1
    else:
        n_inner, _, _ = nodes_for_scaled_tolerance(
            lambda n: np.concatenate(_tables_at(student, teacher, p, probe, n, mom_s, mom_t)),
            tol, n0=8, n_max=1024,
        )

    def outer(nk):
        x, w = gauss_hermite(nk)
        return _outer_summary(_tables_at(student, teacher, p, np.asarray(x), n_inner, mom_s, mom_t),
                              np.asarray(x), np.asarray(w))

    n_kappa = 1 if smooth_inputs else nodes_for_scaled_tolerance(outer, tol, n0=16, n_max=1024)[0]
    if smooth_inputs:
        n_kappa = 2  # κ enters only through κ θ terms: exact with 2 nodes (degree ≤ 3)
    x, w = gauss_hermite(n_kappa)
    kappa = np.ascontiguousarray(x, dtype=float)
    tabs = _tables_at(student, teacher, p, kappa, n_inner, mom_s, mom_t)
    tabs = [np.ascontiguousarray(t, dtype=float) for t in tabs]
    return KappaTables(kappa, np.ascontiguousarray(w, dtype=float), *tabs, n_inner=n_inner)
