"""A crash in the CLI exits 2 (fail closed), never 1 (the code for "findings"), with one line on stderr.

Real processes: the crash comes from a hostile or broken input (``--log-file`` naming a folder or a
path that cannot exist: it is opened before the command's own guard), or from the engine running out
of memory or recursion depth (``MemoryError``, ``RecursionError`` raised by the scan in that process).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.hostile.conftest import Planted

# the scan raises `exc` in a real CLI process (the patch is made in that process, before main runs)
CRASHING = """
import sys
import tfguard.scan.runner as runner
def scan(*args, **kwargs):
    raise {exc}("planted")
runner.scan = scan
from tfguard.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("log_file", ["folder", "/proc/nonexistent/x.log"])
def test_an_unopenable_log_file_exits_2_with_one_line(planted: Planted, log_file: str) -> None:
    target = str(planted.tmp) if log_file == "folder" else log_file
    proc = planted.tfguard("scan", ".", "--log-file", target)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tfguard: error: "), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize("exc", ["MemoryError", "RecursionError", "KeyError"])
def test_an_engine_crash_in_a_real_process_exits_2(planted: Planted, exc: str) -> None:
    proc = subprocess.run([sys.executable, "-c", CRASHING.format(exc=exc), "scan", ".", "-o", "json"],
                          cwd=planted.repo, env=planted.env(), capture_output=True, text=True, timeout=100,
                          check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert proc.stderr.strip().splitlines() == [
        f"tfguard: error: {exc}: {'planted' if exc != 'KeyError' else repr('planted')} "
        "(see --log-file / -v for the traceback)"], proc.stderr[-2000:]
    assert proc.stdout == ""
