"""Result objects of the overlap equations (docs/model.md §5), JSON- and plot-ready."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from giantstep.jsonable import to_jsonable
from giantstep.tables import FrameMixin


def _f(x: Any) -> Any:
    """Plain-Python (JSON-ready) copy of numbers and arrays; NaN becomes None."""
    return to_jsonable(x)


@dataclass
class Spike:
    """The rank-one part ``u`` of the first update (docs/model.md §5.1): predicted and measured.

    The equations give ``u = η̃ μ1 (C1 + v)`` with ``‖v‖² = E[e²]/α``: ``r2 = ‖u‖²`` (the r²
    of the spiked random features) and ``gamma = ‖W* u‖/‖u‖``. The simulator measures the
    same two numbers from ``u = Σ_j s_j Δw_j / Σ_j s_j²`` and adds the top right singular
    vector v of ``ΔW``: ``alignment = ‖W* v‖`` (→ gamma as d → ∞), ``strength2 = σ_max²/p``
    and ``direction`` (first r entries of v). One record, so that predictions and
    measurements are compared field by field.
    """

    r2: float | None
    gamma: float | None
    alignment: float | None = None
    strength2: float | None = None
    direction: list | None = None

    def to_dict(self) -> dict:
        return _f({k: v for k, v in self.__dict__.items() if v is not None})


@dataclass
class TypeState:
    """One neuron type after some steps (docs/model.md §5.3).

    ``overlap`` = ``W* w`` (first r coefficients ``m_τ``), ``shared_norm2`` = squared
    norm of the coefficients on the shared directions, ``private_var`` = ``q_τ``,
    ``norm2 = ‖overlap‖² + shared_norm2 + private_var``, ``cosine = ‖W* w‖/‖w‖``.
    """

    s: float
    weight: float
    overlap: np.ndarray
    shared_norm2: float
    private_var: float

    @property
    def norm2(self) -> float:
        return float(self.overlap @ self.overlap + self.shared_norm2 + self.private_var)

    @property
    def cosine(self) -> float:
        return float(np.sqrt(self.overlap @ self.overlap / self.norm2))

    def to_dict(self) -> dict:
        return _f(
            {
                "s": self.s,
                "weight": self.weight,
                "overlap": self.overlap,
                "norm2": self.norm2,
                "cosine": self.cosine,
                "shared_norm2": self.shared_norm2,
                "private_var": self.private_var,
            }
        )


@dataclass
class StepState:
    """State of every type after ``step`` steps, with the network output's statistics.

    ``output_correlation`` is the Pearson correlation of the mean-field network
    output ``F`` with ``g*`` (None at initialisation, where F is constant);
    ``output_mse = E[(y − F)²]`` with the label noise.
    """

    step: int
    types: list[TypeState]
    latent_dim: int
    output_correlation: float = float("nan")
    output_mse: float = float("nan")
    output_mean: float = float("nan")
    integration_dim: int = 0

    def to_dict(self) -> dict:
        return {
            "step": self.step,
            "types": [t.to_dict() for t in self.types],
            "latent_dim": int(self.latent_dim),
            "output_correlation": _f(self.output_correlation),
            "output_mse": _f(self.output_mse),
            "output_mean": _f(self.output_mean),
            "integration_dim": int(self.integration_dim),
        }


def plot_steps(steps: list[StepState], title: str = ""):
    """Figure of the target overlaps (one line per type and direction) and cosines versus step.

    Integer step ticks; types drawn later get open markers of a smaller size and are offset by
    a few points so that types with identical curves (e.g. the cosines of s = ±1) stay visible.
    """
    from matplotlib import colormaps

    from giantstep.figures import integer_steps, new_figure

    r = len(steps[0].types[0].overlap)
    K = len(steps[0].types)
    x = [st.step for st in steps]
    fig = new_figure((10, 4))
    axes = fig.subplots(1, 2)
    cmap = colormaps["viridis" if K > 2 else "tab10"]
    markers = "osD^v<>ph*"
    for k in range(K):
        color = cmap(k / max(K - 1, 1)) if K > 2 else cmap(k)
        s = steps[0].types[k].s
        style = dict(marker=markers[k % len(markers)], color=color, ms=max(7 - 1.5 * k, 3),
                     mfc=color if k == 0 else "none")
        for i in range(r):
            ys = [st.types[k].overlap[i] for st in steps]
            axes[0].plot(x, ys, ls=["-", "--", ":", "-."][i % 4], label=f"s={s:+.2f}, z{i + 1}", **style)
        axes[1].plot(x, [st.types[k].cosine for st in steps], ls=["-", "--", ":", "-."][k % 4],
                     label=f"s={s:+.2f}", **style)
    axes[0].set_ylabel("overlap ⟨w, W*_i⟩")
    axes[1].set_ylabel("cosine ‖W* w‖/‖w‖")
    for ax in axes:
        ax.set_xlabel("giant step t")
        integer_steps(ax)
    if K * r <= 12:
        axes[0].legend(fontsize=7)
    if K <= 12:
        axes[1].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@dataclass
class OverlapTrajectory(FrameMixin):
    """Several giant steps (docs/model.md §5.3): the state of every type after each step.

    ``steps[0]`` is the initialisation, ``steps[t]`` the state after t steps.
    ``quadrature`` records the accuracy bookkeeping (nodes per axis, the
    difference with the previous rule, the discarded shared variance).
    """

    target: str
    activation: str
    readout: str
    alpha: float
    eta: float
    noise: float
    normalize: bool
    steps: list[StepState]
    quadrature: dict = field(default_factory=dict)

    def overlaps(self) -> np.ndarray:
        """Array ``(T+1, K, r)`` of target overlaps."""
        return np.array([[t.overlap for t in st.types] for st in self.steps])

    def norms2(self) -> np.ndarray:
        """Array ``(T+1, K)`` of squared norms."""
        return np.array([[t.norm2 for t in st.types] for st in self.steps])

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "activation": self.activation,
            "readout": self.readout,
            "alpha": self.alpha,
            "eta": self.eta,
            "noise": self.noise,
            "normalize": self.normalize,
            "steps": [st.to_dict() for st in self.steps],
            "quadrature": _f(self.quadrature),
        }

    def plot(self):
        """Matplotlib figure of overlaps and cosines versus step."""
        return plot_steps(self.steps, f"{self.target} — {self.activation}, {self.readout} readout, "
                                      f"α={self.alpha:g}, η̃={self.eta:g}")
