"""Packaging: one import namespace, one-way data flow, console script."""

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_py(code: str, cwd) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_no_generic_top_level_modules(tmp_path):
    out = run_py(
        "import importlib.util as u; print([u.find_spec(n) is None for n in ('theory', 'numerics', 'validation')])",
        tmp_path,
    )
    assert out.strip() == "[True, True, True]"


def test_theory_imports_neither_numerics_nor_numba(tmp_path):
    out = run_py(
        "import sys, giantstep.theory, giantstep.theory.structure.subspaces, giantstep.theory.structure.thresholds;"
        "bad = ('giantstep.numerics', 'giantstep.validation', 'numba');"
        "print(sorted(m for m in sys.modules if m.startswith(bad)))",
        tmp_path,
    )
    assert out.strip() == "[]"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = "." * node.level
            names.add(prefix + (node.module or ""))
    return names


def test_layers_import_only_downstream():
    """theory/ imports neither numerics nor validation; numerics/ does not import validation."""
    for path in (ROOT / "theory").glob("*.py"):
        for name in _imported_modules(path):
            assert not name.startswith(("giantstep.numerics", "giantstep.validation", "..numerics", "..validation")), (
                path, name)
    for path in (ROOT / "numerics").glob("*.py"):
        for name in _imported_modules(path):
            assert not name.startswith(("giantstep.validation", "..validation")), (path, name)
    # nothing below the command line imports it (function-local imports included)
    for layer in ("theory", "numerics", "validation"):
        for path in (ROOT / layer).glob("*.py"):
            for name in _imported_modules(path):
                assert not name.startswith(("giantstep.cli", "..cli")), (path, name)


def test_wheel_contains_only_the_giantstep_namespace(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("giantstep-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert all(t == "giantstep" or t.endswith(".dist-info") for t in tops), tops
    for sub in ("theory", "numerics", "validation", "cli"):
        assert any(n.startswith(f"giantstep/{sub}/") for n in names), sub


def test_console_script_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "giantstep", "leap", "z1*z2", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0
    assert '"leap_index": 2' in proc.stdout


def test_readme_example_output_is_current(capsys):
    """The README's first-screen command prints what the README shows (``...``: lines left out)."""
    import doctest

    from giantstep.cli import main

    readme = (ROOT / "README.md").read_text()
    command = readme.split("python -m pytest")[1].split("giantstep leap ")[1].split("  ")[0].strip()
    shown = readme.split(f"$ giantstep leap {command}\n")[1].split("```")[0]
    assert main(["leap", command.strip('"')]) == 0
    out = capsys.readouterr().out
    assert doctest.OutputChecker().check_output(shown, out, doctest.ELLIPSIS), out
