"""Sample-complexity thresholds and the "stairway" of error plateaus (THEORY.md §4).

With ``κ = log n / log d``:

* kernel / random features learn ``P_{≤⌊κ⌋} g*``; plateau
  ``E_RF(κ) = Σ_{k>⌊κ⌋} ‖P_k g*‖² + Δ``;
* one giant step without preprocessing: for ``κ ≥ k*`` the first layer learns
  ``Im(C_{k*})`` only;
* one giant step with the components of degree < ℓ removed: a direction ``v``
  needs ``κ ≥ ℓ(v) = min{k : v ∈ Σ_{j≤k} Im(C_j)}``;
* several giant steps with ``n ≍ d^κ`` per step: the greedy growth of §3
  restricted to leaps ``k ≤ ⌊κ⌋`` (for ``1 ≤ κ < 2`` this is the staircase).

Plateaus for the feature-learning methods are the ideal ones of §4 (p and the
readout sample size large, enough neuron diversity): the readout fits any
function of the learned coordinates ``z_V`` plus, like random features,
``P_{≤⌊κ⌋} g*``. In an orthonormal basis adapted to ``V`` the Hermite basis
splits and the error is
``Σ_{k>⌊κ⌋} (‖P_k g*‖² − ‖C_k|_V‖²/k!) + Δ`` where ``C_k|_V`` is ``C_k`` with
every mode contracted with a basis of ``V`` (the part of ``P_k g*`` that depends
on ``z_V`` alone).

Activation-aware (optional): a degree-k gradient component carries the factor
``μ_k(σ)`` at initialisation (§5.2: ``W* w ∝ μ_ℓ C_ℓ[ξ^{ℓ-1}, ·]``), so one-step
thresholds only use orders whose ``μ_k(σ) ≠ 0``; the multi-step growth uses the
activation-aware extensions of :mod:`giantstep.theory.subspaces`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .subspaces import _canonical, _context, _extension, _join, _relevant, orthonormal_basis


def _restricted_energy(T: np.ndarray, V: np.ndarray, k: int) -> float:
    """``‖C_k|_V‖² / k!``: energy of the part of ``P_k g`` that is a function of ``z_V``."""
    from math import factorial

    if V.shape[1] == 0:
        return 0.0
    for _ in range(k):
        T = np.tensordot(T, V, axes=([0], [0]))
    return float(np.sum(T * T)) / factorial(k)


@dataclass
class Thresholds:
    """Per-direction exponents, per-degree energies and the stairway of a target."""

    r: int
    directions: list
    degrees: list
    stairway: dict
    information_exponent: int | None
    activation: str | None
    noise: float
    notes: list

    def to_dict(self) -> dict:
        """JSON-ready dictionary (keys of ``giantstep thresholds --json``)."""
        return {
            "r": self.r,
            "activation": self.activation,
            "noise": self.noise,
            "information_exponent": self.information_exponent,
            "directions": self.directions,
            "degrees": self.degrees,
            "stairway": self.stairway,
            "notes": self.notes,
        }

    def plot(self):
        """Matplotlib figure of the error plateaus versus κ for each method."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        kappa = np.asarray(self.stairway["kappa"])
        styles = {
            "random_features": ("k", "-", "random features / kernel"),
            "one_step": ("tab:blue", "--", "one giant step"),
            "one_step_preprocessed": ("tab:orange", "-.", "one step, low degrees removed"),
            "multi_step": ("tab:green", ":", "several steps"),
        }
        for key, (color, ls, label) in styles.items():
            ax.step(kappa, self.stairway[key], where="post", color=color, ls=ls, lw=2, label=label)
        ax.set_xlabel(r"$\kappa = \log n / \log d$")
        ax.set_ylabel("test-error plateau")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False)
        ax.set_title("stairway of plateaus (THEORY.md §4)")
        fig.tight_layout()
        return fig


def thresholds(target, activation=None, *, kappa_max: float | None = None, kappa_step: float = 0.05,
               max_degree: int | None = None) -> Thresholds:
    """Sample-complexity thresholds of THEORY.md §4 for ``target``.

    Parameters
    ----------
    target : str, sympy.Expr or Target
        The target (its ``noise`` is Δ of the plateaus).
    activation : str or Activation, optional
        Student activation for the activation-aware thresholds.
    kappa_max : float, optional
        Largest κ of the stairway grid (default: degree + 1).
    kappa_step : float
        Grid spacing of κ.

    Returns
    -------
    Thresholds
        ``directions``: an orthonormal basis of ``U*`` adapted to the filtration
        ``Σ_{j≤k} Im(C_j)``, each with ``one_step_exponent`` (``k*`` if in
        ``Im(C_{k*})``, else None: never learned in one step without
        preprocessing), ``one_step_exponent_preprocessed`` (``ℓ(v)``) and
        ``staircase_step`` (first t with ``v ∈ V_t``, None if never with n ≍ d).
        ``degrees``: ``{degree, energy, kernel_exponent}``. ``stairway``: κ grid and
        plateaus per method.
    """
    ctx = _context(target, activation, max_degree)
    t = ctx.target
    r, K = t.r, ctx.kmax
    exp = t.expansion
    act = ctx.activation
    tol = ctx.tol

    def usable(k: int) -> bool:  # one-step gradient of order k needs μ_k(σ) ≠ 0 at init
        return act is None or abs(act.mu(k)) > 1e-12

    images = {k: orthonormal_basis(ctx.tensors[k].reshape(r, -1), tol) for k in range(1, K + 1)}
    nonzero = [k for k in range(1, K + 1) if images[k].shape[1] and usable(k)]
    kstar = nonzero[0] if nonzero else None

    # filtration F_k = Σ_{j≤k, usable} Im(C_j)
    F = np.zeros((r, 0))
    level_of: list[tuple[np.ndarray, int]] = []
    filtration = {}
    for k in range(1, K + 1):
        if k in nonzero:
            newF = _join(F, images[k])
            P = np.eye(r) - F @ F.T
            add = orthonormal_basis(P @ newF, 1e-8)
            for v in _canonical(add).T:
                level_of.append((v, k))
            F = newF
        filtration[k] = F

    # staircase V_t (n ≍ d per step)
    V = np.zeros((r, 0))
    stair = [V]
    for _ in range(64):
        E = _extension(ctx, V, 1)
        if E.shape[1] == 0:
            break
        V = _join(V, E)
        stair.append(V)

    def contained(v: np.ndarray, B: np.ndarray) -> bool:
        return B.shape[1] > 0 and np.linalg.norm(v - B @ (B.T @ v)) < 1e-6

    directions = []
    for v, k in level_of:
        step = next((i for i, B in enumerate(stair) if i > 0 and contained(v, B)), None)
        directions.append({
            "vector": v.tolist(),
            "one_step_exponent": kstar if (kstar is not None and contained(v, images[kstar])) else None,
            "one_step_exponent_preprocessed": k,
            "staircase_step": step,
        })
    # directions of U* never reached by the usable filtration (activation-aware only)
    U = _relevant(ctx)
    rest = orthonormal_basis((np.eye(r) - F @ F.T) @ U, 1e-8)
    for v in _canonical(rest).T:
        step = next((i for i, B in enumerate(stair) if i > 0 and contained(v, B)), None)
        directions.append({"vector": v.tolist(), "one_step_exponent": None,
                           "one_step_exponent_preprocessed": None, "staircase_step": step})

    energies = exp.energies(K)
    degrees = [{"degree": k, "energy": float(energies[k]), "kernel_exponent": k} for k in range(K + 1)]
    tail = exp.tail_energy
    Delta = t.noise
    total = sum(energies) + tail

    # multi-step closure with leaps ≤ m
    def closure(m: int) -> np.ndarray:
        W = np.zeros((r, 0))
        while True:
            grown = False
            for k in range(1, min(m, K) + 1):
                E = _extension(ctx, W, k)
                if E.shape[1]:
                    W = _join(W, E)
                    grown = True
                    break
            if not grown:
                return W

    def plateau(Vs: np.ndarray, cutoff: int) -> float:
        err = 0.0
        for k in range(cutoff + 1, K + 1):
            err += energies[k] - _restricted_energy(ctx.tensors[k], Vs, k)
        full = Vs.shape[1] >= U.shape[1]
        if not full:
            err += tail
        return max(err, 0.0) + Delta

    kmax_grid = float(K + 1) if kappa_max is None else float(kappa_max)
    kappa = np.round(np.arange(0.0, kmax_grid + 1e-9, kappa_step), 10)
    rf, one, pre, multi = [], [], [], []
    cache: dict = {}
    for kap in kappa:
        m = int(np.floor(kap + 1e-9))
        if m not in cache:
            cut = min(m, K)
            V_one = images[kstar] if (kstar is not None and m >= kstar) else np.zeros((r, 0))
            V_pre = filtration.get(min(m, K), np.zeros((r, 0))) if m >= 1 else np.zeros((r, 0))
            V_multi = closure(m) if m >= 1 else np.zeros((r, 0))
            rf_err = sum(energies[cut + 1:]) + tail + Delta
            cache[m] = (rf_err, plateau(V_one, cut), plateau(V_pre, cut), plateau(V_multi, cut))
        a, b, c, d_ = cache[m]
        rf.append(a)
        one.append(b)
        pre.append(c)
        multi.append(d_)
    notes = []
    if not t.is_polynomial:
        notes.append(
            f"non-polynomial target: energies computed up to degree {K}; the remaining energy "
            f"{tail:.3g} is counted as unlearned until the whole relevant subspace is learned"
        )
    stairway = {
        "kappa": kappa.tolist(),
        "random_features": rf,
        "one_step": one,
        "one_step_preprocessed": pre,
        "multi_step": multi,
        "total_variance": float(total - energies[0]) + Delta,
    }
    return Thresholds(r, directions, degrees, stairway, kstar, None if act is None else act.name, Delta, notes)
