"""Test error of the ridge readout after one giant step (THEORY.md §6.1).

Public entry point: :func:`one_step_learning_curve`, returning a :class:`LearningCurve`.

The equations are the spiked-random-features (Gaussian-equivalence) equations of Cui et
al. (2024), Result 3.3, with the parameters r, γ, c of THEORY.md §5.1 (constant readout,
``a = 1/√p``, ``η = η̃ p``, p = d) and label noise Δ added (see
:mod:`giantstep.numerics.spiked_rf`). Spectral inputs: ``spectrum="limit"`` uses the
d → ∞ limit ``F → c²``, ``H → D``, ``D ~ MP(ratio 1, scale c²)`` integrated with the
hard-edge-aware rule of :mod:`giantstep.numerics.marchenko_pastur`; ``spectrum="sampled"``
averages the solutions obtained with ``spectrum_draws`` sampled ``d × d`` matrices.

Validated domain (THEORY.md §6.1): students with ``μ2(σ) = 0`` (odd students such as
tanh, erf) for ``η̃ > 0``; any student in the lazy limit ``η̃ = 0``. Other students raise
:class:`InputError` — the equations miss by about 0.02 for relu.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from giantstep.errors import ConvergenceError, InputError
from giantstep.theory import Activation, as_activation

from .marchenko_pastur import mp_rule, mp_rule_for_pole, sample_spiked_spectrum
from .spiked_rf import N_STATE, solve_fixed_point
from .spiked_rf_inputs import (
    KappaTables,
    SpikedParameters,
    activation_moments,
    kappa_tables,
    spiked_parameters,
)

MU2_ZERO = 1e-10
ORDER_PARAMETERS = ("q1", "q2", "V1", "V2", "theta", "psi", "m")
CONJUGATES = ("q1_hat", "q2_hat", "V1_hat", "V2_hat", "theta_hat", "psi_hat")


@dataclass
class LearningCurve:
    """Result of :func:`one_step_learning_curve` (THEORY.md §6.1).

    Attributes
    ----------
    alpha : ndarray
        Readout sample ratios ``n/d``.
    test_error, train_error : ndarray
        ``E[(y − f)²]`` on fresh data (label noise included) and the ridge training
        mean squared error, after the giant step.
    lazy_test_error : ndarray
        The same ridge readout on the network at initialisation (η̃ = 0, random features).
    converged : ndarray of bool
        True everywhere (a failed point raises :class:`ConvergenceError`).
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
    converged: np.ndarray
    order_parameters: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    iterations: np.ndarray | None = None
    residual: np.ndarray | None = None
    test_error_std: np.ndarray | None = None
    lazy_train_error: np.ndarray | None = None

    def __getattr__(self, name: str) -> np.ndarray:
        op = self.__dict__.get("order_parameters", {})
        if name in op:
            return op[name]
        raise AttributeError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict: ``alpha, test_error, train_error, lazy_test_error, converged``
        plus ``lazy_train_error``, the order parameters, ``params``, iterations, residuals."""
        out: dict[str, Any] = {
            "alpha": self.alpha.tolist(),
            "test_error": self.test_error.tolist(),
            "train_error": self.train_error.tolist(),
            "lazy_test_error": self.lazy_test_error.tolist(),
            "converged": [bool(c) for c in self.converged],
        }
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

    def plot(self, ax=None):
        """Test error vs α with the lazy (random-features) baseline on the same axes.

        Returns the matplotlib Figure.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(5.5, 4))
        else:
            fig = ax.figure
        p = self.params
        ax.plot(self.alpha, self.test_error, "o-", label=f"one giant step (η̃={p.get('eta')})")
        if self.test_error_std is not None and np.any(self.test_error_std > 0):
            ax.fill_between(self.alpha, self.test_error - self.test_error_std,
                            self.test_error + self.test_error_std, alpha=0.25)
        ax.plot(self.alpha, self.train_error, ":", color="C0", label="training error")
        ax.plot(self.alpha, self.lazy_test_error, "s--", color="C1", label="lazy / random features")
        if p.get("noise", 0) > 0:
            ax.axhline(p["noise"], color="gray", lw=0.8, label="noise level Δ")
        ax.set_xlabel("α = n/d (readout samples)")
        ax.set_ylabel("test error E[(y − f)²]")
        ax.set_title(f"σ={p.get('student')}, σ*={p.get('teacher')}, α0={p.get('alpha0')}, "
                     f"λ={p.get('lam')}", fontsize=9)
        ax.legend(fontsize=8)
        return fig


# --------------------------------------------------------------------------- validation


def _positive(name: str, value: Any, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def _alphas(alphas: Any) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(alphas, dtype=float))
    except (TypeError, ValueError):
        raise InputError(f"alphas must be a list of numbers, got {alphas!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise InputError("alphas must be a non-empty 1-d list of sample ratios")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InputError(f"every α must be finite and > 0, got {arr.tolist()}")
    return arr


def check_domain(student: Activation, teacher: Activation, eta: float) -> None:
    """Raise :class:`InputError` outside the validated domain of THEORY.md §6.1."""
    ms = activation_moments(student)
    mt = activation_moments(teacher)
    if abs(mt.mu1) < 1e-12:
        raise InputError(
            f"teacher '{teacher.name}' has μ1* = 0: the giant step learns no target direction "
            "and the alignment γ of THEORY.md §5.1/§6.1 is undefined (0/0 without batch "
            "noise); the one-step learning curve needs a teacher with a linear component"
        )
    if eta > 0:
        if abs(ms.mu2) > MU2_ZERO:
            raise InputError(
                f"student '{student.name}' has μ2(σ) = {ms.mu2:.4g} ≠ 0: the spiked-random-"
                "features equations (THEORY.md §6.1) are validated only for students with "
                "μ2(σ) = 0 (e.g. tanh, erf) when η̃ > 0 (they miss by ≈0.02 for relu); "
                "use η̃ = 0 for the lazy (random-features) curve"
            )
        if not math.isfinite(ms.deriv_second):
            raise InputError(
                f"student '{student.name}' is not weakly differentiable: the giant step needs σ'"
            )


# --------------------------------------------------------------------------- solving


@lru_cache(maxsize=16)
def _sampled_spectrum(d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit-scale sampled ``(D, F, H)`` (cached: the step and the lazy curve share draws)."""
    out = sample_spiked_spectrum(d, 1.0, seed)
    for arr in out:
        arr.setflags(write=False)
    return out


def _initial_state() -> np.ndarray:
    return np.array([0.1, 0.1, 1.0, 1.0, 0.0, 0.1, 0.0])


def _limit_spectrum(alpha: float, lam: float, c: float, tabs: KappaTables, tol: float):
    """MP(ratio 1, scale c²) rule with F = c², H = D; node count from the pole bound."""
    vh1_max = alpha * float(np.dot(tabs.weights, tabs.mu1**2))
    ratio = lam / max(vh1_max, 1e-300) / (4.0 * c * c)  # a ≥ λ/V̂1_max, a/(4s)
    n = mp_rule_for_pole(min(ratio, 1e6), tol)
    x, w = mp_rule(n, c * c)
    x = np.ascontiguousarray(x)
    return np.ascontiguousarray(w), x, np.full_like(x, c * c), x.copy(), n


def _solve_curve(
    alphas: np.ndarray, lam: float, noise: float, tabs: KappaTables, c: float,
    spectrum_of_alpha, tol: float, max_iter: int, damping: float, label: str,
) -> dict[str, np.ndarray]:
    n = alphas.size
    out = {k: np.empty(n) for k in ("test", "train", "residual", "iterations", "n_spectral")}
    states = np.empty((n, N_STATE))
    hats_all = np.empty((n, 6))
    state = _initial_state()
    karr = tabs.arrays()
    for i, a in enumerate(alphas):
        sw, dd, ff, hh, nspec = spectrum_of_alpha(a)
        res = solve_fixed_point(state, float(a), lam, noise, *karr, sw, dd, ff, hh,
                                tol, max_iter, damping)
        new, hats, eg, et, resid, its = res
        if not (resid < tol) or not np.isfinite(eg):
            # one retry from a cold start with heavy damping before giving up
            res = solve_fixed_point(_initial_state(), float(a), lam, noise, *karr, sw, dd, ff, hh,
                                    tol, max_iter, max(damping, 0.8))
            new, hats, eg, et, resid, its = res
            if not (resid < tol) or not np.isfinite(eg):
                raise ConvergenceError(
                    f"the §6.1 fixed point ({label}) did not converge at α = {a:g}",
                    residual=float(resid), iterations=int(its),
                )
        state = new.copy()
        states[i] = new
        hats_all[i] = hats
        out["test"][i] = eg
        out["train"][i] = et
        out["residual"][i] = resid
        out["iterations"][i] = its
        out["n_spectral"][i] = nspec
    out["states"] = states
    out["hats"] = hats_all
    return out


def one_step_learning_curve(
    student: str | Activation,
    teacher: str | Activation,
    alpha0: float,
    eta: float,
    lam: float,
    alphas: Any,
    noise: float = 0.0,
    *,
    spectrum: str = "limit",
    spectrum_draws: int = 4,
    d: int = 2000,
    seed: int = 0,
    tol: float = 1e-8,
    max_iter: int = 20_000,
    damping: float = 0.5,
) -> LearningCurve:
    """Gaussian-equivalence test error after one giant step and a ridge readout.

    THEORY.md §6.1 (Cui et al. 2024, Result 3.3) with r, γ, c from §5.1.

    Parameters
    ----------
    student, teacher : str or Activation
        Student activation σ and teacher σ* (labels ``y = σ*(⟨θ,x⟩) + √Δ ε``, ‖θ‖ = 1).
    alpha0 : float
        First-step batch ratio ``n0/d`` (> 0).
    eta : float
        Rescaled learning rate η̃ ≥ 0 (``η = η̃ p``); 0 gives the lazy curve.
    lam : float
        Ridge penalty λ > 0 of ``min_a Σ(y − f)² + λ‖a‖²``.
    alphas : sequence of float
        Readout sample ratios ``n/d`` (> 0); solved in the given order with warm starts.
    noise : float
        Label-noise variance Δ ≥ 0 (both batches and the test labels).
    spectrum : {"limit", "sampled"}
        d → ∞ Marchenko–Pastur inputs, or the mean over ``spectrum_draws`` sampled
        ``d × d`` spectra (seeds ``seed, seed+1, …``; W0 rows of unit norm).
    tol : float
        Fixed-point tolerance (max relative change of the order parameters); the
        quadratures are chosen for ``tol/10``.
    max_iter, damping : int, float
        Iteration budget and initial damping δ of ``x ← (1−δ)T(x) + δx``.

    Returns
    -------
    LearningCurve

    Raises
    ------
    InputError
        Bad parameters, or inputs outside the validated domain (μ2(σ) ≠ 0 with η̃ > 0,
        μ1* = 0, divergent moments).
    ConvergenceError
        The fixed point was not reached (reports the last residual and iteration count).
    """
    student = as_activation(student)
    teacher = as_activation(teacher)
    alpha0 = _positive("alpha0", alpha0)
    eta = _positive("eta", eta, allow_zero=True)
    lam = _positive("lam (ridge penalty λ)", lam)
    noise = _positive("noise", noise, allow_zero=True)
    alphas = _alphas(alphas)
    if spectrum not in ("limit", "sampled"):
        raise InputError(f"spectrum must be 'limit' or 'sampled', got {spectrum!r}")
    if not isinstance(spectrum_draws, (int, np.integer)) or spectrum_draws < 1:
        raise InputError(f"spectrum_draws must be an integer ≥ 1, got {spectrum_draws!r}")
    if not isinstance(d, (int, np.integer)) or d < 2:
        raise InputError(f"d must be an integer ≥ 2, got {d!r}")
    if not (0 < tol < 1e-2):
        raise InputError(f"tol must be in (0, 1e-2), got {tol!r}")
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InputError(f"max_iter must be an integer ≥ 1, got {max_iter!r}")
    if not (0 <= damping < 1):
        raise InputError(f"damping must be in [0, 1), got {damping!r}")
    check_domain(student, teacher, eta)

    ms, mt = activation_moments(student), activation_moments(teacher)
    quad_tol = max(tol / 10, 1e-13)
    runs = {}
    for label, eta_run in (("giant step", eta), ("lazy", 0.0)):
        prm: SpikedParameters = spiked_parameters(ms, mt, alpha0, eta_run, noise)
        if label == "lazy" and eta == 0.0:
            runs[label] = runs["giant step"]
            continue
        tabs = kappa_tables(student, teacher, prm, quad_tol)
        if spectrum == "limit":
            res = _solve_curve(
                alphas, lam, noise, tabs, prm.c,
                lambda a, tabs=tabs, c=prm.c: _limit_spectrum(a, lam, c, tabs, quad_tol),
                tol, max_iter, damping, label,
            )
            res["test_std"] = None
        else:
            draws = []
            for k in range(spectrum_draws):
                dd, ff, hh = _sampled_spectrum(int(d), int(seed) + k)
                c2 = prm.c**2
                sw = np.full(dd.size, 1.0 / dd.size)
                spec = (sw, c2 * dd, c2 * ff, c2 * hh, dd.size)
                draws.append(_solve_curve(alphas, lam, noise, tabs, prm.c, lambda a, s=spec: s,
                                          tol, max_iter, damping, f"{label}, draw {k}"))
            res = {key: np.mean([r[key] for r in draws], axis=0) for key in draws[0]}
            res["test_std"] = (np.std([r["test"] for r in draws], axis=0, ddof=1)
                               if spectrum_draws > 1 else np.zeros(alphas.size))
        res["prm"], res["tabs"] = prm, tabs
        runs[label] = res

    main, lazy = runs["giant step"], runs["lazy"]
    prm, tabs = main["prm"], main["tabs"]
    order = {name: main["states"][:, j] for j, name in enumerate(ORDER_PARAMETERS)}
    order.update({name: main["hats"][:, j] for j, name in enumerate(CONJUGATES)})
    params = {
        "student": student.name, "teacher": teacher.name, "alpha0": alpha0, "eta": eta,
        "lam": lam, "noise": noise, "spectrum": spectrum, "r": prm.r, "gamma": prm.gamma,
        "c": prm.c, "tol": tol, "n_kappa": int(tabs.kappa.size), "n_inner": tabs.n_inner,
        "n_spectral": main["n_spectral"].astype(int).tolist(),
    }
    if spectrum == "sampled":
        params.update({"spectrum_draws": int(spectrum_draws), "d": int(d), "seed": int(seed)})
    return LearningCurve(
        alpha=alphas,
        test_error=main["test"],
        train_error=main["train"],
        lazy_test_error=lazy["test"],
        converged=np.ones(alphas.size, dtype=bool),
        order_parameters=order,
        params=params,
        iterations=main["iterations"].astype(int),
        residual=main["residual"],
        test_error_std=main["test_std"],
        lazy_train_error=lazy["train"],
    )
