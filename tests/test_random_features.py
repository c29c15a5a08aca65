"""Lazy limit of docs/model.md §6.1 against Mei & Montanari (2019), and against simulation."""

from __future__ import annotations

import numpy as np
import pytest

from giantstep.errors import InputError
from giantstep.numerics import one_step_learning_curve
from giantstep.numerics.test_error.lazy_baseline import mei_montanari_risk, random_features_test_error

PAIRS = [("tanh", "tanh", 0.01, 0.0), ("erf", "sin", 0.05, 0.0), ("tanh", "x", 0.1, 0.3),
         ("sin", "erf", 1e-3, 0.05), ("tanh", "tanh(2*x)", 1.0, 0.0)]
ALPHAS = [0.2, 0.7, 1.0, 1.3, 2.5, 6.0]


@pytest.mark.parametrize("student, teacher, lam, noise", PAIRS)
def test_gaussian_equivalence_lazy_limit_equals_mei_montanari(student, teacher, lam, noise):
    lazy = one_step_learning_curve(student, teacher, alpha0=1.0, eta=0.0, lam=lam, alphas=ALPHAS, noise=noise,
                                   tol=1e-11)
    mm = random_features_test_error(student, teacher, lam, ALPHAS, noise)
    np.testing.assert_allclose(lazy.test_error, mm, rtol=1e-7)


def test_mei_montanari_hand_limits():
    # λ → ∞: B → 1, V → 0: the risk is the full target energy F1² + F*²
    assert mei_montanari_risk(1.0, 2.0, 1e12, 0.8, 0.3, 0.1, 0.2) == pytest.approx(0.4, rel=1e-6)
    # pure noise target, λ → ∞: nothing is fitted, zero excess risk
    assert mei_montanari_risk(1.0, 2.0, 1e12, 0.8, 0.0, 0.0, 0.5) == pytest.approx(0, abs=1e-9)
    # the risk is monotone in the noise level and positive
    r = [mei_montanari_risk(1.0, 1.5, 0.01, 1.2, 0.4, 0.1, tau) for tau in (0.0, 0.1, 0.5)]
    assert 0 < r[0] < r[1] < r[2]


def test_interpolation_peak_at_alpha_one():
    # with a tiny ridge the lazy error peaks at n = p (α = 1), the double-descent peak
    alphas = np.linspace(0.6, 1.6, 21)
    err = random_features_test_error("tanh", "tanh", 1e-5, alphas)
    assert abs(alphas[np.argmax(err)] - 1.0) < 0.06


def test_mei_montanari_rejects_uncentred():
    with pytest.raises(InputError):
        random_features_test_error("relu", "tanh", 0.1, [1.0])
    with pytest.raises(InputError):
        random_features_test_error("tanh", "tanh", 0.0, [1.0])


@pytest.mark.parametrize("psi", [0.25, 0.5, 2.0, 4.0])
@pytest.mark.parametrize("student, teacher, lam, noise", PAIRS[:4])
def test_lazy_limit_equals_mei_montanari_for_every_width_ratio(psi, student, teacher, lam, noise):
    #: η̃ = 0 is the random-features ridge error at ψ1 = p/d = ψ (Mei & Montanari
    # 2019, ψ ≠ 1) — the §6.1 equations with α/ψ samples per feature, F = ψ c², H = ψ D
    # and D ~ MP(ψ) must reproduce it.
    lazy = one_step_learning_curve(student, teacher, alpha0=1.0, eta=0.0, lam=lam, alphas=ALPHAS, noise=noise,
                                   tol=1e-11,
                                   width_ratio=psi)
    mm = random_features_test_error(student, teacher, lam, ALPHAS, noise, p_over_d=psi)
    np.testing.assert_allclose(lazy.test_error, mm, rtol=1e-7)
    assert all(lazy.validated)
