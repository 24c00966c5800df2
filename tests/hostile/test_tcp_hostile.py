"""``tfguard serve --tcp``: the same hardened reader as stdio (resynchronise, bounded body), loopback only.

Each broken frame of the stdio suite (``tests/lsp/test_protocol_hostile.py``: a ``Content-Length`` 10
bytes short or long, ``abc``, ``-5``, missing, ``10**12``, garbage, a non-JSON or non-object body) is
written to the real server's socket, then a hover must be answered; a real 65 MiB body is refused
without being buffered (peak RSS bounded); a second client is turned away; a non-loopback address is
refused (exit 2, one line).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.server import ANSWER_WITHIN, BASELINE_RSS_MB, peak_rss_mb
from tests.lsp.test_protocol_hostile import FRAMES


def _frame(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class TcpClient:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.ids = iter(range(1, 10**6))

    def message(self, deadline: float) -> dict[str, Any]:
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
                             .split(b":")[1])
                if len(rest) >= length:
                    self.buf = rest[length:]
                    return json.loads(rest[:length])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no message over TCP in time")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("the server closed the connection")
            self.buf += chunk

    def request(self, method: str, params: Any) -> dict[str, Any]:
        rid = next(self.ids)
        self.sock.sendall(_frame({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}))
        deadline = time.monotonic() + ANSWER_WITHIN
        while True:
            msg = self.message(deadline)
            if "method" in msg and "id" in msg:  # the server's own requests (configuration, registration)
                result: Any = [{}] if msg["method"] == "workspace/configuration" else None
                self.sock.sendall(_frame({"jsonrpc": "2.0", "id": msg["id"], "result": result}))
            elif msg.get("id") == rid:
                return msg

    def hover(self) -> dict[str, Any]:
        return self.request("textDocument/hover", {"textDocument": {"uri": "file:///nonexistent/x.tf"},
                                                   "position": {"line": 0, "character": 0}})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tcp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[bytes], TcpClient, int]]:
    ws = tmp_path_factory.mktemp("tcpws")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tfguard", "serve", "--tcp", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError as e:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("no listener") from e
                time.sleep(0.1)  # the listener is coming up (bounded by the deadline)
        client = TcpClient(sock)
        resp = client.request("initialize", {"processId": None, "rootUri": ws.as_uri(), "capabilities": {},
                                             "initializationOptions": {"indexWorkspace": False}})
        assert resp["result"]["serverInfo"]["name"] == "tfguard"
        sock.sendall(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        yield proc, client, port
        sock.close()
    finally:
        proc.kill()
        proc.wait(10)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(FRAMES))
def test_a_broken_frame_does_not_make_the_tcp_server_deaf(tcp: tuple[Any, TcpClient, int], name: str) -> None:
    proc, client, _ = tcp
    client.sock.sendall(FRAMES[name])
    assert "result" in client.hover()
    assert proc.poll() is None


@pytest.mark.timeout(120)
def test_an_oversized_body_over_tcp_is_refused_without_buffering_it(tcp: tuple[Any, TcpClient, int]) -> None:
    proc, client, _ = tcp
    junk = b'{"jsonrpc":"2.0","method":"x","params":"' + b"a" * (65 * 1024 * 1024) + b'"}'
    client.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(junk) + junk)
    assert "result" in client.hover()
    rss = peak_rss_mb(proc.pid)
    assert rss < BASELINE_RSS_MB, f"peak RSS {rss:.0f} MB: the 65 MiB body was buffered"


@pytest.mark.timeout(120)
def test_a_second_client_is_turned_away(tcp: tuple[Any, TcpClient, int]) -> None:
    proc, client, port = tcp
    with socket.create_connection(("127.0.0.1", port), timeout=10) as other:
        try:
            other.sendall(_frame({"jsonrpc": "2.0", "id": 1, "method": "shutdown"}))
            other.settimeout(10)
            got = other.recv(100)
        except (ConnectionResetError, BrokenPipeError):  # closed before it read what was sent: a reset
            got = b""
        assert got == b"", "a second client is closed at once, unanswered"
    assert "result" in client.hover()
    assert proc.poll() is None


@pytest.mark.timeout(60)
@pytest.mark.parametrize("address", ["0.0.0.0:2087", "192.0.2.1:2087", "127.0.0.1:http"])
def test_a_non_loopback_or_bad_address_is_refused(address: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tfguard", "serve", "--tcp", address], capture_output=True,
                          text=True, timeout=50, check=False, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("tfguard: error: ValueError: "), proc.stderr[-2000:]
    assert proc.stdout == ""
