"""A ``.checkov.yaml`` whose ``check:`` list names no check: the editor says so on that file, as CI does.

Checkov runs such a selection as it is (no check at all, nothing found); ``tfguard scan`` exits 2 for it
(tests/unit/test_fail_closed.py). In the editor the file's other findings stay as they are, and the typo is a
located diagnostic on the entry in ``.checkov.yaml``, from the full check (the same scan plan as the CLI's).
"""

from __future__ import annotations

from pathlib import Path

import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import FIXTURES, SERVER_COMMAND, open_document, start_in_copy, wait_for_diagnostics

CONFIG = ClientServerConfig(server_command=SERVER_COMMAND)
BUCKET = 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n  acl    = "public-read"\n}\n'


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, tmp_path: Path):
    lsp_client.ws = await start_in_copy(  # type: ignore[attr-defined]
        lsp_client, FIXTURES, tmp_path / "ws",
        {"main.tf": BUCKET, ".checkov.yaml": "check:\n  - CKV_AWS_20\n  - CKV_AWS_2O\nskip-check: CKV_AWS_99999\n"})
    yield
    await lsp_client.shutdown_session()


async def test_a_check_id_that_matches_no_check_is_shown_on_its_entry(client: LanguageClient) -> None:
    ws: Path = client.ws  # type: ignore[attr-defined]
    uri = open_document(client, ws / "main.tf")
    diags = await wait_for_diagnostics(client, uri, lambda d: any(str(x.code).endswith("CKV_AWS_20") for x in d),
                                       timeout=90)
    assert {str(d.code).rsplit(".", 1)[-1] for d in diags} >= {"CKV_AWS_20"}
    cfg = await wait_for_diagnostics(client, (ws / ".checkov.yaml").as_uri(), lambda d: len(d) >= 2, timeout=90)
    by_line = {d.range.start.line: d for d in cfg}
    assert sorted(by_line) == [2, 3], [d.message for d in cfg]
    typo, skip = by_line[2], by_line[3]
    assert typo.message.startswith("check: CKV_AWS_2O: matches no check (did you mean CKV_AWS_20?)")
    assert typo.severity == lsp.DiagnosticSeverity.Error
    assert (typo.range.start.character, typo.range.end.character) == (4, 14)
    assert skip.message.startswith("skip-check: CKV_AWS_99999: matches no check")
    assert skip.severity == lsp.DiagnosticSeverity.Information
    # mended on disk: the next full check's plan has no such entry, and the diagnostics go
    (ws / ".checkov.yaml").write_text("check:\n  - CKV_AWS_20\n")
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
        changes=[lsp.FileEvent(uri=(ws / ".checkov.yaml").as_uri(), type=lsp.FileChangeType.Changed)]))
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    await wait_for_diagnostics(client, (ws / ".checkov.yaml").as_uri(), lambda d: len(d) == 0, timeout=90)
