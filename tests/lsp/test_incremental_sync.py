"""Incremental edits over real LSP stdio: the published diagnostics equal those of a fresh open.

Exercises the fast paths a keystroke takes: incremental text sync (lsp/textsync.py), blocks that
only moved (Enter above them: their findings and serialised diagnostics are reused, shifted), and
lazily read lines; with non-BMP characters, so UTF-16 columns differ from code points.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import SERVER_COMMAND, init_params, open_document, record_versions, serve_client_requests

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

CONFIG = ClientServerConfig(server_command=SERVER_COMMAND)


def _bucket(i: int) -> str:
    return (f'resource "aws_s3_bucket" "b{i}" {{\n  # 😀 owner: team-{i} 𝄞\n  bucket = "acme-{i}"\n'
            f'  acl    = "public-read" # 😀\n}}\n\n'
            f'resource "aws_security_group" "sg{i}" {{\n  name = "😀sg{i}"\n  ingress {{\n    from_port = 22\n'
            f'    to_port = 22\n    protocol = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }}\n}}\n\n')


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, workspace: Path):
    serve_client_requests(lsp_client)
    await lsp_client.initialize_session(init_params(workspace, client_capabilities("visual_studio_code"),
                                                    {"indexWorkspace": False, "idleDelayMs": 600000}))
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    lsp_client.versions = record_versions(lsp_client)  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def _published(client: LanguageClient, uri: str, version: int) -> list[lsp.Diagnostic]:
    for _ in range(600):
        if version in client.versions.get(uri, []):  # type: ignore[attr-defined]
            return client.diagnostics[uri]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no diagnostics for version {version} of {uri}")


def _plain(diags: list[lsp.Diagnostic]) -> list[tuple[Any, ...]]:
    return [(d.range, d.message, d.severity, d.code, d.source, str(d.code_description), d.data) for d in diags]


def _edit(client: LanguageClient, uri: str, version: int, start: tuple[int, int], end: tuple[int, int],
          text: str) -> None:
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=lsp.Position(line=start[0], character=start[1]),
                            end=lsp.Position(line=end[0], character=end[1])), text=text)]))


async def test_incremental_edits_publish_what_a_fresh_open_publishes(client: LanguageClient):
    ws: Path = client.ws  # type: ignore[attr-defined]
    text = "".join(_bucket(i) for i in range(40))
    uri = open_document(client, ws / "module" / "main.tf", text)
    first = await _published(client, uri, 1)
    assert len(first) >= 80

    lines = text.split("\n")
    v = 1
    for _ in range(3):  # Enter at the top, three times: every block moves down
        v += 1
        _edit(client, uri, v, (0, 0), (0, 0), "\n")
        lines.insert(0, "")
    # type inside a line after non-BMP characters (UTF-16 column != code points)
    row = next(i for i, ln in enumerate(lines) if '"😀sg7"' in ln)
    col16 = len(lines[row].encode("utf-16-le")) // 2 - 1  # before the closing quote
    v += 1
    _edit(client, uri, v, (row, col16), (row, col16), "x")
    lines[row] = lines[row][:-1] + 'x"'
    # delete two lines in the middle (a comment and Enter undone): blocks below move up
    row = next(i for i, ln in enumerate(lines) if "team-20 " in ln)
    v += 1
    _edit(client, uri, v, (row, 0), (row + 1, 0), "")
    del lines[row]
    # a CRLF line inserted: \r\n is one line break
    v += 1
    _edit(client, uri, v, (5, 0), (5, 0), "  # note\r\n")
    lines.insert(5, "  # note\r")
    # a broken edit, then repaired: the block's findings reappear where it now is
    row = next(i for i, ln in enumerate(lines) if 'bucket = "acme-30"' in ln)
    v += 1
    _edit(client, uri, v, (row, 0), (row, 0), "acl = ")
    v += 1
    _edit(client, uri, v, (row, 0), (row, 6), "")
    edited = await _published(client, uri, v)

    final = "\n".join(lines)
    copy = ws / "fresh"
    shutil.copytree(ws / "module", copy)
    (copy / "main.tf").write_text("")  # only the unsaved text counts
    furi = open_document(client, copy / "main.tf", final)
    fresh = await _published(client, furi, 1)
    assert _plain(edited) == _plain(fresh)
    # and the moved blocks' findings are where the blocks now are
    sg = next(d for d in fresh if d.code == "CKV_AWS_24" and d.data["resource"] == "aws_security_group.sg0")
    assert lines[sg.data["blockStartLine"] - 1].startswith('resource "aws_security_group" "sg0"')
