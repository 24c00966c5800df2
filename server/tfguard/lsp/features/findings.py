"""The ``tfguard/findings`` request (the Findings view) and the ``tfguard.server.scanWorkspace`` command."""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

from tfguard.lsp.convert import range_to_client, split_lines
from tfguard.lsp.publish import Published
from tfguard.lsp.server import TfguardServer
from tfguard.model import Finding
from tfguard.priority import rank

FINDINGS_METHOD = "tfguard/findings"
SCAN_WORKSPACE_COMMAND = "tfguard.server.scanWorkspace"


def register(server: TfguardServer) -> None:
    """Register ``tfguard/findings`` and the scanWorkspace command on ``server``."""
    server.feature(FINDINGS_METHOD)(findings_listing)
    server.command(SCAN_WORKSPACE_COMMAND)(scan_workspace)


def findings_listing(ls: TfguardServer, params: Any) -> dict[str, Any]:
    """Every visible finding of the workspace, ordered by priority (for the Findings view)."""
    out = []
    all_findings: list[tuple[Finding, Published]] = []
    for pub in ls.published.values():
        for f in pub.analysis.findings:
            if ls.visible(f):
                all_findings.append((f, pub))
    order = {id(f): i for i, f in enumerate(rank([f for f, _ in all_findings]))}
    all_findings.sort(key=lambda fp: order[id(fp[0])])
    for f, pub in all_findings:
        lines = split_lines(pub.text)
        out.append({
            "uri": pub.uri,
            "range": _range_json(range_to_client(f.span, lines, ls.encoding)),
            "checkId": f.check_id,
            "checkName": f.check_name,
            "severity": f.severity.value,
            "priority": f.priority,
            "resource": f.resource,
            "message": f.message or f.check_name,
            "guideline": f.guideline,
            "context": list(f.context),
        })
    return {"findings": out}


def _range_json(r: lsp.Range) -> dict[str, Any]:
    return {"start": {"line": r.start.line, "character": r.start.character},
            "end": {"line": r.end.line, "character": r.end.character}}


async def scan_workspace(ls: TfguardServer, *args: Any) -> dict[str, int]:
    """Index the whole workspace now; the number of files and failed findings."""
    files, findings = await ls.scheduler.index_workspace()
    return {"files": files, "findings": findings}
