"""Helpers shared by the sub-commands: JSON output, terminal tables, figures."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any


def _clean(obj: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats to JSON-friendly values."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if np is not None:
        if isinstance(obj, np.ndarray):
            return _clean(obj.tolist())
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            obj = float(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def print_json(payload: dict) -> None:
    """Print ``payload`` as JSON on stdout (numpy values converted)."""
    json.dump(_clean(payload), sys.stdout, indent=2)
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
