"""Suppress a finding with a justified skip comment inside its block.

Checkov honours ``# checkov:skip=ID[,ID]:reason`` only on lines strictly inside the block of the
resource. tfguard writes it on the first line inside the block, with the body's indentation.
When the block already has skip comments, the new one goes on its own line right after them:
Checkov's comment grammar allows several ids but only one reason per comment, and every
suppression should keep its own justification (the suppression audit reads them one by one).
"""

from __future__ import annotations

from tfguard.checks.skips import block_skips
from tfguard.fixes.textops import OffsetEdit, child_indent, indent_unit, line_indent
from tfguard.hcl.blocks import Block

SUPPRESS_PLACEHOLDER = "TODO: justify this suppression"


def clean_reason(reason: str | None) -> str:
    """One line of text, never empty: the placeholder when the client gave none."""
    text = " ".join((reason or "").split())
    return text or SUPPRESS_PLACEHOLDER


def plan_suppress(text: str, block: Block, check_id: str, reason: str | None) -> OffsetEdit | None:
    """The edit adding ``# checkov:skip=check_id:reason`` inside ``block``; None when already skipped."""
    skips = block_skips(block)
    if any(s.check_id == check_id for s in skips):
        return None
    comment = f"# checkov:skip={check_id}:{clean_reason(reason)}"
    header_line = block.header_span.end.line
    if block.span.end.line == header_line:
        # one-line block: `resource "a" "b" {}` or `resource "a" "b" { x = 1 }`
        close = block.end - 1
        j = close
        while j > 0 and text[j - 1] in " \t":
            j -= 1
        indent = line_indent(text, block.start)
        start = _line_offset(text, header_line) + block.header_span.end.character
        body = text[start:j].strip()
        inner = indent + indent_unit(block, text)
        new = "\n" + inner + comment + "\n" + (inner + body + "\n" if body else "") + indent
        return OffsetEdit(start, close, new)
    # group with the skip comments at the top of the block, if any
    after = header_line
    for s in sorted(skips, key=lambda s: s.line):
        if s.line == after + 1:
            after = s.line
    offset = _line_offset(text, after + 1)
    indent = child_indent(block, text, None)
    return OffsetEdit(offset, offset, indent + comment + "\n")


def _line_offset(text: str, line: int) -> int:
    off = 0
    for _ in range(line):
        nl = text.find("\n", off)
        if nl < 0:
            return len(text)
        off = nl + 1
    return off
