"""``tfguard daemon``: scans served warm give exactly the in-process scan's report and exit code, and the
daemon is only used when it is safe (this user's socket, the same code, no Python checks).

Real processes throughout: ``tfguard daemon start`` in the background, ``tfguard scan`` clients, on a
private socket (``TFGUARD_DAEMON_SOCKET``) and a private result cache.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tfguard.invocation import Invocation
from tfguard.scan import daemon

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
BAD_BUCKET = 'resource "aws_s3_bucket" "added" {\n  bucket = "added-by-the-test"\n  acl    = "public-read"\n}\n'


def _env(sock: Path, cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TFGUARD_NO_DAEMON"}
    env.update(TFGUARD_DAEMON_SOCKET=str(sock), TFGUARD_CACHE_DIR=str(cache), **extra)
    return env


def _tfguard(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tfguard", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture()
def sock() -> Iterator[Path]:
    """A short socket path (AF_UNIX paths are limited to ~107 bytes); the daemon is stopped afterwards."""
    d = Path(tempfile.mkdtemp(prefix="tfgd-"))
    os.chmod(d, 0o700)
    path = d / "d.sock"
    yield path
    status = daemon.ping(str(path))
    if status is not None:
        daemon.stop(str(path))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and daemon.ping(str(path)) is not None:
            time.sleep(0.1)
    shutil.rmtree(d, ignore_errors=True)


def _served(env: dict[str, str]) -> int:
    status = daemon.ping(env["TFGUARD_DAEMON_SOCKET"])
    assert status is not None, "the daemon is running"
    return int(status["served"])


def _report(path: Path) -> list[dict]:
    return json.loads(path.read_text())["findings"]


def test_a_scan_in_the_daemon_reports_what_a_scan_in_process_reports(sock: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws)
    env = _env(sock, tmp_path / "cache")
    started = _tfguard(env, "daemon", "start", "--idle-timeout", "300")
    assert started.returncode == 0, started.stderr
    assert "listening on" in started.stderr

    # a relative --output: written where the client runs, not where the daemon does
    warm = _tfguard(env, "scan", "ws", "--format", "json", "--output", "warm.json", cwd=tmp_path)
    assert _served(env) == 1, "the scan ran in the daemon"
    local = _tfguard(env, "scan", "--no-daemon", str(ws), "--format", "json", "--output", str(tmp_path / "local.json"))
    assert _served(env) == 1, "--no-daemon ran in the client"
    assert warm.returncode == local.returncode == 1
    assert _report(tmp_path / "warm.json") == _report(tmp_path / "local.json")

    # an edit: only the edited unit runs again, in the warm process; the result is a fresh scan's
    (ws / "dev" / "added.tf").write_text(BAD_BUCKET)
    warm = _tfguard(env, "scan", str(ws), "--format", "json", "--output", str(tmp_path / "warm2.json"))
    assert _served(env) == 2
    fresh = _env(sock, tmp_path / "fresh-cache", TFGUARD_NO_DAEMON="1")
    local = _tfguard(fresh, "scan", str(ws), "--format", "json", "--output", str(tmp_path / "local2.json"))
    assert warm.returncode == local.returncode == 1
    edited = _report(tmp_path / "warm2.json")
    assert edited == _report(tmp_path / "local2.json")
    assert any(f["resource"] == "aws_s3_bucket.added" and f["result"] == "FAILED" for f in edited)

    # text output and exit codes travel too; a usage error stops in the client (exit 2)
    text = _tfguard(env, "scan", str(ws), "--fail-on", "CRITICAL")
    assert text.returncode == _tfguard(env, "scan", "--no-daemon", str(ws), "--fail-on", "CRITICAL").returncode
    assert "aws_s3_bucket.added" in text.stdout
    bad = _tfguard(env, "scan", str(ws), "--fail-on", "SEVERE")
    assert bad.returncode == 2 and "SEVERE" in bad.stderr

    status = _tfguard(env, "daemon", "status")
    assert status.returncode == 0 and "3 scans served" in status.stdout
    stopped = _tfguard(env, "daemon", "stop")
    assert "stopped" in stopped.stderr
    assert daemon.ping(str(sock)) is None


def test_a_killed_daemon_leaves_scans_working_and_can_be_started_again(sock: Path, tmp_path: Path) -> None:
    env = _env(sock, tmp_path / "cache")
    assert _tfguard(env, "daemon", "start").returncode == 0
    status = daemon.ping(str(sock))
    assert status is not None
    os.kill(int(status["pid"]), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and daemon.ping(str(sock)) is not None:
        time.sleep(0.05)
    assert sock.exists(), "a killed daemon leaves its socket file"

    scan = _tfguard(env, "scan", str(EXAMPLES / "dev"))
    assert scan.returncode == 1 and "FAILED" in scan.stdout.upper()
    assert _tfguard(env, "daemon", "start").returncode == 0, "the stale socket is replaced"
    assert daemon.ping(str(sock)) is not None


def test_one_daemon_per_socket(sock: Path, tmp_path: Path) -> None:
    env = _env(sock, tmp_path / "cache")
    assert not daemon.is_running(str(sock))
    assert _tfguard(env, "daemon", "start").returncode == 0
    assert daemon.is_running(str(sock))
    first = daemon.ping(str(sock))
    again = _tfguard(env, "daemon", "start")
    assert again.returncode == 0 and f"daemon {first['pid']} " in again.stderr, "start finds the running one"
    second = _tfguard(env, "daemon", "run")  # a second server on the same socket
    assert second.returncode == 2 and "already runs" in second.stderr
    assert daemon.ping(str(sock))["pid"] == first["pid"], "the first one still serves"
    assert _tfguard(env, "daemon", "stop").returncode == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and daemon.is_running(str(sock)):
        time.sleep(0.05)
    assert not daemon.is_running(str(sock))


def test_the_daemon_exits_when_idle(sock: Path, tmp_path: Path) -> None:
    env = _env(sock, tmp_path / "cache")
    assert _tfguard(env, "daemon", "start", "--idle-timeout", "1").returncode == 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and daemon.ping(str(sock)) is not None:
        time.sleep(0.2)
    assert daemon.ping(str(sock)) is None
    assert not sock.exists(), "it removes its socket"


def test_scan_with_daemon_flag_starts_one(sock: Path, tmp_path: Path) -> None:
    env = _env(sock, tmp_path / "cache")
    scan = _tfguard(env, "scan", "--daemon", str(EXAMPLES / "dev"))
    assert scan.returncode == 1
    assert _served(env) == 1


def test_a_socket_that_is_not_this_users_daemon_is_never_used(tmp_path: Path) -> None:
    d = Path(tempfile.mkdtemp(prefix="tfgd-"))
    try:
        fake = d / "d.sock"
        fake.write_text("not a socket")  # e.g. planted by someone else in a shared directory
        assert not daemon.trusted_socket(str(fake))
        env = _env(fake, tmp_path / "cache")
        scan = _tfguard(env, "scan", str(EXAMPLES / "dev"))
        assert scan.returncode == 1 and "aws_s3_bucket" in scan.stdout, "scanned in the client"
        start = _tfguard(env, "daemon", "start")
        assert start.returncode == 2 and "not a socket of this user" in start.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_a_runtime_directory_open_to_others_is_refused(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    (runtime / "tfguard").mkdir(parents=True)
    os.chmod(runtime / "tfguard", 0o777)
    env = {k: v for k, v in os.environ.items() if k not in ("TFGUARD_NO_DAEMON", "TFGUARD_DAEMON_SOCKET")}
    env.update(XDG_RUNTIME_DIR=str(runtime), TFGUARD_CACHE_DIR=str(tmp_path / "cache"))
    scan = _tfguard(env, "scan", "--daemon", str(EXAMPLES / "dev"))
    assert "open to other users" in scan.stderr and "scanning here" in scan.stderr
    assert scan.returncode == 1 and "aws_s3_bucket" in scan.stdout
    assert not list((runtime / "tfguard").iterdir()), "no socket was created there"


def test_a_client_that_never_sends_its_request_or_sends_junk_blocks_no_one(sock: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import threading

    monkeypatch.setattr(daemon, "serving", False)

    server = daemon.Daemon(str(sock), idle_timeout=60, run=_never_run)
    server.request_timeout = 0.5
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and daemon.ping(str(sock)) is None:
        time.sleep(0.05)
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.connect(str(sock))  # connected, sends nothing, never closes
    try:
        assert daemon.ping(str(sock), timeout=10) is not None, "the next client is served"
    finally:
        mute.close()
    for junk in (b"\xff\xfe not json\n", b"[1, 2]\n", b""):
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.connect(str(sock))
        raw.sendall(junk)
        raw.shutdown(socket.SHUT_WR)
        reply = json.loads(daemon._recv_all(raw))
        raw.close()
        assert "bad request" in reply["refused"]
    assert daemon.ping(str(sock)) is not None, "still serving after junk"
    assert daemon.stop(str(sock))
    thread.join(10)
    assert not thread.is_alive()


def _never_run(argv: Sequence[str], invocation: Invocation) -> int:
    raise AssertionError(f"the daemon ran {argv} where it must not")


def _request(**over: object) -> dict[str, object]:
    req: dict[str, object] = {"op": "run", "protocol": daemon.PROTOCOL, "identity": daemon.code_identity(),
                              "import_env": daemon.import_env(), "argv": ["scan", str(EXAMPLES / "dev")],
                              "cwd": str(REPO), "env": {}, "isatty": False}
    req.update(over)
    return req


@pytest.mark.parametrize(("change", "reason"), [
    ({"identity": "0" * 64}, "other tfguard code"),
    ({"protocol": 0}, "protocol"),
    ({"import_env": {"CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "true"}}, "CHECKOV_"),
    ({"argv": ["scan", ".", "--allow-python-checks", "checks"]}, "Python custom checks"),
    ({"argv": ["serve"]}, "only `tfguard scan`"),
], ids=["other-code", "other-protocol", "other-checkov-env", "python-checks", "not-a-scan"])
def test_the_daemon_refuses_what_it_must_not_run(change: dict[str, object], reason: str) -> None:
    server = daemon.Daemon("/nonexistent/d.sock", run=_never_run)
    answer = server.answer(_request(**change))
    assert reason in answer["refused"]
    assert server.served == 0


def test_a_scan_that_crashes_is_reported_and_the_daemon_serves_on(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    import tfguard.cli

    crashing = True

    def run(argv: Sequence[str], invocation: Invocation) -> int:
        if crashing:  # a crash outside the CLI's own guard (e.g. in the run callable itself)
            raise RuntimeError("boom in the engine")
        return tfguard.cli.serve_request(argv, invocation)

    server = daemon.Daemon("/nonexistent/d.sock", run=run)
    cwd = os.getcwd()
    answer = server.answer(_request(cwd=str(tmp_path)))
    assert answer["exit_code"] == 2 and "RuntimeError: boom in the engine" in answer["stderr"]
    crashing = False
    answer = server.answer(_request(argv=["scan", str(EXAMPLES / "dev"), "--format", "json"]))
    assert answer["exit_code"] == 1
    assert json.loads(answer["stdout"])["findings"], "the next scan runs normally"
    assert os.getcwd() == cwd, "the request's working directory is not left behind"

    # a crash inside the scan: the CLI's guard answers exit 2 and one line, no traceback
    def boom(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom in make_engine")

    monkeypatch.setattr("tfguard.wiring.make_engine", boom)
    # (the scan above may have imported Checkov here, which sets its import-time variables)
    answer = server.answer(_request(cwd=str(tmp_path), import_env=server.import_env))
    assert answer.get("exit_code") == 2, answer
    assert answer["stderr"].splitlines() == [
        "tfguard: error: RuntimeError: boom in make_engine (see --log-file / -v for the traceback)"]
    assert server.served == 3


def test_a_daemon_running_other_code_is_stopped_and_the_scan_runs_here(
        sock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import tfguard.cli

    env = _env(sock, tmp_path / "cache")
    assert _tfguard(env, "daemon", "start").returncode == 0
    old = daemon.ping(str(sock))
    assert old is not None
    # this client now runs "other code" than the daemon (as after an upgrade of tfguard)
    monkeypatch.setattr(daemon, "code_identity", lambda: "0" * 64)
    monkeypatch.setattr(daemon, "serving", False)  # this test process is a client
    monkeypatch.setenv("TFGUARD_DAEMON_SOCKET", str(sock))
    monkeypatch.setenv("TFGUARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TFGUARD_NO_DAEMON", raising=False)
    code = tfguard.cli.main(["scan", str(EXAMPLES / "dev")])
    out = capsys.readouterr()
    assert code == 1 and "aws_s3_bucket" in out.out, "scanned here"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and daemon.is_running(str(sock)):
        time.sleep(0.05)
    assert not daemon.is_running(str(sock)), "the stale daemon was stopped"
    assert daemon.ping(str(sock)) is None


def test_a_scan_from_another_directory_with_relative_paths_is_the_same_in_the_daemon(
        sock: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws)
    (tmp_path / "reports").mkdir()
    elsewhere = tmp_path / "daemon-cwd"  # the daemon's own working directory is not the client's
    elsewhere.mkdir()
    env = _env(sock, tmp_path / "cache")
    assert _tfguard(env, "daemon", "start", "--idle-timeout", "300", cwd=elsewhere).returncode == 0
    client = ws / "dev"

    def run(*args: str) -> tuple[int, str, str, dict[str, str]]:
        """One scan from ``client`` with relative paths everywhere: exit code, stdout, stderr, files written."""
        for f in (tmp_path / "reports").iterdir():
            f.unlink()
        p = _tfguard(env, "scan", *args, cwd=client)
        written = {f.name: f.read_text() for f in (tmp_path / "reports").iterdir()}
        if "baseline.json" in written:  # its creation time (seconds) is the only thing allowed to differ
            written["baseline.json"] = re.sub(r'"created": "[^"]*"', '"created": "-"', written["baseline.json"])
        return p.returncode, p.stdout, p.stderr, written

    json_args = (".", "../prod", "--config", "../.tfguard.yaml", "--format", "json",
                 "--output", "../../reports/report.json", "--create-baseline", "../../reports/baseline.json")
    warm = run(*json_args)
    assert _served(env) == 1, "the scan ran in the daemon"
    local = run(*json_args, "--no-daemon")
    assert _served(env) == 1, "--no-daemon ran in the client"
    assert warm == local
    assert warm[0] == 1 and set(warm[3]) == {"report.json", "baseline.json"}
    assert "written to ../../reports/baseline.json" in warm[2], "messages name the paths as given"
    report = json.loads(warm[3]["report.json"])
    # relative to the first path (the client's ``.``), absolute outside it: as in any scan, wherever it runs
    assert {f["file"] for f in report["findings"]} >= {"main.tf", str(ws / "prod" / "main.tf")}

    # a relative --baseline, and the text report (paths relative to the scan root) on stdout
    (tmp_path / "keep").mkdir()  # as deep as reports/: the baseline's relative root still holds
    (tmp_path / "keep" / "baseline.json").write_text(warm[3]["baseline.json"])
    (ws / "prod" / "added.tf").write_text(BAD_BUCKET)  # one new finding, the others baselined
    text_args = (".", "../prod", "--baseline", "../../keep/baseline.json", "--show-passed")
    warm_text = run(*text_args)
    assert _served(env) == 2
    local_text = run(*text_args, "--no-daemon")
    assert warm_text == local_text
    assert warm_text[0] == 1 and "aws_s3_bucket.added" in warm_text[1]

    # a relative path that does not exist: the same usage error, naming the path as given
    warm_missing = _tfguard(env, "scan", "nope", cwd=client)
    local_missing = _tfguard(env, "scan", "--no-daemon", "nope", cwd=client)
    assert warm_missing.returncode == local_missing.returncode == 2
    assert warm_missing.stderr == local_missing.stderr == "tfguard: error: no such file or directory: nope\n"
    assert _served(env) == 3
    assert daemon.ping(str(sock))["cwd"] == str(elsewhere)


def test_a_request_leaves_the_daemons_directory_and_environment_as_they_were(sock: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws)
    home = tmp_path / "daemon-cwd"
    home.mkdir()
    env = _env(sock, tmp_path / "daemon-cache", TFGUARD_MARKER="daemon")
    env.pop("NO_COLOR", None)
    assert _tfguard(env, "daemon", "start", "--idle-timeout", "300", cwd=home).returncode == 0
    before = daemon.ping(str(sock))
    assert before is not None and before["cwd"] == str(home) and before["env"]["TFGUARD_MARKER"] == "daemon"

    client_cache = tmp_path / "client-cache"
    client_env = _env(sock, client_cache, TFGUARD_MARKER="client", NO_COLOR="1")
    scan = _tfguard(client_env, "scan", "dev", "--format", "json", "-o", "out.json", cwd=ws)
    assert scan.returncode == 1 and json.loads((ws / "out.json").read_text())["findings"]
    after = daemon.ping(str(sock))
    assert after is not None and after["served"] == 1, "the scan ran in the daemon"
    assert after["cwd"] == str(home), "no chdir left behind"
    assert after["env"] == before["env"], "no client variable left behind (TFGUARD_MARKER, NO_COLOR, the cache)"
    assert os.readlink(f"/proc/{after['pid']}/cwd") == str(home)
    # the client's environment was used all the same: its TFGUARD_CACHE_DIR, not the daemon's
    assert client_cache.is_dir() and any(client_cache.rglob("*.json"))
    assert not (tmp_path / "daemon-cache").exists()
