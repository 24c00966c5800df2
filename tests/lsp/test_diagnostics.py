"""Open/edit/save/close flows over real LSP stdio, with VS Code's and Neovim's capabilities."""

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


@pytest_lsp.fixture(
    params=["visual_studio_code", "neovim@v0.9.1"],
    config=ClientServerConfig(server_command=SERVER_COMMAND),
)
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, workspace: Path):
    caps = client_capabilities(request.param)
    serve_client_requests(lsp_client)
    await lsp_client.initialize_session(init_params(workspace, caps, {"indexWorkspace": False, "idleDelayMs": 200}))
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_open_publishes_checkov_findings_with_version(client: LanguageClient):
    uri = open_document(client, client.ws / "module" / "main.tf")
    diags = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_24" in codes(d))
    sg = next(d for d in diags if d.code == "CKV_AWS_24")
    # the finding points at the evaluated attribute or block header, never the whole file
    assert sg.range.start.line in range(5, 16)
    assert sg.source == "tfguard"
    assert sg.message.startswith("[")


async def test_unsaved_edit_is_checked_and_fix_removes_finding(client: LanguageClient):
    path = client.ws / "module" / "main.tf"
    uri = open_document(client, path)
    await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_20" in codes(d))
    # unsaved edit: make the bucket private; tier 1 must drop CKV_AWS_20 without a save
    new_text = path.read_text().replace('"public-read"', '"private"')
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new_text)]))
    diags = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_20" not in codes(d))
    assert "CKV_AWS_24" in codes(diags)
    assert "public-read" in path.read_text()  # nothing was written to the user's file
