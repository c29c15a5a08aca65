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
# # 03 · Overlaps step by step: the deterministic equations against simulation
#
# After `t` giant steps with `n = α d` fresh samples each (second layer frozen, sign
# readout `s = ±1`), docs/model.md §5.3 predicts the overlaps `W* w` of every neuron type with
# the target directions, in the limit `d → ∞` then `p → ∞`: neurons with the same readout
# sign move together. `gs.overlap_trajectory` solves these equations; `gs.simulate` runs
# the protocol of §1 at finite `d`.
#
# Four cases:
#
# 1. a **staircase** target — the second direction appears at step 2;
# 2. a target that is **stuck on one direction** — `z1 + z1 z2 z3` has leap 2: with `n ≍ d`
#    the steps keep improving `z1` and never see `z2, z3`;
# 3. an **odd activation that cannot climb** — tanh on `z1 + z1 z2`: the second step would
#    need `E[tanh''(h)] ≠ 0`, which vanishes by parity;
# 4. the same target with **relu**, which climbs.
#
# Lines: equations. Dots: simulation, mean over seeds of the per-type mean overlap, error
# bars = standard error of that mean over seeds. Bands: spread of the overlaps across the
# neurons of the type (mean over seeds of the within-type standard deviation). At finite d
# each neuron starts with overlaps of order `d^{-1/2}` and each batch adds `O(η̃/√n)`.

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
D = 512 * SCALE          # input dimension
P = D // 2               # hidden neurons
SEEDS = list(range(5))
ALPHA = 2.0              # n = α d samples per step
ETA = 2.0                # η = η̃ p
STEPS = 4
CASES = [
    ("staircase", "(z1 + z1**2)/2 + (z2 - z2**2)/2", "relu"),
    ("stuck on z1 (leap 2)", "z1 + z1*z2*z3", "relu"),
    ("odd activation: tanh cannot climb", "z1 + z1*z2", "tanh"),
    ("same target, relu climbs", "z1 + z1*z2", "relu"),
]
print(f"d = {D}, p = {P}, n = {int(ALPHA * D)} per step, {STEPS} steps, seeds = {SEEDS}")

# %%
results = {}
for name, target, act in CASES:
    theory = gs.overlap_trajectory(target, act, alpha=ALPHA, eta=ETA, steps=STEPS, readout="sign")
    s_theory = [tp.s for tp in theory.steps[0].types]
    sims = [gs.simulate(target=target, activation=act, d=D, p=P, alpha=ALPHA, eta=ETA, steps=STEPS,
                        readout="sign", seed=seed, n_test=0, measure_spike=False) for seed in SEEDS]
    # simulation arrays (seed, step, type, direction), types ordered like the theory's
    def per_type(key, res, s_theory=s_theory):
        out = []
        for st in res.steps:
            by_s = {round(tp["s"]): tp[key] for tp in st["types"]}
            out.append([by_s[round(s)] for s in s_theory])
        return out
    mean = np.array([per_type("overlap_mean", r) for r in sims])
    spread = np.array([per_type("overlap_std", r) for r in sims])
    norm2 = np.array([per_type("norm2_mean", r) for r in sims])
    results[name] = dict(target=target, act=act, theory=theory, s=s_theory, mean=mean, spread=spread,
                         norm2=norm2)
    print(f"{name:36s} theory solved in {theory.quadrature['seconds']:.2f} s")

# %% figure="03_overlaps"
fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
steps = np.arange(STEPS + 1)
for ax, (name, R) in zip(axes.flat, results.items()):
    th = R["theory"].overlaps()          # (T+1, K, r)
    k = 0                                 # the s = +1 type
    r = th.shape[2]
    for i in range(r):
        color = f"C{i}"
        m = R["mean"][:, :, k, i]
        ax.plot(steps, th[:, k, i], "-", color=color, lw=2, label=f"z{i + 1}: equations")
        sem = m.std(axis=0, ddof=1) / np.sqrt(len(SEEDS)) if len(SEEDS) > 1 else None
        ax.errorbar(steps, m.mean(axis=0), yerr=sem,
                    fmt="o", color=color, ms=5, capsize=3, label=f"z{i + 1}: simulation")
        band = R["spread"][:, :, k, i].mean(axis=0)
        ax.fill_between(steps, m.mean(axis=0) - band, m.mean(axis=0) + band, color=color, alpha=0.12)
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_title(f"{name}\n{R['target']}, σ = {R['act']}", fontsize=9)
    ax.set_xlabel("step t")
    ax.set_ylabel("overlap ⟨w, e_i⟩ (neurons with s = +1)")
    ax.legend(fontsize=7, ncol=2, frameon=False)
fig.suptitle(f"§5.3 equations (lines) vs simulations (dots; d={D}, p={P}, α={ALPHA:g}, η̃={ETA:g}, "
             f"{len(SEEDS)} seeds, ± s.e.; bands: spread across neurons)", fontsize=10)
fig.tight_layout()
show(fig)

# %% [markdown]
# ### The numbers after the last step
#
# Per type (`s = ±1`) and direction: equations, simulation mean ± standard error over
# seeds, and the spread across neurons. For the staircase target docs/model.md §5.3 records
# `m₊ = (1.746, 0.349)` from the equations and `(1.767, 0.346)` from simulations at
# `d = 2048, p = 1024` (4 seeds).

# %%
rows, summary = [], {}
for name, R in results.items():
    th = R["theory"].overlaps()[-1]
    th_n2 = R["theory"].norms2()[-1]
    summary[name] = {"theory": th.tolist(), "simulation": R["mean"][:, -1].mean(axis=0).tolist(),
                     "simulation_sem": (R["mean"][:, -1].std(axis=0, ddof=1) / np.sqrt(len(SEEDS))).tolist()
                     if len(SEEDS) > 1 else None,
                     "spread": R["spread"][:, -1].mean(axis=0).tolist(),
                     "norm2_theory": th_n2.tolist(), "norm2_simulation": R["norm2"][:, -1].mean(axis=0).tolist()}
    for k, s in enumerate(R["s"]):
        for i in range(th.shape[1]):
            m = R["mean"][:, -1, k, i]
            sem = m.std(ddof=1) / np.sqrt(len(m)) if len(m) > 1 else float("nan")
            rows.append([name, f"{s:+.0f}", f"z{i + 1}", f"{th[k, i]:+.3f}", f"{m.mean():+.3f} ± {sem:.3f}",
                         f"{R['spread'][:, -1, k, i].mean():.3f}"])
        rows.append([name, f"{s:+.0f}", "‖w‖²", f"{th_n2[k]:.3f}", f"{R['norm2'][:, -1, k].mean():.3f}", ""])
display(table(["case", "s", "overlap", "equations", "simulation (± s.e.)", "spread across neurons"], rows))
SUMMARY["last_step"] = summary

# %% [markdown]
# What to look for:
#
# * **staircase**: the second direction grows at step 2 and the equations follow the
#   simulated means within their seed-to-seed error;
# * **stuck**: the overlaps with `z2, z3` stay at the `d^{-1/2}` noise level while `z1` keeps
#   growing — more steps with `n ≍ d` do not help; a leap needs `n ≍ d²`;
# * **tanh** learns `z1` but the `z2` overlap stays at zero (equations: exactly 0), while
#   **relu** on the same target climbs (`E[relu''(h)] = φ(0)/√Var h ≠ 0`).
#
# `gs.analyze("z1 + z1*z2", "tanh").leap_index` is `None` for exactly this reason
# (notebook 01).

# %%
print(json.dumps(SUMMARY, indent=1, default=float)[:2000])
