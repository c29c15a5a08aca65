"""Helpers shared by the sub-commands: JSON output, terminal tables, figures."""

from __future__ import annotations

import json
import sys
from typing import Any

from giantstep.tables import format_table  # noqa: F401  (re-exported for the commands)


def print_json(payload: dict) -> None:
    """Print ``payload`` as JSON on stdout (numpy values converted)."""
    from giantstep.jsonable import to_jsonable  # numpy: not needed by --help

    json.dump(to_jsonable(payload), sys.stdout, indent=2)
    sys.stdout.write("\n")


def save_figure(fig: Any, path: str) -> None:
    """Save a matplotlib figure and say where it went (on stderr)."""
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"figure written to {path}", file=sys.stderr)


def add_csv(parser: Any) -> None:
    """Add ``--csv``: the command's main table as CSV on stdout (header row first)."""
    parser.add_argument("--csv", action="store_true",
                        help="print the main table as CSV on stdout instead of the text output "
                        "(warnings stay on stderr)")


def print_csv(headers: list[str], rows: list[list[Any]]) -> None:
    """Print ``headers`` and ``rows`` as CSV on stdout (floats with full precision)."""
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([repr(float(v)) if isinstance(v, float) else v for v in row])
