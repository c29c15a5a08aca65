"""Where the test-error curves are checked against simulation: one record per region.

Each :class:`CheckedRegion` is the box of parameters spanned by the configurations whose
curve agreed with simulations of docs/model.md §1 within 0.01 + 2 standard errors (the tables
of docs/test_error.md and docs/multi_step_error.md). A curve point outside its region is
returned with ``validated = False`` and a warning on stderr; η̃ = 0 (the lazy curve, exact
by Mei & Montanari 2019) is always validated. :data:`CHECKED_REGIONS` is the one table the
curves (:mod:`giantstep.numerics.test_error.curves`) and the docs' maps read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# "auto" uses the exact bulk model when the step's gradient noise η̃²/α0 exceeds this value:
# the spiked model is within 0.007 of simulation at η̃²/α0 = 2 (config A) and 4.5 (config B)
# and 0.022–0.04 off at 18–21 (docs/test_error.md); between 4.5 and 18 it is not checked
BULK_NOISE = 4.5


@dataclass(frozen=True)
class CheckedRegion:
    """A box of parameters checked against simulation.

    Attributes
    ----------
    equations : {"one step", "one step, several types", "several steps",
                 "several steps, several types"}
        Which equations the region belongs to.
    mode : str
        Spectrum mode (``"limit"``, ``"sampled"``, ``"bulk"``) or, for several neuron
        types, the readout law (``"sign"``, ``"gaussian"``).
    family : {"odd", "mu2"}
        Student family: μ2(σ) = 0 (tanh, erf, …) or not (relu, …).
    alpha0, psi, alpha : (float, float)
        Closed ranges of the step batch ratio α0, the width ratio ψ = p/d and the readout
        ratio α = n/d.
    eta_max : float
        Largest rescaled learning rate η̃.
    noise_max : float
        Largest step gradient noise η̃²/α0 (∞: no bound).
    steps_max : int or None
        Largest step index t (several steps), None for one step.
    source : str
        The rows of the docs' simulation tables the box is spanned by.
    """

    equations: str
    mode: str
    family: str
    alpha0: tuple[float, float]
    eta_max: float
    psi: tuple[float, float]
    alpha: tuple[float, float]
    noise_max: float = math.inf
    steps_max: int | None = None
    source: str = ""

    def contains(self, alpha0: float, eta: float, psi: float, step: int = 1) -> bool:
        """Whether the configuration ``(α0, η̃, ψ, t)`` lies in the box (α aside)."""
        return (self.alpha0[0] <= alpha0 <= self.alpha0[1] and eta <= self.eta_max
                and eta * eta / alpha0 <= self.noise_max and self.psi[0] <= psi <= self.psi[1]
                and (self.steps_max is None or step <= self.steps_max))

    def bounds_text(self) -> str:
        """``α0 in [a, b], η̃ ≤ e[, η̃²/α0 ≤ n], ψ in [a, b][, t ≤ T]`` for messages."""
        text = f"α0 in [{self.alpha0[0]:g}, {self.alpha0[1]:g}], η̃ ≤ {self.eta_max:g}"
        if math.isfinite(self.noise_max):
            text += f", η̃²/α0 ≤ {self.noise_max:g}"
        text += f", ψ in [{self.psi[0]:g}, {self.psi[1]:g}]"
        if self.steps_max is not None:
            text += f", t ≤ {self.steps_max}"
        return text

    def alpha_flags(self, alphas: np.ndarray, alpha_min: float | None = None) -> tuple[np.ndarray, str]:
        """Per-point flags of the α range (lower end raised to ``alpha_min`` if given) and the
        reason for False (empty when every point is inside)."""
        lo = self.alpha[0] if alpha_min is None else max(self.alpha[0], alpha_min)
        hi = self.alpha[1]
        ok = (alphas >= lo) & (alphas <= hi)
        return ok, ("" if ok.all() else f"α outside the checked range [{lo:g}, {hi:g}]")


ONE_STEP = "one step"
ONE_STEP_TYPES = "one step, several types"
SEVERAL_STEPS = "several steps"
SEVERAL_STEPS_TYPES = "several steps, several types"

CHECKED_REGIONS: tuple[CheckedRegion, ...] = (
    # one step, one neuron type (docs/test_error.md, "Where the numbers are checked")
    CheckedRegion(ONE_STEP, "limit", "odd", (0.5, 20.0), 3.0, (0.5, 2.0), (0.2, 3.0), BULK_NOISE,
                  source="docs/test_error.md, configs A and B and the ψ rows"),
    CheckedRegion(ONE_STEP, "sampled", "odd", (0.5, 20.0), 3.0, (1.0, 1.0), (0.2, 3.0), BULK_NOISE,
                  source="docs/test_error.md, configs A and B"),
    CheckedRegion(ONE_STEP, "bulk", "odd", (0.3, 20.0), 3.0, (1.0, 1.0), (0.2, 3.0),
                  source="docs/test_error.md, exact bulk model"),
    CheckedRegion(ONE_STEP, "bulk", "mu2", (0.3, 20.0), 3.0, (0.5, 2.0), (0.2, 3.0),
                  source="docs/test_error.md, exact bulk model (relu)"),
    # one step, several neuron types (d = 1500, 4 seeds, 2·10⁴ test points)
    CheckedRegion(ONE_STEP_TYPES, "sign", "mu2", (0.5, 2.0), 3.0, (0.5, 2.0), (0.5, 2.0),
                  source="docs/test_error.md, Several neuron types, rows R1–R4"),
    CheckedRegion(ONE_STEP_TYPES, "gaussian", "mu2", (1.0, 1.0), 2.0, (1.0, 1.0), (0.5, 2.0),
                  source="docs/test_error.md, Several neuron types, row G2"),
    CheckedRegion(ONE_STEP_TYPES, "gaussian", "odd", (0.5, 1.0), 3.0, (1.0, 1.0), (0.5, 2.0),
                  source="docs/test_error.md, Several neuron types, rows G1, G3"),
    # several steps (d = 1024, 8 seeds); the limit mode (idealised bulk) has no region: it
    # missed by up to 0.12 (relu) and 0.03–0.06 (tanh) where the bulk mode agreed
    CheckedRegion(SEVERAL_STEPS, "bulk", "odd", (1.0, 2.0), 2.0, (1.0, 2.0), (0.5, 2.0), steps_max=4,
                  source="docs/multi_step_error.md, Checked region"),
    CheckedRegion(SEVERAL_STEPS, "bulk", "mu2", (1.0, 2.0), 1.0, (0.5, 1.0), (0.5, 2.0), steps_max=4,
                  source="docs/multi_step_error.md, Checked region"),
    # several steps, several neuron types (d = 1024, 8–12 seeds)
    CheckedRegion(SEVERAL_STEPS_TYPES, "sign", "mu2", (1.0, 1.0), 1.5, (0.5, 1.0), (0.5, 2.0), steps_max=4,
                  source="docs/multi_step_error.md, Several neuron types after several steps, SR1–SR3"),
    CheckedRegion(SEVERAL_STEPS_TYPES, "gaussian", "odd", (1.0, 1.0), 1.5, (1.0, 1.0), (0.5, 2.0),
                  steps_max=4,
                  source="docs/multi_step_error.md, Several neuron types after several steps, GT1"),
)


def checked_region(equations: str, mode: str, family: str) -> CheckedRegion | None:
    """The record of :data:`CHECKED_REGIONS` for ``(equations, mode, family)``, or None."""
    for region in CHECKED_REGIONS:
        if (region.equations, region.mode, region.family) == (equations, mode, family):
            return region
    return None
