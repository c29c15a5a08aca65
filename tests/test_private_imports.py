"""No library module imports a private name (``_x``) from a module outside its own package.

A module may use the private helpers of the modules in its own (sub)package; across packages
only public names are imported. The library's modules are read with :mod:`ast` (nothing is
imported), relative imports are resolved against the module's package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# source folder -> dotted package it is installed as (pyproject.toml [tool.setuptools])
PACKAGES = {"giantstep": "giantstep", "theory": "giantstep.theory", "numerics": "giantstep.numerics",
            "validation": "giantstep.validation"}


def library_modules() -> list[tuple[str, Path]]:
    """``(dotted module name, path)`` of every library module."""
    out = []
    for folder, dotted in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((dotted, *rel))
            out.append((name.removesuffix(".__init__"), path))
    return out


def _plain_modules() -> set[str]:
    return {name for name, path in library_modules() if path.name != "__init__.py"}


def _package(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _show(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _allowed(item: str, package: str) -> bool:
    """``item`` (a dotted path with a private part) belongs to ``package``: a private module
    of the package, or a private name of one of the package's public modules."""
    parts = item.split(".")
    first = next(i for i, p in enumerate(parts) if _private(p))
    prefix = ".".join(parts[:first])
    return prefix == package or (prefix.rpartition(".")[0] == package and prefix in PLAIN_MODULES)


def private_imports(module: str, path: Path) -> list[str]:
    """The private names ``module`` imports from outside its own package, as readable lines."""
    package = _package(module, path)
    items = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            items += [(node.lineno, f"{source}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Import):
            items += [(node.lineno, alias.name) for alias in node.names]
    return [f"{_show(path)}:{line} imports {item}" for line, item in items
            if any(_private(p) for p in item.split(".")) and not _allowed(item, package)]


PLAIN_MODULES = _plain_modules()


def test_the_library_is_found():
    names = [m for m, _ in library_modules()]
    assert "giantstep.numerics.test_error.curves.one_step" in names
    assert len(names) > 50


@pytest.mark.parametrize("module,path", library_modules(), ids=lambda v: v if isinstance(v, str) else "")
def test_no_private_import_across_packages(module, path):
    bad = private_imports(module, path)
    assert not bad, "private names imported across packages:\n" + "\n".join(bad)


def test_the_check_sees_a_private_import(tmp_path):
    """The rule on hand-written cases: across packages fails, inside the package passes."""
    src = tmp_path / "mod.py"
    src.write_text("from giantstep.numerics.gaussian import _x\nfrom ._own import y\nfrom .sib import _z\n"
                   "from ..other import _w\nimport giantstep.numerics._hidden\n")
    PLAIN_MODULES.update({"giantstep.numerics.overlaps.sib", "giantstep.numerics.other"})
    bad = private_imports("giantstep.numerics.overlaps.mod", src)
    assert [line.split(" imports ")[1] for line in bad] == [
        "giantstep.numerics.gaussian._x", "giantstep.numerics.other._w", "giantstep.numerics._hidden"]
