"""A module-instance finding that Checkov names no caller for, on the module's own file, over a real LSP
session (pytest-lsp, stdio): it names the candidate calls, links each (related information), and its
code action is the fix at each call, a WorkspaceEdit on the caller's file (issue #21: "offered on the
caller and on the module line").

Fixture ``fixes/modcaller``: ``modules/db`` (CKV2_AWS_60, a graph check, fails through every call)
called as ``module "db"`` by ``examples/a`` and ``examples/b``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import open_document, session_on_copy, wait_for_diagnostics
from tests.lsp.test_code_actions import apply_edits, edits_of

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "fixes" / "modcaller"
VIA = "via module.db in examples/a or module.db in examples/b (Checkov names no caller: the calls of that name)"
TITLE = 'Fix CKV2_AWS_60 at the call of module "db" in examples/{}: set copy_tags_to_snapshot = true'
FIXED = 'module "db" {\n  source = "../../modules/db"\n  copy_tags_to_snapshot = true\n}\n'


ws, client = session_on_copy(FIXTURE)


def _instance(diags: list[lsp.Diagnostic]) -> lsp.Diagnostic | None:
    return next((d for d in diags if d.code == "CKV2_AWS_60" and VIA in d.message), None)


async def test_module_line_offers_the_fix_at_each_candidate_call(client: LanguageClient):
    ws: Path = client.ws  # type: ignore[attr-defined]
    module = ws / "modules" / "db" / "main.tf"
    uri = open_document(client, module)
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    diags = await wait_for_diagnostics(client, uri, lambda d: _instance(d) is not None, timeout=90)
    diag = _instance(diags)
    assert diag is not None and diag.range.start.line == 10  # copy_tags_to_snapshot, in the module
    callers = [(r.location.uri, r.location.range.start.line) for r in diag.related_information or []]
    assert callers == [((ws / "examples" / x / "main.tf").as_uri(), 0) for x in "ab"]

    got = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=diag.range,
        context=lsp.CodeActionContext(diagnostics=[diag])))
    actions = [a for a in got or [] if isinstance(a, lsp.CodeAction) and "at the call of module" in a.title]
    assert [a.title for a in actions] == [TITLE.format("a"), TITLE.format("b")]
    for action, x in zip(actions, "ab", strict=True):
        caller = ws / "examples" / x / "main.tf"
        assert action.edit is not None
        assert edits_of(action.edit, uri) == []  # the module file is not edited
        assert apply_edits(caller.read_text(), edits_of(action.edit, caller.as_uri())) == FIXED
    # a suppression in the shared module would hide the finding from every caller: not offered
    assert not [a for a in got or [] if "Suppress" in a.title]


async def test_caller_line_offers_the_fix_of_a_graph_check_at_its_own_call(client: LanguageClient):
    ws: Path = client.ws  # type: ignore[attr-defined]
    caller = ws / "examples" / "b" / "main.tf"
    text = caller.read_text()
    uri = open_document(client, caller, text)
    await wait_for_diagnostics(client, uri, timeout=60)
    got = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0)),
        context=lsp.CodeActionContext(diagnostics=[])))
    actions = [a for a in got or [] if isinstance(a, lsp.CodeAction) and "at the call of module" in a.title]
    # only this file's call: the candidate in examples/a is fixed from there (or from the module's line)
    assert [a.title for a in actions] == [TITLE.format("b")]
    assert actions[0].edit is not None
    assert apply_edits(text, edits_of(actions[0].edit, uri)) == FIXED
