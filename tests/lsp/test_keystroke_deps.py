"""Over real LSP stdio: edits re-check only what changed (issue 15), and the first answer does not wait
for Checkov's import.

The server's debug log says, for each tier-1 analysis, how many blocks it checked again ("tier 1
main.tf: N of M blocks re-checked: ..."); the tests read it, beside the versioned publishes a user sees.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
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

LOG = Path(tempfile.gettempdir()) / f"tfguard-test-deps-{os.getpid()}.log"
CONFIG = ClientServerConfig(server_command=[sys.executable, "-m", "tfguard", "serve", "-vv", "--log-file", str(LOG)])
# Checkov's import starts 4 s late: long enough that waiting for it would show in the first publish
DELAYED = ClientServerConfig(server_command=[sys.executable, "-m", "tfguard", "serve"],
                             server_env={**os.environ, "TFGUARD_CHECKOV_IMPORT_DELAY_MS": "4000"})

MODULE = '''locals {
  base = "0.0.0.0/0"
}

locals {
  cidr = local.base
}

data "aws_iam_policy_document" "p" {
  statement {
    actions   = ["s3:*"]
    resources = ["*"]
  }
}

resource "aws_security_group" "by_local" {
  name = "by-local"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [local.cidr]
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


def _change(client: LanguageClient, uri: str, version: int, line: int, col: int, end_col: int, text: str) -> None:
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=lsp.Position(line=line, character=col),
                            end=lsp.Position(line=line, character=end_col)),
            text=text)]))


async def _publish(client: LanguageClient, uri: str, version: int, timeout: float = 30) -> list[lsp.Diagnostic]:
    """The diagnostics of the publish for ``version`` (waits for it)."""
    got: dict[int, list[lsp.Diagnostic]] = client.by_version  # type: ignore[attr-defined]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while version not in got:
        assert loop.time() < deadline, f"no publish for version {version}"
        await asyncio.sleep(0.02)
    return got[version]


def _record(client: LanguageClient) -> None:
    """Keep every publish's diagnostics by version (the last one of each version) and in arrival order."""
    client.by_version = {}  # type: ignore[attr-defined]
    client.arrivals = []  # type: ignore[attr-defined]
    features = client.protocol.fm.features
    original = features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def wrapper(params: lsp.PublishDiagnosticsParams) -> object:
        if params.version is not None:
            client.by_version[params.version] = params.diagnostics  # type: ignore[attr-defined]
        client.arrivals.append((params.version, codes(params.diagnostics)))  # type: ignore[attr-defined]
        return original(params)

    features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = wrapper


def _rechecked(version_marker: int) -> list[str]:
    """The "tier 1 main.tf: ..." log lines written since the log had ``version_marker`` characters."""
    text = LOG.read_text(errors="replace")[version_marker:]
    return re.findall(r"tier 1 main\.tf: (\d+ of \d+ blocks re-checked[^\n]*)", text)


def _view(diags: list[lsp.Diagnostic]) -> list[tuple[str, int, int, int, int]]:
    return sorted((str(d.code), d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character)
                  for d in diags)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, tmp_path: Path):
    LOG.unlink(missing_ok=True)
    serve_client_requests(lsp_client)
    _record(lsp_client)
    await lsp_client.initialize_session(init_params(tmp_path, client_capabilities("visual_studio_code"),
                                                    {"indexWorkspace": False, "idleDelayMs": 600000}))
    lsp_client.ws = tmp_path  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()
    LOG.unlink(missing_ok=True)


async def test_whitespace_edit_in_locals_rechecks_nothing_and_moves_every_finding(client: LanguageClient):
    path = client.ws / "main.tf"  # type: ignore[attr-defined]
    path.write_text(MODULE)
    uri = open_document(client, path)
    first = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_24" in codes(d)
                                       and "tfguard.loading" not in codes(d))
    assert sum(1 for d in first if d.code == "CKV_AWS_24") == 2
    await asyncio.sleep(0.3)  # the log line of that analysis is written
    mark = len(LOG.read_text(errors="replace"))
    # Enter twice and a comment inside the first locals block: every block below moves 2 lines down
    _change(client, uri, 2, 1, 0, 0, "\n  # the world\n")
    moved = await _publish(client, uri, 2)
    assert _view(moved) == sorted((c, sl + 2 if sl >= 1 else sl, sc, el + 2 if el >= 1 else el, ec)
                                  for c, sl, sc, el, ec in _view(first))
    await asyncio.sleep(0.3)
    assert _rechecked(mark) and all(line.startswith("0 of") for line in _rechecked(mark))
    # spaces inside the data block: nothing re-checked, nothing moved
    mark = len(LOG.read_text(errors="replace"))
    _change(client, uri, 3, 11, 11, 11, "   ")  # after "actions" in the data block (now line 11)
    assert _view(await _publish(client, uri, 3)) == _view(moved)
    await asyncio.sleep(0.3)
    assert _rechecked(mark) and all(line.startswith("0 of") for line in _rechecked(mark))


async def test_value_edit_in_locals_rechecks_exactly_its_dependents(client: LanguageClient):
    path = client.ws / "main.tf"  # type: ignore[attr-defined]
    path.write_text(MODULE)
    uri = open_document(client, path)
    await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_24" in codes(d) and "tfguard.loading" not in codes(d))
    await asyncio.sleep(0.3)
    mark = len(LOG.read_text(errors="replace"))
    # local.base = "10.0.0.0/8": local.cidr and the group reading it change value; nothing else does
    _change(client, uri, 2, 1, 10, 17, "10.0.0.0/8")
    diags = await _publish(client, uri, 2)
    assert [d.range.start.line for d in diags if d.code == "CKV_AWS_24"] == [31]  # only the fixed one is left
    await asyncio.sleep(0.3)
    lines = _rechecked(mark)
    assert lines and lines[-1].startswith("3 of 5 blocks re-checked"), lines
    assert "resource/aws_security_group/by_local" in lines[-1] and "fixed" not in lines[-1]


@pytest_lsp.fixture(config=DELAYED)
async def delayed(lsp_client: LanguageClient, tmp_path: Path):
    serve_client_requests(lsp_client)
    _record(lsp_client)
    await lsp_client.initialize_session(init_params(tmp_path, client_capabilities("visual_studio_code"),
                                                    {"indexWorkspace": False, "idleDelayMs": 600000}))
    lsp_client.ws = tmp_path  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_first_publish_does_not_wait_for_checkovs_import(delayed: LanguageClient):
    path = delayed.ws / "main.tf"  # type: ignore[attr-defined]
    path.write_text(MODULE.replace('  name = "fixed"', '  name = "fixed"\n  password = "hunter2hunter2"'))
    uri = open_document(delayed, path)
    await wait_for_diagnostics(delayed, uri, lambda d: "CKV_AWS_24" in codes(d), timeout=60)
    arrivals = delayed.arrivals  # type: ignore[attr-defined]
    first_version, first_codes = arrivals[0]
    # the first answer came while Checkov was not imported: syntax and tfguard's rules, and the notice
    assert first_version == 1
    assert "tfguard.loading" in first_codes
    assert not any(c.startswith("CKV") for c in first_codes), first_codes
    assert "TFG_SEC_1" in first_codes  # tfguard's own rules need no Checkov: the hard-coded password is there
    # then the same version again with Checkov's findings, and without the notice
    last_version, last_codes = arrivals[-1]
    assert last_version == 1 and "CKV_AWS_24" in last_codes and "tfguard.loading" not in last_codes


# ------------------------------------------------------------------ tier 2's findings and changed inputs
INPUTS = '''locals {
  ssh_from = "0.0.0.0/0"
}

locals {
  admin_from = "10.0.0.0/8"
}

resource "aws_security_group" "ssh" {
  name        = "ssh"
  description = "ssh"
  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [local.ssh_from]
  }
}

resource "aws_security_group" "admin" {
  name        = "admin"
  description = "admin"
  ingress {
    description = "admin"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [local.admin_from]
  }
}
'''
SSH_LINES, ADMIN_LINES = range(8, 19), range(20, 31)  # the two groups, 0-based


def _first_of(client: LanguageClient, version: int) -> set[tuple[str, str]] | None:
    """(code, which group) of the first publish carrying ``version`` (None: not arrived yet)."""
    for v, diags in client.firsts:  # type: ignore[attr-defined]
        if v == version:
            return {(str(d.code), "ssh" if d.range.start.line in SSH_LINES else
                     "admin" if d.range.start.line in ADMIN_LINES else "-") for d in diags}
    return None


async def _first_publish(client: LanguageClient, version: int, timeout: float = 30) -> set[tuple[str, str]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (got := _first_of(client, version)) is None:
        assert loop.time() < deadline, f"no publish for version {version}"
        await asyncio.sleep(0.02)
    return got


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "tfguard", "serve"]))
async def settling(lsp_client: LanguageClient, tmp_path: Path):
    serve_client_requests(lsp_client)
    lsp_client.firsts = record_publishes(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(init_params(tmp_path, client_capabilities("visual_studio_code"),
                                                    {"indexWorkspace": False, "idleDelayMs": 1500}))
    lsp_client.ws = tmp_path  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_tier1_does_not_keep_tier2_findings_of_a_block_whose_local_changed(settling: LanguageClient):
    """After tier 2 settled, a value edit of the locals alone (the groups' text unchanged) must show at once,
    in tier 1's publish of that version: not the snapshot's findings computed with the old values."""
    path = settling.ws / "main.tf"  # type: ignore[attr-defined]
    path.write_text(INPUTS)
    uri = open_document(settling, path)
    # tier 2 has run: its graph check (a group attached to nothing) is there, for both groups
    settled = await wait_for_diagnostics(settling, uri, lambda d: "CKV2_AWS_5" in codes(d), timeout=120)
    assert sum(1 for d in settled if d.code == "CKV2_AWS_5") == 2
    assert [d.range.start.line in SSH_LINES for d in settled if d.code == "CKV_AWS_24"] == [True]
    # local.ssh_from -> 10.0.0.0/8 (the ssh group passes now), local.admin_from -> 0.0.0.0/0 (the admin one fails)
    settling.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[
            lsp.TextDocumentContentChangePartial(range=lsp.Range(start=lsp.Position(line=1, character=14),
                                                                 end=lsp.Position(line=1, character=23)),
                                                 text="10.0.0.0/8"),
            lsp.TextDocumentContentChangePartial(range=lsp.Range(start=lsp.Position(line=5, character=16),
                                                                 end=lsp.Position(line=5, character=26)),
                                                 text="0.0.0.0/0")]))
    got = await _first_publish(settling, 2)
    assert ("CKV_AWS_24", "admin") in got, got  # the finding the edit makes appears at once
    assert ("CKV_AWS_24", "ssh") not in got, got  # and the one it fixes is not kept from tier 2's snapshot
    # back to the text tier 2 checked (before it runs again): its findings apply again, graph checks included
    settling.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=3),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=INPUTS)]))
    got = await _first_publish(settling, 3)
    assert ("CKV_AWS_24", "ssh") in got and ("CKV_AWS_24", "admin") not in got, got
    assert {("CKV2_AWS_5", "ssh"), ("CKV2_AWS_5", "admin")} <= got, got
    # and tier 2, when it runs again, agrees with what tier 1 showed for version 2's values
    settling.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=4),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(
            text=INPUTS.replace('"0.0.0.0/0"', '"X"').replace('"10.0.0.0/8"', '"0.0.0.0/0"').replace('"X"',
                                                                                                  '"10.0.0.0/8"'))]))
    first = await _first_publish(settling, 4)
    assert ("CKV_AWS_24", "admin") in first and ("CKV_AWS_24", "ssh") not in first, first
    # tier 2 runs again after the idle delay and publishes version 4 once more: it agrees with tier 1
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while sum(1 for v, _d in settling.firsts if v == 4) < 2:  # type: ignore[attr-defined]
        assert loop.time() < deadline, "tier 2 did not run again"
        await asyncio.sleep(0.05)
    last = [diags for v, diags in settling.firsts if v == 4][-1]  # type: ignore[attr-defined]
    assert {"ssh" if d.range.start.line in SSH_LINES else "admin" for d in last if d.code == "CKV_AWS_24"} == {"admin"}
    assert sum(1 for d in last if d.code == "CKV2_AWS_5") == 2
