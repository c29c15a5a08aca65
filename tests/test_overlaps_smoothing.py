"""Tabulated Gaussian smoothings of the student activation (numerics/overlaps/smoothing.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf, ndtr

from giantstep.numerics.overlaps.smoothing import (
    _closed_form,
    _quadrature,
    activation_breakpoints,
    build_table,
    interp,
    smoothed,
)
from giantstep.theory import Activation


def _table_values(T, a):
    G = T.vals.shape[1]
    return np.array([[interp(T.x0, T.h, G, T.vals, T.ders, k, x) for x in a] for k in range(4)])


@pytest.mark.parametrize("b", [0.5, 1.0, 2.5])
def test_closed_forms_by_hand(b):
    """relu: S = aΦ(a/b) + bφ(a/b), Φ = Φ(a/b), Φ2 = Φ(a/b); erf: S = erf(a/√(1+2b²))."""
    a = np.linspace(-3, 3, 13)
    t = a / b
    v = _closed_form("relu", a, b)[0]
    assert np.allclose(v[0], a * ndtr(t) + b * np.exp(-t * t / 2) / np.sqrt(2 * np.pi))
    assert np.allclose(v[1], ndtr(t)) and np.allclose(v[3], ndtr(t))
    assert np.allclose(_closed_form("erf", a, b)[0][0], erf(a / np.sqrt(1 + 2 * b * b)))


@pytest.mark.parametrize("name", ["relu", "erf"])
def test_generic_quadrature_matches_closed_forms(name):
    """The generic path (piecewise Gauss–Legendre, Stein forms) reproduces the closed forms."""
    act = Activation(name)
    a = np.linspace(-4, 4, 17)
    vals = _quadrature(act, a, 0.8, 64, activation_breakpoints(act))
    ref_v, ref_d = _closed_form(name, a, 0.8)
    assert np.max(np.abs(vals[:4] - ref_v)) < 1e-12
    assert np.max(np.abs(vals[4:] - ref_d)) < 1e-12


def test_breakpoints():
    assert list(activation_breakpoints(Activation("relu"))) == [0.0]
    assert list(activation_breakpoints(Activation("relu(x - 1) + abs(x + 2)"))) == [-2.0, 1.0]
    assert activation_breakpoints(Activation("tanh")).size == 0


@pytest.mark.parametrize("b", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("tol", [1e-6, 1e-9])
def test_table_interpolation_accuracy(b, tol):
    """Cubic Hermite tables: error ≲ tol for the table tolerance used (measured ≤ 0.6 tol)."""
    T = build_table(Activation("relu"), b, 5.0, tol)
    a = np.linspace(-5, 5, 2001)
    err = np.abs(_table_values(T, a) - _closed_form("relu", a, b)[0]).max()
    assert err < max(tol, 1e-8)


def test_smoothed_tanh_against_brute_force():
    """E tanh(a + bξ) etc. against a 4000-node Gauss–Hermite brute force (tanh is smooth)."""
    from giantstep.numerics.gaussian import gauss_hermite

    act = Activation("tanh")
    a = np.array([-1.3, 0.0, 0.4, 2.2])
    b = 0.9
    x, w = gauss_hermite(4000)
    h = a[:, None] + b * x[None, :]
    ref = [np.tanh(h) @ w, (1 - np.tanh(h) ** 2) @ w,
           (-2 * np.tanh(h) * (1 - np.tanh(h) ** 2)) @ w, ((1 - np.tanh(h) ** 2) ** 2) @ w]
    assert np.max(np.abs(smoothed(act, a, b) - np.array(ref))) < 1e-9
