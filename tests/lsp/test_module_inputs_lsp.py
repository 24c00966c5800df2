"""Fixes at the call of a nested module over a real LSP session (pytest-lsp, stdio): Checkov names the
innermost caller (the outer module's file), the fix is offered on the outermost call, in the file the
user has open (issue #21).

Fixture ``fixes/modinputs``: ``app`` calls ``module "db"`` (``modules/outer``), which calls ``module
"inner"`` (``modules/inner``, an ``aws_db_instance`` whose ``backup_retention_period`` is
``var.blue_green_update != null ? coalesce(var.backup_retention_period, 1) : var.backup_retention_period``
and whose ``engine`` is ``local.is_replica ? null : var.engine``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import open_document, session_on_copy, wait_for_diagnostics
from tests.lsp.test_code_actions import apply_edits, edits_of

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "fixes" / "modinputs"
TITLES = {
    'Fix CKV_AWS_293 at the call of module "db": set deletion_protection = true':
        ("", "  deletion_protection = true\n"),
    'Fix CKV_AWS_133 at the call of module "db": set backup_retention_period = 7':
        ("  backup_retention_period = 0\n", "  backup_retention_period = 7\n"),
    'Fix CKV_AWS_129 at the call of module "db": set enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]':
        ("", '  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]\n'),
}


ws, client = session_on_copy(FIXTURE, ("visual_studio_code",))


async def test_nested_call_is_fixed_at_the_outermost_call(client: LanguageClient):
    ws: Path = client.ws  # type: ignore[attr-defined]
    caller = ws / "app" / "main.tf"
    text = caller.read_text()
    uri = open_document(client, caller, text)
    await wait_for_diagnostics(client, uri, timeout=90)
    got = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0)),
        context=lsp.CodeActionContext(diagnostics=[])))
    actions = {a.title: a for a in got or [] if isinstance(a, lsp.CodeAction) and "at the call of module" in a.title}
    assert set(TITLES) <= set(actions), sorted(actions)
    for title, (old, new) in TITLES.items():
        edit = actions[title].edit
        assert edit is not None
        assert [u for u in (edit.changes or {})] + [c.text_document.uri for c in edit.document_changes or []
                                                     if isinstance(c, lsp.TextDocumentEdit)] == [uri]
        fixed = apply_edits(text, edits_of(edit, uri))
        if old:
            assert fixed == text.replace(old, new)
        else:
            assert new in fixed and fixed.replace(new, "") == text
    for module in (ws / "modules").rglob("*.tf"):  # nothing is offered in the shared modules
        assert all(module.as_uri() not in (a.edit.changes or {}) for a in actions.values() if a.edit)
