"""Over real LSP stdio: reopening a workspace shows Checkov's findings before Checkov is imported, from the
tier-1 result cache an earlier session wrote (issue 15, cold start), and never a stale or corrupt entry.

Checkov's import is delayed (``TFGUARD_CHECKOV_IMPORT_DELAY_MS``), so a Checkov finding published while the
"checks are loading" notice is there can only come from the cache. Each test has its own cache directory
(``TFGUARD_CACHE_DIR``) and workspace; the servers are real ``tfguard serve`` processes.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import (
    codes,
    init_params,
    open_document,
    record_publishes,
    serve_client_requests,
    wait_for_diagnostics,
)

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

DELAY_MS = 12000  # Checkov's import starts this late in the second session: what comes before is the cache's

MODULE = '''variable "open" {
  default = "0.0.0.0/0"
}

resource "aws_security_group" "by_var" {
  name = "by-var"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.open]
  }
}

resource "aws_security_group" "fixed" {
  name = "fixed"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
'''
FIXED_CIDR_LINE = 20  # 0-based line of the "fixed" group's cidr_blocks
BY_VAR_LINE = 10


def _shards(cache: Path) -> list[Path]:
    return sorted((cache / "tier1").rglob("*.json")) if (cache / "tier1").is_dir() else []


async def _session(ws: Path, cache: Path, delay_ms: int = 0) -> LanguageClient:
    env = {**os.environ, "TFGUARD_CACHE_DIR": str(cache)}
    if delay_ms:
        env["TFGUARD_CHECKOV_IMPORT_DELAY_MS"] = str(delay_ms)
    else:
        env.pop("TFGUARD_CHECKOV_IMPORT_DELAY_MS", None)
    client = await ClientServerConfig(server_command=[sys.executable, "-m", "tfguard", "serve"],
                                      server_env=env).start()
    assert isinstance(client, LanguageClient)
    serve_client_requests(client)
    client.arrivals = record_publishes(client)  # type: ignore[attr-defined]
    await client.initialize_session(init_params(ws, client_capabilities("visual_studio_code"),
                                                {"indexWorkspace": False, "idleDelayMs": 600000}))
    return client


async def _close(client: LanguageClient) -> None:
    await client.shutdown_session()
    await client.stop()


async def _warm(ws: Path, cache: Path) -> None:
    """A first session: Checkov's findings computed, then written to the cache (at the latest at exit)."""
    client = await _session(ws, cache)
    try:
        uri = open_document(client, ws / "main.tf")
        await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_24" in codes(d), timeout=90)
    finally:
        await _close(client)
    deadline = time.monotonic() + 20
    while not _shards(cache) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert _shards(cache), "the first session wrote no tier-1 cache shard"


async def _loading_publish_with(client: LanguageClient, predicate: Callable[[list[lsp.Diagnostic]], bool],
                                version: int = 1) -> list[lsp.Diagnostic]:
    """The first publish of ``version`` made while Checkov's checks were loading that satisfies ``predicate``
    (fails once a publish without the loading notice came first)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for v, diags in client.arrivals:  # type: ignore[attr-defined]
            if v != version:
                continue
            assert _loading(diags), f"Checkov was imported before: {[d.code for d in diags]}"
            if predicate(diags):
                return diags
        await asyncio.sleep(0.02)
    raise AssertionError(f"no such publish: {[(v, [d.code for d in ds]) for v, ds in client.arrivals]}")  # type: ignore[attr-defined]


def _ckv_lines(diags: list[lsp.Diagnostic], code: str) -> list[int]:
    return sorted(d.range.start.line for d in diags if d.code == code)


def _loading(diags: list[lsp.Diagnostic]) -> bool:
    return any(d.code == "tfguard.loading" for d in diags)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    d = tmp_path / "ws"
    d.mkdir()
    (d / "main.tf").write_text(MODULE)
    return d


async def test_reopen_shows_checkovs_findings_from_the_cache_and_an_edit_never_a_stale_one(ws: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    await _warm(ws, cache)
    client = await _session(ws, cache, DELAY_MS)
    try:
        uri = open_document(client, ws / "main.tf")
        # the first answer comes as fast as it can (syntax, tfguard's rules), the cache's at once after it,
        # both while Checkov is not imported (its import starts 12 s late): its findings are the cache's
        cached = await _loading_publish_with(client, lambda d: "CKV_AWS_24" in codes(d))
        assert client.arrivals[0][0] == 1 and _loading(client.arrivals[0][1])  # type: ignore[attr-defined]
        notice = next(d for d in cached if d.code == "tfguard.loading")
        assert "earlier session" in notice.message
        assert _ckv_lines(cached, "CKV_AWS_24") == [BY_VAR_LINE, FIXED_CIDR_LINE]
        # an edit while Checkov still loads: the "fixed" group no longer opens port 22 to the world. The
        # cache holds no result for its new value: it shows no Checkov finding, not the old one
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=lsp.Position(line=FIXED_CIDR_LINE, character=20),
                                end=lsp.Position(line=FIXED_CIDR_LINE, character=29)),
                text="10.0.0.0/8")]))
        edited = await _loading_publish_with(client, lambda d: True, version=2)
        assert _ckv_lines(edited, "CKV_AWS_24") == [BY_VAR_LINE]
        # once Checkov is in, the confirmed answer for version 2, without the notice
        final = await wait_for_diagnostics(client, uri, lambda d: True, timeout=90)
        assert client.arrivals[-1][0] == 2  # type: ignore[attr-defined]
        assert _ckv_lines(final, "CKV_AWS_24") == [BY_VAR_LINE]
    finally:
        await _close(client)


async def test_a_changed_configuration_does_not_use_the_cached_results(ws: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    await _warm(ws, cache)
    (ws / ".checkov.yaml").write_text("skip-check:\n  - CKV_AWS_24\n")
    client = await _session(ws, cache, DELAY_MS)
    try:
        uri = open_document(client, ws / "main.tf")
        final = await wait_for_diagnostics(client, uri, lambda d: any(str(x.code).startswith("CKV") for x in d),
                                           timeout=90)
        seen = client.arrivals  # type: ignore[attr-defined]
        assert _loading(seen[0][1]), "the first publish came after Checkov's import (the test proves nothing)"
        # the results cached under the old selection are never shown under the new one
        for _v, diags in seen:
            assert not _ckv_lines(diags, "CKV_AWS_24"), [(d.code, d.range.start.line) for d in diags]
        assert not _ckv_lines(final, "CKV_AWS_24")
    finally:
        await _close(client)


async def test_a_corrupt_cache_is_ignored_with_one_log_line(ws: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    await _warm(ws, cache)
    for shard in _shards(cache):
        data = bytearray(shard.read_bytes())
        data[-10:-5] = b"XXXXX"  # the checksum no longer matches
        shard.write_bytes(bytes(data))
    client = await _session(ws, cache, DELAY_MS)
    try:
        uri = open_document(client, ws / "main.tf")
        final = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_24" in codes(d), timeout=90)
        seen = client.arrivals  # type: ignore[attr-defined]
        while_loading = [diags for _v, diags in seen if _loading(diags)]
        assert while_loading, "no publish while Checkov was loading (the test proves nothing)"
        for diags in while_loading:  # nothing from the corrupt cache
            assert not any(str(d.code).startswith("CKV") for d in diags), [d.code for d in diags]
        assert _ckv_lines(final, "CKV_AWS_24") == [BY_VAR_LINE, FIXED_CIDR_LINE]
        said = [m.message for m in client.log_messages if "tier-1 result cache" in m.message]
        assert len(said) == 1 and "corrupt" in said[0], said
    finally:
        await _close(client)
