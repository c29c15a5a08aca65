"""The notebooks of ``notebooks/`` run top to bottom at their shipped sizes.

Each notebook is executed once (nbclient, kernel ``python3``, a per-cell timeout)
with the same code as ``notebooks/export_figures.py``; its ``SUMMARY`` dict is read
back and compared with expectations derived by hand from docs/model.md (leap indices,
Hermite energies, plateaus) or recorded there (overlaps, test errors seen in
simulations), and with the qualitative ordering the paper's story rests on.
Also checked: the committed notebooks carry no outputs, they are exactly what
``notebooks/sync_notebooks.py`` generates from the jupytext sources ``notebooks/NN_*.py``
(which ruff lints with the rest of the tree), and they only use the public API.
"""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 600  # seconds per cell (the notebooks take < 2 min each on 2 idle cores)
NAMES = ["01_leap_index", "02_stairway", "03_staircase_overlaps", "04_one_step_learning_curves"]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_nb_{name}", NOTEBOOKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


export = _load("export_figures")
sync = _load("sync_notebooks")

_CACHE: dict[str, tuple[dict, float]] = {}


def summary(name: str) -> dict:
    """Execute a notebook once per session and return its SUMMARY."""
    if name not in _CACHE:
        _, result, seconds = export.execute(NOTEBOOKS / f"{name}.ipynb", scale=1, timeout=CELL_TIMEOUT)
        assert result is not None, f"{name}: no SUMMARY printed"
        _CACHE[name] = (result, seconds)
    return _CACHE[name][0]


# --------------------------------------------------------------------------- static checks


def test_every_notebook_is_listed():
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_has_no_outputs(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: outputs not stripped"


def test_notebooks_are_generated_from_their_sources():
    assert [p.stem for p in sync.sources()] == NAMES
    assert sync.main(["--check"]) == 0, "run python notebooks/sync_notebooks.py"


@pytest.mark.parametrize("name", NAMES)
def test_only_the_public_api(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    src = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    imports = re.findall(r"^[ \t]*(?:from|import)[ \t]+giantstep\S*.*$", src, flags=re.M)
    assert imports == ["import giantstep as gs"], imports
    assert not re.search(r"\bgs\._", src), "private names used"
    assert "SCALE" in nb.cells[1].source, "the size knob must be at the top"


@pytest.mark.parametrize("name", NAMES)
def test_figures_are_tagged(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    tags = [c.metadata.get("figure") for c in nb.cells if c.metadata.get("figure")]
    assert tags and all(t.startswith(name[:2] + "_") for t in tags)


# --------------------------------------------------------------------------- 01: theory gallery

# (k*, leap, staircase dims) derived by hand (docs/model.md §3 examples and the same reasoning)
GALLERY = {
    "z1": (1, 1, [1]),
    "He2(z1)/sqrt(2)": (2, 2, []),
    "He3(z1)/sqrt(6)": (3, 3, []),
    "He4(z1)/sqrt(24)": (4, 4, []),
    "relu(z1)": (1, 1, [1]),
    "z1 + z1*z2": (1, 1, [1, 2]),
    "z1 + z1*z2 + z1*z2*z3": (1, 1, [1, 2, 3]),
    "(z1 + z1**2)/2 + (z2 - z2**2)/2": (1, 1, [1, 2]),
    "z1*z2": (2, 2, []),
    "z1 + z1*z2*z3": (1, 2, [1]),
    "He3(z1) + z1*z2": (2, 2, []),
    "z1*z2*z3": (3, 3, []),
}


def test_01_gallery_leaps():
    s = summary("01_leap_index")
    assert set(s["gallery"]) == set(GALLERY)
    for expr, (kstar, leap, dims) in GALLERY.items():
        got = s["gallery"][expr]
        assert (got["k_star"], got["leap"], got["staircase_dims"]) == (kstar, leap, dims), expr


def test_01_energies():
    e = summary("01_leap_index")["energies"]
    two_pi = 2 * math.pi
    # relu: μ0² = 1/(2π), μ1² = 1/4, μ2²/2 = 1/(4π), μ3 = 0, μ4²/24 = 1/(48π)
    assert e["relu(z1)"][:5] == pytest.approx([1 / two_pi, 0.25, 1 / (2 * two_pi), 0.0, 1 / (24 * two_pi)],
                                              abs=1e-12)
    assert e["He3(z1) + z1*z2"][:4] == pytest.approx([0, 0, 1, 6], abs=1e-12)  # E[He3²] = 3! = 6
    assert e["(z1 + z1**2)/2 + (z2 - z2**2)/2"][:3] == pytest.approx([0, 0.5, 1.0], abs=1e-12)
    for k in (2, 3, 4):
        normalised = {2: "He2(z1)/sqrt(2)", 3: "He3(z1)/sqrt(6)", 4: "He4(z1)/sqrt(24)"}[k]
        assert e[normalised][k] == pytest.approx(1.0, abs=1e-12)


def test_01_rotations_and_activation_aware():
    s = summary("01_leap_index")
    for expr, r in s["rotated"].items():
        for key in ("k_star", "leap", "staircase_dims", "leaps"):
            assert r[key][0] == r[key][1], (expr, key, r[key])
        assert r["projector_error"] < 1e-8, expr
    assert s["rotated"]["z1*z2 + He3(z3)"]["leaps"][0] == [2, 3]
    aw = s["activation_aware"]
    assert aw["z1 + z1*z2 | tanh"] == {"leap": None, "generic": 1, "staircase_dims": [1]}
    assert aw["z1 + z1*z2 | relu"] == {"leap": 1, "generic": 1, "staircase_dims": [1, 2]}
    assert aw["z1*z2 | tanh"]["leap"] is None  # odd student: μ2 = 0 at every scale


# --------------------------------------------------------------------------- 02: stairway

def test_02_plateaus_by_hand_and_simulated_ordering():
    s = summary("02_stairway")
    h, st = s["hermite"], s["staircase"]
    # g = (h(z1)+h(z2))/2, h = He4/24 + He2/2 + He1: energies 1/2 (k=1), 1/4 (k=2), 1/48 (k=4)
    full = 0.5 + 0.25 + 1 / 48
    restricted4 = (0.5 * 0.25 * 2) ** 2 / 24  # ‖C4[u,u,u,u]‖²/4!, u = (e1+e2)/√2
    # plateaus at κ = 0.5, 1.5, 2.0
    assert h["plateaus"]["random_features"] == pytest.approx([full, 0.25 + 1 / 48, 1 / 48], abs=1e-9)
    assert h["plateaus"]["one_step"] == pytest.approx([full, 0.1432, 1 / 48 - restricted4], abs=1e-4)
    assert h["plateaus"]["one_step_preprocessed"] == pytest.approx([full, 0.1432, 0.0], abs=1e-4)
    # staircase target: energies 1/2 (k=1) and 1 (k=2); several steps learn both at κ ≥ 1
    assert st["plateaus"]["random_features"] == pytest.approx([1.5, 1.0, 0.0], abs=1e-9)
    assert st["plateaus"]["one_step"] == pytest.approx([1.5, 1.0, 0.0], abs=1e-9)
    assert st["plateaus"]["multi_step"] == pytest.approx([1.5, 0.0, 0.0], abs=1e-9)

    # simulations: the ordering of the story at the largest κ
    hs = h["simulation"]
    assert hs["one_step_preprocessed"][-1] < hs["one_step"][-1] < hs["random_features"][-1]
    i = h["kappa"].index(1.5)
    assert hs["one_step"][i] < hs["random_features"][i]
    ss = st["simulation"]
    for kap in (1.5, 1.75):
        i = st["kappa"].index(kap)
        assert ss["multi_step"][i] < ss["one_step"][i] < ss["random_features"][i]
    # every simulated error is finite; from κ = 1 on (n ≥ d) it is below twice the total variance
    # (with n < d samples several giant steps of size η = 3p may overshoot: not a prediction)
    for sims, total in ((hs, full), (ss, 1.5)):
        for v in sims.values():
            assert all(np.isfinite(x) and x > 0 for x in v)
            assert all(x < 2 * total for x, kap in zip(v, h["kappa"]) if kap >= 1)


def test_02_stairway_sharpens_with_d():
    """The finite-size sequence: errors approach the plateaus from above as d grows."""
    fs = summary("02_stairway")["finite_size"]
    assert fs["ds"] == [64, 128]  # the shipped size; the docs figure goes to d = 512
    assert fs["float32_unresolved"] == []
    err, plateau = np.array(fs["error"]), np.array(fs["plateau"])
    kap = fs["kappa"]
    inside = [kap.index(k) for k in (1.5, 2.25)]
    gaps = err[:, inside] - plateau[inside]
    assert np.all(gaps > 0)  # finite d is above the d → ∞ plateau
    assert gaps[-1].mean() < gaps[0].mean()  # and closer to it at the larger d
    assert set(fs["fits"]) == {"1.5", "2.25"}
    assert all(f["exponent"] > 0 for f in fs["fits"].values())


# --------------------------------------------------------------------------- 03: overlaps

def test_03_overlaps_equations_and_simulation():
    s = summary("03_staircase_overlaps")["last_step"]
    stair = s["staircase"]
    # docs/model.md §5.3 records m₊ = (1.746, 0.349) from the equations (relu, sign, α = 2, η̃ = 2, step 4)
    assert stair["theory"][0] == pytest.approx([1.746, 0.349], abs=0.01)
    # the s = −1 type is the mirror image with the roles of the two directions swapped
    assert stair["theory"][1] == pytest.approx([-0.349, -1.746], abs=0.01)
    for t in range(2):
        for i in range(2):
            assert abs(stair["simulation"][t][i] - stair["theory"][t][i]) < 0.15
    stuck = s["stuck on z1 (leap 2)"]
    for t in range(2):
        assert abs(stuck["theory"][t][1]) < 1e-6 and abs(stuck["theory"][t][2]) < 1e-6
        assert abs(stuck["simulation"][t][1]) < 0.1 and abs(stuck["simulation"][t][2]) < 0.1
        assert abs(stuck["simulation"][t][0]) > 1.5
    tanh = s["odd activation: tanh cannot climb"]
    relu = s["same target, relu climbs"]
    for t in range(2):
        assert abs(tanh["theory"][t][1]) < 1e-6
        assert abs(tanh["simulation"][t][1]) < 0.15
        assert relu["theory"][t][1] > 0.8 and relu["simulation"][t][1] > 0.8
    # squared norms: equations vs simulation within 10 %
    for case in s.values():
        for a, b in zip(case["norm2_theory"], case["norm2_simulation"]):
            assert b == pytest.approx(a, rel=0.1)


# --------------------------------------------------------------------------- 04: learning curves

def test_04_learning_curves():
    s = summary("04_one_step_learning_curves")["curves"]
    tt = s["tanh student, tanh teacher"]
    # docs/model.md §6.1: E_g = 0.285 (α = 0.2) and 0.207 (α = 1.6) for this configuration
    assert tt["theory"][0] == pytest.approx(0.285, abs=0.004)
    assert tt["theory"][tt["alpha"].index(1.6)] == pytest.approx(0.207, abs=0.004)
    for name, c in s.items():
        for key in ("theory", "lazy_theory"):
            sim = c["simulation" if key == "theory" else "lazy_simulation"]
            for a, b in zip(c[key], sim):
                assert abs(a - b) < 0.035, (name, key, a, b)
        # the giant step beats the lazy baseline, in theory and in simulation
        assert all(a < b for a, b in zip(c["theory"], c["lazy_theory"]))
        assert all(a < b for a, b in zip(c["simulation"], c["lazy_simulation"]))
