"""Incremental document sync (lsp/textsync.py) against a plain reference implementation."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp

from tfguard.lsp.textsync import apply_change, offset_at

ENCODINGS = [lsp.PositionEncodingKind.Utf16, lsp.PositionEncodingKind.Utf8, lsp.PositionEncodingKind.Utf32]


def reference_offset(text: str, line: int, character: int, encoding: str) -> int:
    """Walk the text: lines end at \\n, \\r\\n or \\r (LSP); columns counted in code units, clamped."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    if line >= len(starts):
        return len(text)
    start = starts[line]
    m = re.compile(r"\r\n|\r|\n").search(text, start)
    end = m.start() if m else len(text)
    units = 0
    for i in range(start, end):
        if units >= character:
            return i
        c = text[i]
        if encoding == lsp.PositionEncodingKind.Utf8:
            units += len(c.encode("utf-8", "surrogatepass"))
        elif encoding == lsp.PositionEncodingKind.Utf16:
            units += 2 if ord(c) > 0xFFFF else 1
        else:
            units += 1
    return end


chars = st.sampled_from(list('ab {}="\t') + ["\n", "\r\n", "\r", "é", "€", "😀", "𝄞"])
texts = st.lists(chars, max_size=60).map("".join)
positions = st.tuples(st.integers(0, 12), st.integers(0, 14))


@settings(max_examples=400, deadline=None)
@given(texts, positions, positions, st.sampled_from(ENCODINGS), st.sampled_from(["", "x", "\n", "😀\n", "é"]))
def test_apply_change_matches_reference(text: str, a: tuple[int, int], b: tuple[int, int], encoding: str,
                                        new: str) -> None:
    for (line, ch) in (a, b):
        assert offset_at(text, lsp.Position(line=line, character=ch), encoding) == reference_offset(
            text, line, ch, encoding)
    rng = lsp.Range(start=lsp.Position(line=a[0], character=a[1]), end=lsp.Position(line=b[0], character=b[1]))
    got = apply_change(text, lsp.TextDocumentContentChangePartial(range=rng, text=new), encoding)
    lo, hi = sorted((reference_offset(text, *a, encoding), reference_offset(text, *b, encoding)))
    assert got == text[:lo] + new + text[hi:]


def test_form_feed_and_line_separator_are_not_line_breaks() -> None:
    # pygls splits lines with str.splitlines, which also breaks at \f and \u2028; LSP does not
    text = 'a = "x\u2028y\fz"\nb = 1\n'
    rng = lsp.Range(start=lsp.Position(line=1, character=0), end=lsp.Position(line=1, character=1))
    assert apply_change(text, lsp.TextDocumentContentChangePartial(range=rng, text="c"), "utf-16") == (
        'a = "x\u2028y\fz"\nc = 1\n')
