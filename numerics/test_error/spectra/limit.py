"""d → ∞ deterministic equivalent of the bulk spectrum of the real first step (docs/model.md §6.1).

The real first step (constant readout, ``W0`` rows ``N(0, I/d)``, n0 = α0 d, p = ψ d) is

    W1 = W0 + (η̃/n0) (σ'(W0 Xᵀ) ∘ 1eᵀ) X,      e = y − μ0(σ).

Gaussian-equivalent linearisation of σ' (Hermite: ``σ' = μ1 + μ2 He1 + σ'_⋆``; for relu
σ'_⋆ has no He1/He2 part): the bulk ``B = W1 − 1 m̄ᵀ`` is, to leading order,

    B = W0 (I + a M) + (b/n0) Z E X,   M = Xᵀ E X / n0,  a = η̃ μ2,  b = η̃ μ⋆,     (1)

``μ⋆² = E σ'² − μ1² − μ2²`` and Z an independent p × n0 matrix of iid N(0, 1). Given the
batch (X, e), the rows of (1) are iid ``N(0, T)`` with

    d·T = (I + a M)² + β N,   N = Xᵀ E² X / n0,   β = b²/α0.                         (2)

Stage A — law of d·T (derived here, rank-two leave-one-out): with ``G = (dT − w)⁻¹``,
``A = I + aM``, ``h0 = tr G/n0``, ``h1 = tr AG/n0``, ``h2 = tr AGA/n0``,
``Q = [[h0, h1], [h1, h2]]``, ``C(e) = [[e²(a²/α0 + β), a e], [a e, 0]]``,
``Φ(e) = (Q⁻¹ + C(e))⁻¹``:

    h1 = h0 + a E[e Φ11],                                                           (3)
    h2 = h1 + a E[e Φ21] + (a²/α0) E[e² Φ11],                                        (4)
    h2 = 1/α0 + w h0 − β E[e² Φ11],                                                  (5)

and ``g_T(w) = (1/d) tr G = α0 h0``.

Stage B — law of the eigenvalues D of ``Ω = B Π Bᵀ`` (Silverstein's equation for a sample
covariance with population T, p samples in dimension d; Π is rank-one and drops out):

    m(z) = 1 / (−z − w (1 + w g_T(w))),   w = −1/(ψ m(z)).                           (6)

Lazy check: a = β = 0 gives ``g_T = 1/(1 − w)`` and (6) is Marchenko–Pastur(ψ).

The spike-weighted transforms (the F, H, G of the §6.1 inputs) follow from the resolvent
quadratic forms of dT along v̂ and θ̂ (:func:`spike_forms`, (7)–(10)) and Sherman–Morrison
for the projection Π (:func:`weighted_stieltjes`, (11)–(13)); :func:`limit_bulk_inputs`
turns them into a quadrature with the fields of ``bulk_step_inputs.BulkInputs``. Quoted,
derived and measured parts, with the numbered equations: docs/records/step_spectrum.md.
Nothing here is proven: (1) is an assumption, (3)–(13) cavity derivations, all checked
against sampled real steps (tests/test_step_spectrum_limit.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from giantstep.errors import ConvergenceError, InputError
from giantstep.theory import Activation, Target, as_activation, as_target
from giantstep.theory.gauss.rules import gauss_hermite

from .sampled_steps import BulkInputs


@dataclass(frozen=True)
class StepLaw:
    """Constants of the linearised step (1)–(2) and the law of e on quadrature nodes.

    Attributes
    ----------
    a, beta : float
        ``η̃ μ2`` and ``η̃² μ⋆²/α0`` of (1)–(2).
    alpha0, psi : float
        Batch ratio n0/d and width ratio p/d.
    e, kappa, weights : ndarray
        Nodes of ``e = σ*(κ) + √Δ ε − μ0`` (κ, ε ~ N(0,1)), the κ of each node, and weights
        summing to 1.
    """

    a: float
    beta: float
    alpha0: float
    psi: float
    e: np.ndarray
    kappa: np.ndarray
    weights: np.ndarray

    def mean(self, f: np.ndarray) -> np.ndarray:
        """``E_e[f]`` over the last axis."""
        return f @ self.weights

    @property
    def c2(self) -> float:
        """``c² = tr T`` = ``(1 + a E e)² + (a²/α0 + β) E e²`` (the bulk scale of §5.1)."""
        m1, m2 = self.mean(self.e), self.mean(self.e**2)
        return (1 + self.a * m1) ** 2 + (self.a**2 / self.alpha0 + self.beta) * m2


KAPPA_NODES = 16  # Gauss–Legendre nodes per κ piece (8 pieces of width 2.5 + kinks)
NOISE_NODES = 12  # Gauss–Hermite nodes for the label noise ε


def _kappa_rule(kinks: tuple[float, ...], n: int = KAPPA_NODES, half_width: float = 10.0):
    """Gauss–Legendre pieces of ``[−L, L]`` cut every 2.5 and at the kinks, times φ(κ)."""
    t, wl = np.polynomial.legendre.leggauss(n)
    cuts = sorted({*np.linspace(-half_width, half_width, 9).tolist(),
                   *[float(k) for k in kinks if abs(k) < half_width]})
    xs, ws = [], []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        x = 0.5 * (hi + lo) + 0.5 * (hi - lo) * t
        xs.append(x)
        ws.append(0.5 * (hi - lo) * wl * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi))
    x, w = np.concatenate(xs), np.concatenate(ws)
    return x, w / w.sum()


def step_law(student: str | Activation, teacher: str | Target, psi: float, alpha0: float,
             eta: float, noise: float) -> StepLaw:
    """Constants of (1)–(2) for a single-index teacher ``σ*(z1)`` and the constant readout."""
    from ..tables.single_index import activation_moments

    act = student if isinstance(student, Activation) else as_activation(student)
    tgt = teacher if isinstance(teacher, Target) else as_target(str(teacher))
    if tgt.r != 1:
        raise InputError("the step-spectrum limit is implemented for single-index teachers")
    if not (psi > 0 and alpha0 > 0 and eta >= 0 and noise >= 0):
        raise InputError("need ψ > 0, α0 > 0, η̃ ≥ 0, Δ ≥ 0")
    mom = activation_moments(act)
    mu_star2 = max(mom.deriv_second - mom.mu1**2 - mom.mu2**2, 0.0)
    from ..tables.single_index import activation_kinks

    kinks = tuple(getattr(tgt, "kinks", ()) or ()) + tuple(activation_kinks(act)) + (0.0,)
    k, wk = _kappa_rule(kinks)
    y = np.asarray(tgt.evaluate(k[:, None]), dtype=float).reshape(-1)
    if noise > 0:
        xe, we = gauss_hermite(NOISE_NODES)
        e = (y[:, None] + math.sqrt(noise) * xe[None, :]).reshape(-1) - mom.mu0
        kap = np.repeat(k, xe.size)
        w = (wk[:, None] * we[None, :]).reshape(-1)
    else:
        e, kap, w = y - mom.mu0, k, wk
    return StepLaw(eta * mom.mu2, eta**2 * mu_star2 / alpha0, float(alpha0), float(psi),
                   e, kap, w)


def _stage_a_map(w, h, law: StepLaw):
    """One evaluation of (3)–(5): returns the residual of (h0, h1, h2) at spectral point w."""
    h0, h1, h2 = h
    p11, p21, _ = _phi_full(h0, h1, h2, law)
    e = law.e
    ep11 = law.mean(e * p11)
    e2p11 = law.mean(e * e * p11)
    ep21 = law.mean(e * p21)
    r1 = h1 - (h0 + law.a * ep11)
    r2 = h2 - (h1 + law.a * ep21 + law.a**2 / law.alpha0 * e2p11)
    r3 = h2 - (1 / law.alpha0 + w * h0 - law.beta * e2p11)
    return np.stack([r1, r2, r3])


def _full_map(z, u, law: StepLaw):
    """Residual of the joint system (3)–(6) in the unknowns ``u = (m, h0, h1, h2)``."""
    m = u[0]
    w = -1.0 / (law.psi * m)
    ra = _stage_a_map(w, u[1:], law)
    gt = law.alpha0 * u[1]
    rm = m * (-z - w * (1 + w * gt)) - 1.0
    return np.concatenate([rm[None], ra])


def _newton(z, u, law: StepLaw, tol: float = 1e-13, max_iter: int = 60):
    """Vectorised complex Newton on (3)–(6) (the map is holomorphic in u: complex-step
    Jacobian by finite differences of size 1e-7 |u|)."""
    for _ in range(max_iter):
        f = _full_map(z, u, law)
        err = np.max(np.abs(f))
        if err < tol:
            return u, err
        jac = np.empty((u.shape[1], 4, 4), dtype=complex)
        for k in range(4):
            du = np.zeros_like(u)
            hk = 1e-7 * (np.abs(u[k]) + 1e-3)
            du[k] = hk
            jac[:, :, k] = ((_full_map(z, u + du, law) - f) / hk).T
        step = np.linalg.solve(jac, -f.T[:, :, None])[:, :, 0].T
        u = u + step
    return u, float(np.max(np.abs(_full_map(z, u, law))))


def _initial(z, law: StepLaw):
    """Start from the Marchenko–Pastur(ψ, scale c²) solution (exact for a = β = 0)."""
    s = law.c2
    psi = law.psi
    m = _mp_stieltjes(z, psi, s)
    w = -1.0 / (psi * m)
    h0 = 1.0 / (law.alpha0 * (s - w))
    return np.stack([m, h0, s * h0, s * s * h0]).astype(complex)


def _mp_stieltjes(z, psi: float, s: float):
    """``(1/p) tr(S − z)⁻¹`` for S = s·MP(ψ): root of ``ψ s z m² + (z + s(ψ − 1)) m + 1 = 0``
    with ``Im m·Im z > 0`` (or m > 0 for z < 0)."""
    z = np.asarray(z, dtype=complex)
    aq = psi * s * z
    bq = z + s * (psi - 1)
    disc = np.sqrt(bq * bq - 4 * aq)
    r1 = (-bq + disc) / (2 * aq)
    r2 = (-bq - disc) / (2 * aq)
    good = np.where(z.imag != 0, np.sign(r1.imag) == np.sign(z.imag), r1.real > 0)
    return np.where(good, r1, r2)


def bulk_stieltjes(z: np.ndarray, law: StepLaw) -> np.ndarray:
    """``m(z) = lim (1/p) tr(Ω − z)⁻¹`` of (6) at the points z (complex, or real < 0)."""
    return _solve(z, law)[0]


def bulk_density(x: np.ndarray, law: StepLaw, eta_im: float = 1e-9) -> np.ndarray:
    """Density of the limit law of D at the real points x > 0: ``Im m(x + i0)/π`` (6),
    evaluated at ``Im z = eta_im·c²`` (the Poisson smoothing error of a bounded integrand
    is O(eta_im²))."""
    z = np.asarray(x, dtype=float) + 1j * eta_im * law.c2
    return bulk_stieltjes(z, law).imag / math.pi


def _phi_full(h0, h1, h2, law: StepLaw):
    """All entries of ``Φ(e) = Q (I + C Q)⁻¹`` (rows: w, columns: e nodes)."""
    e = law.e[None, :]
    c11 = e * e * (law.a**2 / law.alpha0 + law.beta)
    c12 = law.a * e
    h0, h1, h2 = h0[:, None], h1[:, None], h2[:, None]
    m11 = 1 + c11 * h0 + c12 * h1
    m12 = c11 * h1 + c12 * h2
    m21 = c12 * h0
    m22 = 1 + c12 * h1
    det = m11 * m22 - m12 * m21
    p11 = (h0 * m22 - h1 * m21) / det
    p21 = (h1 * m22 - h2 * m21) / det
    p22 = (-h1 * m12 + h2 * m11) / det
    return p11, p21, p22


def spike_forms(w: np.ndarray, h: np.ndarray, law: StepLaw) -> np.ndarray:
    """``[v̂, θ̂]ᵀ (dT − w)⁻¹ [v̂, θ̂]`` as ``(r_vv, r_vθ, r_θθ)`` at the Stage-A solution h.

    Derived here (equations (7)–(10) of docs/records/step_spectrum.md): θ̂ = e1 is split off
    ``X/√n0 = [κ̄ | X̄⊥]``; the θ-row of dT and v̂ ∝ ``Xᵀe`` are combinations of the vectors
    ``X̄⊥ᵀf/√n0`` and ``A⊥X̄⊥ᵀf/√n0`` with f ∈ {eκ, e²κ, e}, whose resolvent quadratic forms
    are ``E[f f' Φ11]``, ``E[f f' (Φ21 + a e Φ11/α0)]``,
    ``E[f f' (Φ22 + 2 a e Φ21/α0 + (a e/α0)² Φ11)]``.
    """
    a, beta, al = law.a, law.beta, law.alpha0
    e, k = law.e, law.kappa
    p11, p21, p22 = _phi_full(h[0], h[1], h[2], law)
    q0 = p11
    q1 = p21 + (a * e / al) * p11
    q2 = p22 + 2 * (a * e / al) * p21 + (a * e / al) ** 2 * p11
    fs = (e * k, e * e * k, e)
    # basis [m, A m, n, g⊥] = [(f1, 0), (f1, A), (f2, 0), (f3, 0)]
    basis = ((0, 0), (0, 1), (1, 0), (2, 0))
    nb = len(basis)
    K = np.empty((w.size, nb, nb), dtype=complex)
    for i, (fi, ai) in enumerate(basis):
        for j, (fj, aj) in enumerate(basis):
            q = (q0, q1, q2)[ai + aj]
            K[:, i, j] = law.mean(fs[fi] * fs[fj] * q)
    # R⊥ = R0 − a² R0 m mᵀ R0 / (1 + a² mᵀ R0 m)
    km = K[:, :, 0]
    Kp = K - a * a * km[:, :, None] * km[:, None, :] / (1 + a * a * K[:, 0, 0])[:, None, None]
    mu = law.mean(e * k * k)
    nu = law.mean(e * e * k * k)
    t11 = (1 + a * mu) ** 2 + a * a * nu / al + beta * nu
    ct = np.array([a * (1 + a * mu), a, beta, 0.0])
    cg = np.array([0.0, 0.0, 0.0, 1.0])
    tt = np.einsum("i,nij,j->n", ct, Kp, ct)
    tg = np.einsum("i,nij,j->n", ct, Kp, cg)
    gg = np.einsum("i,nij,j->n", cg, Kp, cg)
    s = t11 - w - tt
    eps1 = law.mean(e * k)
    gnorm2 = eps1**2 + law.mean(e * e) / al
    r_tt = 1 / s
    r_tg = (eps1 - tg) / s
    r_gg = eps1**2 / s - 2 * eps1 * tg / s + gg + tg**2 / s
    gn = math.sqrt(gnorm2)
    return np.stack([r_gg / gnorm2, r_tg / gn, r_tt])


def spike_geometry(law: StepLaw) -> tuple[float, float]:
    """``(γ, ‖g‖)`` of the spike direction ``v̂ ∝ g = Xᵀe/n0``: ``‖g‖² = E[eκ]² + E[e²]/α0``,
    ``γ = E[eκ]/‖g‖`` (docs/model.md §5.1)."""
    eps1 = float(law.mean(law.e * law.kappa))
    gn = math.sqrt(eps1**2 + float(law.mean(law.e**2)) / law.alpha0)
    return eps1 / gn, gn


def _wrong_branch(z: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Points where m is not a Stieltjes transform value: ``Im m·Im z < 0``, or ``m ≤ 0``
    on the negative axis."""
    return np.where(z.imag != 0, m.imag * np.sign(z.imag) < -1e-12,
                    (z.real < 0) & (m.real <= 0))


def _continued(z: np.ndarray, u: np.ndarray, law: StepLaw, shifts: list[float]):
    """Newton along ``z + i s c²`` for the decreasing shifts s. The path never crosses the
    support ⊂ [0, ∞), so for z < 0 it stays on the physical branch too."""
    err = np.inf
    for s in shifts:
        u, err = _newton(z + 1j * s * law.c2, u, law)
    return u, err


def _solve(z: np.ndarray, law: StepLaw, u0: np.ndarray | None = None,
           tol: float = 1e-12) -> np.ndarray:
    """Unknowns ``(m, h0, h1, h2)`` of (3)–(6) at the points z: Newton with a continuation
    in Im z from the Marchenko–Pastur start, or from ``u0`` (a solution at nearby points;
    points that land on a wrong branch are redone from the cold start)."""
    z = np.atleast_1d(np.asarray(z, dtype=complex))
    cold = [1.0, 0.3, 0.1, 0.03, 0.01, 0.0]
    if u0 is None:
        u, err = _continued(z, _initial(z + 1j * law.c2, law), law, cold)
    else:
        u, err = _continued(z, np.array(u0, dtype=complex), law, [1e-4, 0.0])
        redo = _wrong_branch(z, u[0]) | ~np.all(np.isfinite(u), axis=0)
        if redo.any() or not err < tol:
            redo |= not err < tol
            ur, err_r = _continued(z[redo], _initial(z[redo] + 1j * law.c2, law), law, cold)
            u[:, redo] = ur
            err = max(float(np.max(np.abs(_full_map(z, u, law)))), 0.0)
    bad = _wrong_branch(z, u[0]) | ~np.all(np.isfinite(u), axis=0)
    if bad.any():  # a finer continuation for the points that jumped branch
        fine = [*np.geomspace(100.0, 1e-7, 37).tolist(), 0.0]
        ur, _ = _continued(z[bad], _initial(z[bad] + 100j * law.c2, law), law, fine)
        u[:, bad] = ur
        err = float(np.max(np.abs(_full_map(z, u, law))))
    if not err < tol or _wrong_branch(z, u[0]).any():
        raise ConvergenceError("the step-spectrum equations (6) did not converge to the "
                               "physical branch", residual=float(err), iterations=60)
    return u


def weighted_stieltjes(z: np.ndarray, law: StepLaw) -> np.ndarray:
    """``(m, Ψ_F, Ψ_H, Ψ_G)(z)``: the limits of ``(1/p) tr(Ω − z)⁻¹`` and of
    ``(Bv̂)ᵀ(Ω − z)⁻¹(Bv̂)``, ``(Bζ̂)ᵀ(Ω − z)⁻¹(Bζ̂)``, ``(Bζ̂)ᵀ(Ω − z)⁻¹(Bv̂)`` —
    the Stieltjes transforms of the measures ``(1/p) Σ_i {1, F_i, H_i, G_i} δ_{D_i}``.

    Stage B (11)–(13): ``(BᵀB − z)⁻¹ ≈ (w/z)(dT − w)⁻¹`` (anisotropic Marchenko–Pastur),
    then Sherman–Morrison for Π: with ``q_xy = δ_xy + w r_xy`` (x, y ∈ {v̂, ζ̂}),
    ``Ψ_F = q_vv/(1 − q_vv)``, ``Ψ_G = q_ζv/(1 − q_vv)``, ``Ψ_H = q_ζζ + q_ζv²/(1 − q_vv)``.
    """
    return _psis(_solve(z, law), law)


def _psis(u: np.ndarray, law: StepLaw) -> np.ndarray:
    """``(m, Ψ_F, Ψ_H, Ψ_G)`` from the solution u of (3)–(6) (see :func:`weighted_stieltjes`)."""
    m = u[0]
    w = -1.0 / (law.psi * m)
    r_vv, r_vt, r_tt = spike_forms(w, u[1:], law)
    gamma, _ = spike_geometry(law)
    rho = math.sqrt(max(1 - gamma * gamma, 1e-300))
    r_zv = (r_vt - gamma * r_vv) / rho
    r_zz = (r_tt - 2 * gamma * r_vt + gamma * gamma * r_vv) / rho**2
    q_vv = 1 + w * r_vv
    q_zv = w * r_zv
    q_zz = 1 + w * r_zz
    psi_f = q_vv / (1 - q_vv)
    psi_g = q_zv / (1 - q_vv)
    psi_h = q_zz + q_zv**2 / (1 - q_vv)
    return np.stack([m, psi_f, psi_h, psi_g])


ETA_REAL = 1e-12  # Im z (relative to c²) at which the real-axis densities are read
RHO_FLOOR = 1e-8  # density below which a point counts as outside the support


def atoms_at_zero(law: StepLaw) -> np.ndarray:
    """Masses at D = 0 of the four measures ``(1/p) Σ {1, F, H, G} δ_D``: ``lim −z Ψ(z)``,
    z → 0⁻ (nonzero for ψ > 1 only: ``1 − 1/ψ`` and the part of Bv̂ in the null space of Ω)."""
    if law.psi <= 1.0:
        return np.zeros(4)
    z = np.array([-1e-6, -2e-6]) * law.c2
    a = (-z[None, :] * weighted_stieltjes(z, law).real)
    return 2 * a[:, 0] - a[:, 1]  # Richardson: −zΨ(z) = atom + O(z)


def _densities(x: np.ndarray, law: StepLaw, atoms: np.ndarray,
               u0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(ρ, ρF, ρH, ρG)(x)`` of the absolutely continuous parts (``Im Ψ(x + i0)/π`` minus the
    Poisson leakage of the atoms at 0), and the solution u for warm starts."""
    eta = ETA_REAL * law.c2
    x = np.asarray(x, dtype=float)
    u = _solve(x + 1j * eta, law, u0)
    dens = _psis(u, law).imag / math.pi
    dens -= atoms[:, None] * (eta / math.pi) / (x * x + eta * eta)[None, :]
    return dens, u


def _runs(xs: np.ndarray, rho: np.ndarray, island: float) -> list[list[int]]:
    """Index runs of positive density on the grid; runs of grid mass < ``island`` (the
    sub-10⁻⁴ islands the discrete e-law leaves in the far tail) join their neighbour."""
    inside = rho > RHO_FLOOR
    idx = np.flatnonzero(inside)
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    dx = np.gradient(xs)
    out: list[list[int]] = []
    for r in runs:
        mass = float(np.sum(rho[r] * dx[r]))
        if out and (mass < island or out[-1][2] < island):
            out[-1][1] = int(r[-1])
            out[-1][2] += mass
        else:
            out.append([int(r[0]), int(r[-1]), mass])
    return [[lo, hi] for lo, hi, _ in out]


def _bisect(lo: np.ndarray, hi: np.ndarray, going_in: np.ndarray, u: np.ndarray,
            law: StepLaw, atoms: np.ndarray, steps: int) -> np.ndarray:
    """Edges of the support between ``lo`` (side of ``not going_in``) and ``hi``."""
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        d_mid, u = _densities(mid, law, atoms, u)
        move_hi = (d_mid[0] > RHO_FLOOR) == going_in
        hi = np.where(move_hi, mid, hi)
        lo = np.where(move_hi, lo, mid)
    return np.where(going_in, hi, lo)


def support(law: StepLaw, coarse: int = 48, fine: int = 256,
            bisect: int = 24) -> list[tuple[float, float]]:
    """Intervals of the absolutely continuous part of the D-law: a coarse √-spaced grid of
    ``(0, x_max]`` finds the top of the support, a fine linear grid the runs of positive
    density, and bisection on ``ρ > RHO_FLOOR`` their endpoints (to ``2^{-bisect}`` of a
    grid step; the hard edge at 0 for ψ = 1 is exact)."""
    atoms = atoms_at_zero(law)
    x_max = 4.0 * law.c2 * (1 + math.sqrt(law.psi)) ** 2 * (1 + abs(law.a)) ** 2
    for _ in range(6):  # widen until the top of the support is inside the grid
        xc = x_max * (np.arange(1, coarse + 1) / coarse) ** 2
        dc, _ = _densities(xc, law, atoms)
        pos = np.flatnonzero(dc[0] > RHO_FLOOR)
        if pos.size and pos[-1] < coarse - 1:
            break
        x_max *= 4.0
    else:
        raise ConvergenceError("could not locate the support of the step spectrum",
                               residual=float(dc[0, -1]), iterations=coarse)
    top = 1.05 * xc[pos[-1] + 1]
    xs = top * np.arange(1, fine + 1) / fine
    dens, u = _densities(xs, law, atoms)
    runs = _runs(xs, dens[0], 1e-4)
    ends_lo, ends_hi, into, uu = [], [], [], []
    for k0, k1 in runs:
        if k0 > 0:
            ends_lo.append(xs[k0 - 1]), ends_hi.append(xs[k0]), into.append(True)
            uu.append(u[:, k0])
        end = xs[k1 + 1] if k1 + 1 < xs.size else 1.5 * xs[-1]  # run reaching the grid top
        ends_lo.append(xs[k1]), ends_hi.append(end), into.append(False)
        uu.append(u[:, k1])
    first_inside = runs[0][0] == 0
    if first_inside and law.psi != 1.0:
        ends_lo.insert(0, 0.0), ends_hi.insert(0, xs[0]), into.insert(0, True)
        uu.insert(0, u[:, 0])
    edges = list(_bisect(np.array(ends_lo), np.array(ends_hi), np.array(into),
                         np.array(uu).T, law, atoms, bisect))
    if first_inside and law.psi == 1.0:
        edges.insert(0, 0.0)  # hard edge
    return [(float(edges[i]), float(edges[i + 1])) for i in range(0, len(edges), 2)]


@dataclass(frozen=True)
class LimitBulkInputs(BulkInputs):
    """d → ∞ spectral inputs of the §6.1 equations for the real first step, as a quadrature.

    A :class:`giantstep.numerics.test_error.spectra.sampled_steps.BulkInputs` (same fields,
    same meaning: ``(1/p) Σ_i φ(D_i) {1, F_i, H_i, G_i}`` becomes
    ``Σ_k weights_k φ(D_k) {1, F_k, H_k, G_k}``), plus the quadrature weights and the
    measured quadrature error.

    Attributes
    ----------
    r, gamma, c : float
        §5.1 spike strength, alignment and bulk scale (c² = tr T of (2)).
    D, F, H, G, weights : ndarray (n,)
        Nodes of the D-law, the densities ``dμ_F/dμ_D`` etc. at the nodes, and the weights
        (summing to 1; a node at D = 0 carries the atom when ψ > 1).
    p, d : int
        Number of nodes (p) and 0 (no dimension: this is the limit).
    seconds : float
        Wall-clock cost.
    quad_error : float
        Largest deviation of the rule from the directly solved Stieltjes transforms
        ``Ψ(−a)`` (four measures, a ∈ c²·[1e-3, 10]) — the error of the rule on the
        integrands of the §6.1 equations with a pole at distance ≥ 1e-3 c² from the support.
    mass_error : float
        ``|Σ weights − 1|`` before normalisation.
    """

    weights: np.ndarray
    quad_error: float
    mass_error: float


def _interval_rule(lo: float, hi: float, n: int, law: StepLaw, atoms: np.ndarray):
    """Gauss–Legendre in s on ``x = lo + (hi − lo)(1 − cos πs)/2``: square-root edges (and
    the x^{-1/2} hard edge) become smooth in s."""
    t, wl = np.polynomial.legendre.leggauss(n)
    sv = 0.5 * (t + 1)
    x = lo + 0.5 * (hi - lo) * (1 - np.cos(math.pi * sv))
    jac = 0.5 * (hi - lo) * math.pi * np.sin(math.pi * sv) * 0.5 * wl
    dens, _ = _densities(x, law, atoms)
    return x, jac * dens[0], dens[1:] / dens[0]


def limit_bulk_inputs(
    student: str | Activation, teacher: str | Target, psi: float, alpha0: float, eta: float,
    noise: float, nodes: int = 96,
) -> LimitBulkInputs:
    """The d → ∞ counterpart of :func:`~giantstep.numerics.test_error.spectra.sampled_steps.sampled_bulk_inputs`
    (relu-type students with the constant readout; single-index teacher ``σ*(z1)``)."""
    import time

    t0 = time.perf_counter()
    law = step_law(student, teacher, psi, alpha0, eta, noise)
    atoms = atoms_at_zero(law)
    xs, ws, fs = [], [], []
    for lo, hi in support(law):
        x, w, f = _interval_rule(lo, hi, nodes, law, atoms)
        xs.append(x), ws.append(w), fs.append(f)
    if atoms[0] > 0:
        xs.append(np.zeros(1)), ws.append(atoms[:1]), fs.append((atoms[1:] / atoms[0])[:, None])
    x, w, f = np.concatenate(xs), np.concatenate(ws), np.concatenate(fs, axis=1)
    mass_error = abs(float(w.sum()) - 1.0)
    ac = x > 0  # the atom at 0 is exact: renormalise the continuous part only
    w[ac] *= (1.0 - atoms[0]) / w[ac].sum()
    quad_error = _rule_error(x, w, f, law)
    gamma, gn = spike_geometry(law)
    from ..tables.single_index import activation_moments

    act = student if isinstance(student, Activation) else as_activation(student)
    r = eta * activation_moments(act).mu1 * gn
    return LimitBulkInputs(r, gamma, math.sqrt(law.c2), x, f[0], f[1], f[2], x.size, 0,
                           time.perf_counter() - t0, w, quad_error, mass_error)


def _rule_error(x, w, f, law: StepLaw) -> float:
    """Largest |rule − direct| of the four Stieltjes transforms at 12 points z = −a."""
    a = law.c2 * np.geomspace(1e-3, 10.0, 12)
    direct = weighted_stieltjes(-a, law).real
    vals = np.vstack([np.ones_like(x), f])
    rule = (vals * w[None, :]) @ (1.0 / (x[:, None] + a[None, :]))
    return float(np.max(np.abs(rule - direct)))
