"""Random-features ridge error of Mei & Montanari (2019) — the lazy baseline of §6.1.

An implementation independent of the Gaussian-equivalence equations of
:mod:`giantstep.numerics.test_error.solver.engine`, used to check their lazy limit ``η̃ = 0``
(docs/model.md §6.1: "η̃ = 0 must reduce to the random-features (lazy) error").

Mei & Montanari, *The generalization error of random features regression: precise
asymptotics and double descent curve* (arXiv:1908.05355), Theorem 1 / Definition 1:
N features ``σ(⟨w_j, x⟩)`` with ``‖w_j‖ = 1``, ``ψ1 = N/d``, ``ψ2 = n/d``, ridge
``min_b (1/n)Σ(y − Σ_j b_j σ_j)² + (N λ_MM/d)‖b‖²``, target with linear energy ``F1²``,
non-linear energy ``F*²`` and noise ``τ²``. With ``ζ = μ1/μ*``,
``μ*² = E σ² − μ0² − μ1²``, ``λ̄ = λ_MM/μ*²`` and ``(ν1, ν2)`` the solution in the upper
half plane of

    ν1 = ψ1 (−ξ − ν2 − ζ² ν2/(1 − ζ² ν1 ν2))⁻¹,   ν2 = ψ2 (−ξ − ν1 − ζ² ν1/(1 − ζ² ν1 ν2))⁻¹

at ``ξ = i sqrt(ψ1 ψ2 λ̄)``, ``χ = ν1 ν2`` and the polynomials ``E0, E1, E2`` below,
the excess risk (noiseless test labels) is ``F1² E1/E0 + (τ² + F*²) E2/E0 + F*²``; our
test error has noisy test labels and adds ``τ² = Δ``.

Our ridge ``Σ(y − f)² + λ‖a‖²`` with ``f = (1/√p)Σ a_j σ_j`` is theirs with ``b = a/√p``
and ``λ_MM = λ d/n = λ/α`` (p = N). The formula is stated for centred σ and targets
(``μ0 = μ0* = 0``); other cases raise :class:`InputError`.
"""

from __future__ import annotations

import math

import numpy as np

from giantstep.errors import ConvergenceError, InputError
from giantstep.numerics.test_error.tables.single_index import activation_moments
from giantstep.theory import Activation, as_activation


def _nu(xi: complex, psi1: float, psi2: float, zeta: float, tol: float = 1e-14,
        max_iter: int = 100_000) -> tuple[complex, complex]:
    """Fixed point ``(ν1, ν2)`` of Mei–Montanari's Definition 1 (damped iteration)."""
    z2 = zeta * zeta
    nu1 = 1j * psi1 / (abs(xi) + 1.0)
    nu2 = 1j * psi2 / (abs(xi) + 1.0)
    err = float("inf")
    for _it in range(max_iter):
        den = 1.0 - z2 * nu1 * nu2
        n1 = psi1 / (-xi - nu2 - z2 * nu2 / den)
        n2 = psi2 / (-xi - nu1 - z2 * nu1 / den)
        err = abs(n1 - nu1) + abs(n2 - nu2)
        nu1 = 0.5 * n1 + 0.5 * nu1
        nu2 = 0.5 * n2 + 0.5 * nu2
        if err < tol * (1 + abs(nu1) + abs(nu2)):
            return nu1, nu2
    raise ConvergenceError("Mei–Montanari (ν1, ν2) did not converge", residual=err,
                           iterations=max_iter)


def mei_montanari_risk(psi1: float, psi2: float, lam_bar: float, zeta: float, f1sq: float,
                       fstar_sq: float, tau_sq: float) -> float:
    """Asymptotic RF ridge test error ``R = F1² B + (τ² + F*²) V + F*²`` (Definition 1)."""
    xi = 1j * math.sqrt(psi1 * psi2 * lam_bar)
    nu1, nu2 = _nu(xi, psi1, psi2, zeta)
    chi = (nu1 * nu2).real
    z2, z4, z6 = zeta**2, zeta**4, zeta**6
    p12 = psi1 * psi2
    e0 = (-chi**5 * z6 + 3 * chi**4 * z4 + (p12 - psi2 - psi1 + 1) * chi**3 * z6
          - 2 * chi**3 * z4 - 3 * chi**3 * z2 + (psi1 + psi2 - 3 * p12 + 1) * chi**2 * z4
          + 2 * chi**2 * z2 + chi**2 + 3 * p12 * chi * z2 - p12)
    e1 = psi2 * chi**3 * z4 - psi2 * chi**2 * z2 + p12 * chi * z2 - p12
    e2 = (chi**5 * z6 - 3 * chi**4 * z4 + (psi1 - 1) * chi**3 * z6 + 2 * chi**3 * z4
          + 3 * chi**3 * z2 + (-psi1 - 1) * chi**2 * z4 - 2 * chi**2 * z2 - chi**2)
    return f1sq * e1 / e0 + (tau_sq + fstar_sq) * e2 / e0 + fstar_sq


def random_features_test_error(
    student: str | Activation, teacher: str | Activation, lam: float, alphas, noise: float = 0.0,
    p_over_d: float = 1.0,
) -> np.ndarray:
    """Lazy (η̃ = 0) test error of our ridge readout from Mei & Montanari (2019).

    Parameters follow :func:`giantstep.numerics.one_step_learning_curve` (p/d = 1 there).
    """
    student, teacher = as_activation(student), as_activation(teacher)
    if not lam > 0:
        raise InputError(f"λ must be > 0, got {lam}")
    ms, mt = activation_moments(student), activation_moments(teacher)
    if abs(ms.mu0) > 1e-12 or abs(mt.mu0) > 1e-12:
        raise InputError("the Mei–Montanari formula is implemented for centred σ and σ* "
                         "(μ0 = μ0* = 0)")
    mustar2 = ms.second - ms.mu0**2 - ms.mu1**2
    if mustar2 <= 0:
        raise InputError("Mei–Montanari needs a non-linear student (μ*² > 0)")
    zeta = ms.mu1 / math.sqrt(mustar2)
    f1sq = mt.mu1**2
    fstar_sq = mt.second - mt.mu0**2 - mt.mu1**2
    out = []
    for a in np.atleast_1d(np.asarray(alphas, dtype=float)):
        if not a > 0:
            raise InputError(f"α must be > 0, got {a}")
        lam_bar = (lam / a) / mustar2
        out.append(mei_montanari_risk(p_over_d, a, lam_bar, zeta, f1sq, fstar_sq, noise) + noise)
    return np.array(out)
