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
    cfg = {**CFG, "seeds": 6}
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
    assert not fit["ok"]


@pytest.mark.slow
def test_study_full_dimensions_5_1():
    study = finite_size_study(CFG, ds=(256, 512, 1024, 2048), workers=2)
    assert study.all_ok, study.table()
    for f in study.fits:
        assert abs(f["gaps"][-1]) <= abs(f["gaps"][0]) + 3 * f["ses"][-1] + 3 * f["ses"][0]
