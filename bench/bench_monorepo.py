"""Monorepo scale: 2,000 .tf files in 200 modules; background indexing vs an open file.

Measures, against a real ``tfguard serve`` over stdio:
- indexing time (work-done progress begin -> end) and the server's RSS (peak, end);
- time to the first diagnostics of an open file while indexing runs (and whether indexing was still running);
- edit latency (didChange -> publish of that version) in the open file while indexing runs vs idle.

    python bench/bench_monorepo.py [--modules 200] [--files 10] [--edits 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, client_capabilities

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lsp.conftest import SERVER_COMMAND, init_params, serve_client_requests  # noqa: E402

FILE = '''resource "aws_s3_bucket" "b{i}" {{
  bucket = "acme-{m}-{i}"
  acl    = "{acl}"
}}

resource "aws_security_group" "sg{i}" {{
  name = "sg-{m}-{i}"
  ingress {{
    from_port   = {port}
    to_port     = {port}
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }}
}}

variable "v{i}" {{
  default = "x"
}}
'''


def generate(root: Path, modules: int, files: int) -> None:
    for m in range(modules):
        d = root / f"svc{m:03d}"
        d.mkdir(parents=True)
        for i in range(files):
            (d / f"f{i}.tf").write_text(FILE.format(i=i, m=m, acl="private" if i % 2 else "public-read",
                                                    port=22 if i % 3 == 0 else 443))


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def main(modules: int, files: int, edits: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="tfguard-monorepo-"))
    generate(root, modules, files)
    print(f"workspace: {modules} modules x {files} files = {modules * files} .tf files in {root}")
    client = await ClientServerConfig(server_command=SERVER_COMMAND).start()
    serve_client_requests(client)
    pid = client._server.pid  # type: ignore[attr-defined]
    versions: dict[str, int] = {}
    arrivals: dict[tuple[str, int | None], float] = {}
    orig = client.protocol.fm.features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def on_publish(params: lsp.PublishDiagnosticsParams) -> None:
        arrivals.setdefault((params.uri, params.version), time.perf_counter())
        return orig(params)

    client.protocol.fm.features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = on_publish
    peak = 0.0
    stop = False

    async def sample() -> None:
        nonlocal peak
        while not stop:
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample())
    t0 = time.perf_counter()
    await client.initialize_session(init_params(root, client_capabilities("visual_studio_code"),
                                                {"indexWorkspace": True, "idleDelayMs": 300}))

    def indexing_done() -> bool:
        return any(isinstance(r, lsp.WorkDoneProgressEnd) for reps in client.progress_reports.values() for r in reps)

    async def wait_publish(uri: str, version: int, timeout: float = 120) -> float:
        deadline = time.perf_counter() + timeout
        while (uri, version) not in arrivals:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no publish for {uri} v{version}")
            await asyncio.sleep(0.002)
        return arrivals[(uri, version)]

    target = root / f"svc{modules - 7:03d}" / "f3.tf"
    uri = target.as_uri()
    text = target.read_text()
    await asyncio.sleep(1.0)  # indexing is under way
    t_open = time.perf_counter()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="terraform", version=1, text=text)))
    first = await wait_publish(uri, 1) - t_open
    during_index = not indexing_done()
    print(f"first diagnostics of an open file: {first * 1000:.0f} ms after didOpen "
          f"({'while indexing was still running' if during_index else 'AFTER indexing had finished'})")

    async def edit_latencies(n: int, label: str) -> list[float]:
        out = []
        for k in range(n):
            v = versions.get(uri, 1) + 1
            versions[uri] = v
            new = text.replace('"public-read"', '"private"') if k % 2 else text
            t = time.perf_counter()
            client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=v),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new + f"\n# {label} {k}\n")]))
            out.append(await wait_publish(uri, v) - t)
            await asyncio.sleep(0.05)
        return out

    busy = await edit_latencies(edits, "busy")
    busy_valid = not indexing_done()
    while not indexing_done():
        await asyncio.sleep(0.2)
    t_index = time.perf_counter() - t0
    end_msg = next(r.message for reps in client.progress_reports.values() for r in reps
                   if isinstance(r, lsp.WorkDoneProgressEnd))
    await asyncio.sleep(1.0)
    idle = await edit_latencies(edits, "idle")
    rss_end = rss_mb(pid)
    stop = True
    await sampler
    print(f"indexing: {t_index:.1f} s for {modules} modules ({end_msg}); "
          f"{modules * files / t_index:.0f} files/s")
    print(f"server RSS: peak {peak:.0f} MB, after indexing {rss_end:.0f} MB")
    print(f"edit latency while indexing{'' if busy_valid else ' (indexing ended during the sample)'}: "
          f"median {statistics.median(busy) * 1000:.0f} ms, max {max(busy) * 1000:.0f} ms")
    print(f"edit latency idle: median {statistics.median(idle) * 1000:.0f} ms, max {max(idle) * 1000:.0f} ms")
    await client.shutdown_session()
    await client.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--modules", type=int, default=200)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--edits", type=int, default=20)
    a = ap.parse_args()
    os.environ.setdefault("TFGUARD_CACHE_DIR", tempfile.mkdtemp(prefix="tfguard-cache-"))
    asyncio.run(main(a.modules, a.files, a.edits))
