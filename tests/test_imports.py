"""No import cycle anywhere in ``mailer/``.

The graph is built from the source (the AST of every module), not from what
happens to be imported at run time: an import inside a function (a "late"
import) is an edge like any other, since that is exactly how a cycle hides.
Imports under ``if TYPE_CHECKING:`` are left out: they never run.

Edges, and the rule for packages:

- ``import a.b.c`` and ``from a.b import c`` (``c`` a module) add one edge, to
  ``a.b.c``; ``from a.b import name`` (``name`` not a module) adds one to
  ``a.b``, the package whose ``__init__`` defines or re-exports ``name``.
- Python initialises the parent packages (``a``, ``a.b``) first, but that is
  not an edge: a package ``__init__`` that re-exports from its submodules
  (``mailer.web`` exports ``create_app``) would otherwise be in a cycle with
  every one of them. What the rule does forbid is the real cycle behind
  such re-exports: a submodule importing a name from its own package's
  ``__init__`` while that ``__init__`` imports the submodule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mailer

ROOT = Path(mailer.__file__).resolve().parent


def module_name(path: Path, root: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``module`` imports, at any depth, outside TYPE_CHECKING."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.orelse:
                visit(statement)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                # ``from a.b import c``: the module ``a.b.c`` if there is one,
                # else the package ``a.b`` whose ``__init__`` holds ``c``.
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in known else source)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found & known


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of ``root``'s package it imports (edges to other packages dropped)."""
    sources = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in sources.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = _imports(tree, name, path.name == "__init__.py", set(sources)) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, …, a]``, or None (iterative DFS, stable order)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    for start in sorted(graph):
        if colour[start] != WHITE:
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        path = [start]
        colour[start] = GREY
        while stack:
            node, todo = stack[-1]
            if not todo:
                stack.pop()
                path.pop()
                colour[node] = BLACK
                continue
            nxt = todo.pop(0)
            if colour.get(nxt) == GREY:
                return [*path[path.index(nxt) :], nxt]
            if colour.get(nxt) == WHITE:
                colour[nxt] = GREY
                path.append(nxt)
                stack.append((nxt, sorted(graph[nxt])))
    return None


def test_no_import_cycle_in_mailer() -> None:
    cycle = find_cycle(import_graph(ROOT))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_late_import_cycle_is_found(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg import b\n",
            "b.py": "def f():\n    from pkg.a import x  # late\n    return x\n",
        },
    )
    assert find_cycle(import_graph(root)) == ["pkg.a", "pkg.b", "pkg.a"]


def test_type_checking_imports_and_parent_packages_are_no_edges(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "from pkg.a import A\n",  # a re-export
            "a.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.b import B\n"
                "class A: ...\n"
            ),
            "b.py": "from pkg.a import A\nclass B(A): ...\n",
        },
    )
    graph = import_graph(root)
    assert graph["pkg"] == {"pkg.a"}
    assert graph["pkg.a"] == set()
    assert find_cycle(graph) is None


def test_a_submodule_importing_from_its_reexporting_package_is_a_cycle(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "from pkg.a import A\nVERSION = 1\n",
            "a.py": "from pkg import VERSION\nclass A: ...\n",
        },
    )
    assert find_cycle(import_graph(root)) == ["pkg", "pkg.a", "pkg"]


@pytest.mark.parametrize("relative", ["from . import b\n", "from .b import x\n"])
def test_relative_imports_are_edges(tmp_path: Path, relative: str) -> None:
    root = _package(
        tmp_path, {"__init__.py": "", "a.py": relative, "b.py": "from pkg.a import y\n"}
    )
    assert find_cycle(import_graph(root)) == ["pkg.a", "pkg.b", "pkg.a"]
