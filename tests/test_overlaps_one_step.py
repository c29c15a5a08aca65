"""One giant step, n = α d (docs/model.md §5.1): hand-derived values, the checked numbers, limits."""

from __future__ import annotations

import numpy as np
import pytest

from giantstep.errors import InputError
from giantstep.numerics import one_step_overlaps, overlap_trajectory

SQ2PI = np.sqrt(2 * np.pi)


def test_theory_numbers_tanh_tanh():
    """docs/model.md §5.1: tanh/tanh, α=2, η̃=3: cosine 0.6317, γ 0.8065 (to the 4 quoted digits)."""
    res = one_step_overlaps("tanh(z1)", "tanh", alpha=2, eta=3)
    assert abs(res.types[0].signed_cosine - 0.6317) < 5e-5
    assert abs(res.gamma - 0.8065) < 5e-5


def test_theory_numbers_relu_student_tanh_teacher():
    """docs/model.md §5.1: relu student, tanh teacher, constant readout, η̃=2 (α = 2, found by matching
    r² = 0.6436 = μ_1*² + E[e²]/α): mean ‖w‖² 1.385, r² 0.6436, and 1.920 without the rescaling."""
    res = one_step_overlaps("tanh(z1)", "relu", alpha=2, eta=2)
    t = res.types[0]
    assert abs(t.norm2 - 1.385) < 5e-4
    assert abs(res.r**2 - 0.6436) < 5e-5
    assert abs(t.norm2 - t.rescale**2 + 1 - 1.920) < 5e-4


def test_hand_derived_relu_sign():
    """relu, sign readout, g* = ((z1+z1²)+(z2−z2²))/2, α=2, η̃=2, by hand:
    f_0 = 0, E[e] = 0, E[e²] = E[g*²] = (1+2+1+2)/4 = 3/2, μ_1 = 1/2, Var σ' = 1/4, C_1 = (1/2, 1/2):
    overlap = ±(1/2, 1/2), shared 4·¼·(3/2)/2 = 3/4, private 1 + 4·(3/2)·¼/2 = 7/4, ‖w‖² = 3."""
    res = one_step_overlaps("((z1+z1**2)+(z2-z2**2))/2", "relu", alpha=2, eta=2, readout="sign")
    plus, minus = res.types
    assert np.allclose(plus.overlap, [0.5, 0.5], atol=1e-12)
    assert np.allclose(minus.overlap, [-0.5, -0.5], atol=1e-12)
    assert abs(plus.shared_norm2 - 0.75) < 1e-12
    assert abs(plus.rescale**2 + plus.private_noise2 - 1.75) < 1e-12
    assert abs(plus.norm2 - 3.0) < 1e-12 and abs(minus.norm2 - 3.0) < 1e-12
    assert res.r is None  # not single-index


def test_rescaling_with_nonzero_initial_output():
    """relu, constant readout: f_0 = μ_0 = 1/√(2π), so for g* = z1, E[e] = −1/√(2π) and the row is
    rescaled by 1 + η̃ μ_2 E[e] = 1 − η̃/(2π)."""
    res = one_step_overlaps("z1", "relu", alpha=1, eta=2)
    assert abs(res.f0 - 1 / SQ2PI) < 1e-12
    assert abs(res.types[0].rescale - (1 - 2 / (2 * np.pi))) < 1e-12
    sym = one_step_overlaps("z1", "relu", alpha=1, eta=2, symmetric=True)
    assert sym.f0 == 0.0 and abs(sym.types[0].rescale - 1) < 1e-12
    assert np.allclose(sym.types[0].overlap, -sym.types[1].overlap)


def test_eta_zero_is_initialisation():
    res = one_step_overlaps("z1 + z1*z2", "tanh", alpha=1, eta=0, readout="gaussian", n_types=5)
    for t in res.types:
        assert np.all(t.overlap == 0) and abs(t.norm2 - 1) < 1e-15


def test_spiked_parameters_single_index():
    """r = η̃ μ_1 sqrt(μ1*² + E[e²]/α), γ = μ1*/sqrt(...), c² + r² = ‖w‖² (constant readout)."""
    res = one_step_overlaps("z1", "erf", alpha=4, eta=1.5, noise=0.5)
    mu1 = 2 / np.sqrt(3 * np.pi)
    Ee2 = 1 + 0.5
    assert abs(res.r - 1.5 * mu1 * np.sqrt(1 + Ee2 / 4)) < 1e-12
    assert abs(res.gamma - 1 / np.sqrt(1 + Ee2 / 4)) < 1e-12
    assert abs(res.c**2 + res.r**2 - res.types[0].norm2) < 1e-12


@pytest.mark.parametrize(
    "target,act,readout",
    [("((z1+z1**2)+(z2-z2**2))/2", "relu", "sign"), ("z1 + z1*z2", "tanh", "constant"),
     ("z1 + He3(z1)", "erf", "gaussian"), ("tanh(2*z1)", "relu", "constant")],
)
def test_recursion_step_one_equals_closed_form(target, act, readout):
    """Step 1 of the §5.3 recursion reproduces §5.1 (including the row rescaling and f_0)."""
    kw = dict(alpha=1.5, eta=1.7, readout=readout, n_types=5, noise=0.2)
    cf = one_step_overlaps(target, act, **kw)
    tr = overlap_trajectory(target, act, steps=1, tol=1e-7, **kw)
    for a, b in zip(cf.types, tr.steps[1].types):
        assert np.allclose(a.overlap, b.overlap, atol=1e-6)
        assert abs(a.norm2 - b.norm2) < 1e-6
        assert abs(a.shared_norm2 - b.shared_norm2) < 1e-6
        assert abs(a.cosine - b.cosine) < 1e-6


def test_to_dict_and_plot():
    res = one_step_overlaps("z1 + z1*z2", "relu", alpha=1, eta=1, readout="sign")
    d = res.to_dict()
    import json

    json.dumps(d)
    assert d["steps"][1]["types"][0]["overlap"] == pytest.approx(list(res.types[0].overlap))
    fig = res.plot()
    assert fig.axes


@pytest.mark.parametrize(
    "kw",
    [dict(alpha=0, eta=1), dict(alpha=-1, eta=1), dict(alpha=1, eta=-0.1),
     dict(alpha=1, eta=1, readout="uniform"), dict(alpha=1, eta=1, readout="gaussian", n_types=0),
     dict(alpha=float("nan"), eta=1)],
)
def test_bad_parameters(kw):
    with pytest.raises(InputError):
        one_step_overlaps("z1", "relu", **kw)


def test_non_differentiable_activation_refused():
    with pytest.raises(InputError, match="weakly differentiable"):
        one_step_overlaps("z1", "sign", alpha=1, eta=1)
