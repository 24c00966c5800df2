"""The command line runs for an explicit :class:`Invocation`: its directory, environment and streams, never
the process's; a crash is exit 2 and one line; the daemon module knows nothing of the CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfguard.cli import main
from tfguard.invocation import Invocation, client_environ

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CRASH_LINE = "tfguard: error: RuntimeError: the engine broke (see --log-file / -v for the traceback)"


def _invocation(cwd: Path, **env: str) -> Invocation:
    return Invocation(cwd=str(cwd), environ={"TFGUARD_NO_DAEMON": "1", **env}, stdout=io.StringIO(),
                      stderr=io.StringIO(), stdout_isatty=False)


def _out(inv: Invocation) -> str:
    assert isinstance(inv.stdout, io.StringIO)
    return inv.stdout.getvalue()


def _err(inv: Invocation) -> str:
    assert isinstance(inv.stderr, io.StringIO)
    return inv.stderr.getvalue()


def _break_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the engine broke")

    monkeypatch.setattr("tfguard.wiring.make_engine", boom)


def test_importing_the_daemon_does_not_import_the_cli() -> None:
    code = ("import sys, tfguard.scan.daemon; "
            "print(sorted(m for m in sys.modules if m == 'tfguard.cli' or m.startswith('tfguard.cli.')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert proc.stdout.strip() == "[]"


def test_a_crash_in_scan_exits_2_with_one_line_and_no_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _break_the_engine(monkeypatch)
    code = main(["scan", str(EXAMPLES / "dev")])
    captured = capsys.readouterr()
    assert code == 2, "a crash is not 'findings' (1)"
    assert captured.err.splitlines() == [CRASH_LINE]
    assert "Traceback" not in captured.err and captured.out == ""


def test_a_crash_with_vv_logs_its_traceback_to_the_invocations_stderr(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _break_the_engine(monkeypatch)
    inv = _invocation(tmp_path)
    assert main(["scan", str(EXAMPLES / "dev"), "-vv"], inv) == 2
    assert CRASH_LINE in _err(inv).splitlines()
    assert "Traceback" in _err(inv) and "RuntimeError: the engine broke" in _err(inv)
    assert capsys.readouterr() == ("", ""), "nothing on the process's own streams"


def test_a_crash_in_a_real_process_exits_2(tmp_path: Path) -> None:
    """A hostile input: a --baseline that is a directory makes opening it raise (IsADirectoryError)."""
    env = {**os.environ, "TFGUARD_NO_DAEMON": "1"}
    proc = subprocess.run([sys.executable, "-m", "tfguard", "scan", str(EXAMPLES / "dev"), "--create-baseline",
                           str(tmp_path)], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tfguard: error: IsADirectoryError: ")
    assert lines[0].endswith("(see --log-file / -v for the traceback)")


def test_relative_paths_and_environment_come_from_the_invocation(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "invocation-cache"
    process_cwd, process_env = os.getcwd(), client_environ(os.environ)
    inv = _invocation(EXAMPLES, TFGUARD_CACHE_DIR=str(cache))
    code = main(["scan", "dev", "--format", "json", "--output", str(tmp_path / "r.json"),
                 "--config", ".tfguard.yaml"], inv)
    assert code == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["root"] == str(EXAMPLES / "dev") and report["findings"]
    assert cache.is_dir() and any(cache.rglob("*")), "the invocation's TFGUARD_CACHE_DIR was used"
    assert os.getcwd() == process_cwd and client_environ(os.environ) == process_env
    assert capsys.readouterr() == ("", "")

    # a relative --output lands in the invocation's directory; text goes to the invocation's stdout
    work = tmp_path / "work"
    work.mkdir()
    inv = _invocation(work)
    assert main(["scan", str(EXAMPLES / "dev"), "-o", "out.txt"], inv) == 1
    assert (work / "out.txt").read_text() and _out(inv) == ""
    inv = _invocation(EXAMPLES)
    assert main(["scan", "dev"], inv) == 1
    assert "main.tf" in _out(inv) and "\033[" not in _out(inv)
    tty = Invocation(cwd=str(EXAMPLES), environ={"TFGUARD_NO_DAEMON": "1"}, stdout=io.StringIO(),
                     stderr=io.StringIO(), stdout_isatty=True)
    assert main(["scan", "dev"], tty) == 1
    assert "\033[" in _out(tty), "colour follows the invocation's terminal"


def test_errors_and_usage_go_to_the_invocations_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inv = _invocation(tmp_path)
    assert main(["scan", "nope"], inv) == 2
    assert _err(inv) == "tfguard: error: no such file or directory: nope\n"
    inv = _invocation(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["scan", "x", "--fail-on", "SEVERE"], inv)
    assert e.value.code == 2 and "SEVERE" in _err(inv)
    inv = _invocation(tmp_path)
    with pytest.raises(SystemExit):
        main(["--version"], inv)
    assert _out(inv).startswith("tfguard ")
    assert capsys.readouterr() == ("", "")


def test_logging_of_a_command_is_attached_for_it_and_removed_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    import tfguard.wiring

    real = tfguard.wiring.make_engine

    def logging_make_engine(*args: object, **kwargs: object) -> object:
        logging.getLogger("tfguard.wiring").info("making an engine for %s", args[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tfguard.wiring, "make_engine", logging_make_engine)
    logger, root = logging.getLogger("tfguard"), logging.getLogger()
    before = (list(logger.handlers), logger.level, logger.propagate, list(root.handlers), root.level)
    inv = _invocation(EXAMPLES)
    assert main(["scan", "dev", "-v", "-o", str(tmp_path / "r.txt")], inv) == 1
    assert f" INFO tfguard.wiring: making an engine for {EXAMPLES / 'dev'}" in _err(inv), "-v: on its stderr"
    inv = _invocation(EXAMPLES)
    assert main(["scan", "dev", "-o", "cli", "--output-file-path", str(tmp_path)], inv) == 1
    assert _err(inv) == "", "no -v: no INFO records"
    assert (list(logger.handlers), logger.level, logger.propagate, list(root.handlers), root.level) == before


def test_an_invocation_carries_only_the_scan_environment() -> None:
    env = {"TFGUARD_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x", "NO_COLOR": "1", "XDG_RUNTIME_DIR": "/r",
           "HOME": "/h", "PATH": "/bin", "CHECKOV_X": "1", "AWS_SECRET_ACCESS_KEY": "s"}
    assert client_environ(env) == {"TFGUARD_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x", "NO_COLOR": "1",
                                   "XDG_RUNTIME_DIR": "/r"}
    inv = Invocation(cwd="/w", environ=env, stdout=io.StringIO(), stderr=io.StringIO(), stdout_isatty=False)
    assert dict(inv.environ) == client_environ(env)
    assert inv.resolve("a/../b") == "/w/b" and inv.resolve("/abs") == "/abs"
    with pytest.raises(TypeError):
        inv.environ["X"] = "y"  # type: ignore[index]
    with pytest.raises(ValueError, match="absolute"):
        Invocation(cwd="rel", environ={}, stdout=io.StringIO(), stderr=io.StringIO(), stdout_isatty=False)


def test_the_daemon_swaps_no_process_state() -> None:
    """The behaviour is tested with a real daemon (tests/integration/test_daemon.py); this keeps the means out."""
    import ast

    import tfguard.scan.daemon as daemon

    tree = ast.parse(Path(daemon.__file__).read_text(encoding="utf-8"))
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not calls & {"os.chdir", "os.putenv", "os.unsetenv", "os.environ.update", "os.environ.pop",
                        "os.environ.setdefault", "logging.basicConfig"}
    targets = {ast.unparse(t) for n in ast.walk(tree) if isinstance(n, ast.Assign | ast.AugAssign | ast.Delete)
               for t in (n.targets if isinstance(n, ast.Assign | ast.Delete) else [n.target])}
    assert not {t for t in targets if any(x in t for x in ("os.environ", "sys.stdout", "sys.stderr", "handlers"))}


def test_the_daemons_run_callable_runs_only_scans(tmp_path: Path) -> None:
    from tfguard.cli import serve_request

    for argv in ([], ["serve"], ["daemon", "run"], ["suppressions", "."]):
        inv = _invocation(tmp_path)
        assert serve_request(argv, inv) == 2
        assert _err(inv) == "tfguard: error: only `tfguard scan` runs in the daemon\n"
