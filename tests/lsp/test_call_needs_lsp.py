"""A fix at the module call that needs a second input, over a real LSP session (pytest-lsp, stdio):
Enhanced Monitoring (CKV_AWS_118) through a nested call sets the interval and the input that makes the
module send its monitoring role, offered on the caller's ``module`` block and not once applied (issue #21,
``LocalFix.needs`` in fixes/callers.py).

Fixture ``fixes/monitoring``: ``app`` calls ``module "db"`` (``modules/outer``), which passes its inputs to
``module "inner"`` (``modules/inner``: ``monitoring_role_arn = var.monitoring_interval > 0 ?
local.monitoring_role_arn : null``, the local ``var.create_monitoring_role ? aws_iam_role...[0].arn :
var.monitoring_role_arn``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import actions_at, open_document, session_on_copy, wait_for_diagnostics
from tests.lsp.test_code_actions import apply_edits, edits_of

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "fixes" / "monitoring"
TITLE = 'Fix CKV_AWS_118 at the call of module "db": set monitoring_interval = 60, create_monitoring_role = true'


ws, client = session_on_copy(FIXTURE)


async def test_interval_and_role_input_at_the_call_and_not_once_applied(client: LanguageClient):
    ws: Path = client.ws  # type: ignore[attr-defined]
    caller = ws / "app" / "main.tf"
    text = caller.read_text()
    uri = open_document(client, caller, text)
    await wait_for_diagnostics(client, uri, timeout=90)

    actions = await actions_at(client, uri, 0, "Fix CKV_AWS_118")
    assert [a.title for a in actions] == [TITLE]
    edit = actions[0].edit
    assert edit is not None
    modules = {p.as_uri() for p in (ws / "modules").rglob("*.tf")}
    assert all(edits_of(edit, m) == [] for m in modules)  # the shared modules are not edited
    new = apply_edits(text, edits_of(edit, uri))
    assert new == text.replace('  name = "app"\n',
                               '  name = "app"\n  monitoring_interval = 60\n  create_monitoring_role = true\n')
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new)]))
    await wait_for_diagnostics(client, uri, timeout=60)
    again: list[lsp.CodeAction] = []
    for _ in range(20):
        again = await actions_at(client, uri, 0, "Fix CKV_AWS_118")
        if not again:
            break
    assert again == []  # the check passes for the call's instance: nothing more to fix
