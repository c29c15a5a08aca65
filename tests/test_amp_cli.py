"""``giantstep amp``: JSON keys, table, bad input (one line, exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from giantstep.cli import main


def test_json_keys(capsys):
    assert main(["amp", "z1**2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["trivial"] == [] and out["hard"] == []
    assert out["stages"][0]["alpha_c"] == pytest.approx(0.5, rel=1e-5)
    assert out["stages"][0]["directions"] == [[1.0]]
    assert "state_evolution" not in out


def test_state_evolution_json(capsys, tmp_path):
    png = tmp_path / "se.png"
    assert main(["amp", "z1**2", "--alpha", "0.3:0.9:3", "--json", "--plot", str(png)]) == 0
    out = json.loads(capsys.readouterr().out)
    se = out["state_evolution"]
    assert [p["alpha"] for p in se] == pytest.approx([0.3, 0.6, 0.9])
    assert se[0]["overlap"] == 0.0 and se[2]["overlap"] > 0.1
    assert png.stat().st_size > 0


def test_norm_of_four_directions(capsys):
    # radial target: |z|²/4 is injective in the norm, α_c = r/2 = 2 for all four directions
    assert main(["amp", "(z1**2+z2**2+z3**2+z4**2)/4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    st = out["stages"][0]
    assert abs(st["alpha_c"] - 2) <= st["error"] + 1e-12 and len(st["directions"]) == 4


def test_table(capsys):
    assert main(["amp", "sign(z1*z2*z3)"]) == 0
    out = capsys.readouterr().out
    assert out.count("hard") == 3


@pytest.mark.parametrize("args, msg", [
    (["z1**2", "--alpha", "0:1:3"], "α must be > 0"),
    (["z1**2", "--alpha=-1:1:3"], "α must be > 0"),
    (["z1**2", "--noise", "-0.5"], "Δ"),
    (["z1*z2*z3*z4"], "r ≤ 3"),
    (["sin(exp(z1))"], "cannot be integrated"),  # oscillates faster than the critical-point scan
    (["z1**2", "--alpha", "1:2"], "START:STOP:NUM"),
    (["__import__('os')"], ""),
])
def test_bad_input_one_line_exit_2(args, msg):
    p = subprocess.run([sys.executable, "-m", "giantstep", "amp", *args], capture_output=True, text=True)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr
    assert msg in lines[0]


def test_no_heavy_imports_at_module_top():
    code = ("import sys, giantstep.cli.amp_cmd; "
            "print(any(m in sys.modules for m in ('numba', 'scipy', 'matplotlib', 'sympy')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.stdout.strip() == "False"


def _run_json(*args):
    out = subprocess.run([sys.executable, "-m", "giantstep", "amp", *args, "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout), out.stderr


def test_state_evolution_validated_flag():
    """No silent numbers: points outside the region checked against finite-d GAMP
    (numerics.amp_state_evolution.SE_CHECKED, docs/amp.md §5) are flagged, point by point."""
    run = _run_json
    single, err1 = run("z1**2", "--noise", "0.1", "--alpha", "0.3:1:2")
    assert single["state_evolution_validated"] is True and "not validated" not in err1
    assert all(p["validated"] for p in single["state_evolution"])
    multi, err2 = run("z1*z2", "--noise", "0.25", "--alpha", "1:1.49:2")  # simulated: 1.4 and 2 α_c
    assert multi["state_evolution_validated"] is True and "not validated" not in err2
    beyond, err3 = run("z1*z2", "--noise", "0.25", "--alpha", "1.5:1.6:2")  # 1.6 > 2 α_c = 1.499
    assert [p["validated"] for p in beyond["state_evolution"]] == [False, False]
    assert beyond["state_evolution_validated"] is False and "2 α_c" in err3
    noiseless, err4 = run("z1**2", "--alpha", "1:2:2")  # Δ = 0: finite-d GAMP needs Δ > 0
    assert noiseless["state_evolution_validated"] is False and "not validated" in err4
    assert "Δ = 0" in noiseless["state_evolution"][0]["not_validated_because"]
    trivial, _ = run("z1 + z2**2", "--noise", "0.25", "--alpha", "1.5:1.5:1")
    assert trivial["state_evolution"][0]["validated"] is False


@pytest.mark.slow
def test_state_evolution_validated_flag_two_directions_noiseless():
    """The Δ = 0 flag on a two-direction curve (2.5 min and 6 GB: the Δ = 0 rule of r = 2
    re-solved on the finer check rule)."""
    noiseless, err4 = _run_json("z1*z2", "--alpha", "1:2:2")  # Δ = 0: finite-d GAMP needs Δ > 0
    assert noiseless["state_evolution_validated"] is False and "not validated" in err4
    assert "Δ = 0" in noiseless["state_evolution"][0]["not_validated_because"]
