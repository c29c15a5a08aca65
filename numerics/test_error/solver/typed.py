"""Test error after one giant step when the neurons fall into several *types*.

A readout law whose values differ from neuron to neuron (``sign`` with a student that is
not odd — relu —, ``gaussian``) moves neuron j along ``s_j × (the common spike)``: the
features after the step are ``σ(⟨B_j, x⟩ + r_t κ)`` with a per-type spike coefficient
``r_t`` (``κ = ⟨v̂, x⟩``), so given κ the coefficient functions ``μ0_t(κ), μ1_t(κ),
μ*_t(κ)²`` differ between types and the conditional covariance of the features is

    Ω(κ) = D1(κ) B Π Bᵀ D1(κ) + D*(κ)²,        D1 = diag(μ1_{t(j)}(κ)),

not a scalar function of κ times one matrix (the single-type equations of Cui et al.
2024, Result 3.3, do not apply). Derived here (docs/test_error.md, "Several neuron
types"): the local fields seen by the energetic part are ``Σ_t μ1_t(κ) ⟨a_t, B_t Π x⟩ +
Σ_t μ*_t(κ) ⟨a_t, ξ_t⟩`` (a_t the readout restricted to type t), so the overlaps become
per type — ``Q1_ts = a_tᵀ B_t Π B_sᵀ a_s``, ``q2_t = ‖a_t‖²``, ``V1_ts``, ``V2_t``,
``θ_t = ⟨a_t, B_t v̂⟩``, ``ψ_tl = ⟨a_t, B_t ζ̂_l⟩``, ``m_t`` — and, by the chain rule on the
scalar replica potential, every conjugate is the κ-average of the single-type one with
``μ1² → μ1_t μ1_s``, ``μ*² → μ*_t²``, ``μ1 → μ1_t``:

    V̂1_ts = α E[μ1_t μ1_s/(1+V)],  q̂1_ts = α E[μ1_t μ1_s (R+Δ)/(1+V)²],  (V̂2_t, q̂2_t with μ*_t²)
    θ̂_t = α E[κ μ1_t (h − c)/(1+V)],  ψ̂_tl = α E[μ1_t h1_l/(1+V)],
    Σ_s E[μ0_t μ0_s/(1+V)] m_s = E[μ0_t (h − κ Σ_s μ1_s θ_s)/(1+V)],

with ``V(κ) = μ1ᵀ V1 μ1 + Σ_t μ*_t² V2_t``, ``c(κ) = Σ_t μ0_t m_t + κ Σ_t μ1_t θ_t`` and
``R(κ) = h2 + c² − 2ch − 2 Σ_t μ1_t ⟨ψ_t, h1⟩ + μ1ᵀ Q1 μ1 + Σ_t μ*_t² q2_t``. The entropic
part is the ridge problem with the p × p matrix

    S = λ I + [V̂1_{t(i)t(j)} Ω_ij] + diag(V̂2_{t(i)}),    Ω = B Π Bᵀ,

mean readout ``â = S⁻¹ k``, ``k_i = θ̂_{t(i)} f_i + Σ_l ψ̂_{t(i)l} h_{l,i}`` (``f = B v̂``,
``h_l = B ζ̂_l``) and fluctuations of covariance ``S⁻¹ N S⁻¹``, ``N = [q̂1_{t(i)t(j)} Ω_ij] +
diag(q̂2)``: ``V1_ts = tr(P_s Ω P_t S⁻¹)/p``, ``V2_t = tr(P_t S⁻¹)/p``, ``θ_t = ⟨f, P_t â⟩``,
``ψ_tl = ⟨h_l, P_t â⟩``, ``Q1_ts = â_sᵀ Ω_st â_t + tr(P_s Ω P_t S⁻¹ N S⁻¹)/p`` and
``q2_t = ‖â_t‖² + tr(P_t S⁻¹ N S⁻¹)/p``. With one type these are exactly the equations of
:mod:`giantstep.numerics.test_error.solver.engine` (K = 1) written in the eigenbasis of Ω (tested to 1e-9).

There is no Marchenko–Pastur shortcut here (the matrices of the types are not
simultaneously diagonal), so the entropic part is evaluated on the bulk ``B`` of a
*sampled real step* (the exact bulk model of
:mod:`giantstep.numerics.test_error.spectra.sampled_steps`, with the readout law's signs): ``(V, θ, ψ,
m)`` close on themselves (one p × p Cholesky inverse per iteration), and the ``q``'s then
solve a linear system of size ``T² + T``. The types are the readout's: ``s = ±1`` (sign)
or ``n_types`` quantile bins of ``s`` (gaussian, ``r_t`` the bin's mean spike
coefficient); within a bin the spread of ``s`` is a modelling error measured in
docs/test_error.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numba
import numpy as np
import scipy.linalg

from giantstep.caching import BoundedCache
from giantstep.errors import ConvergenceError, InputError
from giantstep.numerics.gaussian import gauss_hermite, nodes_for_scaled_tolerance
from giantstep.numerics.test_error.spectra.sampled_steps import batch_gradient
from giantstep.numerics.test_error.tables.multi_index import student_tables, teacher_tables
from giantstep.theory import Activation, Target

# --------------------------------------------------------------------------- the sampled step


def readout_signs(readout: str, p: int, rng: np.random.Generator) -> np.ndarray:
    """The readout values ``s`` of the law ``readout`` (docs/model.md §1): ``+1, −1, +1, …``
    alternately (sign) or ``N(0, 1)`` draws (gaussian)."""
    if readout == "constant":
        return np.ones(p)
    if readout == "sign":
        return np.where(np.arange(p) % 2 == 0, 1.0, -1.0)
    if readout == "gaussian":
        return rng.standard_normal(p)
    raise InputError(f"readout must be constant, sign or gaussian, got {readout!r}")


def sample_typed_step(student: Activation, target: Target, psi: float, alpha0: float,
                      eta: float, noise: float, d: int, seed: int,
                      readout: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One giant step of docs/model.md §1 with the readout law ``readout`` (ℓ = 1).

    ``W1 = W0 + η̃ diag(s) (1/n0) Σ_ν e_ν σ'(W0 x_ν) x_νᵀ``, ``e = y − (1/p) Σ_j s_j σ(⟨w_j,
    x⟩)``, W0 rows ``N(0, I/d)``, θ_k = e_k, n0 = round(α0 d), p = round(ψ d). Draw order:
    W0, then s, then the batch (seed tree ``(seed, 9, 11)``). Returns ``(W0, W1, s)``.
    """
    p = max(1, int(round(psi * d)))
    n0 = max(1, int(round(alpha0 * d)))
    rng = np.random.default_rng([int(seed), 9, 11])
    w0 = rng.standard_normal((p, d)) / math.sqrt(d)
    s = readout_signs(readout, p, rng)
    grad = batch_gradient(student, target, w0, n0, noise, rng, s)
    return w0, w0 + (eta / n0) * s[:, None] * grad, s


def type_groups(s: np.ndarray, readout: str, n_types: int) -> list[np.ndarray]:
    """Row indices of each neuron type: one (constant), ``s > 0`` then ``s < 0`` (sign),
    ``n_types`` quantile bins of s in increasing order (gaussian)."""
    if readout == "constant":
        return [np.arange(s.size)]
    if readout == "sign":
        return [np.flatnonzero(s > 0), np.flatnonzero(s < 0)]
    return [g for g in np.array_split(np.argsort(s, kind="stable"), int(n_types)) if g.size]


@dataclass(frozen=True)
class TypedGeometry:
    """Inputs of the several-type equations read off one sampled step.

    Attributes
    ----------
    r, c, fraction : ndarray (T,)
        Per type: spike coefficient ``r_t = ⟨mean_{j∈t}(W1 − W0)_j, v̂⟩``, bulk scale
        ``c_t² = mean_{j∈t} ‖B_j‖²`` and share of the neurons.
    gamma : ndarray (r,)
        Overlaps ``⟨v̂, θ_k⟩`` of the common spike direction with the target directions.
    a : ndarray (r, r)
        Target coordinates along the basis ζ̂ of ``Π Θᵀ``: ``z = γ κ + a ξ``.
    types : ndarray (p,)
        Type of each row (rows sorted by type).
    omega : ndarray (p, p)
        ``B Π Bᵀ``.
    f : ndarray (p,)
        ``B v̂``.
    h : ndarray (p, r)
        ``B ζ̂_l``.
    seconds : float
        Cost of sampling the step and building the matrices.
    """

    r: np.ndarray
    c: np.ndarray
    fraction: np.ndarray
    gamma: np.ndarray
    a: np.ndarray
    types: np.ndarray
    omega: np.ndarray
    f: np.ndarray
    h: np.ndarray
    seconds: float

    @property
    def p(self) -> int:
        """Width of the draw."""
        return int(self.types.size)


def typed_geometry(w0: np.ndarray, w1: np.ndarray, s: np.ndarray, r_dirs: int,
                   groups: list[np.ndarray], seconds: float = 0.0) -> TypedGeometry:
    """Read the several-type inputs off a real step (θ_k = e_k, see the module docstring).

    The common spike direction is ``v̂ ∝ Σ_j s_j (W1 − W0)_j`` (for a constant readout the
    mean step of :func:`giantstep.numerics.test_error.spectra.sampled_steps.bulk_inputs`); the bulk is
    ``B_j = W1_j − r_{t(j)} v̂``.
    """
    p, d = w1.shape
    delta = w1 - w0
    u = s @ delta
    nu = float(np.linalg.norm(u))
    if not nu > 0:
        raise InputError("the step did not move the weights (r = 0): use the lazy curve")
    v = u / nu
    order = np.concatenate(groups)
    types = np.concatenate([np.full(g.size, t) for t, g in enumerate(groups)])
    r = np.array([float(delta[g].mean(axis=0) @ v) for g in groups])
    b = w1[order] - r[types][:, None] * v[None, :]
    gamma = v[:r_dirs].copy()
    pt = np.zeros((d, r_dirs))
    pt[np.arange(r_dirs), np.arange(r_dirs)] = 1.0
    pt -= np.outer(v, gamma)
    z, _ = np.linalg.qr(pt)
    bv = b @ v
    bpi = b - np.outer(bv, v)
    c = np.array([math.sqrt(float(np.mean(np.sum(b[types == t] ** 2, axis=1))))
                  for t in range(len(groups))])
    frac = np.array([g.size / p for g in groups])
    return TypedGeometry(r, c, frac, gamma, z[:r_dirs, :], types, bpi @ bpi.T, bv, b @ z,
                         seconds)


_GEOMETRY_CACHE = BoundedCache(32)


def sampled_typed_geometry(student: Activation, target: Target, psi: float, alpha0: float,
                           eta: float, noise: float, d: int, seed: int, readout: str,
                           n_types: int) -> TypedGeometry:
    """:func:`sample_typed_step` + :func:`typed_geometry`, cached per input (32 entries)."""
    key = (str(student.expr), str(target.expr), float(psi), float(alpha0), float(eta),
           float(noise), int(d), int(seed), readout, int(n_types))

    def compute():
        t0 = time.perf_counter()
        w0, w1, s = sample_typed_step(student, target, psi, alpha0, eta, noise, d, seed, readout)
        if student.parity == "odd" and readout != "constant":
            # exact reduction (docs/test_error.md, "Sign readout"): for odd σ the rows
            # sign(s_j) w_j follow the step of the readout |s| and ridge is invariant under
            # the sign flips of the features, so the types are bins of |s|, all with positive
            # spikes (no mirror pairs with collinear mean functions)
            sg = np.where(s < 0, -1.0, 1.0)
            w0, w1, s = sg[:, None] * w0, sg[:, None] * w1, np.abs(s)
        groups = type_groups(s, readout, n_types)
        geo = typed_geometry(w0, w1, s, target.r, groups)
        return TypedGeometry(**{**geo.__dict__, "seconds": time.perf_counter() - t0})

    return _GEOMETRY_CACHE.get_or_compute(key, compute)


# --------------------------------------------------------------------------- κ tables


@dataclass(frozen=True)
class TypedTables:
    """Coefficient functions on the κ nodes: ``weights (n,)``, ``kappa (n,)`` — or
    ``(n, K)`` for K spike directions (:mod:`giantstep.numerics.test_error.tables.typed_steps`) —,
    students ``(T, n)``, teacher ``h, h2 (n,)``, ``h1 (n, L)``."""

    weights: np.ndarray
    kappa: np.ndarray
    mu0: np.ndarray
    mu1: np.ndarray
    mu2sq: np.ndarray
    h: np.ndarray
    h1: np.ndarray
    h2: np.ndarray


def typed_tables(student: Activation, target: Target, r: np.ndarray, c: np.ndarray,
                 gamma: np.ndarray, a: np.ndarray, tol: float) -> TypedTables:
    """Student tables of every type ``(r_t, c_t)`` and the teacher's, on one Gauss–Hermite
    κ rule; inner and outer node counts doubled until representative integrals agree to
    ``tol`` (:func:`giantstep.numerics.gaussian.nodes_for_tolerance`)."""
    probe = np.asarray(gauss_hermite(32)[0])

    def students(x, n):
        return [np.stack(col) for col in zip(*(student_tables(student, float(rt), float(ct),
                                                               x, n) for rt, ct in zip(r, c)))]

    n_inner = nodes_for_scaled_tolerance(lambda n: np.concatenate([t.ravel() for t in students(probe, n)]),
                                  tol, n0=8, n_max=1024)[0]

    def summary(nk):
        x, w = gauss_hermite(nk)
        x, w = np.asarray(x), np.asarray(w)
        m0, m1, m2 = students(x, n_inner)
        h, h1, h2 = teacher_tables(target, gamma, a, x, tol)
        return np.concatenate([(m0 * m0) @ w, (m1 * m1) @ w, m2 @ w, (m0 * h) @ w,
                               (x * m1 * h) @ w, ((m1 * w) @ h1).ravel(), [h2 @ w]])

    nk = nodes_for_scaled_tolerance(summary, tol, n0=16, n_max=256)[0]
    x, w = gauss_hermite(nk)
    x, w = np.ascontiguousarray(x, dtype=float), np.ascontiguousarray(w, dtype=float)
    m0, m1, m2 = students(x, n_inner)
    h, h1, h2 = teacher_tables(target, gamma, a, x, tol)
    return TypedTables(w, x, m0, m1, m2, np.asarray(h, float), np.asarray(h1, float),
                       np.asarray(h2, float))


# --------------------------------------------------------------------------- the equations


def energetic(state: dict, alpha: float, noise: float, tb: TypedTables,
              with_q: bool) -> dict:
    """κ-averages of the module docstring at the overlaps ``state``.

    One spike direction (κ of shape (n,), θ (T,)) or K of them (κ (n, K), θ (T, K), the
    several-step equations of :mod:`giantstep.numerics.test_error.tables.typed_steps`).
    Returns the conjugates ``V1h (T,T), V2h (T,), thh (shape of θ), psih (T,L)``, the new ``m``
    and, if ``with_q``, also ``q1h, q2h``, the test error (Δ included) and the training
    error.
    """
    w, kap, mu0, mu1, m2 = tb.weights, tb.kappa, tb.mu0, tb.mu1, tb.mu2sq
    vk = np.einsum("tn,ts,sn->n", mu1, state["V1"], mu1) + state["V2"] @ m2
    if kap.ndim == 1:  # one spike direction: θ (T,), κ (n,)
        spike = kap * (state["theta"] @ mu1)
    else:  # K spike directions (numerics/test_error/tables/typed_steps.py): θ (T, K), κ (n, K)
        spike = np.einsum("tn,tk,nk->n", mu1, state["theta"], kap)
    ck = state["m"] @ mu0 + spike
    inv = 1.0 / (1.0 + vk)
    wi = w * inv
    out = {
        "V1h": alpha * (mu1 * wi) @ mu1.T,
        "V2h": alpha * (m2 @ wi),
        "thh": (alpha * (mu1 @ (wi * kap * (tb.h - ck))) if kap.ndim == 1
                else alpha * (mu1 * (wi * (tb.h - ck))) @ kap),
        "psih": alpha * (mu1 * wi) @ tb.h1,
    }
    gram = (mu0 * wi) @ mu0.T
    rhs = mu0 @ (wi * (tb.h - spike))
    # m̂ = α (rhs − gram m) is affine in the new m: solved with the ridge side
    out["m_gram"], out["m_rhs"] = alpha * gram, alpha * rhs
    out["m"] = np.linalg.lstsq(gram, rhs, rcond=1e-13)[0]
    if with_q:
        lin = np.einsum("tn,tl,nl->n", mu1, state["psi"], tb.h1)
        rk = (tb.h2 + ck * ck - 2.0 * ck * tb.h - 2.0 * lin
              + np.einsum("tn,ts,sn->n", mu1, state["Q1"], mu1) + state["q2"] @ m2)
        wr = w * (rk + noise) * inv * inv
        out["q1h"] = alpha * (mu1 * wr) @ mu1.T
        out["q2h"] = alpha * (m2 @ wr)
        out["test"] = float(w @ rk) + noise
        out["train"] = float(np.sum(wr))
        out["rk"] = rk
    return out


class _OutOfDomain(ArithmeticError):
    """An iterate left the domain of the map (S not positive definite)."""


@numba.njit(cache=True)
def _ridge_matrix(omega, v1h, v2h, lam, starts, out):
    """``S = λ I + [V̂1_{t(i)t(j)} Ω_ij] + diag(V̂2_{t(i)})`` into ``out`` (lower triangle)."""
    p = omega.shape[0]
    T = starts.size
    tj = 0
    for j in range(p):
        while tj + 1 < T and j >= starts[tj + 1]:
            tj += 1
        ti = tj
        for i in range(j, p):
            while ti + 1 < T and i >= starts[ti + 1]:
                ti += 1
            out[i, j] = v1h[ti, tj] * omega[i, j]
        out[j, j] += lam + v2h[tj]


@numba.njit(cache=True)
def _symmetrise_lower(a):
    """Copy the lower triangle of ``a`` onto the upper one, in place."""
    p = a.shape[0]
    for i in range(p):
        for j in range(i + 1, p):
            a[i, j] = a[j, i]


class Entropic:
    """The ridge side on one sampled bulk: ``S⁻¹`` and the overlaps it gives."""

    def __init__(self, geo: TypedGeometry, lam: float, free_mean: bool = False):
        self.geo = geo
        self.lam = lam
        self.free_mean = free_mean
        self.T = int(geo.types.max()) + 1
        self.starts = np.searchsorted(geo.types, np.arange(self.T)).astype(np.int64)
        self.bounds = list(zip(self.starts, list(self.starts[1:]) + [geo.p]))
        self.sinv = None

    def _block_sums(self, mat: np.ndarray) -> np.ndarray:
        rows = np.add.reduceat(mat, self.starts, axis=0)
        return np.add.reduceat(rows, self.starts, axis=1)

    def solve(self, hats: dict) -> dict:
        """``(V1, V2, θ, ψ)`` from the conjugates (one Cholesky inverse of S)."""
        g, t = self.geo, self.geo.types
        p = g.p
        s_mat = np.empty((p, p), order="F")
        _ridge_matrix(g.omega, np.ascontiguousarray(hats["V1h"]), hats["V2h"], self.lam,
                      self.starts, s_mat)
        chol, info = scipy.linalg.lapack.dpotrf(s_mat, lower=1, overwrite_a=1)
        if info != 0:
            raise _OutOfDomain("the ridge matrix S of the several-type equations is not "
                               "positive definite")
        sinv, info = scipy.linalg.lapack.dpotri(chol, lower=1, overwrite_c=1)
        if info != 0:
            raise ConvergenceError("inverting the ridge matrix S failed", residual=float(info),
                                   iterations=0)
        _symmetrise_lower(sinv)
        self.sinv = sinv
        # spike source: one column f (θ per type) or K columns f (θ a T × K matrix,
        # several spike directions: numerics/test_error/tables/typed_steps.py)
        spike = (hats["thh"][t] * g.f if g.f.ndim == 1
                 else np.sum(hats["thh"][t] * g.f, axis=1))
        k = spike + np.sum(hats["psih"][t] * g.h, axis=1)
        ahat = sinv @ k
        if not self.free_mean:
            # the mean modes as readout directions 1_t: m = 1ᵀâ with â = S⁻¹(k + Σ_s m̂_s 1_s)
            # and m̂ = α(rhs − gram m), solved exactly: (I + U gram) m = u + U rhs
            z = np.add.reduceat(sinv, self.starts, axis=1)  # S⁻¹ 1_s, (p, T)
            umat = np.add.reduceat(z, self.starts, axis=0)  # 1_tᵀ S⁻¹ 1_s
            u = np.add.reduceat(ahat, self.starts)
            m = np.linalg.solve(np.eye(self.T) + umat @ hats["m_gram"],
                                u + umat @ hats["m_rhs"])
            ahat = ahat + z @ (hats["m_rhs"] - hats["m_gram"] @ m)
        self.ahat = ahat
        out = {
            "V1": self._block_sums(g.omega * sinv) / p,
            "V2": np.add.reduceat(np.diag(sinv), self.starts) / p,
            "theta": (np.add.reduceat(g.f * ahat, self.starts) if g.f.ndim == 1 else
                      np.add.reduceat(g.f * ahat[:, None], self.starts, axis=0)),
            "psi": np.add.reduceat(g.h * ahat[:, None], self.starts, axis=0),
        }
        if not self.free_mean:
            out["m"] = m
        return out

    def q_maps(self) -> tuple[np.ndarray, ...]:
        """Linear maps from ``(q̂1, q̂2)`` to the fluctuation parts of ``(Q1, q2)`` at the
        last :meth:`solve`, and the mean parts ``â_sᵀ Ω_st â_t``, ``‖â_t‖²``.

        ``A11[s,t,a,b] = tr(Ω_st S⁻¹_ta Ω_ab S⁻¹_bs)/p``, ``A12[s,t,a] = tr(Ω_st S⁻¹_ta
        S⁻¹_as)/p``, ``A21[t,a,b] = tr(S⁻¹_ta Ω_ab S⁻¹_bt)/p``, ``A22[t,a] = ‖S⁻¹_ta‖²/p``.
        """
        g, T, bd = self.geo, self.T, self.bounds
        p = g.p
        om, si = g.omega, self.sinv
        # Y[t] = Ω[:, t] S⁻¹[t, :] (p × p), so that Y[t]_{sa} = Ω_st S⁻¹_ta
        ys = [om[:, lo:hi] @ si[lo:hi, :] for lo, hi in bd]
        A11 = np.empty((T, T, T, T))
        A12 = np.empty((T, T, T))
        A21 = np.empty((T, T, T))
        A22 = np.empty((T, T))

        def blk(m, i, j):
            return m[bd[i][0]:bd[i][1], bd[j][0]:bd[j][1]]

        for s_ in range(T):
            for t_ in range(T):
                for a_ in range(T):
                    y_sa = blk(ys[t_], s_, a_)
                    A12[s_, t_, a_] = np.sum(y_sa * blk(si, s_, a_)) / p
                    for b_ in range(T):
                        A11[s_, t_, a_, b_] = np.sum(y_sa * blk(ys[b_], a_, s_).T) / p
        for t_ in range(T):
            for a_ in range(T):
                s_ta = blk(si, t_, a_)
                A22[t_, a_] = np.sum(s_ta * s_ta) / p
                for b_ in range(T):
                    A21[t_, a_, b_] = np.sum(s_ta * blk(ys[b_], a_, t_).T) / p
        ah = self.ahat
        mean_q1 = np.array([[float(ah[bd[s_][0]:bd[s_][1]] @ blk(om, s_, t_)
                                   @ ah[bd[t_][0]:bd[t_][1]]) for t_ in range(T)]
                            for s_ in range(T)])
        mean_q2 = np.add.reduceat(ah * ah, self.starts)
        return A11, A12, A21, A22, mean_q1, mean_q2


def _pack(st: dict) -> np.ndarray:
    return np.concatenate([st["V1"].ravel(), st["V2"], st["theta"].ravel(), st["psi"].ravel(),
                           st["m"]])


def anderson(step, x0: np.ndarray, tol: float, max_iter: int, damping: float,
             memory: int = 6) -> tuple[np.ndarray, float, int]:
    """Fixed point of ``step`` by Anderson mixing (Walker & Ni 2011, type II) with memory
    ``memory`` and mixing ``1 − damping``; the stopping rule is the solvers' own
    ``max_i |T(x)_i − x_i|/(1 + |x_i|) < tol``
    (:func:`giantstep.numerics.test_error.solver.engine.relative_residual`). A step that raises the
    residual tenfold restarts the history; an iterate outside the domain (S not positive
    definite) restarts from the last good point with half the mixing. Returns ``(T(x),
    residual, iterations)`` at the last iterate."""
    x = x0.copy()
    last_good = x0.copy()
    xs, fs = [], []
    residual, best, stall = math.inf, math.inf, 0
    beta = 1.0 - damping
    it = 0
    gx = x
    for it in range(1, max_iter + 1):
        try:
            gx = step(x)
        except _OutOfDomain:
            # an extrapolated iterate left the domain: restart from the last good point
            # with a plain step of half the mixing
            xs, fs = [], []
            beta *= 0.5
            if beta < 1e-3:
                break
            x = last_good.copy()
            continue
        last_good = x.copy()
        f = gx - x
        residual = float(np.max(np.abs(f) / (1.0 + np.abs(x))))
        if not math.isfinite(residual):
            return gx, residual, it
        if residual < tol:
            return gx, residual, it
        if residual > 10.0 * best:
            xs, fs = [], []
        if residual < best:
            best, stall = residual, 0
        else:
            stall += 1
            if memory == 0 and stall > 20 and beta > 0.05:
                beta, stall = 0.5 * beta, 0  # the damping rule of the other solvers
        xs.append(x.copy())
        fs.append(f)
        if len(xs) > memory + 1:
            xs.pop(0)
            fs.pop(0)
        if len(xs) == 1:
            x = x + beta * f
            continue
        df = np.array([fs[i + 1] - fs[i] for i in range(len(fs) - 1)]).T
        dx = np.array([xs[i + 1] - xs[i] for i in range(len(xs) - 1)]).T
        coef = np.linalg.lstsq(df, f, rcond=1e-12)[0]
        x = x + beta * f - (dx + beta * df) @ coef
    return gx, residual, it


def fluctuation_overlaps(x: dict, alpha: float, noise: float, tb, ent: Entropic,
                         energetic_fn=None) -> tuple[np.ndarray, np.ndarray]:
    """Stage 2 at the converged ``(V, θ, ψ, m)`` (after ``ent.solve`` at ``x``): ``(Q1, q2)``.

    ``(Q1, q2) = mean + A(q̂)`` (:meth:`Entropic.q_maps`) and ``q̂ = c0 + C(Q1, q2)`` is
    affine (its columns by unit probes of ``energetic_fn``, default :func:`energetic`; the
    several-direction module passes its own), so ``(I − A C) u = b0 + A c0``.
    """
    energetic_fn = energetic if energetic_fn is None else energetic_fn
    T = ent.T
    A11, A12, A21, A22, mq1, mq2 = ent.q_maps()
    zero = {**x, "Q1": np.zeros((T, T)), "q2": np.zeros(T)}
    base = energetic_fn(zero, alpha, noise, tb, with_q=True)
    n_u = T * T + T
    cmat = np.empty((n_u, n_u))
    for j in range(n_u):
        e = np.zeros(n_u)
        e[j] = 1.0
        probe = {**x, "Q1": e[:T * T].reshape(T, T), "q2": e[T * T:]}
        en_j = energetic_fn(probe, alpha, noise, tb, with_q=True)
        cmat[:, j] = np.concatenate([(en_j["q1h"] - base["q1h"]).ravel(),
                                     en_j["q2h"] - base["q2h"]])
    amat = np.zeros((n_u, n_u))
    amat[:T * T, :T * T] = A11.reshape(T * T, T * T)
    amat[:T * T, T * T:] = A12.reshape(T * T, T)
    amat[T * T:, :T * T] = A21.reshape(T, T * T)
    amat[T * T:, T * T:] = A22
    c0 = np.concatenate([base["q1h"].ravel(), base["q2h"]])
    b0 = np.concatenate([mq1.ravel(), mq2])
    u = np.linalg.solve(np.eye(n_u) - amat @ cmat, b0 + amat @ c0)
    return u[:T * T].reshape(T, T), u[T * T:]


def solve_typed_point(alpha: float, lam: float, noise: float, tb: TypedTables,
                      ent: Entropic, state: dict | None, tol: float, max_iter: int,
                      damping: float, plain_fallback: bool = True) -> dict:
    """Fixed point of the several-type equations at one α (α = samples per feature n/p).

    Stage 1: Anderson mixing of the closed subsystem ``(V1, V2, θ, ψ, m)`` until the
    largest relative change ``|Δx|/(1+|x|)`` is below ``tol``, then — if
    ``plain_fallback`` — plain damped iteration; stage 2: the linear system for
    ``(Q1, q2)``. θ has shape (T,) for one spike direction and (T, K) for K (``tb.kappa``
    of shape (n, K)). Raises :class:`ConvergenceError` with the last residual.
    """
    T, L = tb.mu1.shape[0], tb.h1.shape[1]
    theta_shape = (T,) if tb.kappa.ndim == 1 else (T, tb.kappa.shape[1])
    if state is None:
        state = {"V1": np.eye(T), "V2": np.ones(T), "theta": np.zeros(theta_shape),
                 "psi": np.full((T, L), 0.1 / T), "m": np.zeros(T)}
    keys = ("V1", "V2", "theta", "psi", "m")
    shapes = [(T, T), (T,), theta_shape, (T, L), (T,)]
    sizes = [int(np.prod(sh)) for sh in shapes]

    def unpack(vec):
        out, i = {}, 0
        for k, sh, n in zip(keys, shapes, sizes):
            out[k] = vec[i:i + n].reshape(sh)
            i += n
        return out

    def step(vec):
        x = unpack(vec)
        en = energetic(x, alpha, noise, tb, with_q=False)
        new = ent.solve(en)
        if ent.free_mean:
            new["m"] = en["m"]
        return _pack(new)

    start = _pack({k: np.array(state[k], dtype=float) for k in keys})
    vec, residual, it = anderson(step, start, tol, min(max_iter, 200), damping)
    if not residual < tol and plain_fallback:  # Anderson can stray: plain damped iteration
        vec, residual, it2 = anderson(step, start, tol, max_iter, max(damping, 0.7), memory=0)
        it += it2
    if not residual < tol:
        why = "the iterates diverged (non-finite values)" if not math.isfinite(residual) \
            else "slow convergence"
        raise ConvergenceError(f"the several-type fixed point did not converge at α/ψ = "
                               f"{alpha:g}: {why} (tried Anderson mixing and damped iteration)",
                               residual=residual, iterations=it)
    x = unpack(vec)
    # stage 2 at the converged S (the last solve): (Q1, q2) = mean + A(q̂), q̂ = c0 + C(Q1, q2)
    en = energetic(x, alpha, noise, tb, with_q=False)
    x.update(ent.solve(en))
    if ent.free_mean:
        x["m"] = en["m"]
    x["Q1"], x["q2"] = fluctuation_overlaps(x, alpha, noise, tb, ent, energetic)
    fin = energetic(x, alpha, noise, tb, with_q=True)
    x.update({"test": fin["test"], "train": fin["train"], "residual": residual,
              "iterations": it, "hats": {k: fin[k] for k in ("V1h", "V2h", "thh", "psih",
                                                             "q1h", "q2h")}})
    return x


def solve_typed_curve(alphas_eff: np.ndarray, lam: float, noise: float, tb: TypedTables,
                      geo: TypedGeometry, tol: float, max_iter: int, damping: float,
                      free_mean: bool = False) -> dict:
    """:func:`solve_typed_point` along the α grid: a warm start from the previous point
    (Anderson only), else a cold start, else a cold start with heavy damping (measured: with
    8 gaussian types at p = 1000 a warm start can fail where a cold start converges in
    15–25 iterations). ``free_mean``: the mean modes ``m_t`` by their energetic
    stationarity alone (the d → ∞ rule of the single-type equations) instead of as readout
    directions ``1_t`` with their ridge cost (module docstring)."""
    ent = Entropic(geo, lam, free_mean)
    out = {k: np.empty(alphas_eff.size) for k in ("test", "train", "residual", "iterations")}
    states = []
    state = None
    for i, a in enumerate(alphas_eff):
        res = None
        if state is not None:  # warm start: Anderson only (its plain fallback can cost
            try:               # max_iter p × p inversions where a cold start takes 15–25)
                res = solve_typed_point(float(a), lam, noise, tb, ent, state, tol, max_iter,
                                        damping, plain_fallback=False)
            except ConvergenceError:
                res = None
        if res is None:
            try:
                res = solve_typed_point(float(a), lam, noise, tb, ent, None, tol, max_iter,
                                        damping)
            except ConvergenceError:
                res = solve_typed_point(float(a), lam, noise, tb, ent, None, tol, max_iter,
                                        max(damping, 0.8))
        state = res
        states.append(res)
        for k in out:
            out[k][i] = res[k]
    out["states"] = states
    return out


def typed_curve(student: Activation, target: Target, *, alpha0: float, eta: float, lam: float,
                alphas: np.ndarray, noise: float, psi: float, readout: str, n_types: int,
                draws: int, d: int, seed: int, tol: float, max_iter: int,
                damping: float) -> dict:
    """The several-type test-error curve, averaged over ``draws`` sampled steps.

    ``alphas`` are readout ratios n/d (the equations take n/p = α/ψ). Returns the mean
    test and training errors, their spread over the draws (``test_std``), the worst
    residual, the mean iteration count, the per-type geometry of each draw and the
    sampling cost. The p × p linear algebra runs with
    :func:`giantstep.numerics.test_error.spectra.sampled_steps.sampler_threads` BLAS threads (default 1).
    """
    from giantstep.numerics.test_error.spectra.sampled_steps import blas_threads, sampler_threads

    with blas_threads(sampler_threads()):
        return _typed_curve(student, target, alpha0, eta, lam, alphas, noise, psi, readout,
                            n_types, draws, d, seed, tol, max_iter, damping)


def _typed_curve(student, target, alpha0, eta, lam, alphas, noise, psi, readout, n_types, draws,
                 d, seed, tol, max_iter, damping) -> dict:
    quad_tol = max(tol / 10, 1e-12)
    runs, geos = [], []
    for k in range(draws):
        geo = sampled_typed_geometry(student, target, psi, alpha0, eta, noise, d, seed + k,
                                     readout, n_types)
        tb = typed_tables(student, target, geo.r, geo.c, geo.gamma, geo.a, quad_tol)
        runs.append(solve_typed_curve(np.asarray(alphas, float) / psi, lam, noise, tb, geo,
                                      tol, max_iter, damping))
        geos.append(geo)
    out = {key: np.mean([r[key] for r in runs], axis=0)
           for key in ("test", "train", "iterations")}
    out["residual"] = np.max([r["residual"] for r in runs], axis=0)
    out["test_std"] = (np.std([r["test"] for r in runs], axis=0, ddof=1) if draws > 1
                       else np.zeros(len(alphas)))
    out["geometries"] = geos
    out["runs"] = runs
    return out
