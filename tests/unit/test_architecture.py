"""The shape the code keeps (docs/architecture.md): no import cycles, and each layer imports only what it may.

The imports are read from the source (every ``import``/``from`` statement, at module level or inside a
function, except under ``if TYPE_CHECKING:``), so a cycle hidden in a lazy import counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "tfguard"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Absolute names of every module ``tree`` imports (relative imports resolved)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".") if is_package else module.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join([*pkg, base] if base else pkg)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        raw = _imports(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py")
        ours = {m for m in raw if m in modules and m != name}
        graph[name] = ours | {m for m in raw if not m.startswith("tfguard")}
    return graph


GRAPH = _graph()
OURS = {m for m in GRAPH if m.startswith("tfguard")}


def _edges(name: str) -> set[str]:
    """Our modules ``name`` imports, not counting the package ``__init__`` files it passes through."""
    return {m for m in GRAPH[name] if m in OURS and m != "tfguard"}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in _edges(v):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(OURS):
        if v not in index:
            strong(v)
    return out


def test_the_graph_is_read_from_the_real_package() -> None:
    assert {"tfguard.engine", "tfguard.files", "tfguard.cli", "tfguard.lsp.server"} <= OURS
    assert "tfguard.model" in _edges("tfguard.files")


def test_no_import_cycle() -> None:
    assert _cycles() == []


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    GRAPH["tfguard.model"].add("tfguard.files")  # files imports model: model -> files closes a cycle
    try:
        assert ["tfguard.files", "tfguard.model"] in _cycles()
    finally:
        GRAPH["tfguard.model"].discard("tfguard.files")


def _third_party(name: str) -> set[str]:
    return {m.split(".")[0] for m in GRAPH[name] if not m.startswith("tfguard")}


@pytest.mark.parametrize("module", sorted(m for m in OURS if not m.startswith(("tfguard.lsp", "tfguard.cli"))))
def test_core_modules_import_neither_pygls_nor_lsprotocol(module: str) -> None:
    assert not _third_party(module) & {"pygls", "lsprotocol"}


# tfguard.data.build_severities and build_risk_classes are the maintainers' tools that build the offline tables from
# Checkov's registries; nothing imports it at run time.
@pytest.mark.parametrize("module", sorted(m for m in OURS if not m.startswith(("tfguard.checks",
                                                                                "tfguard.data.build_"))))
def test_only_checks_imports_checkov(module: str) -> None:
    assert "checkov" not in _third_party(module)


def test_model_and_files_import_nothing_of_ours_but_model() -> None:
    assert _edges("tfguard.model") == set()
    assert _edges("tfguard.files") <= {"tfguard.model"}


def test_hcl_imports_no_checkov_engine_or_lsp() -> None:
    for m in (m for m in OURS if m.startswith("tfguard.hcl")):
        assert not {e for e in _edges(m) if e.startswith(("tfguard.engine", "tfguard.lsp", "tfguard.scan"))}, m


def test_the_engine_does_not_reach_up_into_its_users() -> None:
    users = ("tfguard.lsp", "tfguard.cli", "tfguard.scan", "tfguard.rules", "tfguard.wiring", "tfguard.fixes")
    for m in (m for m in OURS if m.startswith("tfguard.engine")):
        assert not {e for e in _edges(m) if e.startswith(users)}, m


def test_only_publish_and_transport_touch_pygls_internals() -> None:
    for path in (PACKAGE / "lsp").rglob("*.py"):
        if path.name in ("publish.py", "transport.py"):
            continue
        text = path.read_text(encoding="utf-8")
        assert "_converter" not in text and "protocol.writer" not in text, path
        for internal in ("_stop_event", "structure_message", "builtin_features", "pygls.io_"):
            assert internal not in text, (path, internal)


def test_the_daemon_does_not_import_the_cli() -> None:
    assert "tfguard.cli" not in _edges("tfguard.scan.daemon")
