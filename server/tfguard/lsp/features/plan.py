"""Plan review in the editor: the ``tfguard.server.reviewPlan`` and ``tfguard.server.clearPlan`` commands.

``tfguard.server.reviewPlan`` loads a ``terraform show -json`` plan, runs Checkov's plan checks and the org
rules on it through the workspace's engine (:func:`tfguard.scan.plan.scan_plan`, off the event loop), and
gives its findings as diagnostics on the mapped ``.tf`` lines (or on the plan's own lines when a resource
cannot be mapped), each with the source label ``tfguard (plan)``. They are never merged into the live
diagnostics (``textDocument/publishDiagnostics``, source ``tfguard``): they are the command's result and
the ``tfguard/planDiagnostics`` notification, which a client shows in its own collection until
``tfguard.server.clearPlan`` or until the plan file changes on disk (the server watches it and sends the
notification again with no files, ``"reason": "changed"``).

Arguments (one object): ``{"plan": PATH_OR_URI, "repoRoot": DIR?}`` (relative paths from the first
workspace folder); ``repoRoot`` defaults to the
engine's repository root (the git work tree of the workspace folder). Result and notification::

    {"plan": URI, "source": "tfguard (plan)", "reason": "loaded" | "cleared" | "changed",
     "files": [{"uri": URI, "diagnostics": [Diagnostic, ...]}], "summary": {"failed": n, "skipped": n},
     "error": MESSAGE?}
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from dataclasses import dataclass
from typing import Any

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path

from tfguard.lsp.convert import finding_to_diagnostic, split_lines
from tfguard.lsp.server import TfguardServer
from tfguard.model import Result
from tfguard.scan.plan import PLAN_SOURCE_LABEL, PlanScan, scan_plan

log = logging.getLogger(__name__)

REVIEW_PLAN_COMMAND = "tfguard.server.reviewPlan"
CLEAR_PLAN_COMMAND = "tfguard.server.clearPlan"
PLAN_DIAGNOSTICS_NOTIFICATION = "tfguard/planDiagnostics"
_WATCH_ID = "tfguard-plan-watch"


@dataclass
class _Loaded:
    plan: str  # absolute path
    uri: str


_loaded: weakref.WeakKeyDictionary[TfguardServer, _Loaded] = weakref.WeakKeyDictionary()


def register(server: TfguardServer) -> None:
    """Register the review-plan and clear-plan commands on ``server``."""
    server.command(REVIEW_PLAN_COMMAND)(review_plan)
    server.command(CLEAR_PLAN_COMMAND)(clear_plan)


def loaded_plan(ls: TfguardServer) -> str | None:
    """The plan currently shown (absolute path), or None."""
    got = _loaded.get(ls)
    return got.plan if got is not None else None


def _argument(args: tuple[Any, ...]) -> dict[str, Any]:
    first = args[0] if args else {}
    if isinstance(first, list):  # some clients send the arguments array as one positional value
        first = first[0] if first else {}
    if isinstance(first, str):
        return {"plan": first}
    return first if isinstance(first, dict) else {}


def _path(value: Any, folders: list[str] | None = None) -> str | None:
    """A path or ``file:`` URI as an absolute path; a relative path is taken from the first workspace folder."""
    if not isinstance(value, str) or not value:
        return None
    path = to_fs_path(value) if value.startswith("file:") else value
    if not path:
        return None
    if not os.path.isabs(path) and folders:
        path = os.path.join(folders[0], path)
    return os.path.abspath(path)


def plan_payload(ls: TfguardServer, result: PlanScan, reason: str = "loaded") -> dict[str, Any]:
    """The result / notification for a plan's scan: its visible findings as diagnostics, per file."""
    by_file: dict[str, list[Any]] = {}
    failed = skipped = 0
    engine = ls.engine_for(result.plan)
    for f in result.findings:
        if f.result is Result.SKIPPED:
            skipped += 1
        if not ls.visible(f):
            continue
        failed += 1
        text, _problem = engine.read(f.file)
        diag = finding_to_diagnostic(f, split_lines(text or ""), ls.encoding)
        diag.source = PLAN_SOURCE_LABEL
        if isinstance(diag.data, dict):
            diag.data["plan"] = result.plan
        by_file.setdefault(f.file, []).append(ls.publisher.diagnostic_value(diag))
    error = "; ".join(p.message for p in result.problems if p.code == "read") or None
    files = [{"uri": from_fs_path(path) or path, "diagnostics": diags} for path, diags in sorted(by_file.items())]
    out: dict[str, Any] = {"plan": from_fs_path(result.plan) or result.plan, "source": PLAN_SOURCE_LABEL,
                           "reason": reason, "files": files, "summary": {"failed": failed, "skipped": skipped}}
    if error:
        out["error"] = error
    return out


def _notify(ls: TfguardServer, payload: dict[str, Any]) -> None:
    try:
        ls.protocol.notify(PLAN_DIAGNOSTICS_NOTIFICATION, payload)
    except Exception:  # a client gone away: the result still answers the command
        log.debug("could not send %s", PLAN_DIAGNOSTICS_NOTIFICATION, exc_info=True)


async def _watch(ls: TfguardServer, plan: str) -> None:
    caps = ls.client_capabilities.workspace if ls.client_capabilities else None
    if not (caps and caps.did_change_watched_files and caps.did_change_watched_files.dynamic_registration):
        return
    # A pattern relative to the plan's folder where the client supports it (VS Code does: an absolute path
    # as a plain glob is matched against workspace-relative paths by some clients), else the absolute path.
    glob: lsp.GlobPattern = plan.replace(os.sep, "/")
    if caps.did_change_watched_files.relative_pattern_support:
        glob = lsp.RelativePattern(base_uri=from_fs_path(os.path.dirname(plan)) or os.path.dirname(plan),
                                   pattern=os.path.basename(plan))
    try:
        await ls.client_register_capability_async(lsp.RegistrationParams(registrations=[
            lsp.Registration(id=_WATCH_ID, method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                             register_options=lsp.DidChangeWatchedFilesRegistrationOptions(
                                 watchers=[lsp.FileSystemWatcher(glob_pattern=glob)]))]))
    except Exception:
        log.debug("could not watch %s", plan, exc_info=True)


async def _unwatch(ls: TfguardServer) -> None:
    try:
        await ls.client_unregister_capability_async(lsp.UnregistrationParams(unregisterations=[
            lsp.Unregistration(id=_WATCH_ID, method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)]))
    except Exception:
        log.debug("could not stop watching the plan", exc_info=True)


async def review_plan(ls: TfguardServer, *args: Any) -> dict[str, Any]:
    """``tfguard.server.reviewPlan {"plan": PATH_OR_URI, "repoRoot"?: DIR}``: the plan's findings (see module doc)."""
    arg = _argument(args)
    plan = _path(arg.get("plan"), ls.folders())
    if plan is None or not os.path.isfile(plan):
        return {"plan": arg.get("plan"), "source": PLAN_SOURCE_LABEL, "reason": "loaded", "files": [],
                "summary": {"failed": 0, "skipped": 0}, "error": "no such plan file"}
    engine = ls.engine_for(plan)
    repo_root = _path(arg.get("repoRoot"), ls.folders()) or engine.config_root or engine.root
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(None, scan_plan, engine, plan, repo_root)
    if _loaded.get(ls) is not None:
        await _unwatch(ls)
    payload = plan_payload(ls, result)
    if "error" in payload:
        ls.report_once(f"plan:{plan}:{payload['error']}", f"cannot review {os.path.basename(plan)}: {payload['error']}")
        _loaded.pop(ls, None)
    else:
        _loaded[ls] = _Loaded(plan, payload["plan"])
        await _watch(ls, plan)
    _notify(ls, payload)
    return payload


async def clear_plan(ls: TfguardServer, *args: Any) -> dict[str, Any]:
    """``tfguard.server.clearPlan``: stop showing the plan's findings (the notification with no files)."""
    return await _clear(ls, "cleared")


async def _clear(ls: TfguardServer, reason: str) -> dict[str, Any]:
    got = _loaded.pop(ls, None)
    payload: dict[str, Any] = {"plan": got.uri if got else None, "source": PLAN_SOURCE_LABEL, "reason": reason,
                               "files": [], "summary": {"failed": 0, "skipped": 0}}
    if got is not None:
        await _unwatch(ls)
    _notify(ls, payload)
    return payload


def plan_file_changed(ls: TfguardServer, path: str) -> bool:
    """Called for every file changed on disk: True when it is the plan shown (its findings are then cleared)."""
    got = _loaded.get(ls)
    if got is None or os.path.abspath(path) != got.plan:
        return False
    if ls.loop is not None:
        ls.loop.create_task(_clear(ls, "changed"))
    return True
