"""Conversions between the engine's values and LSP types (the only place that maps positions).

The engine counts columns in code points; the client counts in the negotiated encoding
(UTF-16 by default, UTF-8 or UTF-32 when negotiated). Lines are taken from the exact text
the findings were computed on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, overload

from lsprotocol import types as lsp

from tfguard.model import Explained, Finding, Position, Problem, Severity, Span
from tfguard.priority import lsp_level

_LEVEL = {
    "error": lsp.DiagnosticSeverity.Error,
    "warning": lsp.DiagnosticSeverity.Warning,
    "information": lsp.DiagnosticSeverity.Information,
    "hint": lsp.DiagnosticSeverity.Hint,
}


def units(text: str, encoding: str) -> int:
    """Length of ``text`` in the client's code units."""
    if encoding == lsp.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == lsp.PositionEncodingKind.Utf32:
        return len(text)
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def to_client(pos: Position, lines: Sequence[str], encoding: str) -> lsp.Position:
    if pos.line >= len(lines):
        last = max(0, len(lines) - 1)
        return lsp.Position(line=last, character=units(lines[last], encoding) if lines else 0)
    line = lines[pos.line]
    return lsp.Position(line=pos.line, character=units(line[: pos.character], encoding))


def code_points(line: str, units: int, encoding: str) -> int:
    """Index in ``line`` of the client column ``units`` (clamped to the line's end)."""
    if encoding == lsp.PositionEncodingKind.Utf32 or line.isascii():
        return min(units, len(line))
    count = 0
    for i, c in enumerate(line):
        if count >= units:
            return i
        o = ord(c)
        if encoding == lsp.PositionEncodingKind.Utf8:
            count += 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4
        else:
            count += 2 if o > 0xFFFF else 1
    return len(line)


def from_client(pos: lsp.Position, lines: Sequence[str], encoding: str) -> Position:
    """Client position -> code-point position."""
    if pos.line >= len(lines):
        return Position(pos.line, 0)
    return Position(pos.line, code_points(lines[pos.line], pos.character, encoding))


def range_to_client(span: Span, lines: Sequence[str], encoding: str) -> lsp.Range:
    return lsp.Range(start=to_client(span.start, lines, encoding), end=to_client(span.end, lines, encoding))


_EOL = re.compile(r"\r\n|\r|\n")
_LONE_CR = re.compile(r"\r(?!\n)")


def has_lone_cr(text: str) -> bool:
    """True when ``text`` has an old-Mac line end (a ``\\r`` not followed by ``\\n``)."""
    return "\r" in text and _LONE_CR.search(text) is not None


def split_lines(text: str) -> list[str]:
    """Lines as the client sees them: the LSP specification's line ends, ``\\r\\n``, ``\\n`` and a lone ``\\r``.

    ``text`` is the client's own text (the document as the editor holds it). The engine reads a lone
    ``\\r`` as a line end too, as Checkov does (it opens files with universal newlines), so an engine
    line is a client line and columns match character for character.
    """
    if "\r" not in text:
        return text.split("\n")
    if not has_lone_cr(text):
        return [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]
    return _EOL.split(text)


class LazyLines(Sequence[str]):
    """``split_lines(text)``, split only as far as it is read.

    Converting the few diagnostics a keystroke changed reads a few lines; splitting a 10,000-line
    document for them would cost more than the rest of the keystroke. The first reads take one
    line each; after that many, the whole text is split once.
    """

    __slots__ = ("text", "_all", "_n", "_reads")

    def __init__(self, text: str) -> None:
        self.text = text
        # a lone \r is a line end for the client: such a (rare) text is split whole at once
        self._all: list[str] | None = split_lines(text) if has_lone_cr(text) else None
        self._n: int | None = len(self._all) if self._all is not None else None
        self._reads = 0

    def __len__(self) -> int:
        if self._n is None:
            self._n = self.text.count("\n") + 1
        return self._n

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...

    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if self._all is None:
            self._reads += 1
            if isinstance(i, int) and 0 <= i < len(self) and self._reads <= 16:
                ln = self.text.split("\n", i + 1)[i]
                return ln[:-1] if ln.endswith("\r") else ln
            self._all = split_lines(self.text)
        return self._all[i]


def level_of(sev: Severity, overrides: dict[str, str] | None = None) -> lsp.DiagnosticSeverity:
    return _LEVEL[lsp_level(sev, overrides or None)]


def finding_message(f: Finding) -> str:
    what = f.message or f"{f.check_name} ({f.resource})"
    return f"[{f.severity.value}] {what}"


def finding_to_diagnostic(
    f: Finding, lines: Sequence[str], encoding: str, levels: dict[str, str] | None = None, fixable: bool = False
) -> lsp.Diagnostic:
    # What code actions and the findings view need; kept small (it is sent for every diagnostic on
    # every publish). The guideline is in codeDescription, the file is the document itself.
    data: dict[str, Any] = {
        "checkId": f.check_id,
        "severity": f.severity.value,
        "priority": f.priority,
        "resource": f.resource,
        "blockStartLine": f.line_range[0],
        "source": f.source,
        "fixable": fixable,
    }
    return lsp.Diagnostic(
        range=range_to_client(f.span, lines, encoding),
        message=finding_message(f),
        severity=level_of(f.severity, levels),
        code=f.check_id,
        code_description=lsp.CodeDescription(href=f.guideline) if f.guideline else None,
        source="tfguard",
        data=data,
    )


def problem_to_diagnostic(p: Problem, lines: Sequence[str], encoding: str) -> lsp.Diagnostic:
    sev = {
        Severity.CRITICAL: lsp.DiagnosticSeverity.Error,
        Severity.HIGH: lsp.DiagnosticSeverity.Error,
        Severity.MEDIUM: lsp.DiagnosticSeverity.Warning,
        Severity.LOW: lsp.DiagnosticSeverity.Information,
        Severity.INFO: lsp.DiagnosticSeverity.Information,
    }[p.severity]
    return lsp.Diagnostic(
        range=range_to_client(p.span, lines, encoding),
        message=p.message,
        severity=sev,
        code=f"tfguard.{p.code}",
        source="tfguard",
        data={"problem": p.code},
    )


def _origin_words(e: Explained) -> str:
    """``prod.tfvars:1``, ``default at variables.tf:3``, ``input at examples/complete/main.tf:12 via module.s3``."""
    how = {"default": "default at ", "module-input": "input at ", "local": "local at "}.get(e.kind, "")
    return f"{how}`{e.origin}`" + (f" via `{e.via}`" if e.via else "")


def hover_markdown(findings: list[Finding]) -> str:
    """The hover for one or more findings at a position: what, why, how to fix, how to suppress."""
    parts = []
    for f in findings:
        lines = [f"**{f.severity.value} · {f.check_id}** — {f.check_name}", ""]
        lines.append(f"Resource: `{f.resource}`")
        if f.risk_class:
            lines.append("")
            lines.append(f"Risk class: {f.risk_class}")
        if f.owners:
            lines.append("")
            lines.append("Owners: " + ", ".join(f.owners))
        if f.explained:
            lines.append("")
            lines.append("Values:")
            lines.extend(f"- `{e.key} = {e.expression}` → `{e.value}` ({_origin_words(e)})" for e in f.explained)
        if f.context:
            lines.append("")
            lines.append("Priority: " + "; ".join(f.context))
        if f.message and f.message not in (f.check_name, f"{f.check_name} ({f.resource})"):
            lines += ["", f.message]
        if f.guideline:
            lines += ["", f"How to fix: see the [guideline]({f.guideline})."]
        lines += [
            "",
            "Suppress (inside the block, with a reason):",
            "```hcl",
            f"# checkov:skip={f.check_id}:<reason, e.g. ticket SEC-123>",
            "```",
        ]
        parts.append("\n".join(lines))
    return "\n\n---\n\n".join(parts)
