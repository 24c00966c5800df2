"""Terminal manners of a real ``tfguard`` process on a pseudo-terminal: NO_COLOR, the progress bar on stderr
(stdout stays clean and parseable), none with --quiet or off a terminal, and the same through the daemon."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _read_all(fd: int, proc: subprocess.Popen[bytes], timeout: float = 300) -> bytes:
    """Everything written to the pty master ``fd`` until ``proc`` exits (and the pty drains)."""
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the slave side is closed
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return {**env, "TFGUARD_NO_DAEMON": "1", "TFGUARD_CACHE_DIR": str(tmp / "cache"), **extra}


def _on_pty(argv: list[str], env: dict[str, str], cwd: Path, stream: str) -> tuple[int, bytes, bytes]:
    """Run with ``stream`` (stdout or stderr) on a pseudo-terminal, the other on a pipe."""
    master, slave = pty.openpty()
    kwargs = {"stdout": slave, "stderr": subprocess.PIPE} if stream == "stdout" else \
        {"stdout": subprocess.PIPE, "stderr": slave}
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    os.close(slave)
    pipe = proc.stderr if stream == "stdout" else proc.stdout
    assert pipe is not None
    with ThreadPoolExecutor(1) as pool:  # drain the pipe meanwhile: a report over 64 KiB would block the scan
        piped_later = pool.submit(pipe.read)
        tty = _read_all(master, proc)
        piped = piped_later.result(timeout=300)
    code = proc.wait(timeout=300)
    os.close(master)
    return code, tty, piped


@pytest.fixture()
def ws(tmp_path: Path) -> Path:
    d = tmp_path / "repo"
    shutil.copytree(REPO / "examples", d)
    subprocess.run(["git", "init", "-q", str(d)], check=True)
    return d


def test_no_color_means_no_escape_codes_on_a_terminal(ws: Path, tmp_path: Path) -> None:
    argv = [str(BIN / "tfguard"), "-d", "dev"]
    code, coloured, _ = _on_pty(argv, _env(tmp_path), ws, "stdout")
    assert code == 1 and b"\x1b[" in coloured, "colours on a terminal by default"
    for extra_env, extra_args in (({"NO_COLOR": "1"}, []), ({}, ["--no-color"])):
        code, plain, _ = _on_pty(argv + extra_args, _env(tmp_path, **extra_env), ws, "stdout")
        assert code == 1 and b"\x1b" not in plain, plain[:200]
        assert b"dev/main.tf:1:1: " in plain


def test_progress_bar_on_a_terminal_stderr_and_clean_stdout(ws: Path, tmp_path: Path) -> None:
    code, bar, stdout = _on_pty([str(BIN / "tfguard"), "-d", ".", "-o", "json"], _env(tmp_path), ws, "stderr")
    assert code == 1
    doc = json.loads(stdout)  # stdout is the report, nothing else
    assert doc["summary"]["failed"] > 0
    text = bar.decode()
    assert "units" in text and "/" in text and " s" in text, text
    assert "\r\x1b[K" in text and text.endswith("\r\x1b[K"), "drawn in place and erased at the end"


def test_no_progress_with_quiet_or_off_a_terminal(ws: Path, tmp_path: Path) -> None:
    code, bar, stdout = _on_pty([str(BIN / "tfguard"), "-d", ".", "-o", "json", "--quiet"], _env(tmp_path), ws,
                                "stderr")
    assert code == 1 and json.loads(stdout) and b"units" not in bar
    proc = subprocess.run([str(BIN / "tfguard"), "-d", ".", "-o", "json"], env=_env(tmp_path / "other"), cwd=ws,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1 and "units" not in proc.stderr and "\x1b" not in proc.stderr


def test_progress_streams_through_the_daemon(tmp_path: Path) -> None:
    """A client on a terminal sees the daemon's progress bar as the scan runs (a cold scan of 6
    directories); the report is on stdout."""
    import tempfile

    from tfguard.scan import daemon

    ws = tmp_path / "many"
    source = (REPO / "tests" / "fixtures" / "side_by_side" / "infra" / "main.tf").read_text()
    for i in range(6):
        (ws / f"stack{i:02}").mkdir(parents=True)
        (ws / f"stack{i:02}" / "main.tf").write_text(source.replace("acme-logs", f"acme-logs-{i}"))  # 6 units

    d = Path(tempfile.mkdtemp(prefix="tfgp-"))
    os.chmod(d, 0o700)
    sock = d / "d.sock"
    env = {k: v for k, v in _env(tmp_path).items() if k != "TFGUARD_NO_DAEMON"}
    env["TFGUARD_DAEMON_SOCKET"] = str(sock)
    env["TFGUARD_PROGRESS_DELAY"] = "0"  # warm, the scan may take less than the default half second
    try:
        started = subprocess.run([str(BIN / "tfguard"), "daemon", "start", "--idle-timeout", "300"], env=env,
                                 capture_output=True, text=True, timeout=300, check=False)
        assert started.returncode == 0, started.stderr
        served_before = int((daemon.ping(str(sock)) or {})["served"])
        code, bar, stdout = _on_pty([str(BIN / "tfguard"), "-d", ".", "-o", "json"], env, ws, "stderr")
        assert int((daemon.ping(str(sock)) or {})["served"]) == served_before + 1, "it ran in the daemon"
        assert code == 1 and json.loads(stdout)["summary"]["failed"] > 0
        text = bar.decode()
        assert "units" in text and text.endswith("\r\x1b[K"), text
    finally:
        daemon.stop(str(sock))
        shutil.rmtree(d, ignore_errors=True)


def _complete(line: str) -> list[str]:
    """What shell completion (argcomplete, as `register-python-argcomplete tfguard` wires it) offers."""
    env = dict(os.environ, COMP_LINE=line, COMP_POINT=str(len(line)), _ARGCOMPLETE="1", _ARGCOMPLETE_IFS="\n")
    proc = subprocess.run(["bash", "-c", f"{BIN / 'tfguard'} 8>&1 9>/dev/null"], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return sorted(x.strip() for x in proc.stdout.split("\n") if x.strip())


def test_shell_completion_of_options_and_formats() -> None:
    assert _complete("tfguard scan --skip-c") == ["--skip-check"]
    assert _complete("tfguard -d . --output-f") == ["--output-file-path"], "Checkov's form completes as scan"
    assert _complete("tfguard -d . -o j") == ["json", "junitxml"]
