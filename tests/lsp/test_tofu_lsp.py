"""OpenTofu documents (``*.tofu``) over real LSP stdio: tier 1 at once, tier 2 (graph checks) after the idle
delay and on save; an ``x.tf`` overridden by ``x.tofu`` says so instead of showing findings."""

from __future__ import annotations

from pathlib import Path

import pytest
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

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

MAIN = '''resource "aws_s3_bucket" "b" {
  bucket = "b"
}

resource "aws_security_group" "sg" {
  name = "x"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.cidr]
  }
}
'''
VARIABLES = 'variable "cidr" {\n  default = "0.0.0.0/0"\n}\n'
OLD_SG = '''resource "aws_security_group" "old" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
'''


@pytest.fixture
def tofu_ws(tmp_path: Path) -> Path:
    ws = tmp_path / "tofu"
    ws.mkdir()
    (ws / "main.tofu").write_text(MAIN)
    (ws / "variables.tf").write_text(VARIABLES)
    (ws / "old.tf").write_text(OLD_SG)  # overridden by old.tofu
    (ws / "old.tofu").write_text('resource "aws_s3_bucket" "replacement" {\n  bucket = "r"\n}\n')
    return ws


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient, tofu_ws: Path):
    serve_client_requests(lsp_client)
    await lsp_client.initialize_session(init_params(tofu_ws, client_capabilities("visual_studio_code"),
                                                    {"indexWorkspace": False, "idleDelayMs": 200}))
    lsp_client.ws = tofu_ws  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


def _on_sg(diags: list[lsp.Diagnostic], code: str) -> bool:
    return any(d.code == code and 4 <= d.range.start.line <= 12 for d in diags)


async def test_tofu_document_shows_both_tiers_before_and_after_save(client: LanguageClient):
    path = client.ws / "main.tofu"
    uri = open_document(client, path)
    # tier 1 (the variable comes from variables.tf), then tier 2's graph check on the .tofu file itself
    await wait_for_diagnostics(client, uri, lambda d: _on_sg(d, "CKV_AWS_24"))
    diags = await wait_for_diagnostics(client, uri, lambda d: _on_sg(d, "CKV2_AWS_5"), timeout=60)
    assert _on_sg(diags, "CKV_AWS_24")

    # unsaved edit: the ingress no longer open to the world; tier 1 drops the finding without a save
    fixed = MAIN.replace("[var.cidr]", '["10.0.0.0/8"]')
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=fixed)]))
    await wait_for_diagnostics(client, uri, lambda d: not _on_sg(d, "CKV_AWS_24"))
    assert path.read_text() == MAIN  # nothing written to the user's file

    # saved: tier 2 at once on the disk text, through the mirror, mapped back to main.tofu
    path.write_text(fixed)
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    client.diagnostics.pop(uri, None)
    diags = await wait_for_diagnostics(client, uri, lambda d: _on_sg(d, "CKV2_AWS_5"), timeout=60)
    assert not _on_sg(diags, "CKV_AWS_24")


async def test_overridden_tf_document_says_so_and_shows_no_findings(client: LanguageClient):
    uri = open_document(client, client.ws / "old.tf")
    diags = await wait_for_diagnostics(client, uri, lambda ds: any("overridden by old.tofu" in x.message for x in ds))
    assert codes(diags) == {"tfguard.overridden"}
    (info,) = diags
    assert info.severity in (lsp.DiagnosticSeverity.Information, lsp.DiagnosticSeverity.Hint)
    assert "not what OpenTofu runs" in info.message and info.range.start.line == 0


async def test_tofu_files_are_watched(client: LanguageClient):
    uri = open_document(client, client.ws / "main.tofu")
    await wait_for_diagnostics(client, uri, lambda d: _on_sg(d, "CKV_AWS_24"))  # initialized has run
    # the watchers registered for workspace/didChangeWatchedFiles, as the client received them
    globs = [str(r.register_options) for r in getattr(client, "registrations", [])
             if r.method == lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES]
    assert any("**/*.tofu" in g for g in globs) and any("**/*.tofu.json" in g for g in globs), globs
