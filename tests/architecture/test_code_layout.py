"""The shape of the code: no import cycles, small modules, a core split into rooms.

Every import statement counts, the ones inside functions and under TYPE_CHECKING too: a
cycle hidden in a function still means two modules cannot be understood, or moved, one
without the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
MAX_LINES = 450
MAX_CORE_MODULES = 8


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(APP.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The app modules that `path` imports, resolved to modules (not packages' names)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            # `from app.core import paths` imports the module app.core.paths;
            # `from app.core.units import format_bytes` imports app.core.units.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target in known:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
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
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_sees_a_cycle_through_a_function_local_import(
    tmp_path: Path,
) -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    source = "def f():\n    from app.core.llama.engine import Engine\n"
    (tmp_path / "m.py").write_text(source)
    known = {"app.core.llama.engine", "app.core.llama"}
    assert _imports("app.x", tmp_path / "m.py", known) == {"app.core.llama.engine"}


def test_no_import_cycle_among_app_modules() -> None:
    assert _cycles(_graph()) == []


def test_no_module_is_longer_than_450_lines() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_app_core_holds_a_few_leaves_and_its_rooms() -> None:
    core = APP / "core"
    leaves = sorted(path.name for path in core.glob("*.py"))
    rooms = sorted(path.parent.name for path in core.glob("*/__init__.py"))
    assert len(leaves) <= MAX_CORE_MODULES, leaves
    assert {"gguf", "library", "tokenizer", "hub", "llama", "decoding", "runs"} <= set(rooms)
    assert not list(core.glob("*.so")) and not list(core.glob("*.c"))


def test_the_step_records_need_no_engine() -> None:
    """Views and session files read steps without importing llama.cpp."""
    graph = _graph()
    seen: set[str] = set()
    todo = ["app.core.decoding.step_records", "app.core.runs.session_file"]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph[name])
    assert not {name for name in seen if name.startswith("app.core.llama")}
