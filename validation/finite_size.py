"""Finite-size study: the theory–simulation gap versus d (docs/model.md §5.3 remark).

At finite d the initial overlaps are ``O(d^{-1/2})`` and each batch adds
``O(η̃/√n)`` with ``n ∝ d``, so for every compared quantity the gap
``sim_mean(d) − theory`` should vanish like ``d^{-1/2}``. :func:`finite_size_study`
runs :func:`~giantstep.validation.compare.validate` at several d (default
256, 512, 1024, 2048) and fits, by weighted least squares (weights ``1/s.e.²``),

    gap(d) = a + b · d^{-1/2}.

This is where the decision comes from for points that no derived fluctuation or
allowance covers (docs/validation.md §2.4). With ``F`` fits and the family-wise level
``level`` of the configuration, a fit *agrees* when ``|a| ≤ z_{level/(2F)}·s.e.(a) + atol``
and that bound is within ``resolution × scale`` (else it is *undetermined*); it
*disagrees* otherwise. A point whose own verdict was ``disagrees`` but whose quantity's
fit agrees becomes ``agrees_finite_size``: its gap is real at that d but vanishes as
``d^{-1/2}``. The study passes when no fit disagrees and every point then agrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from giantstep.tables import FrameMixin

from .compare import ValidationConfig, ValidationReport, validate

DEFAULT_DS = (256, 512, 1024, 2048)


@dataclass
class FiniteSizeStudy(FrameMixin):
    """Result of :func:`finite_size_study`: one fit per quantity plus the raw report."""

    fits: list[dict]
    report: ValidationReport

    @property
    def all_ok(self) -> bool:
        """No fit disagrees and every point agrees after the study (an undetermined fit
        changes nothing: the points keep their own verdicts)."""
        return (not any(f["verdict"] == "disagrees" for f in self.fits)
                and all(p["verdict"] in ("agrees", "agrees_finite_size")
                        for p in self.report.points))

    def to_dict(self) -> dict[str, Any]:
        return {"fits": self.fits, "all_ok": self.all_ok, "points": self.report.points}

    def table(self) -> str:
        from giantstep.tables import format_table

        rows = [[f["name"], " ".join(f"{g:+.4f}" for g in f["gaps"]), f"{f['a']:+.4f}",
                 f"{f['a_se']:.4f}", f"{f['b']:+.3f}", f["verdict"]]
                for f in self.fits]
        ds = self.fits[0]["ds"] if self.fits else []
        return format_table([f"quantity (gaps at d = {ds})", "gaps", "a (d→∞)", "s.e.(a)",
                             "b (×d^-1/2)", "verdict"], rows)


def fit_gap(ds: np.ndarray, gaps: np.ndarray, ses: np.ndarray) -> tuple[float, float, float]:
    """Weighted least squares ``gap = a + b d^{-1/2}``; returns ``(a, b, s.e.(a))``.

    Weights ``1/max(se, 1e-4·(1+|gap|))²``; s.e. from the weighted normal equations
    (inflated by the reduced χ² when it exceeds 1).
    """
    x = 1.0 / np.sqrt(np.asarray(ds, dtype=float))
    g = np.asarray(gaps, dtype=float)
    se = np.maximum(np.asarray(ses, dtype=float), 1e-4 * (1 + np.abs(g)))
    w = 1.0 / se**2
    A = np.stack([np.ones_like(x), x], axis=1)
    AtW = A.T * w
    M = AtW @ A
    coef = np.linalg.solve(M, AtW @ g)
    resid = g - A @ coef
    dof = max(len(g) - 2, 1)
    chi2 = float(np.sum(w * resid**2) / dof)
    cov = np.linalg.solve(M, np.eye(2)) * (max(chi2, 1.0) if len(g) > 2 else 1.0)
    return float(coef[0]), float(coef[1]), float(math.sqrt(max(cov[0, 0], 0.0)))


def finite_size_study(
    config: ValidationConfig | dict | None = None,
    ds: tuple[int, ...] = DEFAULT_DS,
    atol: float = 0.0,
    **kwargs: Any,
) -> FiniteSizeStudy:
    """Run ``validate`` at each d and fit the gap against ``d^{-1/2}``.

    Parameters
    ----------
    config : ValidationConfig or dict, optional
        The comparison (its ``ds`` is replaced by ``ds``).
    ds : tuple of int
        Dimensions (at least 2).
    atol : float
        Absolute slack on the extrapolated gap (default 0).
    **kwargs
        Passed to :func:`validate` (``workers``, ``scheduler``, ``progress``,
        ``prediction``) or used to build the config.
    """
    run_kw = {k: kwargs.pop(k) for k in ("workers", "scheduler", "progress", "prediction", "out",
                                         "resume", "overwrite") if k in kwargs}
    if config is None:
        config = ValidationConfig(**kwargs)
    elif isinstance(config, dict):
        config = ValidationConfig.from_dict({**config, **kwargs})
    cfg = ValidationConfig.from_dict({**config.to_dict(), "ds": list(ds)})
    rep = validate(cfg, **run_kw)
    return study_report(rep, cfg, atol)


def study_report(rep: ValidationReport, cfg: ValidationConfig, atol: float = 0.0) -> FiniteSizeStudy:
    """Fit the gaps of a multi-d report against ``d^{-1/2}`` and update its verdicts.

    Parameters
    ----------
    rep : ValidationReport
        Points at ≥ 2 dimensions per quantity (updated in place: ``disagrees`` points of a
        quantity whose fit agrees become ``agrees_finite_size``).
    cfg : ValidationConfig
        For ``level`` and ``resolution``.
    atol : float
        Absolute slack on the extrapolated gap.
    """
    names: list[str] = []
    for p in rep.points:
        if p["name"] not in names:
            names.append(p["name"])
    from .verdict import critical_value

    fits = []
    groups = []
    for name in names:
        pts = sorted((p for p in rep.points if p["name"] == name), key=lambda p: p["d"])
        if len(pts) >= 2:
            groups.append((name, pts))
    crit = critical_value(cfg.level / max(len(groups), 1), None)
    for name, pts in groups:
        d_arr = np.array([p["d"] for p in pts])
        gaps = np.array([p["sim_mean"] - p["theory"] for p in pts])
        ses = np.array([p["se"] if p["se"] is not None else 0.0 for p in pts])
        a, b, a_se = fit_gap(d_arr, gaps, ses)
        bound = crit * a_se + atol
        scale = max(max(abs(p["theory"]) for p in pts), 1e-3)
        if abs(a) > bound:
            verdict = "disagrees"
        elif crit * a_se > cfg.resolution * scale:
            verdict = "undetermined"
        else:
            verdict = "agrees"
        fits.append({
            "name": name, "ds": d_arr.tolist(), "gaps": gaps.tolist(), "ses": ses.tolist(),
            "a": a, "b": b, "a_se": a_se, "bound": bound, "verdict": verdict,
            "ok": verdict == "agrees",
        })
        if verdict == "agrees":
            for p in pts:
                if p["verdict"] == "disagrees":
                    p.update(verdict="agrees_finite_size", ok=True,
                             verdict_text="agrees (finite-size: gap → 0 as d^-1/2)")
    rep.all_ok = all(p["verdict"] in ("agrees", "agrees_finite_size") for p in rep.points)
    return FiniteSizeStudy(fits, rep)
