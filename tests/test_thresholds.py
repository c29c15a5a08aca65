"""Thresholds and stairway (THEORY §4)."""

import numpy as np

from giantstep.theory import Target
from giantstep.theory.thresholds import thresholds


def at(th, method, kappa):
    i = int(np.argmin(np.abs(np.array(th.stairway["kappa"]) - kappa)))
    return th.stairway[method][i]


def test_direction_exponents():
    th = thresholds("z1 + z1*z2*z3")
    by_dir = {tuple(np.round(d["vector"], 6)): d for d in th.directions}
    e1, e2 = by_dir[(1.0, 0.0, 0.0)], by_dir[(0.0, 1.0, 0.0)]
    assert (e1["one_step_exponent"], e1["one_step_exponent_preprocessed"], e1["staircase_step"]) == (1, 1, 1)
    assert (e2["one_step_exponent"], e2["one_step_exponent_preprocessed"], e2["staircase_step"]) == (None, 3, None)
    th = thresholds("z1*z2")
    assert all(d["one_step_exponent"] == 2 and d["staircase_step"] is None for d in th.directions)


def test_random_features_plateaus_are_tail_energies():
    t = Target("z1 + He2(z1)/2 + He3(z2)/6", noise=0.1)
    th = thresholds(t)
    # energies: degree 1: 1, degree 2: 1/2, degree 3: 1/6
    assert abs(at(th, "random_features", 0.5) - (1 + 0.5 + 1 / 6 + 0.1)) < 1e-12
    assert abs(at(th, "random_features", 1.5) - (0.5 + 1 / 6 + 0.1)) < 1e-12
    assert abs(at(th, "random_features", 2.5) - (1 / 6 + 0.1)) < 1e-12
    assert abs(at(th, "random_features", 3.5) - 0.1) < 1e-12
    # one step at κ ∈ [1,2) learns z1 fully (He2(z1) included), not z2
    assert abs(at(th, "one_step", 1.5) - (1 / 6 + 0.1)) < 1e-12


def test_stairway_ordering_and_limits():
    for text in ["z1 + z1*z2*z3", "(He4(z1)/24+He2(z1)/2+z1 + He4(z2)/24+He2(z2)/2+z2)/2", "z1 + z1*z2"]:
        th = thresholds(text)
        sw = th.stairway
        for i in range(len(sw["kappa"])):
            # feature learning never does worse than the kernel at the same κ; several steps ≤ one step
            assert sw["one_step"][i] <= sw["random_features"][i] + 1e-12
            assert sw["one_step_preprocessed"][i] <= sw["random_features"][i] + 1e-12
            assert sw["multi_step"][i] <= sw["one_step"][i] + 1e-12
        assert sw["random_features"][-1] < 1e-12  # κ > degree: everything learned


def test_hermite_teacher_one_step_plateau_by_hand():
    # h = He4/24 + He2/2 + He1 on z1, z2; at κ=1 one step learns u = (e1+e2)/√2 only:
    # remaining energy = degree 2: 1/4 - (1/2)²/2 = 1/8; degree 4: 2(1/48)²·24 - (1/4)²/24
    th = thresholds("(He4(z1)/24+He2(z1)/2+z1 + He4(z2)/24+He2(z2)/2+z2)/2")
    expected = 1 / 8 + (2 * 24 / 48**2 - (1 / 16) / 24)
    assert abs(at(th, "one_step", 1.5) - expected) < 1e-12
    assert abs(at(th, "one_step_preprocessed", 2.0)) < 1e-12


def test_plot_has_four_curves(tmp_path):
    fig = thresholds("z1 + z1*z2*z3").plot()
    assert len(fig.axes[0].get_lines()) == 4
