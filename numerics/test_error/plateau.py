"""The p, n → ∞ limit of the several-type equations.

In the several-type model (:mod:`giantstep.numerics.test_error.solver.typed`) a readout predicts,
given the spike coordinate(s) κ and the target's private coordinates ξ (z = γκ + aξ),

    f = Σ_t m_t μ0_t(κ) + Σ_t μ1_t(κ) ⟨θ_t, κ⟩ + Σ_t μ1_t(κ) ⟨β_t, ξ⟩ + (bulk noise),

with β_t = ψ_t the per-type overlaps with the private target directions. As ψ → ∞ (β_t
free, the μ*-noise averaged out), α/ψ → ∞ and λ → 0 the test error tends to the
least-squares residual of y on these functions. Because E[ξ | κ] = 0 and ξ ⟂ κ, the
problem splits into a κ-part and one part per private direction l (derived in
docs/multi_step_error.md, "Limit p, n → ∞"):

    P_T = E[g*²] − ‖Proj_A h‖² − Σ_l ‖Proj_B h1_l‖² + Δ,
    A = span{μ0_t(κ), κ_k μ1_t(κ)},  B = span{μ1_t(κ)},
    h = E[g* | κ],  h1_l = E[g* ξ_l | κ],

projections in L²(law of κ). If A and B were dense, P_T would reach the ideal plateau of
the state ``E[g*²] − E[h²] − Σ_l E[h1_l²] + Δ`` (best function of κ plus a κ-dependent
linear function of ξ), which is at most ``E[Var(g* | κ)] + Δ``.
"""

from __future__ import annotations

import numpy as np

from giantstep.numerics.test_error.solver.typed import TypedTables


def _projected_norm2(basis: np.ndarray, target: np.ndarray, weights: np.ndarray,
                     rcond: float) -> float:
    """``‖Proj_span(basis) target‖²`` in L²(weights): weighted least squares by lstsq."""
    sw = np.sqrt(weights)
    coef = np.linalg.lstsq(basis * sw[:, None], target * sw, rcond=rcond)[0]
    fit = basis @ coef
    return float(weights @ (fit * fit))


def typed_plateau(tb: TypedTables, noise: float, rcond: float = 1e-12) -> float:
    """Least-squares limit ``P_T`` (ψ → ∞, α/ψ → ∞, λ → 0) of the several-type equations.

    Parameters
    ----------
    tb : TypedTables
        κ-tables of the T types (``typed_tables`` or the several-direction tables of
        :mod:`giantstep.numerics.test_error.tables.typed_steps`: ``kappa`` of shape (n,) or (n, K)).
    noise : float
        Label noise Δ.
    rcond : float
        Relative cut-off of the least squares (the μ0_t of neighbouring bins are nearly
        collinear).

    Returns
    -------
    float
        ``P_T = E[g*²] − ‖Proj_A h‖² − Σ_l ‖Proj_B h1_l‖² + Δ`` with
        ``A = span{μ0_t, κ_k μ1_t}``, ``B = span{μ1_t}`` (module docstring).
    """
    w = np.asarray(tb.weights, float)
    kap = np.asarray(tb.kappa, float)
    kap = kap[:, None] if kap.ndim == 1 else kap
    mu0, mu1 = np.asarray(tb.mu0, float), np.asarray(tb.mu1, float)
    cols_a = [mu0.T] + [mu1.T * kap[:, k:k + 1] for k in range(kap.shape[1])]
    basis_a = np.concatenate(cols_a, axis=1)
    total = float(w @ tb.h2) - _projected_norm2(basis_a, np.asarray(tb.h, float), w, rcond)
    h1 = np.asarray(tb.h1, float)
    for l_ in range(h1.shape[1]):
        total -= _projected_norm2(mu1.T, h1[:, l_], w, rcond)
    return total + float(noise)


def state_ideal(tb: TypedTables, noise: float) -> dict[str, float]:
    """Ideal plateaus of the state described by ``tb`` (dense spans).

    Returns
    -------
    dict
        ``"linear_xi"``: ``E[g*²] − E[h²] − Σ_l E[h1_l²] + Δ``, the infimum of ``P_T`` over
        all spans (any function of κ plus any κ-dependent linear function of ξ);
        ``"conditional_variance"``: ``E[Var(g* | κ)] + Δ = E[g*²] − E[h²] + Δ``.
    """
    w = np.asarray(tb.weights, float)
    base = float(w @ tb.h2) - float(w @ (np.asarray(tb.h, float) ** 2)) + float(noise)
    h1 = np.asarray(tb.h1, float)
    lin = float(np.sum(w[:, None] * h1 * h1))
    return {"linear_xi": base - lin, "conditional_variance": base}
