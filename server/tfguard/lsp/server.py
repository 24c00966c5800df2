"""The language server's state: :class:`TfguardServer` (pygls 2.x), no handlers.

tfguard's language server gives live, version-exact diagnostics on unsaved Terraform:

- didOpen/didChange: tier 1 re-checks the changed blocks and publishes within milliseconds.
  Changes are coalesced per document: a burst of edits yields one analysis of the newest text.
- When the user pauses (``idleDelayMs``) and on didSave, tier 2 (Checkov's full runner, graph
  checks) runs for the module off the event loop; its result replaces tier 1's.
- Every publish carries the version it was computed from; a result for an older text is dropped.
- Push diagnostics by default; pull (LSP 3.17) when the client supports it, never both.

The pieces: this module (settings, engines per workspace folder, what was published, user
messages), :mod:`tfguard.lsp.publish` (diagnostics out), :mod:`tfguard.lsp.scheduler` (both
tiers, indexing), :mod:`tfguard.lsp.features` (the handlers) and :mod:`tfguard.lsp.app`, which
assembles them (:func:`tfguard.lsp.app.create_server`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcInvalidRequest, JsonRpcMethodNotFound, JsonRpcParseError
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from tfguard import __version__
from tfguard.engine import Engine
from tfguard.lsp.publish import Published, Publisher
from tfguard.lsp.scheduler import Scheduler
from tfguard.lsp.settings import Settings, folder_for, install_settings_layer, resolve_path
from tfguard.model import Finding, Result
from tfguard.wiring import make_engine

log = logging.getLogger(__name__)

__all__ = ["Published", "TfguardServer"]


class TfguardServer(LanguageServer):
    """tfguard's server state. Everything here is read and written on the event loop only.

    Its two components are built with it: :attr:`publisher` (diagnostics out) and
    :attr:`scheduler` (tier 1, tier 2, indexing). Handlers are registered by
    :func:`tfguard.lsp.app.create_server`.
    """

    def __init__(self) -> None:
        super().__init__("tfguard", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.settings = Settings()  # server-wide values (the first workspace folder's)
        # per workspace folder (workspace/configuration with a scopeUri each): see settings_for
        self.folder_settings: dict[str, Settings] = {}
        self.base_settings = Settings()  # from initializationOptions: what a folder's missing keys default to
        self.settings_epoch = 0  # bumped whenever any folder's settings change (diagnostic caches)
        self.engines: dict[str, Engine] = {}  # workspace folder (or lone file's directory) -> engine
        self.published: dict[str, Published] = {}
        self.pull_mode = False
        self.loop: asyncio.AbstractEventLoop | None = None  # set once, in initialized
        self.client_name = ""
        self._reported: set[str] = set()
        self._baselines: dict[str, Any] = {}  # baseline file -> its Baseline (None: unreadable, reported)
        self.publisher = Publisher(self)
        self.scheduler = Scheduler(self, self.publisher)

    # ------------------------------------------------------------ workspace
    @property
    def encoding(self) -> str:
        """The negotiated position encoding (UTF-16 unless the client chose another)."""
        enc = self.workspace.position_encoding
        return str(enc) if enc is not None else lsp.PositionEncodingKind.Utf16

    def folders(self) -> list[str]:
        """Absolute paths of the workspace folders (the root path when the client sent no folders)."""
        roots = []
        for f in (self.workspace.folders or {}).values():
            p = to_fs_path(f.uri)
            if p:
                roots.append(os.path.abspath(p))
        if not roots and self.workspace.root_path:
            roots.append(os.path.abspath(self.workspace.root_path))
        return roots

    def in_workspace(self, path: str) -> bool:
        """Whether ``path`` (a file or directory) is inside a workspace folder."""
        path = os.path.abspath(path)
        return any((path + os.sep).startswith(r + os.sep) for r in self.folders())

    def engine_for(self, path: str) -> Engine:
        """The engine of the workspace folder holding the file ``path`` (its directory's when none does)."""
        path = os.path.abspath(path)
        return self._engine(path, os.path.dirname(path))

    def engine_for_dir(self, directory: str) -> Engine:
        """The engine of the workspace folder holding ``directory`` (its own when none does)."""
        directory = os.path.abspath(directory)
        return self._engine(directory, directory)

    def _engine(self, path: str, fallback_root: str) -> Engine:
        best = None
        for root in self.folders():
            if (path + os.sep).startswith(root + os.sep) and (best is None or len(root) > len(best)):
                best = root
        root = best or fallback_root
        eng = self.engines.get(root)
        if eng is None:
            st = self.folder_settings.get(root, self.settings)
            eng = make_engine(root, max_file_bytes=st.max_file_bytes,
                              module_time_budget=st.module_time_budget_ms / 1000.0 or None)
            # tfguard.catalogue / tfguard.policyDirs: a layer above the folder's .tfguard.yaml files
            install_settings_layer(eng, best, lambda: self.folder_settings.get(root, self.settings))
            self.engines[root] = eng
        return eng

    def settings_for(self, path: str) -> Settings:
        """The settings of the workspace folder that holds ``path`` (multi-root: each folder its own)."""
        root = folder_for(path, self.folders())
        return self.folder_settings.get(root, self.settings) if root else self.settings

    # ------------------------------------------------------------ findings
    def visible(self, f: Finding) -> bool:
        """Whether a finding is shown: failed, at or above the ``minimumSeverity`` setting."""
        return f.result is Result.FAILED and f.severity.rank >= self.settings_for(f.file).minimum_severity.rank

    def baseline(self, path: str | None = None) -> Any:
        """The baseline of the workspace folder holding ``path`` (``tfguard.baseline`` is a folder setting;
        without ``path``, the first folder's), loaded once per file; a bad file is reported once."""
        root = folder_for(path, self.folders()) if path else None
        file = (self.folder_settings.get(root, self.settings) if root else self.settings).baseline
        if not file:
            return None
        file = resolve_path(file, root or (self.folders()[0] if self.folders() else None))
        if file in self._baselines:
            return self._baselines[file]
        from tfguard.scan.baseline import BaselineError, load_baseline

        try:
            loaded = load_baseline(file)
        except BaselineError as e:
            self.report_once(f"baseline:{file}", str(e))
            loaded = None
        self._baselines[file] = loaded
        return loaded

    # ------------------------------------------------------------ messages
    def report_once(self, key: str, message: str, kind: lsp.MessageType = lsp.MessageType.Warning) -> None:
        """Tell the user once (no pop-up storms); log every time."""
        log.warning("%s", message)
        if key in self._reported:
            return
        self._reported.add(key)
        self.window_show_message(lsp.ShowMessageParams(type=kind, message=f"tfguard: {message}"))

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls' hook for a failing handler: log it, tell the user once per error type, keep serving.

        Protocol noise (a client's invalid params, unknown methods, a bad message) is only logged:
        the client already got an error response, the user can do nothing about it.
        """
        if isinstance(error, (JsonRpcInvalidParams, JsonRpcMethodNotFound, JsonRpcInvalidRequest,
                              JsonRpcParseError)):
            log.info("protocol error from the client: %s", error)
            return
        log.error("tfguard handler error: %s", error, exc_info=error)
        self.report_once(f"server-error:{type(error).__name__}",
                         f"internal error ({type(error).__name__}: {error}); see the tfguard log. Still serving.",
                         lsp.MessageType.Error)
