"""Plan review in the editor (``tfguard.server.reviewPlan`` / ``clearPlan``), on a real server over stdio.

The workspace is a copy of the corpus case ``plans/plan_with_hcl_for_enrichment`` (its plan beside its
``.tf`` sources). The plan's findings come back as diagnostics on the ``.tf`` lines with the source label
``tfguard (plan)``, in the command's result and the ``tfguard/planDiagnostics`` notification, never in the
live ``publishDiagnostics`` (source ``tfguard``); clearing, or the plan changing on disk, withdraws them.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.conftest import CORPORA
from tests.lsp.conftest import SERVER_COMMAND, init_params, open_document, serve_client_requests, wait_for_diagnostics

CASE = CORPORA / "plans" / "plan_with_hcl_for_enrichment"


@pytest.fixture
def plan_ws(tmp_path: Path) -> Path:
    if not CASE.is_dir():
        pytest.skip(f"plan corpus case not found at {CASE}")
    ws = tmp_path / "ws"
    shutil.copytree(CASE, ws)
    (ws / ".git").mkdir()
    return ws


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient, plan_ws: Path):
    serve_client_requests(lsp_client)
    received: list[dict[str, Any]] = []

    @lsp_client.feature(lsp.CLIENT_UNREGISTER_CAPABILITY)
    def _unregister(params: lsp.UnregistrationParams) -> None:
        gone = {u.id for u in params.unregisterations}
        lsp_client.registrations = [r for r in getattr(lsp_client, "registrations", [])  # type: ignore[attr-defined]
                                    if r.id not in gone]

    @lsp_client.feature("tfguard/planDiagnostics")
    def _plan_diagnostics(params: Any) -> None:
        received.append(params)

    await lsp_client.initialize_session(init_params(plan_ws, client_capabilities("visual_studio_code"),
                                                    {"indexWorkspace": False, "idleDelayMs": 50}))
    lsp_client.ws = plan_ws  # type: ignore[attr-defined]
    lsp_client.plan_notes = received  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


def _get(obj: Any, key: str) -> Any:
    return obj[key] if isinstance(obj, dict) else getattr(obj, key)


async def _until(pred: Any, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_review_plan_shows_plan_findings_apart_from_live_ones(client: LanguageClient) -> None:
    ws: Path = client.ws  # type: ignore[attr-defined]
    live_uri = open_document(client, ws / "s3.tf")
    live = await wait_for_diagnostics(client, live_uri, lambda d: bool(d), timeout=120)
    assert {d.source for d in live} == {"tfguard"}
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="tfguard.server.reviewPlan", arguments=[{"plan": (ws / "tfplan.json").as_uri()}]))
    assert "error" not in result
    files = {_get(f, "uri"): _get(f, "diagnostics") for f in _get(result, "files")}
    assert (ws / "s3.tf").as_uri() in files and (ws / "iam.tf").as_uri() in files
    diags = files[(ws / "s3.tf").as_uri()]
    assert {_get(d, "source") for d in diags} == {"tfguard (plan)"}
    lines = (ws / "s3.tf").read_text().splitlines()
    for d in diags:  # on the bucket's block (lines 1-17), not on the plan's lines
        start = _get(_get(_get(d, "range"), "start"), "line")
        assert 0 <= start < 17 and lines[start].strip()
    # the skipped CKV_AWS_20 (`# checkov:skip` in the block) is not shown
    assert "CKV_AWS_20" not in {_get(d, "code") for d in diags}
    await _until(lambda: bool(client.plan_notes))  # type: ignore[attr-defined]
    assert _get(client.plan_notes[-1], "reason") == "loaded"  # type: ignore[attr-defined]
    # the live diagnostics were not touched by the plan
    assert {d.source for d in client.diagnostics[live_uri]} == {"tfguard"}
    cleared = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="tfguard.server.clearPlan", arguments=[]))
    assert _get(cleared, "files") == [] and _get(cleared, "reason") == "cleared"


async def test_a_changed_plan_file_withdraws_its_findings(client: LanguageClient) -> None:
    ws: Path = client.ws  # type: ignore[attr-defined]
    plan = ws / "tfplan.json"
    await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="tfguard.server.reviewPlan", arguments=[{"plan": "tfplan.json"}]))  # from the workspace folder
    assert any(r.id == "tfguard-plan-watch" for r in getattr(client, "registrations", []))
    plan.write_text(plan.read_text())
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(changes=[
        lsp.FileEvent(uri=plan.as_uri(), type=lsp.FileChangeType.Changed)]))
    await _until(lambda: any(_get(n, "reason") == "changed" for n in client.plan_notes))  # type: ignore[attr-defined]


async def test_an_unreadable_plan_is_an_error_not_an_empty_review(client: LanguageClient) -> None:
    ws: Path = client.ws  # type: ignore[attr-defined]
    bad = ws / "broken.json"
    bad.write_text('{"format_version": "1.2", "planned_values": {')
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="tfguard.server.reviewPlan", arguments=[{"plan": str(bad)}]))
    assert "not valid JSON" in _get(result, "error")
