"""No network, ever, in separate processes: ``tfguard scan`` (in its own process and served by ``tfguard
daemon``) and an LSP session with sockets blocked at the Python level (a sitecustomize.py records and
refuses every attempt), and again inside a network namespace without interfaces (``unshare -n``) when
this machine allows it.

The in-process variant (monkeypatched sockets, forked scan workers) is tests/unit/test_offline.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REPO = Path(__file__).resolve().parents[2]

SITECUSTOMIZE = textwrap.dedent('''
    import os, socket
    _log = os.environ["TFGUARD_NET_LOG"]

    def _record(what, target):
        with open(_log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {what} {target!r}\\n")
        raise OSError(f"network blocked by test: {what} {target!r}")

    _connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self, address):
        if self.family == socket.AF_UNIX:
            return _connect(self, address)
        _record("connect", address)

    def connect_ex(self, address):
        if self.family == socket.AF_UNIX:
            return _connect_ex(self, address)
        _record("connect_ex", address)

    def sendto(self, *args):
        _record("sendto", args[-1])

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.create_connection = lambda address, *a, **k: _record("create_connection", address)
    socket.getaddrinfo = lambda host, *a, **k: _record("getaddrinfo", host)
    socket.gethostbyname = lambda host: _record("gethostbyname", host)
''')


@pytest.fixture()
def blocked_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / "net.log"
    log.write_text("")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO / "server"), env.get("PYTHONPATH", "")])
    env["TFGUARD_NET_LOG"] = str(log)
    env["TFGUARD_CACHE_DIR"] = str(tmp_path / "cache")
    return env, log


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "lsp", ws)
    # a registry module call: Checkov would download it if external modules were on
    (ws / "module" / "calls.tf").write_text(
        'module "vpc" {\n  source  = "terraform-aws-modules/vpc/aws"\n  version = "~> 5.0"\n}\n')
    return ws


def _scan(env: dict[str, str], ws: Path, prefix: list[str] = ()) -> dict:  # type: ignore[assignment]
    out = ws.parent / "report.json"
    proc = subprocess.run([*prefix, sys.executable, "-m", "tfguard", "scan", str(ws), "--format", "json",
                           "--output", str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_the_guard_catches_an_attempt(blocked_env) -> None:  # noqa: ANN001
    env, log = blocked_env
    code = ("import socket, urllib.request\ntry:\n urllib.request.urlopen('http://example.com', timeout=1)\n"
            "except OSError:\n pass")
    subprocess.run([sys.executable, "-c", code], env=env, timeout=60, check=True)
    assert "example.com" in log.read_text()


def test_scan_subprocess_never_touches_the_network(blocked_env, tmp_path: Path) -> None:  # noqa: ANN001
    env, log = blocked_env
    report = _scan(env, _workspace(tmp_path))
    assert report["findings"], "Checkov really ran"
    assert log.read_text() == ""


async def _lsp_session(env: dict[str, str], ws: Path, prefix: list[str] = ()) -> set[str]:  # type: ignore[assignment]
    from lsprotocol import types as lsp
    from pytest_lsp import ClientServerConfig, client_capabilities
    from tests.lsp.conftest import SERVER_COMMAND, codes, init_params, serve_client_requests, wait_for_diagnostics

    config = ClientServerConfig(server_command=[*prefix, *SERVER_COMMAND], server_env=env)
    client = await config.start()
    try:
        serve_client_requests(client)
        await client.initialize_session(init_params(ws, client_capabilities("visual_studio_code"),
                                                    {"indexWorkspace": True, "idleDelayMs": 50}))
        path = ws / "module" / "main.tf"
        uri = path.as_uri()
        client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
            uri=uri, language_id="terraform", version=1, text=path.read_text())))
        # tier 2 (graph check CKV_AWS_20 only comes from Checkov's full runner) has run
        diags = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_20" in codes(d), timeout=120)
        found = codes(diags)
        await client.shutdown_session()
    finally:
        await client.stop()
    return found


async def test_lsp_session_never_touches_the_network(blocked_env, tmp_path: Path) -> None:  # noqa: ANN001
    env, log = blocked_env
    found = await _lsp_session(env, _workspace(tmp_path))
    assert "CKV_AWS_24" in found
    assert log.read_text() == ""


def _unshare() -> list[str]:
    if not shutil.which("unshare"):
        pytest.skip("no unshare(1) on this machine")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here (unshare -n: {probe.stderr.decode().strip()[:100]}); "
                    "needs root or unprivileged user namespaces")
    return ["unshare", "-n"]


def test_scan_in_a_network_namespace_without_interfaces(blocked_env, tmp_path: Path) -> None:  # noqa: ANN001
    prefix = _unshare()
    env, log = blocked_env
    report = _scan(env, _workspace(tmp_path), prefix)
    assert report["findings"] and not [p for p in report["problems"] if "network" in p["message"].lower()]
    assert log.read_text() == ""


@pytest.mark.slow
async def test_lsp_in_a_network_namespace_without_interfaces(blocked_env, tmp_path: Path) -> None:  # noqa: ANN001
    prefix = _unshare()
    env, log = blocked_env
    found = await _lsp_session(env, _workspace(tmp_path), prefix)
    assert "CKV_AWS_24" in found
    assert log.read_text() == ""


def test_a_scan_served_by_the_daemon_never_touches_the_network(blocked_env, tmp_path: Path) -> None:  # noqa: ANN001
    """The daemon (started from the blocked environment, so its Python records every attempt too) runs the
    scan; only its own Unix socket is used."""
    import tempfile

    from tfguard.scan import daemon

    env, log = blocked_env
    sock_dir = Path(tempfile.mkdtemp(prefix="tfgd-"))
    env = {k: v for k, v in env.items() if k != "TFGUARD_NO_DAEMON"}
    env["TFGUARD_DAEMON_SOCKET"] = str(sock_dir / "d.sock")
    try:
        subprocess.run([sys.executable, "-m", "tfguard", "daemon", "start"], env=env, check=True, timeout=120,
                       capture_output=True)
        report = _scan(env, _workspace(tmp_path))
        status = daemon.ping(env["TFGUARD_DAEMON_SOCKET"])
        assert status is not None and status["served"] == 1, "the scan ran in the daemon"
    finally:
        daemon.stop(env["TFGUARD_DAEMON_SOCKET"])
        shutil.rmtree(sock_dir, ignore_errors=True)
    assert report["findings"], "Checkov really ran"
    assert log.read_text() == ""


def test_plan_scan_and_review_never_touch_the_network(blocked_env, corpora: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """A plan with registry module calls, mapped to its sources (Checkov's enrichment parses them, never
    downloading a module), then reviewed: both in a process whose sockets are blocked."""
    env, log = blocked_env
    case = corpora / "plans" / "plan_with_external_tf_modules_for_enrichment"
    if not case.is_dir():
        pytest.skip(f"plan corpus case not found at {case}")
    repo = tmp_path / "repo"
    shutil.copytree(case, repo)
    out = tmp_path / "plan.json"
    proc = subprocess.run([sys.executable, "-m", "tfguard", "scan", "--no-daemon", str(repo / "tfplan.json"),
                           "--repo-root", str(repo), "--format", "json", "--output", str(out)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    findings = json.loads(out.read_text())["findings"]
    assert any(f["file_abs_path"].endswith(".tf") for f in findings), "Checkov really ran and mapped to source"
    proc = subprocess.run([sys.executable, "-m", "tfguard", "plan-review", str(repo / "tfplan.json"), "--repo-root",
                           str(repo), "--format", "json"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert json.loads(proc.stdout)["resources"]
    assert log.read_text() == ""
