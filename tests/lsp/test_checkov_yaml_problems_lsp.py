"""A ``.checkov.yaml``'s problems in the editor: located on the file, and following its current text.

- A ``check:`` list that names no check: Checkov runs such a selection as it is (no check at all, nothing
  found); ``tfguard scan`` exits 2 for it (tests/unit/test_fail_closed.py). In the editor the typo is a located
  diagnostic on the entry, from the full check (the same scan plan as the CLI's).
- An option tfguard refuses or ignores, then taken out of the file: its diagnostic goes (it stayed until the
  server restarted); the file deleted: none is left.
"""

from __future__ import annotations

from pathlib import Path

import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import FIXTURES, SERVER_COMMAND, open_document, start_in_copy, wait_for_diagnostics

CONFIG = ClientServerConfig(server_command=SERVER_COMMAND)
BUCKET = 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n  acl    = "public-read"\n}\n'


def _mended(client: LanguageClient, path: Path, text: str, saved: str) -> None:
    """``path`` rewritten on disk, the client told so, and the open document ``saved`` saved (a full check)."""
    path.write_text(text)
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
        changes=[lsp.FileEvent(uri=path.as_uri(), type=lsp.FileChangeType.Changed)]))
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=saved)))


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
    _mended(client, ws / ".checkov.yaml", "check:\n  - CKV_AWS_20\n", uri)
    await wait_for_diagnostics(client, (ws / ".checkov.yaml").as_uri(), lambda d: len(d) == 0, timeout=90)


@pytest_lsp.fixture(config=CONFIG)
async def refused(lsp_client: LanguageClient, tmp_path: Path):
    lsp_client.ws = await start_in_copy(  # type: ignore[attr-defined]
        lsp_client, FIXTURES, tmp_path / "ws", {"main.tf": BUCKET, ".checkov.yaml": "compact: true\nbc-api-key: x\n"})
    yield
    await lsp_client.shutdown_session()


async def test_an_option_taken_out_of_the_file_loses_its_diagnostic(refused: LanguageClient) -> None:
    client, ws = refused, refused.ws  # type: ignore[attr-defined]
    uri = open_document(client, ws / "main.tf")
    cfg_uri = (ws / ".checkov.yaml").as_uri()
    before = await wait_for_diagnostics(client, cfg_uri, lambda d: len(d) == 2, timeout=90)
    assert sorted(d.range.start.line for d in before) == [0, 1]
    assert "bc-api-key" in next(d.message for d in before if d.range.start.line == 1)
    _mended(client, ws / ".checkov.yaml", "compact: true\n", uri)
    (after,) = await wait_for_diagnostics(client, cfg_uri, lambda d: len(d) == 1, timeout=90)
    assert after.range.start.line == 0 and "'compact' ignored" in after.message
    (ws / ".checkov.yaml").unlink()  # and deleted: nothing is left on it
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
        changes=[lsp.FileEvent(uri=cfg_uri, type=lsp.FileChangeType.Deleted)]))
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    await wait_for_diagnostics(client, cfg_uri, lambda d: len(d) == 0, timeout=90)
