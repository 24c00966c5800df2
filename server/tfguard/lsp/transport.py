"""The stdio transport: a JSON-RPC reader that a hostile or buggy client cannot knock deaf.

pygls 2.1's reader (``pygls.io_.run_async``) trusts every frame: a ``Content-Length`` that is wrong
(short, long, ``abc``, ``-5``, missing) desynchronises it for good (it keeps waiting for a header it
already swallowed); ``Content-Length: 1000000000000`` makes it allocate the body (``MemoryError``,
the process dies); a message whose params fail validation raises inside ``json.loads``' object hook,
so a request gets no response at all and the client waits forever.

:func:`serve_stdio` replaces that loop for ``tfguard serve`` on stdio:

- frames are found by scanning for the next ``Content-Length:`` header; bytes before it are noise
  (logged, dropped). A header whose length is not a decimal number is dropped and the scan goes on.
- a body longer than :data:`MAX_BODY_BYTES` is never buffered: its header is dropped and the reader
  resynchronises on the next header (a blind skip of a bogus ``10**12`` would leave it deaf forever).
- a length too long for its JSON (the next frame's header eaten): the JSON value is taken and the
  rest goes back to the stream; too short: the bytes up to the next header are tried as its tail.
- a request whose params do not validate is answered ``InvalidParams`` (-32602); an unknown request
  ``MethodNotFound`` (-32601); an unknown notification, a change/close/save for a document that is
  not open, and other protocol noise are logged (DEBUG/INFO/WARNING), never shown as pop-ups.

pygls internals this module relies on (pygls 2.1; keep in step on upgrades): ``JsonRPCProtocol.
structure_message`` (used on a parsed dict, not as ``json.loads``' hook), ``handle_message``,
``fm.features`` / ``fm.builtin_features`` (which methods have handlers), ``set_writer`` and
``writer``, the server's ``_stop_event`` (set by pygls' ``exit`` / ``shutdown`` paths),
``thread_pool`` and ``shutdown()``, ``pygls.io_.StdoutWriter``, and pygls' exception classes.
Everything runs on the event loop, as pygls' own loop does; only the blocking ``read1`` of stdin
runs in pygls' thread pool.

:func:`serve_tcp` (``tfguard serve --tcp HOST:PORT``) runs the same reader on a TCP connection
instead of pygls' ``start_tcp`` (whose reader is the one above): loopback addresses only, one client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

from pygls.exceptions import JsonRpcException
from pygls.io_ import StdoutWriter

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024 * 1024  # larger bodies are refused (their header dropped), never buffered
MAX_HEADER_BYTES = 8 * 1024  # a header block (up to its blank line) larger than this is noise
CHUNK = 64 * 1024

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602

_HEADER = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
_LENGTH = re.compile(rb"[ \t]*(\d{1,20})[ \t]*")
_WS = b" \t\r\n"
# notifications about one document: dropped (DEBUG) unless the document is open (didOpen opens it)
_DOC_NOTIFICATIONS = ("textDocument/didChange", "textDocument/didClose", "textDocument/didSave",
                      "textDocument/willSave")
_ALWAYS_KNOWN = ("$/cancelRequest", "exit")


class FrameReader:
    """Split a byte stream into JSON-RPC bodies, resynchronising on the next header after any damage.

    Feed it bytes (:meth:`feed`) and take complete bodies (:meth:`next_body`; None: more bytes are
    needed). It holds at most one header block plus :data:`MAX_BODY_BYTES` (plus one chunk).
    """

    def __init__(self, max_body: int = MAX_BODY_BYTES) -> None:
        self.buf = bytearray()
        self.max_body = max_body
        self._failed_tail: bytes | None = None  # a body whose JSON failed: its tail may come before the next header
        self._recovered: list[bytes] = []

    def feed(self, data: bytes) -> None:
        """Append bytes read from the stream."""
        self.buf += data

    def next_body(self) -> bytes | None:
        """The next body (JSON text) found, or None until more bytes arrive."""
        buf = self.buf
        while True:
            m = _HEADER.search(buf)
            if m is None:
                keep = 32  # a header may be split across reads
                if len(buf) > keep:
                    self._noise(bytes(buf[:-keep]))
                    del buf[:-keep]
                return None
            if m.start() > 0:
                self._noise(bytes(buf[:m.start()]))
                del buf[:m.start()]
                continue
            end = buf.find(b"\r\n\r\n", m.end())
            if end < 0:
                if len(buf) > MAX_HEADER_BYTES:
                    log.warning("JSON-RPC: header without an end within %d bytes; dropped", MAX_HEADER_BYTES)
                    del buf[:m.end()]
                    continue
                return None
            first_line_end = buf.find(b"\r\n", m.end())
            value = bytes(buf[m.end():first_line_end])
            lm = _LENGTH.fullmatch(value)
            body_start = end + 4
            if lm is None:
                log.warning("JSON-RPC: invalid Content-Length %r; header dropped, resynchronising", value[:40])
                del buf[:body_start]
                continue
            length = int(lm.group(1))
            if length > self.max_body:
                log.warning("JSON-RPC: a %d-byte message is over the %d-byte limit; header dropped, "
                            "resynchronising on the next header", length, self.max_body)
                del buf[:body_start]
                continue
            if len(buf) < body_start + length:
                return None
            self._failed_tail = None
            body = bytes(buf[body_start:body_start + length])
            taken = _json_extent(body)
            if taken is None:
                # too short (or not JSON): maybe the rest of it is what comes before the next header
                log.warning("JSON-RPC: a %d-byte body is not one JSON value; resynchronising", length)
                self._failed_tail = body
                del buf[:body_start + length]
                continue
            if taken < length and body[taken:].strip(_WS):
                # too long: the JSON ended early; what follows belongs to the next frame
                log.warning("JSON-RPC: Content-Length %d is longer than its JSON (%d bytes); the rest is kept",
                            length, taken)
                del buf[:body_start + taken]
                return body[:taken]
            del buf[:body_start + length]
            return body

    def _noise(self, data: bytes) -> None:
        """Bytes outside any frame; if they complete the last failed body, that body is recovered."""
        if self._failed_tail is not None:
            candidate = self._failed_tail + data
            self._failed_tail = None
            taken = _json_extent(candidate)
            if taken is not None and not candidate[taken:].strip(_WS):
                log.warning("JSON-RPC: Content-Length was %d bytes short; message recovered", len(data))
                self._recovered.append(candidate)
                return
        if data.strip(_WS):
            log.warning("JSON-RPC: %d bytes outside any message dropped", len(data))

    def take_recovered(self) -> list[bytes]:
        """Bodies recovered from a short Content-Length (to be handled before the next body)."""
        out, self._recovered = self._recovered, []
        return out


def _json_extent(body: bytes) -> int | None:
    """Length of the one JSON value at the start of ``body`` (after whitespace), or None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    stripped = len(text) - len(text.lstrip())
    try:
        _, end = json.JSONDecoder().raw_decode(text, stripped)
    except ValueError:
        return None
    return len(text[:end].encode("utf-8"))


class Dispatcher:
    """Hand bodies to pygls' protocol, answering what pygls would leave unanswered."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.protocol = server.protocol

    def dispatch(self, body: bytes) -> None:
        """Parse one body and hand it to the protocol; never raises."""
        try:
            data = json.loads(body)
        except ValueError as e:
            log.warning("JSON-RPC: parse error (%s); answered with ParseError", e)
            self._error(None, PARSE_ERROR, "Parse error")
            return
        if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
            log.warning("JSON-RPC: not a JSON-RPC 2.0 message: %.200r", data)
            self._error(None, INVALID_REQUEST, "Invalid Request")
            return
        method = data.get("method")
        is_request = "id" in data and method is not None
        msg_id = data.get("id")
        if isinstance(msg_id, bool) or not isinstance(msg_id, (int, str)):
            msg_id = None
        if method is not None:
            if not isinstance(method, str):
                log.warning("JSON-RPC: method is not a string: %.100r", method)
                if is_request:
                    self._error(msg_id, INVALID_REQUEST, "Invalid Request")
                return
            if not self._known(method):
                if is_request:
                    log.info("JSON-RPC: unknown request %r answered with MethodNotFound", method)
                    self._error(msg_id, METHOD_NOT_FOUND, f"Method Not Found: {method}")
                else:
                    log.debug("JSON-RPC: unknown notification %r ignored", method)
                return
        try:
            message = self.protocol.structure_message(data)
        except Exception as e:
            if is_request:
                log.info("JSON-RPC: request %r with invalid params answered with InvalidParams: %s", method, e)
                self._error(msg_id, INVALID_PARAMS, f"Invalid Params for {method}")
            else:
                log.warning("JSON-RPC: message %r with invalid params ignored: %s", method, e)
            return
        if not is_request and method in _DOC_NOTIFICATIONS and not self._is_open(message):
            log.debug("JSON-RPC: %s for a document that is not open ignored", method)
            return
        try:
            self.protocol.handle_message(message)
        except Exception:
            log.exception("JSON-RPC: could not handle %r", method)
            if is_request:
                self._error(msg_id, -32603, "Internal error")

    def _known(self, method: str) -> bool:
        fm = self.protocol.fm
        return method in _ALWAYS_KNOWN or method in fm.builtin_features or method in fm.features

    def _is_open(self, message: Any) -> bool:
        params = getattr(message, "params", None)
        doc = getattr(params, "text_document", None)
        uri = getattr(doc, "uri", None)
        try:
            return uri is not None and uri in self.server.workspace.text_documents
        except Exception:  # no workspace before initialize
            return False

    def _error(self, msg_id: int | str | None, code: int, message: str) -> None:
        body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}},
                          separators=(",", ":")).encode()
        writer = self.protocol.writer
        if writer is None:
            return
        try:
            writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        except Exception:
            log.debug("could not write an error response", exc_info=True)


async def _pump(server: Any, read: Callable[[], Awaitable[bytes]], stop: threading.Event) -> None:
    """Read chunks with ``read`` until EOF or ``stop``, handing every framed body to the protocol."""
    reader = FrameReader()
    dispatcher = Dispatcher(server)
    while not stop.is_set():
        data = await read()
        if not data:
            break
        reader.feed(data)
        while True:
            body = reader.next_body()
            for recovered in reader.take_recovered():
                dispatcher.dispatch(recovered)
            if body is None:
                break
            dispatcher.dispatch(body)
            if stop.is_set():
                return


async def _read_loop(server: Any, stdin: BinaryIO, stop: threading.Event) -> None:
    loop = asyncio.get_running_loop()
    read1 = getattr(stdin, "read1", None) or stdin.read
    await _pump(server, lambda: loop.run_in_executor(server.thread_pool, read1, CHUNK), stop)


def serve_stdio(server: Any, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """Run ``server`` (a pygls ``LanguageServer``) on stdio with the hardened reader; returns at exit/EOF."""
    stop = threading.Event()
    server._stop_event = stop  # noqa: SLF001 - pygls' shutdown() sets it
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    try:
        asyncio.run(_read_loop(server, stdin or sys.stdin.buffer, stop))
    except BrokenPipeError:
        log.error("connection to the client is lost; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def check_tcp_host(host: str) -> None:
    """Refuse a listening address other than loopback (ValueError): a language server on the network
    would let anyone who reaches it open files, read the workspace and name Python check folders."""
    if host not in LOOPBACK:
        raise ValueError(f"--tcp listens on loopback only (127.0.0.1, ::1, localhost), not {host!r}; "
                         "use stdio, or a tunnel, to reach it from elsewhere")


def serve_tcp(server: Any, host: str, port: int, ready: Callable[[int], None] | None = None) -> None:
    """Run ``server`` on TCP ``host:port`` (loopback only) with the same hardened reader as stdio.

    One client at a time: a second connection while one is served is closed at once (logged); the
    server ends when its client disconnects or sends ``exit``, as pygls' ``start_tcp`` does. ``ready``
    is called with the bound port (``port`` 0: the system's choice) once the listener is up.
    """
    check_tcp_host(host)
    stop = threading.Event()
    server._stop_event = stop  # noqa: SLF001 - pygls' shutdown() sets it

    async def main() -> None:
        finished = asyncio.Event()
        serving = False

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal serving
            if serving or finished.is_set():
                log.warning("TCP: a second client connected while one is served; closed")
                writer.close()
                return
            serving = True
            server.protocol.set_writer(writer)
            try:
                await _pump(server, lambda: reader.read(CHUNK), stop)
            except (ConnectionError, BrokenPipeError):
                log.error("connection to the client is lost; shutting down")
            finally:
                finished.set()

        listener = await asyncio.start_server(connection, host, port)
        bound = listener.sockets[0].getsockname()[1]
        log.info("tfguard: serving LSP on %s:%d (one client)", host, bound)
        if ready is not None:
            ready(bound)
        async with listener:
            await finished.wait()

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()


__all__ = ["MAX_BODY_BYTES", "Dispatcher", "FrameReader", "JsonRpcException", "check_tcp_host", "serve_stdio",
           "serve_tcp"]
