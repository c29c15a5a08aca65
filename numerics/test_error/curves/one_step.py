"""Test error of the ridge readout after one giant step (docs/model.md §6.1).

Public entry point: :func:`one_step_learning_curve`, returning a :class:`LearningCurve`.

The equations are the spiked-random-features (Gaussian-equivalence) equations of Cui et
al. (2024), Result 3.3, with the parameters r, γ, c of docs/model.md §5.1 (constant readout,
``a = 1/√p``, ``η = η̃ p``, p = d) and label noise Δ added (see
:mod:`giantstep.numerics.test_error.solver.engine`). Spectral inputs: ``spectrum="limit"`` uses the
d → ∞ limit ``F → c²``, ``H → D``, ``D ~ MP(ratio 1, scale c²)`` integrated with the
hard-edge-aware rule of :mod:`giantstep.numerics.test_error.spectra.marchenko_pastur`; ``spectrum="sampled"``
averages the solutions obtained with ``spectrum_draws`` sampled ``d × d`` matrices.

Checked domain: the one-step records of
:data:`~giantstep.numerics.checked_regions.CHECKED_REGIONS` (docs/test_error.md); every
returned point carries a ``validated`` flag and points outside it print a warning on stderr. Students with
``μ2(σ) ≠ 0`` (relu) use the exact bulk model (``spectrum="bulk"``,
:mod:`giantstep.numerics.test_error.spectra.sampled_steps`); width ratio ``ψ = p/d`` by ``width_ratio``.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from giantstep.caching import bounded_cache
from giantstep.errors import InputError
from giantstep.numerics.checked_regions import BULK_NOISE, ONE_STEP, ONE_STEP_TYPES, checked_region
from giantstep.numerics.gaussian import MarchenkoPasturRule
from giantstep.numerics.test_error.config import CurveConfig
from giantstep.numerics.test_error.solver.engine import solve_curve
from giantstep.numerics.test_error.spectra.marchenko_pastur import sample_spiked_spectrum
from giantstep.numerics.test_error.tables.single_index import (
    KappaTables,
    SpikedParameters,
    activation_moments,
    kappa_tables,
    spiked_parameters,
)
from giantstep.params import Boolean, Interval, Noneable, Options, validate_params
from giantstep.tables import FrameMixin
from giantstep.theory import Activation, as_activation, is_target_expression

MU2_ZERO = 1e-10
ORDER_PARAMETERS = ("q1", "q2", "V1", "V2", "theta", "psi", "m")
CONJUGATES = ("q1_hat", "q2_hat", "V1_hat", "V2_hat", "theta_hat", "psi_hat")
ENGINE_ORDER = [0, 1, 2, 3, 4, 6, 5]  # engine state (q1, q2, V1, V2, θ, m, ψ) -> ORDER_PARAMETERS


@dataclass
class LearningCurve(FrameMixin):
    """Result of :func:`one_step_learning_curve` (docs/model.md §6.1).

    Attributes
    ----------
    alpha : ndarray
        Readout sample ratios ``n/d``.
    test_error, train_error : ndarray
        ``E[(y − f)²]`` on fresh data (label noise included) and the ridge training
        mean squared error, after the giant step.
    lazy_test_error : ndarray
        The same ridge readout on the network at initialisation (η̃ = 0, random features).
    validated : ndarray of bool
        Inside the region checked against simulation (docs/test_error.md).
    order_parameters : dict of ndarray
        ``q1, q2, V1, V2, theta, psi, m`` and the conjugates ``*_hat``.
    params : dict
        ``r, gamma, c`` (§5.1), the inputs, and the numerical settings used.
    test_error_std : ndarray or None
        Spread (standard deviation over draws) in the sampled-spectrum mode.
    """

    alpha: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    lazy_test_error: np.ndarray
    order_parameters: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    iterations: np.ndarray | None = None
    residual: np.ndarray | None = None
    test_error_std: np.ndarray | None = None
    lazy_train_error: np.ndarray | None = None
    validated: np.ndarray | None = None

    def __getattr__(self, name: str) -> np.ndarray:
        op = self.__dict__.get("order_parameters", {})
        if name in op:
            return op[name]
        raise AttributeError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict: ``alpha, test_error, train_error, lazy_test_error, validated``
        plus ``lazy_train_error``, the order parameters, ``params``, iterations and the
        per-point fixed-point residuals (a point that does not converge raises)."""
        out: dict[str, Any] = {
            "alpha": self.alpha.tolist(),
            "test_error": self.test_error.tolist(),
            "train_error": self.train_error.tolist(),
            "lazy_test_error": self.lazy_test_error.tolist(),
        }
        if self.validated is not None:
            out["validated"] = [bool(v) for v in self.validated]
        if self.lazy_train_error is not None:
            out["lazy_train_error"] = self.lazy_train_error.tolist()
        if self.test_error_std is not None:
            out["test_error_std"] = self.test_error_std.tolist()
        out["order_parameters"] = {k: v.tolist() for k, v in self.order_parameters.items()}
        if self.iterations is not None:
            out["iterations"] = self.iterations.tolist()
        if self.residual is not None:
            out["residual"] = self.residual.tolist()
        out["params"] = dict(self.params)
        return out

    def plot(self, ax=None, label: str | None = None):
        """Test error vs α after one step (solid) with the lazy / random-features baseline (dashed).

        ``ax``: draw on these axes (several curves on one axis each take the next colour);
        ``label``: the name of this curve in the legend (default: the student). Points checked
        against simulation are dots, the others red crosses. Returns the matplotlib Figure.
        """
        from giantstep.figures import FAMILY_GID, family_color, figure_and_axes, label_once

        fig, ax = figure_and_axes(ax)
        p = self.params
        name = label if label is not None else f"σ={p.get('student')}"
        col = family_color(ax)
        ax.plot(self.alpha, self.test_error, "-", color=col, gid=FAMILY_GID, label=f"{name}: one giant step")
        ok = (np.ones(self.alpha.size, dtype=bool) if self.validated is None
              else np.asarray(self.validated, dtype=bool))
        ax.plot(self.alpha[ok], self.test_error[ok], "o", color=col, ms=4)
        if (~ok).any():
            ax.plot(self.alpha[~ok], self.test_error[~ok], "x", color="C3", ms=8,
                    label=label_once(ax, "NOT validated (outside checked region)"))
        if self.test_error_std is not None and np.any(self.test_error_std > 0):
            ax.fill_between(self.alpha, self.test_error - self.test_error_std,
                            self.test_error + self.test_error_std, color=col, alpha=0.25)
        ax.plot(self.alpha, self.train_error, ":", color=col, label=f"{name}: training error")
        ax.plot(self.alpha, self.lazy_test_error, "s--", color=col, mfc="none", label=f"{name}: lazy / random features")
        if p.get("noise", 0) > 0:
            ax.axhline(p["noise"], color="gray", lw=0.8, label=label_once(ax, "noise level Δ"))
        ax.set_xlabel("α = n/d (readout samples)")
        ax.set_ylabel("test error E[(y − f)²]")
        ax.set_title(f"σ*={p.get('teacher')}, α0={p.get('alpha0')}, η̃={p.get('eta')}, λ={p.get('lam')}",
                     fontsize=9)
        ax.legend(fontsize=8)
        return fig


# --------------------------------------------------------------------------- validation


def check_domain(student: Activation, teacher: Activation, eta: float) -> None:
    """Raise :class:`InputError` for inputs the equations cannot take.

    Divergent moments are refused when the moments are computed; a teacher with μ1* = 0
    is handled by :func:`one_step_learning_curve` (the lazy curve, with a note); for
    η̃ > 0 the student needs a weak derivative (the step uses σ').
    """
    ms = activation_moments(student)
    activation_moments(teacher)
    if eta > 0 and not math.isfinite(ms.deriv_second):
        raise InputError(
            f"student '{student.name}' is not weakly differentiable: the giant step needs σ'"
        )


# --------------------------------------------------------------------------- solving


@bounded_cache(16)
def _sampled_spectrum(d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit-scale sampled ``(D, F, H)`` (cached: the step and the lazy curve share draws)."""
    out = sample_spiked_spectrum(d, 1.0, seed)
    for arr in out:
        arr.setflags(write=False)
    return out


def _limit_spectrum(alpha: float, lam: float, c: float, tabs: KappaTables, tol: float,
                    psi: float = 1.0):
    """MP(ratio ψ, scale c²) rule with F = ψ c², H = ψ D; node count from the pole bound.

    ``alpha`` is the ratio already divided by ψ (samples per feature, see
    :func:`one_step_learning_curve`). For ψ = 1 the hard-edge rule
    (:class:`~giantstep.numerics.gaussian.MarchenkoPasturRule`).
    """
    vh1_max = alpha * float(np.dot(tabs.weights, tabs.mu1**2))
    pole = lam / max(vh1_max, 1e-300)  # the integrands' pole sits at D ≤ −λ/V̂1_max
    x, w = MarchenkoPasturRule(float(psi), c * c).for_pole(pole, tol)
    x = np.ascontiguousarray(x)
    return np.ascontiguousarray(w), x, np.full_like(x, psi * c * c), psi * x, x.size


def _solve_curve(
    alphas: np.ndarray, lam: float, noise: float, tabs: KappaTables, c: float,
    spectrum_of_alpha, tol: float, max_iter: int, damping: float, label: str,
) -> dict[str, np.ndarray]:
    """The single-index curve as the K = 1 instance of :func:`solve_curve`.

    ``spectrum_of_alpha(α) = (sw, D, F, H, n_spectral[, G])``; the states are returned in
    the order of :data:`ORDER_PARAMETERS` and the conjugates in that of :data:`CONJUGATES`.
    """
    n_spectral_at: dict[float, float] = {}  # the solver may also ask at α between grid points

    def spectrum(a):
        spec = spectrum_of_alpha(a)
        sw, dd, ff, hh = spec[:4]
        n_spectral_at[float(a)] = spec[4]
        gg = spec[5] if len(spec) > 5 else np.zeros_like(ff)
        return sw, dd, ff, np.ascontiguousarray(gg[:, None]), np.ascontiguousarray(hh[:, None, None])

    kw, kappa, mu0, mu1, mu2sq, h, h1, h2 = tabs.arrays()
    tables = (kw, kappa, mu0, mu1, mu2sq, h, np.ascontiguousarray(h1[:, None]), h2)
    out = solve_curve(alphas, lam, noise, tables, spectrum, tol, max_iter, damping, label)
    out["states"] = out["states"][:, ENGINE_ORDER]
    out["n_spectral"] = np.array([n_spectral_at[float(a)] for a in alphas])
    return out


SPECTRA = ("auto", "limit", "sampled", "bulk")


def _needs_bulk(family: str, alpha0: float, eta: float) -> bool:
    """``spectrum="auto"``: the exact bulk model when the spiked model is not checked there
    (μ2 ≠ 0, η̃²/α0 > :data:`~giantstep.numerics.checked_regions.BULK_NOISE`, or α0 below
    the limit mode's checked range)."""
    if eta == 0.0:
        return False
    return family == "mu2" or eta * eta / alpha0 > BULK_NOISE or alpha0 < 0.5


def student_family(moments) -> str:
    """``"odd"`` when μ2(σ) = 0 (tanh, erf, …), ``"mu2"`` otherwise (relu, …)."""
    return "odd" if abs(moments.mu2) <= MU2_ZERO else "mu2"


def checked_points(mode: str, family: str, alpha0: float, eta: float, psi: float,
                   alphas: np.ndarray) -> tuple[np.ndarray, str]:
    """Per-point ``validated`` flags from the one-step records of
    :data:`~giantstep.numerics.checked_regions.CHECKED_REGIONS` and the reason for False.

    η̃ = 0 (lazy) is exact for every ψ (Mei & Montanari 2019, tested) and always validated.
    """
    if eta == 0.0:
        return np.ones(alphas.size, dtype=bool), ""
    region = checked_region(ONE_STEP, mode, family)
    if region is None:
        why = (f"spectrum '{mode}' is not checked against simulation for {family} students "
               "(μ2(σ) ≠ 0 needs the exact bulk model, spectrum 'bulk')")
        return np.zeros(alphas.size, dtype=bool), why
    if not region.contains(alpha0, eta, psi):
        why = (f"(α0 = {alpha0:g}, η̃ = {eta:g}, ψ = {psi:g}) lies outside the region checked "
               f"against simulation for spectrum '{mode}', {family} students "
               f"({region.bounds_text()})")
        return np.zeros(alphas.size, dtype=bool), why
    return region.alpha_flags(alphas)


def _teacher_target(teacher: Activation) -> str:
    """The single-index teacher σ*(⟨θ,x⟩) as a target expression in z1."""
    (sym,) = teacher.expr.free_symbols or {None}
    if sym is None:
        return str(teacher.expr)
    return str(teacher.expr.subs(sym, sympy.Symbol("z1")))


def _bulk_runs(student, teacher, ms, mt, alpha0, eta, lam, noise, alphas, psi, draws, d, seed,
               quad_tol, tol, max_iter, damping):
    """Solve the equations on ``draws`` sampled real steps (exact bulk model)."""
    from giantstep.numerics.test_error.spectra.sampled_steps import blas_threads, sampled_bulk_inputs, sampler_threads

    target = _teacher_target(teacher)
    results, costs, sizes = [], [], []
    base = spiked_parameters(ms, mt, alpha0, eta, noise)
    for k in range(draws):
        with blas_threads(sampler_threads()):  # one BLAS thread: 3–30× faster on 2 cores
            b = sampled_bulk_inputs(student, target, psi, alpha0, eta, noise, d, seed + k)
        costs.append(b.seconds)
        prm = SpikedParameters(b.r, b.gamma, b.c, base.mean_error, base.error_second)
        tabs = kappa_tables(student, teacher, prm, quad_tol)
        sw = np.full(b.p, 1.0 / b.p)
        spec = (sw, np.ascontiguousarray(b.D), np.ascontiguousarray(b.F),
                np.ascontiguousarray(b.H), b.p, np.ascontiguousarray(b.G))
        res = _solve_curve(alphas / psi, lam, noise, tabs, b.c, lambda a, s=spec: s, tol,
                           max_iter, damping, f"bulk draw {k}")
        res["rgc"] = np.array([b.r, b.gamma, b.c])
        results.append(res)
        sizes.append(b.p)
    out = {key: np.mean([r[key] for r in results], axis=0)
           for key in ("test", "train", "residual", "iterations", "n_spectral", "states", "hats",
                       "rgc")}
    out["residual"] = np.max([r["residual"] for r in results], axis=0)
    out["test_std"] = (np.std([r["test"] for r in results], axis=0, ddof=1)
                       if draws > 1 else np.zeros(alphas.size))
    out["costs"] = costs
    out["tabs"] = tabs
    r, g, c = out["rgc"]
    out["prm"] = SpikedParameters(float(r), float(g), float(c), base.mean_error,
                                  base.error_second)
    return out


@validate_params(
    lam=Interval(float, 0, None, closed="neither"),
    tol=Interval(float, 1e-12, 1e-2),
    spectrum=Options(SPECTRA),
    spectrum_draws=Interval(int, 1, None),
    d=Noneable(Interval(int, 2, None)),
    damping=Interval(float, 0, 1, closed="left"),
    warn=Boolean(),
)
def one_step_learning_curve(
    student: str | Activation,
    teacher: str | Activation,
    *,
    alpha0: float,
    eta: float,
    lam: float,
    alphas: Any,
    noise: float | None = None,
    width_ratio: float = 1.0,
    readout: str = "constant",
    n_types: int = 8,
    spectrum: str = "auto",
    spectrum_draws: int = 4,
    d: int | None = None,
    seed: int = 0,
    tol: float = 1e-6,
    max_iter: int = 20_000,
    damping: float = 0.5,
    warn: bool = True,
) -> LearningCurve:
    """Gaussian-equivalence test error after one giant step and a ridge readout.

    docs/model.md §6.1 (Cui et al. 2024, Result 3.3) with r, γ, c from §5.1, extended here to
    p = ψ d (readout ratio ``α/ψ`` per feature, ``F → ψ c²``, ``H → ψ D``, ``D ~ MP(ψ)``;
    derived, and exact against Mei–Montanari 2019 at η̃ = 0) and, with
    ``spectrum="bulk"``, to the spectral inputs of the *real* first step (the exact bulk
    model of :mod:`giantstep.numerics.test_error.spectra.sampled_steps`, with the cross weights G).

    Parameters
    ----------
    student, teacher : str or Activation
        Student activation σ and teacher: an activation σ* (labels ``y = σ*(⟨θ,x⟩) + √Δ ε``,
        ‖θ‖ = 1) or a target expression in ``z1..zr`` (``"tanh(z1) + z1*z2"``, multi-index:
        the step learns the direction of ``C_1(g*)``, the readout fits the rest;
        :mod:`giantstep.numerics.test_error.tables.multi_index`).
    alpha0 : float
        First-step batch ratio ``n0/d`` (> 0).
    eta : float
        Rescaled learning rate η̃ ≥ 0 (``η = η̃ p``); 0 gives the lazy curve.
    lam : float
        Ridge penalty λ > 0 of ``min_a Σ(y − f)² + λ‖a‖²``.
    alphas : sequence of float
        Readout sample ratios ``n/d`` (> 0); solved in the given order with warm starts.
    noise : float or None
        Label-noise variance Δ ≥ 0 (both batches and the test labels); None: 0.
    width_ratio : float
        ψ = p/d > 0.
    readout : {"constant", "sign", "gaussian"}
        Law of the second layer during the step (docs/model.md §1). ``"sign"`` with an odd
        student (tanh, erf, sin, …) gives exactly the constant-readout curve
        (``params["readout_reduction"]``); ``"sign"`` with any other student (relu) and
        ``"gaussian"`` use the several-type equations of
        :mod:`giantstep.numerics.test_error.solver.typed` (derived here, docs/test_error.md "Several
        neuron types"), always on sampled real steps (``spectrum`` "auto" or "bulk").
    n_types : int
        Quantile bins of s that make the neuron types of the ``"gaussian"`` readout.
    spectrum : {"auto", "limit", "sampled", "bulk"}
        ``"limit"``: d → ∞ Marchenko–Pastur inputs of the spiked model (Cui et al.);
        ``"sampled"``: the mean over ``spectrum_draws`` sampled spiked-model spectra (ψ = 1);
        ``"bulk"``: the mean over ``spectrum_draws`` sampled *real* steps of size ``d``
        (default 1000; seeds ``seed, seed+1, …``), finite-size spread reported in
        ``test_error_std``; ``"auto"`` (default): ``"bulk"`` when η̃ > 0 and μ2(σ) ≠ 0,
        η̃²/α0 > :data:`~giantstep.numerics.checked_regions.BULK_NOISE` or α0 < 0.5, else ``"limit"``.
    tol : float
        Fixed-point tolerance (max relative change of the order parameters); the
        quadratures are chosen for ``tol/10``.
    max_iter, damping : int, float
        Iteration budget and initial damping δ of ``x ← (1−δ)T(x) + δx``.
    warn : bool
        Print a warning on stderr for points outside the checked region.

    Returns
    -------
    LearningCurve
        With the per-point flag ``validated`` (inside its record of
        :data:`~giantstep.numerics.checked_regions.CHECKED_REGIONS`).

    Raises
    ------
    InputError
        Bad parameters (ψ ≤ 0, α0 ≤ 0, λ ≤ 0, …), divergent moments, a student without
        weak derivative when η̃ > 0.
    ConvergenceError
        The fixed point was not reached (reports the last residual and iteration count).
    """
    student = as_activation(student)
    multi = is_target_expression(teacher)
    cfg = CurveConfig(
        student=student, teacher=teacher if multi else as_activation(teacher), multi=multi,
        alpha0=float(alpha0), eta=float(eta), lam=float(lam), alphas=np.asarray(alphas, dtype=float),
        noise=0.0 if noise is None else float(noise), psi=float(width_ratio), readout=readout,
        n_types=int(n_types), spectrum=spectrum, draws=int(spectrum_draws),
        d=None if d is None else int(d), seed=int(seed), tol=tol, max_iter=int(max_iter),
        damping=damping, warn=warn)
    return one_step_curve(cfg)


def one_step_curve(cfg: CurveConfig) -> LearningCurve:
    """The curve of :func:`one_step_learning_curve` for a declared configuration: the sign
    readout of an odd student reduces to the constant readout; other non-constant readouts
    use the several-type equations; otherwise one neuron type, one (single-index teacher)
    or K (target expression) spike directions, solved by
    :func:`~giantstep.numerics.test_error.solver.engine.solve_curve`."""
    if cfg.readout == "sign" and cfg.student.parity == "odd":
        # exact reduction (docs/test_error.md, "Sign readout"): with W̃ = diag(s) W the step
        # from W̃0 (same law) is the constant-readout step and ridge is invariant under the
        # sign flips of the features, so every number equals the constant-readout one
        curve = one_step_curve(cfg.replace(readout="constant"))
        curve.params["readout"] = "sign"
        curve.params["readout_reduction"] = ("odd student: the sign readout gives exactly the "
                                             "constant-readout curve (W̃ = diag(s) W)")
        return curve
    if cfg.readout != "constant":
        return _typed_learning_curve(cfg)
    if cfg.multi:
        return _multi_index_learning_curve(cfg)
    return _single_index_learning_curve(cfg)


def _single_index_setup(cfg: CurveConfig, ms, mt) -> tuple[float, str, str, list[str], int]:
    """``(η̃ used, spectrum mode, student family, notes, d)`` of a single-index curve."""
    notes = []
    if cfg.eta > 0 and abs(mt.mu1) < 1e-12:
        notes.append(f"teacher '{cfg.teacher.name}' has C_1 = μ1* = 0: one giant step with n0 ∝ d "
                     "learns no target direction; returning the lazy (random-features) curve")
        eta_eff = 0.0
    else:
        eta_eff = cfg.eta
    check_domain(cfg.student, cfg.teacher, eta_eff)
    family = student_family(ms)
    if cfg.spectrum == "auto":
        mode = "bulk" if _needs_bulk(family, cfg.alpha0, eta_eff) else "limit"
    else:
        mode = cfg.spectrum
    if eta_eff == 0.0:
        mode = "limit" if cfg.spectrum in ("auto", "bulk") else mode
    if mode == "sampled" and cfg.psi != 1.0:
        raise InputError("spectrum 'sampled' (spiked-model draws) is implemented for ψ = 1; "
                         "use 'limit' or 'bulk'")
    d_run = cfg.d if cfg.d is not None else (1000 if mode == "bulk" else 2000)
    return eta_eff, mode, family, notes, d_run


def _single_index_run(cfg: CurveConfig, ms, mt, eta_run: float, run_mode: str, d_run: int,
                      label: str) -> dict:
    """One curve of the single-index equations (the giant step or the lazy one) in
    ``run_mode``: limit, sampled spiked spectra (averaged over the draws) or bulk."""
    quad_tol = max(cfg.tol / 10, 1e-13)
    alphas, lam, noise, psi = cfg.alphas, cfg.lam, cfg.noise, cfg.psi
    prm: SpikedParameters = spiked_parameters(ms, mt, cfg.alpha0, eta_run, noise)
    if run_mode == "bulk":
        return _bulk_runs(cfg.student, cfg.teacher, ms, mt, cfg.alpha0, eta_run, lam, noise, alphas,
                          psi, cfg.draws, d_run, cfg.seed, quad_tol, cfg.tol, cfg.max_iter, cfg.damping)
    tabs = kappa_tables(cfg.student, cfg.teacher, prm, quad_tol)
    if run_mode == "limit":
        res = _solve_curve(
            alphas / psi, lam, noise, tabs, prm.c,
            lambda a: _limit_spectrum(a, lam, prm.c, tabs, quad_tol, psi),
            cfg.tol, cfg.max_iter, cfg.damping, label,
        )
        res["test_std"] = None
    else:
        draws = []
        for k in range(cfg.draws):
            dd, ff, hh = _sampled_spectrum(d_run, cfg.seed + k)
            c2 = prm.c**2
            sw = np.full(dd.size, 1.0 / dd.size)
            spec = (sw, c2 * dd, c2 * ff, c2 * hh, dd.size)
            draws.append(_solve_curve(alphas, lam, noise, tabs, prm.c, lambda a, s=spec: s,
                                      cfg.tol, cfg.max_iter, cfg.damping, f"{label}, draw {k}"))
        res = {key: np.mean([r[key] for r in draws], axis=0) for key in draws[0]}
        res["test_std"] = (np.std([r["test"] for r in draws], axis=0, ddof=1)
                           if cfg.draws > 1 else np.zeros(alphas.size))
    res["prm"], res["tabs"] = prm, tabs
    return res


def _single_index_learning_curve(cfg: CurveConfig) -> LearningCurve:
    """:func:`one_step_curve` for a single-index teacher and the constant readout."""
    student, teacher, alphas = cfg.student, cfg.teacher, cfg.alphas
    ms, mt = activation_moments(student), activation_moments(teacher)
    eta_eff, mode, family, notes, d_run = _single_index_setup(cfg, ms, mt)
    main = _single_index_run(cfg, ms, mt, eta_eff, mode, d_run, "giant step")
    lazy = (main if eta_eff == 0.0
            else _single_index_run(cfg, ms, mt, 0.0, "limit" if mode == "bulk" else mode, d_run, "lazy"))
    prm, tabs = main["prm"], main["tabs"]
    validated, why = checked_points(mode, family, cfg.alpha0, eta_eff, cfg.psi, alphas)
    if why:
        notes.append(f"{int((~validated).sum())} of {alphas.size} points not validated: {why}")
    order = {name: main["states"][:, j] for j, name in enumerate(ORDER_PARAMETERS)}
    order.update({name: main["hats"][:, j] for j, name in enumerate(CONJUGATES)})
    params = {
        "student": student.name, "teacher": teacher.name, "readout": "constant", "alpha0": cfg.alpha0,
        "eta": cfg.eta,
        "lam": cfg.lam, "noise": cfg.noise, "width_ratio": cfg.psi, "spectrum": mode, "r": prm.r,
        "gamma": prm.gamma, "c": prm.c, "tol": cfg.tol, "n_kappa": int(tabs.kappa.size),
        "n_inner": tabs.n_inner, "n_spectral": main["n_spectral"].astype(int).tolist(),
        "student_family": family, "step_learns_target": eta_eff > 0 or cfg.eta == 0,
        "notes": notes,
    }
    if mode in ("sampled", "bulk"):
        params.update({"spectrum_draws": cfg.draws, "d": d_run, "seed": cfg.seed})
    if mode == "bulk":
        params["bulk_sampling_seconds"] = [float(s) for s in main["costs"]]
    _print_notes(cfg, notes)
    return LearningCurve(
        alpha=alphas,
        test_error=main["test"],
        train_error=main["train"],
        lazy_test_error=lazy["test"],
        order_parameters=order,
        params=params,
        iterations=main["iterations"].astype(int),
        residual=main["residual"],
        test_error_std=main["test_std"],
        lazy_train_error=lazy["train"],
        validated=validated,
    )


def _print_notes(cfg: CurveConfig, notes: list[str]) -> None:
    if cfg.warn:
        for note in notes:
            print(f"giantstep: warning: {note}", file=sys.stderr)


def _multi_index_bulk(cfg: CurveConfig, target, eta_eff: float, d_run: int, quad_tol: float) -> dict:
    """The multi-index curve on ``cfg.draws`` sampled real steps (exact bulk model), averaged."""
    from giantstep.numerics.test_error.solver.engine import solve_curve
    from giantstep.numerics.test_error.tables.multi_index import kappa_tables_multi, sampled_bulk_geometry

    student, alphas, psi, draws = cfg.student, cfg.alphas, cfg.psi, cfg.draws
    runs = []
    for k in range(draws):
        r, g, a, c, dd, ff, gg, hh, secs = sampled_bulk_geometry(
            student, target, psi, cfg.alpha0, eta_eff, cfg.noise, d_run, cfg.seed + k)
        tabs = kappa_tables_multi(student, target, r, g, a, c, quad_tol)
        spec = (np.full(dd.size, 1.0 / dd.size), dd, ff, np.ascontiguousarray(gg),
                np.ascontiguousarray(hh))
        res = solve_curve(alphas / psi, cfg.lam, cfg.noise, tabs, lambda x, s=spec: s, cfg.tol,
                          cfg.max_iter, cfg.damping, f"bulk draw {k}")
        res["rgc"], res["cost"] = (r, g, c), secs
        runs.append(res)
    main = {key: np.mean([x[key] for x in runs], axis=0)
            for key in ("test", "train", "iterations", "states")}
    main["residual"] = np.max([x["residual"] for x in runs], axis=0)
    main["test_std"] = (np.std([x["test"] for x in runs], axis=0, ddof=1) if draws > 1
                        else np.zeros(alphas.size))
    main["costs"] = [x["cost"] for x in runs]
    main["rgc"] = (float(np.mean([x["rgc"][0] for x in runs])),
                   np.mean([x["rgc"][1] for x in runs], axis=0),
                   float(np.mean([x["rgc"][2] for x in runs])))
    return main


def _multi_index_learning_curve(cfg: CurveConfig) -> LearningCurve:
    """:func:`one_step_curve` for a target expression in z1..zr
    (:mod:`giantstep.numerics.test_error.tables.multi_index`)."""
    from giantstep.numerics.test_error.tables.multi_index import (
        kappa_tables_multi,
        limit_geometry,
        limit_weights,
        target_moments,
    )
    from giantstep.theory import as_target

    student, teacher, alpha0, eta, lam, alphas = cfg.student, cfg.teacher, cfg.alpha0, cfg.eta, cfg.lam, cfg.alphas
    noise, psi, spectrum, draws, d, seed = cfg.noise, cfg.psi, cfg.spectrum, cfg.draws, cfg.d, cfg.seed
    tol, max_iter, damping = cfg.tol, cfg.max_iter, cfg.damping

    target = as_target(teacher)
    ms = activation_moments(student)
    _, c1, _ = target_moments(target)
    notes = []
    eta_eff = eta
    if eta > 0 and float(np.linalg.norm(c1)) < 1e-12:
        notes.append(f"teacher '{target.text}' has C_1 = E[g* z] = 0: one giant step with "
                     "n0 ∝ d learns no target direction; returning the lazy (random-features) "
                     "curve")
        eta_eff = 0.0
    check_domain(student, student, eta_eff)
    family = student_family(ms)
    if spectrum == "sampled":
        raise InputError("spectrum 'sampled' is implemented for single-index teachers; use "
                         "'limit' or 'bulk'")
    if spectrum == "auto":
        mode = "bulk" if _needs_bulk(family, alpha0, eta_eff) else "limit"
    else:
        mode = spectrum
    if eta_eff == 0.0:
        mode = "limit"
    d_run = int(d) if d is not None else 1000
    quad_tol = max(tol / 10, 1e-12)
    K = target.r

    def limit_run(eta_run):
        r, g, a, c = limit_geometry(student, target, alpha0, eta_run, noise)
        tabs = kappa_tables_multi(student, target, r, g, a, c, quad_tol)
        mu1sq = float(tabs[0] @ tabs[3] ** 2)
        res = solve_curve(alphas / psi, lam, noise, tabs,
                                lambda x: limit_weights(x, lam, c, psi, K, mu1sq, quad_tol),
                                tol, max_iter, damping, "limit")
        res["rgc"], res["test_std"], res["costs"] = (r, g, c), None, []
        return res

    lazy = limit_run(0.0)
    if eta_eff == 0.0:
        main = lazy
    elif mode == "limit":
        main = limit_run(eta_eff)
    else:
        main = _multi_index_bulk(cfg, target, eta_eff, d_run, quad_tol)
    validated, why = checked_points(mode, family, alpha0, eta_eff, psi, alphas)
    if why:
        notes.append(f"{int((~validated).sum())} of {alphas.size} points not validated: {why}")
    st = main["states"]
    order = {"q1": st[:, 0], "q2": st[:, 1], "V1": st[:, 2], "V2": st[:, 3], "theta": st[:, 4],
             "m": st[:, 5]}
    for k in range(K):
        order[f"psi{k + 1}"] = st[:, 6 + k]
    r, g, c = main["rgc"]
    params = {
        "student": student.name, "teacher": target.text, "readout": "constant", "alpha0": alpha0,
        "eta": eta,
        "lam": lam, "noise": noise, "width_ratio": psi, "spectrum": mode, "r": float(r),
        "gamma": float(np.linalg.norm(g)), "gamma_vector": [float(x) for x in g],
        "c": float(c), "C1": [float(x) for x in c1], "tol": tol, "student_family": family,
        "teacher_directions": K, "step_learns_target": eta_eff > 0 or eta == 0, "notes": notes,
    }
    if mode == "bulk":
        params.update({"spectrum_draws": int(draws), "d": d_run, "seed": int(seed),
                       "bulk_sampling_seconds": [float(x) for x in main["costs"]]})
    _print_notes(cfg, notes)
    return LearningCurve(
        alpha=alphas, test_error=main["test"], train_error=main["train"],
        lazy_test_error=lazy["test"],
        order_parameters=order, params=params, iterations=main["iterations"].astype(int),
        residual=main["residual"], test_error_std=main["test_std"],
        lazy_train_error=lazy["train"], validated=validated,
    )


TYPED_D = 1000  # default size of the sampled steps of the several-type equations


def checked_points_typed(readout: str, family: str, alpha0: float, eta: float, psi: float,
                         alphas: np.ndarray) -> tuple[np.ndarray, str]:
    """Per-point ``validated`` flags of the several-type curve (its records in
    :data:`~giantstep.numerics.checked_regions.CHECKED_REGIONS`)."""
    region = checked_region(ONE_STEP_TYPES, readout, family)
    if region is None:
        return (np.zeros(alphas.size, dtype=bool),
                f"readout '{readout}' with {family} students is not checked against simulation")
    if not region.contains(alpha0, eta, psi):
        return (np.zeros(alphas.size, dtype=bool),
                f"(α0 = {alpha0:g}, η̃ = {eta:g}, ψ = {psi:g}) lies outside the region checked "
                f"against simulation for readout '{readout}', {family} students "
                f"({region.bounds_text()})")
    return region.alpha_flags(alphas)


def _typed_learning_curve(cfg: CurveConfig) -> LearningCurve:
    """:func:`one_step_curve` for readouts with several neuron types
    (:mod:`giantstep.numerics.test_error.solver.typed`)."""
    from giantstep.numerics.test_error.solver.typed import typed_curve
    from giantstep.theory import as_target

    student, teacher, multi, alpha0, eta = cfg.student, cfg.teacher, cfg.multi, cfg.alpha0, cfg.eta
    alphas, psi, readout = cfg.alphas, cfg.psi, cfg.readout
    # the lazy network does not depend on the readout law
    lazy = one_step_curve(cfg.sampling_defaults().replace(eta=0.0, readout="constant", warn=False))
    name = teacher if multi else _teacher_target(teacher)
    target = as_target(name)
    from giantstep.numerics.test_error.tables.multi_index import target_moments

    c1 = target_moments(target)[1]
    if eta == 0.0 or float(np.linalg.norm(c1)) < 1e-12:
        # the lazy network does not depend on the readout law; with C_1 = 0 the step learns
        # no target direction (the constant-readout path says so and returns the lazy curve)
        curve = one_step_curve(cfg.sampling_defaults().replace(readout="constant"))
        curve.params["readout"] = readout
        return curve
    if cfg.spectrum not in ("auto", "bulk"):
        raise InputError(f"readout '{readout}' with student '{student.name}' is computed on "
                         "sampled real steps only (several neuron types have no "
                         "Marchenko–Pastur limit here): use spectrum 'auto' or 'bulk'")
    check_domain(student, student, eta)
    family = student_family(activation_moments(student))
    d_run = cfg.d if cfg.d is not None else TYPED_D
    res = typed_curve(student, target, alpha0=alpha0, eta=eta, lam=cfg.lam, alphas=alphas,
                      noise=cfg.noise, psi=psi, readout=readout, n_types=cfg.n_types, draws=cfg.draws,
                      d=d_run, seed=cfg.seed, tol=cfg.tol, max_iter=cfg.max_iter, damping=cfg.damping)
    notes = []
    validated, why = checked_points_typed(readout, family, alpha0, eta, psi, alphas)
    if d_run < TYPED_D:
        validated[:] = False
        why = (f"the steps are sampled at d = {d_run} < {TYPED_D}, below the size checked "
               "against simulation (finite-size error ≈ +0.005 at d = 500)")
    if why:
        notes.append(f"{int((~validated).sum())} of {alphas.size} points not validated: {why}")
    geos = res["geometries"]
    states = [r["states"] for r in res["runs"]]
    order = {}
    T = geos[0].r.size
    for key in ("V2", "theta", "m", "q2"):
        for t in range(T):
            order[f"{key}_{t + 1}"] = np.mean([[st[key][t] for st in run] for run in states],
                                              axis=0)
    params = {
        "student": student.name, "teacher": target.text if multi else teacher.name,
        "readout": readout, "alpha0": alpha0, "eta": eta, "lam": cfg.lam, "noise": cfg.noise,
        "width_ratio": psi, "spectrum": "bulk", "equations": "several neuron types",
        "n_types": int(T),
        "type_r": np.mean([g.r for g in geos], axis=0).tolist(),
        "type_c": np.mean([g.c for g in geos], axis=0).tolist(),
        "type_fraction": np.mean([g.fraction for g in geos], axis=0).tolist(),
        "gamma": float(np.mean([np.linalg.norm(g.gamma) for g in geos])),
        "tol": cfg.tol, "student_family": family, "step_learns_target": True,
        "spectrum_draws": cfg.draws, "d": d_run, "seed": cfg.seed,
        "bulk_sampling_seconds": [float(g.seconds) for g in geos], "notes": notes,
    }
    _print_notes(cfg, notes)
    return LearningCurve(
        alpha=alphas, test_error=res["test"], train_error=res["train"],
        lazy_test_error=lazy.test_error,
        order_parameters=order, params=params, iterations=res["iterations"].astype(int),
        residual=res["residual"], test_error_std=res["test_std"],
        lazy_train_error=lazy.lazy_train_error, validated=validated,
    )
