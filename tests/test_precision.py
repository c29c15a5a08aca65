"""Single precision that is safe to choose.

* float32 against float64 on the same seeds (d = 512, 4 seeds): every reported
  overlap, norm and error differs by less than the float32 rounding level of
  :mod:`giantstep.validation.precision` and by far less than the spread over seeds;
* the flag: a quantity below the level is reported as unresolved, one above is not,
  and float64 never flags.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from giantstep.validation import simulate
from giantstep.validation.precision import UNIT_ROUNDOFF_FLOAT32, rounding_level, unresolved

BASE = dict(target="z1 + z1*z2", activation="relu", d=512, p=256, alpha=1.0, steps=2, readout="sign",
            lam=0.1, alpha_readout=1.0, n_test=8192, eta=1.0)


def test_rounding_level_is_four_sqrt_d_unit_roundoffs():
    assert rounding_level(100) == pytest.approx(40 * 2.0**-24)
    assert UNIT_ROUNDOFF_FLOAT32 == np.finfo(np.float32).eps / 2
    assert rounding_level(100, "float64") == 0.0


@pytest.fixture(scope="module")
def pairs():
    return [(simulate(**BASE, seed=s), simulate(**BASE, seed=s, dtype="float32")) for s in range(4)]


def test_float32_differences_are_below_the_rounding_level_and_the_seed_spread(pairs):
    rho = rounding_level(BASE["d"])
    diffs, spreads = [], []
    for q64, q32 in pairs:
        assert q32.float32_unresolved == [] and q64.float32_unresolved == []
        for st64, st32 in zip(q64.steps, q32.steps):
            for t64, t32 in zip(st64["types"], st32["types"]):
                level = rho * math.sqrt(t64["norm2_mean"])
                gap = np.max(np.abs(np.subtract(t64["overlap_mean"], t32["overlap_mean"])))
                assert gap < level
                assert abs(t64["norm2_mean"] - t32["norm2_mean"]) < 2 * rho * t64["norm2_mean"]
                diffs.append(gap)
        e64, e32 = q64.test_error, q32.test_error
        assert abs(e64 - e32) < 2 * rho * math.sqrt(e64 * q64.readout["pred2_test"])
    ov = np.array([[t["overlap_mean"] for t in q64.steps[-1]["types"]] for q64, _ in pairs])
    spreads = ov.std(axis=0, ddof=1)
    assert max(diffs) < 1e-3 * spreads.min()
    errs = np.array([q64.test_error for q64, _ in pairs])
    assert max(abs(a.test_error - b.test_error) for a, b in pairs) < 1e-3 * errs.std(ddof=1)


def _record(overlap, norm2, step=1, loss=None, pred2=None):
    rec = {"step": step, "types": [{"type": "+", "overlap_mean": overlap, "norm2_mean": norm2}]}
    if loss is not None:
        rec.update(train_loss=loss, pred2=pred2)
    return rec


def test_flag_marks_exactly_the_quantities_below_the_level():
    d = 400
    rho = rounding_level(d)
    steps = [_record([0.5 * rho, 3 * rho, -0.2 * rho], 1.0, loss=(1.5 * rho) ** 2, pred2=1.0)]
    readout = {"test_error": (2.5 * rho) ** 2, "pred2_test": 1.0, "train_error": (1.9 * rho) ** 2,
               "pred2_train": 1.0}
    got = unresolved(steps, readout, d, "float32")
    assert got == ["step1 + overlap[1]", "step1 + overlap[3]", "step1 train_loss", "train_error"]
    assert unresolved(steps, readout, d, "float64") == []
