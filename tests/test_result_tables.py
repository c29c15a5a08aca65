"""``to_frame()`` on every result (pandas optional), ``dir(giantstep)``, float coefficients."""

from __future__ import annotations

import importlib
import math
import sys

import pytest

import giantstep as gs
from giantstep.tables import FrameMixin

RESULT_CLASSES = [
    ("giantstep.theory.structure.subspaces", "LeapAnalysis"),
    ("giantstep.theory.structure.generative", "GenerativeAnalysis"),
    ("giantstep.theory.amp", "AMPAnalysis"),
    ("giantstep.theory.structure.thresholds", "Thresholds"),
    ("giantstep.numerics.overlaps.one_step", "OneStepOverlaps"),
    ("giantstep.numerics.overlaps.result", "OverlapTrajectory"),
    ("giantstep.numerics.overlaps.preprocessed", "PreprocessedOverlaps"),
    ("giantstep.numerics.test_error.curves.one_step", "LearningCurve"),
    ("giantstep.numerics.test_error.curves.multi_step", "MultiStepCurve"),
    ("giantstep.numerics.amp_state_evolution", "StateEvolution"),
    ("giantstep.validation.simulator", "SimulationResult"),
    ("giantstep.validation.compare", "ValidationReport"),
    ("giantstep.validation.finite_size", "FiniteSizeStudy"),
    ("giantstep.validation.verdict_calibration", "StudyResult"),
]


@pytest.mark.parametrize("module, name", RESULT_CLASSES, ids=[c for _, c in RESULT_CLASSES])
def test_every_result_has_to_frame(module, name):
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, FrameMixin) and (hasattr(cls, "to_dict") or hasattr(cls, "to_list"))


def test_learning_curve_frame_columns_are_its_arrays():
    pytest.importorskip("pandas")
    lc = gs.one_step_learning_curve("tanh", "tanh", alpha0=2, eta=1, lam=0.01, alphas=[0.5, 1, 2])
    f = lc.to_frame()
    assert list(f["alpha"]) == [0.5, 1.0, 2.0]
    assert list(f["test_error"]) == [float(x) for x in lc.test_error]
    assert list(f["lazy_test_error"]) == [float(x) for x in lc.lazy_test_error]
    assert f.attrs["params.student"] == "tanh" and f.attrs["params.lam"] == 0.01


def test_thresholds_frame_is_the_stairway():
    pytest.importorskip("pandas")
    f = gs.thresholds("z1 + z1*z2*z3").to_frame()
    # Var(y) = 2 at κ = 0; random features reach 0 at κ = 3 (degree 3), not before
    row0 = f[f["kappa"] == 0].iloc[0]
    assert row0["random_features"] == 2
    rf = dict(zip(f["kappa"].round(6), f["random_features"]))
    assert rf[2.0] == 1 and rf[3.0] == 0
    assert "κ = log n" in f.attrs["notes"]


def test_overlap_trajectory_frame_has_one_row_per_step():
    pytest.importorskip("pandas")
    t = gs.overlap_trajectory("z1", "relu", alpha=1, eta=1, steps=2, readout="sign")
    f = t.to_frame()
    assert list(f["step"]) == [0, 1, 2]


def test_to_frame_without_pandas_says_how_to_install(monkeypatch):
    lc = gs.thresholds("z1*z2")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"giantstep\[frame\]"):
        lc.to_frame()


def test_dir_lists_the_lazy_public_api():
    names = dir(gs)
    public = [n for n in names if not n.startswith("_")]
    assert public == sorted(n for n in gs.__all__ if not n.startswith("_"))
    for n in ("leap_index", "thresholds", "one_step_learning_curve", "Activation", "validate"):
        assert n in names
    for n in public:
        assert getattr(gs, n) is not None
    assert "__version__" in names and "importlib" not in names


def test_float_coefficients_of_relu():
    c = gs.Activation("relu").coefficients(4)
    fl = c.floats()
    # relu: μ0 = 1/√(2π), μ1 = 1/2, μ2 = 1/√(2π), μ3 = 0, μ4 = −1/√(2π) (hand)
    s = 1 / math.sqrt(2 * math.pi)
    assert [float(x) for x in fl] == pytest.approx([s, 0.5, s, 0.0, -s], abs=1e-15)
    assert all(isinstance(float(x), float) for x in fl)
