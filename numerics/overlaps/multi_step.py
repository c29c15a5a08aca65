"""Several giant steps with n = α d per step: the type recursion (docs/model.md §5.3).

State after t steps, for every type τ (readout value ``s_τ``, weight ``π_τ``):
coefficients ``m_τ = (m_τ^z, m_τ^u)`` on the latent Gaussian ``κ = (z, u)``
(``z ∈ R^r`` the target coordinates, ``u`` the shared directions created by the
batch noise) and a private variance ``q_τ``; the preactivation is
``h_τ = ⟨m_τ, κ⟩ + √q_τ ξ``.

How the expectations are computed
---------------------------------
``g*`` depends on z only and ``F(κ) = Σ π_τ s_τ E_ξ σ(h_τ)`` on κ only through
``a_τ = ⟨m_τ, κ⟩``. So every expectation is an integral over ``z`` and the
Gaussian vector ``a^u = (⟨m_τ^u, u⟩)_τ`` of covariance ``Γ = M^u M^uᵀ`` (K × K).
``Γ = Σ λ_i e_i e_iᵀ`` is diagonalised and the integral runs over ``(z, v)`` with
``a^u = Σ_{kept i} √λ_i e_i v_i``: at most ``r + K`` dimensions (``r + 2`` for the
sign readout). Eigenvalues are discarded, smallest first, while their sum stays
below ``tol/10``; the discarded part of each ``a^u_τ`` (variance ``ρ_τ``) is folded
into the private width ``b_τ = sqrt(q_τ + ρ_τ)``. Single-type expectations stay
exact; cross-type ones change by O(Σ discarded λ).

The update along the shared directions uses Stein's lemma (exact):
``E[e σ'(h_τ) u] = Σ_τ' m_τ'^u E[∂_{a_τ'}((g* − F) Φ_τ)]``, i.e.
``m_τ^u ← m_τ^u + η̃ s_τ Σ_τ' C_ττ' m_τ'^u`` with
``C_ττ' = −π_τ' s_τ' E[Φ_τ Φ_τ'] + δ_ττ' E[(g* − F) Φd_τ]`` (``Φd = E_ξ σ''``).
The rest follows docs/model.md §5.3 literally:

* ``m_τ^z ← m_τ^z + η̃ s_τ E[(g* − F) Φ_τ z]``;
* ``q_τ ← q_τ (1 + η̃ s_τ E[(g* − F) Φd_τ])² + η̃² s_τ² E[((g*−F)² + Δ)(E_ξσ'² − Φ_τ²)]/α``
  (``E[e σ' ξ] = √q E[σ'']`` by Stein);
* new shared coordinates with covariance ``η̃² s_τ s_τ' G_ττ'``,
  ``G_ττ' = E[((g*−F)² + Δ) Φ_τ Φ_τ']/α``, factored ``G = L Lᵀ`` (null modes dropped);
* optional row normalisation.

Accuracy: product rules (:mod:`giantstep.numerics.gaussian`): along z,
Gauss–Hermite with ``n`` nodes for polynomial targets (exact in z) and the
``2n+1``-point trapezoidal rule otherwise (``tanh(2z)`` is analytic only in a
strip, where Gauss–Hermite converges like ``exp(−c√n)`` but the trapezoid like
``exp(−2πτ/h)``); along the shared axes Gauss–Hermite with a number of nodes
proportional to n and to how far the preactivations move along the axis compared
with their private width (:func:`_axis_nodes`), and the 2m-point degree-3 Stroud
rule for the m axes where that ratio is below 0.01 (error O(ratio²)). The whole
trajectory is recomputed with ``n`` growing by ×1.5 until two successive
trajectories agree within ``tol·max(1, |s_τ|, |value|)`` on every overlap, norm and
private variance of every type of weight ≥ 1e-6 (relative where a value exceeds
``max(1, |s_τ|)``: double-precision rounding of a squared norm of 4e7 alone is 1e-8) (the finer one is returned;
lighter types are reported separately, see :func:`_solve`). The smoothed
activations are tabulated to ``tol/100`` (:mod:`.smoothing`).
"""

from __future__ import annotations

import math
import time

import numpy as np

from giantstep.errors import ConvergenceError, DivergenceError, InputError
from giantstep.numerics.gaussian import (
    gauss_hermite,
    product_of_rules,
    stroud3_rule,
    tensor_rules,
    trapezoid_rule,
)
from giantstep.numerics.overlaps._params import check_common
from giantstep.numerics.overlaps.kernel import step_expectations, unpack
from giantstep.numerics.overlaps.readout_types import readout_types
from giantstep.numerics.overlaps.result import OverlapTrajectory, StepState, TypeState
from giantstep.numerics.overlaps.smoothing import build_table, pack_tables
from giantstep.params import Boolean, Grid, Interval, validate_params
from giantstep.theory import Activation, Target

N_SEQUENCE = (8, 12, 18, 27, 40, 60, 90)
MAX_NODES_TOTAL = 12_000_000
MAX_TYPE_STEPS = 2000  # types × states: one smoothing table each per quadrature level (minutes)
MAX_KERNEL_WORK = 4e9  # nodes × types × (types + r) of one kernel call (seconds at most)
DIVERGENCE_NORM2 = 1e10
LIGHT_TYPE = 1e-6  # types lighter than this are not part of the accuracy check (see _solve)


SMALL_AXIS = 0.01  # λ_i/b² below which an axis is integrated by the degree-3 Stroud rule


#: Half-width of the piecewise rules along a kinked axis (φ(12) ≈ 2e-32: nothing beyond).
PIECEWISE_HALF_WIDTH = 12.0


def axis_kinks(tgt: Target) -> list[tuple[float, ...]]:
    """Per latent axis z_i, the points where the target is not smooth along that axis.

    Read from the kink arguments u of the target's non-smooth primitives (relu, abs, sign, …):
    a u of z_i alone, or a product of such factors (``sign(z1*z2)``), contributes the roots of
    its factors in z_i. A kink set that is not axis-aligned (``relu(z1 + z2)``) contributes
    nothing: the trapezoidal rule is kept there.
    """
    import sympy

    from giantstep.theory.expr.primitives import kink_arguments, kinks

    cuts: list[set] = [set() for _ in range(tgt.r)]
    index = {v: i for i, v in enumerate(tgt.variables)}
    for u in kink_arguments(tgt.expr):
        for factor in sympy.Mul.make_args(sympy.factor(u)):
            syms = factor.free_symbols & set(index)
            if len(syms) != 1:
                continue
            (z,) = syms
            cuts[index[z]].update(p for p in kinks(sympy.Abs(factor), z)
                                  if abs(p) < PIECEWISE_HALF_WIDTH)
    return [tuple(sorted(c)) for c in cuts]


def piecewise_rule(n: int, cuts: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """A rule for ``E_{ξ~N(0,1)}`` on ``[−12, 12]`` split at ``cuts``: Gauss–Legendre on each piece.

    A function smooth between its kinks is integrated with geometric convergence in n
    (the trapezoid over a kink converges like h² only). Each piece gets a share of the
    ``n`` nodes proportional to its Gaussian mass, at least 8.
    """
    from math import erf, sqrt

    edges = [-PIECEWISE_HALF_WIDTH, *cuts, PIECEWISE_HALF_WIDTH]
    xs, ws = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        mass = 0.5 * (erf(b / sqrt(2)) - erf(a / sqrt(2)))
        m = max(8, int(math.ceil(n * max(mass, 0.0) + 8)))
        t, wt = np.polynomial.legendre.leggauss(m)
        x = 0.5 * (b - a) * t + 0.5 * (a + b)
        xs.append(x)
        ws.append(0.5 * (b - a) * wt * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi))
    return np.concatenate(xs), np.concatenate(ws)


def _axis_nodes(n: int, r: int, V: np.ndarray, b: np.ndarray) -> tuple[list[int], int]:
    """Nodes per axis. Along z: n. Along the shared axis i (a^u = V v), the relevant scale is
    ``ρ_i = max_τ V_τi²/b_τ²`` — how far a_τ moves along that axis compared with the width
    b_τ over which type τ's smoothed functions vary: ``n·sqrt(ρ_i/max(ρ_0, 1))`` nodes (at
    least 3). Axes with ``ρ_i < SMALL_AXIS`` are returned as a count m for the 2m-point
    degree-3 rule: the integrand is analytic on the scale b, so that rule's error is
    O(ρ_i²) ≲ 1e-4 of the fourth derivative."""
    ns = [n] * r
    small = 0
    if V.shape[1]:
        rho = np.max(V**2 / (b[:, None] ** 2), axis=0)
        ref = max(float(rho.max()), 1.0)
        for ri in rho:
            if ri < SMALL_AXIS:
                small += 1
            else:
                ns.append(int(min(n, max(3, math.ceil(n * math.sqrt(ri / ref))))))
    return ns, small


def _expectations(tgt, act, s, pi, mz, Mu, q, delta, n, tol):
    """Run the kernel at the current state; returns (dict of expectations, info)."""
    r = tgt.r
    K = len(s)
    if Mu.shape[1]:
        Gam = Mu @ Mu.T
        lam, U = np.linalg.eigh(Gam)
        lam, U = lam[::-1].clip(min=0.0), U[:, ::-1]
        tail = np.cumsum(lam[::-1])[::-1]  # tail[i] = Σ_{j≥i} λ_j
        keep = int(np.sum(tail > 0.1 * tol))
        lam_k = lam[:keep]
        V = U[:, :keep] * np.sqrt(lam_k)
        rho = np.clip(np.diag(Gam) - np.sum(V * V, axis=1), 0.0, None)
        discarded = float(tail[keep]) if keep < K else 0.0
    else:
        lam_k = np.zeros(0)
        V = np.zeros((K, 0))
        rho = np.zeros(K)
        discarded = 0.0
    coef = np.ascontiguousarray(np.hstack([mz, V]))
    b = np.sqrt(q + rho)
    ns, small = _axis_nodes(n, r, V, b)
    zfac = 1 if tgt.is_polynomial else 2**r
    nodes = int(np.prod(ns)) * zfac * max(2 * small, 1)
    if nodes > MAX_NODES_TOTAL:
        raise ConvergenceError(
            f"the quadrature over {len(ns)} dimensions needs more than {MAX_NODES_TOTAL} nodes "
            f"(nodes per axis {ns}); lower the accuracy (tol) or the number of types",
            iterations=n,
        )
    if float(nodes) * K * (K + r) > MAX_KERNEL_WORK:  # the kernel sums over nodes × type pairs
        raise ConvergenceError(
            f"one step of the overlap recursion needs about {float(nodes) * K * (K + r):.1e} operations "
            f"({nodes} nodes × {K} types × {K + r} pairs), beyond the budget of {MAX_KERNEL_WORK:.0e}; "
            "lower the accuracy (tol) or the number of types",
            iterations=n,
        )
    if tgt.is_polynomial:
        rules = [gauss_hermite(k) for k in ns]
    else:  # strip-analytic targets: trapezoid along z; kinked axes: Gauss–Legendre between kinks
        cuts = axis_kinks(tgt)
        rules = [piecewise_rule(2 * k + 1, cuts[i]) if cuts[i] else trapezoid_rule(2 * k + 1)
                 for i, k in enumerate(ns[:r])] + [gauss_hermite(k) for k in ns[r:]]
    Y, w = product_of_rules(rules)
    if small:
        Y, w = tensor_rules((Y, w), stroud3_rule(small))
        Y = np.ascontiguousarray(Y)
    g = np.ascontiguousarray(tgt.evaluate(Y[:, :r]), dtype=float)
    if not np.all(np.isfinite(g)):
        raise InputError(f"target {tgt.text!r} is not finite at the quadrature nodes")
    amax = np.abs(Y @ coef.T).max(axis=0) if coef.shape[1] else np.zeros(K)
    tables = [build_table(act, float(b[k]), float(amax[k]), tol / 100) for k in range(K)]
    x0s, hs, Gs, vals, ders = pack_tables(tables)
    flat = step_expectations(
        Y, w, g, coef, r, np.ascontiguousarray(s), np.ascontiguousarray(pi), x0s, hs, Gs,
        vals, ders, float(delta),
    )
    info = {"nodes": ns + [f"stroud3({small})"] * bool(small), "n_nodes": int(w.size), "discarded_variance": discarded,
            "integration_dim": len(ns) + small}
    return unpack(flat, K, r), info


def _state(step, s, pi, mz, Mu, q, latent_dim, mom, delta, idim) -> StepState:
    """StepState of all types (E[(y − F)²] includes the label noise Δ)."""
    _, _, _, mse, Fm = mom
    types = [TypeState(float(s[k]), float(pi[k]), mz[k].copy(), float(Mu[k] @ Mu[k]), float(q[k]))
             for k in range(len(s))]
    return StepState(step, types, latent_dim, output_mse=float(mse + delta), output_mean=float(Fm),
                     integration_dim=idim)


def _trajectory(tgt, act, s, pi, alpha, eta, steps, delta, normalize, n, tol, g_mean,
                shared=True):
    r, K = tgt.r, len(s)
    mz = np.zeros((K, r))
    Mu = np.zeros((K, 0))
    q = np.ones(K)
    states = []
    infos = []
    for t in range(steps + 1):
        ex, info = _expectations(tgt, act, s, pi, mz, Mu, q, delta, n, tol)
        infos.append(info)
        Fg, F2, g2, mse, Fm = ex["moments"]
        st = _state(t, s, pi, mz, Mu, q, r + Mu.shape[1], ex["moments"], delta, info["integration_dim"])
        var_F = F2 - Fm * Fm
        var_g = g2 - g_mean * g_mean
        if var_F > 1e-14 and var_g > 1e-14:
            st.output_correlation = float((Fg - Fm * g_mean) / math.sqrt(var_F * var_g))
        states.append(st)
        if t == steps:
            break
        es = eta * s
        C = -(pi * s)[None, :] * ex["Pm"] + np.diag(ex["Ed"])
        mz = mz + es[:, None] * ex["Ez"]
        Mu = Mu + es[:, None] * (C @ Mu)
        q = q * (1.0 + es * ex["Ed"]) ** 2 + es**2 * ex["Vp"] / alpha
        Gm = ex["Gm"] / alpha
        if not shared:  # ablation (docs/model.md §5.3): batch noise treated as private to each neuron
            q = q + es**2 * np.diag(Gm)
            Gm = np.zeros_like(Gm)
        lam, U = np.linalg.eigh(0.5 * (Gm + Gm.T))
        top = max(lam.max(), 0.0)
        keep = lam > 1e-13 * max(top, 1e-300)
        if top > 0 and eta > 0:
            L = U[:, keep] * np.sqrt(lam[keep])
            Mu = np.hstack([Mu, es[:, None] * L[:, ::-1]])
        if normalize:
            nrm2 = np.sum(mz * mz, axis=1) + np.sum(Mu * Mu, axis=1) + q
            nrm = np.sqrt(nrm2)
            mz, Mu, q = mz / nrm[:, None], Mu / nrm[:, None], q / nrm2
        total = np.sum(mz * mz, axis=1) + np.sum(Mu * Mu, axis=1) + q
        if not np.all(np.isfinite(total)) or total.max() > DIVERGENCE_NORM2 or q.min() <= 0:
            raise DivergenceError(
                f"the overlap recursion diverged at step {t + 1} (squared norms {total}); "
                "the learning rate η̃ is too large for this target and activation",
                residual=float(np.max(total)) if np.all(np.isfinite(total)) else float("inf"),
                iterations=t + 1,
            )
    return states, infos


def _flatten(states, mask=None) -> np.ndarray:
    """Overlaps, norms² and private variances of the selected types, each divided by
    max(1, |s_τ|) (they grow like η̃ s: the accuracy asked of a type is tol·max(1, |s|))."""
    return np.concatenate([np.concatenate([tp.overlap, [tp.norm2, tp.private_var]])
                           / max(1.0, abs(tp.s))
                           for st in states for k, tp in enumerate(st.types)
                           if mask is None or mask[k]])


def _solve(tgt, act, s, pi, alpha, eta, steps, delta, normalize, tol, shared=True, checked=None):
    """The recursion with the quadrature refined until two successive rules agree within tol.

    The agreement is required on the types in ``checked`` (default: weight ≥ LIGHT_TYPE),
    within ``tol·max(1, |s_τ|)`` (absolute tol for constant and sign readouts).
    Types lighter than that (the outermost Gauss–Hermite types of a large-K gaussian
    readout, e.g. s = ±6.6 with weight 5e-11 for K = 16) have overlaps ∝ s and need far
    more nodes; they change F by less than their weight, and their own difference
    between the last two rules is reported as ``difference_light_types``.

    ``shared=False`` is an ablation for tests: the noise covariance G goes to the private
    variances instead of creating shared directions."""
    g_mean = float(tgt.tensor(0))
    t0 = time.perf_counter()
    prev = None
    prev_light = None
    prev_n = None
    diff = float("nan")
    diff_light = 0.0
    if checked is None:
        checked = np.asarray(pi) >= LIGHT_TYPE
    light = ~np.asarray(checked)
    for n in N_SEQUENCE:
        try:
            states, infos = _trajectory(tgt, act, s, pi, alpha, eta, steps, delta, normalize, n, tol,
                                        g_mean, shared)
        except ConvergenceError:
            if prev is None:
                raise
            break
        vec = _flatten(states, checked)
        vec_light = _flatten(states, light) if light.any() else np.zeros(0)
        if prev is not None:  # mixed absolute/relative: values far above 1 agree to tol relatively
            diff = float(np.max(np.abs(vec - prev) / np.maximum(1.0, np.abs(vec)))) if vec.size else 0.0
            if vec_light.size:
                diff_light = float(np.max(np.abs(vec_light - prev_light)))
            if diff <= tol:
                break
        prev, prev_n, prev_light = vec, n, vec_light
    else:
        raise ConvergenceError(
            f"overlap quadrature did not reach tol={tol:g} with up to {N_SEQUENCE[-1]} nodes per axis",
            residual=diff, iterations=len(N_SEQUENCE),
        )
    if not diff <= tol:
        raise ConvergenceError(
            f"overlap quadrature did not reach tol={tol:g} before the node budget "
            f"({MAX_NODES_TOTAL} nodes) was exhausted; use a larger tol or fewer types",
            residual=diff, iterations=prev_n or 0,
        )
    quad = {
        "tol": tol,
        "nodes_per_axis": [i["nodes"] for i in infos],
        "n_nodes": [i["n_nodes"] for i in infos],
        "difference_with_previous_rule": diff,
        "difference_light_types": diff_light,
        "light_types": [float(x) for x in np.asarray(s)[light]],
        "discarded_shared_variance": [i["discarded_variance"] for i in infos],
        "seconds": time.perf_counter() - t0,
    }
    return states, quad


@validate_params(normalize=Boolean(), tol=Interval(float, 1e-10, 0.1))
def overlap_trajectory(
    target: str | Target,
    activation: str | Activation,
    *,
    alpha: float,
    eta: float,
    steps: int,
    readout: str = "constant",
    noise: float | None = None,
    n_types: int = 8,
    normalize: bool = False,
    tol: float = 1e-6,
) -> OverlapTrajectory:
    """Overlaps of the first layer after each of T giant steps (docs/model.md §5.3).

    Parameters
    ----------
    target, activation : str or Target / Activation
        Target ``g*(z)`` and student activation σ (σ must be weakly differentiable).
    alpha : float
        Batch size per step over d (``n = α d``), > 0.
    eta : float
        Rescaled learning rate η̃ ≥ 0 (``η = η̃ p``).
    steps : int
        Number of giant steps T ≥ 1.
    readout : {"constant", "sign", "gaussian"}
        Law of the frozen second layer ``s``.
    noise : float, optional
        Label-noise variance Δ (default: ``target.noise``).
    n_types : int
        Gauss–Hermite types K for the gaussian readout.
    normalize : bool
        Row normalisation after each step.
    tol : float
        Absolute accuracy requested on overlaps, norms and private variances.

    Returns
    -------
    OverlapTrajectory
        ``steps[t]`` for t = 0..T (t = 0 is the initialisation).
    """
    tgt, act, alpha, eta, delta = check_common(target, activation, alpha, eta, noise)
    steps, tol = int(steps), float(tol)
    s, pi = readout_types(readout, int(n_types))
    if len(s) * (steps + 1) > MAX_TYPE_STEPS:
        raise InputError(f"{len(s)} neuron types × {steps + 1} states need {len(s) * (steps + 1)} smoothing "
                         f"tables per quadrature level, beyond the budget of {MAX_TYPE_STEPS}; "
                         "use fewer types or fewer steps")
    states, quad = _solve(tgt, act, s, pi, alpha, eta, steps, delta, normalize, tol)
    return OverlapTrajectory(tgt.text, act.name, readout, alpha, eta, delta, bool(normalize), states,
                             quad)


@validate_params(normalize=Boolean(), tol=Interval(float, 1e-10, 0.1),
                 s_values=Grid(Interval(float, None, None)))
def type_curve(
    target: str | Target,
    activation: str | Activation,
    s_values,
    *,
    alpha: float,
    eta: float,
    steps: int,
    readout: str = "constant",
    noise: float | None = None,
    n_types: int = 8,
    normalize: bool = False,
    tol: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray]:
    """Overlaps and squared norms of neurons with readout values ``s_values`` (docs/model.md §5.3).

    The neurons are *probe* types of weight zero added to the readout law's types: they
    move in the mean field of the network without changing it, so this is exactly the
    type curve ``m(s)`` of the law at arbitrary s (e.g. to compare with simulated neurons
    binned by s for the gaussian readout).

    Returns
    -------
    overlaps : ndarray (T+1, len(s_values), r)
    norms2 : ndarray (T+1, len(s_values))
    """
    tgt, act, alpha, eta, delta = check_common(target, activation, alpha, eta, noise)
    steps, tol = int(steps), float(tol)
    probes = np.atleast_1d(np.asarray(s_values, dtype=float))
    s, pi = readout_types(readout, int(n_types))
    K = len(s)
    s_all = np.concatenate([s, probes])
    pi_all = np.concatenate([pi, np.zeros(probes.size)])
    checked = np.concatenate([pi >= LIGHT_TYPE, np.ones(probes.size, dtype=bool)])
    states, _ = _solve(tgt, act, s_all, pi_all, alpha, eta, steps, delta, normalize, tol,
                       checked=checked)
    ov = np.array([[t.overlap for t in st.types[K:]] for st in states])
    nr = np.array([[t.norm2 for t in st.types[K:]] for st in states])
    return ov, nr
