"""Language-server benchmark over real LSP stdio (not a test): keystroke latency, cold start, RSS.

    .venv/bin/python bench/bench_lsp.py [--edits 40] [--markdown docs/benchmarks-lsp.md]
    .venv/bin/python bench/bench_lsp.py --blocks [--rounds N] [--server-path DIR]   # per-block-kind table
    .venv/bin/python bench/bench_lsp.py --cold-start [--runs 5] [--server-path DIR]

- keystroke -> publishDiagnostics latency (p50/p95) for single-character edits inside a block of
  terragoat files and of a generated 10k-line file (tier 1; tier 2's idle delay is set high so
  it does not run in between);
- cold start: process start -> first diagnostics of a terragoat file;
- RSS of the server with the terragoat workspace open and indexed;
- `checkov -f FILE` for the same files, measured in the same run, and the ratio.

``--blocks``: every top-level block of real module files edited in turn (a value edit and a
whitespace edit, each undone), p50/p95 from didChange to the versioned publish, one row per block
kind. ``--cold-start``: process start -> first diagnostics of a 1,000-line module file, with the
server's own milestones. ``--server-path DIR`` runs the server from another source tree (its
``server/`` folder first on PYTHONPATH), to measure before and after in the same sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pygls.io_
from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora"
TERRAGOAT = CORPORA / "terragoat" / "terraform"
FILES = ["aws/s3.tf", "aws/ec2.tf", "aws/db-app.tf", "azure/storage.tf", "gcp/gcs.tf"]
CHECKOV = ROOT / ".venv" / "bin" / "checkov"


_PUBLISH_HEAD = re.compile(rb'"method":"textDocument/publishDiagnostics","params":\{"uri":"([^"]+)","version":(\d+)')


class _ArrivalJson:
    """Stands in for ``json`` in pygls's reader: notes when a publish's bytes have all arrived,
    before they are parsed (the server's latency without the client's JSON work)."""

    current: Bench | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)

    def loads(self, body: Any, **kwargs: Any) -> Any:
        m = _PUBLISH_HEAD.search(body[:600]) if isinstance(body, bytes) else None
        if m is not None and self.current is not None:
            self.current.raw_events.setdefault((m.group(1).decode(), int(m.group(2))), time.perf_counter())
        return json.loads(body, **kwargs)


pygls.io_.json = _ArrivalJson()  # type: ignore[assignment]


class Bench:
    def __init__(self) -> None:
        self.client = LanguageClient("tfguard-bench", "1")
        self.raw_events: dict[tuple[str, int], float] = {}
        _ArrivalJson.current = self
        self.events: dict[tuple[str, int | None], float] = {}
        self.waiters: dict[tuple[str, int | None], asyncio.Future[float]] = {}
        self.first: dict[str, float] = {}
        self.complete: dict[str, float] = {}  # first publish not saying Checkov's checks are still loading
        self.with_checkov: dict[str, float] = {}  # first publish with Checkov's results of every block (or cached)
        self.indexed = asyncio.Event()

        # The time a publish arrives is taken when its JSON is parsed, before pygls turns it into
        # lsprotocol objects (an editor parses JSON natively; cattrs structuring 500 diagnostics
        # takes the Python client longer than the server took to produce them).
        protocol = self.client.protocol
        structure = protocol.structure_message

        def arrived(data: dict[str, Any]) -> Any:
            if data.get("method") == lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS and "jsonrpc" in data:
                self.record(data["params"]["uri"], data["params"].get("version"))
                notices = [d.get("message", "") for d in data["params"].get("diagnostics", [])
                           if d.get("code") == "tfguard.loading"]
                if not notices or any("earlier session" in m for m in notices):  # every block's, maybe cached
                    self.with_checkov.setdefault(data["params"]["uri"], time.perf_counter())
                if not any(d.get("code") == "tfguard.loading" for d in data["params"].get("diagnostics", [])):
                    self.complete.setdefault(data["params"]["uri"], time.perf_counter())  # with Checkov's checks
            return structure(data)

        protocol.structure_message = arrived  # type: ignore[method-assign]

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _diag(params: lsp.PublishDiagnosticsParams) -> None:
            return None

        @self.client.feature(lsp.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def _progress_create(params: Any) -> None:
            return None

        @self.client.feature(lsp.PROGRESS)
        def _progress(params: Any) -> None:
            value = params.value
            kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
            if kind == "end":
                self.indexed.set()

        @self.client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
        def _register(params: Any) -> None:
            return None

        @self.client.feature(lsp.WORKSPACE_CONFIGURATION)
        def _config(params: lsp.ConfigurationParams) -> list[Any]:
            return [{} for _ in params.items]

    async def start(self, root: Path, options: dict[str, Any]) -> float:
        t0 = time.perf_counter()
        await self.client.start_io(sys.executable, "-m", "tfguard", "serve")
        caps = lsp.ClientCapabilities(window=lsp.WindowClientCapabilities(work_done_progress=True),
                                      workspace=lsp.WorkspaceClientCapabilities(configuration=True))
        await self.client.initialize_async(lsp.InitializeParams(
            capabilities=caps, root_uri=root.as_uri(), initialization_options=options,
            workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)]))
        self.client.initialized(lsp.InitializedParams())
        return t0

    def record(self, uri: str, version: int | None) -> None:
        now = time.perf_counter()
        key = (uri, version)
        self.events.setdefault(key, now)
        self.first.setdefault(uri, now)
        fut = self.waiters.pop(key, None)
        if fut is not None and not fut.done():
            fut.set_result(now)

    def wait(self, uri: str, version: int | None) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        key = (uri, version)
        if key in self.events:
            fut.set_result(self.events[key])
        else:
            self.waiters[key] = fut
        return fut

    async def settled(self, uri: str, quiet: float = 3.0) -> None:
        """Until ``uri`` has a publish with Checkov's findings (a server importing Checkov in the background
        answers without them first), then ``quiet`` seconds more (the rest of that import): keystrokes are
        measured on a warm server."""
        for _ in range(12000):
            if uri in self.complete:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(quiet)

    def open(self, path: Path, text: str) -> str:
        uri = path.as_uri()
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="terraform", version=1, text=text)))
        return uri

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
        except Exception:
            pass
        await self.client.stop()

    def pid(self) -> int | None:
        server = getattr(self.client, "_server", None)
        return getattr(server, "pid", None)


def edit_position(text: str) -> tuple[int, int]:
    """A position inside the first resource block: the end of its first attribute line."""
    lines = text.split("\n")
    inside = False
    for i, line in enumerate(lines):
        if line.startswith("resource "):
            inside = True
            continue
        if inside and "=" in line and line.strip().endswith('"'):
            return i, len(line) - 1  # inside the closing quote of a string value
    return 1, 0


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p * (len(s) - 1))))]


async def keystrokes(path: Path, edits: int, newline: bool = False) -> tuple[float, float, float, float]:
    """Return (cold first-diagnostics seconds, p50 ms, p95 ms) for single-character edits inside a
    line, or (``newline``) for Enter pressed at the end of that line and undone, alternately: every
    such edit moves all the blocks below it by one line."""
    b = Bench()
    t0 = await b.start(path.parent, {"indexWorkspace": False, "idleDelayMs": 600000})
    text = path.read_text()
    uri = b.open(path, text)
    first = await asyncio.wait_for(b.wait(uri, 1), 60)
    cold = first - t0
    await b.settled(uri)
    line, col = edit_position(text)
    if newline:
        col = len(text.split("\n")[line])
    lat: list[float] = []
    raw: list[float] = []
    for v in range(2, edits + 2):
        if newline:
            end = lsp.Position(line=line, character=col) if v % 2 == 0 else lsp.Position(line=line + 1, character=0)
            change = lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=lsp.Position(line=line, character=col), end=end), text="\n" if v % 2 == 0 else "")
        else:
            change = lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=lsp.Position(line=line, character=col),
                                end=lsp.Position(line=line, character=col + (0 if v == 2 else 1))),
                text="x" if v % 2 else "y")
        sent = time.perf_counter()
        fut = b.wait(uri, v)
        b.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=v), content_changes=[change]))
        got = await asyncio.wait_for(fut, 30)
        lat.append((got - sent) * 1000)
        raw.append((b.raw_events.get((uri, v), got) - sent) * 1000)
    await b.stop()
    return cold, pct(lat, 0.5), pct(lat, 0.95), pct(raw, 0.95)


async def rss_indexed(root: Path) -> tuple[float, float]:
    """(indexing seconds, RSS MB) for the whole workspace, one file open."""
    b = Bench()
    t0 = await b.start(root, {"indexWorkspace": True})
    b.open(root / "aws" / "s3.tf", (root / "aws" / "s3.tf").read_text())
    await asyncio.wait_for(b.indexed.wait(), 300)
    took = time.perf_counter() - t0
    rss = 0.0
    pid = b.pid()
    if pid:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
    await b.stop()
    return took, rss


def checkov_f(path: Path) -> float:
    t = time.perf_counter()
    subprocess.run([str(CHECKOV), "-f", str(path), "--framework", "terraform", "--skip-download", "--quiet",
                    "-o", "json"], capture_output=True, check=False)
    return time.perf_counter() - t


def generated(dest: Path, lines: int = 10_000) -> Path:
    """A 10k-line file: renamed copies of terragoat's ec2.tf (unique resource addresses)."""
    src = (TERRAGOAT / "aws" / "ec2.tf").read_text().split("\n")
    out: list[str] = []
    n = 0
    while len(out) < lines:
        for ln in src:
            if ln.startswith(("resource ", "data ")) and ln.rstrip().endswith("{"):
                head, _, _ = ln.rstrip()[:-1].rstrip().rpartition('"')
                ln = f'{head}_{n}" {{'
                n += 1
            out.append(ln)
    target = dest / "big" / "main.tf"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(out))
    return target


# ---------------------------------------------------------------- time to the authoritative result
AUTH_SECTION = "## Time to the authoritative result after a save"

APP_MODULE = """variable "name" {
  type = string
}

variable "cidr" {
  type    = string
  default = "10.0.0.0/8"
}

resource "aws_s3_bucket" "data" {
  bucket = var.name
}

resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_security_group" "app" {
  name        = var.name
  description = "app"
  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.cidr]
  }
}

resource "aws_instance" "app" {
  ami                    = "ami-123"
  instance_type          = "t3.micro"
  vpc_security_group_ids = [aws_security_group.app.id]
}

output "bucket" {
  value = aws_s3_bucket.data.id
}
"""


def generated_examples(dest: Path, n: int = 30) -> Path:
    """A module repository: ``modules/app`` and ``n`` examples calling it (each its own call name)."""
    root = dest / "examples-tree"
    (root / "modules" / "app").mkdir(parents=True)
    (root / "modules" / "app" / "main.tf").write_text(APP_MODULE)
    for i in range(1, n + 1):
        d = root / "examples" / f"ex{i:02d}"
        d.mkdir(parents=True)
        cidr = "0.0.0.0/0" if i % 3 == 0 else f"10.{i}.0.0/16"
        (d / "main.tf").write_text(f'module "app_{i:02d}" {{\n  source = "../../modules/app"\n'
                                   f'  name   = "ex{i:02d}"\n  cidr   = "{cidr}"\n}}\n')
    return root


def checkov_d(root: Path) -> float:
    t = time.perf_counter()
    subprocess.run([str(CHECKOV), "-d", str(root), "--framework", "terraform", "--skip-download", "--quiet",
                    "-o", "json"], capture_output=True, check=False)
    return time.perf_counter() - t


def edited_text(text: str, kind: str, v: int) -> str:
    """The saved text: ``comment`` appends a comment (the parsed values stay the same, so Checkov's graph
    inputs do too), ``value`` appends a ``locals`` block whose value changes with each save (a new parse:
    Checkov's graph is built again)."""
    if kind == "value":
        return text + f"\nlocals {{\n  tfguard_bench_edit = {v}\n}}\n"
    return text + f"\n# edit {v}\n"


async def save_to_authoritative(root: Path, edited: list[Path], saves: int,
                                kinds: tuple[str, ...] = ("comment",)) -> list[tuple[str, str, float, float, str]]:
    """For each file of ``edited`` and edit kind: median and worst seconds from didSave (after an edit that
    changes the text, see :func:`edited_text`) to the ``idle`` status that follows the published full check,
    and what ran."""
    b = Bench()
    statuses: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    @b.client.feature("tfguard/status")
    def _status(params: Any) -> None:
        get = params.get if isinstance(params, dict) else lambda k, d=None: getattr(params, k, d)
        statuses.append({"state": get("state"), "message": get("message", ""), "t": time.perf_counter()})
        arrived.set()

    async def idle_after(mark: int, timeout: float) -> dict[str, Any]:
        deadline = time.perf_counter() + timeout
        while True:
            for st in statuses[mark:]:
                if st["state"] == "idle":
                    return st
            arrived.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no idle status within {timeout}s")
            try:
                await asyncio.wait_for(arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    await b.start(root, {"indexWorkspace": True, "idleDelayMs": 600000})
    await idle_after(0, 900)  # indexing: every unit once (warm memory, as after opening the workspace)
    out = []
    v = 1
    uris: dict[Path, str] = {}
    for path, kind in ((p, k) for p in edited for k in kinds):
        text = path.read_text()
        if path not in uris:
            uris[path] = b.open(path, text)
        uri = uris[path]
        times: list[float] = []
        ran = ""
        for _ in range(saves):
            v += 1
            new = edited_text(text, kind, v)  # new text: the units reading this folder are stale
            b.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=v),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new)]))
            mark = len(statuses)
            sent = time.perf_counter()
            b.client.text_document_did_save(lsp.DidSaveTextDocumentParams(
                text_document=lsp.TextDocumentIdentifier(uri=uri)))
            st = await idle_after(mark, 900)
            times.append(st["t"] - sent)
            ran = st["message"].split(": ", 1)[-1]
        times.sort()
        out.append((os.path.relpath(path, root), kind, times[len(times) // 2], times[-1], ran))
    await b.stop()
    return out


async def authoritative(saves: int, only: tuple[str, ...] = (), kinds: tuple[str, ...] = ("comment",),
                        label: str | None = None) -> str:
    """The table of the time to the authoritative result, beside ``checkov -d`` of each tree (same run).

    ``only``: the trees measured (names of the table, "generated" for the generated tree); all when empty.
    ``kinds``: the edits before each save (:func:`edited_text`)."""
    work = Path(tempfile.mkdtemp(prefix="tfguard-bench-auth-"))
    trees: list[tuple[str, Path, list[str]]] = []
    for name, edited in (("terraform-aws-vpc", ["examples/complete/main.tf", "main.tf"]),
                         ("terraform-aws-s3-bucket", ["examples/complete/main.tf", "main.tf"]),
                         ("terragoat", ["terraform/aws/s3.tf"])):
        if (CORPORA / name).is_dir():
            shutil.copytree(CORPORA / name, work / name)
            root = work / name / "terraform" if name == "terragoat" else work / name
            trees.append((name, root, [str(work / name / e) for e in edited]))
    gen = generated_examples(work)
    trees.append(("generated: 30 examples, one module", gen,
                  [str(gen / "examples" / "ex07" / "main.tf"), str(gen / "modules" / "app" / "main.tf")]))
    if only:
        trees = [t for t in trees if any(t[0].startswith(o) for o in only)]
    rows = []
    for name, root, edited in trees:
        ck = checkov_d(root)
        for rel, kind, med, worst, ran in await save_to_authoritative(root, [Path(e) for e in edited], saves, kinds):
            rows.append((name, rel, kind, med, worst, ck, ck / med, ran))
            print(rows[-1], flush=True)
    shutil.rmtree(work, ignore_errors=True)
    lines = [AUTH_SECTION, "",
             f"Measured by `bench/bench_lsp.py --authoritative` over real LSP stdio ({saves} saves per file, "
             "each after an edit; 2 cores): didSave to the `tfguard/status` idle notification that follows the "
             "published full check (`tfguard scan` of the workspace folder on the unsaved text), beside "
             "`checkov -d` of the same tree in the same run.", "",
             "| tree | file saved | edit | to authoritative, median s | worst s | checkov -d s "
             "| checkov -d / median | what ran |", "|---|---|---|---:|---:|---:|---:|---|"]
    for name, rel, kind, med, worst, ck, ratio, ran in rows:
        lines.append(f"| {name} | {rel} | {kind} | {med:.2f} | {worst:.2f} | {ck:.2f} | {ratio:.1f}x | {ran} |")
    if label:
        lines += ["", f"Server measured: {label}."]
    return "\n".join(lines)


def write_section(path: Path, heading: str, body: str) -> None:
    """Replace the section starting at ``heading`` (to the next ``## ``) in ``path``, or append it."""
    text = path.read_text() if path.exists() else "# Language-server benchmark\n"
    start = text.find(heading)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    else:
        nxt = text.find("\n## ", start + len(heading))
        text = text[:start] + body + "\n" + (text[nxt + 1:] if nxt >= 0 else "")
    path.write_text(text)
# ------------------------------------------------------------------ per block kind (issue 15)
# Real module files whose top-level blocks are edited in turn. Together they hold every block kind
# of the table: terraform-aws-vpc's main.tf (resources, locals), a terragoat file (resources, data,
# locals, outputs), terragoat's consts.tf (variables, data, locals), an example calling the module.
BLOCK_FILES = [
    ("terraform-aws-vpc", "main.tf"),
    ("terragoat", "terraform/aws/eks.tf"),
    ("terragoat", "terraform/aws/consts.tf"),
    ("terraform-aws-vpc", "examples/complete/main.tf"),
]
BLOCK_KINDS = ("resource", "data", "locals", "variable", "module", "output")
_HEADER = re.compile(r'^(resource|data|module|provider|variable|output|locals|terraform)\b[^\n]*\{\s*(?:\}\s*)?$')
_LITERAL = re.compile(r'(?:=|\(|,|\[|\?|:)\s*"([^"\\$\n]*)"')  # a string literal in value position
_NUMBER = re.compile(r'(?:=|\?|:|,|\(|\[)\s*(\d+)\b')


def top_level_blocks(text: str) -> list[tuple[str, int, int]]:
    """(kind, first line, last line) of each top-level block (column-0 header to column-0 ``}``)."""
    lines = text.split("\n")
    out: list[tuple[str, int, int]] = []
    i = 0
    while i < len(lines):
        m = _HEADER.match(lines[i])
        if m is None:
            i += 1
            continue
        if lines[i].rstrip().endswith("}"):  # data "x" "y" {}
            out.append((m.group(1), i, i))
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "}":
            j += 1
        out.append((m.group(1), i, j))
        i = j + 1
    return out


def value_edit_at(lines: list[str], first: int, last: int, kind: str) -> tuple[int, int, str] | None:
    """Where a value edit of the block goes: (line, column, inserted text), inside a literal value.

    A variable's ``default`` is preferred (the value others read), then the first string literal in
    value position (a character inserted before its closing quote), then a number (a digit appended).
    Comment lines are passed over."""
    body = [i for i in range(first + 1, last) if not lines[i].lstrip().startswith(("#", "//"))]
    if kind == "variable":
        body = sorted(body, key=lambda i: not lines[i].strip().startswith("default"))
    for i in body:
        m = _LITERAL.search(lines[i])
        if m is not None:
            return i, m.end(1), "x"
    for i in body:
        m = _NUMBER.search(lines[i])
        if m is not None:
            return i, m.end(1), "1"
    return None


def whitespace_edit_at(lines: list[str], first: int, last: int) -> tuple[int, int, str]:
    """A space that changes no value: at the start of the block's first body line (or, for ``x {}``,
    before its ``}``)."""
    if last > first + 1:
        return first + 1, 0, " "
    ln = lines[first].rstrip()
    return first, len(ln) - 1, " "


async def block_edits(path: Path, root: Path, rounds: int = 1,
                      worst: list[tuple[float, str]] | None = None) -> tuple[dict[tuple[str, str], list[float]], int]:
    """Latencies (ms) by (block kind, "value" | "whitespace") for every top-level block of ``path``:
    each edit and its undo are two measured versions. Returns them and the number of blocks.

    ``rounds``: every block edited that many times over; each round types another character (``x``,
    ``y``, …; a number gets another digit appended), so each round's value edit is a value not seen
    before (not a result kept from an earlier round), and its undo the file's own text.

    ``worst``: if given, every sample is appended to it as (ms, where), where naming the file, round,
    block kind and line, the edit or its undo."""
    b = Bench()
    await b.start(root, {"indexWorkspace": False, "idleDelayMs": 600000})
    text = path.read_text()
    uri = b.open(path, text)
    await asyncio.wait_for(b.wait(uri, 1), 120)
    await b.settled(uri)
    lines = text.split("\n")
    blocks = top_level_blocks(text)
    out: dict[tuple[str, str], list[float]] = {}
    version = 1

    async def change(line: int, col: int, end_col: int, new: str) -> float:
        nonlocal version
        version += 1
        fut = b.wait(uri, version)
        sent = time.perf_counter()
        b.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=lsp.Position(line=line, character=col),
                                end=lsp.Position(line=line, character=end_col)), text=new)]))
        got = await asyncio.wait_for(fut, 60)
        return (got - sent) * 1000

    for r in range(rounds):
        for kind, first, last in blocks:
            edits = []
            ve = value_edit_at(lines, first, last, kind)
            if ve is not None:
                line, col, new = ve
                edits.append(("value", (line, col, "xyzwvutsrq"[r % 10] if new == "x" else str((r + 1) % 10))))
            edits.append(("whitespace", whitespace_edit_at(lines, first, last)))
            for what, (line, col, new) in edits:
                bucket = out.setdefault((kind, what), [])
                for step, (end, typed) in (("edit", (col, new)), ("undo", (col + len(new), ""))):
                    ms = await change(line, col, end, typed)  # the edit, then its undo: the text as it was
                    bucket.append(ms)
                    if worst is not None:
                        worst.append((ms, f"{path.name} round {r + 1} {kind} line {first + 1} {what} {step}"))
    await b.stop()
    return out, len(blocks)


async def blocks_main(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="tfguard-bench-blocks-"))
    by: dict[tuple[str, str], list[float]] = {}
    files: list[str] = []
    checkov: list[float] = []
    worst: list[tuple[float, str]] = []
    for corpus, rel in BLOCK_FILES:
        if not (work / corpus).is_dir():
            shutil.copytree(CORPORA / corpus, work / corpus)
        path = work / corpus / rel
        got, nblocks = await block_edits(path, work / corpus, args.rounds, worst)
        for k, v in got.items():
            by.setdefault(k, []).extend(v)
        files.append(f"{corpus}/{rel} ({nblocks} blocks)")
        checkov.append(checkov_f(path))
    label = args.label or ("server from " + args.server_path if args.server_path else "this tree")
    out = [f"{label}: " + ", ".join(files) + f"; {args.rounds} round(s); `checkov -f` of those files: "
           + ", ".join(f"{c:.2f}" for c in checkov) + " s.", "",
           "| block kind | edits (value / whitespace) | value p50 ms | value p95 ms | whitespace p50 ms "
           "| whitespace p95 ms | all p95 ms |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for kind in BLOCK_KINDS:
        v = by.get((kind, "value"), [])
        w = by.get((kind, "whitespace"), [])
        if not v and not w:
            continue

        def f(xs: list[float], p: float) -> str:
            return f"{pct(xs, p):.1f}" if xs else "-"

        out.append(f"| {kind} | {len(v)} / {len(w)} | {f(v, 0.5)} | {f(v, 0.95)} | {f(w, 0.5)} | {f(w, 0.95)} "
                   f"| {f(v + w, 0.95)} |")
    text = "\n".join(out)
    print(text)
    if args.worst:
        print(f"\nslowest {args.worst} samples:")
        for ms, where in sorted(worst, reverse=True)[:args.worst]:
            print(f"  {ms:8.1f} ms  {where}")
    if args.markdown:
        with open(args.markdown, "a") as fh:
            fh.write(text + "\n\n")
    shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------ cold start (issue 15)
def thousand_lines(dest: Path) -> Path:
    """terraform-aws-vpc's module with its main.tf cut to the top-level blocks of its first 1,000 lines."""
    shutil.copytree(CORPORA / "terraform-aws-vpc", dest / "vpc1000", ignore=shutil.ignore_patterns("examples"))
    main = dest / "vpc1000" / "main.tf"
    lines = main.read_text().split("\n")
    end = max(last for _k, _f, last in top_level_blocks("\n".join(lines)) if last < 1000)  # whole blocks only
    main.write_text("\n".join(lines[:end + 1]) + "\n")
    return main


async def cold_start_once(path: Path) -> tuple[float, float, float, float]:
    """Seconds from process start to: initialize answered, the first diagnostics of ``path``, the first
    diagnostics with Checkov's results for every block (from tier 1's result cache while Checkov loads, when it
    has them all, as the loading notice says), the first diagnostics not saying Checkov's checks are still
    loading (confirmed). didOpen follows initialize."""
    b = Bench()
    t0 = await b.start(path.parent, {"indexWorkspace": False, "idleDelayMs": 600000})
    t_init = time.perf_counter()
    uri = b.open(path, path.read_text())
    first = await asyncio.wait_for(b.wait(uri, 1), 120)
    for _ in range(1200):
        if uri in b.complete:
            break
        await asyncio.sleep(0.01)
    await b.stop()
    return (t_init - t0, first - t0, b.with_checkov.get(uri, float("nan")) - t0,
            b.complete.get(uri, float("nan")) - t0)


COLD_HEAD = ("| server | cache | lines | runs | initialize answered p50 s | first diagnostics p50 s (min–max) "
             "| first with Checkov's findings (cached or confirmed) p50 s (min–max) "
             "| confirmed (no loading notice) p50 s (min–max) "
             "| checkov -f s |\n|---|---|---:|---:|---:|---:|---:|---:|---:|")


async def cold_main(args: argparse.Namespace) -> None:
    """Both kinds of start, alternating: "first open" (an empty tier-1 cache directory each run) and
    "reopen" (the cache a previous session of the same workspace wrote, primed by one unmeasured run)."""
    work = Path(tempfile.mkdtemp(prefix="tfguard-bench-cold-"))
    path = thousand_lines(work)
    nlines = path.read_text().count("\n")
    warm_dir = work / "cache-warm"
    os.environ["TFGUARD_CACHE_DIR"] = str(warm_dir)
    await cold_start_once(path)  # primes the reopen cache (written at the latest when the server exits)
    runs: dict[str, list[tuple[float, float, float, float]]] = {"first open": [], "reopen": []}
    for i in range(args.runs):
        os.environ["TFGUARD_CACHE_DIR"] = str(work / f"cache-empty-{i}")
        runs["first open"].append(await cold_start_once(path))
        os.environ["TFGUARD_CACHE_DIR"] = str(warm_dir)
        runs["reopen"].append(await cold_start_once(path))
    ck = checkov_f(path)
    label = args.label or ("server from " + args.server_path if args.server_path else "this tree")

    def cell(xs: list[float]) -> str:
        return f"{pct(xs, 0.5):.2f} ({min(xs):.2f}–{max(xs):.2f})"

    lines = []
    for kind, rs in runs.items():
        inits, firsts, ckvs, completes = ([r[i] for r in rs] for i in range(4))
        lines.append(f"| {label} | {kind} | {nlines} | {len(rs)} | {pct(inits, 0.5):.2f} | {cell(firsts)} "
                     f"| {cell(ckvs)} | {cell(completes)} | {ck:.2f} |")
    text = "\n".join(lines)
    print(COLD_HEAD)
    print(text)
    if args.markdown:
        with open(args.markdown, "a") as fh:
            fh.write(text + "\n")
    shutil.rmtree(work, ignore_errors=True)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--edits", type=int, default=40)
    ap.add_argument("--markdown", default=None)
    ap.add_argument("--authoritative", action="store_true",
                    help="only the time from didSave to the authoritative result (its own section of --markdown)")
    ap.add_argument("--saves", type=int, default=3)
    ap.add_argument("--trees", default="", help="--authoritative: comma-separated trees (name prefixes); all if empty")
    ap.add_argument("--edit", default="comment,value",
                    help="--authoritative: edit kinds before each save: comment (no parsed value changes), value")
    ap.add_argument("--blocks", action="store_true", help="per-block-kind edit latency (value and whitespace edits)")
    ap.add_argument("--rounds", type=int, default=1, help="--blocks: every block edited this many times over")
    ap.add_argument("--worst", type=int, default=0, help="--blocks: list this many slowest samples, with where")
    ap.add_argument("--cold-start", action="store_true", help="process start -> first diagnostics, 1,000-line file")
    ap.add_argument("--runs", type=int, default=5, help="cold starts measured (--cold-start)")
    ap.add_argument("--server-path", default=None, help="run the server from this source tree (DIR/server)")
    ap.add_argument("--label", default=None, help="name of the measured server in the table")
    args = ap.parse_args()
    if args.server_path:
        os.environ["PYTHONPATH"] = os.path.join(os.path.abspath(args.server_path), "server")
    if args.authoritative:
        table = await authoritative(args.saves, tuple(t for t in args.trees.split(",") if t),
                                    tuple(k for k in args.edit.split(",") if k), args.label)
        print(table)
        if args.markdown:
            write_section(Path(args.markdown), AUTH_SECTION, table)
        return
    if args.blocks:
        await blocks_main(args)
        return
    if args.cold_start:
        await cold_main(args)
        return
    if not TERRAGOAT.is_dir():
        sys.exit(f"corpora not found at {CORPORA}")
    work = Path(tempfile.mkdtemp(prefix="tfguard-bench-lsp-"))
    shutil.copytree(TERRAGOAT, work / "terragoat")
    rows = []
    targets = [work / "terragoat" / f for f in FILES] + [generated(work)]
    for path in targets:
        cold, p50, p95, r95 = await keystrokes(path, args.edits)
        _, n50, n95, nr95 = await keystrokes(path, args.edits, newline=True)
        ck = checkov_f(path)
        nlines = path.read_text().count("\n") + 1
        rows.append((os.path.relpath(path, work), nlines, p50, p95, n50, n95, r95, nr95, cold, ck,
                     ck * 1000 / max(p95, n95)))
    took, rss = await rss_indexed(work / "terragoat")
    out = ["| file | lines | in-line edit p50 ms | in-line p95 ms | Enter p50 ms | Enter p95 ms "
           "| p95 at arrival, in-line / Enter ms | cold start s | checkov -f s | checkov -f / worst p95 |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r[0]} | {r[1]} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.1f} | {r[5]:.1f} | {r[6]:.1f} / {r[7]:.1f} "
                   f"| {r[8]:.2f} | {r[9]:.2f} | {r[10]:.0f}x |")
    out.append("")
    out.append(f"Workspace (terragoat, {sum(1 for _ in (work / 'terragoat').rglob('*.tf'))} files): "
               f"indexed in {took:.1f} s, server RSS {rss:.0f} MB after indexing.")
    text = "\n".join(out)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(
            "# Language-server benchmark\n\nMeasured by `bench/bench_lsp.py` over real LSP stdio "
            f"({args.edits} single-character edits per file; 2 cores).\n\n" + text + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
