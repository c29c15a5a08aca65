"""One step with n = α d^ℓ and degrees < ℓ removed (docs/model.md §5.2)."""

from __future__ import annotations

import numpy as np
import pytest

from giantstep.errors import InputError
from giantstep.numerics import one_step_overlaps, preprocessed_overlaps
from giantstep.numerics.gaussian import anisotropic_product_rule
from giantstep.numerics.overlaps.preprocessed import _contract, overlap_moments


def test_ell_one_reduces_to_one_step():
    """ℓ = 1 (nothing removed) is §5.1: same overlaps and norms for every readout value."""
    for readout in ("constant", "sign"):
        pp = preprocessed_overlaps("z1 + z1*z2 + z2**2", "relu", alpha=1.5, eta=2, ell=1,
                                   readout=readout, noise=0.3)
        cf = one_step_overlaps("z1 + z1*z2 + z2**2", "relu", alpha=1.5, eta=2, readout=readout,
                               noise=0.3)
        smp = pp.sample(50, seed=3)
        for t in cf.types:
            sel = smp.s == t.s
            assert sel.any()
            assert np.allclose(smp.overlaps[sel], t.overlap, atol=1e-12)
            assert np.allclose(smp.norms2[sel], t.norm2, atol=1e-12)


def test_ell_two_theory_example():
    """docs/model.md §5.2 target (He2(z1)+He2(z2))/4 + (He4(z1)+He4(z2))/48, relu: C_2 = I/2, so
    W* w = η̃ s μ_2 ξ/2 with μ_2 = 1/√(2π): covariance η̃² /(8π) I; only degrees < 2 are removed, so
    E[e²] = ‖P_2‖² + ‖P_4‖² = 2·2/16 + 2·24/48² = 13/48,
    ‖w‖² = 1 + ‖W* w‖² + η̃² E[e²] E[σ'²]/α with E[σ'²] = 1/2."""
    g = "(He2(z1)+He2(z2))/4 + (He4(z1)+He4(z2))/48"
    eta, alpha = 1.5, 2.0
    res = preprocessed_overlaps(g, "relu", alpha=alpha, eta=eta, ell=2)
    assert np.allclose(res.covariance, eta**2 / (8 * np.pi) * np.eye(2), atol=1e-12)
    assert np.allclose(res.mean, 0)
    assert abs(res.mean_e2 - 13 / 48) < 1e-12
    smp = res.sample(5, seed=0)
    expected = 1 + np.sum(smp.overlaps**2, axis=1) + eta**2 * 13 / 48 * 0.5 / alpha
    assert np.allclose(smp.norms2, expected, atol=1e-12)
    assert np.allclose(smp.overlaps, eta / np.sqrt(2 * np.pi) * smp.xi / 2, atol=1e-12)


def test_overlap_moments_exact_against_quadrature():
    """The Hermite-tensor formula for E[T[ξ^k]] and E[T[ξ^k]T[ξ^k]ᵀ] equals exact product
    Gauss–Hermite integration (degree 2k polynomials; k+1 nodes per axis are exact)."""
    rng = np.random.default_rng(1)
    r = 3
    for order in (2, 3, 4, 5):
        T = rng.standard_normal((r,) * order)
        # symmetrise
        import itertools

        T = sum(np.transpose(T, p) for p in itertools.permutations(range(order)))
        mean, M2 = overlap_moments(T)
        Y, w = anisotropic_product_rule([order + 1] * r, prune=0.0)
        vals = _contract(T, Y)
        assert np.allclose(mean, w @ vals, atol=1e-9 * np.abs(T).max())
        assert np.allclose(M2, (vals * w[:, None]).T @ vals, rtol=1e-10, atol=1e-9 * np.abs(T).max() ** 2)


def test_sample_law_and_seed():
    """Sampled overlaps follow mean/covariance (ℓ = 3, sign readout: mean 0) and are seeded."""
    res = preprocessed_overlaps("z1**3 + z1*z2", "erf", alpha=1, eta=2, ell=3, readout="sign")
    a = res.sample(200_000, seed=7)
    b = res.sample(200_000, seed=7)
    assert np.array_equal(a.overlaps, b.overlaps)
    emp = np.cov(a.overlaps.T)
    assert np.allclose(emp, res.covariance, atol=6 * np.abs(res.covariance).max() / np.sqrt(2e5) * 4)
    assert np.all(a.cosines <= 1)


def test_odd_order_vanishes_for_relu():
    """μ_3(relu) = 0: with ℓ = 3 a relu student learns nothing (overlap law is a point mass at 0)."""
    res = preprocessed_overlaps("He3(z1) + z1*z2*z3", "relu", alpha=1, eta=1, ell=3)
    assert np.allclose(res.covariance, 0, atol=1e-14)


def test_bad_parameters():
    with pytest.raises(InputError):
        preprocessed_overlaps("z1", "relu", alpha=1, eta=1, ell=0)
    with pytest.raises(InputError):
        preprocessed_overlaps("z1", "relu", alpha=0, eta=1, ell=2)
    with pytest.raises(InputError):
        preprocessed_overlaps("z1", "relu", alpha=1, eta=1, ell=2).sample(0, seed=1)


def test_to_dict_and_plot():
    import json

    res = preprocessed_overlaps("z1*z2", "relu", alpha=1, eta=1, ell=2, readout="gaussian")
    json.dumps(res.to_dict())
    json.dumps(res.sample(3, 0).to_dict())
    assert res.plot(p=50).axes
