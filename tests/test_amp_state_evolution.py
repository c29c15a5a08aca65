"""GAMP state evolution by quadrature (numerics/amp_state_evolution.py) and its numba kernel.

Hand-derived checks (docs/amp.md §4):

* noiseless linear target ``y = z1``: ``g_out = (y − ω)/V`` so ``Q̂ = α/(1 − q)`` and
  ``q = Q̂/(1 + Q̂)``; the fixed points are ``q = α`` and ``q = 1``, and from a small
  start ``q = α`` for ``α < 1``;
* ``y = z1²`` / ``z1² + z2²``: overlap 0 below ``α_c = 1/2`` / ``1`` and > 0 above (the
  linear analysis of theory/amp.py, checked by hand there).
"""

from __future__ import annotations

import numpy as np
import pytest

from giantstep.errors import InputError
from giantstep.numerics.amp_kernel import accumulate_reference, accumulate_reweighted
from giantstep.numerics.amp_state_evolution import _SEMap, state_evolution


@pytest.mark.parametrize("alpha", [0.3, 0.6])
def test_noiseless_linear_overlap_equals_alpha(alpha):
    se = state_evolution("z1", alphas=[alpha])
    assert se.points[0].overlap == pytest.approx(alpha, abs=3e-3)


def test_phase_retrieval_transition_at_one_half():
    se = state_evolution("z1**2", alphas=[0.4, 0.47, 0.55, 0.7])
    ov = [p.overlap for p in se.points]
    assert ov[0] == 0.0 and ov[1] == 0.0
    assert se.points[0].status == "decayed"
    assert ov[2] > 0.005 and ov[3] > ov[2]


def test_two_index_transition_at_one():
    se = state_evolution("z1**2+z2**2", alphas=[0.9, 1.15])
    assert se.points[0].overlap == 0.0
    assert se.points[1].overlap > 0.01
    Q = se.points[1].matrix
    assert Q[0, 0] == pytest.approx(Q[1, 1], rel=1e-6) and abs(Q[0, 1]) < 1e-8  # O(2) symmetry


def test_small_q_map_is_the_linear_operator():
    # the quadrature SE linearises to α·F on the same grid (z1²: α·2·q); bins bias ≤ 1e-3
    f = _SEMap("z1**2", 0.0)
    q = 1e-6
    assert f(0.2, q * np.eye(1))[0, 0] / q == pytest.approx(0.4, rel=3e-3)


def test_trivial_direction_learned_at_small_alpha():
    se = state_evolution("tanh(z1)", alphas=[0.05])
    assert se.points[0].overlap > 0.01


def test_bad_input():
    with pytest.raises(InputError, match=r"alphas \(α\) must be .* each number > 0"):
        state_evolution("z1**2", alphas=[0.0, 1.0])
    with pytest.raises(InputError, match="Δ"):
        state_evolution("z1**2", alphas=[1.0], noise=-1)
    with pytest.raises(InputError, match="r ≤ 3"):
        state_evolution("z1*z2*z3*z4", alphas=[1.0])


def test_kernel_matches_reference():
    rng = np.random.default_rng(0)
    K, G, m, J = 300, 7, 2, 11
    z = rng.standard_normal((K, m))
    wz = rng.random(K)
    half = 0.5 * np.sum(z**2, axis=1)
    idx = np.stack([rng.integers(0, J - 1, K)] * 2, axis=1)
    idx[:, 1] += 1
    f = rng.random(K)
    wt = np.stack([1 - f, f], axis=1)
    om = 0.3 * rng.standard_normal((G, m))
    V = np.array([[0.7, 0.1], [0.1, 0.6]])
    Vi = np.linalg.inv(V)
    ld = float(np.linalg.slogdet(V)[1])
    a0, a1 = accumulate_reweighted(z, wz, half, idx, wt, om, Vi, ld, J)
    b0, b1 = accumulate_reference(z, wz, half, idx, wt, om, Vi, ld, J)
    assert np.allclose(a0, b0, rtol=1e-12, atol=1e-300)
    assert np.allclose(a1, b1, rtol=1e-12, atol=1e-14)


def test_saddle_with_unlearned_direction_is_escaped():
    # y = z1 + z2² + noise: z1 trivial; given z1, z2 is phase retrieval; at α = 1.5 the point
    # with Q22 = 0 is a saddle (one SE step doubles a small Q22), so both are learned
    se = state_evolution("z1 + z2**2", alphas=[1.5], noise=0.25)
    Q = se.points[0].matrix
    assert Q[0, 0] > 0.4 and Q[1, 1] > 0.3
