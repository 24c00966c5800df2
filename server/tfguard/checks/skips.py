"""Skip comments (``#checkov:skip=ID[,ID]:reason``), found exactly where Checkov honours them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tfguard.hcl.blocks import Block

# Same pattern as checkov.common.comment.enum.COMMENT_REGEX (no Checkov import in this layer).
SKIP_RE = re.compile(r"(checkov:skip=|bridgecrew:skip=|cortex:skip=) *([A-Za-z_\d-]+(?:,[A-Za-z_\d-]+)*)?(:[^\n]*)?")
NO_REASON = "No comment provided"


@dataclass(frozen=True)
class Skip:
    check_id: str
    reason: str
    line: int  # 0-based line of the comment
    has_reason: bool


def block_skips(block: Block) -> list[Skip]:
    """Skip comments strictly inside the block (after its first line, before its last), as Checkov reads them."""
    out: list[Skip] = []
    first = block.span.start.line
    last = block.span.end.line if block.closed else block.span.end.line + 1
    for offset, line in enumerate(block.text.split("\n")):
        lineno = first + offset
        if not (first < lineno < last):
            continue
        if "skip=" not in line:
            continue
        m = SKIP_RE.search(line)
        if not m or not m.group(2):
            continue
        reason = m.group(3)[1:] if m.group(3) else NO_REASON
        for ident in m.group(2).split(","):
            out.append(Skip(ident.strip(), reason, lineno, bool(m.group(3))))
    return out
