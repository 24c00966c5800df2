"""tfguard's language server (pygls 2.x): live, version-exact diagnostics on unsaved Terraform.

- didOpen/didChange: tier 1 re-checks the changed blocks and publishes within milliseconds.
  Changes are coalesced per document: a burst of edits yields one analysis of the newest text.
- When the user pauses (``idleDelayMs``) and on didSave, tier 2 (Checkov's full runner, graph
  checks) runs for the module off the event loop; its result replaces tier 1's.
- Every publish carries the version it was computed from; a result for an older text is dropped.
- Push diagnostics by default; pull (LSP 3.17) when the client supports it, never both.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from tfguard import __version__, gctuning
from tfguard.engine import Engine, FileAnalysis
from tfguard.files import is_terraform_file, module_dirs, normalize_newlines, text_digest
from tfguard.lsp import textsync
from tfguard.lsp.convert import (
    LazyLines,
    finding_to_diagnostic,
    from_client,
    hover_markdown,
    problem_to_diagnostic,
    range_to_client,
    split_lines,
)
from tfguard.lsp.settings import Settings, folder_for, install_settings_layer, parse_settings
from tfguard.model import Finding, Problem, Result, shift_finding
from tfguard.priority import rank, rank_key
from tfguard.wiring import make_engine

log = logging.getLogger(__name__)

WATCH_GLOBS = ("**/*.tf", "**/*.tf.json", "**/*.tfvars", "**/.tfguard.yaml", "**/.checkov.yaml",
               "**/.checkov.yml", "**/*.yaml", "**/*.yml")


@dataclass
class Published:
    """What the client was last given for one document (for hover, code actions, findings view)."""

    uri: str
    version: int | None
    text: str
    analysis: FileAnalysis


class TfguardServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("tfguard", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.settings = Settings()
        # per workspace folder (workspace/configuration with a scopeUri each); self.settings: the first's
        self.folder_settings: dict[str, Settings] = {}
        self.settings_epoch = 0  # bumped whenever any folder's settings change (diagnostic caches)
        self.base_settings = Settings()  # from initializationOptions: what a folder's missing keys default to
        self.engines: dict[str, Engine] = {}
        self.tier1 = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tfguard-tier1")
        self.tier2 = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tfguard-tier2")
        self.published: dict[str, Published] = {}
        self.last_version: dict[str, int] = {}
        self._dirty: dict[str, bool] = {}
        self._running: set[str] = set()
        self._graph_timers: dict[str, asyncio.TimerHandle] = {}
        self._graph_running: set[str] = set()
        self._graph_again: set[str] = set()
        self._reported: set[str] = set()
        self.pull_mode = False
        self._refresh_handle: asyncio.TimerHandle | None = None
        self._index_task: asyncio.Task[Any] | None = None
        self._lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client_name = ""
        self._config_files_with_problems: set[str] = set()
        self._baseline: tuple[str, Any] | None = None
        self._diag_cache: dict[str, dict[int, tuple[Finding, lsp.Diagnostic | None]]] = {}
        self._diag_generation: object = None
        self._json_cache: dict[int, tuple[lsp.Diagnostic, str]] = {}
        self._gc_handle: asyncio.TimerHandle | None = None
        self._tpl_cache: dict[str, dict[int, tuple[Finding, tuple[int, int, int, str]]]] = {}
        self._tpl_generation: object = None

    # ------------------------------------------------------------ helpers
    @property
    def encoding(self) -> str:
        enc = self.workspace.position_encoding
        return str(enc) if enc is not None else lsp.PositionEncodingKind.Utf16

    def folders(self) -> list[str]:
        roots = []
        for f in (self.workspace.folders or {}).values():
            p = to_fs_path(f.uri)
            if p:
                roots.append(os.path.abspath(p))
        if not roots and self.workspace.root_path:
            roots.append(os.path.abspath(self.workspace.root_path))
        return roots

    def engine_for(self, path: str) -> Engine:
        path = os.path.abspath(path)
        best = None
        for root in self.folders():
            if (path + os.sep).startswith(root + os.sep) and (best is None or len(root) > len(best)):
                best = root
        root = best or os.path.dirname(path)
        eng = self.engines.get(root)
        if eng is None:
            st = self.folder_settings.get(root, self.settings)
            eng = make_engine(root, max_file_bytes=st.max_file_bytes)
            eng.module_time_budget = st.module_time_budget_ms / 1000.0 or None
            # tfguard.catalogue / tfguard.policyDirs: a layer above the folder's .tfguard.yaml files
            install_settings_layer(eng, best, lambda: self.folder_settings.get(root, self.settings))
            self.engines[root] = eng
        return eng

    def settings_for(self, path: str) -> Settings:
        """The settings of the workspace folder that holds ``path`` (multi-root: each folder its own)."""
        root = folder_for(path, self.folders())
        return self.folder_settings.get(root, self.settings) if root else self.settings

    def report_once(self, key: str, message: str, kind: lsp.MessageType = lsp.MessageType.Warning) -> None:
        """Tell the user once (no pop-up storms); log every time."""
        log.warning("%s", message)
        if key in self._reported:
            return
        self._reported.add(key)
        self.window_show_message(lsp.ShowMessageParams(type=kind, message=f"tfguard: {message}"))

    def report_server_error(self, error: Exception, source: Any) -> None:
        log.error("tfguard handler error: %s", error, exc_info=error)
        self.report_once(f"server-error:{type(error).__name__}",
                         f"internal error ({type(error).__name__}: {error}); see the tfguard log. Still serving.",
                         lsp.MessageType.Error)

    def visible(self, f: Finding) -> bool:
        return f.result is Result.FAILED and f.severity.rank >= self.settings_for(f.file).minimum_severity.rank

    def diagnostics_for(self, text: str, fa: FileAnalysis) -> list[lsp.Diagnostic]:
        """LSP diagnostics for an analysis of ``text``. A finding object the engine reused (its block did
        not change) reuses its converted diagnostic: a keystroke converts only what it changed."""
        lines = LazyLines(text)  # a keystroke converts only its own block's findings: a few lines
        enc = self.encoding
        out = [problem_to_diagnostic(p, lines, enc) for p in fa.problems]
        baseline = self.baseline()
        root = self.folders()[0] if self.folders() else os.path.dirname(fa.path)
        generation = (enc, self.settings, self.settings_epoch, id(baseline))
        levels = self.settings_for(fa.path).severity_levels
        if self._diag_generation != generation:
            self._diag_generation = generation
            self._diag_cache.clear()
        old = self._diag_cache.get(fa.path, {})
        new: dict[int, tuple[Finding, lsp.Diagnostic | None]] = {}
        for f in rank([f for f in fa.findings if self.visible(f)]):
            hit = old.get(id(f))
            if hit is not None and hit[0] is f:
                d: lsp.Diagnostic | None = hit[1]
            else:
                d = finding_to_diagnostic(f, lines, enc, levels, fixable=self._fixable(f))
                if baseline is not None and baseline.contains(f, root, text):
                    if self.settings.baseline_mode == "hide":
                        d = None
                    else:
                        d.severity = lsp.DiagnosticSeverity.Hint
                        d.message = f"{d.message} (in baseline)"
            new[id(f)] = (f, d)
            if d is not None:
                out.append(d)
        self._diag_cache[fa.path] = new
        return out

    def baseline(self) -> Any:
        """The configured baseline (loaded once per path); a bad file is reported once."""
        path = self.settings.baseline
        if not path:
            return None
        if not os.path.isabs(path) and self.folders():
            path = os.path.join(self.folders()[0], path)
        cached = self._baseline
        if cached is not None and cached[0] == path:
            return cached[1]
        from tfguard.scan.baseline import BaselineError, load_baseline

        try:
            loaded = load_baseline(path)
        except BaselineError as e:
            self.report_once(f"baseline:{path}", str(e))
            loaded = None
        self._baseline = (path, loaded)
        return loaded

    def _fixable(self, f: Finding) -> bool:
        try:
            from tfguard.lsp.actions import is_fixable
        except ImportError:
            return False
        return is_fixable(f)

    # --------------------------------------------------------- publishing
    def publish(self, uri: str, version: int | None, text: str, fa: FileAnalysis) -> bool:
        """Publish unless stale; remember what was published. Returns whether it was sent."""
        doc = self.workspace.text_documents.get(uri)
        if doc is not None:
            if version is None or doc.version != version or doc.source != text:
                log.debug("dropping stale result for %s v%s", uri, version)
                return False
        if version is not None and self.last_version.get(uri, -1) > version:
            return False
        if version is not None:
            self.last_version[uri] = version
        self.published[uri] = Published(uri, version, text, fa)
        self.schedule_gc()
        if self.pull_mode:
            self.schedule_refresh()
            return True
        # Diagnostics go out pre-serialised: each one is turned into its JSON text once and reused
        # while its finding is unchanged; a publish is then one join (serialising hundreds of
        # diagnostics per keystroke would cost more than analysing the keystroke).
        method = lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS
        head = f'{{"jsonrpc":"2.0","method":"{method}","params":{{"uri":{json.dumps(uri)}'
        if version is not None:
            head += f',"version":{int(version)}'
        self._send_raw(head + ',"diagnostics":[' + ",".join(self.diagnostics_json(text, fa)) + "]}}")
        return True

    def diagnostics_json(self, text: str, fa: FileAnalysis) -> list[str]:
        """:meth:`diagnostics_for` as JSON texts, for push publishing.

        A finding that only moved (a line inserted above its block: ``Finding.origin``) reuses the
        JSON of its origin with the line numbers put in: pressing Enter at the top of a big file
        moves every finding below, and converting and serialising them all again would cost more
        than the rest of the keystroke. Columns are unchanged because the block's text is.
        """
        if self.baseline() is not None:  # baseline marks depend on the text: no shortcut
            return [self._diag_json(d) for d in self.diagnostics_for(text, fa)]
        lines = LazyLines(text)
        enc = self.encoding
        out = [self._to_json(problem_to_diagnostic(p, lines, enc)) for p in fa.problems]  # new each time
        generation = (enc, self.settings, self.settings_epoch)
        if self._tpl_generation != generation:
            self._tpl_generation = generation
            self._tpl_cache.clear()
        old = self._tpl_cache.get(fa.path, {})
        new: dict[int, tuple[Finding, tuple[int, int, int, str]]] = {}
        # findings of moved blocks are read in place, with their line shift (FileAnalysis.segments)
        visible = [(f, shift) for shift, fs in fa.segments() for f in fs if self.visible(f)]
        visible.sort(key=lambda t: rank_key(*t))  # priority.rank's order, on current lines
        for f, shift in visible:
            root = f.origin or f
            hit = old.get(id(root))
            if hit is None or hit[0] is not root:
                hit = (root, self._template(shift_finding(f, shift), lines, enc))
            new[id(root)] = hit
            cs, dl, ce, middle = hit[1]
            line = f.span.start.line + shift
            out.append(f'{{"range":{{"start":{{"line":{line},"character":{cs}}},"end":{{"line":{line + dl},'
                       f'"character":{ce}}}}},{middle},"blockStartLine":{f.line_range[0] + shift}}}}}')
        self._tpl_cache[fa.path] = new
        return out

    def _template(self, f: Finding, lines: LazyLines, enc: str) -> tuple[int, int, int, str]:
        """(start column, line count - 1, end column, JSON between the range and blockStartLine)."""
        d = finding_to_diagnostic(f, lines, enc, self.settings_for(f.file).severity_levels, fixable=self._fixable(f))
        data = self.protocol._converter.unstructure(d, lsp.Diagnostic)  # noqa: SLF001
        rng = data.pop("range")
        extra = data.pop("data")
        extra.pop("blockStartLine")
        data["data"] = extra  # last, with blockStartLine put back in last
        body = json.dumps(data, separators=(",", ":"))
        assert body.endswith("}}") and extra, body
        return (rng["start"]["character"], rng["end"]["line"] - rng["start"]["line"], rng["end"]["character"],
                body[1:-2])

    def _to_json(self, d: lsp.Diagnostic) -> str:
        return json.dumps(self.protocol._converter.unstructure(d, lsp.Diagnostic), separators=(",", ":"))  # noqa: SLF001

    def _diag_json(self, d: lsp.Diagnostic) -> str:
        """:meth:`_to_json` for a diagnostic :meth:`diagnostics_for` keeps while its finding is unchanged."""
        key = id(d)
        hit = self._json_cache.get(key)
        if hit is not None and hit[0] is d:
            return hit[1]
        data = self._to_json(d)
        self._json_cache[key] = (d, data)
        if len(self._json_cache) > 50_000:
            self._json_cache.clear()
        return data

    def _send_raw(self, body: str) -> None:
        """Write one JSON-RPC message whose body is already serialised (ASCII JSON)."""
        writer = self.protocol.writer
        if writer is None:
            log.error("no transport to send diagnostics on")
            return
        raw = body.encode("utf-8")
        res = writer.write(b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"
                           % len(raw) + raw)
        if inspect.isawaitable(res):
            asyncio.ensure_future(res)

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

    def schedule_refresh(self) -> None:
        caps = self.client_capabilities.workspace
        if not (caps and caps.diagnostics and caps.diagnostics.refresh_support):
            return
        if self._refresh_handle is not None:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._refresh_handle = None
            self.workspace_diagnostic_refresh(None)

        self._refresh_handle = loop.call_later(0.05, fire)

    def publish_config_problems(self) -> None:
        """Located errors of invalid ``.tfguard.yaml``/catalogue/``.checkov.yaml`` files, on those files."""
        by_file: dict[str, list[Problem]] = {}
        for eng in self.engines.values():
            problems: list[Problem] = list(eng.configs.problems()) if eng.configs is not None else []
            problems.extend(eng.config_problems)
            for p in problems:
                by_file.setdefault(os.path.abspath(p.file), []).append(p)
        for path in set(self._config_files_with_problems) | set(by_file):
            uri = from_fs_path(path)
            if uri is None:
                continue
            probs = by_file.get(path, [])
            doc = self.workspace.text_documents.get(uri)
            if doc is not None:
                text = doc.source
            else:
                try:
                    with open(path, encoding="utf-8", errors="replace") as fh:
                        text = fh.read()
                except OSError:
                    text = ""
            unique = {(p.span.start, p.message): p for p in probs}
            lines = split_lines(text)
            diags = [problem_to_diagnostic(p, lines, self.encoding) for p in unique.values()]
            if self.pull_mode:
                continue  # pull clients ask per document; config files are reported via the log
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diags))
        self._config_files_with_problems = set(by_file)

    def clear(self, uri: str) -> None:
        self.published.pop(uri, None)
        if not self.pull_mode:
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    # ------------------------------------------------------------- tier 1
    def on_text(self, uri: str) -> None:
        """A document changed: coalesce, then analyse the newest text once."""
        self._dirty[uri] = True
        if uri not in self._running:
            self._running.add(uri)
            asyncio.get_running_loop().create_task(self._tier1_loop(uri))

    async def _tier1_loop(self, uri: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._dirty.get(uri):
                self._dirty[uri] = False
                doc = self.workspace.text_documents.get(uri)
                path = to_fs_path(uri)
                if doc is None or not path or not self.settings.enable:
                    return
                version, text = doc.version, doc.source
                engine = self.engine_for(path)
                engine.set_overlay(path, text)
                try:
                    fa = await loop.run_in_executor(self.tier1, engine.analyze_file, path)
                except Exception as e:
                    log.exception("analysis failed for %s", path)
                    self.report_once(f"tier1:{type(e).__name__}", f"analysis failed for {os.path.basename(path)}: {e}")
                    continue
                if fa.digest == _digest_engine(engine, text):
                    self.publish(uri, version, text, fa)
                self.publish_config_problems()
        finally:
            self._running.discard(uri)
            if self._dirty.get(uri):
                self.on_text(uri)

    # ------------------------------------------------------------- tier 2
    def schedule_module(self, module_dir: str, delay_ms: int | None = None) -> None:
        loop = asyncio.get_running_loop()
        old = self._graph_timers.pop(module_dir, None)
        if old is not None:
            old.cancel()
        delay = (self.settings.idle_delay_ms if delay_ms is None else delay_ms) / 1000.0
        self._graph_timers[module_dir] = loop.call_later(
            delay, lambda: loop.create_task(self.run_module(module_dir))
        )

    async def run_module(self, module_dir: str) -> None:
        """Tier 2 for one module; publishes closed files, refreshes open ones through tier 1."""
        self._graph_timers.pop(module_dir, None)
        if module_dir in self._graph_running:
            self._graph_again.add(module_dir)
            return
        self._graph_running.add(module_dir)
        loop = asyncio.get_running_loop()
        engine = self.engine_for(os.path.join(module_dir, "x.tf"))
        self.sync_overlays(engine)
        try:
            result = await loop.run_in_executor(self.tier2, engine.analyze_module_bounded, module_dir)
        except Exception as e:
            log.exception("module analysis failed for %s", module_dir)
            self.report_once(f"tier2:{module_dir}", f"module analysis failed for {module_dir}: {e}")
            result = {}
        finally:
            self._graph_running.discard(module_dir)
        for path, fa in result.items():
            uri = from_fs_path(path)
            if uri is None:
                continue
            if uri in self.workspace.text_documents:
                self.on_text(uri)  # re-merge: unchanged blocks now carry tier 2's result
            else:
                text, _ = engine.read(path)
                self.publish(uri, None, text or "", fa)
        self.publish_config_problems()
        if module_dir in self._graph_again:
            self._graph_again.discard(module_dir)
            self.schedule_module(module_dir, 0)

    def sync_overlays(self, engine: Engine) -> None:
        """Give tier 2 the editor's newest text: tier 1 sets an overlay only when it gets to a document,
        and a tier-2 run starting meanwhile (e.g. while the first tier-1 run imports Checkov) would
        analyse an older text whose result then matches no block of the current one."""
        for uri, doc in list(self.workspace.text_documents.items()):
            path = to_fs_path(uri)
            if path and is_terraform_file(path) and self.engine_for(path) is engine:
                engine.set_overlay(path, doc.source)

    # ------------------------------------------------------------ indexing
    async def index_workspace(self, token: str | None = None) -> tuple[int, int]:
        """Tier 2 over every module of every folder, with work-done progress."""
        loop = asyncio.get_running_loop()
        dirs: list[str] = []
        for root in self.folders():
            dirs.extend(await loop.run_in_executor(None, module_dirs, root))
        progress = None
        if token is None and self._client_supports_progress():
            token = str(uuid.uuid4())
            try:
                await self.work_done_progress.create_async(token)
            except Exception:
                token = None
        if token is not None:
            progress = token
            self.work_done_progress.begin(progress, lsp.WorkDoneProgressBegin(
                title="tfguard: scanning workspace", percentage=0, cancellable=False,
                message=f"{len(dirs)} modules"))
        files = findings = 0
        for i, d in enumerate(dirs):
            engine = self.engine_for(os.path.join(d, "x.tf"))
            try:
                result = await loop.run_in_executor(self.tier2, engine.analyze_module_bounded, d)
            except Exception:
                log.exception("indexing failed for %s", d)
                result = {}
            for path, fa in result.items():
                files += 1
                findings += sum(1 for f in fa.findings if f.result is Result.FAILED)
                uri = from_fs_path(path)
                if uri is None:
                    continue
                if uri in self.workspace.text_documents:
                    self.on_text(uri)
                else:
                    text, _ = engine.read(path)
                    self.publish(uri, None, text or "", fa)
            if progress is not None:
                self.work_done_progress.report(progress, lsp.WorkDoneProgressReport(
                    percentage=int(100 * (i + 1) / max(1, len(dirs))),
                    message=f"{i + 1}/{len(dirs)} modules: {os.path.basename(d) or d}"))
        if progress is not None:
            self.work_done_progress.end(progress, lsp.WorkDoneProgressEnd(
                message=f"{files} files, {findings} findings"))
        return files, findings

    def _client_supports_progress(self) -> bool:
        w = self.client_capabilities.window
        return bool(w and w.work_done_progress)

    # ------------------------------------------------------------ settings
    async def pull_configuration(self) -> None:
        caps = self.client_capabilities.workspace
        if not (caps and caps.configuration):
            return
        # One item per workspace folder (its scopeUri): folder settings apply to that folder only.
        folders = [(os.path.abspath(p), f.uri) for f in (self.workspace.folders or {}).values()
                   if (p := to_fs_path(f.uri))]
        items = [lsp.ConfigurationItem(scope_uri=uri, section="tfguard") for _, uri in folders] \
            or [lsp.ConfigurationItem(section="tfguard")]
        try:
            result = await self.workspace_configuration_async(lsp.ConfigurationParams(items=items))
        except Exception:
            log.exception("workspace/configuration failed")
            return
        if not result:
            return
        self.apply_settings(result[0])  # the first folder's: also the server-wide values
        before = dict(self.folder_settings)
        for (root, _), raw in zip(folders, result, strict=False):
            st, errors = parse_settings(raw, self.base_settings, trusted=False)
            for err in errors:
                self.report_once(f"setting:{err}", err)
            self.folder_settings[root] = st
        if self.folder_settings != before:
            self._settings_changed()

    def _settings_changed(self) -> None:
        self.settings_epoch += 1
        for root, eng in self.engines.items():
            st = self.folder_settings.get(root, self.settings)
            eng.max_file_bytes = st.max_file_bytes
            eng.module_time_budget = st.module_time_budget_ms / 1000.0 or None
            if eng.configs is not None:
                eng.configs.invalidate(None)  # a settings layer (catalogue, policyDirs) may have changed
            eng.generation += 1

    def apply_settings(self, raw: Any, trusted: bool = False) -> None:
        """``trusted`` only for initializationOptions (the user's settings, not the workspace's)."""
        if raw is None:
            return
        settings, errors = parse_settings(raw, self.settings, trusted=trusted)
        for err in errors:
            self.report_once(f"setting:{err}", err)
        changed = settings != self.settings
        self.settings = settings
        if trusted:
            self.base_settings = settings
        if changed:
            self._settings_changed()

    def recheck_all(self) -> None:
        for uri in list(self.workspace.text_documents):
            path = to_fs_path(uri)
            if path and is_terraform_file(path):
                self.on_text(uri)
                self.schedule_module(os.path.dirname(os.path.abspath(path)))


def _digest_engine(engine: Engine, text: str) -> str:
    return text_digest(normalize_newlines(text))


server = TfguardServer()


# ---------------------------------------------------------------- lifecycle
@server.feature(lsp.INITIALIZE)
def on_initialize(ls: TfguardServer, params: lsp.InitializeParams) -> None:
    ls.client_name = params.client_info.name if params.client_info else ""
    textsync.install(ls.workspace)  # incremental edits applied in time independent of the document size
    ls.apply_settings(params.initialization_options, trusted=True)
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


@server.feature(lsp.INITIALIZED)
async def on_initialized(ls: TfguardServer, params: lsp.InitializedParams) -> None:
    ls.loop = asyncio.get_running_loop()
    await ls.pull_configuration()
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
        ls._index_task = asyncio.get_running_loop().create_task(ls.index_workspace())


@server.feature(lsp.SHUTDOWN)
def on_shutdown(ls: TfguardServer, params: None) -> None:
    for t in ls._graph_timers.values():
        t.cancel()
    if ls._index_task is not None:
        ls._index_task.cancel()
    ls.tier1.shutdown(wait=False, cancel_futures=True)
    ls.tier2.shutdown(wait=False, cancel_futures=True)


# -------------------------------------------------------------- documents
def _is_tf(uri: str) -> bool:
    path = to_fs_path(uri)
    return bool(path) and is_terraform_file(path or "")


def _text_changed(ls: TfguardServer, uri: str, tier2_delay_ms: int | None) -> None:
    """Tier 1 now for the document; tier 2 for its module after ``tier2_delay_ms`` (None: the idle delay)."""
    path = to_fs_path(uri)
    if path and _is_tf(uri):
        ls.on_text(uri)
        ls.schedule_module(os.path.dirname(os.path.abspath(path)), tier2_delay_ms)


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: TfguardServer, params: lsp.DidOpenTextDocumentParams) -> None:
    _text_changed(ls, params.text_document.uri, None)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: TfguardServer, params: lsp.DidChangeTextDocumentParams) -> None:
    _text_changed(ls, params.text_document.uri, None)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: TfguardServer, params: lsp.DidSaveTextDocumentParams) -> None:
    _text_changed(ls, params.text_document.uri, 0)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: TfguardServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    path = to_fs_path(uri)
    if not path or not _is_tf(uri):
        return
    engine = ls.engine_for(path)
    engine.drop_overlay(path)
    ls.last_version.pop(uri, None)
    module_dir = os.path.dirname(os.path.abspath(path))
    in_workspace = any((module_dir + os.sep).startswith(r + os.sep) for r in ls.folders())
    if os.path.exists(path) and in_workspace:
        ls.schedule_module(module_dir, 0)  # the disk text is what counts now
    else:
        ls.clear(uri)


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched(ls: TfguardServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    dirs: set[str] = set()
    config_changed = False
    for ev in params.changes:
        path = to_fs_path(ev.uri)
        if not path:
            continue
        path = os.path.abspath(path)
        name = os.path.basename(path)
        if name in (".tfguard.yaml", ".checkov.yaml", ".checkov.yml") or name.endswith((".yaml", ".yml")):
            config_changed = True
            continue
        if ev.uri in ls.workspace.text_documents:
            continue  # the editor's text wins
        for eng in ls.engines.values():
            eng.forget(path)
        dirs.add(os.path.dirname(path))
        if ev.type == lsp.FileChangeType.Deleted:
            ls.clear(ev.uri)
    if config_changed:
        for eng in ls.engines.values():
            if eng.configs is not None:
                eng.configs.invalidate(None)
            eng.generation += 1  # cached per-block results were ranked under the old configuration
        ls.recheck_all()
        for root in ls.folders():
            for d in module_dirs(root):
                ls.schedule_module(d, 0)
        return
    for d in dirs:
        ls.schedule_module(d, 0)


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: TfguardServer, params: lsp.DidChangeConfigurationParams) -> None:
    settings = params.settings
    epoch = ls.settings_epoch
    if isinstance(settings, dict) and "tfguard" in settings:
        if ls.folder_settings:  # pushed values are for the whole workspace: no folder keeps older ones
            ls.folder_settings.clear()
            ls._settings_changed()
        ls.apply_settings(settings["tfguard"])
    else:
        await ls.pull_configuration()
    ls.recheck_all()
    if ls.settings_epoch != epoch:  # closed files too: their diagnostics were made under the old settings
        for root in ls.folders():
            for d in module_dirs(root):
                ls.schedule_module(d, 0)


# ---------------------------------------------------------- pull diagnostics
@server.feature(lsp.TEXT_DOCUMENT_DIAGNOSTIC,
                lsp.DiagnosticOptions(identifier="tfguard", inter_file_dependencies=True,
                                      workspace_diagnostics=True))
async def document_diagnostic(ls: TfguardServer, params: lsp.DocumentDiagnosticParams) -> lsp.DocumentDiagnosticReport:
    uri = params.text_document.uri
    doc = ls.workspace.text_documents.get(uri)
    path = to_fs_path(uri)
    if doc is None or not path or not _is_tf(uri) or not ls.settings.enable:
        return lsp.RelatedFullDocumentDiagnosticReport(items=[])
    pub = ls.published.get(uri)
    if pub is None or pub.version != doc.version or pub.text != doc.source:
        text = doc.source
        engine = ls.engine_for(path)
        engine.set_overlay(path, text)
        fa = await asyncio.get_running_loop().run_in_executor(ls.tier1, engine.analyze_file, path)
        pub = Published(uri, doc.version, text, fa)
        ls.published[uri] = pub
    return lsp.RelatedFullDocumentDiagnosticReport(items=ls.diagnostics_for(pub.text, pub.analysis))


@server.feature(lsp.WORKSPACE_DIAGNOSTIC)
def workspace_diagnostic(ls: TfguardServer, params: lsp.WorkspaceDiagnosticParams) -> lsp.WorkspaceDiagnosticReport:
    items: list[lsp.WorkspaceDocumentDiagnosticReport] = []
    for uri, pub in list(ls.published.items()):
        if uri in ls.workspace.text_documents:
            continue
        items.append(lsp.WorkspaceFullDocumentDiagnosticReport(
            uri=uri, version=None, items=ls.diagnostics_for(pub.text, pub.analysis)))
    return lsp.WorkspaceDiagnosticReport(items=items)


# -------------------------------------------------------------------- hover
@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: TfguardServer, params: lsp.HoverParams) -> lsp.Hover | None:
    pub = ls.published.get(params.text_document.uri)
    if pub is None:
        return None
    lines = split_lines(pub.text)
    pos = from_client(params.position, lines, ls.encoding)
    hits = [f for f in pub.analysis.findings if ls.visible(f) and f.span.contains(pos)]
    if not hits:
        return None
    hits = rank(hits)
    return lsp.Hover(
        contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=hover_markdown(hits)),
        range=range_to_client(hits[0].span, lines, ls.encoding),
    )


# ------------------------------------------------------- findings + commands
@server.feature("tfguard/findings")
def findings_listing(ls: TfguardServer, params: Any) -> dict[str, Any]:
    """Every visible finding of the workspace, ordered by priority (for the Findings view)."""
    out = []
    all_findings: list[tuple[Finding, Published]] = []
    for pub in ls.published.values():
        for f in pub.analysis.findings:
            if ls.visible(f):
                all_findings.append((f, pub))
    order = {id(f): i for i, f in enumerate(rank([f for f, _ in all_findings]))}
    all_findings.sort(key=lambda fp: order[id(fp[0])])
    for f, pub in all_findings:
        lines = split_lines(pub.text)
        out.append({
            "uri": pub.uri,
            "range": _range_json(range_to_client(f.span, lines, ls.encoding)),
            "checkId": f.check_id,
            "checkName": f.check_name,
            "severity": f.severity.value,
            "priority": f.priority,
            "resource": f.resource,
            "message": f.message or f.check_name,
            "guideline": f.guideline,
            "context": list(f.context),
        })
    return {"findings": out}


def _range_json(r: lsp.Range) -> dict[str, Any]:
    return {"start": {"line": r.start.line, "character": r.start.character},
            "end": {"line": r.end.line, "character": r.end.character}}


@server.command("tfguard.server.scanWorkspace")
async def scan_workspace(ls: TfguardServer, *args: Any) -> dict[str, int]:
    files, findings = await ls.index_workspace()
    return {"files": files, "findings": findings}


def start(tcp: str | None = None) -> None:
    """Run the server on stdio (default) or TCP ``HOST:PORT``."""
    try:
        from tfguard.lsp import actions  # noqa: F401  (registers code actions when available)
    except ImportError:
        log.debug("code actions not available")
    _install_client_log_handler()
    if tcp:
        host, _, port = tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()


class _ClientLogHandler(logging.Handler):
    """Forward warnings and errors to the client's log (window/logMessage)."""

    def emit(self, record: logging.LogRecord) -> None:
        loop = server.loop
        if loop is None or server.protocol.writer is None:
            return
        kind = lsp.MessageType.Error if record.levelno >= logging.ERROR else lsp.MessageType.Warning
        params = lsp.LogMessageParams(type=kind, message=self.format(record))
        try:
            loop.call_soon_threadsafe(server.window_log_message, params)
        except RuntimeError:
            pass


def _install_client_log_handler() -> None:
    h = _ClientLogHandler(level=logging.WARNING)
    h.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logging.getLogger("tfguard").addHandler(h)
