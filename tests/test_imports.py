"""The package's imports flow one way: no circle, counting the imports inside functions, and no
module loaded by name; a record's path is joined in one module (watlib.records)."""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "watlib"


def _modules() -> dict[str, Path]:
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = f.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _imported(module: str, path: Path, node, modules) -> list[str]:
    """The watlib modules an import statement of ``module`` loads."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
    else:
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
        target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module or ""
        targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names]
    out = []
    for t in targets:
        while t not in modules and "." in t:
            t = t.rsplit(".", 1)[0]
        if t in modules and t != module:
            out.append(t)
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the watlib modules it imports anywhere in its file (top level or in a function)."""
    modules = _modules()
    graph = {m: set() for m in modules}
    for m, f in modules.items():
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[m].update(_imported(m, f, node, modules))
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_in_the_package():
    graph = import_graph()
    assert "watlib.records" in graph and "watlib.engine" in graph["watlib.train"]  # the graph is read
    assert circles(graph) == []


def test_the_circle_check_finds_a_circle_through_a_function_level_import():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_store_imports_no_module_above_it():
    graph = import_graph()
    assert graph["watlib.records"] <= {"watlib._checks", "watlib._version"}
    assert "watlib.sweep" not in graph["watlib.train"] and "watlib.audit" not in graph["watlib.engine"]


def test_no_module_is_loaded_by_name():
    for f in PACKAGE.rglob("*.py"):
        assert "importlib" not in f.read_text(), f


def test_a_records_path_is_joined_in_one_module():
    joined = re.compile(r"""f["'][^"'*]*\}\.json["']""")  # an f-string naming a record file (not a glob)
    where = sorted(f.name for f in PACKAGE.rglob("*.py") if joined.search(f.read_text()))
    assert where == ["records.py"], where
