"""Thresholds and stairway (docs/model.md §4)."""

import numpy as np

from giantstep.theory import Target
from giantstep.theory.structure.thresholds import thresholds


def at(th, method, kappa):
    i = int(np.argmin(np.abs(np.array(th.stairway["kappa"]) - kappa)))
    return th.stairway[method][i]


def test_direction_exponents():
    th = thresholds("z1 + z1*z2*z3", compare=False)
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
        th = thresholds(text, compare=False)
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
    th = thresholds("(He4(z1)/24+He2(z1)/2+z1 + He4(z2)/24+He2(z2)/2+z2)/2", compare=False)
    expected = 1 / 8 + (2 * 24 / 48**2 - (1 / 16) / 24)
    assert abs(at(th, "one_step", 1.5) - expected) < 1e-12
    assert abs(at(th, "one_step_preprocessed", 2.0)) < 1e-12


def test_plot_has_four_curves(tmp_path):
    th = thresholds("z1 + z1*z2*z3", amp=False)
    fig = th.plot()
    # one panel per method, each drawing that method's plateaus on the κ grid
    for ax, key in zip(fig.axes[:4], ["random_features", "one_step", "one_step_preprocessed", "multi_step"]):
        step = ax.get_lines()[0]
        assert list(step.get_ydata()) == list(th.stairway[key])


def _row(th, key):
    return next(a for a in th.algorithms if a["algorithm"] == key)["cells"]


def test_comparison_rows_by_hand():
    # z1 + z1 z2 z3: e1 is linear (every algorithm at n ≍ d); e2, e3 enter through the cubic term:
    # kernel/preprocessed one step d^3, one plain step never, fresh-batch steps d^2 (leap 2),
    # online SGD d log d (leap 2), SQ d (generative leap 2 → d^{max(1, 2/2)}),
    # batch reuse not in O(1) steps (every power of y is even in (z2, z3)).
    th = thresholds("z1 + z1*z2*z3")
    keys = [a["algorithm"] for a in th.algorithms]
    assert keys == ["kernel", "one_step", "one_step_preprocessed", "fresh_batches", "online_sgd",
                    "batch_reuse", "sq_low_degree", "amp"]
    by = {k: [c["kappa"] for c in _row(th, k)] for k in keys[:-1]}
    assert by["kernel"] == [1, 3, 3] and by["one_step"] == [1, None, None]
    assert by["one_step_preprocessed"] == [1, 3, 3] and by["fresh_batches"] == [1, 2, 2]
    assert by["online_sgd"] == [1, 1, 1] and [c["log_factor"] for c in _row(th, "online_sgd")] == [False, True, True]
    assert by["batch_reuse"] == [1, None, None] and by["sq_low_degree"] == [1, 1, 1]
    assert all(d["multi_step_exponent"] == k for d, k in zip(th.directions, [1, 2, 2]))


def test_comparison_single_index_he3():
    # He3: k* = 3 → online SGD d^2, one step d^3; k_gen = 1 → SQ d, reuse learns it at n ≍ d
    th = thresholds("He3(z1)")
    assert _row(th, "online_sgd")[0]["kappa"] == 2 and _row(th, "one_step")[0]["kappa"] == 3
    assert _row(th, "sq_low_degree")[0]["kappa"] == 1 and _row(th, "batch_reuse")[0]["kappa"] == 1
    assert th.generative["generative_exponent"] == 1


def test_comparison_sq_exponent_and_amp_rows():
    th = thresholds("sign(z1*z2*z3)")
    assert [c["kappa"] for c in _row(th, "sq_low_degree")] == [1.5] * 3  # d^{3/2}
    amp = _row(th, "amp")
    if amp[0]["text"] != "n/a":  # giantstep.theory.amp present: hard for AMP, SQ exponent shown
        assert all(c.get("hard") for c in amp)
    amp = _row(thresholds("z1**2"), "amp")[0]
    if amp["text"] != "n/a":
        assert abs(amp["alpha_c"] - 0.5) < 1e-3
    amp = _row(thresholds("z1"), "amp")[0]
    if amp["text"] != "n/a":
        assert amp["alpha_c"] == 0.0


def test_comparison_rotation_invariant():
    a = thresholds("z1 + z1*z2*z3", amp=False)
    b = thresholds("(z1+z2)/sqrt(2) + (z1+z2)/sqrt(2)*(z1-z2)/sqrt(2)*z3", amp=False)
    for key in ("kernel", "online_sgd", "sq_low_degree", "batch_reuse", "fresh_batches"):
        assert sorted(str(c["kappa"]) for c in _row(a, key)) == sorted(str(c["kappa"]) for c in _row(b, key))


def test_plot_has_comparison_panel():
    fig = thresholds("z1 + z1*z2*z3", amp=False).plot()
    assert len(fig.axes) == 5 and fig.axes[4].get_title() == "samples needed per algorithm"
