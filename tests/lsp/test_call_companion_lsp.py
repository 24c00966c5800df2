"""A graph check through a module call whose fix is a companion the module lacks, over a real LSP session
(pytest-lsp, stdio): offered on the module's line (the module-instance diagnostic) and at the call, as a
WorkspaceEdit adding the companion next to the caller's ``module`` block, wired by the module's output
(issue #21, fixes/call_companions.py).

Fixture ``fixes/callcompanion``: ``modules/bucket`` (an ``aws_s3_bucket``, no notification, output
``bucket_id``) called as ``module "data"`` by ``examples/a`` and ``examples/b``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import actions_at, open_document, session_on_copy, wait_for_diagnostics
from tests.lsp.test_code_actions import apply_edits, edits_of

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "fixes" / "callcompanion"
VIA = "via module.data in examples/a or module.data in examples/b"
AT_CALL = "Fix CKV2_AWS_62 at"
TITLE = ('Fix CKV2_AWS_62 at the call of module "data" in examples/{}: add aws_s3_bucket_notification sending '
         "events to EventBridge (bucket = module.data.bucket_id)")
ADDED = ('\n\nresource "aws_s3_bucket_notification" "data" {\n  bucket      = module.data.bucket_id\n'
         "  eventbridge = true\n}")


ws, client = session_on_copy(FIXTURE)


def _fixed(caller: Path) -> str:
    text = caller.read_text()
    return text[:text.rindex("}") + 1] + ADDED + text[text.rindex("}") + 1:]


def _instance(diags: list[lsp.Diagnostic]) -> lsp.Diagnostic | None:
    return next((d for d in diags if d.code == "CKV2_AWS_62" and VIA in d.message), None)


async def test_module_line_offers_the_companion_at_each_call(client: LanguageClient):
    ws: Path = client.ws  # type: ignore[attr-defined]
    module = ws / "modules" / "bucket" / "main.tf"
    uri = open_document(client, module)
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    diags = await wait_for_diagnostics(client, uri, lambda d: _instance(d) is not None, timeout=90)
    diag = _instance(diags)
    assert diag is not None and diag.range.start.line == 0
    got = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=diag.range,
        context=lsp.CodeActionContext(diagnostics=[diag])))
    actions = [a for a in got or [] if isinstance(a, lsp.CodeAction) and "at the call of module" in a.title]
    assert [a.title for a in actions] == [TITLE.format("a"), TITLE.format("b")]
    for action, x in zip(actions, "ab", strict=True):
        caller = ws / "examples" / x / "main.tf"
        assert action.edit is not None
        assert edits_of(action.edit, uri) == []  # the shared module is not edited
        assert apply_edits(caller.read_text(), edits_of(action.edit, caller.as_uri())) == _fixed(caller)


async def test_call_offers_the_companion_and_not_once_applied(client: LanguageClient):
    ws: Path = client.ws  # type: ignore[attr-defined]
    caller = ws / "examples" / "b" / "main.tf"
    text = caller.read_text()
    uri = open_document(client, caller, text)
    await wait_for_diagnostics(client, uri, timeout=60)

    actions = await actions_at(client, uri, 0, AT_CALL)
    assert [a.title for a in actions] == [TITLE.format("b")]  # only this file's call
    assert actions[0].edit is not None
    new = apply_edits(text, edits_of(actions[0].edit, uri))
    assert new == _fixed(caller)
    inside = await actions_at(client, uri, 3, AT_CALL)  # a line inside the call too
    assert [a.title for a in inside] == [TITLE.format("b")]
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new)]))
    await wait_for_diagnostics(client, uri, timeout=60)
    again: list[lsp.CodeAction] = []
    for _ in range(20):
        again = await actions_at(client, uri, 0, AT_CALL)
        if not again:
            break
    assert again == []
