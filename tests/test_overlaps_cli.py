"""``giantstep overlaps`` (CLI): JSON schema, agreement with §5.1 at --steps 1, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from giantstep.cli import main
from giantstep.numerics import one_step_overlaps


def test_steps_one_matches_closed_form(capsys):
    g = "tanh(2*z1) + 0.5*z2**2"
    code = main(["overlaps", g, "--activation", "relu", "--readout", "sign", "--alpha", "1.5",
                 "--eta", "2", "--steps", "1", "--noise", "0.1", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    cf = one_step_overlaps(g, "relu", alpha=1.5, eta=2, readout="sign", noise=0.1)
    step1 = [s for s in out["steps"] if s["step"] == 1][0]
    for t, c in zip(step1["types"], cf.types):
        assert t["s"] == c.s and abs(t["weight"] - c.weight) < 1e-15
        assert np.allclose(t["overlap"], c.overlap, atol=1e-6)
        assert abs(t["norm2"] - c.norm2) < 1e-6
        assert abs(t["cosine"] - c.cosine) < 1e-6
    assert "latent_dim" in step1


def test_table_and_plot(capsys, tmp_path):
    png = tmp_path / "o.png"
    code = main(["overlaps", "z1 + z1*z2", "--activation", "tanh", "--readout", "gaussian",
                 "--types", "4", "--alpha", "1", "--eta", "1", "--steps", "2", "--normalize",
                 "--plot", str(png)])
    assert code == 0
    out = capsys.readouterr().out
    assert "overlap z2" in out and "cosine" in out
    assert png.exists() and png.stat().st_size > 1000


@pytest.mark.parametrize(
    "args",
    [["--alpha", "0", "--eta", "1", "--steps", "2"],
     ["--alpha", "1", "--eta", "-1", "--steps", "2"],
     ["--alpha", "1", "--eta", "1", "--steps", "0"],
     ["--alpha", "1", "--eta", "1", "--steps", "2", "--readout", "gaussian", "--types", "0"]],
)
def test_bad_parameters_exit_2(args, capsys):
    code = main(["overlaps", "z1", "--activation", "relu"] + args)
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]


def test_bad_target_exit_2(capsys):
    assert main(["overlaps", "exp(z1**2)", "--activation", "relu", "--alpha", "1", "--eta", "1",
                 "--steps", "1"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
