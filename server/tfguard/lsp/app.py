"""Assembly: :func:`create_server` builds a server with every feature; :func:`start` runs one."""

from __future__ import annotations

import logging

from lsprotocol import types as lsp
from pygls.uris import to_fs_path

from tfguard.files import is_terraform_file
from tfguard.lsp import features
from tfguard.lsp.server import TfguardServer
from tfguard.lsp.transport import serve_stdio, serve_tcp

log = logging.getLogger(__name__)


def create_server() -> TfguardServer:
    """A new server with every feature of :mod:`tfguard.lsp.features` registered (independent of any other)."""
    server = TfguardServer()
    for feature in features.ALL:
        feature.register(server)
    return server


def start(tcp: str | None = None) -> None:
    """Run a new server on stdio (default) or TCP ``HOST:PORT``, forwarding warnings to the client's log.

    Checkov is imported on a background thread from here on (about a second and a half): the first
    documents are answered without waiting for it (see :func:`tfguard.checks.checkov_env.checks_pending`),
    then again at once with the results an earlier session kept for the same inputs, if there are any
    (:mod:`tfguard.checks.entity_cache`), and again once it is loaded (:func:`recheck_when_checks_load`).
    """
    from tfguard.checks import checkov_env, entity_cache

    box: list[TfguardServer] = []
    # an earlier session's tier-1 results: Checkov's findings shown before it is imported, then confirmed
    disk = entity_cache.configure(entity_cache.default_directory())
    checkov_env.import_in_background(lambda: recheck_when_checks_load(box[0] if box else None),
                                     on_cache_turn=lambda: recheck_when_checks_load(box[0] if box else None),
                                     cache_wanted=lambda: disk.wanted and not disk.disabled)
    from tfguard.checks.graph import clean_stale_mirrors

    clean_stale_mirrors()  # scratch mirrors of servers that were killed (SIGKILL leaves them behind)
    server = create_server()
    box.append(server)
    handler = install_client_log_handler(server)
    try:
        if tcp:
            host, _, port = tcp.rpartition(":")
            serve_tcp(server, host.strip("[]") or "127.0.0.1", int(port))  # the hardened reader, loopback only
        else:
            serve_stdio(server)  # pygls' own reader can be desynchronised for good (see transport.py)
    finally:
        logging.getLogger("tfguard").removeHandler(handler)


def recheck_when_checks_load(server: TfguardServer | None) -> None:
    """Checkov is loaded, or the results cache's turn came (called on the import thread): tier 1 again for
    every open Terraform document, on the server's loop. Before ``initialized`` there is no loop and
    nothing was analysed yet."""
    loop = server.loop if server is not None else None
    if server is None or loop is None:
        return

    def recheck() -> None:
        for uri in list(server.workspace.text_documents):
            path = to_fs_path(uri)
            if path and is_terraform_file(path):
                server.scheduler.on_text(uri)

    try:
        loop.call_soon_threadsafe(recheck)
    except RuntimeError:  # the loop is closed: the server stopped
        pass


class ClientLogHandler(logging.Handler):
    """Forward warnings and errors to one server's client log (window/logMessage).

    Records come from any thread (the executors, Checkov's threads): the message is formatted
    where the record is made and handed to the event loop with ``call_soon_threadsafe``; only the
    loop looks at the server (is a client connected) and sends.
    """

    def __init__(self, server: TfguardServer, level: int = logging.WARNING) -> None:
        super().__init__(level=level)
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record for the client on the server's loop (dropped before initialized or after it closed)."""
        loop = self.server.loop  # set once, in initialized; reading a reference is thread-safe
        if loop is None:
            return
        kind = lsp.MessageType.Error if record.levelno >= logging.ERROR else lsp.MessageType.Warning
        params = lsp.LogMessageParams(type=kind, message=self.format(record))
        try:
            loop.call_soon_threadsafe(self._send, params)
        except RuntimeError:  # the loop is closed
            pass

    def _send(self, params: lsp.LogMessageParams) -> None:
        if self.server.publisher.connected():
            self.server.window_log_message(params)


def install_client_log_handler(server: TfguardServer) -> ClientLogHandler:
    """Add a :class:`ClientLogHandler` for ``server`` to the ``tfguard`` logger; returns it."""
    h = ClientLogHandler(server)
    h.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logging.getLogger("tfguard").addHandler(h)
    return h


__all__ = ["ClientLogHandler", "create_server", "install_client_log_handler", "recheck_when_checks_load", "start"]
