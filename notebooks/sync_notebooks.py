"""Generate the notebooks ``NN_name.ipynb`` from their jupytext sources ``NN_name.py``.

The sources are jupytext *percent* scripts (``# %%`` code cells, ``# %% [markdown]``
text cells, a cell's metadata in its header, e.g. ``# %% figure="02_stairway_one_step"``
for the figures that ``export_figures.py`` writes to ``docs/figures/``). They are
what a person edits and what ruff lints; the ``.ipynb`` files are derived: no outputs,
deterministic cell ids, so that the committed copies are exactly what this script writes.

Usage (from the repository root)::

    python notebooks/sync_notebooks.py            # write every .ipynb from its .py
    python notebooks/sync_notebooks.py --check    # exit 1 if a committed .ipynb is stale

(``jupytext --sync notebooks/*.py`` pairs them the same way, apart from the cell ids.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def sources() -> list[Path]:
    """The notebook sources ``NN_*.py`` of this folder, in order."""
    return sorted(HERE.glob("[0-9][0-9]_*.py"))


def notebook(source: Path) -> nbformat.NotebookNode:
    """The output-free notebook of a percent script, with cell ids ``nbNN-CC``."""
    nb = jupytext.read(source, fmt="py:percent")
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    stem = source.stem[:2]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"nb{stem}-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    return nb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check that the .ipynb files are current")
    args = ap.parse_args(argv)
    stale = []
    for src in sources():
        text = nbformat.writes(notebook(src)) + "\n"
        target = src.with_suffix(".ipynb")
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(target.name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}")
    if stale:
        print(f"stale: {', '.join(stale)} (run python notebooks/sync_notebooks.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
