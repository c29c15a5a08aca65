"""What a float32 simulation can resolve.

With ``dtype="float32"`` the inputs, the preactivations ``h = X Wᵀ``, the
features and the per-chunk gradient products are float32 (BLAS ``sgemm``); the
weights, the gradient accumulator across chunks, the readout solve and every
reported mean are float64 (:mod:`.simulator`). The float32 rounding therefore
enters through d-term inner products: the relative error of ``h = ⟨w, x⟩`` is
at most ``γ_d ≈ d·u`` (u = 2⁻²⁴ the unit roundoff) in the worst case and of order
``√d·u`` for rounding errors of random sign (Higham, *Accuracy and Stability of
Numerical Algorithms*, §3.1 and §4.2). We use the probabilistic level

    ρ(d) = 4 √d · u,

(4 standard deviations of a sum of d independent roundings) and call a reported
quantity *unresolved* in float32 when its magnitude is below ρ times its natural
scale:

* a target overlap ``W* w`` (mean over a type): below ``ρ·√(mean ‖w‖²)``;
* a test / train error or a step's training loss ``E = mean (y − f)²``: the
  prediction f carries a relative error ρ, so ``δE ≈ 2√E·ρ·rms(f)``; E is
  unresolved when ``√E < 2ρ·rms(f)``, i.e. ``E < (2ρ)² mean f²``.

Measured (docs/validation.md, d = 512, 4 seeds): the float32 − float64
differences of every reported quantity lie below these levels (the test checks
it) and 10⁵ times below the seed spread.
"""

from __future__ import annotations

import math

UNIT_ROUNDOFF_FLOAT32 = 2.0**-24


def rounding_level(d: int, dtype: str = "float32") -> float:
    """Relative rounding level ρ(d) = 4√d·u of a d-term inner product (0 for float64 here)."""
    if dtype != "float32":
        return 0.0
    return 4.0 * math.sqrt(d) * UNIT_ROUNDOFF_FLOAT32


def unresolved(steps: list[dict], readout: dict | None, d: int, dtype: str) -> list[str]:
    """Names of the reported quantities below the float32 rounding level (empty for float64).

    Parameters
    ----------
    steps : list of dict
        The simulator's per-step records (``types`` with ``overlap_mean``, ``norm2_mean``).
    readout : dict or None
        The readout record (``test_error``, ``train_error``, ``pred2_test``, ``pred2_train``).
    d : int
        Input dimension.
    dtype : str
        Arithmetic of the simulation.
    """
    rho = rounding_level(d, dtype)
    if rho == 0.0:
        return []
    out = []
    for rec in steps:
        t = rec["step"]
        for tp in rec["types"]:
            scale = rho * math.sqrt(max(tp["norm2_mean"], 0.0))
            for i, v in enumerate(tp["overlap_mean"]):
                if abs(v) < scale:
                    out.append(f"step{t} {tp['type']} overlap[{i + 1}]")
        if "train_loss" in rec and rec.get("pred2") is not None and rec["train_loss"] < (2 * rho) ** 2 * rec["pred2"]:
            out.append(f"step{t} train_loss")
    if readout is not None:
        for name, pred in (("test_error", "pred2_test"), ("train_error", "pred2_train")):
            v, m = readout.get(name), readout.get(pred)
            if v is not None and m is not None and math.isfinite(v) and v < (2 * rho) ** 2 * m:
                out.append(name)
    return out
