"""The layout's rules, checked on the source: arrows run from the UI to ``ldclient``, never back; no import
circle inside ``ldclient``; ``app_pages/`` holds only the pages ``app.py`` navigates to."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved), never those under
    ``if TYPE_CHECKING``. With ``top_level_only``, imports inside functions are left out too."""
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    nodes: list[ast.AST] = []
    if top_level_only:
        for node in tree.body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            nodes.append(node)
    else:
        skipped = type_checking_nodes(tree)
        nodes = [n for n in ast.walk(tree) if id(n) not in skipped]
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            out.add(prefix)
            for alias in node.names:  # ``from . import clock`` imports the module ``clock``
                candidate = f"{prefix}.{alias.name}"
                if (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists() or (
                    ROOT / Path(*candidate.split(".")) / "__init__.py"
                ).exists():
                    out.add(candidate)
    return out


def type_checking_nodes(tree: ast.Module) -> set[int]:
    """Ids of the nodes under ``if TYPE_CHECKING:`` (annotations only: never run)."""
    out: set[int] = set()
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
            out |= {id(inner) for stmt in block.body for inner in ast.walk(stmt)}
    return out


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_ldclient_never_imports_streamlit_or_the_ui():
    for path in sources("ldclient"):
        bad = {
            name
            for name in imports(path, top_level_only=False)
            if name.split(".")[0] in ("streamlit", "dashboard", "app_pages", "app")
        }
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_no_import_circle_in_ldclient():
    """Imports inside functions count too: a lazy import that closes a circle still ties two modules."""
    graph = {
        module_name(p): {n for n in imports(p, top_level_only=False) if n.startswith("ldclient")}
        for p in sources("ldclient")
    }
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph or nxt == node:
                continue
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_ui_package_does_not_import_pages():
    for path in sources("dashboard"):
        bad = {n for n in imports(path, top_level_only=False) if n.split(".")[0] in ("app_pages", "app")}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_every_file_in_app_pages_is_a_page_app_py_navigates_to():
    app = (ROOT / "app.py").read_text()
    navigated = set(re.findall(r'st\.Page\(\s*"(app_pages/[a-z_]+\.py)"', app))
    on_disk = {f"app_pages/{p.name}" for p in (ROOT / "app_pages").glob("*.py")}
    assert on_disk == navigated, (
        f"not pages: {sorted(on_disk - navigated)}; missing: {sorted(navigated - on_disk)}"
    )
    assert not (ROOT / "pages").exists(), "a pages/ folder is auto-discovered by Streamlit (see README)"
