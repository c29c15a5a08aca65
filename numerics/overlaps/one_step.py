"""One giant step with n = α d: closed-form overlaps (docs/model.md §5.1).

With ``f_0 = Σ_τ π_τ s_τ μ_0`` the network output at initialisation and
``e = y − f_0``, Stein's lemma splits the update of a row of type ``s`` into

* the row itself rescaled by ``1 + η̃ s μ_2 E[e]``;
* the target overlap ``W* w = η̃ s μ_1 C_1``, ``C_1 = E[g* z]``;
* a shared component ``η̃ s μ_1 v`` with ``‖v‖² = E[e²]/α``;
* a private component of squared norm ``η̃² s² E[e²] Var σ'/α``,

with ``E[e²] = E[(g* − f_0)²] + Δ``. For single-index targets the spiked
random-features parameters (spike strength r, alignment γ, bulk scale c) are
returned per type (for the constant readout they are the ones of docs/model.md §5.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from giantstep.numerics.overlaps._params import check_common, target_second_moment
from giantstep.numerics.overlaps.readout_types import readout_types
from giantstep.numerics.overlaps.result import Spike, StepState, TypeState, _f, plot_steps
from giantstep.params import Boolean, validate_params
from giantstep.tables import FrameMixin
from giantstep.theory import Activation, Target


@dataclass
class OneStepType:
    """One readout type after one step (docs/model.md §5.1)."""

    s: float
    weight: float
    overlap: np.ndarray  # W* w = η̃ s μ_1 C_1
    rescale: float  # 1 + η̃ s μ_2 E[e]
    shared_norm2: float  # η̃² s² μ_1² E[e²]/α
    private_noise2: float  # η̃² s² E[e²] Var σ'/α
    norm2: float
    cosine: float  # ‖W* w‖/‖w‖
    signed_cosine: float  # ⟨w, C_1/‖C_1‖⟩/‖w‖
    spike: dict | None = None  # {"r", "gamma", "c"} for single-index targets

    def to_dict(self) -> dict:
        return _f(self.__dict__.copy())


@dataclass
class OneStepOverlaps(FrameMixin):
    """Result of :func:`one_step_overlaps`.

    ``r``, ``gamma``, ``c`` (spiked random features) are set for single-index
    targets with one type of positive ``s`` … precisely: they are those of the
    type ``s = 1`` when it exists (constant or sign readout), else None; every
    type carries its own in ``types[k].spike``.
    """

    target: str
    activation: str
    readout: str
    alpha: float
    eta: float
    noise: float
    symmetric: bool
    f0: float
    mean_e: float
    mean_e2: float
    C1: np.ndarray
    mu: tuple[float, float, float]
    var_dsigma: float
    types: list[OneStepType]
    r: float | None = None
    gamma: float | None = None
    c: float | None = None
    spike: Spike | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("types", "spike")}
        d["types"] = [t.to_dict() for t in self.types]
        if self.spike is not None:
            d["spike"] = self.spike.to_dict()
        d["steps"] = [st.to_dict() for st in self.as_steps()]
        return _f(d)

    def as_steps(self) -> list[StepState]:
        """The result as states at step 0 and step 1 (the schema of §5.3)."""
        r = len(self.C1)
        s0 = StepState(0, [TypeState(t.s, t.weight, np.zeros(r), 0.0, 1.0) for t in self.types], r)
        s1 = StepState(1, [TypeState(t.s, t.weight, t.overlap, t.shared_norm2,
                                     t.rescale**2 + t.private_noise2) for t in self.types], r + 1)
        return [s0, s1]

    def plot(self):
        """Figure of overlaps and cosines at step 0 and step 1."""
        return plot_steps(self.as_steps(), f"one step: {self.target} — {self.activation}, "
                                           f"α={self.alpha:g}, η̃={self.eta:g}")


@validate_params(symmetric=Boolean())
def one_step_overlaps(
    target: str | Target,
    activation: str | Activation,
    *,
    alpha: float,
    eta: float,
    readout: str = "constant",
    noise: float | None = None,
    n_types: int = 8,
    symmetric: bool = False,
) -> OneStepOverlaps:
    """Closed-form overlaps after one giant step with n = α d (docs/model.md §5.1).

    Parameters
    ----------
    target, activation : str or Target / Activation
        Target ``g*`` and student σ.
    alpha : float
        ``n/d > 0``.
    eta : float
        Rescaled learning rate η̃ ≥ 0.
    readout : {"constant", "sign", "gaussian"}
        Readout law (gaussian: ``n_types`` Gauss–Hermite types).
    noise : float, optional
        Label noise Δ (default ``target.noise``).
    n_types : int
        Types for the gaussian readout.
    symmetric : bool
        Symmetric pairs ``(w, a), (w, −a)``: ``f_0 = 0``.

    The Hermite coefficients come from the theory layer (exact for polynomials and
    relu/erf/…, mpmath otherwise): there is no tolerance to set.

    Returns
    -------
    OneStepOverlaps
    """
    tgt, act, alpha, eta, delta = check_common(target, activation, alpha, eta, noise)
    s, pi = readout_types(readout, n_types, symmetric=symmetric)
    mu0, mu1, mu2 = act.mu(0), act.mu(1), act.mu(2)
    Edsig2 = _mean_dsigma2(act)
    var_ds = Edsig2 - mu1 * mu1
    f0 = float(np.sum(pi * s) * mu0)
    g_mean = float(tgt.tensor(0))
    g2 = target_second_moment(tgt)
    C1 = np.asarray(tgt.tensor(1), dtype=float).reshape(tgt.r)
    Ee = g_mean - f0
    Ee2 = g2 - 2.0 * f0 * g_mean + f0 * f0 + delta
    nC1 = float(np.linalg.norm(C1))
    types = []
    for sk, pk in zip(s, pi):
        es = eta * sk
        overlap = es * mu1 * C1
        rescale = 1.0 + es * mu2 * Ee
        shared = es**2 * mu1**2 * Ee2 / alpha
        private = es**2 * Ee2 * var_ds / alpha
        norm2 = rescale**2 + float(overlap @ overlap) + shared + private
        cos = float(np.linalg.norm(overlap)) / np.sqrt(norm2)
        scos = es * mu1 * nC1 / np.sqrt(norm2)
        spike = None
        if tgt.r == 1:
            m1s = float(C1[0])
            denom = np.sqrt(m1s**2 + Ee2 / alpha)
            spike = {
                "r": float(es * mu1 * denom),
                "gamma": float(m1s / denom) if denom > 0 else float("nan"),
                "c": float(np.sqrt(rescale**2 + private)),
            }
        types.append(OneStepType(float(sk), float(pk), overlap, rescale, shared, private, norm2,
                                 cos, scos, spike))
    res = OneStepOverlaps(tgt.text, act.name, readout, alpha, eta, delta, bool(symmetric), f0, Ee,
                          Ee2, C1, (mu0, mu1, mu2), var_ds, types)
    # the readout-weighted rank-one part of the update, Σ s_j Δw_j / Σ s_j² = η̃ μ1 (C1 + v)
    # (every readout law; v ⟂ the target with ‖v‖² = E[e²]/α)
    denom1 = float(nC1**2 + Ee2 / alpha)
    if denom1 > 0 and mu1 != 0:
        res.spike = Spike(r2=float(eta**2 * mu1**2 * denom1), gamma=float(nC1 / np.sqrt(denom1)))
    unit = [t for t in types if abs(t.s - 1.0) < 1e-12]
    if tgt.r == 1 and unit:
        res.r, res.gamma, res.c = unit[0].spike["r"], unit[0].spike["gamma"], unit[0].spike["c"]
    return res


def _mean_dsigma2(act: Activation) -> float:
    """``E[σ'(ξ)²]`` from the smoothing module (closed form or adaptive Gauss–Hermite)."""
    from giantstep.numerics.overlaps.smoothing import smoothed

    return float(smoothed(act, np.zeros(1), 1.0, tol=1e-12)[3, 0])
