"""What each figure must show: the artists' data, labels, ticks and titles (not pixels)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

import giantstep as gs
from giantstep.figures import validation_figure
from giantstep.validation.compare import _MARKERS


def test_thresholds_stairway_small_multiples_target_and_never_band():
    th = gs.thresholds("z1 + z1*z2*z3")
    fig = th.plot()
    assert "z1 + z1*z2*z3" in fig._suptitle.get_text()
    panels = fig.axes[:4]
    # each method in its own panel: curves cannot lie on top of each other
    assert [ax.get_title() for ax in panels] == ["random features / kernel", "one giant step",
                                                  "one step, low degrees removed", "several steps"]
    # hand: Var(y) = 2 at κ = 0; random features 1 on [1, 3), several steps 0 from κ = 2
    for ax, key in zip(panels, ["random_features", "one_step", "one_step_preprocessed", "multi_step"]):
        line = ax.get_lines()[0]
        assert list(line.get_xdata()) == list(th.stairway["kappa"])
        assert list(line.get_ydata()) == list(th.stairway[key])
    kappa = np.asarray(th.stairway["kappa"])
    ms = np.asarray(panels[3].get_lines()[0].get_ydata())
    assert ms[kappa == 0][0] == 2 and ms[np.isclose(kappa, 2)][0] == 0
    # the algorithm panel: "never" is a tick label of its own band, beyond every numeric κ
    alg = fig.axes[4]
    labels = [t.get_text() for t in alg.get_xticklabels()]
    assert labels[-1] == "never" and labels[:-1] == ["0", "1", "2", "3"]
    never_x = alg.get_xticks()[-1]
    assert never_x == 4.0
    spans = [p for p in alg.patches if p.get_x() <= never_x <= p.get_x() + p.get_width()]
    assert spans, "no band at 'never'"
    # one giant step never learns z2, z3: those markers sit in the band
    one_step_row = [a["label"] for a in th.algorithms].index("one giant step")
    for line in alg.get_lines()[1:]:  # directions (0,1,0), (0,0,1)
        xs = line.get_xdata()
        assert xs[one_step_row] == never_x
    assert alg.get_lines()[0].get_xdata()[one_step_row] == 1  # z1: n ≍ d


def _error_points():
    pts = []
    for d, bias in ((128, -0.01), (256, -0.005)):
        for a, th in ((0.5, 0.17), (1.0, 0.16), (2.0, 0.10)):
            pts.append({"d": d, "name": f"test error (alpha={a:g})", "theory": th, "sim_mean": th + bias,
                        "se": 0.004, "verdict": "agrees" if a < 2 else "undetermined"})
    return pts


def test_validate_error_is_drawn_as_learning_curves():
    fig = validation_figure(_error_points(), _MARKERS, "error: tanh", learning_curve=True)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("α")
    theory = ax.get_lines()[0]
    assert theory.get_label() == "theory (d → ∞)"
    assert list(theory.get_xdata()) == [0.5, 1.0, 2.0] and list(theory.get_ydata()) == [0.17, 0.16, 0.10]
    conts = ax.containers
    by_label = {c.get_label(): c for c in conts}
    assert set(by_label) == {"simulation d = 128", "simulation d = 256",
                             "simulation d = 128 (undetermined (too few seeds))",
                             "simulation d = 256 (undetermined (too few seeds))"}
    c128, c256 = by_label["simulation d = 128"], by_label["simulation d = 256"]
    # one colour per d; error bars of ± s.e.; the two d side by side near the same α
    assert c128.lines[0].get_color() != c256.lines[0].get_color()
    x128, y128 = c128.lines[0].get_data()
    x256, _ = c256.lines[0].get_data()
    assert np.allclose(y128, [0.16, 0.15]) and np.all(x128 < x256) and np.allclose(x128, [0.5, 1.0], atol=0.05)
    seg = c128.lines[2][0].get_segments()[0]
    assert seg[1][1] - seg[0][1] == pytest.approx(2 * 0.004)


def test_overlaps_plot_integer_steps_and_identical_curves_stay_visible():
    t = gs.overlap_trajectory("z1 + z1*z2", "relu", alpha=1, eta=1.5, steps=3, readout="sign")
    fig = t.plot()
    for ax in fig.axes:
        ticks = [x for x in ax.get_xticks() if -0.5 <= x <= 3.5]
        assert all(float(x).is_integer() for x in ticks) and len(ticks) >= 4
    cos = fig.axes[1].get_lines()
    # the cosines of s = ±1 coincide: drawn with different markers and fills
    assert np.allclose(cos[0].get_ydata(), cos[1].get_ydata())
    assert cos[0].get_marker() != cos[1].get_marker() and cos[1].get_markerfacecolor() == "none"


def test_learning_curves_sharing_an_axis_get_distinct_colours_and_labels():
    fig = Figure()
    ax = fig.subplots()
    a = gs.one_step_learning_curve("tanh", "tanh", alpha0=2, eta=1, lam=0.01, alphas=[0.5, 1, 2])
    b = gs.one_step_learning_curve("erf", "tanh", alpha0=2, eta=1, lam=0.01, alphas=[0.5, 1, 2])
    a.plot(ax=ax, label="student tanh")
    b.plot(ax=ax, label="student erf")
    handles, labels = ax.get_legend_handles_labels()
    assert len(labels) == len(set(labels))  # no duplicated legend entries
    step_a = handles[labels.index("student tanh: one giant step")]
    step_b = handles[labels.index("student erf: one giant step")]
    assert step_a.get_color() != step_b.get_color()
    assert list(step_a.get_ydata()) == [float(x) for x in a.test_error]
    lazy_b = handles[labels.index("student erf: lazy / random features")]
    assert list(lazy_b.get_ydata()) == [float(x) for x in b.lazy_test_error]
    assert lazy_b.get_color() == step_b.get_color()


def test_simulate_plot_has_integer_steps_and_a_title():
    from giantstep.cli.simulate_cmd import _plot

    def rec(seed, s):
        steps = [{"types": [{"type": "s=+1", "overlap_mean": [0.0 + t * s]},
                            {"type": "s=-1", "overlap_mean": [-0.0 - t * s]}]} for t in range(3)]
        return {"config": {"d": 64, "alpha": 1.0, "eta": 1.0, "target": "z1", "activation": "relu",
                           "readout": "sign"}, "result": {"steps": steps}}

    fig = _plot([rec(0, 0.5), rec(1, 0.7)])
    ax = fig.axes[0]
    assert "z1" in ax.get_title() and "relu" in ax.get_title()
    ticks = [x for x in ax.get_xticks() if -0.2 <= x <= 2.2]
    assert ticks == [0, 1, 2]
    ys = ax.containers[0].lines[0].get_ydata()
    assert np.allclose(ys, [0.0, 0.6, 1.2])  # mean over the two seeds
    # the d → ∞ overlay: relu, sign readout, α = η̃ = 1: step 1 moves the overlap by η̃ μ1 s = ±1/2
    theory = [ln for ln in ax.get_lines() if ln.get_color() == "k"]
    assert theory[0].get_label().startswith("theory") and len(theory) == 2
    assert sorted(ln.get_ydata()[1] for ln in theory) == pytest.approx([-0.5, 0.5], abs=1e-6)


def test_export_figures_writes_into_the_build_folder_not_over_tracked_files(monkeypatch, tmp_path):
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("_export", root / "notebooks" / "export_figures.py")
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    assert export.BUILD == root / "build" / "figures"
    assert "build/" in (root / ".gitignore").read_text().split()
    # every CLI figure of the gallery is regenerated, and the gallery shows every one of them
    gallery = (root / "docs" / "gallery.md").read_text()
    for name in export.CLI_FIGURES:
        assert f"figures/cli_{name}.png" in gallery
    for png in (root / "docs" / "figures").glob("*.png"):
        assert f"figures/{png.name}" in gallery
    build, docs = tmp_path / "build", tmp_path / "docs"
    monkeypatch.setattr(export, "BUILD", build)
    monkeypatch.setattr(export, "FIGURES", docs)
    monkeypatch.setattr(export, "CLI_FIGURES", {"thresholds": ["thresholds", "z1 + z1*z2"]})
    assert export.main(["--cli"]) == 0
    assert (build / "cli_thresholds.png").exists() and not docs.exists()
    assert export.main(["--cli", "--into-docs"]) == 0
    assert (docs / "cli_thresholds.png").exists()
