"""The theory commands: JSON keys, values, errors (exit 2, one line, no traceback)."""

import json

import pytest

from giantstep.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_leap_json(capsys):
    code, out, _ = run(capsys, "leap", "z1 + z1*z2*z3", "--json")
    data = json.loads(out)
    assert code == 0
    assert {"r", "information_exponent", "leap_index", "relevant_dim", "staircase", "leaps"} <= set(data)
    assert (data["r"], data["information_exponent"], data["leap_index"], data["relevant_dim"]) == (3, 1, 2, 3)
    assert data["leaps"] == [1, 2]
    assert data["staircase"][0]["step"] == 1 and data["staircase"][0]["new_directions"] == [[1.0, 0.0, 0.0]]


def test_leap_json_generative(capsys):
    code, out, _ = run(capsys, "leap", "z1 + z1*z2*z3", "--json", "--no-strengths")
    data = json.loads(out)
    assert code == 0 and data["generative_leap"] == 2
    assert [s["k"] for s in data["generative_stages"]] == [1, 2]
    assert data["generative_stages"][0]["directions"] == [[1.0, 0.0, 0.0]]
    _, out, _ = run(capsys, "leap", "He3(z1)", "--json")
    data = json.loads(out)
    assert (data["information_exponent"], data["leap_index"], data["generative_leap"]) == (3, 3, 1)
    st = data["generative_stages"][0]
    # E_y[E[z | y]²] for y = He3(z): independent value in tests/test_generative.py
    assert st["k"] == 1 and abs(st["strengths"][0] - 0.66783167) < 1e-6
    _, out, _ = run(capsys, "leap", "z1", "--noise", "1", "--json")
    assert abs(json.loads(out)["generative_stages"][0]["strengths"][0] - 0.5) < 1e-6  # 1/(1+Δ)


def test_leap_text_has_generative_table(capsys):
    code, out, _ = run(capsys, "leap", "He4(z1)")
    assert code == 0 and "generative exponent 2" in out and "generative stages" in out


def test_thresholds_comparison_table(capsys):
    code, out, _ = run(capsys, "thresholds", "He3(z1)")
    assert code == 0 and "samples needed per algorithm" in out
    for label in ("online SGD", "GD reusing batches", "SQ / low-degree", "AMP"):
        assert label in out
    _, out, _ = run(capsys, "thresholds", "He3(z1)", "--json")
    data = json.loads(out)
    rows = {a["algorithm"]: a["cells"][0] for a in data["algorithms"]}
    assert rows["online_sgd"]["text"] == "d^2" and rows["sq_low_degree"]["kappa"] == 1.0
    assert data["generative"]["generative_leap"] == 1


def test_leap_activation_aware(capsys):
    _, out, _ = run(capsys, "leap", "z1 + z1*z2", "--activation", "tanh", "--json")
    data = json.loads(out)
    assert data["leap_index"] is None and len(data["staircase"]) == 1


def test_hermite_activation_json(capsys):
    code, out, _ = run(capsys, "hermite", "relu", "--degree", "3", "--json")
    data = json.loads(out)
    assert data["coefficients"] == ["sqrt(2)/(2*sqrt(pi))", "1/2", "sqrt(2)/(2*sqrt(pi))", "0"]
    code, out, _ = run(capsys, "hermite", "tanh", "--degree", "3", "--precision", "25", "--json")
    data = json.loads(out)
    assert data["coefficients"][1].startswith("0.605705509602158825583540")


def test_hermite_target_json(capsys):
    _, out, _ = run(capsys, "hermite", "z1*z2 + He3(z1)/6", "--degree", "3", "--json")
    data = json.loads(out)
    assert data["energies"] == ["0", "0", "1", "1/6"]
    assert data["tensors"]["2"] == [{"beta": [1, 1], "value": "1", "float": 1.0}]


def test_thresholds_json_and_plot(capsys, tmp_path):
    png = tmp_path / "s.png"
    code, out, _ = run(capsys, "thresholds", "z1 + z1*z2*z3", "--json", "--plot", str(png))
    data = json.loads(out)
    assert code == 0 and png.stat().st_size > 1000
    assert {"directions", "degrees", "stairway"} <= set(data)
    keys = {"vector", "one_step_exponent", "one_step_exponent_preprocessed", "staircase_step"}
    assert keys <= set(data["directions"][0])
    assert {"degree", "energy", "kernel_exponent"} <= set(data["degrees"][0])
    assert {"kappa", "random_features", "one_step", "one_step_preprocessed", "multi_step"} <= set(data["stairway"])


@pytest.mark.parametrize(
    "argv",
    [
        ["leap", "z0 + z1"],
        ["leap", ""],
        ["leap", "z1**0.5"],
        ["leap", "foo(z1)"],
        ["leap", "exp(z1**2)"],
        ["leap", "z1" + "+z1" * 1000],
        ["hermite", "relu", "--degree", "-2"],
        ["hermite", "tanh", "--degree", "3", "--exact"],
        ["hermite", "relu", "--degree", "3", "--precision", "1"],
        ["thresholds", "z1", "--noise", "-1"],
        ["leap", "z1", "--noise", "-0.5"],
        ["simulate", "He3(z1)", "--activation", "tanh", "--alpha", "1", "--eta", "1", "--batch-reuse", "0"],
        ["leap", "__import__('os').system('true')"],
    ],
)
def test_bad_input_exit_2_one_line(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "error" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["overlaps", "z1", "--activation", "relu", "--readout", "foo", "--alpha", "1", "--eta", "1", "--steps", "1"],
        ["simulate", "z1", "--activation", "relu"],
        ["error", "--student", "tanh"],
        ["leap"],
        ["nosuchcommand"],
    ],
)
def test_usage_errors_are_one_line(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err
