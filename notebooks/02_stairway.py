# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · The stairway: test error versus κ = log n / log d
#
# With `n ≍ d^κ` samples, docs/model.md §4 predicts plateaus of the test error (d → ∞, then
# many neurons and readout samples):
#
# * **random features / kernel**: only `P_{≤⌊κ⌋} g*` is learned, `E_RF = Σ_{k>κ} ‖P_k g*‖² + Δ`;
# * **one giant step** (no preprocessing): for `κ ≥ k*` the first layer learns `Im(C_{k*})` only;
# * **one giant step with preprocessing** (label components of degree `< ⌊κ⌋` removed): a
#   direction `v` is learned once `κ ≥ ℓ(v)`;
# * **several giant steps** with `n ≍ d^κ` each: the staircase, then leaps `≤ ⌊κ⌋`.
#
# `gs.thresholds(target).stairway` returns these ideal plateaus. Here we put them on the
# same axes as finite-d simulations of the §1 protocol (`gs.simulate`): relu student,
# Gaussian second layer `a_j = s_j/√p`, ridge readout on `n` fresh samples.
# At these moderate sizes the steps of the stairway are smooth crossovers (the
# corrections are powers of `d^{-1/2}`, and `√d = 8` at `d = 64`); raise `SCALE` to see them sharpen.

# %%
import json
import os

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

import giantstep as gs

plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80, "font.size": 10})


def show(fig):
    """Display a figure once (works whatever backend a library call selected)."""
    display(fig)
    plt.close(fig)


def table(headers, rows):
    """A Markdown table."""
    head = "| " + " | ".join(headers) + " |\n|" + "---|" * len(headers) + "\n"
    body = "".join("| " + " | ".join(str(c) for c in row) + " |\n" for row in rows)
    return Markdown(head + body)


SUMMARY = {}

SCALE = int(os.environ.get("GIANTSTEP_NOTEBOOK_SCALE", "1"))
D = 64 * SCALE                      # input dimension
P = 4 * D                           # hidden neurons
SEEDS = list(range(2 if SCALE == 1 else 4))
KAPPAS = np.round(np.arange(0.75, 2.26, 0.25), 2)
LAM = 1.0                           # ridge penalty of the readout (as in the public notebook)
ETA = 3.0                           # rescaled learning rate η̃
N_TEST = 5000
print(f"d = {D}, p = {P}, seeds = {SEEDS}, largest batch n = {round(D ** KAPPAS[-1])}")

# %% [markdown]
# ## One giant step, with and without preprocessing
#
# Target: the two-direction Hermite teacher of the paper, `g*(z) = (h(z1) + h(z2))/2` with
# `h = He4/24 + He2/2 + He1`. Its linear part lies along `e1 + e2`, so one step without
# preprocessing learns only that direction; removing the linear part lets a step with
# `n ≍ d²` learn `e1 − e2` as well.
#
# Learning rate of the one-step runs: `η = η̃ p d^{(κ−1)/2}` (docs/model.md §1, batch `n = d^κ`).

# %%
HERMITE = "(He4(z1)/24 + He2(z1)/2 + He1(z1) + He4(z2)/24 + He2(z2)/2 + He1(z2))/2"
th_a = gs.thresholds(HERMITE, kappa_step=0.01, kappa_max=2.5)
sw = th_a.stairway
for key in ("random_features", "one_step", "one_step_preprocessed", "multi_step"):
    k = np.asarray(sw["kappa"])
    vals = np.asarray(sw[key])
    print(f"{key:22s}", {kap: round(float(vals[np.searchsorted(k, kap)]), 4) for kap in (0.5, 1.0, 1.5, 2.0)})


# %%
def run(target, kappa, seed, **kw):
    n = int(round(D ** kappa))
    res = gs.simulate(target=target, activation="relu", d=D, p=P, alpha=1.0, ell=float(kappa),
                      readout="gaussian", lam=LAM, alpha_readout=n / D, n_test=N_TEST,
                      seed=seed, measure_spike=False, **kw)
    return res.test_error


def sweep(target, methods):
    out = {}
    for name, kw_of_kappa in methods.items():
        errs = np.array([[run(target, kap, s, **kw_of_kappa(kap)) for s in SEEDS] for kap in KAPPAS])
        out[name] = (errs.mean(axis=1), errs.std(axis=1, ddof=1) if len(SEEDS) > 1 else 0 * errs[:, 0])
    return out


METHODS_A = {
    "random_features": lambda kap: dict(steps=0),
    "one_step": lambda kap: dict(steps=1, eta=ETA),
    "one_step_preprocessed": lambda kap: dict(steps=1, eta=ETA, preprocess=int(np.floor(kap))),
}
sim_a = sweep(HERMITE, METHODS_A)

# %% figure="02_stairway_one_step"
STYLE = {
    "random_features": ("black", "-", "random features (no step)"),
    "one_step": ("tab:blue", "--", "one giant step"),
    "one_step_preprocessed": ("tab:orange", "-.", "one step, degrees < ⌊κ⌋ removed"),
    "multi_step": ("tab:green", ":", "several giant steps"),
}


def stairway_plot(ax, th, sims, title):
    sw = th.stairway
    for key, (mean, std) in sims.items():
        color, ls, label = STYLE[key]
        ax.step(sw["kappa"], sw[key], where="post", color=color, ls=ls, lw=2.5, alpha=0.6)
        ax.errorbar(KAPPAS, mean, yerr=std, fmt="o-", color=color, ms=4, lw=1, capsize=2,
                    label=label)
    ax.set_xlabel(r"$\kappa = \log n / \log d$")
    ax.set_ylabel("test error")
    ax.set_xlim(KAPPAS[0] - 0.1, KAPPAS[-1] + 0.15)
    ax.set_ylim(bottom=-0.03)  # keep the zero plateaus visible
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)


fig, ax = plt.subplots(figsize=(6.2, 4.2))
stairway_plot(ax, th_a, sim_a, f"(h(z1)+h(z2))/2, relu, d={D}, p={P}, λ={LAM:g}: thick lines = predicted "
              f"plateaus,\ndots = simulations (mean ± std over {len(SEEDS)} seeds)")
fig.tight_layout()
show(fig)
SUMMARY["hermite"] = {"kappa": KAPPAS.tolist(),
                      "simulation": {k: v[0].tolist() for k, v in sim_a.items()},
                      "simulation_std": {k: np.asarray(v[1]).tolist() for k, v in sim_a.items()},
                      "plateaus": {k: [float(np.asarray(sw[k])[np.searchsorted(sw["kappa"], x)])
                                       for x in (0.5, 1.5, 2.0)]
                                   for k in STYLE}}

# %% [markdown]
# Reading: below `κ = 1` nothing but the mean is learned (total variance 0.77; with
# `n < d` samples the simulated errors are noisy). Between
# 1 and 2, random features fit the linear part (plateau 0.27) while one giant step also
# learns the direction `e1 + e2` and the readout fits every function of it (0.143).
# From `κ = 2` on, removing the linear part of the labels before the step lets the
# step see the order-2 tensor and learn `e1 − e2` as well; without preprocessing the
# linear part dominates the gradient and the error stays near the one-direction plateau.
# The finite-d points approach the thick lines from above; the random-features
# curve is also limited by the number of neurons (`p = 4d < d²/2` quadratic features).
#
# ## Several giant steps: the staircase
#
# Target `g*(z) = (z1 + z1²)/2 + (z2 − z2²)/2` (docs/model.md §5.3): its linear part is
# `(z1 + z2)/2`; once `u = (z1+z2)/√2` is learned, the quadratic part `u·v`, `v = (z1−z2)/√2`,
# is *linear* in `v`, so a second step with `n ≍ d` learns `v`. One step (or random
# features) needs `n ≍ d²` for the quadratic part. Learning rate `η = η̃ p` per step, batch
# `n = d^κ` per step, 3 steps.

# %% figure="02_stairway_several_steps"
STAIRCASE = "(z1 + z1**2)/2 + (z2 - z2**2)/2"
th_b = gs.thresholds(STAIRCASE, kappa_step=0.01, kappa_max=2.5)
METHODS_B = {
    "random_features": lambda kap: dict(steps=0),
    "one_step": lambda kap: dict(steps=1, eta_raw=ETA * P),
    "multi_step": lambda kap: dict(steps=3, eta_raw=ETA * P),
}
sim_b = sweep(STAIRCASE, METHODS_B)
fig, ax = plt.subplots(figsize=(6.2, 4.2))
stairway_plot(ax, th_b, sim_b, f"(z1+z1²)/2 + (z2−z2²)/2, relu, d={D}, p={P}, η = {ETA:g}·p, 3 steps: "
              f"thick lines = predicted\nplateaus, dots = simulations (mean ± std over {len(SEEDS)} seeds)")
fig.tight_layout()
show(fig)
sw = th_b.stairway
SUMMARY["staircase"] = {"kappa": KAPPAS.tolist(),
                        "simulation": {k: v[0].tolist() for k, v in sim_b.items()},
                        "simulation_std": {k: np.asarray(v[1]).tolist() for k, v in sim_b.items()},
                        "plateaus": {k: [float(np.asarray(sw[k])[np.searchsorted(sw["kappa"], x)])
                                         for x in (0.5, 1.5, 2.0)]
                                     for k in STYLE}}

# %% [markdown]
# The several-step curve drops at `κ = 1` (plateau 0: both directions are learned with
# `n ≍ d` per step) while one step and random features wait for `κ = 2`. At `d = 64` the
# one-step curve already decreases before `κ = 2`: its second-order (`d^{-1/2}`) part
# is not small yet. Random features stay near 1 beyond `κ = 2` because `p = 4d` neurons
# cannot represent the `≈ d²/2` quadratic features that the `κ ≥ 2` plateau assumes (it is
# the `p → ∞` limit).

# %% [markdown]
# ## The stairway sharpening with d
#
# The plateaus are `d → ∞` statements; at `d = 64` the steps are smooth crossovers. Here
# the one-step-with-preprocessing curve of the Hermite teacher is recomputed at several
# dimensions, in single precision (`dtype="float32"`: the differences from float64 are
# below `4√d·2⁻²⁴` relative, far under the seed spread — docs/validation.md), with `p = 2d`
# neurons and a readout on `min(n, 8p)` fresh samples. The shipped size is
# `d ∈ {64, 128}`; the figure in the docs was made with
# `GIANTSTEP_STAIRWAY_DS=64,128,256,512` (and `GIANTSTEP_STAIRWAY_FILE=…jsonl`, a
# resumable results file: the big points take minutes).
#
# At each κ inside a plateau we fit the gap to the plateau as `A·d^{-b}` (least squares
# in log–log over the dimensions): the gap shrinking with d is the stairway sharpening.

# %%
FS_DS = [int(v) for v in os.environ.get("GIANTSTEP_STAIRWAY_DS", "64,128").split(",")]
FS_FILE = os.environ.get("GIANTSTEP_STAIRWAY_FILE") or None
FS_SEEDS = [0, 1]
FS_KAPPAS = np.round(np.arange(0.75, 2.26, 0.25), 2)


def fs_config(d, kappa, seed):
    n = int(round(d ** kappa))
    p = 2 * d
    return dict(target=HERMITE, activation="relu", d=d, p=p, alpha=1.0, ell=float(kappa), steps=1,
                eta=ETA, preprocess=int(np.floor(kappa)), readout="gaussian", lam=LAM,
                alpha_readout=min(n, 8 * p) / d, n_test=N_TEST, seed=seed, measure_spike=False,
                dtype="float32")


configs = [fs_config(d, k, s) for d in FS_DS for k in FS_KAPPAS for s in FS_SEEDS]
records = gs.run_sweep(configs, FS_FILE, resume=FS_FILE is not None, workers=1, progress=False)
fs_err = np.array([r["result"]["readout"]["test_error"] for r in records]).reshape(
    len(FS_DS), len(FS_KAPPAS), len(FS_SEEDS))
fs_unresolved = sorted({q for r in records for q in r["result"]["float32_unresolved"]})
print("float32 quantities below the rounding level:", fs_unresolved or "none")
k_grid = np.asarray(th_a.stairway["kappa"])
plateau = np.asarray(th_a.stairway["one_step_preprocessed"])
fs_plateau = np.array([plateau[np.searchsorted(k_grid, k)] for k in FS_KAPPAS])
fs_gap = fs_err.mean(axis=2) - fs_plateau[None, :]
fit_kappas = [1.5, 2.25]  # inside the plateaus, away from the jumps
fits = {}
for kap in fit_kappas:
    j = int(np.flatnonzero(np.isclose(FS_KAPPAS, kap))[0])
    gaps = fs_gap[:, j]
    if len(FS_DS) >= 2 and np.all(gaps > 0):
        b, logA = np.polyfit(np.log(FS_DS), np.log(gaps), 1)
        fits[kap] = {"exponent": float(-b), "A": float(np.exp(logA)), "gaps": gaps.tolist()}
for kap, f in fits.items():
    print(f"κ = {kap}: gap to the plateau = {f['A']:.3g}·d^-{f['exponent']:.2f}   (gaps {np.round(f['gaps'], 4)})")

# %% figure="02_stairway_finite_size"
fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
ax.step(k_grid, plateau, where="post", color="black", lw=2.5, alpha=0.5, label="predicted plateaus")
colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(FS_DS)))
for i, d in enumerate(FS_DS):
    sd = fs_err[i].std(axis=1, ddof=1)
    ax.errorbar(FS_KAPPAS, fs_err[i].mean(axis=1), yerr=sd, fmt="o-", ms=3, lw=1, capsize=2,
                color=colors[i], label=f"d = {d}")
ax.set_xlabel(r"$\kappa = \log n / \log d$")
ax.set_ylabel("test error")
ax.set_title("one giant step, degrees < ⌊κ⌋ removed (float32)", fontsize=9)
ax.legend(fontsize=7, frameon=False)
for kap, f in fits.items():
    j = int(np.flatnonzero(np.isclose(FS_KAPPAS, kap))[0])
    bx.loglog(FS_DS, f["gaps"], "o", label=f"κ = {kap}")
    dd = np.geomspace(FS_DS[0], FS_DS[-1] * 2, 20)
    bx.loglog(dd, f["A"] * dd ** -f["exponent"], "--", lw=1, color=bx.lines[-1].get_color(),
              label=f"fit {f['A']:.2g}·d^-{f['exponent']:.2f}")
bx.set_xlabel("d")
bx.set_ylabel("simulated error − plateau")
bx.set_title("approach to the plateaus", fontsize=9)
bx.legend(fontsize=7, frameon=False)
fig.tight_layout()
show(fig)
SUMMARY["finite_size"] = {"ds": FS_DS, "kappa": FS_KAPPAS.tolist(), "error": fs_err.mean(axis=2).tolist(),
                          "plateau": fs_plateau.tolist(), "fits": {str(k): v for k, v in fits.items()},
                          "float32_unresolved": fs_unresolved}

# %%
print(json.dumps(SUMMARY, indent=1, default=float)[:2000])
