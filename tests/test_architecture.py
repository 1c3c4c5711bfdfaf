"""The layering holds: no import cycles, rag/ never imports eval/, one module imports chromadb (issue 15)."""

from __future__ import annotations

import ast
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

from tests.conftest import ROOT

PACKAGES = ("rag", "ingest", "ui", "eval")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, name: str, known: dict[str, Path]) -> set[str]:
    """Project modules `path` imports anywhere (top level or inside functions), `from a import b` as a.b if a module."""
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _type_checking(block.test)
                   for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue  # `if TYPE_CHECKING:` imports never run
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(path, name, known) for name, path in known.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _is_package_init(name: str, other: str) -> bool:
    """A package's __init__ re-exporting its own submodule is not a cycle between layers."""
    return other.startswith(name + ".") or name.startswith(other + ".")


def test_no_module_imports_a_module_that_imports_it_back():
    graph = _graph()
    # Edges from a package to its own submodules (re-exports in __init__) are how packages are built.
    pruned = {m: {t for t in ts if not _is_package_init(m, t)} for m, ts in graph.items()}
    assert _cycles(pruned) == []
    assert "ui.page" in graph["ui.chat"] or "ui.chat" in graph["ui.page"]  # the graph sees the UI modules


def test_the_cycle_check_can_fail():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_service_layers_never_import_the_evaluation_tools():
    graph = _graph()
    # The `rag` command is the one face over both: `rag eval` and `rag bench` load eval/ when they run.
    offenders = {m: sorted(t for t in ts if t.split(".")[0] == "eval") for m, ts in graph.items()
                 if m.startswith("rag") and m != "rag.cli"}
    assert {m: ts for m, ts in offenders.items() if ts} == {}


def test_only_the_vector_store_backend_imports_chromadb():
    users = set()
    for name, path in _modules().items():
        if not name.startswith("rag"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(m.split(".")[0] == "chromadb" for m in mods):
                users.add(name)
    assert users == {"rag.components.vector_store"}


def test_installed_bm25s_is_inside_the_pinned_range():
    """The bit-identity test (tests/test_bm25_rebuild.py) ran against this version; the pin keeps it so."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    req = next(Requirement(d) for d in deps if d.startswith("bm25s"))
    assert req.specifier and any(s.operator == "<" for s in req.specifier)
    assert version("bm25s") in req.specifier
