"""Settings: workspace/didChangeConfiguration and pulling ``workspace/configuration``."""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types as lsp

from tfguard.lsp.server import TfguardServer
from tfguard.lsp.settings import parse_settings

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
    if (settings.max_file_bytes, settings.module_time_budget_ms) != (old.max_file_bytes, old.module_time_budget_ms):
        ls.engines.clear()


async def pull_configuration(ls: TfguardServer) -> None:
    """Ask the client for the ``tfguard`` section (when it supports workspace/configuration) and apply it."""
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return
    items = [lsp.ConfigurationItem(section="tfguard")]
    try:
        result = await ls.workspace_configuration_async(lsp.ConfigurationParams(items=items))
    except Exception:
        log.exception("workspace/configuration failed")
        return
    if result:
        apply_settings(ls, result[0])


async def did_change_configuration(ls: TfguardServer, params: lsp.DidChangeConfigurationParams) -> None:
    """Apply pushed settings (or pull them), then re-check every open document."""
    settings = params.settings
    if isinstance(settings, dict) and "tfguard" in settings:
        apply_settings(ls, settings["tfguard"])
    else:
        await pull_configuration(ls)
    ls.scheduler.recheck_all()
