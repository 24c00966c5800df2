"""When analyses run: tier 1 per document, the full check per workspace folder, indexing, GC at idle.

- Tier 1: a change marks its document dirty; one coalescing loop per document analyses the newest
  text, publishes it, and goes round again while edits arrived meanwhile (a burst of edits yields
  one analysis of the newest text, never a queue of stale ones). Modules whose files are large
  (:func:`tfguard.budget.is_heavy`) have their own lane: their analyses never delay another module's;
  a file over the size budget is not analysed at all (one located problem, ``tfguard.budget``).
- Tier 2, the authoritative result: a debounce timer per module folder (``idleDelayMs`` after the
  last edit, at once on save) starts ``tfguard scan <workspace folder>`` on the current text
  (:class:`tfguard.scan.live.LiveScan`), re-running only the scan units that read the edited
  folder; one per folder at a time, folders edited meanwhile run together when it ends. Past the
  time budget it says so (work-done progress, ``tfguard/status``, an INFO notice) and goes on.
- Indexing: the same full check over every unit of every workspace folder, with work-done progress.
- A full check's result is published by one helper (:meth:`Scheduler.publish_module_result`): open
  documents are re-merged through tier 1 (their unchanged blocks now carry its findings), closed
  files are published directly.

Threads. The event loop owns all server state: what was published and its versions, the
diagnostics caches, the tier-2 timers, the dirty/running sets, the settings and the engines
table. The executors (``tier1``, ``tier1_heavy``, ``tier2``; one worker each) only run engine calls
(``analyze_file``; the full check: :class:`tfguard.scan.live.LiveScan`) and return their values; the loop applies them
(staleness check, publish, caches) after the ``await``. Nothing called in an executor reads or
writes server state; the only other code on other threads that concerns the server, the client
log handler (:class:`tfguard.lsp.app.ClientLogHandler`), hands its message to the loop with
``loop.call_soon_threadsafe`` and sends nothing itself. The engine is thread-safe on its own (its
lock) for the overlays the loop sets while an executor analyses.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path

from tfguard import gctuning
from tfguard.budget import is_heavy
from tfguard.engine import Engine, FileAnalysis
from tfguard.files import is_terraform_file, module_dirs, normalize_newlines, text_digest
from tfguard.lsp.publish import Publisher
from tfguard.model import Result
from tfguard.scan.live import LiveRun, LiveScan, unit_label

if TYPE_CHECKING:  # the server builds its scheduler: only annotations name the server here
    from tfguard.lsp.server import TfguardServer

log = logging.getLogger(__name__)

STATUS_NOTIFICATION = "tfguard/status"
#: a large module's tier 1 (its own lane) running longer than this is said in ``tfguard/status``
SLOW_TIER1_S = 1.0


def _digest(text: str) -> str:
    """The digest the engine gives an analysis of ``text`` (to check a result is for that text)."""
    return text_digest(normalize_newlines(text))


class Scheduler:
    """Both tiers and indexing for one server; every method runs on the event loop."""

    def __init__(self, ls: TfguardServer, publisher: Publisher) -> None:
        self.ls = ls
        self.publisher = publisher
        self.tier1 = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tfguard-tier1")
        # tier 1 of modules whose files are large (tfguard.budget.is_heavy): they never hold up the others
        self.tier1_heavy = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tfguard-tier1-heavy")
        self.tier2 = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tfguard-tier2")
        self._dirty: dict[str, bool] = {}  # uri -> edited since its tier-1 loop read the text
        self._running: set[str] = set()  # uris with a tier-1 loop
        self._graph_timers: dict[str, asyncio.TimerHandle] = {}  # module dir -> pending tier-2 run
        self._graph_running: set[str] = set()  # workspace folders with a full check going
        self._graph_again: dict[str, set[str]] = {}  # folder -> module dirs edited while it ran
        self._live_scans: dict[str, LiveScan] = {}  # folder -> its warm `tfguard scan`
        self.status: dict[str, str] = {"state": "idle", "message": "", "folder": ""}
        self._index_task: asyncio.Task[Any] | None = None
        self._gc_handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()  # strong references to fire-and-forget tasks
        gctuning.collect_at_idle()  # what a full check puts off is collected by schedule_gc's maintenance

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _publish(self, uri: str, version: int | None, text: str, fa: FileAnalysis) -> None:
        if self.publisher.publish(uri, version, text, fa):
            self.schedule_gc()

    # ------------------------------------------------------------- tier 1
    def on_text(self, uri: str) -> None:
        """A document changed: coalesce, then analyse the newest text once."""
        self._dirty[uri] = True
        if uri not in self._running:
            self._running.add(uri)
            self._spawn(self._tier1_loop(uri))

    async def _tier1_loop(self, uri: str) -> None:
        ls = self.ls
        loop = asyncio.get_running_loop()
        try:
            while self._dirty.get(uri):
                self._dirty[uri] = False
                doc = ls.workspace.text_documents.get(uri)
                path = to_fs_path(uri)
                if doc is None or not path or not ls.settings.enable:
                    return
                version, text = doc.version, doc.source
                engine = ls.engine_for(path)
                engine.set_overlay(path, text)
                lane = self.tier1_heavy if is_heavy(os.path.dirname(os.path.abspath(path)), engine.overlays()) \
                    else self.tier1
                told: list[bool] = []
                timer = loop.call_later(SLOW_TIER1_S, self._tier1_slow, path, told) \
                    if lane is self.tier1_heavy else None
                try:
                    fa = await loop.run_in_executor(lane, engine.analyze_file, path)
                except Exception as e:
                    log.exception("analysis failed for %s", path)
                    ls.report_once(f"tier1:{type(e).__name__}", f"analysis failed for {os.path.basename(path)}: {e}")
                    continue
                finally:
                    if timer is not None:
                        timer.cancel()
                    if told:
                        self.notify_status("idle", f"per-file check of {os.path.basename(path)} done", path)
                if fa.digest == _digest(text):
                    self._publish(uri, version, text, fa)
                self.publisher.publish_config_problems()
        finally:
            self._running.discard(uri)
            if self._dirty.get(uri):
                self.on_text(uri)

    def _tier1_slow(self, path: str, told: list[bool]) -> None:
        """A large module's tier 1 is past :data:`SLOW_TIER1_S`: said (``tfguard/status``), not silent."""
        told.append(True)
        self.notify_status("running", f"per-file check of {os.path.basename(path)} still running (a large module, "
                           f"over {SLOW_TIER1_S:g} s): the other modules are checked meanwhile", path)

    # ------------------------------------------------------------- tier 2
    def schedule_module(self, module_dir: str, delay_ms: int | None = None) -> None:
        """Tier 2 for ``module_dir`` after ``delay_ms`` (None: the idle delay), replacing a pending run."""
        loop = asyncio.get_running_loop()
        old = self._graph_timers.pop(module_dir, None)
        if old is not None:
            old.cancel()
        delay = (self.ls.settings.idle_delay_ms if delay_ms is None else delay_ms) / 1000.0
        self._graph_timers[module_dir] = loop.call_later(delay, lambda: self._spawn(self.run_module(module_dir)))

    async def run_module(self, module_dir: str) -> None:
        """The authoritative result after an edit of ``module_dir``: ``tfguard scan <workspace folder>`` on the
        current text, re-running only the scan units that read the folder (its own, every caller's).

        One run per workspace folder at a time; folders edited meanwhile are run together when it ends.
        Past the time budget the editor is told (work-done progress, ``tfguard/status``, an INFO problem
        on the edited folder's files) and the run goes on: its result replaces the per-file one when it ends.
        """
        self._graph_timers.pop(module_dir, None)
        engine = self.ls.engine_for_dir(module_dir)
        folder = engine.root or os.path.abspath(module_dir)
        if folder in self._graph_running:
            self._graph_again.setdefault(folder, set()).add(module_dir)
            return
        self._graph_running.add(folder)
        dirs = {module_dir} | self._graph_again.pop(folder, set())
        try:
            await self._authoritative(engine, folder, sorted(dirs))
        finally:
            self._graph_running.discard(folder)
        self.publisher.publish_config_problems()
        again = self._graph_again.pop(folder, None)
        if again:
            for d in again:
                self.schedule_module(d, 0)

    def _live(self, engine: Engine, folder: str) -> LiveScan:
        live = self._live_scans.get(folder)
        if live is None or live.engine is not engine:
            live = self._live_scans[folder] = LiveScan(engine, folder)
        return live

    async def _authoritative(self, engine: Engine, folder: str, dirs: list[str] | None,
                             progress: str | None = None) -> LiveRun | None:
        """One pass of :class:`~tfguard.scan.live.LiveScan` for ``dirs`` (None: the whole folder), published."""
        loop = asyncio.get_running_loop()
        self.sync_overlays(engine)
        live = self._live(engine, folder)
        try:
            plan = await loop.run_in_executor(self.tier2, live.plan)
            # closed files are shown for the folders indexing walks (not git-ignored, not .terraform/)
            shown = set(await loop.run_in_executor(self.tier2, module_dirs, folder))
        except Exception as e:
            log.exception("scan plan failed for %s", folder)
            self.ls.report_once(f"tier2:{folder}", f"full check of {folder} failed: {e}")
            return None
        units = plan.units if dirs is None else live.touched(plan, dirs)
        label = ", ".join(unit_label(u, folder) for u in units[:3]) + (f" and {len(units) - 3} more"
                                                                       if len(units) > 3 else "")
        label = label or os.path.basename(folder)
        own_progress = progress is None
        if own_progress:
            progress = await self._begin_progress("tfguard: full check", f"full check of {label}")
        budget = engine.module_time_budget
        over = False
        notice_dirs = [d for d in (dirs or []) if os.path.isdir(d)]

        def over_budget() -> None:
            nonlocal over
            over = True
            message = (f"full check of {label} still running (over the {budget:g} s budget): "
                       "showing per-file results until it ends")
            self.notify_status("running", message, folder)
            if progress is not None:
                self.ls.work_done_progress.report(progress, lsp.WorkDoneProgressReport(message=message))
            for d in notice_dirs:
                engine.tier1.set_notice(d, f"tfguard: {message}")
            self._remerge_open(engine, notice_dirs)

        timer = loop.call_later(budget, over_budget) if budget else None

        def on_unit(done: int, total: int, unit: str) -> None:
            if progress is None:
                return
            msg = f"{unit} ({done + 1}/{total})" if total > 1 else f"full check of {unit}"
            loop.call_soon_threadsafe(lambda: self.ls.work_done_progress.report(
                progress, lsp.WorkDoneProgressReport(message=msg, percentage=int(100 * done / max(1, total)))))

        self.notify_status("running", f"full check of {label}", folder)
        try:
            run = await loop.run_in_executor(self.tier2, lambda: live.run(dirs, plan=plan, on_unit=on_unit))
        except Exception as e:
            log.exception("full check failed for %s", folder)
            self.ls.report_once(f"tier2:{folder}", f"full check of {label} failed: {e}")
            run = None
        finally:
            if timer is not None:
                timer.cancel()
            for d in notice_dirs:
                engine.tier1.set_notice(d, None)
        if run is not None:
            self.publish_module_result(engine, {
                f: fa for f, fa in run.results.items()
                if os.path.dirname(f) in shown or from_fs_path(f) in self.ls.workspace.text_documents})
            took = f"{run.seconds:.1f} s" + (" (over budget)" if over else "")
            side = f" ({run.in_side} in the side process)" if run.in_side else ""
            ran = f"ran {len(run.ran)} unit{'s' if len(run.ran) != 1 else ''}{side}, reused {run.reused}"
            self.notify_status("idle", f"full check of {label} done in {took}: {ran}", folder)
            log.info("full check of %s: %s in %.2f s (%d files)", label, ran, run.seconds, len(run.results))
        else:
            self._remerge_open(engine, notice_dirs)
            self.notify_status("failed", f"full check of {label} failed: showing per-file results", folder)
        if progress is not None and run is not None:
            self.ls.work_done_progress.report(progress, lsp.WorkDoneProgressReport(
                percentage=100, message=f"{label}: {len(run.results)} files"))
        if own_progress and progress is not None:
            self.ls.work_done_progress.end(progress, lsp.WorkDoneProgressEnd(
                message=f"{len(run.results)} files" if run is not None else "failed"))
        return run

    def _remerge_open(self, engine: Engine, dirs: list[str]) -> None:
        """Tier 1 again for the open documents of ``dirs`` (a notice came or went)."""
        real = {os.path.realpath(d) for d in dirs}
        for uri in list(self.ls.workspace.text_documents):
            path = to_fs_path(uri)
            if path and os.path.realpath(os.path.dirname(path)) in real and self.ls.engine_for(path) is engine:
                self.on_text(uri)

    async def _begin_progress(self, title: str, message: str) -> str | None:
        """A work-done progress the client shows (None when it cannot)."""
        if not self._client_supports_progress():
            return None
        token = str(uuid.uuid4())
        try:
            await self.ls.work_done_progress.create_async(token)
        except Exception:
            return None
        self.ls.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(title=title, message=message,
                                                                         cancellable=False))
        return token

    def notify_status(self, state: str, message: str, folder: str) -> None:
        """``tfguard/status``: what the full check is doing (``running``, ``idle``, ``failed``), for the
        client's status item; also in the log."""
        self.status = {"state": state, "message": message, "folder": folder}
        log.info("status: %s", message)
        try:
            self.ls.protocol.notify(STATUS_NOTIFICATION, self.status)
        except Exception:  # no transport (shut down): the status is only logged
            log.debug("could not send %s", STATUS_NOTIFICATION, exc_info=True)

    def publish_module_result(self, engine: Engine, result: dict[str, FileAnalysis]) -> None:
        """A module's tier-2 result: open documents re-merged through tier 1, closed files published."""
        for path, fa in result.items():
            uri = from_fs_path(path)
            if uri is None:
                continue
            if uri in self.ls.workspace.text_documents:
                self.on_text(uri)  # re-merge: unchanged blocks now carry tier 2's result
            else:
                text, _ = engine.read(path)
                self._publish(uri, None, text or "", fa)

    def sync_overlays(self, engine: Engine) -> None:
        """Give tier 2 the editor's newest text: tier 1 sets an overlay only when it gets to a document,
        and a tier-2 run starting meanwhile (e.g. while the first tier-1 run imports Checkov) would
        analyse an older text whose result then matches no block of the current one."""
        for uri, doc in list(self.ls.workspace.text_documents.items()):
            path = to_fs_path(uri)
            if path and is_terraform_file(path) and self.ls.engine_for(path) is engine:
                engine.set_overlay(path, doc.source)

    def recheck_all(self) -> None:
        """Both tiers again for every open Terraform document (settings or configuration changed)."""
        for uri in list(self.ls.workspace.text_documents):
            path = to_fs_path(uri)
            if path and is_terraform_file(path):
                self.on_text(uri)
                self.schedule_module(os.path.dirname(os.path.abspath(path)))

    # ------------------------------------------------------------ indexing
    def start_indexing(self) -> None:
        """Index the workspace in the background (after initialized)."""
        self._index_task = self._spawn(self.index_workspace())

    async def index_workspace(self, token: str | None = None) -> tuple[int, int]:
        """The authoritative result of every workspace folder (``tfguard scan`` of each, on the current text),
        with work-done progress; (files, failed findings)."""
        ls = self.ls
        progress = token
        if progress is None:
            progress = await self._begin_progress("tfguard: scanning workspace", f"{len(ls.folders())} folders")
        elif progress is not None:
            ls.work_done_progress.begin(progress, lsp.WorkDoneProgressBegin(
                title="tfguard: scanning workspace", percentage=0, cancellable=False))
        files = findings = 0
        for root in ls.folders():
            engine = ls.engine_for_dir(root)
            folder = engine.root or root
            while folder in self._graph_running:  # an edit's run is going: this one follows it
                await asyncio.sleep(0.05)
            self._graph_running.add(folder)
            try:
                run = await self._authoritative(engine, folder, None, progress)
            finally:
                self._graph_running.discard(folder)
            self.publisher.publish_config_problems()  # what this run found (a refused policy folder)
            if run is None:
                continue
            files += len(run.results)
            findings += sum(1 for fa in run.results.values() for f in fa.findings if f.result is Result.FAILED)
            again = self._graph_again.pop(folder, None)
            for d in again or ():
                self.schedule_module(d, 0)
        if progress is not None:
            ls.work_done_progress.end(progress, lsp.WorkDoneProgressEnd(
                message=f"{files} files, {findings} findings"))
        return files, findings

    def _client_supports_progress(self) -> bool:
        w = self.ls.client_capabilities.window
        return bool(w and w.work_done_progress)

    # ------------------------------------------------------------------ gc
    def schedule_gc(self, delay: float = 2.0) -> None:
        """Once the user pauses: a full collection, then freeze what survived (see gctuning).

        Keeps the collector's full passes, which otherwise land on a keystroke now and then, short. Not
        while a full check runs: the collection holds the interpreter for as long as it walks every object
        (Checkov's graph under construction included), and the full check waits that long.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._gc_handle is not None:
            self._gc_handle.cancel()

        def run() -> None:
            self._gc_handle = None
            if self._running or any(self._dirty.values()) or self._graph_running:
                self.schedule_gc(delay)
                return
            gctuning.maintain()

        self._gc_handle = loop.call_later(delay, run)

    # ------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Cancel pending tier-2 runs and indexing; stop both executors without waiting."""
        for t in self._graph_timers.values():
            t.cancel()
        if self._index_task is not None:
            self._index_task.cancel()
        if self._gc_handle is not None:
            self._gc_handle.cancel()
        self.tier1.shutdown(wait=False, cancel_futures=True)
        self.tier1_heavy.shutdown(wait=False, cancel_futures=True)
        self.tier2.shutdown(wait=False, cancel_futures=True)
