"""Fixes that need a choice and fixes at module calls, over a real LSP session (pytest-lsp, stdio).

VS Code (our extension) gets one action whose command opens a quick pick / input box, then runs
``tfguard.server.applyFix`` with the value; other editors get one action per choice, each with its
edit, and no action for a value that has to be typed.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import (
    CHOICE_CLIENTS,
    SERVER_COMMAND,
    codes,
    open_document,
    start_applying_edits,
    wait_for_diagnostics,
)
from tests.lsp.test_code_actions import apply_edits, edits_of

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fixes" / "lsp_choices"
COMMIT = "4e3b2a1f0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(FIXTURES, dst)
    return dst


@pytest_lsp.fixture(params=CHOICE_CLIENTS,
                    config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, ws: Path):
    await start_applying_edits(lsp_client, request.param, ws)
    yield
    await lsp_client.shutdown_session()


async def _actions(client: LanguageClient, uri: str, line: int, diags: list[lsp.Diagnostic]) -> list[lsp.CodeAction]:
    got = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=lsp.Range(start=lsp.Position(line=line, character=0), end=lsp.Position(line=line, character=0)),
        context=lsp.CodeActionContext(diagnostics=diags)))
    return [a if isinstance(a, lsp.CodeAction) else _as_action(a) for a in got or []]


def _as_action(c: lsp.Command) -> lsp.CodeAction:
    """pytest-lsp reads a code action with a command and no edit back as a Command (the result is the
    union ``CodeAction | Command``), its nested command object printed into ``command``: read it back."""
    nested = ast.literal_eval(c.command) if c.command.startswith("{") else None
    if isinstance(nested, dict):
        return lsp.CodeAction(title=c.title, command=lsp.Command(title=nested["title"], command=nested["command"],
                                                                 arguments=nested.get("arguments")))
    return lsp.CodeAction(title=c.title, command=c)


async def _resolved(client: LanguageClient, action: lsp.CodeAction) -> lsp.CodeAction:
    return action if action.edit is not None else await client.code_action_resolve_async(action)


async def test_log_bucket_choice(client: LanguageClient):
    path = client.ws / "choice" / "main.tf"  # type: ignore[attr-defined]
    text = path.read_text()
    uri = open_document(client, path, text)
    diags = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_18" in codes(d), timeout=60)
    diag = next(d for d in diags if d.code == "CKV_AWS_18" and d.range.start.line == 0)
    actions = [a for a in await _actions(client, uri, 0, [diag]) if "CKV_AWS_18" in a.title
               and not a.title.startswith(("Suppress", "Open guideline"))]
    if client.vscode:  # type: ignore[attr-defined]
        [action] = actions
        assert action.command is not None and action.command.command == "tfguard.chooseFix"
        args: dict[str, Any] = action.command.arguments[0]  # type: ignore[index]
        assert [c["value"] for c in args["choices"]] == ["aws_s3_bucket.access_logs.id"]
        # what the extension does after the quick pick: an invalid value is refused, the choice applied
        bad = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
            command="tfguard.server.applyFix", arguments=[{**args, "value": "aws_s3_bucket.nope"}]))
        assert bad is False and client.applied == []  # type: ignore[attr-defined]
        ok = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
            command="tfguard.server.applyFix", arguments=[{**args, "value": args["choices"][0]["value"]}]))
        assert ok is True
        [params] = client.applied  # type: ignore[attr-defined]
        edit = params.edit
    else:  # one action per choice, its edit included
        assert [a.title for a in actions] == ["Fix CKV_AWS_18: add aws_s3_bucket_logging: log to "
                                              "aws_s3_bucket.access_logs"]
        edit = (await _resolved(client, actions[0])).edit  # type: ignore[assignment]
        assert edit is not None
    new = apply_edits(text, edits_of(edit, uri))
    assert "  target_bucket = aws_s3_bucket.access_logs.id\n" in new
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new)]))
    after = await wait_for_diagnostics(
        client, uri, lambda d: not [x for x in d if x.code == "CKV_AWS_18" and x.range.start.line == 0], timeout=60)
    assert "tfguard.syntax" not in codes(after)


async def test_commit_pin_asks_for_the_hash_in_vscode_only(client: LanguageClient):
    path = client.ws / "pin" / "main.tf"  # type: ignore[attr-defined]
    text = path.read_text()
    uri = open_document(client, path, text)
    diags = await wait_for_diagnostics(client, uri, lambda d: "CKV_TF_1" in codes(d), timeout=60)
    diag = next(d for d in diags if d.code == "CKV_TF_1")
    pins = [a for a in await _actions(client, uri, diag.range.start.line, [diag]) if "pin to the commit" in a.title]
    if not client.vscode:  # type: ignore[attr-defined]
        assert pins == []  # nothing to type the hash into: never an invented one
        return
    [action] = pins
    assert action.command is not None and action.command.command == "tfguard.chooseFix"
    args: dict[str, Any] = action.command.arguments[0]  # type: ignore[index]
    assert args["choices"] == [] and "Commit hash" in args["prompt"]
    ok = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="tfguard.server.applyFix", arguments=[{**args, "value": COMMIT}]))
    assert ok is True
    new = apply_edits(text, edits_of(client.applied[0].edit, uri))  # type: ignore[attr-defined]
    assert f'git::https://github.com/terraform-aws-modules/terraform-aws-vpc.git?ref={COMMIT}"' in new
    assert "version" not in new
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new)]))
    await wait_for_diagnostics(client, uri, lambda d: "CKV_TF_1" not in codes(d), timeout=60)


async def test_fix_at_the_module_call_is_offered_on_the_module_line(client: LanguageClient):
    path = client.ws / "calls" / "main.tf"  # type: ignore[attr-defined]
    text = path.read_text()
    uri = open_document(client, path, text)
    await wait_for_diagnostics(client, uri, timeout=60)
    actions = [a for a in await _actions(client, uri, 0, []) if "at the call of module" in a.title]
    assert [a.title for a in actions] == [
        'Fix CKV_AWS_338 at the call of module "logs": set retention_in_days = 365']
    assert actions[0].edit is not None
    new = apply_edits(text, edits_of(actions[0].edit, uri))
    assert new == 'module "logs" {\n  source = "./modules/logs"\n\n  name = "app"\n  retention_in_days = 365\n}\n'
    # a line inside the call offers it too; after the fix, nothing is offered any more
    inside = [a for a in await _actions(client, uri, 3, []) if "at the call of module" in a.title]
    assert [a.title for a in inside] == [a.title for a in actions]
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new)]))
    await wait_for_diagnostics(client, uri, timeout=60)
    for _ in range(20):
        again = [a for a in await _actions(client, uri, 0, []) if "at the call of module" in a.title]
        if not again:
            break
    assert again == []
