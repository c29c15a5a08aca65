"""The state-evolution kernel and its shortcuts (numerics/amp_kernel.py, docs/amp.md §4, §6).

* the separable evaluation of the importance weights on the tensor grid, and its direct
  fallback for large exponents, equal the dense numpy sums;
* the banded noise-kernel product equals the dense one;
* the SE map linearised on its own grid gives the weak-recovery threshold of the linear
  analysis (to the grid's bias), and the sub-threshold points it reports without iterating
  are the uninformative point the iteration decays to.
"""

from __future__ import annotations

import numpy as np
import pytest

from giantstep.numerics.amp_kernel import (
    SEPARABLE_MAX_EXPONENT,
    accumulate_reference,
    accumulate_reweighted,
    grid_axis,
)
from giantstep.numerics.amp_state_evolution import (
    _SEMap,
    _solve,
    band_apply,
    band_blocks,
    grid_threshold,
    state_evolution,
)
from giantstep.theory.amp import amp_analysis
from giantstep.theory.amp_channel import gaussian_grid


def _inputs(m: int, omega_scale: float, V: np.ndarray, J: int = 13, seed: int = 0):
    rng = np.random.default_rng(seed)
    z, wz = gaussian_grid(m, 4, 5)
    K = len(z)
    half = 0.5 * np.sum(z**2, axis=1)
    idx = np.stack([rng.integers(0, J - 1, K)] * 2, axis=1)
    idx[:, 1] += 1
    f = rng.random(K)
    f[::7] = 0.0  # some nodes fall on one cell only
    wt = np.stack([1 - f, f], axis=1)
    om = omega_scale * rng.standard_normal((9, m))
    Vi = np.linalg.inv(V)
    ld = float(np.linalg.slogdet(V)[1])
    return z, wz, half, idx, wt, om, Vi, ld, J


@pytest.mark.parametrize("m", [1, 2, 3])
@pytest.mark.parametrize("scale", [0.3, 2.0])
def test_separable_weights_equal_the_dense_sums(m, scale):
    V = 0.3 * np.eye(m) + 0.05 * np.ones((m, m))
    args = _inputs(m, scale, V)
    assert len(grid_axis(args[0])) ** m == len(args[0])  # a tensor grid: separable path
    a0, a1 = accumulate_reweighted(*args)
    b0, b1 = accumulate_reference(*args)
    assert np.allclose(a0, b0, rtol=1e-12, atol=1e-300)
    assert np.allclose(a1, b1, rtol=1e-11, atol=1e-13 * np.abs(b1).max())


def test_direct_fallback_for_large_exponents_equals_the_dense_sums():
    # V = 0.03 I and ω near the edge of the grid: the axis scales Σ max b x exceed the cut
    V = 0.03 * np.eye(2)
    z, wz, half, idx, wt, om, Vi, ld, J = _inputs(2, 1.0, V)
    x = grid_axis(z)
    om = np.array([[0.9, 0.9], [-0.9, 0.85], [0.0, 0.01]]) * x.max()
    top = [float(-0.5 * o @ Vi @ o - 0.5 * ld + sum(np.max(b * x) for b in Vi @ o)) for o in om]
    assert top[0] > SEPARABLE_MAX_EXPONENT and top[2] < SEPARABLE_MAX_EXPONENT
    a0, a1 = accumulate_reweighted(z, wz, half, idx, wt, om, Vi, ld, J)
    b0, b1 = accumulate_reference(z, wz, half, idx, wt, om, Vi, ld, J)
    assert np.all(np.isfinite(a0)) and np.all(np.isfinite(a1))
    assert np.allclose(a0, b0, rtol=1e-11, atol=1e-300)
    assert np.allclose(a1, b1, rtol=1e-10, atol=1e-12 * np.abs(b1).max())


def test_non_grid_nodes_are_refused_by_grid_axis():
    z = np.random.default_rng(1).standard_normal((16, 2))
    with pytest.raises(ValueError):
        grid_axis(z)


def test_banded_noise_kernel_equals_the_dense_product():
    f = _SEMap("z1**2 + z2**2", 0.5)
    K = f.channel.kernel
    band = band_blocks(K)
    covered = sum((r1 - r0) * (c1 - c0) for r0, r1, c0, c1, _ in band[1])
    assert covered < 0.6 * K.size  # the Gaussian kernel is banded: the product is cheaper
    X = np.random.default_rng(2).random((K.shape[1], 40))
    dense = K @ X
    assert np.allclose(band_apply(band, X), dense, rtol=1e-14, atol=1e-16 * np.abs(dense).max())


@pytest.mark.parametrize("target, noise, rel", [("z1**2", 0.1, 2e-3), ("z1**2 + z2**2", 0.5, 2e-4),
                                                ("z1*z2", 0.25, 2e-3)])
def test_grid_threshold_is_the_linear_analysis_threshold(target, noise, rel):
    exact = float(amp_analysis(target, noise=noise).stages[0].alpha_c)
    assert grid_threshold(_SEMap(target, noise)) == pytest.approx(exact, rel=rel)


def test_hand_derived_threshold_of_phase_retrieval_on_the_grid():
    # z1² at Δ = 0: α_c = 1/2 (hand-derived); the soft quantisation of the label (128 cells)
    # biases the grid's threshold upwards by ≈ 2e-3 (docs/amp.md §4)
    a = grid_threshold(_SEMap("z1**2", 0.0))
    assert 0.5 <= a < 0.5 * 1.005


def test_trivial_subspace_has_no_threshold_shortcut():
    assert np.isnan(grid_threshold(_SEMap("z1 + z2**2", 0.25)))


def test_points_below_the_grid_threshold_are_what_the_iteration_decays_to():
    f = _SEMap("z1**2 + z2**2", 0.5)
    a_c = grid_threshold(f)
    for alpha in (0.5, 0.95 * a_c):
        Q, _, _, status = _solve(f, alpha, 1e-4 * np.eye(2), 1e-6, 500)
        assert status == "decayed" and np.all(Q == 0)
    se = state_evolution("z1**2 + z2**2", alphas=[0.5, 0.95 * a_c, 1.05 * a_c], noise=0.5)
    below, _, above = se.points
    assert below.status == "decayed" and below.iterations == 0 and below.overlap == 0.0
    assert above.status == "converged" and above.iterations > 0 and above.overlap > 0.0
