"""Finite-size study: the theory–simulation gap versus d (THEORY.md §5.3 remark).

At finite d the initial overlaps are ``O(d^{-1/2})`` and each batch adds
``O(η̃/√n)`` with ``n ∝ d``, so for every compared quantity the gap
``sim_mean(d) − theory`` should vanish like ``d^{-1/2}``. :func:`finite_size_study`
runs :func:`~giantstep.validation.compare.validate` at several d (default
256, 512, 1024, 2048) and fits, by weighted least squares (weights ``1/s.e.²``),

    gap(d) = a + b · d^{-1/2}.

The extrapolated gap ``a`` must be compatible with zero (``|a| ≤ 3 s.e.(a) + atol``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .compare import ValidationConfig, ValidationReport, validate

DEFAULT_DS = (256, 512, 1024, 2048)


@dataclass
class FiniteSizeStudy:
    """Result of :func:`finite_size_study`: one fit per quantity plus the raw report."""

    fits: list[dict]
    report: ValidationReport

    @property
    def all_ok(self) -> bool:
        return all(f["ok"] for f in self.fits)

    def to_dict(self) -> dict[str, Any]:
        return {"fits": self.fits, "all_ok": self.all_ok, "points": self.report.points}

    def table(self) -> str:
        from giantstep.cli.output import format_table

        rows = [[f["name"], " ".join(f"{g:+.4f}" for g in f["gaps"]), f"{f['a']:+.4f}",
                 f"{f['a_se']:.4f}", f"{f['b']:+.3f}", "ok" if f["ok"] else "FAIL"]
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
    atol: float = 0.01,
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
        Absolute slack on the extrapolated gap.
    **kwargs
        Passed to :func:`validate` (``workers``, ``scheduler``, ``progress``,
        ``prediction``) or used to build the config.
    """
    run_kw = {k: kwargs.pop(k) for k in ("workers", "scheduler", "progress", "prediction")
              if k in kwargs}
    if config is None:
        config = ValidationConfig(**kwargs)
    elif isinstance(config, dict):
        config = ValidationConfig.from_dict({**config, **kwargs})
    cfg = ValidationConfig.from_dict({**config.to_dict(), "ds": list(ds)})
    rep = validate(cfg, **run_kw)
    names: list[str] = []
    for p in rep.points:
        if p["name"] not in names:
            names.append(p["name"])
    fits = []
    for name in names:
        pts = sorted((p for p in rep.points if p["name"] == name), key=lambda p: p["d"])
        if len(pts) < 2:
            continue
        d_arr = np.array([p["d"] for p in pts])
        gaps = np.array([p["sim_mean"] - p["theory"] for p in pts])
        ses = np.array([p["sim_se"] if p["sim_se"] is not None else 0.0 for p in pts])
        a, b, a_se = fit_gap(d_arr, gaps, ses)
        fits.append({
            "name": name, "ds": d_arr.tolist(), "gaps": gaps.tolist(), "ses": ses.tolist(),
            "a": a, "b": b, "a_se": a_se, "ok": bool(abs(a) <= 3 * a_se + atol),
        })
    return FiniteSizeStudy(fits, rep)
