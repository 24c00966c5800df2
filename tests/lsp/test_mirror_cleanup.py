"""The scratch mirror is private and cleaned: 0700, removed on shutdown/exit, leftovers of dead processes
removed at start (real server processes, a private TMPDIR)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from tests.lsp.rawstdio import RawServer
from tfguard.checks.graph import LEGACY_MIRROR_AGE, Mirror, clean_stale_mirrors

TEXT = 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n'


def _mirrors(tmp: Path) -> list[Path]:
    return sorted(p for p in tmp.iterdir() if p.name.startswith("tfguard-mirror-"))


def _until(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out ({timeout} s): {what}")
        time.sleep(0.05)


def _serve_with_unsaved_text(tmp_path: Path, tmp: Path, name: str) -> RawServer:
    ws = tmp_path / name
    ws.mkdir()
    (ws / "main.tf").write_text(TEXT)
    server = RawServer(ws, env={"TMPDIR": str(tmp)}, stderr_path=tmp_path / f"{name}.err")
    server.initialize(ws)
    server.open(ws / "main.tf", TEXT + "# unsaved\n")  # unsaved text: tier 2 runs in the mirror
    return server


def test_a_killed_servers_mirror_is_removed_by_the_next_and_a_shutdown_leaves_nothing(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    first = _serve_with_unsaved_text(tmp_path, tmp, "ws1")
    try:
        _until(lambda: _mirrors(tmp), 120, "the first server's mirror")
        (left,) = _mirrors(tmp)
        assert left.name.startswith(f"tfguard-mirror-{first.proc.pid}-")
        assert stat.S_IMODE(left.stat().st_mode) == 0o700
        first.proc.kill()  # SIGKILL: no chance to clean up
        first.wait(10)
    finally:
        first.close()
    assert _mirrors(tmp) == [left]
    second = _serve_with_unsaved_text(tmp_path, tmp, "ws2")
    try:
        _until(lambda: not left.exists(), 30, "the dead server's mirror removed by the next one")
        _until(lambda: _mirrors(tmp), 120, "the second server's mirror")
        files = [p for p in _mirrors(tmp)[0].rglob("*") if p.is_file()]
        assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
        assert second.shutdown() == 0
    finally:
        second.close()
    assert _mirrors(tmp) == []


def test_process_exit_removes_the_mirror(tmp_path: Path) -> None:
    """Without any shutdown: the finalizer runs at interpreter exit (atexit)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    code = ("from tfguard.checks.graph import Mirror; m = Mirror('.'); m.sync({'./a.tf': 'x'}); "
            "import os; print(os.path.isdir(m.root))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "TMPDIR": str(tmp)},
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr
    assert _mirrors(tmp) == []


def test_only_dead_processes_mirrors_of_this_user_are_swept(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(30)
    (tmp_path / f"tfguard-mirror-{dead.pid}-abc").mkdir()  # dead owner: removed
    (tmp_path / f"tfguard-mirror-{os.getppid()}-abc").mkdir()  # live owner: kept
    legacy_old = tmp_path / "tfguard-mirror-oldstyle"
    legacy_old.mkdir()
    past = time.time() - LEGACY_MIRROR_AGE - 60
    os.utime(legacy_old, (past, past))  # a pid-less leftover of an older version: removed
    (tmp_path / "tfguard-mirror-newstyle").mkdir()  # pid-less but recent: kept
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep").write_text("x")
    os.symlink(target, tmp_path / f"tfguard-mirror-{dead.pid}-link")  # never followed nor removed
    removed = {Path(p).name for p in clean_stale_mirrors(str(tmp_path))}
    assert removed == {f"tfguard-mirror-{dead.pid}-abc", "tfguard-mirror-oldstyle"}
    assert (target / "keep").exists() and (tmp_path / f"tfguard-mirror-{dead.pid}-link").is_symlink()
    assert (tmp_path / f"tfguard-mirror-{os.getppid()}-abc").is_dir()
    m = Mirror(str(tmp_path))
    try:
        assert stat.S_IMODE(os.stat(m.root).st_mode) == 0o700
    finally:
        m.close()
    assert not os.path.exists(m.root)
