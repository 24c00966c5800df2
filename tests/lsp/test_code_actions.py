"""Quick fixes end to end: request actions for a diagnostic, resolve, apply, see the finding go away."""

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


@pytest_lsp.fixture(params=["visual_studio_code", "neovim@v0.9.1"],
                    config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, workspace: Path):
    serve_client_requests(lsp_client)
    caps = client_capabilities(request.param)
    await lsp_client.initialize_session(init_params(workspace, caps, {"indexWorkspace": False, "idleDelayMs": 150}))
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


def apply_edits(text: str, edits: list[lsp.TextEdit]) -> str:
    """Apply LSP edits (UTF-16 positions; the fixture is ASCII) the way an editor does."""
    lines = text.split("\n")
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln) + 1)
    spans = [(offsets[e.range.start.line] + e.range.start.character,
              offsets[e.range.end.line] + e.range.end.character, e.new_text) for e in edits]
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def edits_of(edit: lsp.WorkspaceEdit, uri: str) -> list[lsp.TextEdit]:
    if edit.document_changes:
        return [e for dc in edit.document_changes if isinstance(dc, lsp.TextDocumentEdit)
                and dc.text_document.uri == uri for e in dc.edits]  # type: ignore[misc]
    return list((edit.changes or {}).get(uri, []))


async def test_quick_fix_resolves_applies_and_removes_the_finding(client: LanguageClient):
    path = client.ws / "module" / "main.tf"
    text = path.read_text()
    uri = open_document(client, path, text)
    diags = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_20" in codes(d))
    diag = next(d for d in diags if d.code == "CKV_AWS_20")
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=diag.range,
        context=lsp.CodeActionContext(diagnostics=[diag])))
    assert actions
    fix = next(a for a in actions if isinstance(a, lsp.CodeAction) and a.title.startswith("Fix CKV_AWS_20"))
    assert fix.is_preferred
    assert "CKV_AWS_20" in fix.title
    if fix.edit is None:
        fix = await client.code_action_resolve_async(fix)
    assert fix.edit is not None
    new_text = apply_edits(text, edits_of(fix.edit, uri))
    assert new_text != text
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new_text)]))
    after = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_20" not in codes(d) and len(d) > 0)
    assert "CKV_AWS_24" in codes(after)
    assert "tfguard.syntax" not in codes(after)
    # every action names the check it fixes, and a suppression goes inside the block
    titles = [a.title for a in actions if isinstance(a, lsp.CodeAction)]
    assert any(t.startswith("Suppress CKV_AWS_20") for t in titles)


async def test_fix_all_applies_every_safe_fix_in_one_edit(client: LanguageClient):
    path = client.ws / "module" / "main.tf"
    text = path.read_text()
    uri = open_document(client, path, text)
    before = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_20" in codes(d))
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0)),
        context=lsp.CodeActionContext(diagnostics=[], only=["source.fixAll.tfguard"])))
    fix_all = [a for a in actions or [] if isinstance(a, lsp.CodeAction) and a.kind == "source.fixAll.tfguard"]
    assert len(fix_all) == 1 and fix_all[0].edit is not None
    new_text = apply_edits(text, edits_of(fix_all[0].edit, uri))
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new_text)]))
    after = await wait_for_diagnostics(
        client, uri, lambda d: "CKV_AWS_20" not in codes(d) and len(codes(d)) < len(codes(before)), timeout=60)
    assert "tfguard.syntax" not in codes(after)
