"""Spectral inputs of docs/model.md §6.1: the Marchenko–Pastur rule and sampled spectra."""

from __future__ import annotations

import math

import numpy as np
import pytest

from giantstep.errors import InputError
from giantstep.numerics.test_error.spectra.marchenko_pastur import (
    mp_resolvent,
    mp_rule,
    mp_rule_for_pole,
    sample_spiked_spectrum,
)


@pytest.mark.parametrize("scale", [1.0, 1.7])
def test_moments_are_catalan_numbers(scale):
    # MP with ratio 1: E[D^k] = Catalan(k) s^k (1, 1, 2, 5, 14); exact for k ≤ 2n−2
    x, w = mp_rule(6, scale)
    catalan = [1, 1, 2, 5, 14, 42]
    for k, ck in enumerate(catalan):
        assert np.dot(w, x**k) == pytest.approx(ck * scale**k, rel=1e-13)


def test_closed_form_resolvent_limits():
    # ⟨1/(D+a)⟩ → 1/a − s/a² for large a, and ≈ 1/sqrt(s a) near the hard edge
    s = 1.3
    a = 1e4
    assert mp_resolvent(a, s) == pytest.approx(1 / a - s / a**2, rel=1e-7)
    a = 1e-10
    assert mp_resolvent(a, s) == pytest.approx(1 / np.sqrt(s * a), rel=1e-4)


@pytest.mark.parametrize("a", [1e-4, 1e-2, 0.3, 5.0])
@pytest.mark.parametrize("scale", [1.0, 1.2])
def test_rule_matches_closed_form_resolvent_near_hard_edge(a, scale):
    n = mp_rule_for_pole(a / (4 * scale), 1e-12)
    x, w = mp_rule(n, scale)
    assert np.dot(w, 1 / (x + a)) == pytest.approx(mp_resolvent(a, scale), rel=1e-11)
    # double pole: ⟨1/(D+a)²⟩ = −d/da ⟨1/(D+a)⟩ (central difference of the closed form)
    h = a * 1e-4
    deriv = -(mp_resolvent(a + h, scale) - mp_resolvent(a - h, scale)) / (2 * h)
    assert np.dot(w, 1 / (x + a) ** 2) == pytest.approx(deriv, rel=1e-6)


def test_naive_rule_in_x_is_much_worse_at_the_hard_edge():
    # the substitution x = 4 s t² matters: Gauss–Legendre in x misses the 1/√x edge
    a, s = 1e-3, 1.0
    t, wl = np.polynomial.legendre.leggauss(200)
    x = 2 * (t + 1)
    dens = np.sqrt(x * (4 - x)) / (2 * np.pi * x)
    naive = np.sum(2 * wl * dens / (x + a))
    n = mp_rule_for_pole(a / 4, 1e-12)
    xm, wm = mp_rule(n, s)
    exact = mp_resolvent(a, s)
    assert abs(np.dot(wm, 1 / (xm + a)) - exact) < 1e-10 * exact
    assert abs(naive - exact) > 1e-3 * exact


def test_rule_rejects_bad_input():
    with pytest.raises(InputError):
        mp_rule(0)
    with pytest.raises(InputError):
        mp_rule(5, -1.0)
    with pytest.raises(InputError):
        mp_rule_for_pole(0.0, 1e-8)


def test_sampled_spectra_approach_the_limit_with_spread():
    # several draws at d = 400: ⟨1/(D+a)⟩, ⟨F/(D+a)⟩ → c²⟨1/(D+a)⟩, ⟨H/(D+a)⟩ → ⟨D/(D+a)⟩
    c, a, d = 1.1, 0.2, 400
    s = c * c
    stats = []
    for seed in range(5):
        dd, ff, hh = sample_spiked_spectrum(d, c, seed)
        assert dd.shape == ff.shape == hh.shape == (d,)
        assert np.all(dd >= 0) and dd.max() < 4 * s * 1.2
        stats.append([np.mean(1 / (dd + a)), np.mean(ff / (dd + a)), np.mean(hh / (dd + a)),
                      np.mean(ff), np.mean(hh) - np.mean(dd)])
    stats = np.array(stats)
    mean, std = stats.mean(axis=0), stats.std(axis=0, ddof=1)
    g = mp_resolvent(a, s)
    limit = np.array([g, s * g, 1 - a * g, s, 0.0])
    # finite-d bias O(1/d) plus fluctuations: within 4 standard errors + 2/d
    err = np.abs(mean - limit)
    assert np.all(err < 4 * std / np.sqrt(len(stats)) + 2.0 / d * np.maximum(1, np.abs(limit))), (
        mean, limit, std)
    # H is not a constant: its correlation with D is strong (docs/model.md §6.1 — H → D, not c²)
    dd, ff, hh = sample_spiked_spectrum(d, c, 7)
    assert np.corrcoef(dd, hh)[0, 1] > 0.3


def test_sampled_spectrum_is_reproducible_and_rows_option():
    a1 = sample_spiked_spectrum(50, 1.0, 3)
    a2 = sample_spiked_spectrum(50, 1.0, 3)
    for u, v in zip(a1, a2):
        np.testing.assert_array_equal(u, v)
    g = sample_spiked_spectrum(50, 1.0, 3, rows="gaussian")
    assert not np.allclose(g[0], a1[0])
    with pytest.raises(InputError):
        sample_spiked_spectrum(50, 1.0, 3, rows="sphere")


@pytest.mark.parametrize("ratio", [0.25, 0.5, 0.8, 2.0, 4.0])
@pytest.mark.parametrize("a", [1e-3, 0.1, 2.0])
def test_ratio_rule_matches_closed_form_resolvent(ratio, a):
    # Stieltjes transform of MP(ratio y, scale s): m = <1/(D + a)> is the positive root of
    # -y s a m² + (-a - s(1 - y)) m + 1 = 0 (hand-derived; y → 0 gives 1/(s + a)).
    from giantstep.numerics.test_error.spectra.marchenko_pastur import mp_nodes_for_ratio, mp_rule_ratio

    s = 1.7
    qa, qb = -ratio * s * a, -a - s * (1 - ratio)
    m = (-qb - math.sqrt(qb * qb - 4 * qa)) / (2 * qa)
    n = mp_nodes_for_ratio(ratio, s, a, 1e-13)
    x, w = mp_rule_ratio(ratio, s, n)
    assert w.sum() == pytest.approx(1.0, abs=1e-13)
    assert w @ x == pytest.approx(s, rel=1e-12)  # mean eigenvalue = row variance
    assert w @ x**2 == pytest.approx(s * s * (1 + ratio), rel=1e-12)  # second moment
    assert w @ (1 / (x + a)) == pytest.approx(m, rel=1e-10)


def test_ratio_rule_agrees_with_a_large_sampled_matrix():
    from giantstep.numerics.test_error.spectra.marchenko_pastur import mp_rule_ratio

    rng = np.random.default_rng(3)
    d = 600
    for ratio in (0.5, 2.0):
        p = int(ratio * d)
        w = rng.standard_normal((p, d)) / np.sqrt(d)
        ev = np.clip(np.linalg.eigvalsh(w @ w.T), 0, None)
        x, wt = mp_rule_ratio(ratio, 1.0, 200)
        assert np.mean(1 / (ev + 0.1)) == pytest.approx(wt @ (1 / (x + 0.1)), rel=1e-2)
