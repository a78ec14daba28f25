"""The layout keeps its shape (issue 15): imports among the project's modules point one way (no
cycle, function-level imports included), the runtime (`detector`) never imports the training side,
and no source file grows past 400 lines. Read from the source with `ast`: nothing is imported."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ("detector", "training")
MAX_LINES = 400
WEB_SUFFIXES = (".js", ".css", ".html")  # checked under detector/ too


@dataclass(frozen=True)
class Import:
    target: str  # the project module imported
    file: str  # relative to the project
    line: int

    def where(self) -> str:
        return f"{self.file}:{self.line}"


def project_modules() -> dict[str, Path]:
    """Dotted name -> file, for every .py of the project's packages."""
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((PROJECT / pkg).rglob("*.py")):
            parts = path.relative_to(PROJECT).with_suffix("").parts
            mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_nodes(tree: ast.AST):
    """Every import statement, at any depth (inside functions too: they run when called), except
    under `if TYPE_CHECKING:`: those never run (the modules use `from __future__ import
    annotations`), they only name types for readers and checkers."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _known(name: str, mods: dict[str, Path]) -> str | None:
    """The project module `name` is, or the one it lives in (a class or function of it)."""
    while name:
        if name in mods:
            return name
        name = name.rpartition(".")[0]
    return None


def targets(module: str, node: ast.Import | ast.ImportFrom, mods: dict[str, Path]) -> list[str]:
    """The project modules an import statement of `module` loads (a package's `__init__` is
    loaded too when a submodule is, but that is no edge here: a package that re-exports its
    submodules would otherwise be a cycle with each of them)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            pkg = module.split(".")
            if mods[module].name != "__init__.py":
                pkg = pkg[:-1]
            pkg = pkg[: len(pkg) - (node.level - 1)]
            base = ".".join(pkg + ([node.module] if node.module else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
    found = [_known(n, mods) for n in names]
    return sorted({t for t in found if t and t != module})


def import_graph() -> dict[str, list[Import]]:
    mods = project_modules()
    graph: dict[str, list[Import]] = {}
    for module, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = str(path.relative_to(PROJECT))
        graph[module] = [Import(t, rel, node.lineno) for node in import_nodes(tree) for t in targets(module, node, mods)]
    return graph


def strongly_connected(graph: dict[str, list[Import]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (each holds a cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for e in graph[v]:
            if e.target not in index:
                visit(e.target)
                low[v] = min(low[v], low[e.target])
            elif e.target in on_stack:
                low[v] = min(low[v], index[e.target])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def one_cycle(graph: dict[str, list[Import]], comp: list[str]) -> list[Import]:
    """A shortest cycle through the first module of a component, as the imports that make it."""
    inside, start = set(comp), comp[0]
    came: dict[str, Import | None] = {start: None}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for e in graph[v]:
                if e.target == start:
                    path = [e]
                    while came[v] is not None:
                        path.append(came[v])
                        v = _source(graph, came[v])
                    return path[::-1]
                if e.target in inside and e.target not in came:
                    came[e.target] = e
                    nxt.append(e.target)
        frontier = nxt
    raise AssertionError(f"no cycle through {start} in {comp}")


def _source(graph: dict[str, list[Import]], edge: Import) -> str:
    return next(m for m, edges in graph.items() if edge in edges)


def describe(graph: dict[str, list[Import]], comp: list[str]) -> str:
    cycle = one_cycle(graph, comp)
    steps = " -> ".join(f"{_source(graph, e)} ({e.where()})" for e in cycle)
    inside = [f"{m} -> {e.target} ({e.where()})" for m in comp for e in graph[m] if e.target in comp]
    return (f"{len(comp)} modules in a cycle, e.g. {steps} -> {cycle[-1].target}\n"
            f"    every import among them:\n      " + "\n      ".join(inside))


def test_no_import_cycle():
    graph = import_graph()
    cycles = [describe(graph, c) for c in strongly_connected(graph)]
    assert not cycles, "import cycles (each import shown with the file:line that makes it):\n  " + "\n  ".join(cycles)


def test_the_runtime_never_imports_training():
    graph = import_graph()
    bad = [f"{e.where()}: {m} imports {e.target}" for m, edges in graph.items() if m.split(".")[0] == "detector"
           for e in edges if e.target.split(".")[0] == "training"]
    # and any other spelling of it (`import training` inside detector/, a TYPE_CHECKING import)
    for path in sorted((PROJECT / "detector").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for n in names:
                if n.split(".")[0] == "training":
                    bad.append(f"{path.relative_to(PROJECT)}:{node.lineno}: imports {n}")
    assert not bad, "detector/ imports the training side:\n  " + "\n  ".join(sorted(set(bad)))


def source_files() -> list[Path]:
    """Every .py of the project's packages, and the runtime's web files (the review page's)."""
    found = [path for pkg in PACKAGES for path in sorted((PROJECT / pkg).rglob("*.py"))]
    return found + [path for ext in WEB_SUFFIXES for path in sorted((PROJECT / "detector").rglob(f"*{ext}"))]


def test_no_source_file_over_400_lines():
    long = [(n, path.relative_to(PROJECT)) for path in source_files()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, f"files over {MAX_LINES} lines: " + ", ".join(f"{p} ({n})" for n, p in long)


def test_the_graph_finds_what_it_should(tmp_path, monkeypatch):
    """The checks themselves: a two-module cycle through a function-level import is found and
    named with its lines; a TYPE_CHECKING import is not an edge."""
    pkg = tmp_path / "detector"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from detector import b\n")
    (pkg / "b.py").write_text("def f():\n    from detector.a import x\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from detector.a import y\n")
    (tmp_path / "training").mkdir()
    monkeypatch.setattr(__import__(__name__, fromlist=["PROJECT"]), "PROJECT", tmp_path)
    graph = import_graph()
    assert [e.target for e in graph["detector.c"]] == []
    comps = strongly_connected(graph)
    assert comps == [["detector.a", "detector.b"]]
    text = describe(graph, comps[0])
    assert "detector.a (detector/a.py:1) -> detector.b (detector/b.py:2) -> detector.a" in text
