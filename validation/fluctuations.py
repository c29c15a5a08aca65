"""Predicted seed-to-seed fluctuations of the compared quantities (docs/validation.md §2.2).

Derived here (not in the literature): after one giant step with ``n = α d`` fresh
samples (docs/model.md §5.1), every per-type mean the simulation reports is, to leading order
in ``1/n``, a batch average ``(1/n) Σ_ν ψ(z_ν, ε_ν)`` of a per-sample function of the
latent ``z = W* x`` and the label noise, plus (for squared norms) one off-diagonal term
``(1/n²) Σ_{ν≠ν'} e_ν e_ν' ⟨x_ν^⊥, x_ν'^⊥⟩`` of variance ``2 E[e²]²/(α n)``. Their
variances across seeds are therefore ``Var ψ/n`` (+ the off-diagonal part), computed
here by Gauss–Hermite quadrature in (z, ε) — exact for polynomial targets.

Notation (type with mean readout value ``s̄``, ``s2`` = mean of ``s_j²``, P neurons):
``e = g*(z) − f_0 + √Δ ε``, ``a = 1 + η̃ s̄ μ2 E[e]``, ``b = η̃ s̄ μ2``,
``E σ'²``, ``Var σ' = E σ'² − μ1²``, ``C1 = E[e z]``, ``C2 = E[g* He2(z)]``.

* target overlap, coordinate i:
  ``η̃² (s̄² μ1² Var(e z_i) + s2 Var σ' E[e² z_i²]/P)/n + ((a I + b C2)²)_ii/(d P)``
  (batch noise shared by the neurons of a seed, private noise averaged over the type,
  and the ``O(d^{-1/2})`` initial overlaps ``W* w_j⁰`` averaged over the type, carried
  by the row rescaling and the μ2 C2 term);
* ``‖w‖²``: ``ψ_N = η̃² s2 (E σ'²/α) e² + 2 η̃² s2 μ1² (C1·z) e + 2 a η̃ s̄ μ2 e``
  plus the off-diagonal term with coefficient ``η̃² s2 μ1²``;
* ``‖w‖² − ‖W* w‖²``: ``ψ_N − 2 η̃² s̄² μ1² (C1·z) e``; shared norm:
  ``ψ_S = η̃² s̄² μ1² e²/α`` with off-diagonal coefficient ``η̃² s̄² μ1²``; private
  variance: ``ψ_P − ψ_S`` (the off-diagonal parts cancel);
* cosine (``C1 ≠ 0``): ``cos·((C1·z) e/‖C1‖² − ψ_N/(2‖w‖²))`` (delta method).

Neglected: relative corrections ``O(1/d + 1/p)`` (the ``‖x‖²/d`` fluctuations, the
``O(p^{-1/2})`` output at initialisation with a sign readout, correlations between
neurons through ``⟨w_j, w_k⟩``). These predictions are checked against Monte-Carlo over
seeds in ``tests/test_validate_calibration.py`` and their use is calibrated in
``tests/test_validate_calibration.py``.

Test error: the test-set average over ``n_test`` samples adds ``Var((y − f)²)/n_test``,
which is ``2 E_g²/n_test`` when the residual is a centred Gaussian. That is only one part
of the seed-to-seed variance (the batches and W0 add theirs), so it is used as a floor
only (``complete=False``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_NODES = {1: 64, 2: 40, 3: 20, 4: 12}
_NOISE_NODES = 12


@dataclass
class BatchMoments:
    """Per-sample quantities of the first step's batch on a quadrature grid (§5.1 notation)."""

    eta: float
    alpha: float
    mu1: float
    mu2: float
    mean_dsigma2: float
    var_dsigma: float
    mean_e: float
    mean_e2: float
    mean_e4: float
    ds: dict  # E σ'³, E σ'⁴, E[σ'² ξ²], μ4 (for the O(1/(nP)) and O(1/(nd)) terms)
    C1: np.ndarray  # (r,)
    C2: np.ndarray  # (r, r)
    z: np.ndarray  # (N, r) quadrature nodes of the latent
    e: np.ndarray  # (N,) residual at the nodes
    w: np.ndarray  # (N,) weights (sum 1)

    def mean(self, f: np.ndarray) -> float:
        return float(self.w @ f)

    def var(self, f: np.ndarray) -> float:
        m = self.mean(f)
        return float(self.w @ (f - m) ** 2)


def batch_moments(target: str, activation: str, *, alpha: float, eta: float,
                  readout: str = "constant", noise: float | None = None,
                  symmetric: bool = False) -> BatchMoments | None:
    """The first-step batch of docs/model.md §5.1 on a Gauss–Hermite grid (None for r > 4)."""
    import giantstep.numerics as gn
    from giantstep.numerics.gaussian import product_rule
    from giantstep.theory import as_target

    tgt = as_target(target)
    r = tgt.r
    if r not in _NODES:
        return None
    res = gn.one_step_overlaps(target, activation, alpha=alpha, eta=eta, readout=readout,
                               noise=noise, symmetric=symmetric)
    delta = float(res.noise or 0.0)
    Z, wz = product_rule(_NODES[r], r)
    g = np.asarray(tgt.evaluate(Z), dtype=float) - res.f0
    if delta > 0:
        from giantstep.numerics.gaussian import gauss_hermite

        xe, we = gauss_hermite(_NOISE_NODES)
        e = (g[:, None] + math.sqrt(delta) * xe[None, :]).ravel()
        Z = np.repeat(Z, xe.size, axis=0)
        w = (wz[:, None] * we[None, :]).ravel()
    else:
        e, w = g, np.asarray(wz, dtype=float)
    mu0, mu1, mu2 = res.mu
    return BatchMoments(eta=float(eta), alpha=float(alpha), mu1=float(mu1), mu2=float(mu2),
                        mean_dsigma2=float(res.var_dsigma + mu1 * mu1),
                        var_dsigma=float(res.var_dsigma), mean_e=float(res.mean_e),
                        mean_e2=float(res.mean_e2), mean_e4=float(w @ e**4),
                        ds=_derivative_moments(activation),
                        C1=np.asarray(res.C1, dtype=float).reshape(r),
                        C2=np.asarray(tgt.tensor(2), dtype=float).reshape(r, r),
                        z=np.asarray(Z, dtype=float), e=e, w=w)


def _derivative_moments(activation: str) -> dict:
    """Moments of σ' entering the O(1/(nP)) and O(1/(nd)) terms (400-node Gauss–Hermite).

    ``m3 = E σ'³``, ``m4 = E σ'⁴``, ``m2x2 = E[σ'² ξ²]`` and the derivatives at ρ = 1 of
    ``K(ρ) = ρ² E σ'(ρξ)²``, ``Ks(ρ) = ρ² (E σ'(ρξ))²``, ``F(ρ) = E[σ'(ρξ) ρξ]``,
    ``M(ρ) = E σ'(ρξ)`` (ρ = ‖x‖/√d fluctuates by (2d)^{-1/2}), by central differences.
    """
    from giantstep.numerics.gaussian import gauss_hermite
    from giantstep.theory import as_activation

    act = as_activation(activation)
    x, w = gauss_hermite(400)
    x = np.asarray(x, dtype=float)

    def dsig(rho: float) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(act.derivative(rho * x), dtype=float)

    ds = dsig(1.0)
    h = 1e-4

    def deriv(fn) -> float:
        return float((fn(1 + h) - fn(1 - h)) / (2 * h))

    return {"m3": float(w @ ds**3), "m4": float(w @ ds**4), "m2x2": float(w @ (ds**2 * x**2)),
            "dK": deriv(lambda r: r * r * float(w @ dsig(r) ** 2)),
            "dKs": deriv(lambda r: r * r * float(w @ dsig(r)) ** 2),
            "dF": deriv(lambda r: float(w @ (dsig(r) * r * x))),
            "dM": deriv(lambda r: float(w @ dsig(r)))}


def one_step_variances(bm: BatchMoments, *, s_mean: float, s2_mean: float, count: int,
                       d: int, n: int, init: str = "gaussian", s3_mean: float | None = None,
                       s4_mean: float | None = None) -> dict:
    """Predicted per-seed variances of the type means after one step (module docstring).

    Returns ``{"overlap": [r floats], "norm2", "perp_norm2", "shared_norm2",
    "private_var", "cosine" (None when C1 = 0 or s̄ = 0)}``.
    """
    et, al = bm.eta, bm.alpha
    P = max(int(count), 1)
    a = 1.0 + et * s_mean * bm.mu2 * bm.mean_e
    b = et * s_mean * bm.mu2
    e, z = bm.e, bm.z
    ez = e[:, None] * z
    var_ez = np.array([bm.var(ez[:, i]) for i in range(z.shape[1])])
    e2z2 = np.array([bm.mean(ez[:, i] ** 2) for i in range(z.shape[1])])
    A = a * np.eye(len(bm.C1)) + b * bm.C2
    init_ov = np.diag(A @ A.T) / (d * P)
    overlap = (et**2 * (s_mean**2 * bm.mu1**2 * var_ez + s2_mean * bm.var_dsigma * e2z2 / P) / n
               + init_ov + et**2 * s_mean**2 * bm.ds["dM"] ** 2 * e2z2 / (2.0 * d * n))
    c1z_e = (z @ bm.C1) * e
    off = 2.0 * bm.mean_e2**2 / (al * n)  # variance of the off-diagonal chaos, unit coefficient
    init_norm = 2.0 * a**4 / (d * P) if init == "gaussian" else 0.0
    # O(1/(nP)): the type average of σ'(h_jν), σ'(h_jν)², σ'(h_jν) h_jν fluctuates with ν
    s3 = s_mean * s2_mean if s3_mean is None else s3_mean
    s4 = s2_mean**2 if s4_mean is None else s4_mean
    m2, m3, m4 = bm.mean_dsigma2, bm.ds["m3"], bm.ds["m4"]
    var_d2 = m4 - m2 * m2  # Var σ'²
    cov_d2_d = m3 - m2 * bm.mu1  # Cov(σ'², σ')
    var_dx = bm.ds["m2x2"] - bm.mu2**2  # Var(σ'(ξ) ξ)
    ke = et**4 * bm.mean_e4 / (al * al * n * P)
    # O(1/(nd)): ρ_ν = ‖x_ν‖/√d moves the diagonal terms and E[σ'(h) h] (factor ρ − 1)
    rho_p = et**2 * s2_mean * bm.ds["dK"] * e**2 / al + 2 * a * et * s_mean * bm.ds["dF"] * e
    rho_s = et**2 * s_mean**2 * bm.ds["dKs"] * e**2 / al
    rho_var = 1.0 / (2.0 * d * n)
    extra_perp = (ke * s4 * var_d2 + 4 * et**2 * s2_mean * bm.mean_e2 * var_dx / (n * P)
                  + rho_var * bm.mean(rho_p**2))
    extra_shared = ke * 4 * s_mean**2 * bm.mu1**2 * s2_mean * bm.var_dsigma + rho_var * bm.mean(rho_s**2)
    extra_private = (ke * (s4 * var_d2 - 4 * s_mean * bm.mu1 * s3 * cov_d2_d
                           + 4 * s_mean**2 * bm.mu1**2 * s2_mean * bm.var_dsigma)
                     + 4 * et**2 * s2_mean * bm.mean_e2 * var_dx / (n * P)
                     + rho_var * bm.mean((rho_p - rho_s) ** 2))
    psi_n = (et**2 * s2_mean * (bm.mean_dsigma2 / al) * e**2
             + 2 * et**2 * s2_mean * bm.mu1**2 * c1z_e + 2 * a * et * s_mean * bm.mu2 * e)
    kn = et**2 * s2_mean * bm.mu1**2
    psi_p = psi_n - 2 * et**2 * s_mean**2 * bm.mu1**2 * c1z_e
    psi_s = et**2 * s_mean**2 * bm.mu1**2 * e**2 / al
    ks = et**2 * s_mean**2 * bm.mu1**2
    out = {
        "overlap": overlap.tolist(),
        "norm2": bm.var(psi_n) / n + kn**2 * off + init_norm + extra_perp,
        "perp_norm2": bm.var(psi_p) / n + kn**2 * off + init_norm + extra_perp,
        "shared_norm2": bm.var(psi_s) / n + ks**2 * off + extra_shared,
        "private_var": (bm.var(psi_p - psi_s) / n + (kn - ks) ** 2 * off + init_norm
                        + extra_private),
        "cosine": None,
    }
    nc1 = float(bm.C1 @ bm.C1)
    if nc1 > 0 and s_mean != 0:
        om2 = et**2 * s_mean**2 * bm.mu1**2 * nc1
        N = (a * a + om2 + et**2 * s_mean**2 * bm.mu1**2 * bm.mean_e2 / al
             + et**2 * s2_mean * bm.mean_e2 * bm.var_dsigma / al)
        cos = math.sqrt(om2 / N)
        psi_c = cos * (c1z_e / nc1 - psi_n / (2 * N))
        out["cosine"] = bm.var(psi_c) / n + (cos * kn / (2 * N)) ** 2 * off
    return out


def sampling_variance_of_test_error(test_error: float, n_test: int) -> float:
    """``2 E_g²/n_test``: the test-set noise of a test error for a centred Gaussian residual."""
    return 2.0 * float(test_error) ** 2 / max(int(n_test), 1)
