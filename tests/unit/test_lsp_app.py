"""The language server's assembly: create_server registers every feature, servers are independent,
and tfguard.lsp has no import cycles (features depend on server/publish/scheduler, never back)."""

from __future__ import annotations

import ast
from pathlib import Path

from lsprotocol import types as lsp

from tfguard.lsp.app import create_server
from tfguard.lsp.server import TfguardServer

LSP_DIR = Path(__file__).resolve().parents[2] / "server" / "tfguard" / "lsp"

EXPECTED_METHODS = {
    lsp.INITIALIZE,
    lsp.INITIALIZED,
    lsp.SHUTDOWN,
    lsp.TEXT_DOCUMENT_DID_OPEN,
    lsp.TEXT_DOCUMENT_DID_CHANGE,
    lsp.TEXT_DOCUMENT_DID_SAVE,
    lsp.TEXT_DOCUMENT_DID_CLOSE,
    lsp.TEXT_DOCUMENT_HOVER,
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CODE_ACTION_RESOLVE,
    lsp.TEXT_DOCUMENT_DIAGNOSTIC,
    lsp.WORKSPACE_DIAGNOSTIC,
    lsp.WORKSPACE_DID_CHANGE_CONFIGURATION,
    lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
    "tfguard/findings",
}
EXPECTED_COMMANDS = {"tfguard.server.scanWorkspace", "tfguard.server.suppress", "tfguard.server.openGuideline",
                     "tfguard.server.reviewPlan", "tfguard.server.clearPlan"}


def _methods(server: TfguardServer) -> set[str]:
    return set(server.protocol.fm.features)


def test_create_server_registers_every_feature() -> None:
    server = create_server()
    assert EXPECTED_METHODS <= _methods(server), EXPECTED_METHODS - _methods(server)
    assert EXPECTED_COMMANDS <= set(server.protocol.fm.commands)
    # what initialize advertises: the options registered with the features, and the commands
    options = server.protocol.fm.feature_options
    assert options[lsp.TEXT_DOCUMENT_CODE_ACTION].resolve_provider is True
    assert options[lsp.TEXT_DOCUMENT_DIAGNOSTIC].workspace_diagnostics is True


def test_two_servers_are_independent() -> None:
    a, b = create_server(), create_server()
    assert a is not b
    assert a.protocol is not b.protocol and a.protocol.fm is not b.protocol.fm
    assert _methods(a) == _methods(b)
    # handlers are bound to their own server
    assert a.protocol.fm.features[lsp.TEXT_DOCUMENT_HOVER].args[0] is a
    assert b.protocol.fm.features[lsp.TEXT_DOCUMENT_HOVER].args[0] is b
    # state is per server
    assert a.publisher is not b.publisher and a.scheduler is not b.scheduler
    assert a.publisher.ls is a and b.scheduler.ls is b
    assert a.scheduler.tier1 is not b.scheduler.tier1
    a.published["file:///x.tf"] = None  # type: ignore[assignment]
    assert "file:///x.tf" not in b.published
    assert a.engines is not b.engines
    for s in (a, b):
        s.scheduler.shutdown()


def test_a_plain_server_has_no_handlers() -> None:
    """Nothing registers as an import side effect: only create_server registers."""
    assert not (EXPECTED_METHODS & _methods(TfguardServer()))


def _runtime_imports(path: Path) -> set[str]:
    """tfguard.lsp modules imported by ``path`` at run time (``if TYPE_CHECKING:`` blocks left out)."""
    tree = ast.parse(path.read_text())
    out: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tfguard.lsp"):
                if node.module == "tfguard.lsp":
                    out.update(f"tfguard.lsp.{a.name}" for a in node.names)
                elif node.module == "tfguard.lsp.features":
                    out.update(f"tfguard.lsp.features.{a.name}" for a in node.names)
                else:
                    out.add(node.module)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.startswith("tfguard.lsp"))
            for field in ("body", "orelse", "finalbody", "handlers"):
                child = getattr(node, field, None)
                if isinstance(child, list) and child and isinstance(child[0], ast.stmt | ast.excepthandler):
                    visit(child)  # type: ignore[arg-type]

    visit(tree.body)
    return out


def _module_name(path: Path) -> str:
    rel = path.relative_to(LSP_DIR.parent.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_tfguard_lsp_has_no_import_cycles() -> None:
    graph = {_module_name(p): _runtime_imports(p) for p in LSP_DIR.rglob("*.py")}
    assert "tfguard.lsp.actions" not in graph, "lsp/actions.py moved to lsp/features/code_actions.py"
    for core in ("tfguard.lsp.server", "tfguard.lsp.publish", "tfguard.lsp.scheduler"):
        assert not {m for m in graph[core] if m.startswith(("tfguard.lsp.features", "tfguard.lsp.app"))}, core
    for name, deps in graph.items():
        if name != "tfguard.lsp.app":
            assert "tfguard.lsp.app" not in deps, name

    state: dict[str, int] = {}  # 1: on the path, 2: done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, node, dep]))
            if dep not in state:
                walk(dep, [*path, node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [])


def test_only_publish_and_transport_touch_pygls_internals() -> None:
    for p in LSP_DIR.rglob("*.py"):
        if p.name in ("publish.py", "transport.py"):  # the writer; the stdio reader (docs/reliability.md)
            continue
        text = p.read_text()
        for internal in ("_converter", "protocol.writer", "Content-Length"):
            assert internal not in text, f"{p.name} uses {internal}"


def test_engines_are_rebuilt_not_mutated_when_their_settings_change() -> None:
    from tfguard.lsp.features.configuration import apply_settings

    server = TfguardServer()
    engine = object()
    server.engines["/ws"] = engine  # type: ignore[assignment]
    apply_settings(server, {"idleDelayMs": 900, "minimumSeverity": "HIGH"})
    assert server.settings.idle_delay_ms == 900 and server.engines == {"/ws": engine}, "other settings keep engines"
    apply_settings(server, {"maxFileBytes": 1234})
    assert server.settings.max_file_bytes == 1234 and server.engines == {}
    server.engines["/ws"] = engine  # type: ignore[assignment]
    apply_settings(server, {"moduleTimeBudgetMs": 5000})
    assert server.engines == {}
    server.scheduler.shutdown()


def test_make_engine_takes_the_module_time_budget(tmp_path: Path) -> None:
    from tfguard.engine import DEFAULT_MODULE_TIME_BUDGET
    from tfguard.wiring import make_engine

    assert make_engine(str(tmp_path)).module_time_budget == DEFAULT_MODULE_TIME_BUDGET
    assert make_engine(str(tmp_path), module_time_budget=None).module_time_budget is None
    engine = make_engine(str(tmp_path), module_time_budget=1.5)
    assert engine.module_time_budget == 1.5
    tf = tmp_path / "main.tf"
    tf.write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    first = engine.analyze_file(str(tf)).findings
    assert first and engine.analyze_file(str(tf)).findings[0] is first[0], "unchanged: per-block results reused"
    engine.invalidate_configuration()
    assert engine.analyze_file(str(tf)).findings[0] is not first[0], "configuration changed: re-checked"
