"""Ridge regression of the readout (docs/model.md §1): ``min_a Σ_ν (y_ν − ⟨Φ_ν, a⟩)² + λ‖a‖²``.

Solved in the smaller of the two equivalent forms, by a Cholesky factorisation
(``scipy.linalg.solve(..., assume_a="pos")``), never by forming an inverse:

* primal (p × p): ``(ΦᵀΦ + λ I) a = Φᵀ y`` — the Gram matrix can be accumulated
  chunk by chunk, so the features never need to be held in memory;
* dual (n × n): ``a = Φᵀ (ΦΦᵀ + λ I)⁻¹ y`` — used when n < p.

With ``λ = 0`` the minimum-norm least-squares solution is returned (``lstsq``).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from giantstep.errors import InputError


def _check_lambda(lam: float) -> float:
    lam = float(lam)
    if not np.isfinite(lam) or lam < 0:
        raise InputError(f"ridge penalty λ must be a finite number ≥ 0, got {lam}")
    return lam


def _solve_pos(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return scipy.linalg.solve(A, b, assume_a="pos", check_finite=False)
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        # numerically singular (λ tiny): fall back to a symmetric solver
        return scipy.linalg.lstsq(A, b, check_finite=False)[0]


def solve_primal(gram: np.ndarray, rhs: np.ndarray, lam: float) -> np.ndarray:
    """Solve ``(G + λ I) a = rhs`` for a Gram matrix ``G = ΦᵀΦ`` (p × p)."""
    lam = _check_lambda(lam)
    gram = np.asarray(gram, dtype=np.float64)
    A = gram + lam * np.eye(gram.shape[0])
    if lam == 0:
        return scipy.linalg.lstsq(A, rhs, check_finite=False)[0]
    return _solve_pos(A, np.asarray(rhs, dtype=np.float64))


def solve_dual(features: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Ridge weights through the n × n kernel system ``(ΦΦᵀ + λ I) β = y``, ``a = Φᵀ β``."""
    lam = _check_lambda(lam)
    Phi = np.asarray(features, dtype=np.float64)
    K = Phi @ Phi.T
    K[np.diag_indices_from(K)] += lam
    if lam == 0:
        beta = scipy.linalg.lstsq(K, y, check_finite=False)[0]
    else:
        beta = _solve_pos(K, np.asarray(y, dtype=np.float64))
    return Phi.T @ beta


def ridge(features: np.ndarray, y: np.ndarray, lam: float, form: str = "auto") -> np.ndarray:
    """Ridge weights ``a`` for in-memory features Φ (n × p) and labels y (n,).

    Parameters
    ----------
    features, y : ndarray
        Design matrix and labels.
    lam : float
        Penalty λ ≥ 0 (λ = 0: minimum-norm least squares).
    form : {"auto", "primal", "dual"}
        ``auto`` picks the smaller system.
    """
    Phi = np.asarray(features, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if Phi.ndim != 2 or y.shape != (Phi.shape[0],):
        raise InputError(f"features must be (n, p) and labels (n,), got {Phi.shape} and {y.shape}")
    n, p = Phi.shape
    if form == "auto":
        form = "dual" if n < p else "primal"
    if form == "primal":
        return solve_primal(Phi.T @ Phi, Phi.T @ y, lam)
    if form == "dual":
        return solve_dual(Phi, y, lam)
    raise InputError(f"form must be 'auto', 'primal' or 'dual', got {form!r}")
