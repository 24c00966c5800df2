"""textDocument/hover: the findings at the cursor, by priority."""

from __future__ import annotations

from lsprotocol import types as lsp

from tfguard.lsp.convert import from_client, hover_markdown, range_to_client, split_lines
from tfguard.lsp.server import TfguardServer
from tfguard.priority import rank


def register(server: TfguardServer) -> None:
    """Register textDocument/hover on ``server``."""
    server.feature(lsp.TEXT_DOCUMENT_HOVER)(hover)


def hover(ls: TfguardServer, params: lsp.HoverParams) -> lsp.Hover | None:
    """The visible findings whose range holds the position (of the published text), best first."""
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
