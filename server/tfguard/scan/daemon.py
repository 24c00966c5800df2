"""A warm scan process: ``tfguard daemon start``, then ``tfguard scan`` runs in it.

A new ``tfguard scan`` process pays Checkov's import (1.4–2 s) before it checks anything, even
when the result cache holds every unit but the one file that changed. The daemon keeps Checkov
imported, its graph checks loaded and the memos of ``checks/memo.py`` filled between scans; a
``tfguard scan`` that finds it running sends its arguments, working directory, terminal and scan
environment (:func:`tfguard.invocation.client_environ`) over a Unix socket and prints what the daemon
answers: the same report, the same exit code.

The daemon knows nothing of the command line: :func:`serve_forever` is handed a ``run`` callable
(``tfguard.cli.serve_request``) and calls it with the client's arguments and an
:class:`~tfguard.invocation.Invocation` built from the request (the client's directory, environment and
terminal, and buffers for its output). Nothing process-wide is swapped for a request: no ``os.chdir``,
no ``os.environ`` writes, no reassigned ``sys.stdout`` / ``sys.stderr``, no replaced log handlers.

Safety:

- the socket lives in a directory only this user can enter (``$XDG_RUNTIME_DIR/tfguard``, else
  ``<tmp>/tfguard-<uid>``; refused when it is a symlink, someone else's, or open to others), and on
  Linux the daemon also checks the peer's uid (``SO_PEERCRED``);
- the daemon serves only clients running the very same code (installation path, version and source
  files) with the same Checkov environment variables; any other client runs the scan itself;
- Python custom checks (``--allow-python-checks``) are never loaded into a long-lived process: such
  a scan runs in the client;
- it exits after ``idle_timeout`` seconds without a request (default one hour).

The protocol is one JSON object per connection each way (a request line, then the answer). A ``run``
request with ``"stream": true`` gets what the scan writes to stderr (the progress bar, warnings) as it is
written, each piece a line ``{"stderr": TEXT}``, before the answer's line; the client prints them at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from tfguard import __version__, gctuning
from tfguard.identity import code_fingerprint, package_dir
from tfguard.invocation import Invocation, client_environ

log = logging.getLogger(__name__)

PROTOCOL = 1
# True in the daemon process: its own scans never go to a daemon.
serving = False
DEFAULT_IDLE_TIMEOUT = 3600.0
LOG_KEEP_BYTES = 1 << 20  # a longer log is started afresh by the next `daemon start`
# A request's run: ``tfguard <argv>`` for the client described by the invocation; its exit code.
Runner = Callable[[Sequence[str], Invocation], int]
# Environment read when Checkov is imported: a client whose values differ runs the scan itself.
_IMPORT_ENV_PREFIXES = ("CHECKOV_", "BC_", "LOG_LEVEL", "PYTHONHASHSEED")


class DaemonError(Exception):
    """The daemon cannot be used (unsafe socket directory, no Unix sockets, failed start)."""


@dataclass(frozen=True)
class Answer:
    """What the daemon answered to one scan: the client prints it and exits with ``exit_code``."""

    exit_code: int
    stdout: str
    stderr: str


def available() -> bool:
    """True where Unix domain sockets, uids and ``flock`` exist (not on Windows)."""
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return False
    return hasattr(socket, "AF_UNIX") and hasattr(os, "getuid")


def code_identity() -> str:
    """A digest of the code a scan runs: interpreter, tfguard's location, version and source files.

    A daemon started before tfguard was upgraded or edited has another identity; clients then run
    the scan themselves instead of getting the old code's answer.
    """
    h = hashlib.sha256()
    h.update(f"{PROTOCOL}\0{__version__}\0{os.path.realpath(sys.executable)}\0{package_dir()}\0".encode())
    h.update(code_fingerprint().encode())
    return h.hexdigest()


def import_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables Checkov reads when it is imported (they must match the daemon's)."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if k.startswith(_IMPORT_ENV_PREFIXES)}


def runtime_dir(environ: Mapping[str, str] | None = None) -> str:
    """This user's private directory for the socket and the log, created 0700 and checked.

    ``environ``: where ``XDG_RUNTIME_DIR`` is read (None: this process's environment).
    """
    base = (os.environ if environ is None else environ).get("XDG_RUNTIME_DIR")
    path = os.path.join(base, "tfguard") if base and os.path.isdir(base) else os.path.join(
        tempfile.gettempdir(), f"tfguard-{os.getuid()}")
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise DaemonError(f"{path} is not a directory: refusing to use it for the tfguard daemon")
    if st.st_uid != os.getuid():
        raise DaemonError(f"{path} belongs to another user: refusing to use it for the tfguard daemon")
    if st.st_mode & 0o077:
        raise DaemonError(f"{path} is open to other users (mode {stat.S_IMODE(st.st_mode):o}): refusing to use it")
    return path


def socket_path(environ: Mapping[str, str] | None = None) -> str:
    """The socket of the daemon for this installation (``$TFGUARD_DAEMON_SOCKET`` overrides it).

    ``environ``: where ``TFGUARD_DAEMON_SOCKET`` / ``XDG_RUNTIME_DIR`` are read (None: this process's).
    """
    env = os.environ if environ is None else environ
    explicit = env.get("TFGUARD_DAEMON_SOCKET")
    if explicit:
        return explicit
    # One daemon per installation: two virtualenvs never talk to each other's daemon.
    tag = hashlib.sha256(f"{os.path.realpath(sys.executable)}\0{package_dir()}".encode()).hexdigest()[:12]
    return os.path.join(runtime_dir(env), f"daemon-{tag}.sock")


def log_path(sock: str) -> str:
    """The daemon's log file, next to its socket."""
    return os.path.splitext(sock)[0] + ".log"


def _lock_path(sock: str) -> str:
    return os.path.splitext(sock)[0] + ".lock"


def is_running(sock_path: str | None = None) -> bool:
    """True while a daemon holds this socket's lock, even when it is busy with a long scan."""
    import fcntl

    try:
        fd = os.open(_lock_path(sock_path or socket_path()), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a lock taken here
    return False


# --- client side ------------------------------------------------------------------------------


def _recv_all(s: socket.socket) -> bytes:
    """Everything the other side sends until it shuts its end (one message per connection)."""
    chunks: list[bytes] = []
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def trusted_socket(sock_path: str) -> bool:
    """True when ``sock_path`` is a socket of this user's (someone else's could answer with a fake report)."""
    try:
        st = os.lstat(sock_path)
    except OSError:
        return False
    if not stat.S_ISSOCK(st.st_mode):
        return False
    if st.st_uid != os.getuid():
        log.warning("%s belongs to uid %s, not to this user: not using it as the tfguard daemon", sock_path, st.st_uid)
        return False
    return True


def _exchange(sock_path: str, request: dict[str, Any], timeout: float | None,
              relay: TextIO | None = None) -> dict[str, Any] | None:
    """Send one request; the answer, or None when no daemon listens (or it died mid-request).

    ``relay``: where the ``{"stderr": TEXT}`` lines streamed before the answer are written as they come.
    """
    if not available() or not trusted_socket(sock_path):
        return None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
    except OSError:  # no socket file, nobody listening, timed out
        s.close()
        return None
    try:
        s.sendall(json.dumps(request).encode() + b"\n")
        s.shutdown(socket.SHUT_WR)  # the daemon reads the request to its end
        data = _recv_streamed(s, relay) if relay is not None else _recv_all(s)
    except OSError:
        return None
    finally:
        s.close()
    try:
        answer = json.loads(data)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _recv_streamed(s: socket.socket, relay: TextIO) -> bytes:
    """Relay the streamed ``{"stderr": TEXT}`` lines as they arrive; the rest (the answer) is returned."""
    buf = b""
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            return buf
        buf += chunk
        while b"\n" in buf:
            line, rest = buf.split(b"\n", 1)
            try:
                piece = json.loads(line)
            except ValueError:
                return buf  # not a streamed line: the answer (it has no newline of its own)
            if not (isinstance(piece, dict) and set(piece) == {"stderr"}):
                return buf
            relay.write(str(piece["stderr"]))
            relay.flush()
            buf = rest


def ping(sock_path: str | None = None, timeout: float = 2.0) -> dict[str, Any] | None:
    """The running daemon's status (pid, identity, uptime, scans served), or None."""
    return _exchange(sock_path or socket_path(), {"op": "ping", "protocol": PROTOCOL}, timeout)


def stop(sock_path: str | None = None, timeout: float = 10.0) -> bool:
    """Ask the daemon to exit; True when one was running."""
    return _exchange(sock_path or socket_path(), {"op": "stop", "protocol": PROTOCOL}, timeout) is not None


def run_scan(argv: Sequence[str], sock_path: str | None = None,
             invocation: Invocation | None = None) -> Answer | str | None:
    """Run ``tfguard <argv>`` in the daemon: its answer; None when none runs; why, when it refused.

    ``invocation`` (None: this process's) is the client the daemon runs it for: its working directory,
    scan environment and terminal travel with the request. In the last two cases the caller runs the
    scan itself. A daemon running other code (tfguard upgraded since it started) is stopped, so the next
    ``daemon start`` / ``scan --daemon`` starts a current one.
    """
    inv = Invocation.from_process() if invocation is None else invocation
    path = sock_path or socket_path(inv.environ)
    if not trusted_socket(path):  # the common case without a daemon: no identity digest to compute
        return None
    request = {
        "op": "run", "protocol": PROTOCOL, "identity": code_identity(), "import_env": import_env(),
        "argv": list(argv), "cwd": inv.cwd, "env": dict(inv.environ), "isatty": inv.stdout_isatty,
        "stderr_isatty": inv.stderr_isatty, "stream": True,
    }
    answer = _exchange(path, request, None, relay=inv.stderr)
    if answer is None:
        return None
    if "refused" in answer:
        log.info("the tfguard daemon did not take this scan: %s", answer["refused"])
        if answer.get("stale"):
            stop(path)
            deadline = time.monotonic() + 5.0
            while is_running(path) and time.monotonic() < deadline:
                time.sleep(0.02)
        return str(answer["refused"])
    return Answer(int(answer["exit_code"]), str(answer.get("stdout", "")), str(answer.get("stderr", "")))


def start(
    sock_path: str | None = None, idle_timeout: float = DEFAULT_IDLE_TIMEOUT, wait: float = 60.0,
) -> dict[str, Any]:
    """Start a daemon in the background (unless one with this code runs) and wait until it answers."""
    if not available():
        raise DaemonError("the tfguard daemon needs Unix domain sockets, which this platform lacks")
    path = sock_path or socket_path()
    if os.path.lexists(path) and not trusted_socket(path):
        raise DaemonError(f"{path} exists and is not a socket of this user's: not replacing it")
    if is_running(path):
        status = ping(path, timeout=wait)  # answered after the scan it may be busy with
        if status is None:
            raise DaemonError(f"the tfguard daemon on {path} does not answer (busy for over {wait:.0f} s?)")
        if status.get("identity") == code_identity():
            return status
        stop(path, timeout=wait)
        deadline = time.monotonic() + wait
        while is_running(path) and time.monotonic() < deadline:
            time.sleep(0.05)
    try:  # one line per scan: keep the log from growing forever
        keep = os.path.getsize(log_path(path)) < LOG_KEEP_BYTES
    except OSError:
        keep = True
    with open(log_path(path), "ab" if keep else "wb") as logf:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tfguard", "daemon", "run", "--socket", path, "--idle-timeout", str(idle_timeout)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=logf, start_new_session=True, close_fds=True)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        status = ping(path, timeout=1.0)
        if status is not None:
            return status
        if proc.poll() is not None:
            raise DaemonError(f"the tfguard daemon exited at start (status {proc.returncode}): "
                              f"{_last_line(log_path(path))} (log: {log_path(path)})")
        time.sleep(0.05)
    proc.kill()
    raise DaemonError(f"the tfguard daemon did not answer within {wait:.0f} s; see {log_path(path)}")


def _last_line(path: str) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no log"


# --- server side ------------------------------------------------------------------------------


class _Relay(io.StringIO):
    """A client's stderr in the daemon: each write is sent to the client at once (``emit``), not kept."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        super().__init__()
        self._emit = emit

    def write(self, s: str) -> int:
        if s:
            self._emit(s)
        return len(s)


def _invocation(request: dict[str, Any], emit: Callable[[str], None] | None = None,
                ) -> tuple[Invocation, io.StringIO, io.StringIO]:
    """The client a request runs for: its directory (absolute), scan environment and terminal, with the
    buffers (stdout, stderr) that collect what the scan prints; with ``emit`` (a streaming request),
    stderr is relayed through it as it is written. ValueError (a bad request) for a relative or missing
    directory."""
    cwd, env = request.get("cwd"), request.get("env", {})
    if not isinstance(cwd, str) or not os.path.isabs(cwd):
        raise ValueError(f"the client's working directory must be an absolute path, not {cwd!r}")
    if not isinstance(env, dict):
        raise ValueError("the client's environment must be a JSON object")
    out, err = io.StringIO(), (io.StringIO() if emit is None else _Relay(emit))
    inv = Invocation(cwd=cwd, environ={str(k): str(v) for k, v in env.items()}, stdout=out, stderr=err,
                     stdout_isatty=bool(request.get("isatty")), stderr_isatty=bool(request.get("stderr_isatty")))
    return inv, out, err


def _peer_uid(conn: socket.socket) -> int | None:
    opt = getattr(socket, "SO_PEERCRED", None)
    if opt is None:
        return None
    fmt = "3i"
    _pid, uid, _gid = struct.unpack(fmt, conn.getsockopt(socket.SOL_SOCKET, opt, struct.calcsize(fmt)))
    return int(uid)


def _read_request(conn: socket.socket) -> dict[str, Any]:
    data = json.loads(_recv_all(conn))
    if not isinstance(data, dict):
        raise ValueError("a request is a JSON object")
    return data


class Daemon:
    """The serving loop: one request at a time (Checkov's registries are global).

    ``run`` runs one request (``tfguard.cli.serve_request``): it gets the client's arguments and an
    :class:`Invocation` and must print only to the invocation's streams and read only its environment.
    """

    request_timeout = 30.0  # seconds a client has to send its request

    def __init__(self, sock_path: str, idle_timeout: float = DEFAULT_IDLE_TIMEOUT, *, run: Runner) -> None:
        self.sock_path = sock_path
        self.idle_timeout = idle_timeout
        self.run = run
        self.identity = code_identity()
        self.import_env = import_env()
        self.started = time.time()
        self.served = 0
        self._stop = False

    def warm_up(self) -> None:
        """Import Checkov and load its graph checks now, not in the first scan."""
        from tfguard.checks.checkov_env import checkov_modules
        from tfguard.checks.graph import graph_check_ids

        checkov_modules()
        graph_check_ids()

    def status(self) -> dict[str, Any]:
        """What ``ping`` answers; ``cwd`` and ``env`` are the daemon's own (requests never change them)."""
        return {"pid": os.getpid(), "identity": self.identity, "version": __version__, "socket": self.sock_path,
                "uptime": round(time.time() - self.started, 1), "served": self.served,
                "idle_timeout": self.idle_timeout, "cwd": os.getcwd(), "env": client_environ(os.environ)}

    def answer(self, request: dict[str, Any], emit: Callable[[str], None] | None = None) -> dict[str, Any]:
        """The reply to one request: a status, a refusal, or a scan's exit code and output.

        ``emit`` sends a piece of stderr to the client at once (a ``"stream": true`` request)."""
        op = request.get("op")
        if request.get("protocol") != PROTOCOL:
            return {"refused": f"protocol {request.get('protocol')!r}, this daemon speaks {PROTOCOL}", "stale": True}
        if op == "ping":
            return self.status()
        if op == "stop":
            self._stop = True
            return {"stopping": os.getpid()}
        if op != "run":
            return {"refused": f"unknown request {op!r}"}
        if request.get("identity") != self.identity:
            return {"refused": "the daemon runs other tfguard code (upgraded or edited since it started)",
                    "stale": True}
        if request.get("import_env") != self.import_env:
            return {"refused": "the client's CHECKOV_* environment differs from the daemon's"}
        argv = [str(a) for a in request.get("argv", [])]
        if not argv or argv[0] != "scan" or any(a.startswith("--allow-python-checks") for a in argv):
            return {"refused": "only `tfguard scan` without Python custom checks runs in the daemon"}
        inv, out, err = _invocation(request, emit if request.get("stream") else None)
        self.served += 1
        t0 = time.perf_counter()
        try:
            code = self.run(argv, inv)
        except SystemExit as e:  # argparse: usage errors and --help
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        except Exception as e:  # the daemon keeps serving; the client sees why
            log.exception("scan %s failed in the daemon", argv)
            err.write(f"tfguard: error: {type(e).__name__}: {e}\n")
            code = 2
        log.info("served %s in %.2f s (exit %s)", argv, time.perf_counter() - t0, code)
        return {"exit_code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}

    def serve(self) -> None:
        """Hold this socket's lock (one daemon per socket) and serve until stopped or idle."""
        import fcntl

        lock_fd = os.open(_lock_path(self.sock_path), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock_fd)
            raise DaemonError(f"a tfguard daemon already runs on {self.sock_path}") from None
        try:
            self._serve_locked()
        finally:
            os.close(lock_fd)

    def _serve_locked(self) -> None:
        if os.path.lexists(self.sock_path):
            if not trusted_socket(self.sock_path):
                raise DaemonError(f"{self.sock_path} exists and is not a socket of this user's: not replacing it")
            os.unlink(self.sock_path)  # we hold the lock: left by a daemon that was killed
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            srv.bind(self.sock_path)
        finally:
            os.umask(old_umask)
        srv.listen(8)
        srv.settimeout(min(self.idle_timeout, 60.0))
        bound = os.stat(self.sock_path).st_ino
        log.info("tfguard daemon %s listening on %s", os.getpid(), self.sock_path)
        last = time.monotonic()
        try:
            while not self._stop:
                try:
                    conn, _ = srv.accept()
                except TimeoutError:
                    if time.monotonic() - last >= self.idle_timeout:
                        log.info("idle for %.0f s: exiting", self.idle_timeout)
                        break
                    continue
                with conn:
                    served = self.served
                    self._serve_one(conn)
                if self.served != served:  # status queries do not keep it alive
                    # After the answer is sent: collect the scan's garbage, including what a big file's
                    # analysis froze (gctuning.settle), which would otherwise stay for the daemon's life.
                    gctuning.maintain()
                    last = time.monotonic()
                elif time.monotonic() - last >= self.idle_timeout:
                    log.info("idle for %.0f s: exiting", self.idle_timeout)
                    break
        finally:
            srv.close()
            with contextlib.suppress(OSError):
                if os.stat(self.sock_path).st_ino == bound:  # never remove a successor's socket
                    os.unlink(self.sock_path)

    def _serve_one(self, conn: socket.socket) -> None:
        uid = _peer_uid(conn)
        if uid is not None and uid != os.getuid():
            log.warning("refused a connection from uid %s", uid)
            return
        try:
            conn.settimeout(self.request_timeout)  # a client that never finishes its request blocks no one
            request = _read_request(conn)
            conn.settimeout(None)
            reply = self.answer(request, _emitter(conn))
        except (ValueError, KeyError, OSError) as e:
            reply = {"refused": f"bad request: {e}"}
        with contextlib.suppress(OSError):  # the client may have gone (Ctrl-C)
            conn.sendall(json.dumps(reply).encode())


def _emitter(conn: socket.socket) -> Callable[[str], None]:
    """Send ``{"stderr": TEXT}`` lines on ``conn`` (from any thread: the progress bar draws from its own);
    a client that went away (Ctrl-C) does not stop the scan."""
    import threading

    lock = threading.Lock()

    def emit(text: str) -> None:
        with lock, contextlib.suppress(OSError):
            conn.sendall(json.dumps({"stderr": text}).encode() + b"\n")

    return emit


def serve_forever(sock_path: str, idle_timeout: float, run: Runner) -> int:
    """``tfguard daemon run``: warm up, then serve until stopped or idle, each scan by ``run``."""
    global serving
    from tfguard.scan import pool as scanpool

    serving = True  # belt and braces: a scan in this process never goes to a daemon
    scanpool.keep_worker_memos = True  # the next scan here starts with what this one's workers parsed
    daemon = Daemon(sock_path, idle_timeout, run=run)
    daemon.warm_up()
    daemon.serve()
    return 0
