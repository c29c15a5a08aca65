"""The checked regions: one record per (equations, mode, family), read by the curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from giantstep.numerics.checked_regions import BULK_NOISE, CHECKED_REGIONS, CheckedRegion, checked_region
from giantstep.numerics.test_error.curves.multi_step import checked_points_multi
from giantstep.numerics.test_error.curves.one_step import checked_points, checked_points_typed


def test_one_record_per_key_and_sane_boxes():
    keys = [(r.equations, r.mode, r.family) for r in CHECKED_REGIONS]
    assert len(keys) == len(set(keys)) == 11
    for r in CHECKED_REGIONS:
        assert r.alpha0[0] <= r.alpha0[1] and r.psi[0] <= r.psi[1] and r.alpha[0] < r.alpha[1]
        assert r.eta_max > 0 and r.source
        assert (r.steps_max is None) == r.equations.startswith("one step")


def test_contains_on_the_edges_of_a_box():
    r = CheckedRegion("one step", "limit", "odd", (0.5, 20.0), 3.0, (0.5, 2.0), (0.2, 3.0), 4.5)
    assert r.contains(0.5, 1.5, 0.5)                  # η̃²/α0 = 4.5: on the edge
    assert not r.contains(0.5, 1.51, 0.5)             # η̃²/α0 > 4.5
    assert r.contains(20.0, 3.0, 2.0) and not r.contains(20.01, 1.0, 1.0)
    assert not r.contains(1.0, 3.01, 1.0) and not r.contains(1.0, 1.0, 2.01)
    assert r.bounds_text() == "α0 in [0.5, 20], η̃ ≤ 3, η̃²/α0 ≤ 4.5, ψ in [0.5, 2]"
    several = CheckedRegion("several steps", "bulk", "odd", (1.0, 2.0), 2.0, (1.0, 2.0), (0.5, 2.0),
                            steps_max=4)
    assert several.contains(1.0, 2.0, 1.0, step=4) and not several.contains(1.0, 2.0, 1.0, step=5)
    ok, why = several.alpha_flags(np.array([0.4, 0.5, 2.0, 2.1]), alpha_min=1.0)
    assert ok.tolist() == [False, False, True, False] and why == "α outside the checked range [1, 2]"


@pytest.mark.parametrize("mode,family,alpha0,eta,psi,expected", [
    ("limit", "odd", 1.0, 2.0, 1.0, [False, True, True, False]),   # config A inside, α edges
    ("limit", "odd", 0.5, 2.0, 1.0, [False] * 4),                  # η̃²/α0 = 8 > 4.5
    ("sampled", "odd", 1.0, 2.0, 2.0, [False] * 4),                # sampled: ψ = 1 only
    ("bulk", "mu2", 0.3, 3.0, 0.5, [False, True, True, False]),    # bulk: no noise bound
    ("limit", "mu2", 1.0, 1.0, 1.0, [False] * 4),                  # no record
    ("limit", "mu2", 1.0, 0.0, 1.0, [True] * 4),                   # lazy: always validated
])
def test_one_step_flags(mode, family, alpha0, eta, psi, expected):
    ok, why = checked_points(mode, family, alpha0, eta, psi, np.array([0.1, 0.2, 3.0, 3.1]))
    assert ok.tolist() == expected and (why == "") == all(expected)


def test_typed_and_several_step_flags():
    alphas = np.array([0.4, 1.0, 2.5])
    assert checked_points_typed("gaussian", "odd", 0.75, 3.0, 1.0, alphas)[0].tolist() == [False, True, False]
    assert not checked_points_typed("gaussian", "odd", 2.0, 3.0, 1.0, alphas)[0].any()
    ok, why = checked_points_multi("bulk", "mu2", 1.5, 1.0, 0.5, 4, np.array([1.9, 2.0]), True)
    assert ok.tolist() == [False, True] and "nonlinear part" in why
    assert not checked_points_multi("bulk", "mu2", 1.5, 1.0, 0.5, 5, alphas)[0].any()
    assert not checked_points_multi("limit", "odd", 1.5, 1.0, 1.0, 1, alphas)[0].any()
    ok, _ = checked_points_multi("bulk", "mu2", 1.0, 1.5, 0.75, 2, alphas, typed_readout="sign")
    assert ok.tolist() == [False, True, False]


def test_lookup():
    assert checked_region("one step", "bulk", "odd").alpha0 == (0.3, 20.0)
    assert checked_region("one step", "limit", "odd").noise_max == BULK_NOISE
    assert math.isinf(checked_region("one step, several types", "sign", "mu2").noise_max)
    assert checked_region("several steps", "limit", "odd") is None
