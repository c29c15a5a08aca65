"""The comparison engine: verdict arithmetic, injected predictions, and every figure of
THEORY.md §5/§6.1 reproduced by ``validate`` (reduced d in CI, full size under ``slow``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from giantstep.errors import InputError
from giantstep.theory import Activation
from giantstep.validation import validate
from giantstep.validation.compare import ValidationConfig, aggregate

# ---------------------------------------------------------------- engine mechanics


def test_aggregate_by_hand():
    cfg = ValidationConfig(z_crit=1.0, finite_size=0.5)
    results = [{"d": 100, "seed": s, "values": {"q": (v, 1.0)}} for s, v in enumerate([1.1, 1.3, 1.2])]
    (pt,) = aggregate(results, cfg)
    se = 0.1 / math.sqrt(3)  # sample std of (1.1, 1.2, 1.3) is 0.1
    assert pt["sim_mean"] == pytest.approx(1.2)
    assert pt["sim_se"] == pytest.approx(se)
    assert pt["z"] == pytest.approx(0.2 / se)
    # allowance 0.5·(1 + 1)/√min(d, n) with n = α d = 200 > d
    assert pt["tolerance"] == pytest.approx(se + 0.5 * 2.0 / 10.0)  # 0.158 < gap 0.2
    assert pt["ok"] is False
    assert pt["resolved"] is True  # z = 3.46 > z_crit = 1
    results = [{"d": 100, "seed": s, "values": {"q": (v, 1.0)}}
               for s, v in enumerate([0.95, 1.0, 1.1])]
    pt = aggregate(results, cfg)[0]
    assert pt["ok"] is True and pt["resolved"] is False  # z ≈ 0.38


def _hand_prediction(mu1, eta, shift=0.0):
    """§5.1 for g* = z1 with an odd student (μ0 = μ2 = 0), constant readout, by hand."""

    def pred(cfg):
        Ee2 = 1.0
        act = Activation(cfg.activation)
        var_ds = float(np.mean(act.derivative(np.random.default_rng(0).standard_normal(400_000)) ** 2)) - mu1**2
        overlap = eta * mu1 + shift
        shared = eta**2 * mu1**2 * Ee2 / cfg.alpha
        private = 1.0 + eta**2 * Ee2 * var_ds / cfg.alpha
        norm2 = overlap**2 + shared + private
        return {"steps": [{"step": 1, "types": [{"s": 1.0, "overlap": [overlap], "norm2": norm2,
                                                  "cosine": abs(overlap) / math.sqrt(norm2)}]}]}

    return pred


def test_injected_prediction_passes_and_a_wrong_one_fails():
    mu1 = Activation("erf").mu(1)
    assert mu1 == pytest.approx(2 / math.sqrt(3 * math.pi), rel=1e-12)
    kw = dict(kind="overlaps", target="z1", activation="erf", alpha=4.0, eta=1.0, ds=[200],
              p_ratio=0.5, seeds=3)
    good = validate(prediction=_hand_prediction(mu1, 1.0), **kw)
    assert good.all_ok, good.table()
    names = [p["name"] for p in good.points]
    # perp_norm2 = norm2 − ‖overlap‖² is derived when the prediction lacks it
    assert names == ["step1 s=1 overlap[1]", "step1 s=1 norm2", "step1 s=1 cosine",
                     "step1 s=1 perp_norm2"]
    bad = validate(prediction=_hand_prediction(mu1, 1.0, shift=0.5), **kw)
    assert not bad.all_ok
    assert not next(p for p in bad.points if "overlap" in p["name"])["ok"]
    out = bad.to_dict()
    assert set(out) >= {"points", "all_ok"}
    assert set(out["points"][0]) >= {"name", "theory", "sim_mean", "sim_se", "z", "ok"}


def test_bad_validation_config():
    with pytest.raises(InputError):
        ValidationConfig(kind="spectra")
    with pytest.raises(InputError):
        ValidationConfig(kind="error")  # no teacher
    with pytest.raises(InputError):
        ValidationConfig(ds=[1])
    with pytest.raises(InputError):
        ValidationConfig(quantities=["banana"])
    with pytest.raises(InputError):  # non-centred residual: outside §5.2
        ValidationConfig(kind="preprocessed", activation="relu", readout="constant")


# ---------------------------------------------------------------- THEORY §5.1


def _point(rep, name, d=None):
    return next(p for p in rep.points if p["name"] == name and (d is None or p["d"] == d))


@pytest.mark.parametrize("d,seeds", [(256, 3), pytest.param(1000, 4, marks=pytest.mark.slow)])
def test_theory_5_1_tanh_tanh_cosine_and_spike(d, seeds):
    # THEORY §5.1 seen: tanh/tanh, p = d/2, α = 2, η̃ = 3: cosine 0.6317, γ 0.8065
    rep = validate(kind="overlaps", target="tanh(z1)", activation="tanh", alpha=2.0, eta=3.0,
                   ds=[d], p_ratio=0.5, seeds=seeds)
    cos = _point(rep, "step1 s=1 cosine")
    gam = _point(rep, "step1 spike gamma (top singular vector)")
    assert cos["theory"] == pytest.approx(0.6317, abs=1e-4)
    assert gam["theory"] == pytest.approx(0.8065, abs=1e-4)
    assert rep.all_ok, rep.table()
    if d >= 1000:
        assert abs(cos["sim_mean"] - 0.6317) < 0.01 and abs(gam["sim_mean"] - 0.8065) < 0.02


@pytest.mark.parametrize("d,seeds", [(256, 3), pytest.param(1000, 4, marks=pytest.mark.slow)])
def test_theory_5_1_relu_student_norm_and_r2(d, seeds):
    # THEORY §5.1 seen: relu student, tanh teacher, constant readout, η̃ = 2 (α = 2):
    # mean ‖w‖² 1.385 (1.920 without the rescaling term), r² 0.6436
    rep = validate(kind="overlaps", target="tanh(z1)", activation="relu", alpha=2.0, eta=2.0,
                   ds=[d], p_ratio=0.5, seeds=seeds)
    n2 = _point(rep, "step1 s=1 norm2")
    r2 = _point(rep, "step1 spike r2 (rank-one)")
    assert n2["theory"] == pytest.approx(1.385, abs=1e-3)
    assert r2["theory"] == pytest.approx(0.6436, abs=1e-4)
    assert rep.all_ok, rep.table()
    # the simulation tells the rescaled bulk from the unrescaled one (1.920)
    assert abs(n2["sim_mean"] - 1.385) < abs(n2["sim_mean"] - 1.920) / 5


# ---------------------------------------------------------------- THEORY §5.3

TARGET_53 = "((z1+z1**2)+(z2-z2**2))/2"


@pytest.mark.parametrize("alpha,m_plus", [(2.0, (1.746, 0.349)), (0.5, (1.379, 0.543))])
@pytest.mark.parametrize("d,seeds", [(256, 4), pytest.param(2048, 4, marks=pytest.mark.slow)])
def test_theory_5_3_sign_readout_four_steps(alpha, m_plus, d, seeds):
    if alpha < 1 and d < 512:
        d = 512  # n = 128 per step at d = 256 is too small a batch for 4 seeds
    rep = validate(kind="overlaps", target=TARGET_53, activation="relu", readout="sign",
                   alpha=alpha, eta=2.0, steps=4, ds=[d], p_ratio=0.5, seeds=seeds,
                   quantities=["overlap", "norm2", "perp_norm2"])
    m1 = _point(rep, "step4 s=+1 overlap[1]")
    m2 = _point(rep, "step4 s=+1 overlap[2]")
    assert m1["theory"] == pytest.approx(m_plus[0], abs=0.01)
    assert m2["theory"] == pytest.approx(m_plus[1], abs=0.01)
    assert rep.all_ok, rep.table()


@pytest.mark.parametrize("d,p,seeds", [(256, 256, 3), pytest.param(2048, 2048, 2, marks=pytest.mark.slow)])
def test_theory_5_3_gaussian_readout_type_curve(d, p, seeds):
    # THEORY §5.3: gaussian readout, K = 8 types, relu, α = 2, η̃ = 1, 3 steps; neurons binned by s
    rep = validate(kind="overlaps", target=TARGET_53, activation="relu", readout="gaussian",
                   alpha=2.0, eta=1.0, steps=3, ds=[d], p=p, seeds=seeds, n_types=8,
                   quantities=["overlap"])
    assert rep.all_ok, rep.table()
    step3 = [pt for pt in rep.points if pt["name"].startswith("step3")]
    # neurons with s > 0 and s < 0 align with different target directions
    low = _point(rep, "step3 bin0 overlap[2]")
    high = _point(rep, "step3 bin7 overlap[1]")
    assert low["theory"] < -0.3 and high["theory"] > 0.3
    if d >= 2048:
        assert max(abs(pt["sim_mean"] - pt["theory"]) for pt in step3) < 0.05


@pytest.mark.parametrize("d,seeds", [(256, 3), pytest.param(2048, 3, marks=pytest.mark.slow)])
def test_theory_3_tanh_does_not_learn_second_direction(d, seeds):
    # THEORY §3: with tanh, the second direction of z1 + z1 z2 stays at 0.00 ± 0.01
    rep = validate(kind="overlaps", target="z1 + z1*z2", activation="tanh", readout="sign",
                   alpha=2.0, eta=2.0, steps=3, ds=[d], p_ratio=0.5, seeds=seeds,
                   quantities=["overlap"])
    assert rep.all_ok, rep.table()
    for pt in rep.points:
        if pt["name"].endswith("overlap[2]"):
            assert abs(pt["theory"]) < 1e-6
            assert abs(pt["sim_mean"]) < 3 * pt["sim_se"] + 0.03


# ---------------------------------------------------------------- THEORY §5.2


@pytest.mark.parametrize("ds", [[64], pytest.param([64, 128], marks=pytest.mark.slow)])
def test_theory_5_2_preprocessed_slope(ds):
    rep = validate(kind="preprocessed", target="(He2(z1)+He2(z2))/4 + (He4(z1)+He4(z2))/48",
                   activation="relu", alpha=2.0, eta=1.0, ell=2, p=256, ds=ds, seeds=2,
                   readout="gaussian")
    assert rep.all_ok, rep.table()
    for d in ds:
        slope = _point(rep, "overlap regression slope", d)
        assert abs(slope["sim_mean"] - 1.0) < 0.1


# ---------------------------------------------------------------- THEORY §6.1


@pytest.mark.parametrize("d,seeds", [(300, 3), pytest.param(2000, 3, marks=pytest.mark.slow)])
def test_theory_6_1_tanh_tanh_test_error(d, seeds):
    # THEORY §6.1 seen: tanh/tanh, α0 = 0.5, η̃ = 1, λ = 0.01: E_g ≈ 0.285 (α = 0.2), 0.207 (α = 1.6)
    rep = validate(kind="error", teacher="tanh", activation="tanh", alpha=0.5, eta=1.0, lam=0.01,
                   alphas=[0.2, 1.6], ds=[d], seeds=seeds, n_test=4000)
    a, b = rep.points
    assert a["theory"] == pytest.approx(0.285, abs=0.003)
    assert b["theory"] == pytest.approx(0.207, abs=0.003)
    assert rep.all_ok, rep.table()
