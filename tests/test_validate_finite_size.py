"""Finite-size study: the gap between simulation and theory shrinks like d^{-1/2}."""

from __future__ import annotations

import numpy as np
import pytest

from giantstep.validation.compare import predict
from giantstep.validation.finite_size import finite_size_study, fit_gap


def test_fit_gap_recovers_line():
    ds = np.array([256, 512, 1024, 2048])
    gaps = 0.03 - 1.2 / np.sqrt(ds)
    a, b, a_se = fit_gap(ds, gaps, np.full(4, 1e-3))
    assert a == pytest.approx(0.03, abs=1e-10)
    assert b == pytest.approx(-1.2, abs=1e-8)
    # s.e. of the intercept with equal weights: σ sqrt(Σx² / (n Σx² − (Σx)²))
    x = 1 / np.sqrt(ds)
    expected = 1e-3 * np.sqrt(np.sum(x**2) / (4 * np.sum(x**2) - np.sum(x) ** 2))
    assert a_se == pytest.approx(expected, rel=1e-8)


CFG = dict(kind="overlaps", target="tanh(z1)", activation="tanh", readout="constant", alpha=2.0,
           eta=2.0, p_ratio=0.5, seeds=3, quantities=["overlap", "norm2"])


def test_study_accepts_theory_and_rejects_a_shifted_one():
    ds = (128, 256, 512)
    cfg = {**CFG, "seeds": 8}
    good = finite_size_study(cfg, ds=ds)
    assert [f["ds"] for f in good.fits][0] == list(ds)
    assert good.all_ok, good.table()

    def shifted(cfg):
        th = predict(cfg)
        for st in th["steps"]:
            for tp in st["types"]:
                tp["norm2"] = tp["norm2"] + 0.5
        return th

    bad = finite_size_study(cfg, ds=ds, prediction=shifted)
    fit = next(f for f in bad.fits if f["name"].endswith("norm2"))
    assert fit["a"] < -0.25  # the extrapolated gap is the shift (−0.5) up to noise
    assert not fit["ok"] and fit["verdict"] == "disagrees"
    assert not bad.all_ok


@pytest.mark.slow
def test_study_full_dimensions_5_1():
    study = finite_size_study(CFG, ds=(256, 512, 1024, 2048), workers=2)
    assert study.all_ok, study.table()
    for f in study.fits:
        assert abs(f["gaps"][-1]) <= abs(f["gaps"][0]) + 3 * f["ses"][-1] + 3 * f["ses"][0]


def _synthetic(gap_of_d, ds=(100, 400, 1600), seeds=8, theory=1.0):
    # per-seed values theory + gap(d) ± 0.002 (alternating): s.e. ≈ 0.00076 at every d
    return [{"d": d, "seed": s,
             "values": {"q": (theory + gap_of_d(d) + 0.002 * (-1) ** s, theory)}}
            for d in ds for s in range(seeds)]


def test_study_turns_a_vanishing_gap_into_finite_size_agreement(tmp_path):
    from giantstep.validation.compare import ValidationConfig, report_from_results
    from giantstep.validation.finite_size import study_report

    cfg = ValidationConfig(ds=[100, 400, 1600], seeds=8)
    # gap 2/√d: resolved at every d (0.2, 0.1, 0.05 against s.e. 0.00076), extrapolates to 0
    rep = report_from_results(_synthetic(lambda d: 2 / np.sqrt(d)), cfg, {})
    assert [p["verdict"] for p in rep.points] == ["disagrees"] * 3
    study = study_report(rep, cfg)
    (fit,) = study.fits
    assert fit["a"] == pytest.approx(0.0, abs=1e-9) and fit["b"] == pytest.approx(2.0, abs=1e-9)
    assert fit["verdict"] == "agrees"
    assert [p["verdict"] for p in study.report.points] == ["agrees_finite_size"] * 3
    assert study.all_ok and study.report.all_ok
    fig = study.report.plot()  # square markers: agreement through the finite-size allowance
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["simulation = theory"] + [f"simulation d = {d} (agrees (finite-size allowance))"
                                                for d in (100, 400, 1600)]
    fig.savefig(tmp_path / "fs.png")
    # a gap that stays (0.05 at every d) disagrees
    rep = report_from_results(_synthetic(lambda d: 0.05), cfg, {})
    study = study_report(rep, cfg)
    assert study.fits[0]["verdict"] == "disagrees" and study.fits[0]["a"] == pytest.approx(0.05)
    assert not study.all_ok
    assert all(p["verdict"] == "disagrees" for p in study.report.points)
