"""Settings: workspace/didChangeConfiguration and pulling ``workspace/configuration``."""

from __future__ import annotations

import logging
import os
from typing import Any

from lsprotocol import types as lsp
from pygls.uris import to_fs_path

from tfguard.files import module_dirs
from tfguard.lsp.server import TfguardServer
from tfguard.lsp.settings import Settings, parse_settings

log = logging.getLogger(__name__)


def register(server: TfguardServer) -> None:
    """Register workspace/didChangeConfiguration on ``server``."""
    server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)


def apply_settings(ls: TfguardServer, raw: Any, trusted: bool = False) -> None:
    """Validate and apply settings; ``trusted`` only for initializationOptions (the user's own).

    Engines are built with ``maxFileBytes`` and ``moduleTimeBudgetMs`` and never changed
    afterwards: when either changes, the engines are dropped and rebuilt on first use
    (:meth:`TfguardServer.engine_for`).
    """
    if raw is None:
        return
    settings, errors = parse_settings(raw, ls.settings, trusted=trusted)
    for err in errors:
        ls.report_once(f"setting:{err}", err)
    old, ls.settings = ls.settings, settings
    if trusted:
        ls.base_settings = settings
    if settings != old:
        _settings_changed(ls, {None: old})


def _settings_changed(ls: TfguardServer, old: dict[Any, Settings]) -> None:
    """After any folder's settings changed: diagnostic caches, settings layers, engines."""
    ls.settings_epoch += 1
    for root in list(ls.engines):
        now = ls.folder_settings.get(root, ls.settings)
        before = old.get(root, old.get(None, ls.settings))
        if (now.max_file_bytes, now.module_time_budget_ms) != (before.max_file_bytes, before.module_time_budget_ms):
            del ls.engines[root]  # rebuilt on first use (TfguardServer.engine_for)
            continue
        eng = ls.engines[root]
        configs = getattr(eng, "configs", None)
        if configs is not None:
            configs.invalidate(None)  # tfguard.catalogue / policyDirs are a configuration layer
        invalidate = getattr(eng, "invalidate_configuration", None)
        if invalidate is not None:
            invalidate()  # cached per-block results were ranked under the old configuration


async def pull_configuration(ls: TfguardServer) -> None:
    """Ask the client for the ``tfguard`` section (when it supports workspace/configuration) and apply it."""
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return
    # One item per workspace folder (its scopeUri): a folder's settings apply to that folder only.
    folders = [(os.path.abspath(p), f.uri) for f in (ls.workspace.folders or {}).values() if (p := to_fs_path(f.uri))]
    items = [lsp.ConfigurationItem(scope_uri=uri, section="tfguard") for _, uri in folders] \
        or [lsp.ConfigurationItem(section="tfguard")]
    try:
        result = await ls.workspace_configuration_async(lsp.ConfigurationParams(items=items))
    except Exception:
        log.exception("workspace/configuration failed")
        return
    if not result:
        return
    apply_settings(ls, result[0])  # the first folder's values are also the server-wide ones
    before = dict(ls.folder_settings)
    for (root, _), raw in zip(folders, result, strict=False):
        st, errors = parse_settings(raw, ls.base_settings, trusted=False)
        for err in errors:
            ls.report_once(f"setting:{err}", err)
        ls.folder_settings[root] = st
    if ls.folder_settings != before:
        _settings_changed(ls, before)


async def did_change_configuration(ls: TfguardServer, params: lsp.DidChangeConfigurationParams) -> None:
    """Apply pushed settings (or pull them), then re-check every open document."""
    settings = params.settings
    epoch = ls.settings_epoch
    if isinstance(settings, dict) and "tfguard" in settings:
        if ls.folder_settings:  # pushed values are for the whole workspace: no folder keeps older ones
            before = dict(ls.folder_settings)
            ls.folder_settings.clear()
            _settings_changed(ls, before)
        apply_settings(ls, settings["tfguard"])
    else:
        await pull_configuration(ls)
    ls.scheduler.recheck_all()
    if ls.settings_epoch != epoch:  # closed files too: their diagnostics were made under the old settings
        for root in ls.folders():
            for d in module_dirs(root):
                ls.scheduler.schedule_module(d, 0)
