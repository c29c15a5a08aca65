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
