"""The editor's settled result equals `tfguard scan <workspace folder>`, file by file, over real LSP sessions.

For every ``.tf`` file of terraform-aws-vpc and terraform-aws-s3-bucket (copied to tmp): the set of
(check id, line, severity) the editor shows once the full check has settled equals the failed findings
`tfguard scan` of the repository root reports for that file, module-instance findings of every caller
included (shown once per check and line). No tolerated difference. Then, on a small tree of the same
shape (an example calling a module), an unsaved edit of the example's module input makes the module
file's finding appear and, undone, disappear, the module file untouched.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.conftest import CORPORA
from tests.lsp.conftest import SERVER_COMMAND, init_params, open_document, serve_client_requests

pytestmark = pytest.mark.slow

CONFIG = ClientServerConfig(server_command=SERVER_COMMAND)
Key = tuple[str, int, str]  # check id, 1-based block line, severity
RANK = {"INFO": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}


def scan_keys(root: Path) -> dict[str, set[Key]]:
    """`tfguard scan root -o json` (no cache): failed findings per absolute file."""
    env = dict(os.environ, TFGUARD_CACHE_DIR="")
    proc = subprocess.run([sys.executable, "-m", "tfguard", "scan", str(root), "-o", "json", "--no-daemon"],
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["summary"]["problems"] == 0, report.get("problems")
    # one record per module instance in the scan, each as severe as its own caller; the editor shows a
    # module-instance finding once per check and block, as severe as its most severe caller
    worst: dict[tuple[str, str, int], str] = {}
    for f in report["findings"]:
        if f["result"] == "FAILED":
            key = (f["file_abs_path"], f["check_id"], f["line_range"][0])
            if key not in worst or RANK[f["severity"]] > RANK[worst[key]]:
                worst[key] = f["severity"]
    out: dict[str, set[Key]] = {}
    for (file, check, line), severity in worst.items():
        out.setdefault(file, set()).add((check, line, severity))
    return out


def editor_keys(diags: list[lsp.Diagnostic]) -> set[Key]:
    return {(str(d.code), int(d.data["blockStartLine"]), str(d.data["severity"]))
            for d in diags if isinstance(d.data, dict) and "checkId" in d.data}


def watch_status(client: LanguageClient) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    @client.feature("tfguard/status")
    def _status(params: Any) -> None:
        seen.append({"state": getattr(params, "state", None), "message": getattr(params, "message", "")})

    return seen


async def settled(seen: list[dict[str, Any]], after: int, timeout: float) -> dict[str, Any]:
    """The first ``idle`` status past index ``after`` (the full check ended and was published)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for s in seen[after:]:
            if s["state"] == "idle":
                return s
        await asyncio.sleep(0.1)
    raise AssertionError(f"the full check did not settle within {timeout}s: {seen[after:]}")


@pytest.fixture
def corpus_copy(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    src = CORPORA / request.param
    if not src.is_dir():
        pytest.skip(f"shared corpus {src} not present")
    dest = tmp_path / request.param
    shutil.copytree(src, dest)
    return dest


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    serve_client_requests(lsp_client)
    yield lsp_client
    await lsp_client.shutdown_session()


@pytest.mark.parametrize("corpus_copy", ["terraform-aws-s3-bucket", "terraform-aws-vpc"], indirect=True)
async def test_settled_diagnostics_equal_the_repository_scan(corpus_copy: Path, client: LanguageClient):
    # corpus_copy first: without the corpora it skips before a server is started (whose teardown, on a
    # session never initialized, would wait for ever)
    root = corpus_copy
    seen = watch_status(client)
    scan = asyncio.get_running_loop().run_in_executor(None, scan_keys, root)
    await client.initialize_session(init_params(root, client_capabilities("visual_studio_code"),
                                                {"indexWorkspace": True, "idleDelayMs": 100}))
    # a module file and an example open, as a user has them: open documents go through tier 1's merge
    opened = [root / "main.tf", root / "examples" / "complete" / "main.tf"]
    for p in opened:
        open_document(client, p)
    await settled(seen, 0, timeout=300)
    mark = len(seen)
    # the opens scheduled a full check of their folders too: wait for it (answered from memory)
    await settled(seen, mark, timeout=300)
    await asyncio.sleep(1.0)  # open documents are re-merged through tier 1 right after the full check
    want = await scan
    files = sorted(str(p) for p in root.rglob("*.tf") if ".terraform" not in p.parts)
    assert len(files) > 20
    module_instance = 0
    diffs = []
    for f in files:
        uri = Path(f).as_uri()
        diags = list(client.diagnostics.get(uri, []))
        problems = [d for d in diags if not (isinstance(d.data, dict) and "checkId" in d.data)]
        assert not problems, (f, [(d.code, d.message) for d in problems])
        got = editor_keys(diags)
        if got != want.get(f, set()):
            diffs.append((os.path.relpath(f, root), sorted(want.get(f, set()) - got), sorted(got - want.get(f, set()))))
        module_instance += sum(1 for d in diags if d.related_information)
    assert not diffs, diffs  # (file, missing in the editor, extra in the editor)
    assert module_instance > 0  # module files show their callers' findings, linked to each call
    vias = [d for d in client.diagnostics.get((root / "main.tf").as_uri(), []) if d.related_information]
    assert vias and all(" via module." in d.message for d in vias)
    for d in vias:
        for info in d.related_information or []:
            assert info.location.uri.startswith(root.as_uri()) and info.location.uri != (root / "main.tf").as_uri()


MODULE = ('variable "cidr" {\n  default = "10.0.0.0/8"\n}\n\nresource "aws_security_group" "sg" {\n'
          '  name        = "x"\n  description = "x"\n  ingress {\n    description = "ssh"\n    from_port   = 22\n'
          '    to_port     = 22\n    protocol    = "tcp"\n    cidr_blocks = [var.cidr]\n  }\n}\n')
EXAMPLE = 'module "sg" {\n  source = "../../modules/sg"\n  cidr   = "10.1.0.0/16"\n}\n'


async def test_unsaved_caller_edit_changes_the_module_files_findings(client: LanguageClient, tmp_path: Path):
    root = tmp_path / "repo"
    (root / "modules" / "sg").mkdir(parents=True)
    (root / "modules" / "sg" / "main.tf").write_text(MODULE)
    for name in ("complete", "simple"):
        (root / "examples" / name).mkdir(parents=True)
        (root / "examples" / name / "main.tf").write_text(EXAMPLE.replace('"sg"', f'"sg_{name}"'))
    seen = watch_status(client)
    await client.initialize_session(init_params(root, client_capabilities("visual_studio_code"),
                                                {"indexWorkspace": True, "idleDelayMs": 100}))
    module_uri = (root / "modules" / "sg" / "main.tf").as_uri()
    example = root / "examples" / "complete" / "main.tf"
    uri = open_document(client, example)
    await settled(seen, 0, timeout=120)
    await asyncio.sleep(0.5)
    assert "CKV_AWS_24" not in {str(d.code) for d in client.diagnostics.get(module_uri, [])}

    def change(version: int, text: str) -> None:
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))

    mark = len(seen)
    change(2, example.read_text().replace("10.1.0.0/16", "0.0.0.0/0"))  # unsaved: the disk keeps the old text
    await settled(seen, mark, timeout=120)
    await asyncio.sleep(0.5)
    diags = client.diagnostics.get(module_uri, [])
    hit = [d for d in diags if str(d.code) == "CKV_AWS_24"]
    assert len(hit) == 1, [(d.code, d.message) for d in diags]
    assert "via module.sg_complete in examples/complete" in hit[0].message
    assert [i.location.uri for i in hit[0].related_information or []] == [uri]
    assert (root / "modules" / "sg" / "main.tf").read_text() == MODULE
    mark = len(seen)
    change(3, example.read_text())  # undone: the finding goes
    await settled(seen, mark, timeout=120)
    await asyncio.sleep(0.5)
    assert "CKV_AWS_24" not in {str(d.code) for d in client.diagnostics.get(module_uri, [])}


async def test_units_run_on_two_processes_and_the_editor_still_shows_the_scan(client: LanguageClient,
                                                                             tmp_path: Path):
    """Eight examples, each calling one module under its own name: eight units. After an unsaved edit of
    the module, every unit runs again, some in the side process (the status says how many); every file's
    settled diagnostics equal `tfguard scan` of the same text."""
    from tests.unit.test_sidecar import MODULE as NET
    from tests.unit.test_sidecar import _tree

    root = tmp_path / "repo"
    _tree(root, 8)
    module = root / "modules" / "net" / "main.tf"
    seen = watch_status(client)
    await client.initialize_session(init_params(root, client_capabilities("visual_studio_code"),
                                                {"indexWorkspace": True, "idleDelayMs": 100}))
    uri = open_document(client, module)
    await settled(seen, 0, timeout=120)
    edited = NET.replace("block_public_policy     = true", "block_public_policy     = false")
    status: dict[str, Any] = {}
    for version in range(2, 8):  # the side process may still be importing Checkov at the first passes
        mark = len(seen)
        text = edited + "\n" * version  # a new text each time: every unit is stale again
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))
        status = await settled(seen, mark, timeout=120)
        if "in the side process" in status["message"]:
            break
        await asyncio.sleep(1.0)
    assert "ran 8 units (" in status["message"] and "in the side process" in status["message"], status
    await asyncio.sleep(1.0)
    on_disk = tmp_path / "on-disk"
    shutil.copytree(root, on_disk)
    (on_disk / "modules" / "net" / "main.tf").write_text(text)
    want = {os.path.relpath(f, on_disk): keys for f, keys in scan_keys(on_disk).items()}
    assert any(k[0] == "CKV_AWS_24" for keys in want.values() for k in keys), "callers' findings exist"
    diffs = []
    for f in sorted(root.rglob("*.tf")):
        rel = os.path.relpath(f, root)
        got = editor_keys(list(client.diagnostics.get(f.as_uri(), [])))
        if got != want.get(rel, set()):
            diffs.append((rel, sorted(want.get(rel, set()) - got), sorted(got - want.get(rel, set()))))
    assert not diffs, diffs
