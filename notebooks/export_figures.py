"""Execute the notebooks and export their figures to ``docs/figures/`` (PNG).

Usage (from the repository root)::

    python notebooks/export_figures.py                  # all notebooks, CI sizes (SCALE=1)
    python notebooks/export_figures.py --scale 2        # larger simulations (slower)
    python notebooks/export_figures.py 03 04            # only the notebooks whose names start so
    python notebooks/export_figures.py --save-executed out/   # also keep the executed .ipynb

Every code cell of a notebook that carries ``metadata["figure"] = NAME`` has its PNG
output written to ``docs/figures/NAME.png``. The committed notebooks stay without
outputs; the executed copies are written only with ``--save-executed``.

The notebooks read ``SCALE`` from the environment variable ``GIANTSTEP_NOTEBOOK_SCALE``;
this script sets it for the kernel. ``tests/test_notebooks.py`` uses :func:`execute`
from this file, so CI runs the notebooks exactly as this command does.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIGURES = ROOT / "docs" / "figures"

SUMMARY_CELL = "import json as _json\nprint('@@SUMMARY@@' + _json.dumps(SUMMARY, default=float))"


def notebook_paths(prefixes: list[str] | None = None) -> list[Path]:
    """The notebooks of ``notebooks/`` (optionally only those whose names start with a prefix)."""
    paths = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        paths = [p for p in paths if any(p.name.startswith(x) for x in prefixes)]
    return paths


def execute(path: Path, *, scale: int = 1, timeout: int = 600,
            summary: bool = True) -> tuple[nbformat.NotebookNode, dict | None, float]:
    """Run a notebook top to bottom in a fresh python3 kernel.

    Parameters
    ----------
    path : Path
        The ``.ipynb`` file (not modified).
    scale : int
        Value of ``GIANTSTEP_NOTEBOOK_SCALE`` in the kernel.
    timeout : int
        Seconds allowed per cell.
    summary : bool
        Append a cell that prints the notebook's ``SUMMARY`` dict and return it parsed.

    Returns
    -------
    (executed notebook, SUMMARY dict or None, wall-clock seconds)
    """
    nb = nbformat.read(path, as_version=4)
    if summary:
        nb.cells.append(nbformat.v4.new_code_cell(SUMMARY_CELL))
    # the kernel inherits this process's environment: set the scale and make sure figures are
    # rendered inline as PNG even if MPLBACKEND=Agg is set outside; restore both afterwards
    env = {"GIANTSTEP_NOTEBOOK_SCALE": str(int(scale)),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    t0 = time.perf_counter()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(HERE)}})
        client.execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - t0
    result = None
    if summary:
        last = nb.cells.pop()
        text = "".join(o.get("text", "") for o in last.outputs if o.get("output_type") == "stream")
        marker = text.rfind("@@SUMMARY@@")
        if marker >= 0:
            result = json.loads(text[marker + len("@@SUMMARY@@"):].strip().splitlines()[0])
    return nb, result, seconds


def figures(nb: nbformat.NotebookNode) -> dict[str, bytes]:
    """PNG bytes of every tagged figure cell: ``{name: png}`` (last PNG of the cell)."""
    out = {}
    for cell in nb.cells:
        name = cell.get("metadata", {}).get("figure")
        if cell.cell_type != "code" or not name:
            continue
        pngs = [o["data"]["image/png"] for o in cell.get("outputs", [])
                if o.get("output_type") in ("display_data", "execute_result") and "image/png" in o.get("data", {})]
        if pngs:
            out[name] = base64.b64decode(pngs[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute the notebooks and write their figures to docs/figures/.")
    parser.add_argument("only", nargs="*", help="notebook name prefixes (default: all)")
    parser.add_argument("--scale", type=int, default=1, help="GIANTSTEP_NOTEBOOK_SCALE (default 1 = CI sizes)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--out", type=Path, default=FIGURES, help="figure directory (default docs/figures)")
    parser.add_argument("--save-executed", type=Path, default=None, metavar="DIR",
                        help="also write the executed notebooks to DIR")
    args = parser.parse_args(argv)
    paths = notebook_paths(args.only)
    if not paths:
        print("no notebook matches", args.only, file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        nb, _, seconds = execute(path, scale=args.scale, timeout=args.timeout, summary=False)
        figs = figures(nb)
        for name, png in figs.items():
            target = args.out / f"{name}.png"
            target.write_bytes(png)
            print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}"
                  f"  ({len(png) / 1024:.0f} KB)")
        print(f"{path.name}: {len(figs)} figures in {seconds:.0f} s")
        if args.save_executed is not None:
            args.save_executed.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, args.save_executed / path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
