"""No library function is longer than 100 lines of code (its docstring excluded)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("giantstep", "theory", "numerics", "validation")
MAX_LINES = 100


def body_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the function's last line."""
    body = fn.body
    first = body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
        and isinstance(first.value.value, str)
    if has_doc and len(body) == 1:
        return 0
    start = body[1].lineno if has_doc else first.lineno
    return fn.end_lineno - start + 1


def test_body_lines_by_hand():
    src = 'def f():\n    """doc\n    more"""\n    a = 1\n    return a\n'
    assert body_lines(ast.parse(src).body[0]) == 2
    assert body_lines(ast.parse("def g():\n    pass\n").body[0]) == 1


@pytest.mark.parametrize("package", LIBRARY)
def test_no_function_longer_than_the_limit(package):
    long = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and body_lines(node) > MAX_LINES:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({body_lines(node)} lines)")
    assert not long, "\n".join(long)
