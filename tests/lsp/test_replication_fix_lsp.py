"""CKV_AWS_144's fix needs values only the developer knows (destination bucket, replication role), over
a real LSP session (pytest-lsp, stdio): VS Code gets one action asking for them (input box through
``tfguard.chooseFix``), an unacceptable value is refused, the typed one adds the replication
configuration and the diagnostic goes; an editor with nothing to type into gets no such action.
"""

from __future__ import annotations

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
from tests.lsp.test_fix_choices_lsp import _actions

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "fixes" / "lsp_replication"
TYPED = "arn:aws:s3:::example-data-replica arn:aws:iam::111122223333:role/s3-replication"


@pytest_lsp.fixture(params=CHOICE_CLIENTS,
                    config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, tmp_path: Path):
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURE, ws)
    await start_applying_edits(lsp_client, request.param, ws)
    yield
    await lsp_client.shutdown_session()


async def test_replication_asks_for_destination_and_role(client: LanguageClient):
    path = client.ws / "main.tf"  # type: ignore[attr-defined]
    text = path.read_text()
    uri = open_document(client, path, text)
    diags = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_144" in codes(d), timeout=60)
    diag = next(d for d in diags if d.code == "CKV_AWS_144")
    assert diag.range.start.line == 0
    fixes = [a for a in await _actions(client, uri, 0, [diag]) if a.title.startswith("Fix CKV_AWS_144")]
    if not client.vscode:  # type: ignore[attr-defined]
        assert fixes == []  # nothing to type the values into: never invented ones
        return
    [action] = fixes
    assert action.title == "Fix CKV_AWS_144: add an aws_s3_bucket_replication_configuration (type it)"
    assert action.command is not None and action.command.command == "tfguard.chooseFix"
    args: dict[str, Any] = action.command.arguments[0]  # type: ignore[index]
    assert args["choices"] == [] and "Destination bucket and replication role" in args["prompt"]
    bad = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="tfguard.server.applyFix", arguments=[{**args, "value": "arn:aws:s3:::example-data-replica"}]))
    assert bad is False and client.applied == []  # type: ignore[attr-defined]
    ok = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="tfguard.server.applyFix", arguments=[{**args, "value": TYPED}]))
    assert ok is True
    [params] = client.applied  # type: ignore[attr-defined]
    new = apply_edits(text, edits_of(params.edit, uri))
    assert new == text + (
        "\n# S3 replicates only from and to versioned buckets: enable versioning on both (CKV_AWS_21)\n"
        'resource "aws_s3_bucket_replication_configuration" "data" {\n'
        "  bucket = aws_s3_bucket.data.id\n"
        '  role   = "arn:aws:iam::111122223333:role/s3-replication"\n'
        "\n"
        "  rule {\n"
        '    id     = "replicate-all"\n'
        '    status = "Enabled"\n'
        "\n"
        "    destination {\n"
        '      bucket = "arn:aws:s3:::example-data-replica"\n'
        "    }\n"
        "  }\n"
        "}\n")
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new)]))
    after = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_144" not in codes(d), timeout=60)
    assert "tfguard.syntax" not in codes(after)
