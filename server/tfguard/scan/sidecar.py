"""A second warm Checkov process for the editor's full check: one more core for a pass of many units.

The editor's authoritative pass (:class:`tfguard.scan.live.LiveScan`) runs the stale scan units of a
folder; a value edit of a root module makes every example's unit stale. In one process Checkov runs one
unit at a time (its registries are global: :data:`tfguard.checks.checkov_env.run_lock`), so such a pass
used one core. The side process runs some of those units at the same time.

- **A fresh interpreter, never a fork.** The language server is threaded (pygls' executors, the tier-2
  thread): a fork of it could inherit a lock held by another thread. The side process is
  ``python -c "...sidecar.serve()"`` of the server's own interpreter and tfguard (nothing of the parent's
  ``__main__`` is re-run, as ``multiprocessing``'s spawn would), started once, in the background, at the
  first pass that has two units to run. It imports Checkov once, in the same offline environment and
  with the same guards (:func:`tfguard.checks.checkov_env.checkov_modules`), then serves prepared runs
  (:class:`tfguard.checks.graph.RunSpec`) over a socket pair. Its stdout is the server's stderr: it never
  writes to the LSP channel.
- **Warm.** Its memos (:mod:`tfguard.checks.memo`) persist between passes, and LiveScan gives each unit to
  the same side every time.
- **Fail closed.** A side process that dies, or answers anything but a run, is stopped, and the unit it
  held runs in the server's process: the pass's result is the serial one, only later. After
  :data:`MAX_STARTS` starts the side is not started again in this process (said once in the log).
- **Bounded.** One side process per server process, whatever the number of folders; it ends when its
  socket closes: at :func:`stop`, or when the server exits, even killed.

``TFGUARD_SIDE_PROCESS=0`` turns it off (one core, less memory); so does a one-core machine, and Python
custom checks (they are code loaded into the server's Checkov only).
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

import tfguard
from tfguard.checks.graph import GraphRun, RunSpec

log = logging.getLogger(__name__)

ENV = "TFGUARD_SIDE_PROCESS"  # "0": never start the side process
MAX_STARTS = 3  # side processes started per server process before giving up on it
IDLE_COLLECT_AFTER = 2.0  # seconds without a unit to run before the side process collects its garbage
RUN_TIMEOUT = 900.0  # seconds one unit may take in the side process before it is stopped and run here


class SideFailed(Exception):
    """The side process could not give the run (it died, or answered something else): run it here."""


def enabled() -> bool:
    """Whether a side process may run: more than one core, and not turned off by :data:`ENV`."""
    if os.environ.get(ENV, "").strip().lower() in ("0", "false", "no", "off"):
        return False
    return (os.cpu_count() or 1) > 1


def serve(fd: int) -> None:
    """The side process: import Checkov, say ready, then run specs from descriptor ``fd`` until it closes."""
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="tfguard side process %(process)d: %(levelname)s %(name)s: %(message)s")
    from tfguard import gctuning
    from tfguard.checks.checkov_env import checkov_modules
    from tfguard.checks.graph import graph_check_ids, run_spec

    conn = Connection(fd)
    checkov_modules()
    graph_check_ids()
    gctuning.collect_at_idle()  # as in the server: what a run puts off is collected when no unit is waiting
    if not _answer(conn, ("ready", os.getpid())):
        return
    collected = True
    while True:
        try:
            if not collected and not conn.poll(IDLE_COLLECT_AFTER):
                gctuning.maintain()
                collected = True
            message = conn.recv()
        except (EOFError, OSError):  # the server is gone
            return
        if not isinstance(message, tuple) or message[:1] != ("run",):
            return
        try:
            reply: tuple[Any, ...] = ("ok", run_spec(message[1]))
        except Exception as e:  # the server runs the unit itself, and reports its failure if it fails there too
            reply = ("error", f"{type(e).__name__}: {e}")
        if not _answer(conn, reply):
            return
        collected = False


def _answer(conn: Connection, message: tuple[Any, ...]) -> bool:
    """Send ``message`` to the server; False when it has gone away (nobody to answer: end quietly)."""
    try:
        conn.send(message)
    except OSError:
        return False
    return True


class SideProcess:
    """The server's end of one side process (one call at a time: callers wait for each other)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(tfguard.__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", f"from tfguard.scan.sidecar import serve; serve({theirs.fileno()})"],
                stdin=subprocess.DEVNULL, stdout=2, pass_fds=(theirs.fileno(),), env=env)
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        self.pid: int | None = None  # set once it said ready
        self.broken = False
        self._started = time.monotonic()
        self._call = threading.Lock()

    @property
    def ready(self) -> bool:
        return self.pid is not None and not self.broken

    def wait_ready(self, timeout: float) -> bool:
        """Whether it is ready (Checkov imported), waiting at most ``timeout`` seconds for it."""
        with self._call:
            return self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> bool:
        if self.broken or self.pid is not None:
            return self.ready
        try:
            if not self._conn.poll(timeout):
                if self.process.poll() is not None:
                    self._fail(f"ended before it was ready (exit code {self.process.returncode})")
                return False
            message = self._conn.recv()
        except (EOFError, OSError) as e:
            self._fail(f"ended before it was ready ({type(e).__name__})")
            return False
        if not (isinstance(message, tuple) and message[:1] == ("ready",) and isinstance(message[1], int)):
            self._fail(f"said {message!r} instead of ready")
            return False
        self.pid = message[1]
        log.info("side process %d ready in %.1f s", self.pid, time.monotonic() - self._started)
        return True

    def run(self, spec: RunSpec, timeout: float = RUN_TIMEOUT) -> GraphRun:
        """Checkov's run of ``spec`` in the side process; SideFailed if it cannot give it (within ``timeout``
        seconds: a side process stuck that long is stopped)."""
        with self._call:
            return self._run(spec, timeout)

    def _run(self, spec: RunSpec, timeout: float) -> GraphRun:
        if not self.ready:
            raise SideFailed("the side process is not ready")
        deadline = time.monotonic() + timeout
        try:
            self._conn.send(("run", spec))
            while not self._conn.poll(0.5):
                if self.process.poll() is not None:
                    raise SideFailed(f"the side process ended (exit code {self.process.returncode})")
                if time.monotonic() > deadline:
                    raise SideFailed(f"the side process gave no answer in {timeout:g} s")
            reply = self._conn.recv()
        except (EOFError, OSError) as e:
            self._fail(f"{type(e).__name__}: {e}")
            raise SideFailed(f"the side process is gone ({type(e).__name__})") from e
        except SideFailed as e:
            self._fail(str(e))
            raise
        if isinstance(reply, tuple) and len(reply) == 2 and reply[0] == "ok" and isinstance(reply[1], GraphRun):
            return reply[1]
        if isinstance(reply, tuple) and len(reply) == 2 and reply[0] == "error":
            raise SideFailed(f"Checkov failed in the side process: {reply[1]}")
        self._fail(f"answered {type(reply).__name__} instead of a run")
        raise SideFailed("the side process answered something else than a run")

    def _fail(self, why: str) -> None:
        log.warning("side process %s: %s; its units run in the server's process", self.pid or "", why)
        self.close()

    def close(self) -> None:
        """Stop it (closing the pipe ends it; terminated if it does not end within a second)."""
        self.broken = True
        try:
            self._conn.close()
        except OSError:
            pass
        try:
            self.process.wait(1.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5.0)


_lock = threading.Lock()
_side: SideProcess | None = None
_starts = 0


def shared() -> SideProcess | None:
    """The process's side process, started (in the background: it imports Checkov) on first call, started
    again after a failure up to :data:`MAX_STARTS` times; None when it may not run (:func:`enabled`)."""
    global _side, _starts
    with _lock:
        if _side is not None and not _side.broken:
            return _side
        if not enabled() or _starts >= MAX_STARTS:
            return None
        _starts += 1
        if _starts == MAX_STARTS:
            log.warning("starting the side process for the last time (%d starts): if it fails again, every "
                        "unit runs in the server's process", _starts)
        try:
            _side = SideProcess()
            if _starts == 1:
                atexit.register(stop)
        except Exception as e:  # no process to start (a sandbox, no /dev/shm): one core
            log.warning("could not start a side process (%s: %s): every unit runs in the server's process",
                        type(e).__name__, e)
            _starts = MAX_STARTS
            return None
        return _side


def stop() -> None:
    """Stop the side process, if any (a later :func:`shared` starts a new one)."""
    global _side
    with _lock:
        side, _side = _side, None
    if side is not None:
        side.close()
