"""docs/model.md §6.1: the one-step learning curve — identities, limits, quoted numbers, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from cui_equations import apply_map
from scipy import integrate, special

from giantstep.errors import ConvergenceError, InputError
from giantstep.numerics import one_step_learning_curve
from giantstep.numerics.test_error.curves.one_step import LearningCurve, _limit_spectrum
from giantstep.numerics.test_error.tables.single_index import (
    activation_moments,
    kappa_tables,
    spiked_parameters,
)
from giantstep.theory import Activation

A_REF = dict(student="tanh", teacher="tanh", alpha0=0.5, eta=1.0, lam=0.01)


@pytest.fixture(scope="module")
def curve_a() -> LearningCurve:
    return one_step_learning_curve(**A_REF, alphas=[0.2, 0.6, 1.0, 1.6, 2.2, 3.0])


def test_result_object(curve_a):
    d = curve_a.to_dict()
    for key in ("alpha", "test_error", "train_error", "lazy_test_error", "validated"):
        assert len(d[key]) == 6
    assert "converged" not in d  # always true (failures raise): not reported as a check
    assert d["params"]["spectrum"] == "limit"  # η̃²/α0 = 2: the spiked model
    assert set(d["order_parameters"]) >= {"q1", "q2", "V1", "V2", "theta", "psi", "m"}
    assert curve_a.q1.shape == (6,)  # order parameters as attributes
    fig = curve_a.plot()
    labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert any("lazy" in lab for lab in labels) and any("giant" in lab for lab in labels)


def test_spiked_parameters_match_theory_5_1_numbers():
    # docs/model.md §5.1 (checked against simulation): tanh/tanh, α=2, η̃=3:
    # γ = 0.8065 and cosine η̃ μ1 ‖C1‖/‖w‖ = 0.6317 with ‖w‖² = c² + r² (μ2 = 0)
    t = activation_moments(Activation("tanh"))
    p = spiked_parameters(t, t, alpha0=2.0, eta=3.0, noise=0.0)
    assert p.gamma == pytest.approx(0.8065, abs=2e-4)
    cosine = 3.0 * t.mu1 * t.mu1 / math.sqrt(p.c**2 + p.r**2)
    assert cosine == pytest.approx(0.6317, abs=2e-4)


def test_spiked_parameters_agree_with_one_step_overlaps():
    try:
        from giantstep.numerics import one_step_overlaps

        ref = one_step_overlaps("relu(z1)", "tanh", alpha=0.7, eta=1.5, readout="constant",
                                noise=0.2)
    except Exception as exc:  # the other helper's module may not be there yet
        pytest.skip(f"one_step_overlaps not available: {exc}")
    p = spiked_parameters(activation_moments(Activation("tanh")),
                          activation_moments(Activation("relu")), 0.7, 1.5, 0.2)
    assert (p.r, p.gamma, p.c) == pytest.approx((ref.r, ref.gamma, ref.c), rel=1e-10)


def test_theory_quoted_values(curve_a):
    # docs/model.md §6.1: 0.285 (α=0.2) and 0.207 (α=1.6) from the equations with a sampled
    # d = 2000 spectrum; the d → ∞ limit must be within the spread of sampled spectra.
    assert curve_a.test_error[0] == pytest.approx(0.285, abs=0.003)
    assert curve_a.test_error[3] == pytest.approx(0.207, abs=0.006)
    # sin teacher, tanh student, α0=20, η̃=3, λ=0.1, α=2.3: (D, c², D) → 0.03429
    lc = one_step_learning_curve("tanh", "sin", alpha0=20.0, eta=3.0, lam=0.1, alphas=[2.3])
    assert lc.test_error[0] == pytest.approx(0.03429, abs=2e-4)


def test_fixed_point_satisfies_equations():
    student, teacher = Activation("tanh"), Activation("sin")
    lc = one_step_learning_curve(student, teacher, alpha0=1.0, eta=2.0, lam=0.05, alphas=[0.5, 1.7], noise=0.1,
                                 tol=1e-10)
    prm = spiked_parameters(activation_moments(student), activation_moments(teacher), 1.0, 2.0, 0.1)
    tabs = kappa_tables(student, teacher, prm, 1e-11)
    for i, a in enumerate(lc.alpha):
        state = np.array([lc.order_parameters[k][i] for k in ("q1", "q2", "V1", "V2", "theta",
                                                              "psi", "m")])
        spec = _limit_spectrum(a, 0.05, prm.c, tabs, 1e-11)[:4]
        new, hats, eg, et = apply_map(state, a, 0.05, 0.1, *tabs.arrays(), *spec)
        np.testing.assert_allclose(new, state, rtol=1e-8, atol=1e-9)
        assert eg == pytest.approx(lc.test_error[i], rel=1e-8)
        assert et == pytest.approx(lc.train_error[i], rel=1e-8)


def test_quadrature_is_converged():
    # tighter quadrature tolerance (more κ, inner and spectral nodes) changes nothing
    base = one_step_learning_curve("erf", "tanh", alpha0=2.0, eta=3.0, lam=0.02, alphas=[0.3, 1.2, 2.5], tol=1e-6)
    fine = one_step_learning_curve("erf", "tanh", alpha0=2.0, eta=3.0, lam=0.02, alphas=[0.3, 1.2, 2.5], tol=1e-11)
    assert fine.params["n_kappa"] >= base.params["n_kappa"]
    np.testing.assert_allclose(base.test_error, fine.test_error, rtol=1e-5)


def test_error_above_noise_and_train_below_test():
    lc = one_step_learning_curve("tanh", "tanh", alpha0=0.5, eta=1.0, lam=0.01, alphas=[0.2, 0.8, 1.5, 4.0], noise=0.25)
    assert np.all(lc.test_error >= 0.25)
    assert np.all(lc.lazy_test_error >= 0.25)
    assert np.all(lc.train_error <= lc.test_error)
    assert np.all(lc.train_error >= 0)


def test_curve_is_continuous_in_alpha():
    alphas = np.linspace(0.2, 3.0, 57)
    lc = one_step_learning_curve("tanh", "tanh", alpha0=0.5, eta=1.0, lam=0.01, alphas=alphas, tol=1e-8)
    jumps = np.abs(np.diff(lc.test_error))
    # smooth curve: no jump bigger than a few times the typical step (interpolation peak incl.)
    assert jumps.max() < 0.02
    assert jumps.max() < 8 * np.median(jumps)
    # warm starts do not change the answer: reversed grid gives the same values
    rev = one_step_learning_curve("tanh", "tanh", alpha0=0.5, eta=1.0, lam=0.01, alphas=alphas[::-1],
                                  tol=1e-8)
    np.testing.assert_allclose(rev.test_error[::-1], lc.test_error, rtol=1e-6)


def test_large_ridge_gives_label_variance():
    # λ → ∞ (after d → ∞): the bulk readout vanishes; only the zero mode m μ0(κ) is fitted
    # (its ‖a‖² cost is O(1) against O(n) data). Lazy: μ0 is a constant → the fit is the
    # label mean and the error is the label variance (+ Δ).
    lc = one_step_learning_curve("tanh(x) + 1", "tanh(x) + 0.5", alpha0=1.0, eta=0.0, lam=1e9, alphas=[0.5, 2.0],
                                 noise=0.1)
    var_y = activation_moments(Activation("tanh")).second + 0.1
    np.testing.assert_allclose(lc.test_error, var_y, rtol=1e-6)
    # odd student, lazy: μ0 ≡ 0, nothing is fitted: E[y²]
    lc = one_step_learning_curve("tanh", "tanh(x) + 0.5", alpha0=1.0, eta=0.0, lam=1e9, alphas=[1.0])
    assert lc.test_error[0] == pytest.approx(var_y - 0.1 + 0.25, rel=1e-6)


def test_large_ridge_after_step_fits_only_the_zero_mode():
    # η̃ > 0, odd student: E_g → E[y²] − E[μ0(κ) y]² / E[μ0(κ)²] with μ0(κ) = E_ξ σ(rκ + cξ).
    # Reference by scipy.integrate (independent of the Gauss–Hermite tables).
    lc = one_step_learning_curve("erf", "tanh", alpha0=1.0, eta=2.0, lam=1e9, alphas=[1.0])
    t = activation_moments(Activation("tanh"))
    prm = spiked_parameters(activation_moments(Activation("erf")), t, 1.0, 2.0, 0.0)
    # μ0(κ) = E erf(rκ + cξ) = erf(rκ / sqrt(1 + 2c²)) (Gaussian convolution of erf)
    mu0 = lambda k: special.erf(prm.r * k / math.sqrt(1 + 2 * prm.c**2))  # noqa: E731
    phi = lambda k: math.exp(-k * k / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    rho = math.sqrt(1 - prm.gamma**2)
    # E[μ0(κ) y] with y = tanh(γκ + ρξ)
    num = integrate.dblquad(lambda xi, k: mu0(k) * math.tanh(prm.gamma * k + rho * xi)
                            * phi(k) * phi(xi), -12, 12, -12, 12, epsabs=1e-11)[0]
    den = integrate.quad(lambda k: mu0(k) ** 2 * phi(k), -12, 12, epsabs=1e-12)[0]
    assert lc.test_error[0] == pytest.approx(t.second - num**2 / den, abs=1e-6)


def test_sampled_spectrum_mode_agrees_with_limit():
    lc = one_step_learning_curve(**A_REF, alphas=[0.4, 2.0], spectrum="sampled",
                                 spectrum_draws=3, d=400, seed=1)
    lim = one_step_learning_curve(**A_REF, alphas=[0.4, 2.0])
    assert lc.test_error_std is not None and np.all(lc.test_error_std > 0)
    # within 4 standard errors of the draws plus a finite-d allowance
    tol = 4 * lc.test_error_std / np.sqrt(3) + 0.01
    assert np.all(np.abs(lc.test_error - lim.test_error) < tol)
    assert lc.params["spectrum_draws"] == 3


def test_lazy_limit_is_eta_zero():
    lc = one_step_learning_curve(**A_REF, alphas=[0.5, 1.5])
    lazy = one_step_learning_curve("tanh", "tanh", alpha0=0.5, eta=0.0, lam=0.01, alphas=[0.5, 1.5])
    np.testing.assert_allclose(lc.lazy_test_error, lazy.test_error, rtol=1e-12)
    np.testing.assert_allclose(lazy.lazy_test_error, lazy.test_error, rtol=1e-12)
    assert lazy.params["r"] == 0 and lazy.params["c"] == 1
    # the giant step helps here
    assert np.all(lc.test_error < lc.lazy_test_error)


def test_lazy_limit_accepts_relu_student():
    lc = one_step_learning_curve("relu", "tanh", alpha0=1.0, eta=0.0, lam=0.01, alphas=[1.0, 2.0])
    assert np.all(np.isfinite(lc.test_error))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lam=0.0), "λ"),
        (dict(lam=-1.0), "λ"),
        (dict(alphas=[0.5, 0.0]), "α"),
        (dict(alphas=[-1.0]), "α"),
        (dict(alpha0=0.0), "alpha0"),
        (dict(eta=-1.0), "eta"),
        (dict(noise=-0.1), "noise"),
        (dict(width_ratio=0.0), "width_ratio"),
        (dict(readout="sign", student="relu", spectrum="limit"), "sampled real steps"),
        (dict(readout="gaussian", spectrum="sampled"), "sampled real steps"),
        (dict(readout="gaussian", n_types=0), "n_types"),
        (dict(readout="uniform"), "readout"),
        (dict(width_ratio=-2.0), "width_ratio"),
        (dict(teacher="exp(x**2)"), "square-integrable"),
        (dict(student="exp(x**2)"), "square-integrable"),
        (dict(student="sign(x)"), "differentiable"),
        (dict(spectrum="exact"), "spectrum"),
        (dict(spectrum_draws=0), "spectrum_draws"),
    ],
)
def test_bad_input_is_one_clear_error(kwargs, match):
    args = dict(A_REF, alphas=[0.5])
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        one_step_learning_curve(**args)


def test_non_convergence_raises_with_residual():
    with pytest.raises(ConvergenceError) as exc:
        one_step_learning_curve(**A_REF, alphas=[1.0], max_iter=3)
    assert exc.value.iterations == 3
    assert exc.value.residual > 0
    assert "residual" in str(exc.value)


def test_kinked_inner_expectations_match_closed_forms():
    # E relu(a + bξ) = a Φ(a/b) + b φ(a/b), E[ξ relu(a + bξ)] = b Φ(a/b) (hand-derived)
    from giantstep.numerics.test_error.tables.single_index import _inner, activation_kinks

    relu = Activation("relu")
    assert activation_kinks(relu) == (0.0,)
    assert activation_kinks(Activation("relu(x - 1) + abs(x + 2)")) == (-2.0, 1.0)
    assert activation_kinks(Activation("tanh")) == ()
    a = np.array([-2.0, -0.3, 0.0, 0.7, 3.0])
    b = 0.6
    e0, e1, e2 = _inner(relu.evaluate, a, b, 48, activation_kinks(relu))
    z = a / b
    cdf, pdf = 0.5 * (1 + special.erf(z / math.sqrt(2))), np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(e0, a * cdf + b * pdf, atol=1e-13)
    np.testing.assert_allclose(e1, b * cdf, atol=1e-13)
    np.testing.assert_allclose(e2, (a * a + b * b) * cdf + a * b * pdf, atol=1e-13)


def test_numba_map_matches_simple_reference():
    # the §6.1 map written again with numpy + scipy.integrate.quad over the MP density,
    # at an arbitrary state: the numba kernels must agree to the quadrature tolerance
    from giantstep.numerics.test_error.spectra.marchenko_pastur import mp_resolvent

    student, teacher = Activation("tanh"), Activation("sin")
    prm = spiked_parameters(activation_moments(student), activation_moments(teacher), 1.0, 2.0, 0.1)
    tabs = kappa_tables(student, teacher, prm, 1e-11)
    state = np.array([0.3, 0.2, 0.8, 1.7, 0.05, 0.4, 0.6])
    alpha, lam, noise = 1.3, 0.05, 0.1
    spec = _limit_spectrum(alpha, lam, prm.c, tabs, 1e-12)[:4]
    new, hats, eg, et = apply_map(state, alpha, lam, noise, *tabs.arrays(), *spec)
    w, k, mu0, mu1, mu2s, h, h1, h2 = tabs.arrays()
    q1, q2, v1, v2, th, psi, m = state
    vk = mu1**2 * v1 + mu2s * v2
    ck = mu0 * m + mu1 * k * th
    rk = h2 + ck**2 - 2 * ck * h - 2 * mu1 * psi * h1 + mu1**2 * q1 + mu2s * q2
    ref_hats = alpha * np.array([
        w @ (mu1**2 * (rk + noise) / (1 + vk) ** 2), w @ (mu2s * (rk + noise) / (1 + vk) ** 2),
        w @ (mu1**2 / (1 + vk)), w @ (mu2s / (1 + vk)), w @ (k * mu1 * (h - ck) / (1 + vk)),
        w @ (mu1 * h1 / (1 + vk))])
    np.testing.assert_allclose(hats, ref_hats, rtol=1e-12)
    assert eg == pytest.approx(w @ rk + noise, rel=1e-12)
    assert new[6] == pytest.approx((w @ (mu0 * (h - mu1 * k * th) / (1 + vk)))
                                   / (w @ (mu0**2 / (1 + vk))), rel=1e-12)
    s = prm.c**2
    qh1, qh2, vh1, vh2, thh, psih = ref_hats

    def mp(fn):
        # x = 4 s sin²φ removes the 1/√x edge for scipy too
        val = integrate.quad(lambda ph: fn(4 * s * math.sin(ph) ** 2) * (4 / math.pi)
                             * math.cos(ph) ** 2, 0, math.pi / 2, epsabs=1e-14, epsrel=1e-13)[0]
        return val

    S = lambda x: lam + vh1 * x + vh2  # noqa: E731
    num = lambda x: (qh1 * x + qh2 + thh**2 * s + psih**2 * x) / S(x) ** 2  # noqa: E731
    ref_new = [mp(lambda x: x * num(x)), mp(num), mp(lambda x: x / S(x)), mp(lambda x: 1 / S(x)),
               thh * s * mp(lambda x: 1 / S(x)), psih * mp(lambda x: x / S(x))]
    np.testing.assert_allclose(new[:6], ref_new, rtol=1e-9)
    # and the closed-form resolvent: V2 = ⟨1/S⟩ = G((λ + V̂2)/V̂1)/V̂1
    assert new[3] == pytest.approx(mp_resolvent((lam + vh2) / vh1, s) / vh1, rel=1e-10)


def test_sign_readout_of_an_odd_student_is_the_constant_curve_exactly():
    # W̃ = diag(s) W: for odd σ the step from W̃0 is the constant-readout step, f is unchanged
    # and ridge is invariant under sign flips of the features (docs/test_error.md)
    kw = dict(alpha0=1.0, eta=2.0, lam=0.05, alphas=[0.5, 2.0], noise=0.1, warn=False)
    for student, teacher in (("tanh", "tanh"), ("erf", "tanh(z1) + z1*z2")):
        const = one_step_learning_curve(student, teacher, **kw)
        sign = one_step_learning_curve(student, teacher, readout="sign", **kw)
        np.testing.assert_array_equal(sign.test_error, const.test_error)
        assert sign.params["readout"] == "sign" and const.params["readout"] == "constant"
        assert "odd student" in sign.params["readout_reduction"]


def test_sign_readout_against_the_simulator():
    # the reduction checked on an independent simulation: sign readout, d = p = 500, 3 seeds
    from giantstep.validation.simulator import simulate

    alphas = [0.5, 2.0]
    lc = one_step_learning_curve("tanh", "tanh", alpha0=1.0, eta=2.0, lam=0.05, alphas=alphas,
                                 readout="sign", warn=False)
    sims = np.array([[simulate(target="tanh(z1)", activation="tanh", d=500, p=500, alpha=1.0,
                               eta=2.0, readout="sign", seed=s, steps=1, lam=0.05,
                               alpha_readout=a, n_test=20_000, measure_spike=False).test_error
                      for a in alphas] for s in range(3)])
    se = sims.std(axis=0, ddof=1) / np.sqrt(3)
    assert np.all(np.abs(lc.test_error - sims.mean(axis=0)) < 0.01 + 2 * se)
