"""Several neuron types in the one-step test error (numerics/test_error/solver/typed.py).

Checks, none of which uses a number produced by the code under test as its expectation:

* one type equals the quoted single-type equations (Cui et al., Result 3.3, the kernel
  of numerics/test_error/solver/engine.py) on the spectral inputs of the same sampled step;
* two identical types (a constant-readout step whose rows are split in two arbitrary
  halves, the same coefficient functions) equal one type: the block algebra of T > 1;
* the linear stage for (Q1, q2) equals a brute-force iteration of the full map with
  S⁻¹ N S⁻¹ formed explicitly, on two genuinely different types (relu, sign);
* limits: λ → ∞ leaves only the zero modes ``m_t μ0_t(κ)`` (closed form for relu), the
  error is at least Δ, η̃ = 0 is the lazy curve for every readout;
* against a simulation of docs/model.md §1 (tests/naive_protocol.py) at the same size.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from giantstep.errors import InputError
from giantstep.numerics import one_step_learning_curve
from giantstep.numerics.test_error.curves.one_step import _solve_curve
from giantstep.numerics.test_error.solver import typed as tr
from giantstep.numerics.test_error.spectra.sampled_steps import bulk_inputs, sample_step
from giantstep.numerics.test_error.tables.single_index import (
    SpikedParameters,
    activation_moments,
    kappa_tables,
    spiked_parameters,
)
from giantstep.theory import as_activation, as_target

RELU, TANH = as_activation("relu"), as_activation("tanh")
ALPHAS = np.array([0.5, 2.0])


@pytest.fixture(scope="module")
def relu_step():
    """A constant-readout relu step at d = p = 200 (the library's own sampler)."""
    w0, w1 = sample_step(RELU, as_target("tanh(z1)"), 1.0, 1.0, 2.0, 0.0, 200, 3)
    return w0, w1


def test_one_type_equals_the_single_type_equations(relu_step):
    w0, w1 = relu_step
    b = bulk_inputs(w0, w1)
    ms, mt = activation_moments(RELU), activation_moments(TANH)
    base = spiked_parameters(ms, mt, 1.0, 2.0, 0.0)
    prm = SpikedParameters(b.r, b.gamma, b.c, base.mean_error, base.error_second)
    tabs = kappa_tables(RELU, TANH, prm, 1e-10)
    spec = (np.full(b.p, 1.0 / b.p), b.D, b.F, b.H, b.p, b.G)
    ref = _solve_curve(ALPHAS, 0.05, 0.1, tabs, b.c, lambda a: spec, 1e-11, 20000, 0.5, "ref")
    geo = tr.typed_geometry(w0, w1, np.ones(w0.shape[0]), 1, [np.arange(w0.shape[0])])
    assert geo.r[0] == pytest.approx(b.r, rel=1e-12)
    assert geo.c[0] == pytest.approx(b.c, rel=1e-12)
    tb = tr.typed_tables(RELU, as_target("tanh(z1)"), geo.r, geo.c, geo.gamma, geo.a, 1e-10)
    out = tr.solve_typed_curve(ALPHAS, 0.05, 0.1, tb, geo, 1e-11, 2000, 0.5, free_mean=True)
    np.testing.assert_allclose(out["test"], ref["test"], rtol=1e-7)
    np.testing.assert_allclose(out["train"], ref["train"], rtol=1e-7)


def _split_geometry(geo, tb, groups):
    """The one-type geometry with its rows regrouped as two types of identical inputs."""
    perm = np.concatenate(groups)
    types = np.concatenate([np.full(g.size, t) for t, g in enumerate(groups)])
    geo2 = tr.TypedGeometry(np.repeat(geo.r, 2), np.repeat(geo.c, 2),
                            np.array([g.size / perm.size for g in groups]), geo.gamma, geo.a,
                            types, geo.omega[np.ix_(perm, perm)], geo.f[perm], geo.h[perm], 0.0)
    tb2 = dataclasses.replace(tb, mu0=np.vstack([tb.mu0] * 2), mu1=np.vstack([tb.mu1] * 2),
                              mu2sq=np.vstack([tb.mu2sq] * 2))
    return geo2, tb2


def test_two_identical_types_equal_one(relu_step):
    w0, w1 = relu_step
    p = w0.shape[0]
    geo = tr.typed_geometry(w0, w1, np.ones(p), 1, [np.arange(p)])
    tb = tr.typed_tables(RELU, as_target("tanh(z1)"), geo.r, geo.c, geo.gamma, geo.a, 1e-9)
    one = tr.solve_typed_curve(ALPHAS, 0.05, 0.0, tb, geo, 1e-11, 2000, 0.5)
    free = tr.solve_typed_curve(ALPHAS, 0.05, 0.0, tb, geo, 1e-11, 2000, 0.5, free_mean=True)
    # the mean mode's ridge cost is O(1/p): the two treatments differ by little at p = 200
    np.testing.assert_allclose(one["test"], free["test"], atol=0.01)
    assert np.all(one["test"] >= free["test"] - 1e-12)  # a costly mode can only fit worse
    rng = np.random.default_rng(5)
    idx = rng.permutation(p)
    geo2, tb2 = _split_geometry(geo, tb, [np.sort(idx[:70]), np.sort(idx[70:])])
    two = tr.solve_typed_curve(ALPHAS, 0.05, 0.0, tb2, geo2, 1e-11, 2000, 0.5)
    np.testing.assert_allclose(two["test"], one["test"], rtol=1e-8)
    np.testing.assert_allclose(two["train"], one["train"], rtol=1e-8)
    # the per-type overlaps add up to the one-type ones
    for s1, s2 in zip(one["states"], two["states"]):
        assert s2["V1"].sum() == pytest.approx(float(s1["V1"][0, 0]), rel=1e-8)
        assert s2["theta"].sum() == pytest.approx(float(s1["theta"][0]), rel=1e-7)
        assert s2["Q1"].sum() == pytest.approx(float(s1["Q1"][0, 0]), rel=1e-7)


def _brute_force_q(geo, tb, x, alpha, lam, noise, iters=400):
    """(Q1, q2) by iterating q ← mean + tr(· S⁻¹ N(q̂(q)) S⁻¹)/p with N formed explicitly."""
    T, p, t = geo.r.size, geo.p, geo.types
    ent = tr.Entropic(geo, lam)
    en = tr.energetic(x, alpha, noise, tb, with_q=False)
    ent.solve(en)
    sinv, ah = ent.sinv, ent.ahat
    proj = [np.diag((t == k).astype(float)) for k in range(T)]
    q = {"Q1": np.zeros((T, T)), "q2": np.zeros(T)}
    for _ in range(iters):
        e = tr.energetic({**x, **q}, alpha, noise, tb, with_q=True)
        n_mat = e["q1h"][t][:, t] * geo.omega + np.diag(e["q2h"][t])
        cov = sinv @ n_mat @ sinv
        new_q1 = np.array([[ah @ proj[a] @ geo.omega @ proj[b] @ ah
                            + np.trace(proj[a] @ geo.omega @ proj[b] @ cov) / p
                            for b in range(T)] for a in range(T)])
        new_q2 = np.array([ah @ proj[a] @ ah + np.trace(proj[a] @ cov) / p for a in range(T)])
        q = {"Q1": 0.5 * (q["Q1"] + new_q1), "q2": 0.5 * (q["q2"] + new_q2)}
    return q


def test_linear_stage_equals_brute_force_on_two_types():
    tg = as_target("tanh(z1)")
    w0, w1, s = tr.sample_typed_step(RELU, tg, 1.0, 1.0, 2.0, 0.0, 120, 1, "sign")
    geo = tr.typed_geometry(w0, w1, s, 1, tr.type_groups(s, "sign", 8))
    assert geo.r[0] > 0 > geo.r[1]  # the two signs move the two types apart
    tb = tr.typed_tables(RELU, tg, geo.r, geo.c, geo.gamma, geo.a, 1e-9)
    ent = tr.Entropic(geo, 0.1)
    res = tr.solve_typed_point(1.0, 0.1, 0.05, tb, ent, None, 1e-11, 2000, 0.5)
    x = {k: res[k] for k in ("V1", "V2", "theta", "psi", "m")}
    ref = _brute_force_q(geo, tb, x, 1.0, 0.1, 0.05)
    np.testing.assert_allclose(res["Q1"], ref["Q1"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(res["q2"], ref["q2"], rtol=1e-8, atol=1e-12)


def _relu_mean(a, c):
    """E relu(a + c ξ) = a Φ(a/c) + c φ(a/c) (closed form)."""
    from scipy.special import ndtr

    u = a / c
    return a * ndtr(u) + c * np.exp(-u * u / 2) / np.sqrt(2 * np.pi)


def test_limits_label_variance_zero_modes_noise_floor_and_lazy():
    tg = "tanh(z1)"
    x, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / np.sqrt(2 * np.pi)
    ey2 = float(w @ np.tanh(x) ** 2)  # E[tanh(z)²], independent of the library
    # λ → ∞ at finite p: every readout direction, the mean modes 1_t included, costs λ, so the
    # readout vanishes and the error is E[y²] + Δ
    big = one_step_learning_curve("relu", tg, alpha0=1.0, eta=2.0, lam=1e9, alphas=[1.0],
                                  noise=0.2, readout="sign", spectrum_draws=1, d=150, warn=False)
    assert big.test_error[0] == pytest.approx(ey2 + 0.2, rel=1e-6)
    # with the d → ∞ rule for the mean modes (free_mean) only the zero modes m_t μ0_t(κ) are
    # fitted: E = E[y²] + Δ − bᵀG⁻¹b, G_ts = E[μ0_t μ0_s], b_t = E[μ0_t h]; relu's μ0_t in
    # closed form, h(κ) = E[tanh(γκ + ρξ)] by a 200 × 200 Gauss–Hermite rule
    geo = tr.sampled_typed_geometry(RELU, as_target(tg), 1.0, 1.0, 2.0, 0.2, 150, 0, "sign", 8)
    tb = tr.typed_tables(RELU, as_target(tg), geo.r, geo.c, geo.gamma, geo.a, 1e-10)
    zero = tr.solve_typed_curve(np.array([1.0]), 1e9, 0.2, tb, geo, 1e-10, 2000, 0.5,
                                free_mean=True)
    g = float(geo.gamma[0])
    h = np.tanh(g * x[:, None] + np.sqrt(1 - g * g) * x[None, :]) @ w
    mu0 = np.stack([_relu_mean(rt * x, ct) for rt, ct in zip(geo.r, geo.c)])
    gram = (mu0 * w) @ mu0.T
    b = mu0 @ (w * h)
    assert zero["test"][0] == pytest.approx(ey2 + 0.2 - b @ np.linalg.solve(gram, b), rel=1e-6)
    cur = one_step_learning_curve("relu", tg, alpha0=1.0, eta=2.0, lam=1e-3, alphas=[0.5, 3.0],
                                  noise=0.2, readout="sign", spectrum_draws=1, d=150, warn=False)
    assert np.all(cur.test_error >= 0.2)
    lazy = one_step_learning_curve("relu", "tanh", alpha0=1.0, eta=0.0, lam=0.05,
                                   alphas=[0.5, 2.0], readout="gaussian", warn=False)
    const = one_step_learning_curve("relu", "tanh", alpha0=1.0, eta=0.0, lam=0.05,
                                    alphas=[0.5, 2.0], warn=False)
    np.testing.assert_allclose(lazy.test_error, const.test_error, rtol=1e-12)
    np.testing.assert_allclose(lazy.test_error, const.lazy_test_error, rtol=1e-12)


def test_bad_input_names_the_problem():
    with pytest.raises(InputError, match="sampled real steps"):
        one_step_learning_curve("relu", "tanh", alpha0=1.0, eta=2.0, lam=0.05, alphas=[1.0],
                                readout="sign", spectrum="limit", warn=False)
    with pytest.raises(InputError, match="n_types"):
        one_step_learning_curve("relu", "tanh", alpha0=1.0, eta=2.0, lam=0.05, alphas=[1.0],
                                readout="gaussian", n_types=0, warn=False)


def test_typed_curve_flags_points_outside_the_checked_region(capsys):
    from giantstep.numerics.test_error.curves.one_step import checked_points_typed

    alphas = np.array([0.3, 1.0, 2.0])
    ok, why = checked_points_typed("sign", "mu2", 1.0, 2.0, 1.0, alphas)
    assert ok.tolist() == [False, True, True] and "α outside" in why
    ok, why = checked_points_typed("sign", "mu2", 4.0, 2.0, 1.0, alphas)
    assert not ok.any() and "α0 = 4" in why
    ok, why = checked_points_typed("gaussian", "mu2", 1.0, 2.0, 2.0, alphas)
    assert not ok.any() and "ψ = 2" in why
    # a step sampled below the checked size is flagged even inside the box
    cur = one_step_learning_curve("relu", "tanh", alpha0=1.0, eta=2.0, lam=0.05,
                                  alphas=[1.0], readout="sign", spectrum_draws=1, d=120)
    assert not cur.validated[0]
    err = capsys.readouterr().err
    assert "not validated" in err and "d = 120" in err
    assert cur.to_dict()["validated"] == [False]


def _naive_one_step(student, target, readout, d, p, alpha0, eta, lam, alpha, seed, noise=0.0):
    """Test error of one giant step + ridge readout by the tests' plain oracle
    (tests/naive_protocol.py: its own draws, normal equations)."""
    import naive_protocol as npr

    act, tg = as_activation(student), as_target(target)
    rng = np.random.default_rng(seed)
    labels = lambda x: np.asarray(tg.evaluate(x[:, : tg.r]), dtype=float)  # noqa: E731
    w0, s = npr.draw_init(rng, p, d, readout=readout)
    batch = npr.draw_batch(rng, int(round(alpha0 * d)), d, labels, noise)
    (w1, _), = npr.train(w0, s, act, [batch], steps=1, lr=eta)
    x, y = npr.draw_batch(rng, int(round(alpha * d)), d, labels, noise)
    xt, yt = npr.draw_batch(rng, 20_000, d, labels, noise)
    return npr.readout_errors(npr.features(w1, x, act), y, npr.features(w1, xt, act), yt, lam)[1]


@pytest.mark.parametrize("student, readout", [("relu", "sign"), ("tanh", "gaussian")])
def test_against_the_naive_protocol_reduced(student, readout):
    # the reduced CI version of the docs table: d = p = 400, 4 seeds of the plain oracle
    # against the equations on sampled steps of the same size (2 draws)
    alphas = [0.5, 2.0]
    cur = one_step_learning_curve(student, "tanh", alpha0=1.0, eta=2.0, lam=0.05, alphas=alphas,
                                  readout=readout, spectrum_draws=2, d=400, warn=False)
    sims = np.array([[_naive_one_step(student, "tanh(z1)", readout, 400, 400, 1.0, 2.0, 0.05, a,
                                      seed) for a in alphas] for seed in range(4)])
    se = np.hypot(sims.std(axis=0, ddof=1) / 2.0, cur.test_error_std / np.sqrt(2))
    assert np.all(np.abs(cur.test_error - sims.mean(axis=0)) < 0.01 + 2 * se)


def test_odd_student_gaussian_readout_reduces_to_positive_types():
    # the identity behind the reduction: for odd σ the rows sign(s_j) w_j after a step with
    # readout s equal the rows after a step from sign(s_j) w_j⁰ with readout |s| (same batch)
    import naive_protocol as npr

    rng = np.random.default_rng(3)
    w0, s = npr.draw_init(rng, 60, 40, readout="gaussian")
    x = rng.standard_normal((80, 40))
    y = np.tanh(x[:, 0])
    sg = np.sign(s)
    w1 = npr.giant_step(w0, s, x, y, TANH, lr=2.0)
    w1_flipped = npr.giant_step(sg[:, None] * w0, np.abs(s), x, y, TANH, lr=2.0)
    np.testing.assert_allclose(sg[:, None] * w1, w1_flipped, rtol=1e-12, atol=1e-14)
    # so the gaussian readout of an odd student has types with positive spikes only
    cur = one_step_learning_curve("tanh", "tanh", alpha0=1.0, eta=2.0, lam=0.05, alphas=[1.0],
                                  readout="gaussian", n_types=4, spectrum_draws=1, d=150,
                                  warn=False)
    r = np.array(cur.params["type_r"])
    assert r.size == 4 and np.all(r > 0) and np.all(np.diff(r) > 0)


# docs/test_error.md, "Several neuron types", the simulation table: d = 1500, 4 seeds, 2·10⁴
# test points, the validation simulator with the readout law; theory in the default mode
# (4 steps sampled at d = 1000, seeds 100–103)
TYPED_TABLE = [
    ("R1", "relu", "tanh(z1)", "sign", 1.0, 2.0, 1.0, 0.0),
    ("R2", "relu", "tanh(z1)", "sign", 0.5, 3.0, 2.0, 0.1),
    ("R3", "relu", "tanh(z1) + z1*z2", "sign", 2.0, 2.0, 1.0, 0.0),
    ("R4", "relu", "tanh(z1)", "sign", 2.0, 1.0, 0.5, 0.0),
    ("G1", "tanh", "tanh(z1)", "gaussian", 1.0, 2.0, 1.0, 0.0),
    ("G2", "relu", "tanh(z1)", "gaussian", 1.0, 2.0, 1.0, 0.0),
    ("G3", "erf", "sin(z1)", "gaussian", 0.5, 3.0, 1.0, 0.1),
]


@pytest.mark.slow
@pytest.mark.parametrize("row", TYPED_TABLE, ids=[r[0] for r in TYPED_TABLE])
def test_typed_table_against_simulation(row):
    from giantstep.validation.simulator import simulate

    _, student, target, readout, alpha0, eta, psi, noise = row
    alphas = [0.5, 1.0, 2.0]
    cur = one_step_learning_curve(student, target, alpha0=alpha0, eta=eta, lam=0.05,
                                  alphas=alphas, noise=noise, width_ratio=psi, readout=readout,
                                  seed=100, warn=False)
    d = 1500
    sims = np.array([[simulate(target=target, activation=student, d=d, p=int(round(psi * d)),
                               alpha=alpha0, eta=eta, readout=readout, seed=s, steps=1,
                               lam=0.05, alpha_readout=a, n_test=20_000, noise=noise,
                               measure_spike=False).test_error for a in alphas]
                     for s in range(4)])
    se = sims.std(axis=0, ddof=1) / 2.0
    tol = 0.01 + 2 * np.sqrt(se**2 + (cur.test_error_std / 2.0) ** 2)
    assert np.all(np.abs(cur.test_error - sims.mean(axis=0)) < tol)
    assert all(cur.validated)
