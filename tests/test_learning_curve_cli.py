"""``giantstep error`` (docs/model.md §6.1)."""

from __future__ import annotations

import json

import pytest

from giantstep.cli import main

BASE = ["error", "--student", "tanh", "--teacher", "tanh", "--alpha0", "0.5", "--eta", "1",
        "--lam", "0.01"]


def test_json_output(capsys):
    assert main(BASE + ["--alpha", "0.2:1.6:3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("alpha", "test_error", "train_error", "lazy_test_error", "validated"):
        assert len(out[key]) == 3
    assert out["alpha"] == pytest.approx([0.2, 0.9, 1.6])
    assert "converged" not in out
    assert out["test_error"][0] == pytest.approx(0.285, abs=0.003)  # docs/model.md §6.1


def test_table_and_plot(capsys, tmp_path):
    png = tmp_path / "curve.png"
    assert main(BASE + ["--alpha", "0.5:2:2", "--noise", "0.1", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "lazy_test_error" in out and "test_error" in out
    assert png.exists() and png.stat().st_size > 1000


def test_sampled_spectrum_option(capsys):
    args = BASE + ["--alpha", "1.0", "--spectrum", "sampled", "--spectrum-draws", "2", "--d", "200",
                   "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["test_error_std"]) == 1


@pytest.mark.parametrize(
    "extra",
    [
        ["--alpha", "0:1:3"],
        ["--alpha", "0.5", "--lam", "0"],
        ["--alpha", "0.5", "--lam", "-2"],
        ["--alpha", "a:b:c"],
        ["--alpha", "0.5", "--student", "exp(x**2)"],
        ["--alpha", "0.5", "--teacher", "exp(x**2)"],
        ["--alpha", "0.5", "--width-ratio", "0"],
        ["--alpha", "0.5", "--readout", "sign", "--student", "relu", "--spectrum", "limit"],
        ["--alpha", "0.5", "--readout", "gaussian", "--spectrum", "sampled"],
        ["--alpha", "0.5", "--readout", "gaussian", "--n-types", "0"],
        ["--alpha", "0.5", "--width-ratio", "-1"],
        ["--alpha", "0.5", "--alpha0", "0"],
        ["--alpha", "0.5", "--alpha0", "-1"],
    ],
)
def test_bad_input_exit_2(extra, capsys):
    assert main(BASE + extra) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


def test_width_ratio_and_validated_flags(capsys):
    assert main(BASE + ["--alpha", "0.5:2:2", "--width-ratio", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"]["width_ratio"] == 2.0 and out["validated"] == [True, True]
    # outside the checked region: computed, flagged, one warning line, exit 0
    assert main(BASE + ["--alpha", "1", "--eta", "5", "--alpha0", "2", "--spectrum", "limit"]) == 0
    cap = capsys.readouterr()
    assert "False" in cap.out and cap.err.count("\n") == 1 and "not validated" in cap.err


def test_relu_student_uses_the_exact_bulk_model(capsys):
    args = ["error", "--student", "relu", "--teacher", "tanh", "--alpha0", "2", "--eta", "2",
            "--lam", "0.05", "--alpha", "1", "--d", "300", "--spectrum-draws", "2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "spectrum = bulk" in out and "sampling cost" in out and "std_over_draws" in out


def test_multi_index_teacher(capsys):
    args = ["error", "--student", "tanh", "--teacher", "sin(z1) + 0.5*tanh(z2)", "--alpha0", "1",
            "--eta", "2", "--lam", "0.05", "--alpha", "0.5:2:2", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"]["teacher_directions"] == 2
    assert all(a < b for a, b in zip(out["test_error"], out["lazy_test_error"]))
