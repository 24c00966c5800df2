"""Editing flows over real LSP stdio: broken blocks, bursts of edits, encodings, pull mode, progress."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import (
    SERVER_COMMAND,
    codes,
    init_params,
    open_document,
    record_versions,
    serve_client_requests,
    wait_for_diagnostics,
)

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

CONFIG = ClientServerConfig(server_command=SERVER_COMMAND)


async def _start(client: LanguageClient, ws: Path, spec: str, options: dict[str, Any] | None = None,
                 caps: lsp.ClientCapabilities | None = None) -> None:
    serve_client_requests(client)
    opts = {"indexWorkspace": False, "idleDelayMs": 150}
    opts.update(options or {})
    await client.initialize_session(init_params(ws, caps or client_capabilities(spec), opts))


@pytest_lsp.fixture(config=CONFIG)
async def vscode(lsp_client: LanguageClient, workspace: Path):
    await _start(lsp_client, workspace, "visual_studio_code")
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


def _change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))


async def test_broken_block_keeps_other_findings_and_repairs(vscode: LanguageClient):
    path = vscode.ws / "module" / "main.tf"
    good = path.read_text()
    uri = open_document(vscode, path, good)
    await wait_for_diagnostics(vscode, uri, lambda d: {"CKV_AWS_20", "CKV_AWS_24"} <= codes(d))
    # mid-edit: the bucket's acl value is half typed
    broken = good.replace('acl    = "public-read"', "acl    = ")
    _change(vscode, uri, 2, broken)
    diags = await wait_for_diagnostics(vscode, uri, lambda d: "tfguard.syntax" in codes(d))
    syntax = next(d for d in diags if d.code == "tfguard.syntax")
    assert syntax.range.start.line in (2, 3)  # at the broken attribute, not line 0 of the file
    assert "CKV_AWS_24" in codes(diags)  # the other block is still checked
    assert "CKV_AWS_20" in codes(diags)  # the broken block's last good findings stay while typing
    _change(vscode, uri, 3, good.replace('"public-read"', '"private"'))
    diags = await wait_for_diagnostics(
        vscode, uri, lambda d: "tfguard.syntax" not in codes(d) and "CKV_AWS_20" not in codes(d))
    assert "CKV_AWS_24" in codes(diags)


async def test_burst_of_edits_never_publishes_an_older_version(vscode: LanguageClient):
    path = vscode.ws / "module" / "main.tf"
    text = path.read_text()
    uri = open_document(vscode, path, text)
    await wait_for_diagnostics(vscode, uri, lambda d: "CKV_AWS_24" in codes(d))
    record = record_versions(vscode)
    last = 60
    for v in range(2, last + 1):
        # alternate the bucket ACL; the last version is private
        acl = "private" if v == last or v % 2 else "public-read"
        _change(vscode, uri, v, text.replace('"public-read"', f'"{acl}"'))
    await wait_for_diagnostics(
        vscode, uri, lambda d: "CKV_AWS_20" not in codes(d) and record.get(uri, [None])[-1] == last, timeout=60)
    versions = [v for v in record[uri] if v is not None]
    assert versions == sorted(versions), f"published versions went backwards: {versions}"
    assert len(versions) < last  # coalesced: a burst is not analysed edit by edit


async def test_positions_are_utf16_on_lines_with_emoji_and_cjk(vscode: LanguageClient):
    path = vscode.ws / "module" / "main.tf"
    text = path.read_text().replace('  acl    = "public-read"', '  /* 🔥 公開 */ acl = "public-read"')
    uri = open_document(vscode, path, text)
    diags = await wait_for_diagnostics(vscode, uri, lambda d: "CKV_AWS_20" in codes(d))
    d = next(d for d in diags if d.code == "CKV_AWS_20")
    line = text.split("\n")[d.range.start.line]
    prefix = line[: line.index("acl")]
    assert d.range.start.character == len(prefix.encode("utf-16-le")) // 2
    assert d.range.start.character == len(prefix) + 1  # the emoji is two UTF-16 code units


@pytest_lsp.fixture(config=CONFIG)
async def neovim_pull(lsp_client: LanguageClient, workspace: Path):
    await _start(lsp_client, workspace, "neovim@v0.11.0")
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_pull_client_gets_utf8_positions_and_no_push(neovim_pull: LanguageClient):
    client = neovim_pull
    path = client.ws / "module" / "main.tf"
    text = path.read_text().replace('  acl    = "public-read"', '  /* 🔥 公開 */ acl = "public-read"')
    uri = open_document(client, path, text)
    report: Any = None
    for _ in range(100):
        report = await client.text_document_diagnostic_async(
            lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
        if "CKV_AWS_20" in {str(i.code) for i in report.items}:
            break
        await asyncio.sleep(0.2)  # polling as a pull client does; bounded
    d = next(i for i in report.items if i.code == "CKV_AWS_20")
    line = text.split("\n")[d.range.start.line]
    assert d.range.start.character == len(line[: line.index("acl")].encode("utf-8"))
    assert uri not in client.diagnostics  # never both push and pull for one client


@pytest_lsp.fixture(config=CONFIG)
async def indexing(lsp_client: LanguageClient, workspace: Path):
    await _start(lsp_client, workspace, "visual_studio_code", {"indexWorkspace": True})
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_workspace_indexing_reports_progress_and_closed_files(indexing: LanguageClient):
    client = indexing
    uri = (client.ws / "module" / "main.tf").as_uri()  # never opened
    diags = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_24" in codes(d), timeout=60)
    assert diags
    for _ in range(100):
        reports = [r for rs in client.progress_reports.values() for r in rs]
        if any(isinstance(r, lsp.WorkDoneProgressEnd) for r in reports):
            break
        await asyncio.sleep(0.1)
    assert any(isinstance(r, lsp.WorkDoneProgressBegin) for r in reports)
    assert any(isinstance(r, lsp.WorkDoneProgressReport) and r.percentage == 100 for r in reports)
    listing = await client.protocol.send_request_async("tfguard/findings", {})
    found = listing["findings"] if isinstance(listing, dict) else listing.findings
    priorities = [f["priority"] if isinstance(f, dict) else f.priority for f in found]
    assert priorities == sorted(priorities, reverse=True)


async def test_configuration_change_applies_minimum_severity_and_hover(vscode: LanguageClient):
    path = vscode.ws / "module" / "main.tf"
    # the fixture's findings are all on exposed resources (CRITICAL since issue #18): add a private,
    # unencrypted volume whose findings are below CRITICAL
    volume = '\nresource "aws_ebs_volume" "v" {\n  availability_zone = "eu-west-1a"\n  size = 1\n}\n'
    uri = open_document(vscode, path, path.read_text() + volume)
    diags = await wait_for_diagnostics(vscode, uri, lambda d: {"CKV_AWS_24", "CKV_AWS_3"} <= codes(d))
    target = next(d for d in diags if d.code == "CKV_AWS_24")
    hover = await vscode.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=target.range.start))
    assert hover is not None and "CKV_AWS_24" in hover.contents.value
    assert "checkov:skip=CKV_AWS_24" in hover.contents.value
    before = len(diags)
    vscode.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"tfguard": {"minimumSeverity": "CRITICAL"}}))
    after = await wait_for_diagnostics(
        vscode, uri, lambda d: len(d) < before and all(x.severity == lsp.DiagnosticSeverity.Error for x in d))
    assert all(x.message.startswith("[CRITICAL]") for x in after if str(x.code).startswith("CKV"))


async def test_invalid_setting_is_reported_once_and_defaulted(vscode: LanguageClient):
    for _ in range(2):
        vscode.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
            settings={"tfguard": {"idleDelayMs": "soon"}}))
    path = vscode.ws / "module" / "main.tf"
    uri = open_document(vscode, path, path.read_text())
    await wait_for_diagnostics(vscode, uri, lambda d: "CKV_AWS_24" in codes(d))
    shown = [m for m in vscode.messages if "idleDelayMs" in m.message]
    assert len(shown) == 1


async def test_close_of_file_outside_workspace_clears_diagnostics(vscode: LanguageClient, tmp_path: Path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    f = outside / "x.tf"
    f.write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n  acl = "public-read-write"\n}\n')
    uri = open_document(vscode, f, f.read_text())
    await wait_for_diagnostics(vscode, uri, lambda d: len(d) > 0)
    vscode.text_document_did_close(lsp.DidCloseTextDocumentParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri)))
    await wait_for_diagnostics(vscode, uri, lambda d: len(d) == 0)


async def test_bad_tfguard_yaml_gets_a_located_diagnostic_and_recovers(vscode: LanguageClient):
    cfg = vscode.ws / ".tfguard.yaml"
    cfg.write_text("version: 1\nminimum_severity: EXTREME\n")
    path = vscode.ws / "module" / "main.tf"
    uri = open_document(vscode, path, path.read_text())
    await wait_for_diagnostics(vscode, uri, lambda d: "CKV_AWS_24" in codes(d))  # still analysed
    diags = await wait_for_diagnostics(vscode, cfg.as_uri(), lambda d: len(d) > 0)
    assert diags[0].range.start.line == 1
    assert "EXTREME" in diags[0].message or "severity" in diags[0].message.lower()
    cfg.write_text("version: 1\nminimum_severity: LOW\n")
    vscode.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
        changes=[lsp.FileEvent(uri=cfg.as_uri(), type=lsp.FileChangeType.Changed)]))
    await wait_for_diagnostics(vscode, cfg.as_uri(), lambda d: len(d) == 0)


@pytest_lsp.fixture(config=CONFIG)
async def indexing_git(lsp_client: LanguageClient, workspace: Path):
    import subprocess

    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    (workspace / ".gitignore").write_text("generated/\n")
    for skipped in ("generated", ".terraform/modules/m"):
        d = workspace / skipped
        d.mkdir(parents=True)
        (d / "main.tf").write_text('resource "aws_s3_bucket" "x" {\n  bucket = "x"\n  acl = "public-read"\n}\n')
    await _start(lsp_client, workspace, "visual_studio_code", {"indexWorkspace": True})
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_indexing_skips_gitignored_and_terraform_dirs(indexing_git: LanguageClient):
    client = indexing_git
    uri = (client.ws / "module" / "main.tf").as_uri()
    await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_24" in codes(d), timeout=60)
    for _ in range(100):
        reports = [r for rs in client.progress_reports.values() for r in rs]
        if any(isinstance(r, lsp.WorkDoneProgressEnd) for r in reports):
            break
        await asyncio.sleep(0.1)  # bounded wait for the end of indexing
    assert (client.ws / "generated" / "main.tf").as_uri() not in client.diagnostics
    assert (client.ws / ".terraform" / "modules" / "m" / "main.tf").as_uri() not in client.diagnostics
