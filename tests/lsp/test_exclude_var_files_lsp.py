"""The editor honours ``.tfguard.yaml`` ``exclude`` and ``var_files``, and reports ignored ``.checkov.yaml`` keys."""

from __future__ import annotations

import asyncio
from pathlib import Path

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
PUBLIC = 'resource "aws_s3_bucket" "legacy" {\n  bucket = "legacy"\n  acl    = "public-read"\n}\n'


@pytest_lsp.fixture(config=CONFIG)
async def configured(lsp_client: LanguageClient, workspace: Path):
    (workspace / "legacy").mkdir()
    (workspace / "legacy" / "main.tf").write_text(PUBLIC)
    app = workspace / "app"
    app.mkdir()
    (app / "variables.tf").write_text('variable "acl" {\n  type    = string\n  default = "private"\n}\n')
    (app / "main.tf").write_text('resource "aws_s3_bucket" "data" {\n  bucket = "data"\n  acl    = var.acl\n}\n')
    (app / "prod.tfvars").write_text('acl = "public-read"\n')
    (app / ".tfguard.yaml").write_text("version: 1\nvar_files: [prod.tfvars]\n")
    (workspace / ".tfguard.yaml").write_text('version: 1\nexclude: ["legacy/**"]\n')
    (workspace / ".checkov.yaml").write_text("compact: true\nskip-checks: CKV_AWS_1\n")
    serve_client_requests(lsp_client)
    await lsp_client.initialize_session(init_params(workspace, client_capabilities("visual_studio_code"),
                                                    {"indexWorkspace": True, "idleDelayMs": 50}))
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_excluded_files_var_files_and_ignored_keys(configured: LanguageClient):
    client, ws = configured, configured.ws  # type: ignore[attr-defined]
    # tier 2 applies app/.tfguard.yaml's var_files: the bucket's ACL becomes public-read
    app_uri = open_document(client, ws / "app" / "main.tf")
    diags = await wait_for_diagnostics(client, app_uri, lambda d: "CKV_AWS_20" in codes(d), timeout=120)
    assert "CKV_AWS_20" in codes(diags)
    # the excluded file: nothing, opened or indexed (an empty publish or none at all)
    legacy_uri = open_document(client, ws / "legacy" / "main.tf")
    other_uri = open_document(client, ws / "module" / "main.tf")  # opened after it: analysed after it
    await wait_for_diagnostics(client, other_uri, lambda d: any(str(c).startswith("CKV") for c in codes(d)),
                               timeout=120)
    await asyncio.sleep(3)  # tier 2 and indexing have had their turn
    assert not client.diagnostics.get(legacy_uri)
    # .checkov.yaml keys tfguard does not apply: one located diagnostic each
    cfg = await wait_for_diagnostics(client, (ws / ".checkov.yaml").as_uri(), lambda d: len(d) >= 2, timeout=60)
    by_line = {d.range.start.line: d for d in cfg}
    assert "Checkov's own output" in by_line[0].message
    assert by_line[0].severity == lsp.DiagnosticSeverity.Information  # INFO
    assert "skip-checks" in by_line[1].message and by_line[1].severity == lsp.DiagnosticSeverity.Warning
