"""The package's layout is its architecture: wings import one way, no module circles, nothing imports a
command. Read from the source's own import statements (every `import`, at any depth of a module)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "excolor"
WINGS = ("errors", "core", "run", "study", "sweep", "api", "cli")
"""Lowest first: a module may import from its own wing and the wings before it, never from one after."""
COMMANDS = {"excolor.cli.train", "excolor.cli.evaluate", "excolor.cli.report", "excolor.cli.validate",
            "excolor.cli.recover", "excolor.cli.entry_points"}
"""The console commands (pyproject's [project.scripts] load them by name): nothing imports them."""


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def wing(module: str) -> str | None:
    """`excolor.core.model` -> `core`; the package itself and its __init__ belong to no wing."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "excolor" else None


def imports(path: Path) -> set[str]:
    """Every excolor module `path` imports (a `from excolor.x import name` counts `excolor.x.name` when that
    is a module, else `excolor.x`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("excolor"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("excolor"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: {m for m in imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def test_every_module_lives_in_a_wing():
    loose = [m for m in MODULES if wing(m) not in WINGS and m != "excolor"]
    assert not loose, f"modules outside the wings {WINGS}: {loose}"


def test_wings_import_one_way():
    order = {name: i for i, name in enumerate(WINGS)}
    upward = [f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets
              if wing(a) in order and wing(b) in order and order[wing(b)] > order[wing(a)]]
    assert not upward, "imports that climb to a later wing:\n" + "\n".join(sorted(upward))


def test_no_module_circles():
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (circle := visit(nxt)):
                return circle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(GRAPH):
        if start not in state and (circle := visit(start)):
            raise AssertionError("modules that import each other in a circle: " + " -> ".join(circle))


def test_nothing_imports_a_command():
    importers = [f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets if b in COMMANDS]
    assert not importers, importers
