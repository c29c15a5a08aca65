"""The README's story holds: one giant step beats the lazy regime, more steps learn more.

Commands are read from README.md; each claim is checked against facts computed here
(Var(y) by quadrature or by hand, the staircase of docs/model.md §3), not against printed numbers.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from giantstep.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _command(pattern: str) -> list[str]:
    line = next(m for m in re.findall(r"^\$ (giantstep .*)$", README, re.M) if re.search(pattern, m))
    return shlex.split(line)[1:]


def _var_tanh() -> float:
    # Var(tanh(ξ)) = E[tanh(ξ)²], ξ ~ N(0, 1) (odd: mean 0), by 80-node Gauss–Hermite
    x, w = np.polynomial.hermite_e.hermegauss(80)
    return float(np.sum(w * np.tanh(x) ** 2) / np.sqrt(2 * np.pi))


def test_one_step_beats_the_lazy_curve(capsys):
    argv = _command(r"^giantstep error --student tanh --teacher tanh ")
    assert main(argv + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    step, lazy = np.array(out["test_error"]), np.array(out["lazy_test_error"])
    var_y = _var_tanh()
    assert 0.39 < var_y < 0.40
    assert np.all(step < lazy) and np.all(step < var_y) and np.all(out["validated"])
    # "visibly": from α = 1.5 on, the step's error is below 0.6 × the lazy one
    alpha = np.array(out["alpha"])
    assert np.all(step[alpha >= 1.5] < 0.6 * lazy[alpha >= 1.5])


def test_leap_and_thresholds_examples_match_the_hand_analysis(capsys):
    assert main(_command(r"^giantstep leap ") + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # z1 + z1 z2 z3: C1 = e1 (information exponent 1), then z2, z3 together (leap 2)
    assert out["information_exponent"] == 1 and out["leap_index"] == 2


@pytest.mark.parametrize("reduced", [
    pytest.param([], marks=pytest.mark.slow, id="as-written"),  # about 45 s under load
    pytest.param(["--spectrum-draws", "1", "--d", "400"], id="reduced"),  # one sampled trajectory, 7 s
])
def test_more_steps_learn_more_directions(reduced, capsys):
    """The several-step example: refit ≤ frozen, errors fall step by step and stay below
    Var(z1 + z1 z2) = 1 + 1 = 2."""
    argv = _command(r"--steps ")
    assert main(argv + reduced + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    lazy = out["lazy_test_error"][0]
    errs = [lazy] + [s["test_error"][0] for s in out["steps"]]
    assert all(a > b for a, b in zip(errs, errs[1:])) and max(errs) < 2.0
    assert all(s["test_error"][0] <= np.ravel(s["frozen_error"])[0] for s in out["steps"])
    assert all(all(s["validated"]) for s in out["steps"])


def test_the_second_direction_is_learned_from_the_second_step(capsys):
    """The overlaps quoted for the several-step example: z2 has overlap 0 after step 1 (one step
    learns only Im C1 = span e1) and a growing one after steps 2 and 3 (docs/model.md §3 staircase)."""
    m = re.search(r"`(giantstep overlaps \"z1 \+ z1\*z2\" [^`]*)`", README.replace("\n", " "))
    argv = shlex.split(m.group(1))[1:]
    assert main(argv + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    z2 = [abs(st["types"][0]["overlap"][1]) for st in out["steps"]]
    assert z2[0] == 0 and z2[1] < 1e-6 and 0 < z2[2] < z2[3]
