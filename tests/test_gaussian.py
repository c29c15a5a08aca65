"""Shared Gaussian integration (numerics/gaussian.py): exactness, convergence, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from giantstep.errors import ConvergenceError, InputError
from giantstep.numerics.gaussian import (
    anisotropic_product_rule,
    contract_last,
    gauss_hermite,
    nodes_for_tolerance,
    product_of_rules,
    product_rule,
    smooth,
    stroud3_rule,
    tensor_rules,
    trapezoid_rule,
)


def double_factorial(k: int) -> int:
    return math.prod(range(k, 0, -2)) if k > 0 else 1


@pytest.mark.parametrize("n", [1, 2, 5, 20, 100, 101, 300, 1000])
def test_gauss_hermite_moments_exact(n):
    """Σw = 1 and E[ξ^{2k}] = (2k−1)!! for 2k ≤ 2n − 1 (also above numpy's overflow, n ≳ 360)."""
    x, w = gauss_hermite(n)
    assert np.all(np.isfinite(w)) and abs(w.sum() - 1) < 1e-13
    for k in range(1, min(n, 6)):
        assert abs(w @ x ** (2 * k) - double_factorial(2 * k - 1)) < 1e-11 * double_factorial(2 * k - 1)
        assert abs(w @ x ** (2 * k - 1)) < 1e-12


def test_gauss_hermite_rejects_bad_n():
    with pytest.raises(InputError):
        gauss_hermite(0)
    with pytest.raises(InputError):
        gauss_hermite(10**6)


def test_product_rules_moments():
    """E[z1² z2²] = 1, E[z1⁴] = 3, E[z1 z2] = 0 for the isotropic and anisotropic rules."""
    for nodes, w in (product_rule(4, 2), anisotropic_product_rule([4, 3]),
                     product_of_rules([gauss_hermite(4), gauss_hermite(3)], prune=0.0)):
        assert abs(w @ (nodes[:, 0] ** 2 * nodes[:, 1] ** 2) - 1) < 1e-12
        assert abs(w @ nodes[:, 0] ** 4 - 3) < 1e-12
        assert abs(w @ (nodes[:, 0] * nodes[:, 1])) < 1e-12


def test_pruning_keeps_accuracy():
    nodes, w = anisotropic_product_rule([30, 30, 30])
    full = 30**3
    assert len(w) < full  # far corners dropped
    assert abs(w.sum() - 1) < 1e-12
    assert abs(w @ np.cos(nodes).prod(axis=1) - np.exp(-1.5)) < 1e-12


def test_stroud_and_tensor_rules_degree_three():
    """The 2m-point Stroud rule integrates every polynomial of degree ≤ 3 exactly."""
    x, w = stroud3_rule(3)
    assert abs(w.sum() - 1) < 1e-15
    assert abs(w @ x[:, 0] ** 2 - 1) < 1e-13
    assert abs(w @ (x[:, 0] ** 2 * x[:, 1])) < 1e-13
    nodes, wt = tensor_rules(gauss_hermite(3), (x, w))
    assert nodes.shape == (3 * 6, 4)
    assert abs(wt @ (nodes[:, 0] ** 2 * nodes[:, 1] ** 2) - 1) < 1e-13


def test_trapezoid_beats_gauss_hermite_on_strip_analytic():
    """E[tanh(2ξ)ξ] = 2E[sech²(2ξ)]: the trapezoid converges much faster than GH (docs/model.md §5.3 targets)."""
    xr, wr = gauss_hermite(2000)
    ref = wr @ (np.tanh(2 * xr) * xr)
    x, w = trapezoid_rule(81)
    assert abs(w @ (np.tanh(2 * x) * x) - ref) < 1e-8
    xg, wg = gauss_hermite(81)
    assert abs(wg @ (np.tanh(2 * xg) * xg) - ref) > 1e-6


def test_contract_last_and_smooth():
    rng = np.random.default_rng(0)
    v = rng.standard_normal((7, 5))
    w = rng.random(5)
    assert np.allclose(contract_last(v, w), v @ w)
    a = np.linspace(-2, 2, 9)
    # E cos(a + bξ) = cos(a) exp(−b²/2)
    assert np.allclose(smooth(np.cos, a, 0.7, 40), np.cos(a) * np.exp(-0.245), atol=1e-13)


def test_nodes_for_tolerance():
    n, val, diff = nodes_for_tolerance(lambda n: gauss_hermite(n)[1] @ np.abs(gauss_hermite(n)[0]),
                                       1e-3)
    assert abs(val - np.sqrt(2 / np.pi)) < 1e-3 and diff <= 1e-3
    with pytest.raises(ConvergenceError) as info:  # a numerical failure, not bad input
        nodes_for_tolerance(lambda n: float(n), 1e-3, n_max=64)  # never settles
    assert info.value.residual == 32.0 and info.value.iterations == 2  # 16→32→64 nodes


def test_piecewise_rule_handles_kinks_and_jumps():
    """Cutting the line at the non-smooth points makes E[relu(a+bξ)] and E[H(a+bξ)] exact to
    ~1e-15 with 16 nodes per piece (plain Gauss–Hermite is only algebraically convergent)."""
    from scipy.special import ndtr

    from giantstep.numerics.gaussian import piecewise_gauss_rule

    a = np.linspace(-2, 2, 9)
    b = 0.8
    x, w = piecewise_gauss_rule(a / b, np.array([0.0]), nq=16, pieces=12)
    h = a[:, None] + b * x
    t = a / b
    exact_relu = a * ndtr(t) + b * np.exp(-t * t / 2) / np.sqrt(2 * np.pi)
    assert np.max(np.abs(np.sum(np.maximum(h, 0) * w, axis=1) - exact_relu)) < 1e-13
    assert np.max(np.abs(np.sum((h > 0) * w, axis=1) - ndtr(t))) < 1e-13
    xg, wg = gauss_hermite(64)
    assert np.max(np.abs(((a[:, None] + b * xg) > 0) @ wg - ndtr(t))) > 1e-4
