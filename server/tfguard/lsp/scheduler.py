"""When analyses run: tier 1 per document, tier 2 per module, workspace indexing, GC at idle.

- Tier 1: a change marks its document dirty; one coalescing loop per document analyses the newest
  text, publishes it, and goes round again while edits arrived meanwhile (a burst of edits yields
  one analysis of the newest text, never a queue of stale ones). Modules whose files are large
  (:func:`tfguard.budget.is_heavy`) have their own lane: their analyses never delay another module's;
  a file over the size budget is not analysed at all (one located problem, ``tfguard.budget``).
- Tier 2: a debounce timer per module (``idleDelayMs`` after the last edit, at once on save); a
  module whose run is still going is run again when it ends, never twice at the same time.
- Indexing: tier 2 over every module of every workspace folder, with work-done progress.
- A module result is published by one helper (:meth:`Scheduler.publish_module_result`): open
  documents are re-merged through tier 1 (their unchanged blocks now carry tier 2's findings),
  closed files are published directly.

Threads. The event loop owns all server state: what was published and its versions, the
diagnostics caches, the tier-2 timers, the dirty/running sets, the settings and the engines
table. The executors (``tier1``, ``tier1_heavy``, ``tier2``; one worker each) only run engine calls
(``analyze_file``, ``analyze_module_bounded``) and return their values; the loop applies them
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

if TYPE_CHECKING:  # the server builds its scheduler: only annotations name the server here
    from tfguard.lsp.server import TfguardServer

log = logging.getLogger(__name__)


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
        self._graph_running: set[str] = set()
        self._graph_again: set[str] = set()  # asked for while running: run again when done
        self._index_task: asyncio.Task[Any] | None = None
        self._gc_handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()  # strong references to fire-and-forget tasks

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
                try:
                    fa = await loop.run_in_executor(lane, engine.analyze_file, path)
                except Exception as e:
                    log.exception("analysis failed for %s", path)
                    ls.report_once(f"tier1:{type(e).__name__}", f"analysis failed for {os.path.basename(path)}: {e}")
                    continue
                if fa.digest == _digest(text):
                    self._publish(uri, version, text, fa)
                self.publisher.publish_config_problems()
        finally:
            self._running.discard(uri)
            if self._dirty.get(uri):
                self.on_text(uri)

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
        """Tier 2 for one module; publishes closed files, refreshes open ones through tier 1."""
        self._graph_timers.pop(module_dir, None)
        if module_dir in self._graph_running:
            self._graph_again.add(module_dir)
            return
        self._graph_running.add(module_dir)
        loop = asyncio.get_running_loop()
        engine = self.ls.engine_for_dir(module_dir)
        self.sync_overlays(engine)
        try:
            result = await loop.run_in_executor(self.tier2, engine.analyze_module_bounded, module_dir)
        except Exception as e:
            log.exception("module analysis failed for %s", module_dir)
            self.ls.report_once(f"tier2:{module_dir}", f"module analysis failed for {module_dir}: {e}")
            result = {}
        finally:
            self._graph_running.discard(module_dir)
        self.publish_module_result(engine, result)
        self.publisher.publish_config_problems()
        if module_dir in self._graph_again:
            self._graph_again.discard(module_dir)
            self.schedule_module(module_dir, 0)

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
        """Tier 2 over every module of every folder, with work-done progress; (files, failed findings)."""
        ls = self.ls
        loop = asyncio.get_running_loop()
        dirs: list[str] = []
        for root in ls.folders():
            dirs.extend(await loop.run_in_executor(None, module_dirs, root))
        progress = None
        if token is None and self._client_supports_progress():
            token = str(uuid.uuid4())
            try:
                await ls.work_done_progress.create_async(token)
            except Exception:
                token = None
        if token is not None:
            progress = token
            ls.work_done_progress.begin(progress, lsp.WorkDoneProgressBegin(
                title="tfguard: scanning workspace", percentage=0, cancellable=False,
                message=f"{len(dirs)} modules"))
        files = findings = 0
        for i, d in enumerate(dirs):
            engine = ls.engine_for_dir(d)
            try:
                result = await loop.run_in_executor(self.tier2, engine.analyze_module_bounded, d)
            except Exception:
                log.exception("indexing failed for %s", d)
                result = {}
            files += len(result)
            findings += sum(1 for fa in result.values() for f in fa.findings if f.result is Result.FAILED)
            self.publish_module_result(engine, result)
            self.publisher.publish_config_problems()  # what this run found (a refused policy folder)
            if progress is not None:
                ls.work_done_progress.report(progress, lsp.WorkDoneProgressReport(
                    percentage=int(100 * (i + 1) / max(1, len(dirs))),
                    message=f"{i + 1}/{len(dirs)} modules: {os.path.basename(d) or d}"))
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

        Keeps the collector's full passes, which otherwise land on a keystroke now and then, short.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._gc_handle is not None:
            self._gc_handle.cancel()

        def run() -> None:
            self._gc_handle = None
            if self._running or any(self._dirty.values()):
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
