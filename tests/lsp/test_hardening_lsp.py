"""Hardening over LSP: workspace trust, size limit, opted-in Python check that raises."""

from __future__ import annotations

import os
import shutil
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
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "hardening"
MARKER = Path(os.environ.get("TFGUARD_EVIL_MARKER", "/tmp/tfguard-evil-marker"))


@pytest_lsp.fixture(config=CONFIG)
async def untrusted(lsp_client: LanguageClient, workspace: Path):
    MARKER.unlink(missing_ok=True)
    shutil.copytree(FIX / "evil_checks", workspace / "policies")
    (workspace / ".checkov.yaml").write_text(
        "external-checks-dir:\n  - policies\ndownload-external-modules: true\nbc-api-key: x\n")
    # the workspace's settings (workspace/configuration) try to opt into Python checks: refused
    serve_client_requests(lsp_client, {"allowPythonChecks": [str(workspace / "policies")]})
    await lsp_client.initialize_session(init_params(workspace, client_capabilities("visual_studio_code"),
                                                    {"indexWorkspace": False, "idleDelayMs": 50,
                                                     "maxFileBytes": 4000}))
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_workspace_cannot_run_code_and_refusals_are_reported(untrusted: LanguageClient):
    client, ws = untrusted, untrusted.ws  # type: ignore[attr-defined]
    uri = open_document(client, ws / "module" / "main.tf")
    # tier 2 ran with the YAML policy (bucket names must start with acme-: "acme-data" passes, so add one)
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(
            text=(ws / "module" / "main.tf").read_text().replace('"acme-data"', '"data"'))]))
    await wait_for_diagnostics(client, uri, lambda d: "CKV2_ORG_1" in codes(d), timeout=90)
    cfg_uri = (ws / ".checkov.yaml").as_uri()
    cfg = await wait_for_diagnostics(client, cfg_uri, lambda d: len(d) >= 3)
    messages = sorted(d.message for d in cfg)
    assert any("evil.py" in m and "not loaded" in m for m in messages), messages
    assert any("download-external-modules" in m for m in messages)
    assert any("bc-api-key" in m for m in messages)
    assert all(d.severity == lsp.DiagnosticSeverity.Information for d in cfg)
    assert len(cfg) == 3, "each refusal once"
    assert not MARKER.exists(), "the workspace's Python file was imported"
    assert sum("allowPythonChecks" in m.message for m in client.messages) == 1


async def test_file_over_the_size_limit_gets_one_info_diagnostic(untrusted: LanguageClient):
    client, ws = untrusted, untrusted.ws  # type: ignore[attr-defined]
    big = ws / "module" / "big.tf"
    text = 'resource "aws_s3_bucket" "b" {\n  acl = "public-read"\n}\n' + "# padding\n" * 500
    big.write_text(text)
    uri = open_document(client, big)
    diags = await wait_for_diagnostics(client, uri, lambda d: len(d) > 0)
    assert [str(d.code) for d in diags] == ["tfguard.too-large"]
    assert diags[0].severity == lsp.DiagnosticSeverity.Information and "maxFileBytes" in diags[0].message


@pytest_lsp.fixture(config=CONFIG)
async def opted_in(lsp_client: LanguageClient, workspace: Path):
    serve_client_requests(lsp_client)
    await lsp_client.initialize_session(init_params(
        workspace, client_capabilities("visual_studio_code"),
        {"indexWorkspace": False, "idleDelayMs": 50, "allowPythonChecks": [str(FIX / "raising_checks")]}))
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_user_opted_in_python_check_that_raises_is_isolated(opted_in: LanguageClient):
    client, ws = opted_in, opted_in.ws  # type: ignore[attr-defined]
    uri = open_document(client, ws / "module" / "main.tf")
    def raised(d: list[lsp.Diagnostic]) -> list[lsp.Diagnostic]:  # a check-error problem, never a finding
        return [x for x in d if x.code == "tfguard.check-error" and "CKV_TEST_RAISES" in x.message]

    diags = await wait_for_diagnostics(client, uri, lambda d: bool(raised(d)))
    err = raised(diags)
    assert len(err) == 1 and err[0].severity == lsp.DiagnosticSeverity.Warning
    assert "strange block" in err[0].message and "failed to run on" in err[0].message
    assert "CKV_TEST_RAISES" not in codes(diags)
    assert "CKV_AWS_24" in codes(diags)  # every other check still ran
