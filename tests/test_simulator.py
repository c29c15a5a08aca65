"""Tests of the finite-d simulator (docs/model.md §1) against the tests' oracle (naive_protocol) and
hand-derived facts."""

from __future__ import annotations

import math

import naive_protocol as naive
import numpy as np
import pytest

from giantstep.errors import InputError
from giantstep.theory import Activation, Target
from giantstep.validation import sampling
from giantstep.validation.kernels import GENERIC, activation_code, residual_times_derivative
from giantstep.validation.simulator import SimulationConfig, initial_weights, simulate


def _labelled(cfg: SimulationConfig, key: tuple, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The simulator's own draws of one batch (so that the oracle sees the same data), labelled."""
    target = Target(cfg.target)
    X, eps = sampling.GaussianStream(cfg.seed, key, n, cfg.d).all()
    return X, target.evaluate(X[:, :target.r]) + math.sqrt(cfg.noise or 0) * eps


def _oracle_run(cfg: SimulationConfig) -> tuple[list[np.ndarray], list]:
    """The §1 protocol by the tests' oracle, on the simulator's W0, s and batches: the weights
    after each step 1..T and the steps' low-degree estimates."""
    W, s = initial_weights(cfg)
    p, d = W.shape
    lr = cfg.eta_raw / p if cfg.eta_raw is not None else cfg.eta * d ** ((cfg.ell - 1) / 2)
    batches = (_labelled(cfg, (sampling.STAGE_STEP, t), cfg.n) for t in range(1, cfg.steps + 1))
    runs = list(naive.train(W, s, Activation(cfg.activation), batches, steps=cfg.steps, lr=lr,
                            preprocess=cfg.preprocess_degree, normalize=cfg.normalize))
    return [w for w, _ in runs], [est for _, est in runs if est is not None]


def _oracle_errors(cfg: SimulationConfig, W: np.ndarray, lows: list) -> tuple[float, float]:
    """Ridge readout (training labels minus the averaged low-degree estimates, added back to the
    predictor at test time): training and test error."""
    act = Activation(cfg.activation)
    low = naive.average_estimates(lows)

    def data(key, n):
        X, y = _labelled(cfg, key, n)
        if low is not None:
            y = y - naive.low_degree_value(X, low)
        return naive.features(W, X, act), y

    if cfg.readout_on_step_batch:
        phi, y = data((sampling.STAGE_STEP, cfg.steps), cfg.n)
    else:
        phi, y = data((sampling.STAGE_READOUT,), cfg.n_readout)
    phi_t, y_t = data((sampling.STAGE_TEST,), cfg.n_test)
    return naive.readout_errors(phi, y, phi_t, y_t, cfg.lam)


TINY = [
    dict(target="z1 + z1*z2", activation="relu", readout="sign", steps=2, noise=0.3),
    dict(target="tanh(z1)", activation="tanh", readout="constant", steps=1, init="sphere",
         alpha_readout=0.5),  # n_r = 3 < p: dual ridge
    dict(target="z1**2 - 1", activation="erf", readout="gaussian", steps=2, normalize=True),
    dict(target="z1*z2", activation="He2 + He1", readout="sign", steps=1, ell=2, alpha=0.5,
         preprocess=True, symmetric=True),
    dict(target="z1 + z2**2", activation="relu", readout="gaussian", steps=1, preprocess=1,
         eta_raw=7.0, symmetric=True),
    dict(target="z1 + z1*z2", activation="relu", readout="gaussian", steps=1, preprocess=2,
         n_samples=30, readout_on_step_batch=True),
]


@pytest.mark.parametrize("extra", TINY)
def test_simulator_matches_naive_loop(extra):
    params = dict(d=6, p=4, alpha=3.0, eta=1.5, lam=0.2, n_test=50, seed=3,
                  record_neurons=True, chunk_size=1)
    cfg = SimulationConfig(**{**params, **extra})
    res = simulate(cfg)
    weights, lows = _oracle_run(cfg)
    W_naive = weights[-1]
    np.testing.assert_allclose(res.neurons["W"], W_naive, rtol=1e-11, atol=1e-12)
    train, test = _oracle_errors(cfg, W_naive, lows)
    assert res.readout["train_error"] == pytest.approx(train, rel=1e-9)
    assert res.test_error == pytest.approx(test, rel=1e-9)
    # per-step records agree with the weights
    last = res.steps[-1]["all"]
    r = Target(cfg.target).r
    np.testing.assert_allclose(last["overlap_mean"], W_naive[:, :r].mean(axis=0), atol=1e-12)
    assert last["norm2_mean"] == pytest.approx(np.mean(np.sum(W_naive**2, axis=1)), rel=1e-12)


def test_frozen_error_matches_oracle():
    # measure_frozen: the error of the network as trained (a = s/√p, no refit) on the test set
    cfg = SimulationConfig(target="z1 + z1*z2", activation="tanh", d=20, p=8, alpha=3.0, eta=1.5,
                           steps=2, readout="sign", noise=0.2, n_test=300, seed=4, measure_frozen=True)
    res = simulate(cfg)
    weights, _ = _oracle_run(cfg)
    W0, s = initial_weights(cfg)
    X, y = _labelled(cfg, (sampling.STAGE_TEST,), cfg.n_test)
    act = Activation(cfg.activation)
    for t, W in enumerate([W0, *weights]):
        assert res.steps[t]["frozen_error"] == pytest.approx(naive.frozen_error(W, s, act, X, y), rel=1e-10)


def test_chunked_and_unchunked_agree():
    base = dict(target="z1 + z1*z2", activation="relu", d=40, p=24, alpha=20.0, eta=2.0,
                steps=2, readout="sign", lam=0.1, n_test=700, seed=11,
                record_neurons=True, noise=0.1)
    whole = simulate(SimulationConfig(chunk_size=10**6, **base))
    chunked = simulate(SimulationConfig(chunk_size=130, **base))  # → 256 rows, 4 chunks
    np.testing.assert_allclose(chunked.neurons["W"], whole.neurons["W"], rtol=1e-12, atol=1e-13)
    assert chunked.test_error == pytest.approx(whole.test_error, rel=1e-11)
    assert chunked.readout["train_error"] == pytest.approx(whole.readout["train_error"], rel=1e-9)


def test_float32_close_to_float64():
    base = dict(target="z1", activation="tanh", d=64, p=32, alpha=4.0, eta=2.0, steps=2,
                lam=0.1, n_test=500, record_neurons=True)
    r64 = simulate(SimulationConfig(**base))
    r32 = simulate(SimulationConfig(dtype="float32", **base))
    np.testing.assert_allclose(r32.neurons["W"], r64.neurons["W"], atol=2e-5)
    assert r32.test_error == pytest.approx(r64.test_error, rel=1e-3)


def test_same_seed_same_numbers_and_different_seed_differs():
    cfg = SimulationConfig(target="z1", activation="relu", d=32, p=16, readout="gaussian",
                           lam=0.1, n_test=200, seed=5)
    a, b = simulate(cfg).to_dict(), simulate(cfg).to_dict()
    a.pop("timings"), b.pop("timings")
    assert a == b
    c = simulate(cfg, seed=6).to_dict()
    assert c["readout"]["test_error"] != a["readout"]["test_error"]


def test_symmetric_init_has_zero_output():
    # with symmetric pairs f ≡ 0 at init, so the first step's loss is the label second moment
    cfg = SimulationConfig(target="z1", activation="relu", d=50, p=20, alpha=200.0,
                           symmetric=True, readout="gaussian", n_test=0)
    res = simulate(cfg)
    X, eps = sampling.GaussianStream(0, (sampling.STAGE_STEP, 1), cfg.n, cfg.d).all()
    assert res.steps[1]["train_loss"] == pytest.approx(np.mean(X[:, 0] ** 2), rel=1e-12)
    # the two members of a pair moved in opposite directions from the same start
    res = simulate(cfg, record_neurons=True)
    W = res.neurons["W"]
    W0, _ = initial_weights(cfg)
    np.testing.assert_allclose(W[:10] - W0[:10], -(W[10:] - W0[10:]), atol=1e-12)


def test_initial_statistics_and_readout_laws():
    cfg = SimulationConfig(d=400, p=2000, readout="sign", steps=0, n_test=0)
    W, s = initial_weights(cfg)
    assert np.sum(s > 0) == 1000 and np.sum(s < 0) == 1000
    norms = np.sum(W**2, axis=1)
    assert abs(norms.mean() - 1) < 5 * math.sqrt(2 / 400 / 2000)
    Ws, _ = initial_weights(SimulationConfig(d=400, p=50, init="sphere"))
    np.testing.assert_allclose(np.sum(Ws**2, axis=1), 1.0, rtol=1e-12)
    _, sg = initial_weights(SimulationConfig(d=10, p=4000, readout="gaussian"))
    assert abs(sg.mean()) < 0.1 and abs(sg.std() - 1) < 0.05


def test_row_normalisation():
    res = simulate(SimulationConfig(target="z1", d=30, p=10, steps=3, normalize=True,
                                    eta=5.0, n_test=0, record_neurons=True))
    np.testing.assert_allclose(np.sum(res.neurons["W"] ** 2, axis=1), 1.0, rtol=1e-12)
    for rec in res.steps[1:]:
        assert rec["all"]["norm2_mean"] == pytest.approx(1.0)


def test_lazy_step_changes_nothing():
    cfg = SimulationConfig(target="z1", d=30, p=10, steps=2, eta=0.0, n_test=0,
                           record_neurons=True)
    res = simulate(cfg)
    W0, _ = initial_weights(cfg)
    np.testing.assert_array_equal(res.neurons["W"], W0)


def test_one_step_mean_overlap_tanh_single_index():
    # §5.1: W* w_j → η̃ s_j μ1 C1; z1 target, tanh student (μ0 = μ2 = 0): η̃ μ1 = 1.5·0.6057
    mu1 = Activation("tanh").mu(1)
    vals = []
    for seed in range(3):
        res = simulate(SimulationConfig(target="z1", activation="tanh", d=300, p=100, alpha=8.0,
                                        eta=1.5, n_test=0, seed=seed))
        vals.append(res.steps[1]["all"]["overlap_mean"][0])
    # the shared batch noise moves the mean by ~η̃μ1/√n ≈ 0.02 per seed
    assert np.mean(vals) == pytest.approx(1.5 * mu1, abs=0.05)


def test_fused_kernel_matches_numpy():
    rng = np.random.default_rng(0)
    for name in ("relu", "tanh", "erf"):
        act = Activation(name)
        code = activation_code(act)
        assert code != GENERIC
        H = rng.standard_normal((37, 11))
        c = rng.standard_normal(11)
        y = rng.standard_normal(37)
        H1 = H.copy()
        f = residual_times_derivative(act, code, H1, c, y)
        f_ref = act.evaluate(H) @ c
        np.testing.assert_allclose(f, f_ref, rtol=1e-12)
        np.testing.assert_allclose(H1, (y - f_ref)[:, None] * act.derivative(H), rtol=1e-12,
                                   atol=1e-14)


@pytest.mark.parametrize(
    "bad",
    [dict(d=0), dict(readout="bimodal"), dict(init="uniform"), dict(alpha=-1.0),
     dict(symmetric=True, p=5), dict(dtype="float16"), dict(noise=-0.1), dict(steps=-1),
     dict(lam=-1.0), dict(preprocess=5)],
)
def test_bad_configuration_raises_input_error(bad):
    with pytest.raises(InputError):
        SimulationConfig(**bad)


def test_bad_target_or_activation():
    with pytest.raises(InputError):
        simulate(SimulationConfig(target="z1 + import", n_test=0))
    with pytest.raises(InputError):
        simulate(SimulationConfig(activation="sign", n_test=0))
    with pytest.raises(InputError):
        simulate(SimulationConfig(target="z1*z9", d=4, n_test=0))


def test_gradient_cosines_are_those_of_the_update():
    cfg = SimulationConfig(target="z1 + z1*z2", activation="relu", d=20, p=6, alpha=5.0, eta=2.0,
                           steps=2, readout="sign", n_test=0, record_neurons=True)
    res = simulate(cfg)
    W0, _ = initial_weights(cfg)
    W1 = simulate(cfg, steps=1).neurons["W"]
    dW = W1 - W0
    expected = dW[:, :2] / np.linalg.norm(dW, axis=1, keepdims=True)
    np.testing.assert_allclose(res.neurons["grad_cosine"][0], expected, rtol=1e-10, atol=1e-14)
    assert res.neurons["grad_cosine"].shape == (2, 6, 2)


def test_reference_orientation_first_step_slope():
    # reference protocol (ii): after one step every update points along μ1(σ1*) e1 + μ1(σ2*) e2
    from giantstep.validation.reference import gradient_orientation

    res = gradient_orientation("spike", d=400, p=64, steps=2)
    assert res["predicted_slope"] == pytest.approx(0.25)
    for row in res["steps"]:
        if row["step"] == 1:
            assert row["slope"] == pytest.approx(0.25, abs=0.06)
            c1, c2 = row["mean_cos"]
            assert c2 / c1 == pytest.approx(0.25, abs=0.06)
