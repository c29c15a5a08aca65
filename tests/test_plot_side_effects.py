"""Library plotting uses the figure API and never switches matplotlib's back end."""

from __future__ import annotations

import subprocess
import sys

_CODE = """
import matplotlib
matplotlib.use("svg")                       # a user's choice, e.g. a notebook's inline back end
import giantstep as gs
from giantstep.numerics import preprocessed_overlaps
figs = [gs.overlap_trajectory("z1", "relu", alpha=2.0, eta=1.0, steps=2, readout="sign").plot(),
        preprocessed_overlaps("He2(z1)", "relu", alpha=2.0, eta=1.0, ell=2, readout="sign").plot(p=50)]
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
assert all(isinstance(f, Figure) for f in figs)
print(matplotlib.get_backend(), len(plt.get_fignums()))
"""


def test_plots_keep_the_users_backend_and_leave_no_pyplot_figures():
    out = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["svg", "0"]
