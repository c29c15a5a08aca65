"""Several neuron types after several giant steps (numerics/test_error/tables/typed_steps.py).

Checks, none of which takes its expected value from the code under test:

* the sampler: step 1 is bit-identical to the one-step sampler of typed_readout, T steps
  extend T − 1 steps, the update obeys the §1 formula (written out here in plain numpy);
* K = 1 with the one-step spike direction equals typed_readout's equations on the same
  sampled step (1e-8), one type (constant readout) equals the one-type bulk mode of
  multi_step_curve at t = 1 (the quoted single-type equations);
* K = 2: the equations are invariant under a rotation of the spike basis (κ → Rκ);
* limits: λ → ∞ leaves E[y²] + Δ; η̃ = 0 is the lazy curve for every readout law;
* flags outside the checked region; against simulations of docs/model.md §1 (reduced here,
  the full table under ``-m slow``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from giantstep.numerics.test_error.curves.multi_step import _solve_bulk, multi_step_learning_curve
from giantstep.numerics.test_error.solver import typed as tr
from giantstep.numerics.test_error.spectra.sampled_steps import sample_step
from giantstep.numerics.test_error.tables import typed_steps as mt
from giantstep.numerics.test_error.tables.multi_index import bulk_geometry
from giantstep.theory import as_activation, as_target

RELU, TANH = as_activation("relu"), as_activation("tanh")
ALPHAS = np.array([0.5, 2.0])


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path, monkeypatch):
    """Keep any sampled inputs out of the user's cache."""
    monkeypatch.setenv("GIANTSTEP_CACHE_DIR", str(tmp_path / "giantstep-cache"))


def test_sampler_matches_the_one_step_sampler_and_the_update_formula():
    tg = as_target("tanh(z1) + 0.5*z1*z2")
    w0, w1, s = tr.sample_typed_step(RELU, tg, 1.0, 1.5, 2.0, 0.1, 60, 4, "gaussian")
    ws, s3 = mt.sample_typed_steps(RELU, tg, 1.0, 1.5, 2.0, 0.1, 60, 4, 3, "gaussian")
    assert np.array_equal(ws[0], w0) and np.array_equal(ws[1], w1) and np.array_equal(s3, s)
    ws2, _ = mt.sample_typed_steps(RELU, tg, 1.0, 1.5, 2.0, 0.1, 60, 4, 2, "gaussian")
    assert all(np.array_equal(a, b) for a, b in zip(ws2, ws[:3]))
    # step 2 by the §1 formula, written out: batch from the seed tree (seed, 9, 11, 2)
    n0, p = 90, 60
    rng = np.random.default_rng([4, 9, 11, 2])
    x = rng.standard_normal((n0, 60))
    y = np.tanh(x[:, 0]) + 0.5 * x[:, 0] * x[:, 1] + math.sqrt(0.1) * rng.standard_normal(n0)
    pre = x @ ws[1].T
    e = y - np.maximum(pre, 0.0) @ s / p
    upd = 2.0 * s[:, None] * (((pre > 0) * e[:, None]).T @ x) / n0
    np.testing.assert_allclose(ws[2], ws[1] + upd, rtol=0, atol=1e-12)
    _, s_sign = mt.sample_typed_steps(RELU, tg, 1.0, 1.0, 1.0, 0.0, 10, 0, 1, "sign")
    assert s_sign.tolist() == [1.0, -1.0] * 5


@pytest.mark.parametrize("student, readout, n_types, noise, seed",
                         [(RELU, "sign", 8, 0.1, 1), (TANH, "gaussian", 4, 0.0, 2)])
def test_one_direction_equals_the_one_step_typed_equations(student, readout, n_types, noise, seed):
    """K = 1 along the one-step spike v̂ ∝ Σ s_j Δ_j is typed_readout's system (same step);
    relu + sign, and the gaussian readout's 4 types (a genuinely different T)."""
    tg = as_target("tanh(z1)")
    w0, w1, s = tr.sample_typed_step(student, tg, 1.0, 1.0, 2.0, 0.0, 160, seed, readout)
    groups = tr.type_groups(s, readout, n_types)
    geo = tr.typed_geometry(w0, w1, s, 1, groups)
    tb = tr.typed_tables(student, tg, geo.r, geo.c, geo.gamma, geo.a, 1e-10)
    ref = tr.solve_typed_curve(ALPHAS, 0.05, noise, tb, geo, 1e-11, 2000, 0.5)
    u = s @ (w1 - w0)
    g1 = mt.multi_typed_geometry(w0, w1, 1, groups, (u / np.linalg.norm(u))[:, None])
    np.testing.assert_allclose(g1.r[:, 0], geo.r, rtol=1e-12)
    tb1 = mt.multi_typed_tables(student, tg, g1.r, g1.c, g1.gamma, g1.a, 1e-10)
    out = tr.solve_typed_curve(ALPHAS, 0.05, noise, tb1, g1, 1e-11, 2000, 0.5)
    np.testing.assert_allclose(out["test"], ref["test"], rtol=1e-8)
    np.testing.assert_allclose(out["train"], ref["train"], rtol=1e-8)


def test_one_type_equals_the_bulk_mode_at_step_one():
    """Constant readout, one type, K = 1, mean mode by stationarity alone: the quoted one-type
    equations (spiked_rf_multi, as used by multi_step_curve's bulk mode) on the same step."""
    tg = as_target("tanh(z1) + 0.5*z1*z2")
    w0, w1 = sample_step(RELU, tg, 1.0, 1.5, 1.5, 0.0, 150, 2)
    ref = _solve_bulk(RELU, tg, bulk_geometry(w0, w1, 2), ALPHAS, 0.05, 0.1, 1.0, 1e-11, 1e-10,
                      20000, 0.5, "ref")
    means, frac = mt.type_displacements(w0, w1, [np.arange(150)])
    v, disc = mt.spike_basis(means, frac, 2)
    assert v.shape == (150, 1) and disc == 0.0  # one type spans one direction
    geo = mt.multi_typed_geometry(w0, w1, 2, [np.arange(150)], v)
    tb = mt.multi_typed_tables(RELU, tg, geo.r, geo.c, geo.gamma, geo.a, 1e-11)
    out = tr.solve_typed_curve(ALPHAS, 0.05, 0.1, tb, geo, 1e-10, 4000, 0.5,
                                     free_mean=True)
    np.testing.assert_allclose(out["test"], ref["test"], rtol=1e-7)
    np.testing.assert_allclose(out["train"], ref["train"], rtol=1e-7)


@pytest.fixture(scope="module")
def relu_sign_trajectory():
    tg = as_target("tanh(2*z1) + 0.5*(z1**2-1)*z2")
    ws, s = mt.sample_typed_steps(RELU, tg, 1.0, 1.0, 1.5, 0.0, 160, 0, 3, "sign")
    return tg, ws, s, tr.type_groups(s, "sign", 8)


def test_two_directions_are_rotation_invariant(relu_sign_trajectory):
    """κ ~ N(0, I_K): rotating the spike basis (V → VR) rotates κ, r_t, Γ and f and must
    leave every error unchanged (up to the product-rule accuracy)."""
    tg, ws, s, groups = relu_sign_trajectory
    means, frac = mt.type_displacements(ws[0], ws[3], groups)
    v, _ = mt.spike_basis(means, frac, 2)
    assert v.shape[1] == 2
    # after three steps the two types' spikes are not along one direction (the reason for K = 2)
    cos = means[0] @ means[1] / np.linalg.norm(means[0]) / np.linalg.norm(means[1])
    assert -0.995 < cos < 0
    th = 0.7
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    res = []
    for basis in (v, v @ rot):
        geo = mt.multi_typed_geometry(ws[0], ws[3], 2, groups, basis)
        tb = mt.multi_typed_tables(RELU, tg, geo.r, geo.c, geo.gamma, geo.a, 1e-7)
        res.append(tr.solve_typed_curve(ALPHAS, 0.05, 0.0, tb, geo, 1e-8, 4000, 0.5))
    np.testing.assert_allclose(res[1]["test"], res[0]["test"], rtol=1e-5)
    np.testing.assert_allclose(res[1]["train"], res[0]["train"], rtol=1e-5)
    # a K = 1 treatment of the same state (the signed-mean direction) is a different model
    u = s @ (ws[3] - ws[0])
    geo1 = mt.multi_typed_geometry(ws[0], ws[3], 2, groups, (u / np.linalg.norm(u))[:, None])
    tb1 = mt.multi_typed_tables(RELU, tg, geo1.r, geo1.c, geo1.gamma, geo1.a, 1e-7)
    one = tr.solve_typed_curve(ALPHAS, 0.05, 0.0, tb1, geo1, 1e-8, 4000, 0.5)
    assert np.all(np.abs(one["test"] - res[0]["test"]) > 1e-4)


def test_limits_huge_ridge_and_lazy(relu_sign_trajectory):
    tg, ws, s, groups = relu_sign_trajectory
    means, frac = mt.type_displacements(ws[0], ws[2], groups)
    v, _ = mt.spike_basis(means, frac, 2)
    geo = mt.multi_typed_geometry(ws[0], ws[2], 2, groups, v)
    tb = mt.multi_typed_tables(RELU, tg, geo.r, geo.c, geo.gamma, geo.a, 1e-7)
    big = tr.solve_typed_curve(np.array([1.0]), 1e9, 0.2, tb, geo, 1e-9, 2000, 0.5)
    # E[y²] = E tanh(2z)² + 0.25 E[(z1²−1)²] E[z2²] = E tanh(2z)² + 0.5, by Gauss–Hermite here
    x, w = np.polynomial.hermite_e.hermegauss(200)
    ey2 = float(w @ np.tanh(2 * x) ** 2 / math.sqrt(2 * math.pi)) + 0.5
    assert big["test"][0] == pytest.approx(ey2 + 0.2, rel=1e-6)
    kw = dict(alpha0=1.0, eta=0.0, steps=2, lam=0.05, alphas=[0.5, 2.0], warn=False)
    const = multi_step_learning_curve("relu", "tanh", **kw)
    for readout in ("sign", "gaussian"):
        lazy = multi_step_learning_curve("relu", "tanh", readout=readout, **kw)
        for st in lazy.steps:
            np.testing.assert_allclose(st["test_error"], const.lazy_test_error, rtol=1e-12)
            assert st["validated"].all()


def test_curve_api_json_and_flags(capsys):
    kw = dict(alpha0=3.0, eta=1.5, steps=2, lam=0.05, alphas=[1.0], d=100, spectrum_draws=2)
    cur = multi_step_learning_curve("relu", "tanh(2*z1)", readout="sign", **kw)
    assert "not validated" in capsys.readouterr().err  # α0 = 3 is outside the checked box
    assert not cur.validated.any()
    data = cur.to_dict()
    assert [s["step"] for s in data["steps"]] == [1, 2]
    for s in data["steps"]:
        assert {"step", "test_error", "train_error", "frozen_error", "validated", "r",
                "gamma", "c", "test_error_std"} <= set(s)
        assert s["test_error"][0] > 0.0
    prm = data["params"]
    assert prm["spike_dims"] == 2 and prm["n_types"] == 2 and prm["reduction"] is None
    assert len(prm["typed_steps"]) == 2 and np.shape(prm["typed_steps"][0]["type_r"]) == (2, 2)
    inside = multi_step_learning_curve("relu", "tanh(2*z1)", readout="sign", warn=False,
                                       **{**kw, "alpha0": 1.0, "alphas": [0.5, 2.0, 3.0]})
    # the checked box of relu + sign (α0 = 1, η̃ ≤ 1.5, ψ in [0.5, 1], α in [0.5, 2], t ≤ 4)
    assert inside.validated.tolist() == [[True, True, False]] * 2
    gcur = multi_step_learning_curve("tanh", "tanh(2*z1)", readout="gaussian", n_types=4,
                                     warn=False, **kw)
    assert gcur.params["n_types"] == 4
    assert np.shape(gcur.params["typed_steps"][1]["type_r"]) == (4, 2)


# --------------------------------------------------------------------------- simulation

SIM_CONFIGS = {
    # relu, sign readout: staircase (z2 through He2(z1) z2 from step 2)
    "SR1": dict(target="tanh(2*z1) + 0.5*(z1**2-1)*z2", activation="relu", readout="sign",
                alpha0=1.0, eta=1.5, lam=0.05, psi=1.0, noise=0.0),
    # tanh, gaussian readout, single index, label noise
    "GT1": dict(target="tanh(2*z1)", activation="tanh", readout="gaussian", alpha0=1.0,
                eta=1.5, lam=0.05, psi=1.0, noise=0.1),
    # relu, sign readout, single index, p = d, label noise
    "SR3": dict(target="tanh(2*z1)", activation="relu", readout="sign", alpha0=1.0, eta=1.5,
                lam=0.05, psi=1.0, noise=0.1),
    # relu, sign readout, single index, p = d/2, label noise
    "SR2": dict(target="tanh(2*z1)", activation="relu", readout="sign", alpha0=1.0, eta=1.5,
                lam=0.05, psi=0.5, noise=0.1),
}


def simulate_config(cfg: dict, d: int, seeds, steps: int, n_test: int = 20_000) -> np.ndarray:
    """(len(ALPHAS), seeds, steps + 1) ridge test errors after t = 0..steps (docs/model.md §1)."""
    from giantstep.validation.simulator import simulate

    p = int(round(cfg["psi"] * d))
    out = np.empty((ALPHAS.size, len(seeds), steps + 1))
    for i, a in enumerate(ALPHAS):
        for k, s in enumerate(seeds):
            res = simulate(target=cfg["target"], activation=cfg["activation"], d=d, p=p,
                           steps=steps, alpha=cfg["alpha0"], eta=cfg["eta"],
                           readout=cfg["readout"], noise=cfg["noise"], lam=cfg["lam"],
                           alpha_readout=float(a), n_test=n_test, seed=s,
                           readout_every_step=True, measure_spike=False)
            out[i, k] = [st["readout"]["test_error"] for st in res.steps]
    return out


def theory_config(cfg: dict, steps: int, draws: int, d: int):
    return multi_step_learning_curve(
        cfg["activation"], cfg["target"], alpha0=cfg["alpha0"], eta=cfg["eta"], steps=steps,
        lam=cfg["lam"], alphas=list(ALPHAS), noise=cfg["noise"], width_ratio=cfg["psi"],
        readout=cfg["readout"], spectrum_draws=draws, d=d, warn=False)


def compare(cur, sims) -> list[tuple]:
    """(α, t, theory, sim mean, s.e. ⊕ draw spread/√draws) for t ≥ 1."""
    seeds = sims.shape[1]
    mean, se = sims.mean(axis=1), sims.std(axis=1, ddof=1) / math.sqrt(seeds)
    draws = cur.params["spectrum_draws"]
    rows = []
    for i, a in enumerate(ALPHAS):
        for t, st in enumerate(cur.steps, start=1):
            spread = st["test_error_std"][i] / math.sqrt(draws)
            rows.append((float(a), t, float(st["test_error"][i]), float(mean[i, t]),
                         float(math.hypot(se[i, t], spread))))
    return rows


def test_reduced_simulation_relu_sign():
    """Relu, sign readout, two steps at d = 256 (4 seeds; theory sampled at the same d)."""
    cfg = SIM_CONFIGS["SR2"]
    cur = theory_config(cfg, 2, 2, 256)
    sims = simulate_config(cfg, 256, range(4), 2, n_test=10_000)
    for a, t, th, m, se in compare(cur, sims):
        assert abs(th - m) <= 0.01 + 2 * se, (a, t, th, m, se)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SIM_CONFIGS))
def test_simulation_table(name):
    """The table of docs/multi_step_error.md ("Several neuron types after several steps"):
    d = 1024, 8 seeds, t = 1..4; asserted on the points flagged validated."""
    cfg = SIM_CONFIGS[name]
    cur = theory_config(cfg, 4, 4, 1000)
    # 12 seeds for the staircase (its (z1² − 1) z2 part is heavy-tailed), else 8
    sims = simulate_config(cfg, 1024, range(12 if name == "SR1" else 8), 4)
    ok = cur.validated
    for a, t, th, m, se in compare(cur, sims):
        if ok[t - 1, list(ALPHAS).index(a)]:
            assert abs(th - m) <= 0.01 + 2 * se, (name, a, t, th, m, se)
