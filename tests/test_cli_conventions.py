"""Conventions shared by every command: --version, one --alpha grammar, --help with an example,
--csv, "did you mean", exit codes (0 answer, 2 refused input, 1 numerical failure / disagreement)."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from giantstep.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]

# the required arguments of each command, without --alpha
_BASE = {
    ("error",): ["--student", "tanh", "--teacher", "tanh", "--alpha0", "2", "--eta", "1", "--lam", "0.01"],
    ("simulate",): ["z1", "--activation", "relu", "--eta", "1"],
    ("validate", "error"): ["--student", "tanh", "--teacher", "tanh", "--alpha0", "2", "--eta", "1",
                            "--lam", "0.01"],
    ("overlaps",): ["z1", "--activation", "relu", "--eta", "1", "--steps", "1"],
    ("validate", "overlaps"): ["z1", "--activation", "relu", "--eta", "1"],
    ("validate", "preprocessed"): ["He2(z1)", "--activation", "relu", "--eta", "1"],
    ("amp",): ["z1**2"],
}
_SEVERAL = [("error",), ("simulate",), ("validate", "error"), ("overlaps",), ("amp",)]
_ONE = [("validate", "overlaps"), ("validate", "preprocessed")]


def _parse(cmd: tuple[str, ...], alpha: str):
    return build_parser().parse_args([*cmd, *_BASE[cmd], "--alpha", alpha])


@pytest.mark.parametrize("cmd", _SEVERAL, ids=" ".join)
def test_alpha_grammar_several_values(cmd):
    # START:STOP:NUM inclusive, hand values
    assert _parse(cmd, "0.5:3:6").alpha == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.5, 3.0], abs=1e-15)
    assert _parse(cmd, "0.5,1,2").alpha == [0.5, 1.0, 2.0]
    assert _parse(cmd, "2").alpha == [2.0]
    assert _parse(cmd, "1:1:1").alpha == [1.0]


@pytest.mark.parametrize("cmd", _ONE, ids=" ".join)
def test_alpha_grammar_one_value(cmd):
    assert _parse(cmd, "2").alpha == 2.0
    assert _parse(cmd, "1.5:1.5:1").alpha == 1.5


@pytest.mark.parametrize("cmd", _SEVERAL + _ONE, ids=" ".join)
@pytest.mark.parametrize("bad", ["1:2", "1:2:0", "0,1", "-1", "a", "1:2:x", "nan", "inf", ""])
def test_alpha_grammar_refusals(cmd, bad, capsys):
    assert main([*cmd, *_BASE[cmd], "--alpha", bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--alpha" in err and "Traceback" not in err


@pytest.mark.parametrize("cmd", _ONE, ids=" ".join)
def test_alpha_list_refused_where_one_value_is_computed(cmd, capsys):
    assert main([*cmd, *_BASE[cmd], "--alpha", "1,2"]) == 2
    assert "one value" in capsys.readouterr().err


def test_version(capsys):
    from giantstep import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"giantstep {__version__}"
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^version = "(.*)"$', text, re.M).group(1) == __version__


def _commands() -> list[tuple[str, ...]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.choices and isinstance(a.choices, dict))
    out = []
    for name, p in sub.choices.items():
        nested = [a for a in p._actions if a.choices and isinstance(a.choices, dict)]
        out.append((name,))
        if nested:
            out.extend((name, k) for k in nested[0].choices)
    return out


@pytest.mark.parametrize("cmd", _commands(), ids=" ".join)
def test_help_has_description_and_example(cmd, capsys):
    assert main([*cmd, "--help"]) == 0
    out = capsys.readouterr().out
    example = out.split("example:\n", 1)[1].strip()
    assert example.startswith("giantstep " + " ".join(cmd))
    desc = out.split("\n\n")[1]
    assert len(desc.split()) >= 12  # a paragraph, not a label


def test_every_command_is_covered():
    names = {c[0] for c in _commands()}
    assert {"leap", "hermite", "thresholds", "overlaps", "error", "simulate", "validate", "warmup", "amp"} <= names


@pytest.mark.parametrize("argv, suggestion", [
    (["leap", "He2"], "'He2(z1)'"),
    (["leap", "z1 + relux(z2)"], "'relu'"),
    (["leap", "z1 + tanhh"], "'tanh(z1)'"),
    (["hermite", "rleu", "--degree", "3"], "'relu'"),
    (["thresholds", "sign"], "'sign(z1)'"),
])
def test_unknown_names_suggest_the_closest_spelling(argv, suggestion, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"did you mean {suggestion}?" in err


def test_no_suggestion_when_nothing_is_close(capsys):
    assert main(["leap", "z1 + qqqq"]) == 2
    assert "did you mean" not in capsys.readouterr().err


def _csv(capsys) -> list[dict]:
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_csv_error_matches_json(capsys):
    argv = ["error", *_BASE[("error",)], "--alpha", "0.5:3:6"]
    assert main(argv + ["--csv"]) == 0
    rows = _csv(capsys)
    assert [float(r["alpha"]) for r in rows] == pytest.approx([0.5, 1, 1.5, 2, 2.5, 3])
    assert main(argv + ["--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert [float(r["test_error"]) for r in rows] == js["test_error"]
    assert [float(r["lazy_test_error"]) for r in rows] == js["lazy_test_error"]


def test_csv_theory_commands(capsys):
    # z1 + z1 z2 z3: leaps 1 then 2 (hand: the linear part, then z2, z3 through the cubic term)
    assert main(["leap", "z1 + z1*z2*z3", "--csv"]) == 0
    assert [int(r["leap"]) for r in _csv(capsys)] == [1, 2]
    # stairway: Var(y) = 1 + 1 = 2 before any sample, 0 once κ ≥ 3 for random features
    assert main(["thresholds", "z1 + z1*z2*z3", "--csv"]) == 0
    rows = _csv(capsys)
    assert float(rows[0]["kappa"]) == 0 and float(rows[0]["random_features"]) == 2
    assert all(float(r["random_features"]) == 0 for r in rows if float(r["kappa"]) >= 3)
    # relu: μ0 = 1/√(2π), μ1 = 1/2, μ3 = 0 (hand)
    assert main(["hermite", "relu", "--degree", "3", "--csv"]) == 0
    vals = [float(r["value"]) for r in _csv(capsys)]
    assert vals == pytest.approx([(2 * 3.141592653589793) ** -0.5, 0.5, (2 * 3.141592653589793) ** -0.5, 0.0])


def test_csv_overlaps(capsys):
    # one step, linear target, relu, sign readout, α = 1, η̃ = 1: overlap = η̃ μ1 = 1/2 (docs/model.md §5.1)
    assert main(["overlaps", "z1", "--activation", "relu", "--alpha", "1", "--eta", "1", "--steps", "1",
                 "--csv"]) == 0
    rows = _csv(capsys)
    step1 = [r for r in rows if r["step"] == "1"]
    assert sorted(abs(float(r["overlap z1"])) for r in step1) == pytest.approx([0.5, 0.5], abs=1e-6)
    # several α: one trajectory each; the step-1 overlap is η̃ μ1 = 1/2 whatever α (n = α d only sets
    # the size of the noise part of the update)
    assert main(["overlaps", "z1", "--activation", "relu", "--alpha", "0.5,1:2:2", "--eta", "1", "--steps", "1",
                 "--csv"]) == 2  # one grammar per value: a list of grids is not part of it
    capsys.readouterr()
    assert main(["overlaps", "z1", "--activation", "relu", "--alpha", "0.5,2", "--eta", "1", "--steps", "1",
                 "--csv"]) == 0
    rows = _csv(capsys)
    assert sorted({float(r["alpha"]) for r in rows}) == [0.5, 2.0]
    assert all(abs(abs(float(r["overlap z1"])) - 0.5) < 1e-6 for r in rows if r["step"] == "1")


def test_teacher_without_linear_part_is_an_answer_with_a_warning():
    argv = [sys.executable, "-m", "giantstep", "error", "--student", "tanh", "--teacher", "z1*z2*z3",
            "--alpha0", "2", "--eta", "1", "--lam", "0.1", "--alpha", "1,2"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "warning:" in out.stderr and "error:" not in out.stderr
    assert "test_error" in out.stdout


@pytest.mark.parametrize("argv", [
    ["leap", "z1 +"], ["hermite", "relu", "--degree", "-1"], ["thresholds", "z0"],
    ["overlaps", "z1", "--activation", "relu", "--alpha", "1", "--eta", "-1", "--steps", "1"],
    ["error", *_BASE[("error",)][:-1], "-1", "--alpha", "1"],
    ["simulate", "z1", "--activation", "relu", "--eta", "1", "--alpha", "1", "--seeds", "0"],
    ["validate", "error", *_BASE[("validate", "error")], "--alpha", "1", "--seeds", "0"],
    ["warmup", "--bogus"],
], ids=lambda a: a[0] if isinstance(a, list) else str(a))
def test_refused_input_exits_2_with_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_license_and_citation():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text()
    cff = (ROOT / "CITATION.cff").read_text()
    assert "How Two-Layer Neural Networks Learn, One (Giant) Step at a Time" in cff
    assert "cff-version: 1.2.0" in cff and "preferred-citation:" in cff


@pytest.mark.parametrize("argv", [
    ["leap", "z1"], ["hermite", "relu", "--degree", "2"], ["thresholds", "z1"],
    ["overlaps", "z1", "--activation", "relu", "--alpha", "1", "--eta", "1", "--steps", "1"],
    ["error", *_BASE[("error",)], "--alpha", "1"],
    ["simulate", "z1", "--activation", "relu", "--alpha", "1", "--eta", "1", "--d", "32", "--seeds", "2",
     "--workers", "1", "--no-progress"],
], ids=lambda a: a[0])
def test_answers_exit_0(argv, capsys):
    assert main(argv) == 0
    assert capsys.readouterr().out


def test_validate_without_a_verdict_exits_1(capsys):
    # two seeds: a Student t with 1 degree of freedom cannot resolve any point (undetermined)
    argv = ["validate", "overlaps", "z1", "--activation", "relu", "--alpha", "1", "--eta", "1", "--d", "32",
            "--seeds", "2", "--workers", "1", "--no-progress"]
    assert main(argv) == 1
    assert "UNDETERMINED" in capsys.readouterr().out


_GRIDS = [("0.5:3:6", 0.5, 3, 6), ("1:2:3", 1, 2, 3), ("0.1:0.1:1", 0.1, 0.1, 1), ("3:1:5", 3, 1, 5),
          ("1e-3:1e3:7", 1e-3, 1e3, 7), ("0.2:3:8", 0.2, 3, 8), ("2:2:4", 2, 2, 4), ("0.7:0.71:2", 0.7, 0.71, 2),
          ("1:100:100", 1, 100, 100), ("5:6:11", 5, 6, 11), (".5:1.5:3", 0.5, 1.5, 3), ("1E0:2E0:2", 1, 2, 2),
          (" 1:2:3 ", 1, 2, 3), ("1:10000:10000", 1, 10000, 10000), ("0.25:4:16", 0.25, 4, 16)]
_LISTS = [("2", [2.0]), ("0.5,1,2", [0.5, 1, 2]), ("3,1", [3, 1]), ("1e-2", [0.01]), ("1,1,1", [1, 1, 1]),
          ("0.1, 0.2", [0.1, 0.2]), ("7.25", [7.25])]


@pytest.mark.parametrize("text, start, stop, num", _GRIDS, ids=[g[0] for g in _GRIDS])
def test_grid_grammar_against_linspace(text, start, stop, num):
    from giantstep.cli.options import parse_grid

    assert parse_grid(text) == pytest.approx(np.linspace(start, stop, num).tolist(), rel=1e-14, abs=1e-15)


@pytest.mark.parametrize("text, values", _LISTS, ids=[g[0] for g in _LISTS])
def test_list_grammar(text, values):
    from giantstep.cli.options import parse_grid

    assert parse_grid(text) == pytest.approx(values, rel=1e-15)


@pytest.mark.parametrize("text", ["1:2:10001", "0:1:3", "-1:1:3", "1:inf:2", "nan:1:2", "1,,2", "1;2", "1:2:3:4",
                                  "1:2:2.5", "0x10", "1,0"])
def test_grid_grammar_refusals(text):
    import argparse

    from giantstep.cli.options import parse_grid

    with pytest.raises(argparse.ArgumentTypeError):
        parse_grid(text)


def test_csv_validate_rows_are_the_report_points(capsys):
    argv = ["validate", "overlaps", "z1", "--activation", "relu", "--alpha", "1", "--eta", "1", "--d", "32",
            "--seeds", "2", "--workers", "1", "--no-progress"]
    main(argv + ["--csv"])
    rows = _csv(capsys)
    main(argv + ["--json"])
    pts = json.loads(capsys.readouterr().out)["points"]
    assert [r["quantity"] for r in rows] == [p["name"] for p in pts]
    assert [float(r["theory"]) for r in rows] == [p["theory"] for p in pts]
    assert {r["d"] for r in rows} == {"32"}


def test_csv_amp_thresholds_match_json(capsys):
    # z1² + sign(z1 z2 z3): one row per direction; the stage-1 threshold is the JSON's
    assert main(["amp", "z1**2 + sign(z1*z2*z3)", "--csv"]) == 0
    rows = _csv(capsys)
    assert [r["class"] for r in rows] == ["stage 1", "stage 2", "stage 2"]
    assert main(["amp", "z1**2 + sign(z1*z2*z3)", "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert float(rows[0]["alpha_c"]) == pytest.approx(js["stages"][0]["alpha_c"], rel=1e-12)
    assert [float(rows[0][f"v{k}"]) for k in (1, 2, 3)] == pytest.approx([1, 0, 0], abs=1e-12)
