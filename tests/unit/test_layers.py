"""Import layering of the engine's parts (module-level and function-level imports alike)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "server" / "tfguard"


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _under(prefixes: tuple[str, ...], names: set[str]) -> set[str]:
    return {n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes)}


def test_the_engine_imports_no_rules_lsp_cli_wiring_or_scan() -> None:
    forbidden = ("tfguard.rules", "tfguard.lsp", "tfguard.cli", "tfguard.wiring", "tfguard.scan", "checkov",
                 "pygls", "lsprotocol")
    for f in sorted((PKG / "engine").glob("*.py")):
        assert not _under(forbidden, _imports(f)), f.name
    assert not (PKG / "engine" / "core.py").exists()


def test_only_checks_imports_checkov_and_only_lsp_imports_pygls() -> None:
    for f in sorted(PKG.rglob("*.py")):
        names = _imports(f)
        rel = f.relative_to(PKG).parts
        build_scripts = (("data", "build_severities.py"), ("data", "build_risk_classes.py"))  # maintainers' tools
        if rel[0] != "checks" and rel not in build_scripts:
            assert not _under(("checkov",), names), f
        if rel[0] != "lsp":
            assert not _under(("pygls", "lsprotocol"), names), f


def test_no_pickle_in_the_scan_package() -> None:
    for f in sorted((PKG / "scan").glob("*.py")):
        assert "pickle" not in _imports(f), f.name
