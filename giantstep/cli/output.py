"""Helpers shared by the sub-commands: JSON output, terminal tables, figures."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any


def print_json(payload: dict) -> None:
    """Print ``payload`` as JSON on stdout (numpy values converted)."""
    from giantstep.jsonable import to_jsonable  # numpy: not needed by --help

    json.dump(to_jsonable(payload), sys.stdout, indent=2)
    sys.stdout.write("\n")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Return a plain-text table with aligned columns."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def save_figure(fig: Any, path: str) -> None:
    """Save a matplotlib figure and say where it went (on stderr)."""
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"figure written to {path}", file=sys.stderr)
