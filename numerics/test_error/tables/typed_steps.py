"""Test error after several giant steps with several neuron types.

A readout law whose values differ between neurons — ``sign`` with a student that is not odd
(relu), ``gaussian`` — splits the neurons into types (:func:`typed_readout.type_groups`:
``s > 0`` / ``s < 0``, or quantile bins of s). After one step every type moves along the
same spike direction (:mod:`giantstep.numerics.test_error.solver.typed`); after several steps the
types' mean displacements

    Δ_t = mean_{j∈t} (W_t − W_0)_j

point along *different* directions (a relu neuron with a positive spike learns a different
part of the target than one with a negative spike). The one-step several-type equations are
generalised here from one spike direction v̂ to K directions (derived here,
docs/multi_step_error.md, "Several neuron types after several steps"):

* an orthonormal basis V (d × K) of span{Δ_t} (sign: K = 2; gaussian: the top K ≤ 3
  principal directions of the fraction-weighted Δ_t, the discarded part reported as
  ``discarded``, relative norm), per-type coefficients ``r_t = Vᵀ Δ_t ∈ R^K``, the bulk
  ``B_j = W_j − V r_{t(j)}``, ``f = B V`` (p × K), ``Ω = B Π Bᵀ`` (Π = I − VVᵀ), ``ζ̂`` an
  orthonormal basis of ``Π Θᵀ``, ``Γ = Θ V`` (r × K), ``A = Θ ζ̂`` (r × r), so that given
  ``κ = Vᵀx ~ N(0, I_K)`` the target coordinates are ``z = Γ κ + A ξ``;
* given κ, type t's features are ``σ(⟨r_t, κ⟩ + ⟨B_j, x⟩)``: the coefficient functions
  ``μ0_t, μ1_t, μ*_t²`` are those of the scalar spike ``⟨r_t, κ⟩`` with bulk scale
  ``c_t² = mean_{j∈t} ‖B_j‖²``; the Gaussian part of ``⟨B_j, x⟩`` is
  ``Σ_k f_jk κ_k + ⟨B_j, Π x⟩``, so the overlap θ becomes a (T × K) matrix
  ``θ_tk = ⟨a_t, B_t v_k⟩`` and the conditional mean of the readout is

      c(κ) = Σ_t μ0_t(κ) m_t + Σ_t μ1_t(κ) ⟨θ_t, κ⟩,

  its conjugate ``θ̂_tk = α E[κ_k μ1_t (h − c)/(1 + V)]`` and the ridge source
  ``k_i = Σ_k θ̂_{t(i)k} f_ik + Σ_l ψ̂_{t(i)l} h_il``; ``m`` solves
  ``Σ_s E[μ0_t μ0_s/(1+V)] m_s = E[μ0_t (h − Σ_s μ1_s ⟨θ_s, κ⟩)/(1+V)]``. Everything else
  (V1, V2, ψ, Q1, q2, the ridge matrix S, the mean modes as readout directions 1_t, the
  linear stage for the q's, the Anderson iteration) is the one-step several-type system
  of :mod:`giantstep.numerics.test_error.solver.typed`, reused.
* κ-averages: product Gauss–Hermite rule over the K dimensions; the teacher tables
  ``h(κ) = E[g*(Γκ + Aξ)]``, ``h1_l = E[ξ_l g*]``, ``h2 = E[g*²]`` generalise
  :func:`multi_index.teacher_tables` (exact product rule for polynomial targets).

With K = 1 and v̂ ∝ Σ_j s_j Δ_j this is exactly :mod:`typed_readout` (tested to 1e-8), and with
one type (constant readout) and free mean modes the one-type bulk model of
:mod:`giantstep.numerics.test_error.curves.multi_step` (tested at t = 1).

The sampled trajectories: :func:`sample_typed_steps` (W0 rows N(0, I/d), s by the readout
law, fresh batches of n0 = α0 d; step 1 is bit-identical to
:func:`typed_readout.sample_typed_step`, batch t ≥ 2 from the seed tree ``(seed, 9, 11, t)``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from giantstep.caching import BoundedCache
from giantstep.errors import ConvergenceError, InputError
from giantstep.numerics.gaussian import gauss_hermite, nodes_for_scaled_tolerance, nodes_for_tolerance, product_rule
from giantstep.numerics.test_error.solver.typed import (
    TypedGeometry,
    TypedTables,
    readout_signs,
    solve_typed_curve,
    type_groups,
)
from giantstep.numerics.test_error.spectra.sampled_steps import batch_gradient
from giantstep.numerics.test_error.tables.multi_index import (
    MAX_PRODUCT_NODES,
    _n_max,
    _polynomial_degree,
    student_tables,
    xi_product_rule,
)
from giantstep.theory import Activation, Target

SPIKE_DIMS = {"sign": 2, "gaussian": 2, "constant": 1}
MAX_SPIKE_DIMS = 3
TEACHER_TOL_K = 1e-6  # accuracy floor of the κ and teacher tables when K ≥ 2


# --------------------------------------------------------------------------- sampled steps


def sample_typed_steps(student: Activation, target: Target, psi: float, alpha0: float,
                       eta: float, noise: float, d: int, seed: int, steps: int,
                       readout: str) -> tuple[list[np.ndarray], np.ndarray]:
    """T giant steps of docs/model.md §1 with the readout law ``readout`` on fresh batches.

    Row j moves by ``η̃ s_j (1/n0) Σ_ν e_ν σ'(⟨w_j, x_ν⟩) x_ν``, ``e = y − (1/p) Σ_j s_j
    σ(⟨w_j, x⟩)``; W0 rows ``N(0, I/d)``, s = +1, −1, … alternately (sign) or N(0, 1)
    (gaussian), n0 = round(α0 d), p = round(ψ d). Step 1 draws exactly as
    :func:`typed_readout.sample_typed_step` (seed tree ``(seed, 9, 11)``: W0, s, batch);
    batch t ≥ 2 comes from ``(seed, 9, 11, t)``, so T steps extend T − 1 steps.

    Returns
    -------
    ws : list of ndarray
        ``[W0, W1, …, WT]`` (p × d each).
    s : ndarray (p,)
        The readout values.
    """
    p = max(1, int(round(psi * d)))
    n0 = max(1, int(round(alpha0 * d)))
    rng = np.random.default_rng([int(seed), 9, 11])
    w0 = rng.standard_normal((p, d)) / math.sqrt(d)
    s = readout_signs(readout, p, rng)
    ws = [w0, w0 + (eta / n0) * s[:, None] * batch_gradient(student, target, w0, n0, noise,
                                                             rng, s)]
    for t in range(2, int(steps) + 1):
        rng = np.random.default_rng([int(seed), 9, 11, t])
        w = ws[-1]
        ws.append(w + (eta / n0) * s[:, None] * batch_gradient(student, target, w, n0,
                                                                noise, rng, s))
    return ws, s


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class MultiTypedGeometry(TypedGeometry):
    """:class:`typed_readout.TypedGeometry` read off one sampled state W_t with K spike
    directions V (d × K): ``r`` is (T, K) (``r_t = Vᵀ Δ_t``), ``gamma`` is ``Γ = Θ V``
    (r × K), ``f = B V`` is (p × K), ``z = Γ κ + A ξ``.

    Extra attribute
    ---------------
    discarded : float
        Relative norm of the part of the fraction-weighted ``Δ_t`` outside span V (0 when
        K spans them).
    """

    discarded: float = 0.0

    @property
    def K(self) -> int:
        """Number of spike directions."""
        return int(self.r.shape[1])


def type_displacements(w0: np.ndarray, wt: np.ndarray,
                       groups: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``Δ_t = mean_{j∈t} (W_t − W_0)_j`` as a (T, d) array, and the type fractions."""
    delta = wt - w0
    means = np.stack([delta[g].mean(axis=0) for g in groups])
    frac = np.array([g.size for g in groups], dtype=float) / wt.shape[0]
    return means, frac


def spike_basis(means: np.ndarray, fraction: np.ndarray, k_max: int) -> tuple[np.ndarray, float]:
    """Orthonormal basis V (d × K) of the top ``K ≤ k_max`` principal directions of the
    fraction-weighted type displacements ``√f_t Δ_t`` and the relative norm of the rest.

    Directions whose singular value is below ``1e-10`` of the largest are dropped. The
    sign of each direction is fixed (largest |entry| positive) so that draws are
    reproducible."""
    mat = (np.sqrt(fraction)[:, None] * means).T  # d × T
    u, sv, _ = np.linalg.svd(mat, full_matrices=False)
    if not sv.size or not sv[0] > 0:
        raise InputError("the steps did not move the weights (Δ = 0): use the lazy curve")
    k = int(min(k_max, np.sum(sv > 1e-10 * sv[0])))
    v = u[:, :k].copy()
    for i in range(k):
        if v[np.argmax(np.abs(v[:, i])), i] < 0:
            v[:, i] = -v[:, i]
    total = float(np.sum(sv**2))
    return v, float(math.sqrt(max(float(np.sum(sv[k:] ** 2)), 0.0) / total))


def multi_typed_geometry(w0: np.ndarray, wt: np.ndarray, r_dirs: int, groups: list[np.ndarray],
                         basis: np.ndarray, discarded: float = 0.0,
                         seconds: float = 0.0) -> MultiTypedGeometry:
    """Read the K-direction inputs off ``W_t`` against ``W_0`` (θ_k = e_k) with the spike
    basis ``basis`` (d × K orthonormal, e.g. from :func:`spike_basis`); module docstring."""
    p, d = wt.shape
    v = np.asarray(basis, dtype=float).reshape(d, -1)
    means, frac = type_displacements(w0, wt, groups)
    r = means @ v  # (T, K)
    order = np.concatenate(groups)
    types = np.concatenate([np.full(g.size, t) for t, g in enumerate(groups)])
    b = wt[order] - r[types] @ v.T
    gamma = v[:r_dirs, :].copy()  # (r, K)
    pt = np.zeros((d, r_dirs))
    pt[np.arange(r_dirs), np.arange(r_dirs)] = 1.0
    pt -= v @ gamma.T
    z, _ = np.linalg.qr(pt)
    bv = b @ v
    bpi = b - bv @ v.T
    c = np.array([math.sqrt(float(np.mean(np.sum(b[types == t] ** 2, axis=1))))
                  for t in range(len(groups))])
    return MultiTypedGeometry(r, c, frac, gamma, z[:r_dirs, :], types, bpi @ bpi.T, bv, b @ z,
                              seconds=float(seconds), discarded=float(discarded))


_TRAJ_CACHE = BoundedCache(8)


def sampled_multi_typed_geometries(student: Activation, target: Target, psi: float,
                                   alpha0: float, eta: float, noise: float, d: int, seed: int,
                                   steps: int, readout: str, n_types: int,
                                   k_max: int | None = None) -> list[MultiTypedGeometry]:
    """:func:`sample_typed_steps` and :func:`multi_typed_geometry` of every W_t, t = 1..T
    (K = :data:`SPIKE_DIMS` of the readout unless ``k_max``), cached in memory per input
    (8 trajectories; each holds T p × p matrices). ``seconds`` is the cost of the whole
    trajectory."""
    k = int(SPIKE_DIMS.get(readout, 2) if k_max is None else k_max)
    if not 1 <= k <= MAX_SPIKE_DIMS:
        raise InputError(f"the number of spike directions must be in [1, {MAX_SPIKE_DIMS}], "
                         f"got {k}")
    key = (str(student.expr), str(target.expr), float(psi), float(alpha0), float(eta),
           float(noise), int(d), int(seed), int(steps), readout, int(n_types), k)

    def compute():
        t0 = time.perf_counter()
        ws, s = sample_typed_steps(student, target, psi, alpha0, eta, noise, d, seed, steps,
                                   readout)
        groups = type_groups(s, readout, n_types)
        geos = []
        for wt in ws[1:]:
            means, frac = type_displacements(ws[0], wt, groups)
            v, disc = spike_basis(means, frac, k)
            geos.append(multi_typed_geometry(ws[0], wt, target.r, groups, v, disc))
        secs = time.perf_counter() - t0
        return [MultiTypedGeometry(**{**g.__dict__, "seconds": secs}) for g in geos]

    return _TRAJ_CACHE.get_or_compute(key, compute)


# --------------------------------------------------------------------------- κ tables


def teacher_tables_k(target: Target, gamma: np.ndarray, a: np.ndarray, kappa: np.ndarray,
                     tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``h(κ) = E_ξ g*(Γκ + Aξ)``, ``h1_l = E[ξ_l g*]``, ``h2 = E[g*²]`` at the nodes
    ``kappa (n, K)`` (``gamma = Γ``, r × K): :func:`multi_index.teacher_tables` with
    the shift ``γκ`` replaced by ``Γκ``. Polynomial targets: exact product rule with
    degree + 2 nodes per axis; otherwise the piecewise rule of
    :func:`multi_index.xi_product_rule`, nodes doubled until 16K probe values agree to
    ``tol``."""
    L = a.shape[1]
    shift = np.asarray(kappa, dtype=float) @ np.asarray(gamma, dtype=float).T  # (n, r)
    degree = _polynomial_degree(target)

    def at(x, w, sh):
        ax = x @ a.T
        h = np.empty(sh.shape[0])
        h1 = np.empty((sh.shape[0], L))
        h2 = np.empty(sh.shape[0])
        step = max(1, (1 << 21) // max(w.size, 1))
        for j0 in range(0, sh.shape[0], step):
            ss = sh[j0:j0 + step]
            pts = ss[:, None, :] + ax[None, :, :]
            g = np.asarray(np.broadcast_to(target.evaluate(pts.reshape(-1, sh.shape[1])),
                                           (pts.shape[0] * pts.shape[1],)),
                           dtype=float).reshape(ss.shape[0], w.size)
            h[j0:j0 + step] = g @ w
            h1[j0:j0 + step] = (g * w[None, :]) @ x
            h2[j0:j0 + step] = (g * g) @ w
        return h, h1, h2

    if degree is not None and (degree + 2) ** L <= MAX_PRODUCT_NODES:
        x, w = product_rule(degree + 2, L)
        return at(np.asarray(x, dtype=float), np.asarray(w, dtype=float), shift)
    K = gamma.shape[1]

    def rule(mm):
        # K ≥ 2: a Gauss–Hermite product rule first (far fewer nodes than the piecewise
        # one when it converges; the n_κ × n_ξ evaluations dominate), else (and for K = 1,
        # the rule of multi_index.teacher_tables) the piecewise Gauss–Legendre rule
        x, w = product_rule(mm, L)
        return np.asarray(x, dtype=float), np.asarray(w, dtype=float)

    key = (target.text, np.asarray(gamma).tobytes(), a.tobytes(), float(tol))
    m = _NODES_CACHE.get(key)
    if m is None:
        g16 = np.asarray(gauss_hermite(16)[0], dtype=float)
        probe = np.concatenate([np.outer(g16, np.eye(K)[k]) for k in range(K)]) @ gamma.T

        def est(mm):
            return np.concatenate([v.ravel() for v in at(*rule(mm), probe)])

        m = None
        if K > 1:
            try:
                m = ("hermite", nodes_for_tolerance(est, tol, n0=16, n_max=256 if L == 1
                                                    else 128)[0])
            except ConvergenceError:
                m = None
        if m is None:
            m = ("piecewise", nodes_for_tolerance(
                lambda mm: np.concatenate([v.ravel() for v in at(
                    *(np.asarray(u, dtype=float) for u in xi_product_rule(mm, L)), probe)]),
                tol, n0=4 if L < 3 else 8, n_max=_n_max(L))[0])
        _NODES_CACHE.put(key, m)
    if m[0] == "piecewise":
        x, w = xi_product_rule(m[1], L)
        return at(np.asarray(x, dtype=float), np.asarray(w, dtype=float), shift)
    return at(*rule(m[1]), shift)


_NODES_CACHE = BoundedCache(256)


def multi_typed_tables(student: Activation, target: Target, r: np.ndarray, c: np.ndarray,
                       gamma: np.ndarray, a: np.ndarray, tol: float) -> TypedTables:
    """Student tables of every type (scalar spike ``⟨r_t, κ⟩``, bulk scale ``c_t``) and the
    teacher's on one product Gauss–Hermite κ rule; inner and per-axis outer node counts
    doubled until representative integrals agree to ``tol`` (outer: at most 256 nodes for
    K = 1, 64 per axis for K = 2, 24 for K = 3)."""
    r = np.atleast_2d(np.asarray(r, dtype=float))
    K = r.shape[1]
    probe = np.asarray(gauss_hermite(32)[0])

    def students(kap, n):
        cols = [student_tables(student, 1.0, float(ct), kap @ rt, n) for rt, ct in zip(r, c)]
        return [np.stack(col) for col in zip(*cols)]

    def students_probe(n):
        cols = [student_tables(student, 1.0, float(ct), float(np.linalg.norm(rt)) * probe, n)
                for rt, ct in zip(r, c)]
        return np.concatenate([np.stack(col).ravel() for col in zip(*cols)])

    n_inner = nodes_for_scaled_tolerance(students_probe, tol, n0=8, n_max=1024)[0]
    # K ≥ 2: the teacher tables cost n_κ × n_ξ target evaluations (4096 × 16384 for a
    # two-direction tanh target): their accuracy is floored at TEACHER_TOL_K (an error ε in
    # h moves the test error by O(ε), far below the validation tolerance)
    t_tol = tol if K == 1 else max(tol, TEACHER_TOL_K)
    memo: dict = {}

    def tables(nk):
        if nk not in memo:
            kap, w = product_rule(nk, K)
            memo[nk] = (kap, w, *students(kap, n_inner),
                        *teacher_tables_k(target, gamma, a, kap, t_tol))
        return memo[nk]

    def summary(nk):
        kap, w, m0, m1, m2, h, h1, h2 = tables(nk)
        return np.concatenate([(m0 * m0) @ w, (m1 * m1) @ w, m2 @ w, (m0 * h) @ w,
                               ((m1 * h * w) @ kap).ravel(), ((m1 * w) @ h1).ravel(), [h2 @ w]])

    n_max = {1: 256, 2: 64}.get(K, 24)
    try:
        nk = nodes_for_tolerance(summary, tol if K == 1 else max(tol, TEACHER_TOL_K),
                                 n0=16 if K == 1 else 8, n_max=n_max)[0]
    except ConvergenceError:
        if K == 1:
            raise
        nk = n_max  # K ≥ 2: the largest product rule (its residual is ≤ 1e-5 in every
        # geometry met; a rougher integrand is reported by the fixed point's test error)
    kap, w, m0, m1, m2, h, h1, h2 = tables(nk)
    return TypedTables(w, kap, m0, m1, m2, np.asarray(h, float), np.asarray(h1, float),
                            np.asarray(h2, float))


# --------------------------------------------------------------------------- the equations


def multi_typed_step_curves(student: Activation, target: Target, *, alpha0: float, eta: float,
                            steps: int, lam: float, alphas: np.ndarray, noise: float,
                            psi: float, readout: str, n_types: int, draws: int, d: int,
                            seed: int, tol: float, max_iter: int, damping: float,
                            k_max: int | None = None) -> list[dict]:
    """Test and training error of the ridge readout refit after each of t = 1..T steps,
    averaged over ``draws`` sampled trajectories (seeds ``seed, seed+1, …``).

    ``alphas`` are readout ratios n/d (the equations take n/p = α/ψ). Returns one dict per
    step: ``test``, ``train``, ``test_std`` (spread over draws), ``residual`` (worst),
    ``r`` (T × K, mean over draws), ``c``, ``fraction``, ``gamma`` (r × K), ``discarded``,
    ``K``, ``seconds`` (per draw: sampling cost of the trajectory). The p × p linear
    algebra runs with :func:`bulk_step_inputs.sampler_threads` BLAS threads (default 1).
    """
    from giantstep.numerics.test_error.spectra.sampled_steps import blas_threads, sampler_threads

    quad_tol = max(tol / 10, 1e-12)
    alphas = np.asarray(alphas, dtype=float)
    with blas_threads(sampler_threads()):
        trajs = [sampled_multi_typed_geometries(student, target, psi, alpha0, eta, noise, d,
                                                seed + k, steps, readout, n_types, k_max)
                 for k in range(draws)]
        out = []
        for t in range(steps):
            runs = []
            for traj in trajs:
                geo = traj[t]
                tb = multi_typed_tables(student, target, geo.r, geo.c, geo.gamma, geo.a,
                                        quad_tol)
                runs.append(solve_typed_curve(alphas / psi, lam, noise, tb, geo, tol,
                                              max_iter, damping))
            geos = [traj[t] for traj in trajs]
            tests = np.array([r["test"] for r in runs])
            out.append({
                "test": tests.mean(axis=0),
                "train": np.mean([r["train"] for r in runs], axis=0),
                "test_std": (tests.std(axis=0, ddof=1) if draws > 1
                             else np.zeros(alphas.size)),
                "residual": np.max([r["residual"] for r in runs], axis=0),
                "r": np.mean([g.r for g in geos], axis=0),
                "c": np.mean([g.c for g in geos], axis=0),
                "fraction": np.mean([g.fraction for g in geos], axis=0),
                "gamma": np.mean([g.gamma for g in geos], axis=0),
                "discarded": float(np.max([g.discarded for g in geos])),
                "K": int(geos[0].K),
                "seconds": [float(g.seconds) for g in geos],
            })
    return out
