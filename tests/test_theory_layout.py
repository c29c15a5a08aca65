"""The layout rules of the theory layer (docs/developer.md), read from the source with ``ast``.

* the theory layer imports nothing from the numerics, validation or command-line layers;
* inside theory/ the order is gauss → expr → structure → amp: ``gauss`` imports nothing
  else from theory/, ``expr`` only ``gauss`` (plus one lazy import of
  ``structure.hermite_tensor`` by ``Target.expansion``, documented in docs/developer.md);
* no module imports a private name (``_x``) from a module of another subpackage.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "theory"
MODULES = sorted(p for p in THEORY.rglob("*.py"))

# cross-subpackage private imports (none)
KNOWN_PRIVATE: set = set()
# lazy upward imports allowed inside theory/ (module, imported module)
ALLOWED_UPWARD = {
    ("theory/expr/target.py", "giantstep.theory.structure.hermite_tensor"),  # Target.expansion
    ("theory/structure/thresholds.py", "giantstep.theory.amp"),  # the algorithm table's AMP rows
}
ORDER = {"gauss": 0, "expr": 1, "structure": 2, "": 3}  # "" = theory/amp.py, theory/amp_channel.py


def _package_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = ["giantstep", *rel.parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts)
    return ".".join(parts[:-1])


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) for every import statement of the file."""
    tree = ast.parse(path.read_text(), str(path))
    package = _package_of(path)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


def _subpackage(module: str) -> str | None:
    """gauss / expr / structure / "" (top of theory) for a giantstep.theory module, else None."""
    if not module.startswith("giantstep.theory"):
        return None
    parts = module.split(".")
    return parts[2] if len(parts) > 3 else ""


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_theory_imports_no_later_layer(path):
    for module, _ in _imports(path):
        for layer in ("giantstep.numerics", "giantstep.validation", "giantstep.cli"):
            assert not module.startswith(layer), f"{path.relative_to(ROOT)} imports {module}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_theory_subpackage_order(path):
    rel = str(path.relative_to(ROOT))
    own = _subpackage(_package_of(path) + ".x")
    if path.parent == THEORY:
        return  # theory/__init__.py re-exports; amp modules sit on top
    for module, _ in _imports(path):
        other = _subpackage(module)
        if other is None or (rel, module) in ALLOWED_UPWARD:
            continue
        assert ORDER[other] <= ORDER[own], f"{rel} ({own}) imports {module} ({other or 'theory top'})"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_import_across_subpackages(path):
    rel = str(path.relative_to(ROOT))
    own = _package_of(path)
    for module, names in _imports(path):
        if not module.startswith("giantstep."):
            continue
        target_package = module.rsplit(".", 1)[0]
        if target_package == own or module == own:
            continue
        for name in names:
            if name.startswith("_") and (rel, module, name) not in KNOWN_PRIVATE:
                pytest.fail(f"{rel} imports the private name {name} from {module}")


def test_known_exceptions_still_exist():
    # an exception that no longer occurs must leave the list
    for rel, module, name in KNOWN_PRIVATE:
        assert any(m == module and name in names for m, names in _imports(ROOT / rel)), (rel, module, name)
    for rel, module in ALLOWED_UPWARD:
        assert any(m == module for m, _ in _imports(ROOT / rel)), (rel, module)
