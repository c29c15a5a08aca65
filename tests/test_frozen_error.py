"""The population error of the network as trained.

``StepState.output_mse`` of :func:`giantstep.numerics.overlap_trajectory` is
``E[(g* + √Δ ε − F(κ))²]`` with ``F(κ) = Σ_τ π_τ s_τ E_ξ σ(h_τ)``: the test error of the
p → ∞ network with its second layer frozen at ``a = s/√p`` (docs/model.md §5.3, §6.2 first
quantity). The simulator measures the same thing with ``measure_frozen=True``: after every
step, the error of ``f(x) = (1/p) Σ_j s_j σ(⟨w_j, x⟩)`` on fresh test samples.

Acceptance: |theory − mean over seeds| ≤ 0.01 + 2 s.e. at every step t = 0..4
(slow: d = p = 1024, 4 seeds, 2·10⁴ test points). The default run uses d = p = 256, 3 seeds
and the margin 0.03 + 3 s.e. (finite-size corrections of order d^{-1/2}).
"""

from __future__ import annotations

import numpy as np
import pytest

import giantstep as gs

CASES = {
    "staircase, relu, sign": dict(target="((z1+z1**2)+(z2-z2**2))/2", activation="relu", readout="sign",
                                  alpha=2.0, eta=2.0),
    "parity, tanh, sign": dict(target="z1 + z1*z2", activation="tanh", readout="sign", alpha=2.0, eta=2.0),
    "staircase, relu, gaussian": dict(target="((z1+z1**2)+(z2-z2**2))/2", activation="relu",
                                      readout="gaussian", alpha=2.0, eta=1.0),
}


def _compare(case: dict, d: int, seeds: int, steps: int = 4):
    kw = dict(case)
    th = gs.overlap_trajectory(kw["target"], kw["activation"], alpha=kw["alpha"], eta=kw["eta"], steps=steps,
                               readout=kw["readout"])
    pred = np.array([st.output_mse for st in th.steps])
    sims = np.array([[st["frozen_error"] for st in gs.simulate(
        **kw, d=d, p=d, steps=steps, seed=s, n_test=20_000, measure_frozen=True, measure_spike=False).steps]
        for s in range(seeds)])
    return pred, sims.mean(axis=0), sims.std(axis=0, ddof=1) / np.sqrt(seeds)


def test_step_zero_is_the_label_variance():
    """At initialisation F ≡ 0 for the sign readout of p → ∞: output_mse = E[g*²] + Δ."""
    th = gs.overlap_trajectory("z1 + z1*z2", "relu", alpha=2.0, eta=1.0, steps=1, readout="sign", noise=0.3)
    assert th.steps[0].output_mse == pytest.approx(2.0 + 0.3, abs=1e-8)


def test_frozen_error_needs_test_samples():
    from giantstep.errors import InputError

    with pytest.raises(InputError, match="n_test"):
        gs.simulate(target="z1", activation="relu", d=16, p=8, n_test=0, measure_frozen=True)


def test_frozen_error_small():
    pred, mean, se = _compare(CASES["staircase, relu, sign"], d=256, seeds=3)
    assert np.all(np.abs(mean - pred) <= 0.03 + 3 * se), (pred, mean, se)
    assert np.all(np.diff(pred) < 0) and np.all(np.diff(mean) < 0)  # the staircase: error drops each step


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_frozen_error_full(name):
    pred, mean, se = _compare(CASES[name], d=1024, seeds=4)
    assert np.all(np.abs(mean - pred) <= 0.01 + 2 * se), (pred, mean, se)
