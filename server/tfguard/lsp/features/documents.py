"""Document sync (didOpen/didChange/didSave/didClose) and workspace/didChangeWatchedFiles."""

from __future__ import annotations

import logging
import os

from lsprotocol import types as lsp
from pygls.uris import to_fs_path

from tfguard.files import is_terraform_file, module_dirs
from tfguard.lsp.features.plan import plan_file_changed
from tfguard.lsp.server import TfguardServer

log = logging.getLogger(__name__)

CONFIG_FILE_NAMES = (".tfguard.yaml", ".checkov.yaml", ".checkov.yml")


def register(server: TfguardServer) -> None:
    """Register the document sync notifications and watched-file changes on ``server``."""
    server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)(did_open)
    server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)(did_save)
    server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)(did_close)
    server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)(did_change_watched)


def is_tf(uri: str) -> bool:
    """Whether ``uri`` names a Terraform or OpenTofu file (``.tf``, ``.tf.json``, ``.tofu``, ``.tofu.json``)."""
    path = to_fs_path(uri)
    return bool(path) and is_terraform_file(path or "")


def _text_changed(ls: TfguardServer, uri: str, tier2_delay_ms: int | None) -> None:
    """Tier 1 now for the document; tier 2 for its module after ``tier2_delay_ms`` (None: the idle delay)."""
    path = to_fs_path(uri)
    if path and is_tf(uri):
        ls.scheduler.on_text(uri)
        ls.scheduler.schedule_module(os.path.dirname(os.path.abspath(path)), tier2_delay_ms)


def did_open(ls: TfguardServer, params: lsp.DidOpenTextDocumentParams) -> None:
    """Tier 1 at once, tier 2 at the idle delay."""
    _text_changed(ls, params.text_document.uri, None)


def did_change(ls: TfguardServer, params: lsp.DidChangeTextDocumentParams) -> None:
    """Tier 1 at once (coalesced), tier 2 at the idle delay.

    A version lower than one already published (a client that restarted its numbering) is taken as
    the document's new numbering: the text is what the user sees, so it is analysed and published.
    """
    uri = params.text_document.uri
    version = params.text_document.version
    if version is not None and ls.publisher.last_version.get(uri, -1) > version:
        log.info("version of %s went back to %s; publishing for the new numbering", uri, version)
        ls.publisher.forget_version(uri)
    _text_changed(ls, params.text_document.uri, None)


def did_save(ls: TfguardServer, params: lsp.DidSaveTextDocumentParams) -> None:
    """Tier 1 and tier 2 at once."""
    _text_changed(ls, params.text_document.uri, 0)


def did_close(ls: TfguardServer, params: lsp.DidCloseTextDocumentParams) -> None:
    """The disk text counts again: re-run the module (in the workspace) or clear the diagnostics."""
    uri = params.text_document.uri
    path = to_fs_path(uri)
    if not path or not is_tf(uri):
        return
    ls.engine_for(path).drop_overlay(path)
    ls.publisher.forget_version(uri)
    module_dir = os.path.dirname(os.path.abspath(path))
    if os.path.exists(path) and ls.in_workspace(module_dir):
        ls.scheduler.schedule_module(module_dir, 0)  # the disk text is what counts now
    else:
        ls.publisher.clear(uri)


def did_change_watched(ls: TfguardServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    """Files changed on disk: forget them and re-run their modules; a configuration change re-runs all."""
    dirs: set[str] = set()
    config_changed = False
    for ev in params.changes:
        path = to_fs_path(ev.uri)
        if not path:
            continue
        path = os.path.abspath(path)
        if plan_file_changed(ls, path):  # the reviewed plan changed: its findings are cleared
            continue
        name = os.path.basename(path)
        if name in CONFIG_FILE_NAMES or name.endswith((".yaml", ".yml")):
            config_changed = True
            continue
        if ev.uri in ls.workspace.text_documents:
            continue  # the editor's text wins
        for eng in ls.engines.values():
            eng.forget(path)
        dirs.add(os.path.dirname(path))
        if ev.type == lsp.FileChangeType.Deleted:
            ls.publisher.clear(ev.uri)
    if config_changed:
        for eng in ls.engines.values():
            if eng.configs is not None:
                eng.configs.invalidate(None)
            eng.invalidate_configuration()  # cached per-block results were ranked under the old configuration
        ls.scheduler.recheck_all()
        for root in ls.folders():
            for d in module_dirs(root):
                ls.scheduler.schedule_module(d, 0)
        return
    for d in dirs:
        ls.scheduler.schedule_module(d, 0)
