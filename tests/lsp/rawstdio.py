"""A raw stdio client for ``tfguard serve``: write any bytes to its stdin, read framed messages with timeouts.

pytest-lsp cannot send malformed frames; these tests must. A reader thread parses the server's
stdout into messages; every wait is bounded.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.lsp.conftest import SERVER_COMMAND


class RawServer:
    """One ``tfguard serve`` process on stdio."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None, stderr_path: Path | None = None) -> None:
        self._err = open(stderr_path or os.devnull, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(SERVER_COMMAND, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._err, env={**os.environ, **(env or {})})
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # ------------------------------------------------------------ output
    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                length = None
                while True:
                    line = out.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if length is None:
                    continue
                body = out.read(length)
                if len(body) < length:
                    return
                self.messages.put(json.loads(body))
        finally:
            self.messages.put(None)

    def next_message(self, timeout: float) -> dict[str, Any] | None:
        """The next message within ``timeout`` seconds (None: the server's stdout closed); raises on timeout."""
        return self.messages.get(timeout=timeout)

    def wait_response(self, req_id: int | str, timeout: float = 30.0) -> dict[str, Any]:
        """The response to request ``req_id`` (the server's own requests are answered with null)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no response to request {req_id} within {timeout} s")
            try:
                msg = self.next_message(remaining)
            except queue.Empty:
                continue
            if msg is None:
                raise AssertionError(f"server closed its output before answering {req_id} (rc={self.proc.poll()})")
            if "method" in msg and "id" in msg:  # a request of the server's (configuration, registration)
                result: Any = [{}] if msg["method"] == "workspace/configuration" else None
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
                continue
            if "method" in msg:
                self.notifications.append(msg)
                continue
            if msg.get("id") == req_id:
                return msg

    def wait_notification(self, method: str, predicate: Any = lambda m: True, timeout: float = 30.0
                          ) -> dict[str, Any]:
        """The first notification ``method`` (already received or coming) satisfying ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            for n in self.notifications:
                if n["method"] == method and predicate(n):
                    return n
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {method} within {timeout} s")
            try:
                msg = self.next_message(min(remaining, 0.5))
            except queue.Empty:
                continue
            if msg is None:
                raise AssertionError(f"server closed its output (rc={self.proc.poll()})")
            if "method" in msg and "id" in msg:
                result: Any = [{}] if msg["method"] == "workspace/configuration" else None
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            elif "method" in msg:
                self.notifications.append(msg)

    # ------------------------------------------------------------- input
    def write(self, data: bytes) -> None:
        """Write raw bytes to the server's stdin."""
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(data)
        stdin.flush()

    def send(self, msg: dict[str, Any]) -> None:
        """Write one well-framed JSON-RPC message."""
        body = json.dumps(msg).encode()
        self.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def request(self, method: str, params: Any = None) -> int:
        """Send a request; returns its id."""
        req_id = next(self._ids)
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": req_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return req_id

    def notify(self, method: str, params: Any = None) -> None:
        """Send a notification."""
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    # ----------------------------------------------------------- session
    def initialize(self, root: Path, options: dict[str, Any] | None = None, timeout: float = 60.0) -> None:
        """initialize + initialized, with ``options`` as initializationOptions."""
        rid = self.request("initialize", {
            "processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": {},
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "initializationOptions": {"indexWorkspace": False, "idleDelayMs": 100, **(options or {})}})
        resp = self.wait_response(rid, timeout)
        assert "result" in resp, resp
        self.notify("initialized", {})

    def open(self, path: Path, text: str, version: int = 1) -> str:
        """didOpen ``path`` with ``text``; returns its URI."""
        uri = path.as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "terraform", "version": version, "text": text}})
        return uri

    def alive_answer(self, timeout: float = 10.0) -> dict[str, Any]:
        """A normal request (hover on an empty file position) answered within ``timeout``: the server hears."""
        rid = self.request("textDocument/hover", {"textDocument": {"uri": "file:///nonexistent/x.tf"},
                                                  "position": {"line": 0, "character": 0}})
        return self.wait_response(rid, timeout)

    def shutdown(self, timeout: float = 30.0) -> int:
        """shutdown then exit; returns the exit code (bounded)."""
        rid = self.request("shutdown")
        self.wait_response(rid, timeout)
        self.notify("exit")
        return self.wait(timeout)

    def wait(self, timeout: float) -> int:
        """Wait for the process to end (bounded); returns its exit code."""
        try:
            return self.proc.wait(timeout)
        finally:
            self.close()

    def close(self) -> None:
        """Kill the process if it still runs; close the pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        self._err.close()
