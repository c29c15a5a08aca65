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
# # 01 · Hermite energies, staircases and leap indices
#
# Which directions of a multi-index target `g*(z)`, `z = W* x ∈ R^r`, can a two-layer
# network learn with a few giant gradient steps, and with how many samples?
# docs/model.md §3 answers with the Hermite tensors `C_k(g*) = E[g* He_k(z)]`:
#
# * the **information exponent** `k* = min{k ≥ 1 : C_k ≠ 0}`;
# * the **staircase** `V_{t+1} = V_t ⊕ E_1(V_t)`: what t giant steps with `n ≍ d` samples each learn;
# * the **leap index**: grow `V` greedily by the smallest order `k` with `E_k(V) ≠ 0`;
#   the largest `k` used is the leap (leap 1 ⟺ the staircase reaches the whole relevant subspace `U*`).
#
# This notebook computes them for a gallery of targets with `gs.analyze` (exact rational
# arithmetic for polynomials), checks that they do not depend on the basis in which
# the target is written, and shows the activation-aware cases where the student's
# parity forbids a climb. Pure theory: it runs in seconds.

# %%
import json
import os

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
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

# Nothing to scale in this notebook (no simulation); kept for uniformity.
SCALE = int(os.environ.get("GIANTSTEP_NOTEBOOK_SCALE", "1"))
MAX_DEGREE = 5  # Hermite degrees shown in the energy tables

# %% [markdown]
# ## The gallery
#
# Single-index targets with information exponents 1–4 (Hermite polynomials normalised to
# unit variance), staircases, leap-2 and leap-3 targets. `He_k` are the probabilists'
# Hermite polynomials (`E[He_j He_k] = k! δ_jk`).

# %%
GALLERY = [
    # (family, target)
    ("single index, k* = 1", "z1"),
    ("single index, k* = 2", "He2(z1)/sqrt(2)"),
    ("single index, k* = 3", "He3(z1)/sqrt(6)"),
    ("single index, k* = 4", "He4(z1)/sqrt(24)"),
    ("single index, relu", "relu(z1)"),
    ("staircase, 2 steps", "z1 + z1*z2"),
    ("staircase, 3 steps", "z1 + z1*z2 + z1*z2*z3"),
    ("staircase along e1 ± e2", "(z1 + z1**2)/2 + (z2 - z2**2)/2"),
    ("leap 2", "z1*z2"),
    ("leap 1 then leap 2", "z1 + z1*z2*z3"),
    ("leap 2 (its order-3 part rides along)", "He3(z1) + z1*z2"),
    ("leap 3", "z1*z2*z3"),
]

analyses = {}
rows = []
for family, expr in GALLERY:
    a = gs.analyze(expr)
    analyses[expr] = a
    stair = " ⊂ ".join(str(s["dim"]) for s in a.staircase) or "—"
    rows.append([family, f"`{expr}`", a.r, a.information_exponent, a.leap_index, a.relevant_dim,
                 stair, ", ".join(map(str, a.leaps))])
display(table(["family", "target", "r", "k*", "leap", "dim U*", "staircase dims", "greedy leaps"], rows))
SUMMARY["gallery"] = {
    expr: {"k_star": a.information_exponent, "leap": a.leap_index, "relevant_dim": a.relevant_dim,
           "staircase_dims": [s["dim"] for s in a.staircase], "leaps": list(a.leaps)}
    for expr, a in analyses.items()
}

# %% [markdown]
# **Reading the table.** `z1 + z1*z2` is learned in two giant steps with `n ≍ d`: step 1
# finds `z1` (linear term), step 2 finds `z2` because, once `z1` is known, `z1*z2` is
# *linear* in `z2` (`E[g He_1(z1) He_1(z2)] ≠ 0`). In `z1 + z1*z2*z3` the remaining
# directions enter only through `He_1(z2)He_1(z3)`, an order-2 term: the staircase stops
# at dimension 1, and a leap of 2 (batches `n ≍ d²`) is needed.
#
# ### Hermite energies
#
# `‖P_k g*‖² = Σ_{|β|=k} E[g* He_β]²/β!` — the share of the variance at each degree. The
# random-features / kernel learner needs `n ≍ d^k` samples for degree k (notebook 02).

# %% figure="01_hermite_energies"
names = [expr for _, expr in GALLERY]
E = np.array([[gs.Target(expr).energy(k) for k in range(MAX_DEGREE + 1)] for expr in names])
frac = E[:, 1:] / E[:, 1:].sum(axis=1, keepdims=True)  # variance shares (degree ≥ 1)

fig, ax = plt.subplots(figsize=(7.5, 5.2))
im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1, aspect="auto")
for i in range(frac.shape[0]):
    for k in range(frac.shape[1]):
        if E[i, k + 1] > 1e-12:
            ax.text(k, i, f"{E[i, k + 1]:.3g}", ha="center", va="center",
                    color="white" if frac[i, k] > 0.6 else "black", fontsize=8)
ax.set_xticks(range(MAX_DEGREE), [f"k={k}" for k in range(1, MAX_DEGREE + 1)])
ax.set_yticks(range(len(names)), names, fontsize=8)
ax.set_title("Hermite energies ‖P_k g*‖² (colour: share of the variance)")
fig.colorbar(im, ax=ax, fraction=0.04)
fig.tight_layout()
show(fig)
SUMMARY["energies"] = {expr: E[i].tolist() for i, expr in enumerate(names)}

# %% [markdown]
# ### Staircases and leaps as a picture
#
# Each row is a target; each block is one greedy stage of the leap analysis, as wide as
# the number of directions it adds and coloured by the order `k` of the stage (`k = 1`:
# a giant step with `n ≍ d` suffices; `k`: `n ≍ d^k`). Blocks with a thick black edge are
# reached by the plain staircase (several steps, `n ≍ d` each).

# %% figure="01_leaps"
colors = {1: "tab:green", 2: "tab:orange", 3: "tab:red", 4: "tab:purple"}
fig, ax = plt.subplots(figsize=(7.5, 4.8))
for i, expr in enumerate(names):
    a = analyses[expr]
    reached = a.staircase[-1]["dim"] if a.staircase else 0
    x = 0
    for k, B in zip(a.leaps, a.stages):
        w = B.shape[1]
        ax.barh(i, w, left=x, color=colors.get(k, "gray"),
                edgecolor="black", linewidth=2.5 if x + w <= reached else 0.5)
        ax.text(x + w / 2, i, f"k={k}", ha="center", va="center", fontsize=8)
        x += w
ax.set_yticks(range(len(names)), names, fontsize=8)
ax.invert_yaxis()
ax.set_xlabel("dimension of the learned subspace")
ax.set_xticks(range(4))
ax.set_xlim(0, 4.4)
handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors.values()]
ax.legend(handles, [rf"order {k}: $n \asymp d^{k}$" for k in colors], fontsize=8, loc="center right")
ax.set_title("greedy leaps (thick edge: reached by the n ≍ d staircase)")
fig.tight_layout()
show(fig)

# %% [markdown]
# ## Rotated targets
#
# Everything above is basis-free: the tensors `C_k` transform covariantly under
# `z → Qz`. We rotate three targets by a rational orthogonal matrix `Q` (Cayley transform
# of a rational skew matrix, so the rotated polynomial is still exact) and compare. The
# subspaces found at each stage must rotate: `V(g∘Q) = Qᵀ V(g)` (compared through their
# orthogonal projectors, on the first greedy stage).

# %%
S = sp.Matrix([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]]) / 3
Q = (sp.eye(3) - S) * (sp.eye(3) + S).inv()  # rational and orthogonal
assert sp.simplify(Q.T * Q) == sp.eye(3)
# the parser's own symbols z1, z2, z3 (same assumptions), ordered by name
z = sp.Matrix(sorted(gs.Target("z1 + z2 + z3").expr.free_symbols, key=lambda s: s.name))
Qz = Q * z
Qf = np.array(Q.evalf(), dtype=float)

rows, rot = [], {}
for expr in ["z1 + z1*z2", "z1 + z1*z2*z3", "z1*z2 + He3(z3)"]:
    g = gs.Target(expr).expr
    # pad to three variables so that the rotation mixes all of them
    rotated = sp.expand(g.subs({z[i]: Qz[i] for i in range(3)}, simultaneous=True))
    a, b = gs.analyze(gs.Target(expr, r=3)), gs.analyze(rotated)
    # V(g∘Q) = Qᵀ V(g) for the first greedy stage: compare the orthogonal projectors
    Pa = a.stages[0] @ a.stages[0].T
    Pb = b.stages[0] @ b.stages[0].T
    err = float(np.abs(Qf.T @ Pa @ Qf - Pb).max())
    rot[expr] = {"k_star": [a.information_exponent, b.information_exponent],
                 "leap": [a.leap_index, b.leap_index],
                 "staircase_dims": [[s["dim"] for s in a.staircase], [s["dim"] for s in b.staircase]],
                 "leaps": [list(a.leaps), list(b.leaps)], "projector_error": err}
    rows.append([f"`{expr}`", f"`{str(rotated)[:60]}…`", f"{a.information_exponent} / {b.information_exponent}",
                 f"{a.leap_index} / {b.leap_index}",
                 f"{[s['dim'] for s in a.staircase]} / {[s['dim'] for s in b.staircase]}", f"{err:.1e}"])
display(table(["target", "rotated (first characters)", "k* orig / rot", "leap orig / rot",
               "staircase dims orig / rot", "max |Qᵀ P Q − P(rot)|, stage 1"], rows))
SUMMARY["rotated"] = rot

# %% [markdown]
# ## Activation-aware cases
#
# The generic statements assume a student whose relevant Hermite coefficients do not
# vanish. By Gaussian integration by parts, the gradient along a new direction entering
# through `He_γ(z_V) He_1(z_⊥)` is proportional to `E[σ^{(|γ|+1)}(h)]`; for an odd student
# (tanh, erf) and even `|γ| + 1` this vanishes at **every** scale, so the step teaches
# nothing (docs/model.md §3, seen in simulations — see notebook 03). `leap = None` means that
# the student never reaches the whole relevant subspace.

# %%
targets = ["z1 + z1*z2", "(z1 + z1**2)/2 + (z2 - z2**2)/2", "z1 + z1*z2*z3", "z1*z2"]
acts = ["relu", "tanh", "erf", "He2 + He1", "x**2"]
rows, aware = [], {}
for expr in targets:
    row = [f"`{expr}`", gs.analyze(expr).leap_index]
    for act in acts:
        a = gs.analyze(expr, act)
        dims = [s["dim"] for s in a.staircase]
        aware[f"{expr} | {act}"] = {"leap": a.leap_index, "generic": a.generic_leap_index,
                                    "staircase_dims": dims}
        row.append(f"{a.leap_index} ({'⊂'.join(map(str, dims)) or '—'})")
    rows.append(row)
display(table(["target", "generic leap"] + [f"σ = {a}" for a in acts], rows))
print("leap index (staircase dims with n ≍ d per step); None = part of U* never learned")
SUMMARY["activation_aware"] = aware

# %% [markdown]
# `tanh` learns `z1` of `z1 + z1*z2` and stops: the second step needs `E[σ''(h)] ≠ 0` and
# tanh'' is odd. `relu` climbs. With `z1 + z1*z2*z3` the extrapolated rule for `k ≥ 2`
# (documented in `docs/theory.md` as not yet checked against simulation) says that relu
# cannot take the order-3 leap because `μ_3(relu) = 0` at every scale.
#
# ## Per-direction thresholds
#
# `gs.thresholds` turns the same analysis into sample-complexity exponents per direction
# (docs/model.md §4): `one step` = κ needed by one giant step without preprocessing
# (`None`: never), `preprocessed` = `ℓ(v)`, the κ needed when the lower-degree components of
# the labels are removed, `staircase step` = the step at which `n ≍ d` steps reach it.

# %%
rows, thr = [], {}
for expr in ["z1 + z1*z2", "z1 + z1*z2*z3", "(He4(z1)/24 + He2(z1)/2 + He1(z1) + He4(z2)/24 + He2(z2)/2 + He1(z2))/2"]:
    th = gs.thresholds(expr)
    thr[expr] = th.directions
    for dvec in th.directions:
        rows.append([f"`{expr[:40]}`", np.round(dvec["vector"], 3).tolist(), dvec["one_step_exponent"],
                     dvec["one_step_exponent_preprocessed"], dvec["staircase_step"]])
display(table(["target", "direction", "one step", "preprocessed ℓ(v)", "staircase step"], rows))
SUMMARY["thresholds"] = thr

# %%
print(json.dumps(SUMMARY, indent=1, default=float)[:2000])
