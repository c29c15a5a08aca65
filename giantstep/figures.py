"""Figure helpers shared by every plot of giantstep (matplotlib's object API, fig-or-ax).

Every ``plot`` method of a result returns a :class:`matplotlib.figure.Figure` built without
pyplot (no global state: safe in threads and servers) and, where one curve family is drawn,
accepts ``ax=`` to draw on an existing axes and ``label=`` to name the family. matplotlib is
imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: gid of the main line of a curve family: counting them gives the next family its colour.
FAMILY_GID = "giantstep-family"


def figure_and_axes(ax: Any = None, figsize: tuple[float, float] = (5.5, 4.0)) -> tuple[Any, Any]:
    """``(fig, ax)``: the figure of ``ax`` when given, else a new one-axes Figure."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


def new_figure(figsize: tuple[float, float]) -> Any:
    """An empty Figure (object API, no pyplot state)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def family_color(ax: Any) -> str:
    """A colour not used yet by a curve family on ``ax`` (C0, C1, … in drawing order)."""
    n = sum(1 for line in ax.get_lines() if line.get_gid() == FAMILY_GID)
    return f"C{n % 10}"


def integer_steps(ax: Any) -> None:
    """Integer ticks on the x axis (steps t = 0, 1, 2, …)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def label_once(ax: Any, label: str) -> str | None:
    """``label`` unless a line of ``ax`` already carries it (one legend entry per meaning)."""
    return None if any(line.get_label() == label for line in ax.get_lines()) else label


def stairway_figure(kappa: Sequence[float], curves: dict[str, Sequence[float]], labels: dict[str, str],
                    target: str, total: float | None = None) -> Any:
    """Small multiples of the error plateaus versus κ = log n / log d, one panel per method.

    ``curves[key]`` is the plateau of method ``key`` on the grid ``kappa``; ``labels[key]`` its
    name (the panel's title); ``total`` (Var of the target) is drawn dotted in every panel.
    """
    from matplotlib.figure import Figure

    keys = list(curves)
    fig = Figure(figsize=(3.0 * len(keys), 3.2))
    axes = fig.subplots(1, len(keys), sharey=True)
    axes = list(axes) if len(keys) > 1 else [axes]
    for i, (ax, key) in enumerate(zip(axes, keys)):
        ax.step(kappa, curves[key], where="post", color=f"C{i}", lw=2, label=labels[key])
        if total is not None:
            ax.axhline(total, color="0.6", lw=0.8, ls=":")
        ax.set_title(labels[key], fontsize=9)
        ax.set_xlabel(r"$\kappa = \log n / \log d$")
        integer_steps(ax)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test-error plateau")
    axes[0].set_ylim(bottom=0)
    fig.suptitle(f"stairway of plateaus for g* = {target}")
    fig.tight_layout()
    return fig


def never_band(ax: Any, top: float) -> None:
    """A shaded band at x = ``top`` labelled "never" (no numeric κ is drawn for 'never')."""
    ax.axvspan(top - 0.4, top + 0.4, color="0.9", zorder=0)
    ticks = list(range(0, int(round(top))))
    ax.set_xticks([*ticks, top])
    ax.set_xticklabels([str(t) for t in ticks] + ["never"])
    ax.set_xlim(-0.2, top + 0.4)


_ALPHA_IN_NAME = r"alpha=([0-9.eE+-]+)"


def validation_figure(points: list[dict], markers: dict[str, tuple[str, str, str]], title: str,
                      learning_curve: bool) -> Any:
    """Theory against simulation for a validation report (see ``ValidationReport.plot``).

    ``points``: ``{"d", "name", "theory", "sim_mean", "se", "verdict"}``; ``markers[verdict]``:
    ``(marker, colour, label)`` (the colour is replaced by the colour of d).
    """
    import re

    import numpy as np

    fig, ax = figure_and_axes(figsize=(6.0, 4.5))
    ds = sorted({p["d"] for p in points})
    if learning_curve:
        alpha = np.array([float(re.search(_ALPHA_IN_NAME, p["name"]).group(1)) for p in points])
        x = alpha
        theory_at = dict(sorted(zip(alpha.tolist(), [p["theory"] for p in points])))
        ax.plot(list(theory_at), list(theory_at.values()), "k-", lw=1.5, label="theory (d → ∞)")
        span = (alpha.max() - alpha.min()) or 1.0
    else:
        x = np.array([p["theory"] for p in points])
        lo, hi = float(x.min()), float(x.max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="simulation = theory")
        span = 0.0
    sim = np.array([p["sim_mean"] for p in points])
    se = np.array([p["se"] or 0.0 for p in points])
    verdict = np.array([p["verdict"] for p in points])
    d_of = np.array([p["d"] for p in points])
    for i, d in enumerate(ds):
        shift = (i - (len(ds) - 1) / 2) * 0.012 * span  # side by side, not on top of each other
        for v, (marker, _, vlabel) in markers.items():
            sel = (d_of == d) & (verdict == v)
            if not sel.any():
                continue
            ax.errorbar(x[sel] + shift, sim[sel], yerr=se[sel], fmt=marker, ms=5, color=f"C{i}", capsize=2,
                        mfc="none" if v == "undetermined" else f"C{i}", ls="none",
                        label=f"simulation d = {d}" + ("" if v == "agrees" else f" ({vlabel})"))
    ax.set_xlabel("α = n/d (readout samples)" if learning_curve else "theory")
    ax.set_ylabel(("test error" if learning_curve else "simulation") + " (mean ± s.e. over seeds)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return fig
