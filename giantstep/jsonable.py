"""One converter to JSON-ready Python values, shared by every layer.

numpy arrays and scalars become lists and Python numbers; NaN becomes ``None``
and ±inf the strings ``"inf"``/``"-inf"`` (JSON has neither); optionally floats
are rounded to a number of significant digits so that files written by
different runs compare byte for byte.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def to_jsonable(obj: Any, significant_digits: int | None = None) -> Any:
    """Recursively convert ``obj`` (dicts, lists, tuples, numpy values) to JSON-ready values."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, significant_digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, significant_digits) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), significant_digits)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        obj = float(obj)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
        if significant_digits is not None:
            return float(f"{obj:.{significant_digits}g}")
    return obj
