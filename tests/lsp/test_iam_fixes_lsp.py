"""IAM wildcard fixes (CKV_AWS_356/111/109) through a real LSP session (pytest-lsp, stdio).

VS Code (our extension) gets one ``tfguard.chooseFix`` action per check: the module's caller identity
as a choice (a Condition on aws:ResourceAccount) and a prompt for typed ARNs; ``tfguard.server.applyFix``
refuses a value that is not an ARN. Other editors get the choice as an action with its edit and nothing
for the typed value. After the edit the server re-checks the changed text and the finding is gone (this
also proves that Checkov's IAM policy cache no longer serves the first text's result).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import codes, open_document, wait_for_diagnostics
from tests.lsp.test_code_actions import apply_edits, edits_of
from tests.lsp.test_fix_choices_lsp import _actions, _resolved
from tests.lsp.test_fix_choices_lsp import client as client  # noqa: F401  (the same two real clients)

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fixes" / "lsp_iam"
ARN = "arn:aws:s3:::uploads-bucket/*"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(FIXTURES, dst)
    return dst


async def _changed(client: LanguageClient, uri: str, new: str) -> list[lsp.Diagnostic]:
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new)]))
    return await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_111" not in codes(d), timeout=60)


async def test_write_statement_restricted_by_choice_or_typed_arn(client: LanguageClient):
    path = client.ws / "policy" / "main.tf"  # type: ignore[attr-defined]
    text = path.read_text()
    uri = open_document(client, path, text)
    diags = await wait_for_diagnostics(client, uri, lambda d: {"CKV_AWS_111", "CKV_AWS_356"} <= codes(d),
                                       timeout=60)
    diag = next(d for d in diags if d.code == "CKV_AWS_111")
    assert isinstance(diag.data, dict) and diag.data["blockStartLine"] == 3
    actions = [a for a in await _actions(client, uri, diag.range.start.line, [diag]) if "CKV_AWS_111" in a.title
               and not a.title.startswith(("Suppress", "Open guideline"))]
    if client.vscode:  # type: ignore[attr-defined]
        [action] = actions
        assert action.command is not None and action.command.command == "tfguard.chooseFix"
        args: dict[str, Any] = action.command.arguments[0]  # type: ignore[index]
        assert [c["value"] for c in args["choices"]] == ["data.aws_caller_identity.current.account_id"]
        assert "ARN" in args["prompt"]
        for bad in ("*", "arn:aws:s3:::a b\nc", "not-an-arn"):
            refused = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
                command="tfguard.server.applyFix", arguments=[{**args, "value": bad}]))
            assert refused is False
        assert client.applied == []  # type: ignore[attr-defined]
        ok = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
            command="tfguard.server.applyFix", arguments=[{**args, "value": ARN}]))
        assert ok is True
        [params] = client.applied  # type: ignore[attr-defined]
        new = apply_edits(text, edits_of(params.edit, uri))
        # only the statement whose action can be restricted changes; the rest of the file as it was
        assert new == text.replace('["s3:PutObject"]\n    resources = ["*"]',
                                   f'["s3:PutObject"]\n    resources = ["{ARN}"]')
    else:  # the choice from the module only: there is nothing to type an ARN into
        assert [a.title for a in actions] == [
            'Fix CKV_AWS_111: restrict the write statements with resources = ["*"]: '
            "Condition aws:ResourceAccount = data.aws_caller_identity.current.account_id"]
        edit = (await _resolved(client, actions[0])).edit
        assert edit is not None
        new = apply_edits(text, edits_of(edit, uri))
        assert ('    resources = ["*"]\n\n    condition {\n      test     = "StringEquals"\n'
                '      variable = "aws:ResourceAccount"\n'
                "      values   = [data.aws_caller_identity.current.account_id]\n    }\n  }\n}\n") in new
        assert new.count("condition {") == 1  # the List statement is left alone
    after = await _changed(client, uri, new)
    assert "tfguard.syntax" not in codes(after)
    assert "CKV_AWS_111" not in codes(after)
