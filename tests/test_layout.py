"""The package's layout: mitmdump loads proxy_addon/addon.py by path, which puts proxy_addon/ first on
sys.path; nothing there may shadow a standard-library module, and the script changes no sys.path."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "proxy_addon"


def test_no_module_of_the_package_shadows_the_standard_library():
    names = {path.stem for path in PACKAGE.rglob("*.py")} | {
        path.name for path in PACKAGE.rglob("*") if path.is_dir() and path.name != "__pycache__"}
    assert names & set(sys.stdlib_module_names) == set()


def test_the_addon_script_leaves_sys_path_alone():
    source = (PACKAGE / "addon.py").read_text(encoding="utf-8")
    assert "sys.path" not in source
    assert "make_addons" in source


def test_development_code_is_not_in_the_package():
    modules = {path.stem for path in PACKAGE.rglob("*.py")}
    assert {"demo", "processes"} & modules == set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import requests" not in text, path
        assert "from tests" not in text, path


# -- layers: each folder imports only from the folders below it, and no module cycle --------------

# Lower first: a folder may import from the folders before it in this list, never after.
LAYERS = ["core", "schema", "lint", "exchange"]
FOLDERS = {"core", "schema", "lint", "exchange", "inputs", "outputs", "audit", "mitm", "settings", "cli",
           "simulator", "migration"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names imported from it, line) for every import of the package in `path`, wherever the
    statement stands (a function's body too: an import hidden there still makes the dependency)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("proxy_addon"):
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names if alias.name.startswith("proxy_addon")]
    return found


def _graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports: `from proxy_addon.x import y` is an edge to x.y
    when that is a module, else to x."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for module, names, _line in _imports(path):
            submodules = {f"{module}.{imported}" for imported in names} & modules.keys()
            targets |= submodules if submodules and len(submodules) == len(names) else {module} | submodules
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def test_no_folder_imports_from_a_folder_above_it():
    upward = []
    for path in PACKAGE.rglob("*.py"):
        folder = path.relative_to(PACKAGE).parts[0]
        if folder not in LAYERS:
            continue
        allowed = set(LAYERS[:LAYERS.index(folder) + 1])
        for target, _names, line in _imports(path):
            parts = target.split(".")
            if len(parts) > 1 and parts[1] in FOLDERS and parts[1] not in allowed:
                upward.append(f"{path.relative_to(PACKAGE)}:{line} imports {target}")
    assert upward == []


def test_no_module_import_cycle():
    graph = _graph()
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
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
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert cycles == []
