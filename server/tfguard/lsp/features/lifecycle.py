"""initialize (settings, text sync, pull or push), initialized (configuration, watchers, indexing), shutdown."""

from __future__ import annotations

import asyncio
import logging
import os

from lsprotocol import types as lsp
from pygls.uris import to_fs_path

from tfguard import __version__
from tfguard.lsp import textsync
from tfguard.lsp.features.configuration import apply_settings, pull_configuration
from tfguard.lsp.server import TfguardServer

log = logging.getLogger(__name__)

WATCH_GLOBS = ("**/*.tf", "**/*.tf.json", "**/*.tofu", "**/*.tofu.json", "**/*.tfvars", "**/.tfguard.yaml",
               "**/.checkov.yaml", "**/.checkov.yml", "**/*.yaml", "**/*.yml")


def register(server: TfguardServer) -> None:
    """Register initialize, initialized and shutdown on ``server``."""
    server.feature(lsp.INITIALIZE)(on_initialize)
    server.feature(lsp.INITIALIZED)(on_initialized)
    server.feature(lsp.SHUTDOWN)(on_shutdown)


def on_initialize(ls: TfguardServer, params: lsp.InitializeParams) -> None:
    """Take the user's settings (initializationOptions), choose pull or push diagnostics."""
    ls.client_name = params.client_info.name if params.client_info else ""
    textsync.install(ls.workspace)  # incremental edits applied in time independent of the document size
    apply_settings(ls, params.initialization_options, trusted=True)
    load_opted_in_python_checks(ls)
    td = params.capabilities.text_document
    ls.pull_mode = bool(td and td.diagnostic)
    log.info("tfguard %s initialised (pull diagnostics: %s)", __version__, ls.pull_mode)


def load_opted_in_python_checks(ls: TfguardServer) -> None:
    """Python custom checks: only the directories the user opted into (``allowPythonChecks``)."""
    dirs = ls.settings.allow_python_checks
    if not dirs:
        return
    from tfguard.checks.graph import load_python_checks

    for d in dirs:
        d = os.path.abspath(os.path.expanduser(d))
        if not os.path.isdir(d):
            ls.report_once(f"python-checks:{d}", f"allowPythonChecks: directory not found: {d}")
            continue
        log.warning("loading Python custom checks from %s (allowed by the user setting allowPythonChecks)", d)
        load_python_checks(d)


async def on_initialized(ls: TfguardServer, params: lsp.InitializedParams) -> None:
    """Pull the workspace's settings, register file watchers, start indexing the workspace."""
    ls.loop = asyncio.get_running_loop()
    epoch = ls.settings_epoch
    await pull_configuration(ls)
    if ls.settings_epoch != epoch:
        # documents opened (or saved) while the settings were being pulled were checked under the
        # defaults: both tiers again under the folder's settings (a catalogue, policy folders)
        ls.scheduler.recheck_all()
        for uri in list(ls.workspace.text_documents):
            path = to_fs_path(uri)
            if path:
                ls.scheduler.schedule_module(os.path.dirname(os.path.abspath(path)))  # after the idle delay
    caps = ls.client_capabilities.workspace
    if caps and caps.did_change_watched_files and caps.did_change_watched_files.dynamic_registration:
        watchers = [lsp.FileSystemWatcher(glob_pattern=g) for g in WATCH_GLOBS]
        try:
            await ls.client_register_capability_async(lsp.RegistrationParams(registrations=[
                lsp.Registration(id="tfguard-watch", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                 register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers=watchers))
            ]))
        except Exception:
            log.warning("could not register file watchers (client refused)")
    if ls.settings.index_workspace and ls.settings.enable:
        ls.scheduler.start_indexing()


def on_shutdown(ls: TfguardServer, params: None) -> None:
    """Stop pending work: tier-2 timers, indexing, both executors; remove the engines' scratch mirrors."""
    ls.scheduler.shutdown()
    for engine in list(ls.engines.values()):
        engine.close()
