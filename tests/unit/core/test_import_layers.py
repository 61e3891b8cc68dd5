"""Imports run one way (STYLE.md §15): entry points → tasks → areas → rules.

The walk reads every module of ``server/`` with :mod:`ast`, imports inside functions
included (a lazy import is still a dependency), and fails on an area that imports
``server.tasks`` and on any import cycle among ``server/`` modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).parents[3] / "server"
#: packages allowed to import server.tasks: the entry points and tasks themselves
ENTRY_POINTS = {"tasks", "cli", "views", "api"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SERVER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in SERVER.rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The server module an import names (a package's ``__init__`` or a module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Every server module ``module`` imports, at any depth of its code."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for name in names:
            if name.startswith("server"):
                target = _resolve(name)
                if target and target != module:
                    found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def _area(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else None


def test_no_area_imports_tasks() -> None:
    offenders = sorted(
        f"{module} → {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if target.startswith("server.tasks")
        and _area(module) not in ENTRY_POINTS
        and module.split(".")[1] not in ENTRY_POINTS
    )
    assert offenders == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_among_server_modules() -> None:
    # A package's __init__ re-exporting its modules is not a cycle of dependencies
    # between concepts: edges into a package's own modules from its __init__ are left out.
    graph = {
        module: {
            target
            for target in targets
            if not (MODULES[module].name == "__init__.py" and target.startswith(f"{module}."))
        }
        for module, targets in GRAPH.items()
    }
    assert _cycles(graph) == []


def test_the_walk_sees_imports_inside_functions() -> None:
    # the walk itself: a lazy import counts (workflow jobs import their runner's module)
    assert "server.workflows.runner" in GRAPH["server.tasks.workflows"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
