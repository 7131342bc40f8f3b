"""The shape of a package's source: lines, modules and import cycles (for tests and bench).

Imports are read from the syntax tree, including those inside functions (a lazy import still
ties two modules together), except under ``if TYPE_CHECKING:``. A cycle is a strongly connected
group of two or more modules, or a module that imports itself.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SourceShape", "import_graph", "import_cycles", "source_shape"]


@dataclass(frozen=True, kw_only=True)
class SourceShape:
    """Lines of Python (every line, as ``wc -l`` counts), modules and import cycles."""

    lines: int
    modules: int
    cycles: tuple[tuple[str, ...], ...]


def _module_name(package_dir: Path, path: Path) -> str:
    parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    found: set[str] = set()
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    base = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = base[: len(base) - node.level + 1] if node.level else []
            target = ".".join([*prefix, *(node.module.split(".") if node.module else [])])
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Each module of the package and the package's modules it imports."""
    files = {_module_name(package_dir, p): p for p in sorted(package_dir.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        imported = _imports(ast.parse(path.read_text()), name, path.name == "__init__.py")
        graph[name] = {m for m in imported if m in files and m != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> tuple[tuple[str, ...], ...]:
    """The strongly connected groups of two or more modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[tuple[str, ...]] = []

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
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                cycles.append(tuple(sorted(group)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return tuple(sorted(cycles))


def source_shape(package_dir: Path) -> SourceShape:
    """Lines, modules and import cycles of the package in ``package_dir``."""
    files = sorted(package_dir.rglob("*.py"))
    lines = sum(len(p.read_text().splitlines()) for p in files)
    return SourceShape(
        lines=lines, modules=len(files), cycles=import_cycles(import_graph(package_dir))
    )
