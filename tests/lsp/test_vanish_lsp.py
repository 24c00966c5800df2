"""Findings never vanish while typing (real server over stdio).

A string is typed into the second block of a file one character per didChange, leaving the block
unparseable (an unclosed string, then an unclosed ``${``) until the last keystroke. Tier 2 is let
to settle at a few points. Every publish is sampled: none may drop a finding of the untouched
first block, and the broken block keeps its last good findings beside its syntax error.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import SERVER_COMMAND, codes, init_params, open_document, serve_client_requests

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

CONFIG = ClientServerConfig(server_command=SERVER_COMMAND)

GOOD = 'resource "aws_s3_bucket" "good" {\n  bucket = "my-bucket"\n  acl    = "public-read"\n}\n'
SECOND = 'resource "aws_sqs_queue" "second" {\n  name = "q"\n}\n'
TEXT = GOOD + "\n" + SECOND  # the second block: lines 5-7
TYPED = '  description = "x${a}"'  # typed on a new line 7 of the second block, one character at a time
SETTLE_AT = {len('  description = "'), len('  description = "x${'), len(TYPED)}  # let tier 2 run there


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, tmp_path: Path):
    ws = tmp_path / "ws"
    (ws / "m").mkdir(parents=True)
    (ws / "m" / "main.tf").write_text(TEXT)
    serve_client_requests(lsp_client)
    await lsp_client.initialize_session(init_params(ws, client_capabilities("visual_studio_code"),
                                                    {"indexWorkspace": False, "idleDelayMs": 100}))
    lsp_client.ws = ws  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


def _record(client: LanguageClient) -> list[tuple[int | None, list[lsp.Diagnostic]]]:
    seen: list[tuple[int | None, list[lsp.Diagnostic]]] = []
    features = client.protocol.fm.features
    original = features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def wrapper(params: lsp.PublishDiagnosticsParams) -> Any:
        seen.append((params.version, list(params.diagnostics)))
        return original(params)

    features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = wrapper
    return seen


def _in(diags: list[lsp.Diagnostic], first: int, last: int) -> set[str]:
    return codes([d for d in diags if d.code != "tfguard.syntax" and first <= d.range.start.line <= last])


async def _until(cond: Any, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"timed out ({timeout} s) waiting for {what}")
        await asyncio.sleep(0.05)


async def test_typing_a_string_into_a_block_never_drops_the_other_blocks_findings(client: LanguageClient):
    uri = open_document(client, client.ws / "m" / "main.tf", TEXT)  # type: ignore[attr-defined]
    seen = _record(client)

    def of(version: int) -> list[list[lsp.Diagnostic]]:
        return [d for v, d in seen if v == version]

    # tier 1 then tier 2 (graph checks such as CKV2_AWS_6 come from tier 2 only)
    await _until(lambda: any("CKV2_AWS_6" in _in(d, 0, 3) for d in of(1)), 90, "tier 2 on the clean text")
    good = _in(of(1)[-1], 0, 3)
    second = _in(of(1)[-1], 5, 7)
    assert len(good) >= 5 and second
    start = len(seen)

    # a new line in the second block, then the string typed one character at a time
    version = 2
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=lsp.Position(line=7, character=0), end=lsp.Position(line=7, character=0)),
            text="\n")]))
    for i, ch in enumerate(TYPED):
        version += 1
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=lsp.Position(line=7, character=i), end=lsp.Position(line=7, character=i)),
                text=ch)]))
        if i + 1 in SETTLE_AT:
            # tier 1's publish, then tier 2's (re-merged through tier 1): two publishes of this version
            await _until(lambda v=version: len(of(v)) >= 2, 90, f"tier 2 to settle at version {version}")
        else:
            await asyncio.sleep(0.02)  # a fast typist
    await _until(lambda: len(of(version)) >= 2 and "tfguard.syntax" not in codes(of(version)[-1]), 90,
                 "the repaired text's tier 2")

    samples = seen[start:]
    assert len(samples) >= 7, samples
    broken = 0
    for v, diags in samples:
        assert good <= _in(diags, 0, 3), f"v{v} dropped {good - _in(diags, 0, 3)} of the untouched block"
        if "tfguard.syntax" in codes(diags):
            broken += 1
            assert second <= _in(diags, 5, 8), f"v{v}: the broken block lost its last good findings"
    assert broken >= 4  # the settle points while broken were really sampled
    final = of(version)[-1]
    assert good <= _in(final, 0, 3) and second <= _in(final, 5, 8)
