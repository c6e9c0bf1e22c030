"""The emulator's modules import one another without a circle.

Every import counts: at module level, inside a function (imported on first use), or under TYPE_CHECKING (a
circle there is still two modules that each need the other to be understood). Dynamic imports would hide an
edge from this check, so they are refused too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "devtools.sf_emulator"
ROOT = Path(__file__).resolve().parents[2] / "devtools" / "sf_emulator"


def _modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(), str(path)) for path in sorted(ROOT.glob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """The emulator modules one import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        return {n.split(".")[2] for n in names if n.startswith(PACKAGE + ".")} & known
    if node.level > 1:
        return set()  # beyond the package: not an emulator module
    base = node.module or ""
    if node.level == 0:
        if base != PACKAGE and not base.startswith(PACKAGE + "."):
            return set()
        base = base[len(PACKAGE) :].lstrip(".")
    if base:
        return {base.split(".")[0]} & known
    # `from . import a, b`: each name is a module of the package
    return {alias.name for alias in node.names} & known


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name] |= _targets(node, known) - {name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
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


def test_the_emulator_has_no_import_circle() -> None:
    graph = import_graph()
    assert graph["server"], "the walk found no import at all: it is not reading the emulator"
    assert circles(graph) == []


def test_no_module_is_imported_by_name_at_run_time() -> None:
    dynamic = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in ("import_module", "__import__"):
                    dynamic.append(f"{name}.py:{node.lineno}")
    assert dynamic == []


def test_the_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [["a", "b", "c"]]
