"""Sample-complexity thresholds and the "stairway" of error plateaus (docs/model.md §4).

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
activation-aware extensions of :mod:`giantstep.theory.structure.subspaces`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from giantstep.params import Boolean, Expression, Interval, Noneable, validate_params
from giantstep.tables import FrameMixin

from .subspaces import _context, _extension, _join, _relevant, canonical_basis, orthonormal_basis


def _restricted_energy(T: np.ndarray, V: np.ndarray, k: int) -> float:
    """``‖C_k|_V‖² / k!``: energy of the part of ``P_k g`` that is a function of ``z_V``."""
    from math import factorial

    if V.shape[1] == 0:
        return 0.0
    for _ in range(k):
        T = np.tensordot(T, V, axes=([0], [0]))
    return float(np.sum(T * T)) / factorial(k)


@dataclass
class Thresholds(FrameMixin):
    """Per-direction exponents, per-degree energies and the stairway of a target."""

    _frame_key = "stairway"  # to_frame(): the plateaus on the κ grid

    r: int
    directions: list
    degrees: list
    stairway: dict
    information_exponent: int | None
    activation: str | None
    noise: float
    notes: list
    algorithms: list = field(default_factory=list)
    generative: dict | None = None
    target: str = ""

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
            "algorithms": self.algorithms,
            "generative": self.generative,
            "notes": self.notes,
        }

    def plot(self, target: str | None = None):
        """Figures of the stairway (docs/model.md §4).

        Returns a Figure with one panel per method (the error plateau versus κ = log n / log d,
        Var(y) dotted) and, when the per-algorithm comparison was computed, a second Figure-row
        panel of the samples needed per algorithm and direction, "never" as its own band.
        ``target`` (default: the analysed target) is named in the title.
        """
        from giantstep.figures import never_band, stairway_figure

        labels = {"random_features": "random features / kernel", "one_step": "one giant step",
                  "one_step_preprocessed": "one step, low degrees removed", "multi_step": "several steps"}
        name = target or self.target or "target"
        fig = stairway_figure(self.stairway["kappa"], {k: self.stairway[k] for k in labels}, labels, name,
                              total=self.stairway.get("total_variance"))
        if self.algorithms:
            fig.set_size_inches(12.0, 7.6)
            axes = fig.get_axes()
            for i, ax in enumerate(axes):
                ax.set_position([0.06 + i * 0.235, 0.62, 0.2, 0.3])
            ax = fig.add_axes([0.3, 0.1, 0.5, 0.36])
            _plot_algorithms(ax, self.algorithms, self.directions)
            never_band(ax, _never_level(self.algorithms))
        return fig


@validate_params(activation=Noneable(Expression("activation")),
                 kappa_max=Noneable(Interval(float, 0, 50, closed="right")),
                 kappa_step=Interval(float, 1e-3, 1), compare=Boolean(), amp=Boolean())
def thresholds(target, activation=None, *, kappa_max: float | None = None, kappa_step: float = 0.05,
               max_degree: int | None = None, compare: bool = True, amp: bool = True) -> Thresholds:
    """Sample-complexity thresholds of docs/model.md §4 for ``target``.

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
    max_degree : int, optional
        Truncation degree for non-polynomial targets.
    compare : bool
        Also build the per-direction comparison with other algorithms
        (``algorithms``: see :func:`comparison`).
    amp : bool
        Include the AMP row (``giantstep.theory.amp``; "n/a" cells if False).

    Returns
    -------
    Thresholds
        ``directions``: an orthonormal basis of ``U*`` adapted to the filtration
        ``Σ_{j≤k} Im(C_j)``, each with ``one_step_exponent`` (``k*`` if in
        ``Im(C_{k*})``, else None: never learned in one step without
        preprocessing), ``one_step_exponent_preprocessed`` (``ℓ(v)``) and
        ``staircase_step`` (first t with ``v ∈ V_t``, None if never with n ≍ d) and
        ``multi_step_exponent`` (smallest κ = m with v learned by giant steps on
        fresh batches of n ≍ d^m, docs/model.md §4).
        ``degrees``: ``{degree, energy, kernel_exponent}``. ``stairway``: κ grid and
        plateaus per method.
    """
    ctx = _context(target, activation, max_degree)
    t, act = ctx.target, ctx.activation
    K = ctx.kmax
    images = {k: orthonormal_basis(ctx.tensors[k].reshape(t.r, -1), ctx.tol) for k in range(1, K + 1)}
    nonzero = [k for k in range(1, K + 1)
               if images[k].shape[1] and (act is None or abs(act.mu(k)) > 1e-12)]
    kstar = nonzero[0] if nonzero else None
    F, level_of, filtration = _filtration(ctx, images, nonzero)
    U = _relevant(ctx)
    directions = _directions(ctx, images, kstar, level_of, (np.eye(t.r) - F @ F.T) @ U)
    energies = ctx.target.expansion.energies(K)
    degrees = [{"degree": k, "energy": float(energies[k]), "kernel_exponent": k} for k in range(K + 1)]
    stairway = _stairway(ctx, energies, images, kstar, filtration, U.shape[1], kappa_max, kappa_step)
    exponents = _multi_step_exponents(ctx, directions)
    for i, dd in enumerate(directions):
        dd["multi_step_exponent"] = exponents.get(i)
    notes = []
    if not t.is_polynomial:
        notes.append(
            f"non-polynomial target: energies computed up to degree {K}; the remaining energy "
            f"{t.expansion.tail_energy:.3g} is counted as unlearned until the whole relevant subspace is learned"
        )
    algorithms, generative = ([], None)
    if compare:
        algorithms, generative, more = comparison(t, directions, noise=t.noise, max_degree=max_degree, amp=amp)
        notes.extend(more)
        if act is not None:
            notes.append(f"activation {act.name} enters the giant-step rows only; the kernel, online-SGD, "
                         "batch-reuse, SQ and AMP rows are for a generic learner")
    return Thresholds(t.r, directions, degrees, stairway, kstar, None if act is None else act.name, t.noise,
                      notes, algorithms, generative, target=t.text)


def _filtration(ctx, images: dict, nonzero: list) -> tuple[np.ndarray, list, dict]:
    """The filtration ``F_k = Σ_{j≤k, usable} Im(C_j)`` (docs/model.md §4): its last space, the
    canonical basis vectors with the level ``k`` at which each enters, and ``{k: F_k}``."""
    r = ctx.target.r
    F = np.zeros((r, 0))
    level_of: list[tuple[np.ndarray, int]] = []
    filtration = {}
    for k in range(1, ctx.kmax + 1):
        if k in nonzero:
            newF = _join(F, images[k])
            P = np.eye(r) - F @ F.T
            add = orthonormal_basis(P @ newF, 1e-8)
            for v in canonical_basis(add).T:
                level_of.append((v, k))
            F = newF
        filtration[k] = F
    return F, level_of, filtration


def _staircase(ctx) -> list[np.ndarray]:
    """The staircase ``V_0 ⊂ V_1 ⊂ …`` of giant steps with n ≍ d per step (docs/model.md §3)."""
    V = np.zeros((ctx.target.r, 0))
    stair = [V]
    for _ in range(64):
        E = _extension(ctx, V, 1)
        if E.shape[1] == 0:
            break
        V = _join(V, E)
        stair.append(V)
    return stair


def _contained(v: np.ndarray, B: np.ndarray) -> bool:
    """Whether ``v`` lies in the span of the orthonormal columns of ``B`` (to 1e-6)."""
    return B.shape[1] > 0 and np.linalg.norm(v - B @ (B.T @ v)) < 1e-6


def _directions(ctx, images: dict, kstar: int | None, level_of: list, unreached: np.ndarray) -> list[dict]:
    """One record per basis direction of ``U*``: one-step exponent (with and without
    preprocessing) and staircase step; the directions never reached by the usable filtration
    (the span of ``unreached``, ``U*`` projected off the last filtration space) last."""
    stair = _staircase(ctx)

    def step_of(v: np.ndarray) -> int | None:
        return next((i for i, B in enumerate(stair) if i > 0 and _contained(v, B)), None)

    directions = []
    for v, k in level_of:
        directions.append({
            "vector": v.tolist(),
            "one_step_exponent": kstar if (kstar is not None and _contained(v, images[kstar])) else None,
            "one_step_exponent_preprocessed": k,
            "staircase_step": step_of(v),
        })
    rest = orthonormal_basis(unreached, 1e-8)
    for v in canonical_basis(rest).T:
        directions.append({"vector": v.tolist(), "one_step_exponent": None,
                           "one_step_exponent_preprocessed": None, "staircase_step": step_of(v)})
    return directions


def _closure(ctx, m: int) -> np.ndarray:
    """Subspace learned by giant steps on fresh batches of n ≍ d^m (leaps ≤ m, docs/model.md §4)."""
    W = np.zeros((ctx.target.r, 0))
    while True:
        grown = False
        for k in range(1, min(m, ctx.kmax) + 1):
            E = _extension(ctx, W, k)
            if E.shape[1]:
                W = _join(W, E)
                grown = True
                break
        if not grown:
            return W


def _plateau(ctx, energies, Vs: np.ndarray, cutoff: int, n_relevant: int) -> float:
    """Plateau error once ``Vs`` is learned and degrees ≤ ``cutoff`` are fitted (docs/model.md §4)."""
    err = 0.0
    for k in range(cutoff + 1, ctx.kmax + 1):
        err += energies[k] - _restricted_energy(ctx.tensors[k], Vs, k)
    if Vs.shape[1] < n_relevant:
        err += ctx.target.expansion.tail_energy
    return max(err, 0.0) + ctx.target.noise


def _stairway(ctx, energies, images: dict, kstar: int | None, filtration: dict, n_relevant: int,
              kappa_max: float | None, kappa_step: float) -> dict:
    """Plateaus of each method on the κ grid (n ≍ d^κ, docs/model.md §4)."""
    r, K = ctx.target.r, ctx.kmax
    tail, Delta = ctx.target.expansion.tail_energy, ctx.target.noise
    empty = np.zeros((r, 0))
    kmax_grid = float(K + 1) if kappa_max is None else float(kappa_max)
    kappa = np.round(np.arange(0.0, kmax_grid + 1e-9, kappa_step), 10)
    rows: list[tuple] = []
    cache: dict = {}
    for kap in kappa:
        m = int(np.floor(kap + 1e-9))
        if m not in cache:
            cut = min(m, K)
            V_one = images[kstar] if (kstar is not None and m >= kstar) else empty
            V_pre = filtration.get(min(m, K), empty) if m >= 1 else empty
            V_multi = _closure(ctx, m) if m >= 1 else empty
            cache[m] = (sum(energies[cut + 1:]) + tail + Delta,
                        *(_plateau(ctx, energies, Vs, cut, n_relevant) for Vs in (V_one, V_pre, V_multi)))
        rows.append(cache[m])
    total = sum(energies) + tail
    return {
        "kappa": kappa.tolist(),
        "random_features": [row[0] for row in rows],
        "one_step": [row[1] for row in rows],
        "one_step_preprocessed": [row[2] for row in rows],
        "multi_step": [row[3] for row in rows],
        "total_variance": float(total - energies[0]) + Delta,
    }


def _multi_step_exponents(ctx, directions: list[dict]) -> dict[int, int]:
    """``{i: m}``: the smallest m with direction i learned by fresh batches of n ≍ d^m."""
    out: dict[int, int] = {}
    for m in range(1, ctx.kmax + 1):
        W = _closure(ctx, m)
        for i, dd in enumerate(directions):
            if i not in out and _contained(np.asarray(dd["vector"]), W):
                out[i] = m
    return out


# ---------------------------------------------------------------------------
# one comparison: samples needed per algorithm and per direction of U*
# ---------------------------------------------------------------------------

ALGORITHMS = (
    ("kernel", "kernel / random features"),
    ("one_step", "one giant step"),
    ("one_step_preprocessed", "one giant step, degrees < ℓ removed"),
    ("fresh_batches", "giant steps, fresh batches"),
    ("online_sgd", "online SGD"),
    ("batch_reuse", "GD reusing batches"),
    ("sq_low_degree", "SQ / low-degree (generative)"),
    ("amp", "AMP (Bayes-optimal GAMP)"),
)

SOURCES = {
    "kernel": "quoted (Mei, Misiakiewicz, Montanari 2022); docs/model.md §4",
    "one_step": "checked (docs/model.md §4, §5.1)",
    "one_step_preprocessed": "checked (docs/model.md §4, §5.2)",
    "fresh_batches": "checked for n ≍ d (docs/model.md §3, §5.3); leap form for n ≍ d^m per step",
    "online_sgd": "quoted (Ben Arous, Gheissari, Jagannath 2021; Abbe, Boix-Adserà, Misiakiewicz 2023)",
    "batch_reuse": "quoted (Dandi et al. 2024, arXiv:2402.03220); measured here for He3(z1) "
                   "(docs/algorithms.md)",
    "sq_low_degree": "quoted (Damian et al. 2024, arXiv:2403.05529; 2025, arXiv:2506.05500); "
                     "k computed here",
    "amp": "quoted (Troiani et al. 2024, arXiv:2405.15480); computed by giantstep.theory.amp",
}


def _power_text(kappa: float | None, log: bool = False) -> str:
    if kappa is None:
        return "never"
    if kappa == 0:
        return "O(1)"
    k = int(kappa) if float(kappa).is_integer() else kappa
    base = "d" if k == 1 else f"d^{k}"
    return base + (" log d" if log else "")


def _cell(kappa, text: str, **extra) -> dict:
    out = {"kappa": None if kappa is None else float(kappa), "text": text}
    out.update(extra)
    return out


def _cumulative_index(v: np.ndarray, blocks: list) -> int | None:
    """First i with v in span(blocks[0..i]) (blocks: r × m arrays)."""
    r = v.size
    W = np.zeros((r, 0))
    for i, B in enumerate(blocks):
        W = np.concatenate([W, np.asarray(B, dtype=float).reshape(r, -1)], axis=1)
        if W.shape[1] and np.linalg.norm(v - W @ np.linalg.lstsq(W, v, rcond=None)[0]) < 1e-6:
            return i
    return None


def _amp_cells(target, noise: float, vectors: list) -> tuple[list, list]:
    """AMP row: trivial (any α > 0), unlocked at α_c (n = α_c d), hard (not at n ∝ d)."""
    try:
        from ..amp import amp_analysis
    except ImportError:
        return [_cell(None, "n/a") for _ in vectors], ["AMP row: giantstep.theory.amp is not available"]
    from giantstep.errors import GiantstepError

    try:
        res = amp_analysis(target, noise=noise)
    except GiantstepError as exc:
        return [_cell(None, "n/a") for _ in vectors], [f"AMP row not computed: {exc}"]
    r = vectors[0].size if vectors else 0
    def block(vs):
        return np.stack([np.asarray(x, dtype=float) for x in vs], axis=1) if len(vs) else np.zeros((r, 0))
    blocks = [block(res.trivial)] + [block(s.directions) for s in res.stages]
    hard = block(res.hard)
    cells = []
    for v in vectors:
        i = _cumulative_index(v, blocks)
        if i == 0:
            cells.append(_cell(1.0, "any α > 0", alpha_c=0.0))
        elif i is not None:
            a = float(res.stages[i - 1].alpha_c)
            cells.append(_cell(1.0, f"α > {a:.4g}", alpha_c=a))
        elif hard.shape[1] and _cumulative_index(v, [hard]) is not None:
            cells.append(_cell(None, "hard: no α", alpha_c=None, hard=True))
        else:
            cells.append(_cell(None, "n/a", alpha_c=None))
    return cells, []


def comparison(target, directions: list, *, noise: float = 0.0, max_degree: int | None = None,
               amp: bool = True) -> tuple[list, dict, list]:
    """Samples needed by each algorithm for each direction of U* (κ = log n / log d).

    Parameters
    ----------
    target : Target
    directions : list of dict
        The ``directions`` of :func:`thresholds` (with ``vector``, ``one_step_exponent``,
        ``one_step_exponent_preprocessed``, ``staircase_step``, ``multi_step_exponent``).
    noise : float
        Label-noise variance Δ (enters the generative strengths and AMP).
    max_degree : int, optional
        Truncation degree for non-polynomial targets.
    amp : bool
        Compute the AMP row with :func:`giantstep.theory.amp.amp_analysis`.

    Returns
    -------
    (rows, generative, notes)
        ``rows``: one dict per algorithm ``{"algorithm", "label", "source", "cells"}``,
        ``cells[i]`` for ``directions[i]`` with ``kappa`` (None: never / not covered),
        ``text`` and extras (``steps``, ``k``, ``alpha_c``, ``log_factor``).
        Rules (docs/model.md §4, §7; docs/algorithms.md):

        * kernel: ``d^{ℓ(v)}`` (first degree whose component depends on v);
        * one step: ``d^{k*}`` if ``v ∈ Im C_{k*}``; preprocessed: ``d^{ℓ(v)}``;
        * fresh batches: ``d^m`` per step, m the smallest leap cap reaching v;
        * online SGD: ``L(v)`` = largest leap on the greedy path to v;
          ``d`` (L = 1), ``d log d`` (L = 2), ``d^{L−1}`` (L ≥ 3);
        * GD reusing batches: ``d`` in O(1) steps iff v is reached by generative
          stages of order 1 only (E[z_⊥ F(y, z_V)] ≠ 0); else not in O(1) steps;
        * SQ / low-degree: ``d^{max(1, k(v)/2)}``, k(v) the largest generative order
          on the path to v;
        * AMP: ``n = α d`` with α > α_c of the stage of v (0: trivial); hard
          directions are not learned at n ∝ d.
    """
    from .generative import generative_analysis, online_sgd_exponent
    from .subspaces import analyze

    notes: list = []
    vecs = [np.asarray(d["vector"], dtype=float) for d in directions]
    lp = analyze(target, max_degree=max_degree)
    gen = generative_analysis(target, noise=noise, max_degree=max_degree, strengths=False)
    leap_blocks = list(lp.stages)
    gen_blocks = [s.directions for s in gen.stages]

    def path_max(v, blocks, ks):
        i = _cumulative_index(v, blocks)
        return (None, None) if i is None else (max(ks[: i + 1]), i + 1)

    rows = {key: [] for key, _ in ALGORITHMS}
    for v, d in zip(vecs, directions):
        ell = d["one_step_exponent_preprocessed"]
        rows["kernel"].append(_cell(ell, _power_text(ell)))
        k1 = d["one_step_exponent"]
        rows["one_step"].append(_cell(k1, _power_text(k1)))
        rows["one_step_preprocessed"].append(_cell(ell, _power_text(ell)))
        m = d.get("multi_step_exponent")
        step = d["staircase_step"]
        txt = _power_text(m) + ("" if m is None else " per step") + (f" (step {step})" if step else "")
        rows["fresh_batches"].append(_cell(m, txt, steps=step))
        L, _ = path_max(v, leap_blocks, lp.leaps)
        o = online_sgd_exponent(L)
        rows["online_sgd"].append(_cell(o["exponent"], o["text"], log_factor=o["log_factor"], leap=L))
        kg, stage = path_max(v, gen_blocks, [s.k for s in gen.stages])
        if kg == 1:
            rows["batch_reuse"].append(_cell(1.0, f"d (stage {stage}, ≥ 2 steps per batch)", steps=stage))
        else:
            rows["batch_reuse"].append(_cell(None, "not in O(1) steps at n ≍ d" if kg else "never",
                                             generative_k=kg))
        if kg is None:
            rows["sq_low_degree"].append(_cell(None, "never", k=None))
        else:
            ks = max(1.0, kg / 2)
            rows["sq_low_degree"].append(_cell(ks, _power_text(ks), k=kg))
    if amp:
        amp_cells, amp_notes = _amp_cells(target, noise, vecs)
    else:
        amp_cells, amp_notes = [_cell(None, "n/a") for _ in vecs], ["AMP row not requested"]
    for c, sq in zip(amp_cells, rows["sq_low_degree"]):
        if c.get("hard") and sq["kappa"] is not None:
            c["kappa"] = sq["kappa"]
            c["text"] = f"hard at n ∝ d; {sq['text']} (SQ bound)"
    rows["amp"] = amp_cells
    notes.extend(amp_notes)
    notes.append("κ = log n / log d up to constants (and logs where stated); 'never' = not with any "
                 "polynomial n for that algorithm as analysed; see docs/algorithms.md for what is quoted")
    out = [{"algorithm": key, "label": label, "source": SOURCES[key], "cells": rows[key]}
           for key, label in ALGORITHMS]
    return out, gen.to_dict(), notes


def _never_level(algorithms: list) -> float:
    """The y level of the "never" band: one above the largest finite κ."""
    finite = [c["kappa"] for a in algorithms for c in a["cells"] if c["kappa"] is not None]
    return float(max(finite) if finite else 1.0) + 1.0


def _plot_algorithms(ax, algorithms: list, directions: list) -> None:
    """Samples needed (κ) per algorithm (rows), one marker per direction; 'never' in its band."""
    labels = [a["label"] for a in algorithms]
    top = _never_level(algorithms)
    nd = max(1, len(directions))
    markers = "osD^v<>ph*"
    for j, d in enumerate(directions):
        ys, xs = [], []
        for i, a in enumerate(algorithms):
            c = a["cells"][j]
            ys.append(i + (j - (nd - 1) / 2) * 0.8 / nd)
            xs.append(top if c["kappa"] is None else c["kappa"])
        vec = "(" + ",".join(f"{u:.2g}" for u in d["vector"]) + ")"
        ax.plot(xs, ys, ls="none", marker=markers[j % len(markers)], ms=6, mfc="none" if j else None,
                label=f"direction {vec}")
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(r"samples needed: $\kappa$ with $n \asymp d^\kappa$")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("samples needed per algorithm")
