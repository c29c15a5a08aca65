"""Plain-text tables, shared by every layer (reports of validation, the command line)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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


class FrameMixin:
    """``to_frame()`` for every result object: its table as a pandas DataFrame.

    The table is built from the result's ``to_dict()`` (or ``to_list()``; one fact in one place): the
    per-point arrays of equal length (``alpha``, ``test_error``, …) become the columns; a
    result without such arrays gives one row per record of its first list of records
    (``points``, ``steps``, ``directions``, …). Every other scalar entry goes to
    ``frame.attrs``; a class may name the entry to tabulate in ``_frame_key``. pandas is an
    optional extra: ``pip install "giantstep[frame]"``.
    """

    def to_frame(self) -> Any:
        """The result's table as a :class:`pandas.DataFrame` (scalar parameters in ``.attrs``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(f"{type(self).__name__}.to_frame() needs pandas, an optional extra: "
                              'pip install "giantstep[frame]" (or use to_dict())') from None
        payload = self.to_dict() if hasattr(self, "to_dict") else {"points": self.to_list()}
        return frame_from_dict(payload, pd, getattr(self, "_frame_key", None))


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def frame_from_dict(payload: dict, pd: Any, key: str | None = None) -> Any:
    """A DataFrame from a ``to_dict()`` payload (see :class:`FrameMixin` for the rule).

    Rows, in order of preference: ``payload[key]`` when ``key`` is given (a dict of equal-length
    lists or a list of records); the top-level lists of scalars of the length shared by the most
    of them (ties: the longer); the first list of records; the lists of scalars one dict down.
    Notes and every scalar (top level or one dict down, as ``"params.lam"``) go to ``attrs``.
    """
    from giantstep.jsonable import to_jsonable

    d = to_jsonable(payload)
    flat: dict[str, Any] = {}
    for k, v in d.items():
        flat.update({f"{k}.{kk}": vv for kk, vv in v.items()} if isinstance(v, dict) else {k: v})
    attrs = {k: v for k, v in flat.items() if _is_scalar(v)}
    attrs.update({k: "; ".join(map(str, v)) for k, v in flat.items() if k.split(".")[-1] == "notes" and v})
    frame = _rows(d[key] if key is not None else d, pd)
    if frame is None:
        frame = _rows({k: v for k, v in flat.items() if "." in k}, pd)
    if frame is None:
        frame = pd.DataFrame([attrs])
    frame.attrs.update(attrs)
    return frame


def _rows(d: Any, pd: Any) -> Any:
    """Columns from equal-length scalar lists of ``d``, else its first list of records, else None."""
    if isinstance(d, list):
        d = {"records": d}
    arrays = {k: v for k, v in d.items() if isinstance(v, list) and v and k.split(".")[-1] != "notes"
              and all(_is_scalar(x) for x in v)}
    lengths = [len(v) for v in arrays.values()]
    if lengths:
        n = max(set(lengths), key=lambda m: (lengths.count(m), m))
        return pd.DataFrame({k: v for k, v in arrays.items() if len(v) == n})
    records = next((v for v in d.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)),
                   None)
    if records is None:
        return None
    return pd.DataFrame([{k: (v if _is_scalar(v) else str(v)) for k, v in r.items()} for r in records])
