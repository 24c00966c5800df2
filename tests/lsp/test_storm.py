"""Edit storm: 1,000 didChange across several files as fast as possible, with cancelled requests and
out-of-order saves. Afterwards every file's diagnostics equal a fresh analysis of its final text, and no
publish ever carried a version older than one already published for that file.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import SERVER_COMMAND, init_params, open_document, record_versions, serve_client_requests

CONFIG = ClientServerConfig(server_command=SERVER_COMMAND)
CHANGES = 1000

EXTRA = {
    "module/sg.tf": 'resource "aws_security_group" "web" {\n  name = "web"\n  ingress {\n    from_port   = 80\n'
                    '    to_port     = 80\n    protocol    = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n',
    "module/logs.tf": 'resource "aws_cloudwatch_log_group" "app" {\n  name = "app"\n}\n\n'
                      'resource "aws_s3_bucket" "logs" {\n  bucket = var.name\n}\n',
    "other/main.tf": 'resource "aws_ebs_volume" "v" {\n  availability_zone = "eu-west-1a"\n  size = 40\n}\n',
}
SNIPPETS = ['  acl = "private"\n', '  acl = "public-read"\n', "  # note\n", "  versioning {\n", "  }\n", "}\n",
            '"', "{", 'resource "aws_s3_bucket" "x" {\n', "  encrypted = true\n", "x", " ", "\n", "=", "[", "]"]


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, workspace: Path):
    for rel, text in EXTRA.items():
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_text(text)
    serve_client_requests(lsp_client)
    await lsp_client.initialize_session(init_params(
        workspace, client_capabilities("visual_studio_code"), {"indexWorkspace": False, "idleDelayMs": 40}))
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


def _offset(text: str, line: int, char: int) -> int:
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[:line]) + min(char, len(lines[line]))


def _pos(text: str, offset: int) -> lsp.Position:
    before = text[:offset]
    line = before.count("\n")
    return lsp.Position(line=line, character=offset - (before.rfind("\n") + 1))


def _random_edit(rng: random.Random, text: str) -> tuple[lsp.TextDocumentContentChangeEvent, str]:
    """An incremental edit (insert, delete or replace a range) or, sometimes, the whole document."""
    r = rng.random()
    if r < 0.1:
        new = text.replace('"public-read"', '"private"') if rng.random() < 0.5 else text.replace(
            '"private"', '"public-read"')
        return lsp.TextDocumentContentChangeWholeDocument(text=new), new
    a = rng.randrange(len(text) + 1)
    b = a if r < 0.6 else min(len(text), a + rng.randint(1, 12))
    ins = rng.choice(SNIPPETS) if r < 0.85 else ""
    new = text[:a] + ins + text[b:]
    rng_ = lsp.Range(start=_pos(text, a), end=_pos(text, b))
    return lsp.TextDocumentContentChangePartial(range=rng_, text=ins), new


async def _expected(ws: Path, finals: dict[str, str]) -> dict[str, set[tuple[Any, ...]]]:
    """A fresh engine's verdict on the final texts: tier 2 for each module, then tier 1 (as the server merges)."""

    def compute() -> dict[str, set[tuple[Any, ...]]]:
        from tfguard.lsp.convert import finding_to_diagnostic, problem_to_diagnostic, split_lines
        from tfguard.model import Result
        from tfguard.priority import rank
        from tfguard.wiring import make_engine

        engine = make_engine(str(ws))
        for path, text in finals.items():
            engine.set_overlay(path, text)
        for d in sorted({os.path.dirname(p) for p in finals}):
            engine.analyze_module(d)
        out = {}
        for path, text in finals.items():
            fa = engine.analyze_file(path)
            lines = split_lines(text)
            diags = [problem_to_diagnostic(p, lines, "utf-16") for p in fa.problems]
            diags += [finding_to_diagnostic(f, lines, "utf-16", {}) for f in
                      rank([f for f in fa.findings if f.result is Result.FAILED])]
            out[path] = {_key(d) for d in diags}
        return out

    return await asyncio.to_thread(compute)


def _key(d: lsp.Diagnostic) -> tuple[Any, ...]:
    r = d.range
    return (str(d.code), r.start.line, r.start.character, r.end.line, r.end.character)


async def test_edit_storm_converges_to_a_fresh_analysis(client: LanguageClient):
    ws: Path = client.ws  # type: ignore[attr-defined]
    rng = random.Random(20240607)
    paths = [ws / "module" / "main.tf", ws / "module" / "variables.tf", ws / "module" / "sg.tf",
             ws / "module" / "logs.tf", ws / "other" / "main.tf"]
    texts = {p: p.read_text() for p in paths}
    history: dict[Path, list[str]] = {p: [t] for p, t in texts.items()}
    versions = {p: 1 for p in paths}
    record = record_versions(client)
    for p in paths:
        open_document(client, p, texts[p])

    pending: list[asyncio.Future[Any]] = []
    cancelled = saves = 0
    t0 = time.perf_counter()
    for i in range(CHANGES):
        p = rng.choice(paths)
        if i >= CHANGES - len(paths):  # the last change of each file: a known final text (one stays broken)
            p = paths[i - (CHANGES - len(paths))]
            final = history[p][0].replace('"public-read"', '"private"')
            if p.name == "sg.tf":
                final = final.replace("  }\n}\n", "  \n")  # unclosed: a located syntax problem
            change: lsp.TextDocumentContentChangeEvent = lsp.TextDocumentContentChangeWholeDocument(text=final)
            new = final
        else:
            change, new = _random_edit(rng, texts[p])
        versions[p] += 1
        texts[p] = new
        history[p].append(new)
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=p.as_uri(), version=versions[p]),
            content_changes=[change]))
        if i % 7 == 0:  # a request in flight, cancelled at once
            msg_id = f"storm-{i}"
            if i % 3 == 0:  # pull diagnostics: answered from the tier-1 executor, so really in flight
                params: Any = lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=p.as_uri()))
                method = lsp.TEXT_DOCUMENT_DIAGNOSTIC
            elif i % 2:
                params = lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=p.as_uri()),
                                              position=lsp.Position(line=1, character=3))
                method = lsp.TEXT_DOCUMENT_HOVER
            else:
                params = lsp.CodeActionParams(
                    text_document=lsp.TextDocumentIdentifier(uri=p.as_uri()),
                    range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=3, character=0)),
                    context=lsp.CodeActionContext(diagnostics=[]))
                method = lsp.TEXT_DOCUMENT_CODE_ACTION
            pending.append(asyncio.wrap_future(client.protocol.send_request(method, params, msg_id=msg_id)))
            client.protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id=msg_id))
            cancelled += 1
        if i % 53 == 0:  # out-of-order save: the disk gets an older text of another file, then didSave
            q = rng.choice(paths)
            q.write_text(rng.choice(history[q]))
            client.text_document_did_save(lsp.DidSaveTextDocumentParams(
                text_document=lsp.TextDocumentIdentifier(uri=q.as_uri())))
            saves += 1
    sent_in = time.perf_counter() - t0

    # every request is answered (a result or RequestCancelled), none hangs
    done, not_done = await asyncio.wait(pending, timeout=60)
    assert not not_done, f"{len(not_done)} cancelled requests never answered"

    expected = await _expected(ws, {str(p): texts[p] for p in paths})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    mismatch: dict[str, Any] = {}
    while True:
        mismatch = {}
        for p in paths:
            got = client.diagnostics.get(p.as_uri())
            seen = [v for v in record.get(p.as_uri(), []) if v is not None]
            if not seen or seen[-1] != versions[p] or got is None or {_key(d) for d in got} != expected[str(p)]:
                mismatch[p.name] = (seen[-1:] if seen else None, versions[p],
                                    sorted({_key(d) for d in got or []} ^ expected[str(p)]))
        if not mismatch or loop.time() > deadline:
            break
        try:
            await asyncio.wait_for(client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS),
                                   timeout=max(0.1, deadline - loop.time()))
        except asyncio.TimeoutError:
            pass
    assert not mismatch, f"diagnostics differ from a fresh analysis of the final text: {mismatch}"
    for p in paths:
        seen = [v for v in record[p.as_uri()] if v is not None]
        assert seen == sorted(seen), f"{p.name}: a publish went back in version: {seen}"
    assert any(d.code == "tfguard.syntax" for d in client.diagnostics[(ws / "module" / "sg.tf").as_uri()])
    publishes = sum(len(v) for v in record.values())
    print(f"\nstorm: {CHANGES} didChange over {len(paths)} files sent in {sent_in:.2f} s, {cancelled} cancelled "
          f"requests, {saves} out-of-order saves, {publishes} publishes; converged in "
          f"{time.perf_counter() - t0:.1f} s")
