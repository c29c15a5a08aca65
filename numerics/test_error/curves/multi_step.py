"""Test error of the ridge readout refit after several giant steps (docs/model.md §6.2).

Public entry point: :func:`multi_step_learning_curve`, returning a :class:`MultiStepCurve`.

Derivation (docs/multi_step_error.md). With a constant readout every neuron is one type of
the §5.3 recursion: after t steps its preactivation is ``h = ⟨m_t, κ⟩ + √q_t ξ``, with
``κ = (z, u)`` the target coordinates and the shared directions. The features therefore
depend on the latent κ only through the scalar ``a = ⟨m_t, κ⟩``: a rank-one spike of
strength ``r_t = ‖m_t‖`` along the unit direction ``v̂ = m_t/‖m_t‖`` of latent space, whose
overlaps with the r target directions are ``γ_t = m_t^z/‖m_t‖`` (a vector of norm < 1: the
spike also points along the shared noise directions u). That is exactly the geometry of
the one-step multi-index spiked random-features model of
:mod:`giantstep.numerics.test_error.tables.multi_index` (conditional Gaussian equivalence, Cui et al.
2024 Result 3.3, extended there to ψ = p/d and to several target directions), with

* ``spectrum="limit"``: ``(r_t, γ_t, c_t = √q_t)`` from :func:`overlap_trajectory` and the
  idealised bulk ``c_t W0`` (Marchenko–Pastur(ψ, c_t²), ``F = ψc², H = ψ D, G = 0``);
* ``spectrum="bulk"``: ``(r, γ, A, c)`` and the spectral weights ``(D, F, G, H)`` read off
  ``W_t`` of t sampled *real* steps (:func:`sampled_bulk_geometries`), the t-step version
  of the exact bulk model of.

Sign readout and an odd student (exact reduction, derived): with ``W̃ = diag(s) W`` the
update of W̃ is the constant-readout update from ``W̃0`` (same law; σ' is even), the
network is ``(1/p) Σ σ(⟨w̃_j, x⟩)`` and a ridge readout is invariant under sign flips of
its features, so every error equals the constant-readout one. The other multi-type cases (relu, or any
non-odd student, with a sign readout; every gaussian readout) use the several-type
equations with K spike directions of :mod:`giantstep.numerics.test_error.tables.typed_steps` on
sampled real trajectories with the readout law (derived there; docs/multi_step_error.md,
"Several neuron types after several steps"); their checked regions are
records of :data:`~giantstep.numerics.checked_regions.CHECKED_REGIONS`.

Per step t the curve also carries ``frozen_error`` = ``output_mse`` of the §5.3 state
(the readout kept as trained, validated in docs/overlaps.md); t = 1 is the one-step curve
of :func:`giantstep.numerics.one_step_learning_curve` (same equations, tested) and η̃ = 0
the lazy one.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from giantstep.errors import InputError
from giantstep.numerics.checked_regions import SEVERAL_STEPS, SEVERAL_STEPS_TYPES, checked_region
from giantstep.numerics.test_error.config import CurveConfig
from giantstep.numerics.test_error.curves.one_step import _teacher_target
from giantstep.params import Boolean, Interval, Noneable, Options, validate_params
from giantstep.tables import FrameMixin
from giantstep.theory import Activation, Target, as_activation, as_target, is_target_expression

MAX_STEPS = 12

@dataclass
class MultiStepCurve(FrameMixin):
    """Result of :func:`multi_step_learning_curve` (docs/model.md §6.2).

    Attributes
    ----------
    alpha : ndarray
        Readout sample ratios ``n/d``.
    steps : list of dict
        One record per step t = 1..T: ``step``, ``test_error`` and ``train_error`` (arrays
        over α, ridge readout refit after step t), ``frozen_error`` (float, the network as
        trained, readout ``s/√p`` kept: ``output_mse`` of §5.3), ``validated`` (bool array),
        ``test_error_std`` (spread over sampled draws, bulk mode, else None), ``r``,
        ``gamma`` (vector of target overlaps of the spike), ``c``. Several neuron types
        (sign readout with a non-odd student, gaussian readout): ``r`` and ``c`` are the
        fraction-weighted RMS of the per-type ``‖r_t‖`` and ``c_t``, ``gamma_k`` the norm
        of target direction k's projection on the K spike directions; the per-type values
        are in ``params["typed_steps"]``.
    lazy_test_error, lazy_train_error : ndarray
        The same readout on the network at initialisation (random features, η̃ = 0).
    params : dict
        Inputs, mode, notes, numerical settings.
    """

    alpha: np.ndarray
    steps: list[dict]
    lazy_test_error: np.ndarray
    lazy_train_error: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def test_error(self) -> np.ndarray:
        """(T, len(α)) test errors."""
        return np.array([s["test_error"] for s in self.steps])

    @property
    def train_error(self) -> np.ndarray:
        """(T, len(α)) training errors."""
        return np.array([s["train_error"] for s in self.steps])

    @property
    def frozen_error(self) -> np.ndarray:
        """(T,) frozen-readout errors."""
        return np.array([s["frozen_error"] for s in self.steps])

    @property
    def validated(self) -> np.ndarray:
        """(T, len(α)) flags: inside the region checked against simulation."""
        return np.array([s["validated"] for s in self.steps], dtype=bool)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``alpha``, ``steps`` (list of ``{"step", "test_error", "train_error",
        "frozen_error", "validated", …}``, every error a list over α; ``frozen_error`` is
        constant in α), ``lazy_test_error``, ``lazy_train_error``, ``one_step_test_error``
        (= step 1) and ``params``."""
        n = self.alpha.size
        out_steps = []
        for s in self.steps:
            rec = {
                "step": int(s["step"]),
                "test_error": [float(x) for x in s["test_error"]],
                "train_error": [float(x) for x in s["train_error"]],
                "frozen_error": [float(s["frozen_error"])] * n,
                "validated": [bool(v) for v in s["validated"]],
                "r": float(s["r"]),
                "gamma": [float(x) for x in s["gamma"]],
                "c": float(s["c"]),
            }
            if s.get("test_error_std") is not None:
                rec["test_error_std"] = [float(x) for x in s["test_error_std"]]
            out_steps.append(rec)
        return {
            "alpha": [float(a) for a in self.alpha],
            "steps": out_steps,
            "lazy_test_error": [float(x) for x in self.lazy_test_error],
            "lazy_train_error": [float(x) for x in self.lazy_train_error],
            "one_step_test_error": [float(x) for x in self.steps[0]["test_error"]],
            "params": dict(self.params),
        }

    def plot(self, ax=None, label: str | None = None):
        """Test error vs α for every step t (one colour per step), with the lazy curve (t = 0,
        grey) and the frozen-readout errors (dotted). Points outside the checked region are red
        crosses. ``ax``: draw on these axes; ``label``: prefix of the legend entries (for
        several students on one axis). Returns the matplotlib Figure."""
        from giantstep.figures import FAMILY_GID, figure_and_axes, label_once

        fig, ax = figure_and_axes(ax)
        pre = f"{label}: " if label else ""
        ax.plot(self.alpha, self.lazy_test_error, "s--", color="gray", mfc="none", label=f"{pre}lazy (t = 0)")
        offset = sum(1 for line in ax.get_lines() if line.get_gid() == FAMILY_GID)
        for k, s in enumerate(self.steps):
            col = f"C{(offset + k) % 10}"
            te = np.asarray(s["test_error"])
            ok = np.asarray(s["validated"], dtype=bool)
            ax.plot(self.alpha, te, "-", color=col, gid=FAMILY_GID, label=f"{pre}t = {s['step']}")
            ax.plot(self.alpha[ok], te[ok], "o", color=col, ms=4)
            if (~ok).any():
                ax.plot(self.alpha[~ok], te[~ok], "x", color="C3", ms=8, label=label_once(ax, "NOT validated"))
            ax.axhline(s["frozen_error"], color=col, lw=0.8, ls=":")
        if self.params.get("noise", 0) > 0:
            ax.axhline(self.params["noise"], color="k", lw=0.6, label=label_once(ax, "noise level Δ"))
        ax.set_xlabel("α = n/d (readout samples)")
        ax.set_ylabel("test error E[(y − f)²]")
        p = self.params
        ax.set_title(f"σ={p.get('student')}, g*={p.get('teacher')}, α0={p.get('alpha0')}, "
                     f"η̃={p.get('eta')}, λ={p.get('lam')} (dotted: frozen readout)", fontsize=8)
        ax.legend(fontsize=7)
        return fig


# A target with a nonlinear part in directions no step has learned (config B, z1 + z2*z3)
# missed the simulations by 0.04–0.09 at α = 0.5 and agreed at α = 2: for such targets only
# α ≥ this value is validated (docs/multi_step_error.md, "Known limitations").
UNLEARNED_NONLINEAR_ALPHA_MIN = 2.0
LEARNED_OVERLAP = 0.05  # |γ_k| below which target coordinate k counts as not learned


def unlearned_nonlinear_energy(target: Target, gamma: np.ndarray) -> float:
    """Energy of the degree ≥ 2 part of ``E[g* | z_U]``, U = the target coordinates with
    ``|γ_k| < LEARNED_OVERLAP`` (learned ones integrated out), by a Gauss–Hermite product
    rule (12 nodes per axis). 0 when every coordinate is learned."""
    from giantstep.numerics.gaussian import gauss_hermite

    r = target.r
    unl = [k for k in range(r) if abs(float(gamma[k])) < LEARNED_OVERLAP]
    if not unl:
        return 0.0
    x, w = (np.asarray(v, dtype=float) for v in gauss_hermite(12))
    grids = np.meshgrid(*([x] * r), indexing="ij")
    wts = np.prod(np.meshgrid(*([w] * r), indexing="ij"), axis=0)
    z = np.stack([g.ravel() for g in grids], axis=1)
    g = np.asarray(target.evaluate(z), dtype=float).reshape(wts.shape)
    lrn = tuple(k for k in range(r) if k not in unl)
    h = (g * wts).sum(axis=lrn) / wts.sum(axis=lrn) if lrn else g
    wu = wts.sum(axis=lrn) if lrn else wts
    zu = np.stack([m.ravel() for m in np.meshgrid(*([x] * len(unl)), indexing="ij")], axis=1)
    hv, wv = h.ravel(), wu.ravel()
    basis = np.hstack([np.ones((zu.shape[0], 1)), zu])  # degree ≤ 1 (orthonormal)
    lin = basis.T @ (wv * hv)
    return float(max(wv @ hv**2 - lin @ lin, 0.0))


def checked_points_multi(mode: str, family: str, alpha0: float, eta: float, psi: float,
                         step: int, alphas: np.ndarray, unlearned_nonlinear: bool = False,
                         typed_readout: str | None = None) -> tuple[np.ndarray, str]:
    """Per-point ``validated`` flags from the several-step records of
    :data:`~giantstep.numerics.checked_regions.CHECKED_REGIONS` and the reason for False
    (η̃ = 0 is the lazy curve, exact Mei–Montanari: always validated). With
    ``unlearned_nonlinear`` (see :func:`unlearned_nonlinear_energy`) only
    α ≥ :data:`UNLEARNED_NONLINEAR_ALPHA_MIN` is validated. ``typed_readout`` (``"sign"``
    with a non-odd student, ``"gaussian"``): the several-type equations, its several-type
    records."""
    if eta == 0.0:
        return np.ones(alphas.size, dtype=bool), ""
    if typed_readout is not None:
        region = checked_region(SEVERAL_STEPS_TYPES, typed_readout, family)
        if region is None:
            return (np.zeros(alphas.size, dtype=bool),
                    f"readout '{typed_readout}' with {family} students (several neuron types) "
                    "is not checked against simulation after several steps")
        mode = f"bulk, readout '{typed_readout}'"
    else:
        region = checked_region(SEVERAL_STEPS, mode, family)
    if region is None:
        return (np.zeros(alphas.size, dtype=bool),
                f"spectrum '{mode}' (idealised bulk) is not validated against simulation after "
                "several steps; use spectrum 'bulk' (the default)")
    if not region.contains(alpha0, eta, psi, step):
        why = (f"(α0 = {alpha0:g}, η̃ = {eta:g}, ψ = {psi:g}, t = {step}) lies outside the region "
               f"checked against simulation for spectrum '{mode}', {family} students "
               f"({region.bounds_text()})")
        return np.zeros(alphas.size, dtype=bool), why
    ok, why = region.alpha_flags(alphas, UNLEARNED_NONLINEAR_ALPHA_MIN if unlearned_nonlinear else None)
    if why and unlearned_nonlinear:
        why += (" (the target has a nonlinear part in directions no step has learned; such "
                "targets missed the simulations at α = 0.5)")
    return ok, why


def state_geometry(type_state, r: int) -> tuple[float, np.ndarray, np.ndarray, float]:
    """``(r_t, γ_t, A_t, c_t)`` of the spiked model from one §5.3 type (derived, module
    docstring): ``r_t = sqrt(‖m^z‖² + ‖m^u‖²)``, ``γ_t = m^z/r_t``, ``A = (I − γγᵀ)^{1/2}``,
    ``c_t = √q_t``."""
    mz = np.asarray(type_state.overlap, dtype=float)
    rr = math.sqrt(float(mz @ mz) + float(type_state.shared_norm2))
    c = math.sqrt(float(type_state.private_var))
    if rr == 0.0:
        return 0.0, np.zeros(r), np.eye(r), c
    gamma = mz / rr
    w, v = np.linalg.eigh(np.eye(r) - np.outer(gamma, gamma))
    a = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    return rr, gamma, a, c


def _solve_limit(student, target, geo, alphas, lam, noise, psi, quad_tol, tol, max_iter,
                 damping, label):
    from giantstep.numerics.test_error.solver.engine import solve_curve
    from giantstep.numerics.test_error.tables.multi_index import kappa_tables_multi, limit_weights

    r, g, a, c = geo
    tabs = kappa_tables_multi(student, target, r, g, a, c, quad_tol)
    mu1sq = float(tabs[0] @ tabs[3] ** 2)
    K = target.r
    return solve_curve(alphas / psi, lam, noise, tabs,
                             lambda x: limit_weights(x, lam, c, psi, K, mu1sq, quad_tol),
                             tol, max_iter, damping, label)


def _solve_bulk(student, target, geo, alphas, lam, noise, psi, quad_tol, tol, max_iter,
                damping, label):
    from giantstep.numerics.test_error.solver.engine import solve_curve
    from giantstep.numerics.test_error.tables.multi_index import kappa_tables_multi

    r, g, a, c, dd, ff, gg, hh = geo[:8]
    tabs = kappa_tables_multi(student, target, r, g, a, c, quad_tol)
    spec = (np.full(dd.size, 1.0 / dd.size), dd, ff, np.ascontiguousarray(gg),
            np.ascontiguousarray(hh))
    return solve_curve(alphas / psi, lam, noise, tabs, lambda x: spec, tol, max_iter,
                             damping, label)


@validate_params(
    lam=Interval(float, 0, None, closed="neither"), steps=Interval(int, 1, MAX_STEPS),
    spectrum=Options(("auto", "limit", "bulk")), spectrum_draws=Interval(int, 1, None),
    d=Noneable(Interval(int, 2, None)), tol=Interval(float, 1e-12, 1e-2),
    overlap_tol=Interval(float, 1e-10, 0.1), damping=Interval(float, 0, 1, closed="left"),
    n_types=Interval(int, 1, None), warn=Boolean(),
)
def multi_step_learning_curve(
    student: str | Activation,
    teacher: str | Target,
    *,
    alpha0: float,
    eta: float,
    steps: int,
    lam: float,
    alphas,
    noise: float | None = None,
    width_ratio: float = 1.0,
    readout: str = "constant",
    n_types: int = 8,
    spectrum: str = "auto",
    spectrum_draws: int = 4,
    d: int | None = None,
    seed: int = 0,
    tol: float = 1e-6,
    overlap_tol: float = 1e-4,
    max_iter: int = 20_000,
    damping: float = 0.5,
    warn: bool = True,
) -> MultiStepCurve:
    """Ridge test and training error after each of T giant steps on fresh batches (§6.2).

    Conditional Gaussian equivalence with the §5.3 state as conditioning variables (module
    docstring; derivation and checks in docs/multi_step_error.md).

    Parameters
    ----------
    student : str or Activation
        Student activation σ (weakly differentiable when η̃ > 0).
    teacher : str or Target
        Target expression in ``z1..zr`` or a one-direction activation (``"tanh"`` means
        ``tanh(z1)``).
    alpha0 : float
        Per-step batch ratio ``n0/d`` (> 0).
    eta : float
        Rescaled learning rate η̃ ≥ 0 (``η = η̃ p``); 0 gives the lazy curve at every step.
    steps : int
        Number of giant steps T (1 ≤ T ≤ 12).
    lam : float
        Ridge penalty λ > 0 of ``min_a Σ(y − f)² + λ‖a‖²``.
    alphas : sequence of float
        Readout sample ratios ``n/d`` (> 0).
    noise : float
        Label-noise variance Δ ≥ 0 (step batches, readout batch and test labels).
    width_ratio : float
        ψ = p/d > 0.
    readout : {"constant", "sign", "gaussian"}
        Second-layer law during the steps. ``"sign"`` with an odd student: exact reduction
        to ``"constant"``; ``"sign"`` with a non-odd student (relu; two neuron types, K = 2
        spike directions) and ``"gaussian"`` (``n_types`` quantile bins of s, the top
        K = 2 principal spike directions): the several-type equations of
        :mod:`giantstep.numerics.test_error.tables.typed_steps` on ``spectrum_draws`` sampled real
        trajectories with that readout law (bulk mode only; cached in memory, not on disk).
    n_types : int
        Neuron types of the gaussian readout (quantile bins of s; default 8) and of its
        §5.3 frozen error.
    spectrum : {"auto", "limit", "bulk"}
        ``"limit"``: §5.3 state and the idealised Marchenko–Pastur bulk; ``"bulk"``:
        spike and spectral inputs of ``spectrum_draws`` sampled real t-step trajectories of
        size ``d`` (default 1000; seeds ``seed, seed+1, …``), their spread in
        ``test_error_std``; the sampled inputs are cached on disk (``.npz`` per trajectory
        in ``$GIANTSTEP_CACHE_DIR`` or ``~/.cache/giantstep``, keyed by a hash of every
        input of the draw; :mod:`giantstep.numerics.test_error.spectra.step_cache`), so only the first call
        with given inputs pays the sampling; ``params["bulk_inputs_source"]`` says, per
        draw, ``"sampled"``, ``"disk"`` or ``"memory"``; ``"auto"`` (default): ``"bulk"`` when η̃ > 0 (the idealised
        bulk is not accurate after several steps, even for odd students: the private parts
        get the shared random-matrix term ``Φd``; docs/multi_step_error.md).
    tol : float
        Fixed-point tolerance; the κ-quadratures are chosen for ``tol/10``.
    overlap_tol : float
        Accuracy of the §5.3 recursion (:func:`overlap_trajectory`).
    max_iter, damping : int, float
        Fixed-point iteration budget and initial damping.
    warn : bool
        Print a warning on stderr for points outside the checked region.

    Returns
    -------
    MultiStepCurve

    Raises
    ------
    InputError
        Bad parameters, unsupported readout/student combinations.
    ConvergenceError
        A fixed point or the §5.3 quadrature did not converge.
    """
    student = as_activation(student)
    if isinstance(teacher, str) and not is_target_expression(teacher):
        teacher = _teacher_target(as_activation(teacher))
    elif isinstance(teacher, Activation):
        teacher = _teacher_target(teacher)
    if readout not in ("constant", "sign", "gaussian"):
        raise InputError(f"readout must be constant, sign or gaussian, got {readout!r}")
    # the declared rules (giantstep.params) have been checked: coerce
    cfg = CurveConfig(
        student=student, teacher=as_target(teacher), multi=True, alpha0=float(alpha0),
        eta=float(eta), lam=float(lam), alphas=np.atleast_1d(np.asarray(alphas, dtype=float)),
        noise=0.0 if noise is None else float(noise), psi=float(width_ratio), readout=readout,
        n_types=int(n_types), spectrum=spectrum, draws=int(spectrum_draws),
        d=None if d is None else int(d), seed=int(seed), tol=tol, max_iter=max_iter,
        damping=damping, warn=warn, steps=int(steps), overlap_tol=overlap_tol)
    return multi_step_curve(cfg)


def _is_typed(cfg: CurveConfig) -> bool:
    """Several neuron types with different spikes: the K-direction several-type equations."""
    return cfg.readout == "gaussian" or (cfg.readout == "sign" and cfg.student.parity != "odd")


def multi_step_curve(cfg: CurveConfig) -> MultiStepCurve:
    """The curve of :func:`multi_step_learning_curve` for a declared configuration."""
    from giantstep.numerics.test_error.curves.one_step import check_domain, student_family
    from giantstep.numerics.test_error.tables.multi_index import target_moments
    from giantstep.numerics.test_error.tables.single_index import activation_moments

    student, target, eta, alphas = cfg.student, cfg.teacher, cfg.eta, cfg.alphas
    typed = _is_typed(cfg)
    if typed and eta > 0 and cfg.spectrum == "limit":
        raise InputError(f"readout '{cfg.readout}' with student '{student.name}' is computed on "
                         "sampled real trajectories only (several neuron types have no "
                         "Marchenko–Pastur limit here): use spectrum 'auto' or 'bulk'")
    check_domain(student, student, eta)
    family = student_family(activation_moments(student))
    # auto: the exact bulk model for every student (measured: the idealised bulk misses by
    # up to 0.12 for relu and 0.03 for tanh after several steps, docs/multi_step_error.md)
    mode = "bulk" if cfg.spectrum == "auto" else cfg.spectrum
    if eta == 0.0:
        mode = "limit"
    cfg = cfg.replace(spectrum=mode, d=cfg.d if cfg.d is not None else 1000)
    notes: list[str] = []
    _, c1, _ = target_moments(target)
    if eta > 0 and float(np.linalg.norm(c1)) < 1e-12:
        notes.append(f"teacher '{target.text}' has C_1 = E[g* z] = 0: giant steps with n0 ∝ d "
                     "learn no target direction (the spike is pure batch noise)")
    traj, frozen_traj, typed_steps = _trajectories(cfg, typed)
    lazy = _solve_limit(student, target, (0.0, np.zeros(target.r), np.eye(target.r), 1.0),
                        alphas, cfg.lam, cfg.noise, cfg.psi, _quad_tol(cfg), cfg.tol, cfg.max_iter,
                        cfg.damping, "lazy")
    records = []
    costs: list[float] = []
    sources: list[str] = []
    for t in range(1, cfg.steps + 1):
        test, train, std, r_t, g_t, c_t = _step_errors(cfg, t, traj, typed_steps, costs, sources)
        learned = (g_t if typed_steps is not None
                   else state_geometry(traj.steps[t].types[0], target.r)[1])
        unl = (eta > 0 and mode in ("bulk", "limit")
               and unlearned_nonlinear_energy(target, learned) > 1e-6)
        ok, why = checked_points_multi(mode, family, cfg.alpha0, eta, cfg.psi, t, alphas, unl,
                                       cfg.readout if typed else None)
        if why:
            notes.append(f"step {t}: {int((~ok).sum())} of {alphas.size} points not validated: "
                         f"{why}")
        records.append({
            "step": t, "test_error": np.asarray(test), "train_error": np.asarray(train),
            "frozen_error": float(frozen_traj.steps[t].output_mse), "validated": ok,
            "test_error_std": std, "r": float(r_t), "gamma": np.asarray(g_t, dtype=float),
            "c": float(c_t),
        })
    params = _multi_step_params(cfg, family, typed, frozen_traj, typed_steps, notes, costs, sources)
    if cfg.warn:
        for note in notes:
            print(f"giantstep: warning: {note}", file=sys.stderr)
    return MultiStepCurve(alpha=alphas, steps=records, lazy_test_error=lazy["test"],
                          lazy_train_error=lazy["train"], params=params)


def _quad_tol(cfg: CurveConfig) -> float:
    return max(cfg.tol / 10, 1e-12)


def _trajectories(cfg: CurveConfig, typed: bool):
    """The §5.3 trajectory of the constant readout, the one of the frozen network (the readout
    law's types when ``typed``) and, for several types with η̃ > 0, the several-type curves."""
    from giantstep.numerics.overlaps.multi_step import overlap_trajectory

    traj = overlap_trajectory(cfg.teacher, cfg.student, alpha=cfg.alpha0, eta=cfg.eta, steps=cfg.steps,
                              readout="constant", noise=cfg.noise, tol=cfg.overlap_tol)
    # sign readout, odd σ: the frozen network is the constant-readout one too (reduction;
    # the §5.3 sign-law output_mse agrees with it, tests/test_multi_step_curve.py); several
    # types: the §5.3 recursion with the readout law's types (validated in docs/overlaps.md)
    if not typed:
        return traj, traj, None
    frozen_traj = overlap_trajectory(cfg.teacher, cfg.student, alpha=cfg.alpha0, eta=cfg.eta,
                                     steps=cfg.steps, readout=cfg.readout, noise=cfg.noise,
                                     n_types=cfg.n_types, tol=cfg.overlap_tol)
    if cfg.eta == 0:
        return traj, frozen_traj, None
    from giantstep.numerics.test_error.tables.typed_steps import multi_typed_step_curves

    typed_steps = multi_typed_step_curves(
        cfg.student, cfg.teacher, alpha0=cfg.alpha0, eta=cfg.eta, steps=cfg.steps, lam=cfg.lam,
        alphas=cfg.alphas, noise=cfg.noise, psi=cfg.psi, readout=cfg.readout, n_types=cfg.n_types,
        draws=cfg.draws, d=cfg.d, seed=cfg.seed, tol=cfg.tol, max_iter=cfg.max_iter,
        damping=cfg.damping)
    return traj, frozen_traj, typed_steps


def _step_errors(cfg: CurveConfig, t: int, traj, typed_steps, costs: list, sources: list):
    """``(test, train, std, r_t, γ_t, c_t)`` after step t: from the several-type curves, the
    limit (§5.3 state as spiked model) or the bulk of sampled real steps (averaged over the
    draws). Appends the sampling costs and sources of step 1 to ``costs``, ``sources``."""
    from giantstep.numerics.test_error.spectra.step_cache import cached_step_geometries

    target, alphas = cfg.teacher, cfg.alphas
    solve = (cfg.lam, cfg.noise, cfg.psi, _quad_tol(cfg), cfg.tol, cfg.max_iter, cfg.damping)
    if typed_steps is not None:
        ts = typed_steps[t - 1]
        frac = ts["fraction"]
        if t == 1:
            costs.extend(ts["seconds"])
            sources.extend(["sampled"] * len(ts["seconds"]))
        return (ts["test"], ts["train"], ts["test_std"],
                math.sqrt(float(frac @ np.sum(ts["r"] ** 2, axis=1))),
                np.sqrt(np.sum(ts["gamma"] ** 2, axis=1)), math.sqrt(float(frac @ ts["c"] ** 2)))
    if cfg.spectrum == "limit":
        geo = state_geometry(traj.steps[t].types[0], target.r)
        res = _solve_limit(cfg.student, target, geo, alphas, *solve, f"step {t}")
        return res["test"], res["train"], None, geo[0], geo[1], geo[3]
    runs = []
    for k in range(cfg.draws):
        # the sampler draws constant-readout steps (sign + odd σ is reduced to them)
        geos, source = cached_step_geometries(cfg.student, target, cfg.psi, cfg.alpha0, cfg.eta,
                                              cfg.noise, cfg.d, cfg.seed + k, cfg.steps, "constant")
        if t == 1:
            costs.append(float(geos[0][-1]))
            sources.append(source)
        runs.append((geos[t - 1], _solve_bulk(cfg.student, target, geos[t - 1], alphas, *solve,
                                              f"step {t}, draw {k}")))
    std = (np.std([x[1]["test"] for x in runs], axis=0, ddof=1) if cfg.draws > 1
           else np.zeros(alphas.size))
    return (np.mean([x[1]["test"] for x in runs], axis=0),
            np.mean([x[1]["train"] for x in runs], axis=0), std,
            float(np.mean([x[0][0] for x in runs])), np.mean([x[0][1] for x in runs], axis=0),
            float(np.mean([x[0][3] for x in runs])))


def _multi_step_params(cfg: CurveConfig, family: str, typed: bool, frozen_traj, typed_steps,
                       notes: list, costs: list, sources: list) -> dict:
    """The ``params`` record of a several-step curve."""
    params = {
        "student": cfg.student.name, "teacher": cfg.teacher.text, "alpha0": cfg.alpha0,
        "eta": cfg.eta, "steps": cfg.steps, "lam": cfg.lam, "noise": cfg.noise,
        "width_ratio": cfg.psi, "readout": cfg.readout, "spectrum": cfg.spectrum,
        "student_family": family, "tol": cfg.tol, "overlap_tol": cfg.overlap_tol,
        "reduction": ("sign readout with an odd student = constant readout (exact)"
                      if cfg.readout == "sign" and not typed else None),
        "frozen_error_at_init": float(frozen_traj.steps[0].output_mse),
        "notes": notes,
    }
    if cfg.spectrum == "bulk":
        params.update({"spectrum_draws": cfg.draws, "d": cfg.d, "seed": cfg.seed,
                       "bulk_sampling_seconds": costs, "bulk_inputs_source": sources})
    if typed:
        params["equations"] = "several neuron types, K spike directions (multi_step_typed)"
        params["n_types"] = cfg.n_types if cfg.readout == "gaussian" else 2
        if typed_steps is not None:
            params["spike_dims"] = int(typed_steps[0]["K"])
            params["typed_steps"] = [
                {"step": k + 1, "type_r": ts["r"].tolist(), "type_c": ts["c"].tolist(),
                 "type_fraction": ts["fraction"].tolist(), "gamma_matrix": ts["gamma"].tolist(),
                 "discarded_spike_norm": float(ts["discarded"])}
                for k, ts in enumerate(typed_steps)]
    return params
