"""Calibrated verdicts for theory-versus-simulation points (docs/validation.md §2).

A point is one quantity at one dimension d, measured on k seeds (independent
simulations). Its gap ``g = mean − theory`` is tested against zero:

* **variance.** ``v = max(s², v_pred)``, ``s²`` the sample variance over the seeds
  (k − 1 degrees of freedom) and ``v_pred`` the predicted per-seed variance
  (:mod:`.fluctuations`) where it is derived. ``se = √(v/k)``.
* **reference distribution.** When ``v_pred`` is the complete leading-order
  per-seed variance (``complete=True``), ``g/se`` is compared with the normal law:
  taking the maximum with ``s²`` can only lower the false-alarm rate below the
  nominal one. Otherwise (no prediction, or a prediction of one part of the
  variance only) the Student t law with ``k − 1`` degrees of freedom, which is
  exact for Gaussian per-seed values whatever the variance; the floor can only make
  it more conservative.
* **allowance.** A derived finite-size bias bound ``A ≥ 0`` (0 where none is derived)
  is subtracted from ``|g|`` before the test: ``p_A = P(|T| ≥ (|g| − A)⁺/se)``;
  ``p = P(|T| ≥ |g|/se)`` is the test without it.
* **multiplicity.** The m points of one report are tested together by Holm's
  step-down procedure at the family-wise level ``level``: a correct theory has at
  most probability ``level`` of being called wrong anywhere in the report (hence
  per point at most ``level`` too).

Verdicts (``VERDICTS``):

``disagrees``
    Holm rejects ``p_A``.
``agrees_finite_size``
    not rejected with the allowance, but ``p ≤ level/m`` (the gap itself is
    resolved): agreement only through the finite-size allowance.
``undetermined``
    not rejected, but the per-point ``1 − level`` confidence half-width
    ``c_k·se`` exceeds the resolution (``resolution × scale``): the seeds cannot
    tell a wrong theory from a right one at that resolution. ``seeds_needed`` is the
    smallest number of seeds whose half-width (same ``v``) fits in the resolution.
``agrees``
    otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

VERDICTS = ("agrees", "agrees_finite_size", "undetermined", "disagrees")
MAX_SEEDS = 10_000


def critical_value(level: float, dof: int | None) -> float:
    """Two-sided critical value: normal (``dof=None``) or Student t with ``dof`` degrees of freedom."""
    from scipy import stats

    if dof is None:
        return float(stats.norm.isf(level / 2))
    return float(stats.t.isf(level / 2, dof))


def p_value(stat: float, dof: int | None) -> float:
    """Two-sided p-value ``P(|T| ≥ |stat|)`` of the normal (``dof=None``) or t law."""
    from scipy import stats

    stat = abs(stat)
    if dof is None:
        return float(2 * stats.norm.sf(stat))
    return float(2 * stats.t.sf(stat, dof))


def holm(p: list[float], level: float) -> list[bool]:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise ``level``."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    rejected = [False] * m
    for rank, i in enumerate(order):
        if p[i] <= level / (m - rank):
            rejected[i] = True
        else:
            break
    return rejected


def seeds_needed(var: float, resolution: float, level: float, complete: bool) -> int:
    """Smallest k ≥ 2 with ``c_k √(var/k) ≤ resolution`` (``c_k``: normal or t with k − 1 dof)."""
    if resolution <= 0 or not math.isfinite(var):
        return MAX_SEEDS
    if var <= 0:
        return 2
    # the t quantile exceeds the normal one, so the normal-law answer is a lower bound
    k = max(2, math.ceil(critical_value(level, None) ** 2 * var / resolution**2))
    while k < MAX_SEEDS:
        c = critical_value(level, None if complete else k - 1)
        if c * math.sqrt(var / k) <= resolution:
            return k
        k += 1
    return MAX_SEEDS


@dataclass
class PointStats:
    """The statistics of one point before the multiplicity step."""

    gap: float
    se: float | None
    dof: int | None  # None: normal law (complete predicted variance)
    p: float
    p_allow: float
    half_width: float  # per-point 1 − level confidence half-width (inf if unknown)
    var: float | None  # per-seed variance used (max(s², v_pred))
    complete: bool


def point_stats(values: list[float], theory: float, *, pred_var: float | None = None,
                complete: bool = False, allowance: float = 0.0,
                level: float = 0.01) -> PointStats:
    """Gap, standard error, p-values and confidence half-width of one point (module docstring)."""
    k = len(values)
    mean = math.fsum(values) / k
    gap = mean - theory
    s2 = (math.fsum((v - mean) ** 2 for v in values) / (k - 1)) if k > 1 else None
    if pred_var is None or not math.isfinite(pred_var) or pred_var < 0:
        pred_var, complete = None, False
    if s2 is None and not complete:
        return PointStats(gap, None, None, 1.0, 1.0, math.inf, None, False)
    var = max(v for v in (s2, pred_var) if v is not None)
    dof = None if complete else k - 1
    se = math.sqrt(var / k)
    if se == 0.0:
        p = 0.0 if gap != 0 else 1.0
        p_allow = 0.0 if abs(gap) > allowance else 1.0
    else:
        p = p_value(gap / se, dof)
        p_allow = p_value(max(abs(gap) - allowance, 0.0) / se, dof)
    half = critical_value(level, dof) * se
    return PointStats(gap, se, dof, p, p_allow, half, var, complete)


def decide(stats: list[PointStats], resolutions: list[float], level: float,
           allowances: list[float] | None = None) -> list[dict]:
    """Verdicts of the points of one report (module docstring): Holm over ``p_allow``.

    Returns per point ``{"verdict", "verdict_text", "seeds_needed", "p_value",
    "tolerance"}``; ``tolerance`` is the largest ``|gap|`` that would not be resolved at
    the Bonferroni level ``level/m`` plus the allowance.
    """
    m = max(len(stats), 1)
    rejected = holm([st.p_allow for st in stats], level)
    allowances = allowances or [0.0] * len(stats)
    out = []
    for st, rej, res, allow in zip(stats, rejected, resolutions, allowances):
        needed = None
        if st.se is None:
            tol = math.inf
        else:
            tol = critical_value(level / m, st.dof) * st.se + allow
        if rej:
            verdict = "disagrees"
        elif st.p <= level / m:
            verdict = "agrees_finite_size"
        elif st.half_width > res:
            verdict = "undetermined"
            needed = (seeds_needed(st.var, res, level, st.complete) if st.var is not None
                      else 2)
        else:
            verdict = "agrees"
        text = {"agrees": "agrees", "agrees_finite_size": "agrees (finite-size allowance)",
                "disagrees": "DISAGREES",
                "undetermined": f"undetermined (too few seeds: run ≥ {needed})"}[verdict]
        out.append({"verdict": verdict, "verdict_text": text, "seeds_needed": needed,
                    "p_value": st.p_allow, "tolerance": tol})
    return out
