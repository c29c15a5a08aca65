"""Regenerate every figure of the docs gallery: the command line's and the notebooks' (PNG).

Usage (from the repository root)::

    python notebooks/export_figures.py                  # everything into build/figures/ (CI sizes)
    python notebooks/export_figures.py --cli            # only the command-line figures (about 2 min)
    python notebooks/export_figures.py --notebooks 03   # only the notebooks whose names start so
    python notebooks/export_figures.py --scale 2        # larger notebook simulations (slower)
    python notebooks/export_figures.py --into-docs      # overwrite the tracked docs/figures/
    python notebooks/export_figures.py --save-executed out/   # also keep the executed .ipynb

The figures go to ``build/figures/`` (ignored by git) unless ``--into-docs`` is given:
the tracked figures of ``docs/figures/`` (shown by ``docs/gallery.md``) are replaced only
on request. Every command of :data:`CLI_FIGURES` writes ``cli_NAME.png``; every code cell
of a notebook that carries ``metadata["figure"] = NAME`` has its PNG output written to
``NAME.png``. The committed notebooks stay without outputs; the executed copies are
written only with ``--save-executed``.

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
BUILD = ROOT / "build" / "figures"

#: The figures of the command line: name -> arguments of ``giantstep`` (``--plot FILE`` is added).
CLI_FIGURES = {
    "thresholds": ["thresholds", "z1 + z1*z2*z3"],
    "error": ["error", "--student", "tanh", "--teacher", "tanh", "--alpha0", "2", "--eta", "1", "--lam", "0.01",
              "--alpha", "0.5:3:6"],
    "error_steps": ["error", "--student", "relu", "--readout", "sign", "--teacher", "z1 + z1*z2", "--alpha0", "1",
                    "--eta", "1.5", "--lam", "1", "--alpha", "1,2", "--steps", "3"],
    "overlaps": ["overlaps", "z1 + z1*z2", "--activation", "relu", "--alpha", "1", "--eta", "1.5", "--steps", "3"],
    "simulate": ["simulate", "z1 + z1*z2", "--activation", "relu", "--alpha", "1", "--eta", "1.5", "--steps", "3",
                 "--d", "256", "--seeds", "4", "--workers", "1"],
    "validate_error": ["validate", "error", "--student", "tanh", "--teacher", "tanh", "--alpha0", "2", "--eta", "1",
                       "--lam", "0.01", "--alpha", "0.5,1,2,3", "--d", "128,256", "--seeds", "12", "--workers", "1"],
    "amp": ["amp", "z1*z2", "--noise", "0.5", "--alpha", "0.2:2:10"],
}

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


def cli_figures(out: Path) -> int:
    """Run every command of :data:`CLI_FIGURES` with ``--plot out/cli_NAME.png``; the number failed."""
    import contextlib
    import io

    from giantstep.cli import main as giantstep

    failed = 0
    for name, argv in CLI_FIGURES.items():
        target = out / f"cli_{name}.png"
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the tables: only the figures are wanted here
            code = giantstep([*argv, "--plot", str(target), "--quiet"])
        ok = code in (0, 1) and target.exists()  # validate exits 1 on a disagreement: still a figure
        failed += not ok
        print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  "
              f"({time.perf_counter() - t0:.0f} s{'' if ok else ', FAILED'})", file=sys.stderr)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the figures of the command line and the notebooks "
                                     "into build/figures/ (docs/figures/ with --into-docs).")
    parser.add_argument("only", nargs="*", help="notebook name prefixes (default: all)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--cli", action="store_true", help="only the command-line figures")
    which.add_argument("--notebooks", action="store_true", help="only the notebooks' figures")
    parser.add_argument("--scale", type=int, default=1, help="GIANTSTEP_NOTEBOOK_SCALE (default 1 = CI sizes)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--into-docs", action="store_true",
                        help="write into the tracked docs/figures/ (default: build/figures/)")
    parser.add_argument("--save-executed", type=Path, default=None, metavar="DIR",
                        help="also write the executed notebooks to DIR")
    args = parser.parse_args(argv)
    out = FIGURES if args.into_docs else BUILD
    out.mkdir(parents=True, exist_ok=True)
    if args.cli or (not args.notebooks and not args.only):
        if cli_figures(out):
            return 1
        if args.cli:
            return 0
    paths = notebook_paths(args.only)
    if not paths:
        print("no notebook matches", args.only, file=sys.stderr)
        return 2
    for path in paths:
        nb, _, seconds = execute(path, scale=args.scale, timeout=args.timeout, summary=False)
        figs = figures(nb)
        for name, png in figs.items():
            target = out / f"{name}.png"
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
