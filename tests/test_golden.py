"""The public API gives the recorded outputs (tests/golden/golden.json) to 1e-10 relative.

The cases and the comparison are in ``tests/golden/record.py``; a change that moves a
recorded value on purpose regenerates the file with that script in the same commit.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location("golden_record", Path(__file__).parent / "golden" / "record.py")
record = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(record)

EXPECTED = json.loads(record.GOLDEN.read_text())


def test_every_case_is_recorded():
    assert sorted(EXPECTED) == sorted(record.CASES)
    assert len(EXPECTED) >= 40


@pytest.mark.parametrize("name", sorted(record.CASES))
def test_golden_case(name):
    got = record.flatten(record.CASES[name]())
    assert got, f"{name}: no numbers in the result"
    bad = record.differences(EXPECTED[name], got)
    assert not bad, f"{name} moved:\n" + "\n".join(bad[:20])


def test_comparison_detects_a_change():
    name = "one/tanh-tanh/limit"
    moved = {k: list(v) for k, v in EXPECTED[name].items()}
    path = next(k for k in moved if k.endswith("test_error"))
    moved[path] = [float(v) * (1 + 1e-9) for v in moved[path]]
    assert record.differences(EXPECTED[name], moved) == [f"{path}: max relative difference 1e-09"]
