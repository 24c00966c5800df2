"""The full check's second core (scan/sidecar.py): units run in the server and in one warm side process at
once, and the result is exactly the serial one — on real module repositories, after unsaved edits, and when
the side process dies mid-pass. The side process is a fresh interpreter (never a fork of the threaded
server), never writes to the LSP channel, ends with its server, and never reaches the network."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from tests.unit.test_no_network import _workspace, blocked_env  # noqa: F401 (fixture)

from tfguard.engine import Engine, FileAnalysis
from tfguard.scan import sidecar
from tfguard.scan.live import LiveScan
from tfguard.wiring import make_engine

REPO = Path(__file__).resolve().parents[2]

MODULE = textwrap.dedent('''\
    variable "cidr" {
      default = "10.0.0.0/8"
    }

    variable "public" {
      default = false
    }

    resource "aws_security_group" "sg" {
      name        = "x"
      description = "x"
      ingress {
        description = "ssh"
        from_port   = 22
        to_port     = 22
        protocol    = "tcp"
        cidr_blocks = [var.cidr]
      }
    }

    resource "aws_s3_bucket" "b" {
      bucket = "b"
    }

    resource "aws_s3_bucket_public_access_block" "b" {
      bucket                  = aws_s3_bucket.b.id
      block_public_acls       = !var.public
      block_public_policy     = true
      ignore_public_acls      = true
      restrict_public_buckets = true
    }
    ''')


def _tree(root: Path, n: int) -> None:
    (root / "modules" / "net").mkdir(parents=True)
    (root / "modules" / "net" / "main.tf").write_text(MODULE)
    for i in range(1, n + 1):
        d = root / "examples" / f"ex{i}"
        d.mkdir(parents=True)
        cidr = "0.0.0.0/0" if i % 3 == 0 else f"10.{i}.0.0/16"
        (d / "main.tf").write_text(f'module "net_{i}" {{\n  source = "../../modules/net"\n  cidr   = "{cidr}"\n'
                                   f'  public = {"true" if i % 2 else "false"}\n}}\n')


Shown = dict[str, list[tuple[str, str, tuple[int, int], str, tuple[str, ...]]]]


def shown(results: dict[str, FileAnalysis]) -> Shown:
    """What the editor shows of a pass: every finding (check, result, lines, message, callers) and problem."""
    out: Shown = {}
    for f, fa in results.items():
        rows = [(x.check_id, x.result.value, x.line_range, x.message, tuple(c[0] for c in x.callers))
                for x in fa.findings]
        rows += [("problem", p.code or "", (p.span.start.line, p.span.end.line), p.message, ()) for p in fa.problems]
        out[f] = sorted(rows)
    return out


def side_ready(timeout: float = 90.0) -> sidecar.SideProcess:
    side = sidecar.shared()
    if side is None:
        pytest.skip("a side process cannot run here (one core, or TFGUARD_SIDE_PROCESS=0)")
    assert side.wait_ready(timeout), "the side process imported Checkov and said ready"
    return side


def two_passes(engine: Engine, root: Path, use_side: bool, edit: Path, old: str, new: str) -> tuple[Shown, Shown,
                                                                                                       LiveScan]:
    """A whole-folder pass, then a pass after an unsaved value edit of ``edit``."""
    live = LiveScan(engine, str(root), use_side=use_side)
    first = live.run()
    assert not first.failures
    engine.set_overlay(str(edit), edit.read_text().replace(old, new, 1))
    second = live.run([str(edit.parent)])
    assert not second.failures
    engine.drop_overlay(str(edit))
    return shown(first.results), shown(second.results), live


def _parity(root: Path, edit: Path, old: str, new: str) -> LiveScan:
    side_ready()
    serial = two_passes(make_engine(str(root)), root, False, edit, old, new)
    # twice with the side: the first pass gives each side its units, the second runs them where they ran
    parallel = two_passes(make_engine(str(root)), root, True, edit, old, new)
    again = two_passes(make_engine(str(root)), root, True, edit, old, new)
    assert serial[0] == parallel[0] == again[0], "the whole-folder pass is the serial one"
    assert serial[1] == parallel[1] == again[1], "the pass after the unsaved edit is the serial one"
    assert serial[0][str(edit)] != serial[1][str(edit)], "the edit changed what the editor shows on the edited file"
    return again[2]


def test_a_pass_split_over_two_processes_equals_the_serial_one(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _tree(root, 8)
    module = root / "modules" / "net" / "main.tf"
    live = _parity(root, module, "block_public_policy     = true", "block_public_policy     = false")
    assert 1 in live._sides.values() and 0 in live._sides.values(), "both sides ran units"


@pytest.mark.slow
def test_split_equals_serial_on_a_real_repository(corpora: Path, tmp_path: Path) -> None:
    """terragoat: five units (one per cloud), its AWS file edited unsaved. (terraform-aws-vpc and
    terraform-aws-s3-bucket are one unit each: their examples share call names, so ``checkov -d``
    builds one graph of the whole tree, and so does the full check: there is nothing to split.)"""
    root = tmp_path / "terragoat"
    shutil.copytree(corpora / "terragoat", root, ignore=shutil.ignore_patterns(".git"))
    target = root / "terraform" / "aws" / "s3.tf"
    live = _parity(root, target, "versioning {\n    enabled = true", "versioning {\n    enabled = false")
    assert 1 in live._sides.values(), "the side process ran units"


def test_a_side_process_killed_mid_pass_loses_nothing(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _tree(root, 8)
    module = root / "modules" / "net" / "main.tf"
    engine = make_engine(str(root))
    serial = LiveScan(make_engine(str(root)), str(root), use_side=False).run()
    side = side_ready()
    live = LiveScan(engine, str(root), use_side=True)
    live.run()
    assert 1 in live._sides.values()

    killed: list[int] = []

    def kill_on_start(done: int, total: int, label: str) -> None:
        if not killed and side.pid is not None:
            killed.append(side.pid)
            os.kill(side.pid, signal.SIGKILL)

    engine.set_overlay(str(module), MODULE + "\n# a comment: every unit reads this file\n")
    run = live.run([str(module.parent)], on_unit=kill_on_start)
    assert killed and side.broken
    assert not run.failures and len(run.ran) == 8, "every unit ran, the side's ones here"
    engine.drop_overlay(str(module))
    after = live.run([str(module.parent)])
    assert shown(after.results) == shown(serial.results)
    assert sidecar.shared() is not side, "a new side process is started for the next pass"


def test_the_side_process_writes_nothing_to_the_servers_stdout() -> None:
    side = side_ready()
    assert side.pid is not None
    assert os.readlink(f"/proc/{side.pid}/fd/1") == os.readlink("/proc/self/fd/2"), \
        "its stdout is the server's stderr, never the LSP channel"
    assert os.readlink(f"/proc/{side.pid}/fd/0") == "/dev/null"


def test_the_side_process_ends_with_its_server(tmp_path: Path) -> None:
    code = ("import sys, time\nfrom tfguard.scan import sidecar\nside = sidecar.shared()\n"
            "assert side.wait_ready(90)\nprint(side.pid, flush=True)\ntime.sleep(300)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO / "server"))
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)  # not a clean exit: no atexit, no close
        parent.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        assert not _alive(pid), "the side process saw its socket close and ended"
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_turned_off_no_side_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(sidecar.ENV, "0")
    assert not sidecar.enabled()
    root = tmp_path / "repo"
    _tree(root, 3)
    live = LiveScan(make_engine(str(root)), str(root))
    assert live._side_process(live.plan().units) is None
    assert set(live.run().results) and set(live._sides.values()) == {0}


def test_the_side_process_never_reaches_the_network(blocked_env, tmp_path: Path) -> None:  # noqa: F811
    """A pass split over the side process, in an environment whose sockets record and refuse every attempt;
    the workspace calls a registry module (Checkov would download it if it could)."""
    env, log = blocked_env
    ws = _workspace(tmp_path)
    (ws / "module" / "calls.tf").unlink()  # called by every unit below, its call names would join them in one run
    for i in (1, 2, 3):
        d = ws / f"env{i}"
        d.mkdir()
        (d / "main.tf").write_text(f'module "m{i}" {{\n  source = "../module"\n}}\nmodule "vpc{i}" {{\n'
                                   '  source  = "terraform-aws-modules/vpc/aws"\n  version = "~> 5.0"\n}\n')
    code = textwrap.dedent(f'''
        import os, sys
        from tfguard.scan import sidecar
        from tfguard.scan.live import LiveScan
        from tfguard.wiring import make_engine
        side = sidecar.shared()
        assert side.wait_ready(90)
        environ = open(f"/proc/{{side.pid}}/environ", "rb").read().split(b"\\0")
        assert any(e.startswith(b"TFGUARD_NET_LOG=") for e in environ), "the side process has the guard"
        live = LiveScan(make_engine({str(ws)!r}), {str(ws)!r}, use_side=True)
        live.run()
        engine = live.engine
        f = {str(ws / "module" / "main.tf")!r}
        engine.set_overlay(f, open(f).read() + "\\n# edited\\n")
        run = live.run([os.path.dirname(f)])
        assert not run.failures, run.failures
        assert 1 in live._sides.values(), "the side process ran units"
        print(sum(len(fa.findings) for fa in run.results.values()))
    ''')
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.split()[-1]) > 0, "Checkov really ran"
    assert log.read_text() == ""
