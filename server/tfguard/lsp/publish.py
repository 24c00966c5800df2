"""Diagnostics out: versioned publishing, the pre-serialised fast path, pull refresh, config problems.

With :mod:`tfguard.lsp.transport` (the stdio reader), the only module of :mod:`tfguard.lsp` that
touches pygls internals (``protocol._converter``, ``protocol.writer``) and writes raw JSON-RPC frames.
Everything here runs on the event loop.

Stale results are never published: a result computed from a text the editor no longer has (its
version or text differs from the open document's), or from a version older than the last one
published for the document, is dropped.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types as lsp
from pygls.uris import from_fs_path

from tfguard.engine import FileAnalysis
from tfguard.files import MAX_CONFIG_BYTES, FileRefused, read_regular
from tfguard.fixes import is_fixable
from tfguard.lsp.convert import LazyLines, finding_to_diagnostic, problem_to_diagnostic, split_lines
from tfguard.lsp.settings import folder_for
from tfguard.model import Finding, Problem, shift_finding
from tfguard.priority import rank, rank_key

if TYPE_CHECKING:  # the server builds its publisher: only annotations name the server here
    from tfguard.lsp.server import TfguardServer

log = logging.getLogger(__name__)

_FRAME_HEAD = b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"


def related_callers(f: Finding) -> list[lsp.DiagnosticRelatedInformation] | None:
    """A module-instance finding's callers as related information: each module call, on its first line."""
    if not f.callers:
        return None
    out = []
    for file, first, _last, address in f.callers:
        uri = from_fs_path(file)
        if uri is None:
            continue
        line = max(0, first - 1)
        out.append(lsp.DiagnosticRelatedInformation(
            location=lsp.Location(uri=uri, range=lsp.Range(start=lsp.Position(line=line, character=0),
                                                             end=lsp.Position(line=line + 1, character=0))),
            message=f"called here as {address or 'a module'}"))
    return out or None


@dataclass
class Published:
    """What the client was last given for one document (for hover, code actions, findings view)."""

    uri: str
    version: int | None
    text: str
    analysis: FileAnalysis


class Publisher:
    """Turns analyses into diagnostics and sends them; remembers what was sent (``ls.published``)."""

    def __init__(self, ls: TfguardServer) -> None:
        self.ls = ls
        self.last_version: dict[str, int] = {}
        self._config_files_with_problems: set[str] = set()
        self._refresh_handle: asyncio.TimerHandle | None = None
        # finding id -> (finding, its diagnostic; None when hidden by the baseline), per file
        self._diag_cache: dict[str, dict[int, tuple[Finding, lsp.Diagnostic | None]]] = {}
        self._diag_generation: object = None
        # diagnostic id -> (diagnostic, its JSON text)
        self._json_cache: dict[int, tuple[lsp.Diagnostic, str]] = {}
        # finding id (of a moved finding: its origin) -> (finding, JSON template), per file
        self._tpl_cache: dict[str, dict[int, tuple[Finding, tuple[int, int, int, str]]]] = {}
        self._tpl_generation: object = None

    # ------------------------------------------------------------ publish
    def publish(self, uri: str, version: int | None, text: str, fa: FileAnalysis) -> bool:
        """Publish unless stale; remember what was published. Returns whether it was accepted."""
        ls = self.ls
        doc = ls.workspace.text_documents.get(uri)
        if doc is not None:
            if version is None or doc.version != version or doc.source != text:
                log.debug("dropping stale result for %s v%s", uri, version)
                return False
        if version is not None and self.last_version.get(uri, -1) > version:
            return False
        if version is not None:
            self.last_version[uri] = version
        ls.published[uri] = Published(uri, version, text, fa)
        if ls.pull_mode:
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

    def forget_version(self, uri: str) -> None:
        """The document was closed: its next version numbers start over."""
        self.last_version.pop(uri, None)

    def clear(self, uri: str) -> None:
        """No diagnostics for ``uri`` any more (closed outside the workspace, deleted)."""
        self.ls.published.pop(uri, None)
        if not self.ls.pull_mode:
            self.ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def schedule_refresh(self) -> None:
        """Pull mode: ask the client to pull again, once per 50 ms burst (when it supports refresh)."""
        caps = self.ls.client_capabilities.workspace
        if not (caps and caps.diagnostics and caps.diagnostics.refresh_support):
            return
        if self._refresh_handle is not None:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._refresh_handle = None
            self.ls.workspace_diagnostic_refresh(None)

        self._refresh_handle = loop.call_later(0.05, fire)

    def publish_config_problems(self) -> None:
        """Located errors of invalid ``.tfguard.yaml``/catalogue/``.checkov.yaml`` files, on those files."""
        ls = self.ls
        by_file: dict[str, list[Problem]] = {}
        for eng in ls.engines.values():
            problems: list[Problem] = list(eng.configs.problems()) if eng.configs is not None else []
            problems.extend(eng.config_problems)
            problems.extend(eng.scan_config_problems)
            for p in problems:
                by_file.setdefault(os.path.abspath(p.file), []).append(p)
        for path in set(self._config_files_with_problems) | set(by_file):
            uri = from_fs_path(path)
            if uri is None:
                continue
            probs = by_file.get(path, [])
            doc = ls.workspace.text_documents.get(uri)
            if doc is not None:
                text = doc.source
            else:
                try:  # a FIFO or device there must not hang the server (files.read_regular)
                    text = read_regular(path, MAX_CONFIG_BYTES).decode("utf-8", "replace")
                except FileRefused:
                    text = ""
            unique = {(p.span.start, p.message): p for p in probs}
            lines = split_lines(text)
            diags = [problem_to_diagnostic(p, lines, ls.encoding) for p in unique.values()]
            if ls.pull_mode:
                continue  # pull clients ask per document; config files are reported via the log
            ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diags))
        self._config_files_with_problems = set(by_file)

    def connected(self) -> bool:
        """Whether there is a transport to send on (the client log handler asks before sending)."""
        return self.ls.protocol.writer is not None

    # ------------------------------------------------------------ convert
    def diagnostics_for(self, text: str, fa: FileAnalysis) -> list[lsp.Diagnostic]:
        """LSP diagnostics for an analysis of ``text``. A finding object the engine reused (its block did
        not change) reuses its converted diagnostic: a keystroke converts only what it changed."""
        ls = self.ls
        lines = LazyLines(text)  # a keystroke converts only its own block's findings: a few lines
        enc = ls.encoding
        out = [problem_to_diagnostic(p, lines, enc) for p in fa.problems]
        baseline = ls.baseline(fa.path)  # the file's folder's (tfguard.baseline per workspace folder)
        root = folder_for(fa.path, ls.folders()) or (ls.folders()[0] if ls.folders() else os.path.dirname(fa.path))
        generation = (enc, ls.settings, ls.settings_epoch)
        folder = ls.settings_for(fa.path)
        levels = folder.severity_levels
        if self._diag_generation != generation:
            self._diag_generation = generation
            self._diag_cache.clear()
        old = self._diag_cache.get(fa.path, {})
        new: dict[int, tuple[Finding, lsp.Diagnostic | None]] = {}
        for f in rank([f for f in fa.findings if ls.visible(f)]):
            hit = old.get(id(f))
            if hit is not None and hit[0] is f:
                d: lsp.Diagnostic | None = hit[1]
            else:
                d = finding_to_diagnostic(f, lines, enc, levels, fixable=is_fixable(f))
                d.related_information = related_callers(f)
                if baseline is not None and baseline.contains(f, root, text):
                    if folder.baseline_mode == "hide":
                        d = None
                    else:
                        d.severity = lsp.DiagnosticSeverity.Hint
                        d.message = f"{d.message} (in baseline)"
            new[id(f)] = (f, d)
            if d is not None:
                out.append(d)
        self._diag_cache[fa.path] = new
        return out

    def diagnostics_json(self, text: str, fa: FileAnalysis) -> list[str]:
        """:meth:`diagnostics_for` as JSON texts, for push publishing.

        A finding that only moved (a line inserted above its block: ``Finding.origin``) reuses the
        JSON of its origin with the line numbers put in: pressing Enter at the top of a big file
        moves every finding below, and converting and serialising them all again would cost more
        than the rest of the keystroke. Columns are unchanged because the block's text is.
        """
        ls = self.ls
        if ls.baseline(fa.path) is not None:  # baseline marks depend on the text: no shortcut
            return [self._diag_json(d) for d in self.diagnostics_for(text, fa)]
        lines = LazyLines(text)
        enc = ls.encoding
        out = [self._to_json(problem_to_diagnostic(p, lines, enc)) for p in fa.problems]  # new each time
        generation = (enc, ls.settings, ls.settings_epoch)
        if self._tpl_generation != generation:
            self._tpl_generation = generation
            self._tpl_cache.clear()
        old = self._tpl_cache.get(fa.path, {})
        new: dict[int, tuple[Finding, tuple[int, int, int, str]]] = {}
        # findings of moved blocks are read in place, with their line shift (FileAnalysis.segments)
        visible = [(f, shift) for shift, fs in fa.segments() for f in fs if ls.visible(f)]
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
        d = finding_to_diagnostic(f, lines, enc, self.ls.settings_for(f.file).severity_levels, fixable=is_fixable(f))
        d.related_information = related_callers(f)
        data = self.ls.protocol._converter.unstructure(d, lsp.Diagnostic)  # noqa: SLF001
        rng = data.pop("range")
        extra = data.pop("data")
        extra.pop("blockStartLine")
        data["data"] = extra  # last, with blockStartLine put back in last
        body = json.dumps(data, separators=(",", ":"))
        assert body.endswith("}}") and extra, body
        return (rng["start"]["character"], rng["end"]["line"] - rng["start"]["line"], rng["end"]["character"],
                body[1:-2])

    def diagnostic_value(self, d: lsp.Diagnostic) -> object:
        """``d`` as the JSON value the protocol sends (for diagnostics carried in a command result)."""
        return self.ls.protocol._converter.unstructure(d, lsp.Diagnostic)  # noqa: SLF001

    def _to_json(self, d: lsp.Diagnostic) -> str:
        return json.dumps(self.ls.protocol._converter.unstructure(d, lsp.Diagnostic), separators=(",", ":"))  # noqa: SLF001

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
        writer = self.ls.protocol.writer
        if writer is None:
            log.error("no transport to send diagnostics on")
            return
        raw = body.encode("utf-8")
        res = writer.write(_FRAME_HEAD % len(raw) + raw)
        if inspect.isawaitable(res):
            asyncio.ensure_future(res)
