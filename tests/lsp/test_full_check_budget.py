"""Honest about time: a full check past its budget is said to be running (progress, ``tfguard/status``, an
INFO problem on the edited folder's files), goes on, and its result replaces the per-file one when it ends."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import (
    SERVER_COMMAND,
    codes,
    init_params,
    open_document,
    serve_client_requests,
    wait_for_diagnostics,
)

CONFIG = ClientServerConfig(server_command=SERVER_COMMAND)
MODULE = ('variable "cidr" {\n  default = "0.0.0.0/0"\n}\n\nresource "aws_security_group" "sg" {\n'
          '  name        = "x"\n  description = "x"\n  ingress {\n    description = "ssh"\n    from_port   = 22\n'
          '    to_port     = 22\n    protocol    = "tcp"\n    cidr_blocks = [var.cidr]\n  }\n}\n')


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    serve_client_requests(lsp_client)
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_over_budget_full_check_says_so_then_settles(client: LanguageClient, tmp_path: Path):
    root = tmp_path / "repo"
    (root / "modules" / "sg").mkdir(parents=True)
    (root / "modules" / "sg" / "main.tf").write_text(MODULE)
    (root / "examples" / "complete").mkdir(parents=True)
    example = root / "examples" / "complete" / "main.tf"
    example.write_text('module "sg" {\n  source = "../../modules/sg"\n}\n')
    statuses: list[Any] = []

    @client.feature("tfguard/status")
    def _status(params: Any) -> None:
        statuses.append(params)

    # 1 ms: every full check (Checkov's first run imports it, seconds) is over budget
    await client.initialize_session(init_params(root, client_capabilities("visual_studio_code"),
                                                {"indexWorkspace": False, "idleDelayMs": 100,
                                                 "moduleTimeBudgetMs": 1}))
    module = root / "modules" / "sg" / "main.tf"
    uri = open_document(client, module)
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    running = await wait_for_diagnostics(client, uri, lambda d: "tfguard.budget" in codes(d), timeout=60)
    notice = next(d for d in running if d.code == "tfguard.budget")
    assert "still running" in notice.message and notice.severity == lsp.DiagnosticSeverity.Information
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while not any(getattr(s, "state", None) == "idle" for s in statuses):
        assert loop.time() < deadline, [getattr(s, "message", s) for s in statuses]
        await asyncio.sleep(0.1)
    messages = [str(getattr(s, "message", "")) for s in statuses]
    assert any("still running (over the 0.001 s budget)" in m for m in messages), messages
    assert any("done in" in m and "(over budget)" in m for m in messages), messages
    reports = [r for rs in client.progress_reports.values() for r in rs]
    assert any(isinstance(r, lsp.WorkDoneProgressReport) and "still running" in (r.message or "") for r in reports)
    # the run went on: its result (the caller's instance, named) replaces the notice
    settled = await wait_for_diagnostics(
        client, uri, lambda d: "tfguard.budget" not in codes(d) and any(
            x.code == "CKV_AWS_24" and "via module.sg in examples/complete" in x.message for x in d), timeout=60)
    assert "CKV_AWS_24" in codes(settled)
