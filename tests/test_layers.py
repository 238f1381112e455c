"""Layers point down: each package of iaxsim imports only the packages below it (no cycles).

Every ``import``/``from … import`` in the package's source is read with :mod:`ast`, including the
imports inside functions, so a lazy import cannot hide an upward dependency.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "iaxsim"

#: package -> the iaxsim packages it may import. Leaves first; each layer may use those listed.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "files": set(),
    "collector": set(),
    "theory": {"errors"},
    "iax2": {"errors"},
    "dialplan": {"errors", "collector"},
    "numbering": {"errors", "dialplan"},
    "net": {"errors", "iax2", "dialplan"},
    "sim": {"errors", "collector", "theory", "iax2", "dialplan", "numbering"},
    "experiments": {"errors", "theory", "iax2", "dialplan", "numbering", "sim"},
    "report": {"errors", "theory", "iax2", "dialplan", "numbering", "sim", "experiments"},
    "deploy": {"errors", "files", "dialplan", "numbering", "net", "sim"},
    "validate": {"errors", "theory", "iax2", "dialplan", "numbering", "net", "sim"},
    "study": {"errors", "collector", "files", "theory", "iax2", "dialplan", "numbering", "sim", "experiments", "report",
              "deploy"},
    "commands": {"errors", "theory", "iax2", "dialplan", "numbering", "net", "sim", "experiments",
                 "report", "deploy", "validate", "study"},
    "cli": {"errors", "commands"},
    "__main__": {"cli"},  # python -m iaxsim
}


def _imported_packages(path: Path) -> set[str]:
    """The iaxsim sub-packages (or top-level modules) the file at ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = ([f"iaxsim.{a.name}" for a in node.names] if node.module == "iaxsim"
                     else [node.module])
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "iaxsim" and len(parts) > 1 and parts[1] != "__version__":
                found.add(parts[1])
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[0] == "__init__":
            continue
        graph[parts[0]] |= _imported_packages(path) - {parts[0]}
    return graph


def test_every_package_has_a_layer():
    assert set(_graph()) <= set(ALLOWED), "a new package: give it a place in ALLOWED"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_layers_below_it(package):
    upward = _graph().get(package, set()) - ALLOWED[package]
    assert not upward, f"iaxsim.{package} imports {sorted(upward)}, which it must not"


def test_allowed_layers_have_no_cycle():
    seen: dict[str, int] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"cycle: {' -> '.join(path + (name,))}"
        if seen.get(name):
            return
        for below in ALLOWED[name]:
            visit(below, path + (name,))
        seen[name] = 1

    for name in ALLOWED:
        visit(name, ())


def test_the_checker_sees_a_function_level_import(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from iaxsim.sim import simulate\n    import iaxsim.report.plots\n")
    assert _imported_packages(source) == {"sim", "report"}
