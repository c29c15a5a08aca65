"""The comparison engine: verdict arithmetic, injected predictions, and every figure of
docs/model.md §5/§6.1 reproduced by ``validate`` (reduced d in CI, full size under ``slow``)."""

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
    # replaces the old check of the heuristic allowance 0.5·(1 + |theory|)/√min(d, n)
    cfg = ValidationConfig(level=0.01, resolution=0.1)
    results = [{"d": 100, "seed": s, "values": {"q": (v, 1.0)}} for s, v in enumerate([1.1, 1.3, 1.2])]
    (pt,) = aggregate(results, cfg)
    se = 0.1 / math.sqrt(3)  # sample std of (1.1, 1.2, 1.3) is 0.1
    assert pt["sim_mean"] == pytest.approx(1.2)
    assert pt["sim_se"] == pytest.approx(se) and pt["se"] == pytest.approx(se)
    assert pt["z"] == pytest.approx(0.2 / se)  # 3.46
    assert pt["law"] == "t2"  # no predicted fluctuation: Student t with seeds − 1 dof
    # P(|t_2| ≥ 2√3) = 1 − 2√3/√(2 + 12) = 1 − √(6/7) (closed form of the t_2 law)
    assert pt["p_value"] == pytest.approx(1 - math.sqrt(6 / 7), rel=1e-9)
    # not rejected at 0.01, but the 99 % half-width t_{2,0.995}·se = 9.925·0.0577 = 0.573 is
    # wider than 0.1·|theory|: undetermined. Seeds needed with s = 0.1: k ≥ 2.576²·0.01/0.01,
    # and t_{k−1,0.995}·0.1/√k ≤ 0.1 first holds at k = 11 (t_9 = 3.250: 0.1028; t_10 = 3.169:
    # 0.0955)
    assert pt["verdict"] == "undetermined" and pt["seeds_needed"] == 11
    assert pt["verdict_text"] == "undetermined (too few seeds: run ≥ 11)"
    assert pt["ok"] is False

    # a predicted (complete) per-seed variance 0.09 replaces the small sample one: normal law
    extra = {"var": 0.09, "complete": True}
    results = [{"d": 100, "seed": s, "values": {"q": (v, 1.0, extra)}}
               for s, v in enumerate([1.1, 1.3, 1.2])]
    pt = aggregate(results, cfg)[0]
    assert pt["law"] == "normal" and pt["se"] == pytest.approx(math.sqrt(0.09 / 3))
    assert pt["z"] == pytest.approx(0.2 / math.sqrt(0.03))
    assert pt["predicted_sd"] == pytest.approx(0.3)

    # a resolved gap: (2.0, 2.1, 1.9) against 1 with the same floor → z = 1/√0.03 = 5.77
    results = [{"d": 100, "seed": s, "values": {"q": (v, 1.0, extra)}}
               for s, v in enumerate([2.0, 2.1, 1.9])]
    pt = aggregate(results, cfg)[0]
    assert pt["verdict"] == "disagrees" and pt["ok"] is False

    # enough seeds: 12 values 1 ± 0.01 → s.e. 0.0030, 99 % half-width 0.0094 < 0.1: agrees
    vals = [1.0 + 0.01 * (-1) ** i for i in range(12)]
    results = [{"d": 100, "seed": s, "values": {"q": (v, 1.0)}} for s, v in enumerate(vals)]
    pt = aggregate(results, cfg)[0]
    assert pt["verdict"] == "agrees" and pt["ok"] is True


def test_report_table_json_and_plot_show_the_verdicts():
    from giantstep.validation.compare import report_from_results

    cfg = ValidationConfig(level=0.01, resolution=0.1)
    vals = {"good": [1.0 + 0.01 * (-1) ** i for i in range(12)],  # agrees (see above)
            "wide": [1.0 + 0.3 * (-1) ** i for i in range(12)],  # half-width 0.28 > 0.1
            "bad": [1.5 + 0.01 * (-1) ** i for i in range(12)]}  # gap 0.5 ≫ s.e. 0.003
    results = [{"d": 50, "seed": i, "values": {k: (v[i], 1.0) for k, v in vals.items()}}
               for i in range(12)]
    rep = report_from_results(results, cfg, {})
    assert [p["verdict"] for p in rep.points] == ["agrees", "undetermined", "disagrees"]
    assert not rep.all_ok
    assert rep.to_dict()["summary"] == {"agrees": 1, "agrees_finite_size": 0,
                                        "undetermined": 1, "disagrees": 1}
    assert "DISAGREES" in rep.table() and "undetermined (too few seeds: run ≥" in rep.table()
    assert rep.verdict_line().startswith("SOME POINTS DISAGREE: 1 agree")
    labels = rep.plot().axes[0].get_legend_handles_labels()[1]
    assert labels == ["simulation = theory", "simulation d = 50",
                      "simulation d = 50 (undetermined (too few seeds))", "simulation d = 50 (disagrees)"]


def test_holm_and_critical_values_by_hand():
    from giantstep.validation.verdict import critical_value, holm, p_value

    # thresholds 0.01/3, 0.01/2, 0.01: the first two are rejected, the step-down stops at 0.03
    assert holm([0.004, 0.03, 0.001], 0.01) == [True, False, True]
    assert holm([0.02, 0.009], 0.01) == [False, False]  # 0.009 > 0.01/2: nothing rejected
    assert critical_value(0.05, None) == pytest.approx(1.959964, abs=1e-6)
    # t with 1 dof is Cauchy: quantile tan(π(1/2 − a/2)), so c = tan(0.495 π) at a = 0.01
    assert critical_value(0.01, 1) == pytest.approx(math.tan(0.495 * math.pi), rel=1e-9)
    # t_2 two-sided p-value: 1 − |t|/√(2 + t²)
    assert p_value(1.5, 2) == pytest.approx(1 - 1.5 / math.sqrt(2 + 2.25), rel=1e-9)


def _no_disagreement(rep, must_agree=()):
    """No point disagrees, and the named points (predicted fluctuations) are decided."""
    bad = [p["name"] for p in rep.points if p["verdict"] == "disagrees"]
    assert not bad, rep.table()
    for name in must_agree:
        pt = _point(rep, name)
        assert pt["verdict"] in ("agrees", "agrees_finite_size"), rep.table()


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
              p_ratio=0.5, seeds=5)
    good = validate(prediction=_hand_prediction(mu1, 1.0), **kw)
    assert good.all_ok, good.table()
    names = [p["name"] for p in good.points]
    # perp_norm2 = norm2 − ‖overlap‖² is derived when the prediction lacks it
    assert names == ["step1 s=1 overlap[1]", "step1 s=1 norm2", "step1 s=1 cosine",
                     "step1 s=1 perp_norm2"]
    bad = validate(prediction=_hand_prediction(mu1, 1.0, shift=0.5), **kw)
    assert not bad.all_ok
    assert next(p for p in bad.points if "overlap" in p["name"])["verdict"] == "disagrees"
    out = bad.to_dict()
    assert set(out) >= {"points", "all_ok", "summary"}
    assert set(out["points"][0]) >= {"name", "theory", "sim_mean", "sim_se", "z", "ok", "verdict",
                                     "verdict_text", "seeds_needed", "se", "law"}


def test_bad_validation_config():
    with pytest.raises(InputError):
        ValidationConfig(kind="spectra")
    with pytest.raises(InputError):
        ValidationConfig(kind="error")  # no teacher
    with pytest.raises(InputError):
        ValidationConfig(ds=[1])
    with pytest.raises(InputError):
        ValidationConfig(quantities=["banana"])
    with pytest.raises(InputError):
        ValidationConfig(level=1.5)
    with pytest.raises(InputError):
        ValidationConfig(resolution=0)
    with pytest.raises(InputError):  # non-centred residual: outside §5.2
        ValidationConfig(kind="preprocessed", activation="relu", readout="constant")


# ---------------------------------------------------------------- docs/model.md §5.1


def _point(rep, name, d=None):
    return next(p for p in rep.points if p["name"] == name and (d is None or p["d"] == d))


@pytest.mark.parametrize("d,seeds", [(256, 3), pytest.param(1000, 4, marks=pytest.mark.slow)])
def test_theory_5_1_tanh_tanh_cosine_and_spike(d, seeds):
    # docs/model.md §5.1 seen: tanh/tanh, p = d/2, α = 2, η̃ = 3: cosine 0.6317, γ 0.8065
    rep = validate(kind="overlaps", target="tanh(z1)", activation="tanh", alpha=2.0, eta=3.0,
                   ds=[d], p_ratio=0.5, seeds=seeds)
    cos = _point(rep, "step1 s=1 cosine")
    gam = _point(rep, "step1 spike gamma (top singular vector)")
    assert cos["theory"] == pytest.approx(0.6317, abs=1e-4)
    assert gam["theory"] == pytest.approx(0.8065, abs=1e-4)
    # few seeds: points without a predicted fluctuation may be undetermined, none disagrees;
    # the step-1 points with a predicted fluctuation are decided
    _no_disagreement(rep, ["step1 s=1 cosine", "step1 s=1 overlap[1]", "step1 s=1 norm2"])
    if d >= 1000:
        assert abs(cos["sim_mean"] - 0.6317) < 0.01 and abs(gam["sim_mean"] - 0.8065) < 0.02


@pytest.mark.parametrize("d,seeds", [(256, 3), pytest.param(1000, 4, marks=pytest.mark.slow)])
def test_theory_5_1_relu_student_norm_and_r2(d, seeds):
    # docs/model.md §5.1 seen: relu student, tanh teacher, constant readout, η̃ = 2 (α = 2):
    # mean ‖w‖² 1.385 (1.920 without the rescaling term), r² 0.6436
    rep = validate(kind="overlaps", target="tanh(z1)", activation="relu", alpha=2.0, eta=2.0,
                   ds=[d], p_ratio=0.5, seeds=seeds)
    n2 = _point(rep, "step1 s=1 norm2")
    r2 = _point(rep, "step1 spike r2 (rank-one)")
    assert n2["theory"] == pytest.approx(1.385, abs=1e-3)
    assert r2["theory"] == pytest.approx(0.6436, abs=1e-4)
    _no_disagreement(rep, ["step1 s=1 cosine", "step1 s=1 norm2"])
    # the simulation tells the rescaled bulk from the unrescaled one (1.920)
    assert abs(n2["sim_mean"] - 1.385) < abs(n2["sim_mean"] - 1.920) / 5


# ---------------------------------------------------------------- docs/model.md §5.3

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
    _no_disagreement(rep)


@pytest.mark.parametrize("d,p,seeds", [(256, 256, 3), pytest.param(2048, 2048, 2, marks=pytest.mark.slow)])
def test_theory_5_3_gaussian_readout_type_curve(d, p, seeds):
    # docs/model.md §5.3: gaussian readout, K = 8 types, relu, α = 2, η̃ = 1, 3 steps; neurons binned by s
    rep = validate(kind="overlaps", target=TARGET_53, activation="relu", readout="gaussian",
                   alpha=2.0, eta=1.0, steps=3, ds=[d], p=p, seeds=seeds, n_types=8,
                   quantities=["overlap"])
    _no_disagreement(rep)
    step3 = [pt for pt in rep.points if pt["name"].startswith("step3")]
    # neurons with s > 0 and s < 0 align with different target directions
    low = _point(rep, "step3 bin0 overlap[2]")
    high = _point(rep, "step3 bin7 overlap[1]")
    assert low["theory"] < -0.3 and high["theory"] > 0.3
    if d >= 2048:
        assert max(abs(pt["sim_mean"] - pt["theory"]) for pt in step3) < 0.05


@pytest.mark.parametrize("d,seeds", [(256, 3), pytest.param(2048, 3, marks=pytest.mark.slow)])
def test_theory_3_tanh_does_not_learn_second_direction(d, seeds):
    # docs/model.md §3: with tanh, the second direction of z1 + z1 z2 stays at 0.00 ± 0.01
    rep = validate(kind="overlaps", target="z1 + z1*z2", activation="tanh", readout="sign",
                   alpha=2.0, eta=2.0, steps=3, ds=[d], p_ratio=0.5, seeds=seeds,
                   quantities=["overlap"])
    _no_disagreement(rep)
    for pt in rep.points:
        if pt["name"].endswith("overlap[2]"):
            assert abs(pt["theory"]) < 1e-6
            assert abs(pt["sim_mean"]) < 3 * pt["sim_se"] + 0.03


# ---------------------------------------------------------------- docs/model.md §5.2


@pytest.mark.parametrize("ds", [[64], pytest.param([64, 128], marks=pytest.mark.slow)])
def test_theory_5_2_preprocessed_slope(ds):
    rep = validate(kind="preprocessed", target="(He2(z1)+He2(z2))/4 + (He4(z1)+He4(z2))/48",
                   activation="relu", alpha=2.0, eta=1.0, ell=2, p=256, ds=ds, seeds=2,
                   readout="gaussian")
    _no_disagreement(rep)
    for d in ds:
        slope = _point(rep, "overlap regression slope", d)
        assert abs(slope["sim_mean"] - 1.0) < 0.1


# ---------------------------------------------------------------- docs/model.md §6.1


@pytest.mark.parametrize("d,seeds", [(300, 3), pytest.param(2000, 3, marks=pytest.mark.slow)])
def test_theory_6_1_tanh_tanh_test_error(d, seeds):
    # docs/model.md §6.1 seen: tanh/tanh, α0 = 0.5, η̃ = 1, λ = 0.01: E_g ≈ 0.285 (α = 0.2), 0.207 (α = 1.6)
    rep = validate(kind="error", teacher="tanh", activation="tanh", alpha=0.5, eta=1.0, lam=0.01,
                   alphas=[0.2, 1.6], ds=[d], seeds=seeds, n_test=4000)
    a, b = rep.points
    assert a["theory"] == pytest.approx(0.285, abs=0.003)
    assert b["theory"] == pytest.approx(0.207, abs=0.003)
    _no_disagreement(rep)


def test_error_kind_uses_the_width_ratio_readout_and_multi_index_teachers():
    #: `validate error` compares the same protocol as the theory: p = ψ d, the readout
    # law of the step, a teacher in z1..zr as it is
    from giantstep.numerics import one_step_learning_curve
    from giantstep.validation.compare import ValidationConfig, predict

    cfg = ValidationConfig(kind="error", activation="tanh", teacher="tanh(z1) + 0.5*z2", alpha=1.0,
                           eta=1.5, lam=0.05, alphas=[0.5, 2.0], ds=[300], seeds=2, p_ratio=2.0,
                           readout="sign")
    sims = cfg.simulations()
    assert len(sims) == 4
    assert all(s["p"] == 600 and s["d"] == 300 and s["readout"] == "sign" for _, s in sims)
    assert all(s["target"] == "tanh(z1) + 0.5*z2" for _, s in sims)
    th = predict(cfg)["test_error"]
    lc = one_step_learning_curve("tanh", "tanh(z1) + 0.5*z2", alpha0=1.0, eta=1.5, lam=0.05,
                                 alphas=[0.5, 2.0], width_ratio=2.0, warn=False)
    np.testing.assert_allclose(th, lc.test_error, rtol=1e-12)
