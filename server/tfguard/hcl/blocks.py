"""Split Terraform text into top-level blocks with exact ranges, without a full parse.

Each top-level block gets its span, the span of its header, and the spans of every
attribute and nested block inside it (by path, e.g. ``("versioning", "enabled")``).
A block whose closing brace is missing ends just before the next line that starts, at
column 0, with a top-level block header (``resource "a" "b" {``): so one broken block
never swallows the rest of the file.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

from tfguard.hcl.lexer import Tok, Token, tokenize
from tfguard.model import Position, Span, shift_span

TOP_LEVEL_KINDS = frozenset(
    {
        "resource",
        "data",
        "module",
        "provider",
        "variable",
        "output",
        "locals",
        "terraform",
        "moved",
        "import",
        "removed",
        "check",
    }
)
_HEADER_LINE = re.compile(
    r'(?:resource|data|module|provider|variable|output|locals|terraform|moved|import|removed|check)'
    r'(?:[ \t]+(?:"[^"\n]*"|[A-Za-z_][A-Za-z0-9_\-]*))*[ \t]*\{'
)


class LineIndex:
    """Offsets <-> (line, column) for one text; columns in code points."""

    def __init__(self, text: str) -> None:
        self.text = text
        # line starts, computed with C-level iterators only (this runs on every keystroke)
        self.starts = [0, *accumulate(map((1).__add__, map(len, text.split("\n")[:-1])))]

    def position(self, offset: int) -> Position:
        line = bisect_right(self.starts, offset) - 1
        return Position(line, offset - self.starts[line])

    def offset(self, pos: Position) -> int:
        if pos.line >= len(self.starts):
            return len(self.text)
        start = self.starts[pos.line]
        end = self.starts[pos.line + 1] - 1 if pos.line + 1 < len(self.starts) else len(self.text)
        return min(start + pos.character, end)

    def span(self, start: int, end: int) -> Span:
        return Span(self.position(start), self.position(end))

    def line_text(self, line: int) -> str:
        if line >= len(self.starts):
            return ""
        start = self.starts[line]
        end = self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    @property
    def line_count(self) -> int:
        return len(self.starts)


@dataclass(frozen=True, slots=True)
class Item:
    """An attribute (``name = value``) or nested block header inside a block."""

    path: tuple[str, ...]
    span: Span  # attribute: name to end of value; nested block: header to closing brace
    name_span: Span
    is_block: bool
    start: int = 0  # offsets
    end: int = 0


@dataclass(frozen=True, eq=False)
class Block:
    """A top-level item of a file: a block, a top-level attribute (``.tfvars``), or junk.

    Its items are stored as they were when the block was last tokenized (``base_items``) plus the
    offset and line shift since (``item_shift``): moving a block (a line inserted above it) does
    not rebuild its items or spans; they are shifted when first read (``first_line`` is cheap).
    """

    kind: str  # resource | data | ... ; "attribute" for `x = 1`; "" for unrecognised text
    labels: tuple[str, ...]
    start: int  # offset of the first character
    end: int  # offset after the last character
    base_span: Span  # the block's span before item_shift (see span)
    base_header_span: Span  # the header line up to and including "{", before item_shift
    closed: bool
    text: str
    base_items: tuple[Item, ...] = field(default=(), repr=False)
    item_shift: tuple[int, int] = (0, 0)  # (offset delta, line delta) still to apply to base_*

    @property
    def first_line(self) -> int:
        """0-based line of the block's first character."""
        return self.base_span.start.line + self.item_shift[1]

    def _shifted(self, base: Span, cache: str) -> Span:
        dline = self.item_shift[1]
        if dline == 0:
            return base
        got: Span | None = self.__dict__.get(cache)
        if got is None:
            got = shift_span(base, dline)
            object.__setattr__(self, cache, got)  # a cache: the value is fixed by the fields
        return got

    @property
    def span(self) -> Span:
        return self._shifted(self.base_span, "_span")

    @property
    def header_span(self) -> Span:
        return self._shifted(self.base_header_span, "_header_span")

    @property
    def items(self) -> tuple[Item, ...]:
        """Attributes and nested block headers, at their current positions."""
        delta, dline = self.item_shift
        if delta == 0 and dline == 0:
            return self.base_items
        shifted: tuple[Item, ...] | None = self.__dict__.get("_shifted_items")
        if shifted is None:
            shifted = tuple(
                Item(it.path, shift_span(it.span, dline) if dline else it.span,
                     shift_span(it.name_span, dline) if dline else it.name_span, it.is_block,
                     it.start + delta, it.end + delta)
                for it in self.base_items)
            object.__setattr__(self, "_shifted_items", shifted)  # a cache: the value is fixed by the fields
        return shifted

    def _identity(self) -> tuple[object, ...]:
        return (self.kind, self.labels, self.start, self.end, self.span, self.header_span, self.closed, self.text,
                self.items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Block):
            return NotImplemented
        return self is other or self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash((self.kind, self.labels, self.start, self.end, self.text))

    @property
    def start_line(self) -> int:
        """1-based first line, as Checkov counts."""
        return self.first_line + 1

    @property
    def end_line(self) -> int:
        return self.base_span.end.line + self.item_shift[1] + 1

    @property
    def address(self) -> str:
        """Checkov's resource address for the block (``aws_s3_bucket.b``, ``module.m``, ``aws``)."""
        if self.kind == "resource" and len(self.labels) >= 2:
            return f"{self.labels[0]}.{self.labels[1]}"
        if self.kind == "data" and len(self.labels) >= 2:
            return f"data.{self.labels[0]}.{self.labels[1]}"
        if self.kind == "module" and self.labels:
            return f"module.{self.labels[0]}"
        if self.kind == "provider" and self.labels:
            return self.labels[0]
        return ".".join((self.kind, *self.labels)) if self.labels else self.kind

    def item(self, path: tuple[str, ...]) -> Item | None:
        for it in self.items:
            if it.path == path:
                return it
        return None

    def find_item(self, path: tuple[str, ...]) -> Item | None:
        """The item at ``path``, else the item of its longest existing prefix."""
        for n in range(len(path), 0, -1):
            it = self.item(path[:n])
            if it is not None:
                return it
        return None


@dataclass(frozen=True)
class SplitFile:
    text: str
    lines: LineIndex
    blocks: tuple[Block, ...]


def _unquote(s: str) -> str:
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        return s[1:-1]
    return s.strip('"')


def split_blocks(text: str) -> SplitFile:
    """Split ``text`` into top-level blocks. Never raises."""
    lines = LineIndex(text)
    return SplitFile(text=text, lines=lines, blocks=tuple(_split_window(text, lines, 0, None)[0]))


def _split_window(text: str, lines: LineIndex, start: int, stop: int | None) -> tuple[list[Block], int]:
    """Blocks of ``text[start:stop]`` and the offset where its last token ends."""
    all_toks = tokenize(text, start, stop)
    reach = all_toks[-1].end if all_toks else start
    toks = _Tokens([t for t in all_toks if t.kind is not Tok.COMMENT])
    blocks: list[Block] = []
    i, n = 0, len(toks)
    while i < n:
        t = toks[i]
        if t.kind is Tok.NEWLINE:
            i += 1
            continue
        if t.kind is Tok.IDENT:
            j = i + 1
            labels: list[str] = []
            while j < n and toks[j].kind in (Tok.IDENT, Tok.STRING):
                labels.append(_unquote(toks[j].text(text)))
                j += 1
            if j < n and toks[j].kind is Tok.EQUAL and not labels:
                end_i = _expression_end(toks, j + 1)
                end = toks[end_i - 1].end if end_i > j + 1 else toks[j].end
                blocks.append(_make_block(text, lines, "attribute", (t.text(text),), t.start, end, t.start,
                                          toks[j].end, True, ()))
                i = end_i
                continue
            if j < n and toks[j].kind is Tok.LBRACE:
                close_i, closed = _match_block(text, lines, toks, j)
                end = toks[close_i].end if closed else _trim_end(text, toks[close_i - 1].end)
                items = _scan_body(text, lines, toks, j + 1, close_i, ())
                blocks.append(_make_block(text, lines, t.text(text), tuple(labels), t.start, end, t.start,
                                          toks[j].end, closed, items))
                i = close_i + 1 if closed else close_i
                continue
        # unrecognised text at top level: one junk item to the end of the line
        j = i
        while j < n and toks[j].kind is not Tok.NEWLINE:
            j += 1
        end = toks[j - 1].end if j > i else t.end
        blocks.append(_make_block(text, lines, "", (), t.start, end, t.start, end, False, ()))
        i = max(j, i + 1)
    return blocks, reach


def _common_prefix(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # binary search on slice equality (compared in C)
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: str, b: str, limit: int) -> int:
    lo, hi = 0, min(limit, len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid:] == b[len(b) - mid:]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _shift_block(b: Block, delta: int, dline: int) -> Block:
    """``b`` moved by ``delta`` characters and ``dline`` lines; its items are shifted lazily."""
    if delta == 0 and dline == 0:
        return b
    # the same fields as Block(...), without its frozen __init__; not model._copy_with, whose keyword
    # dict makes it 40% slower here (every block below an inserted line moves, on each keystroke)
    moved = object.__new__(Block)
    fields = moved.__dict__
    fields.update(b.__dict__)
    for cache in ("_shifted_items", "_span", "_header_span"):
        fields.pop(cache, None)
    fields["start"] = b.start + delta
    fields["end"] = b.end + delta
    fields["item_shift"] = (b.item_shift[0] + delta, b.item_shift[1] + dline)
    return moved


def resplit(old: SplitFile, text: str) -> SplitFile:
    """Split ``text`` re-using ``old`` (the split of the previous text): only the edited region is
    tokenized again; blocks before it are kept and blocks after it are shifted. The result equals
    ``split_blocks(text)``; when the edit changes structure beyond its region, it falls back to that.
    """
    o = old.text
    if o == text:
        return old
    lines = LineIndex(text)
    p = _common_prefix(o, text)
    s = _common_suffix(o, text, min(len(o), len(text)) - p)
    old_change_end = len(o) - s
    delta = len(text) - len(o)
    dline = lines.line_count - old.lines.line_count
    blocks = old.blocks
    i = 0
    while i < len(blocks) and blocks[i].end < p:
        i += 1
    while i > 0 and (not blocks[i - 1].closed or blocks[i - 1].kind in ("", "attribute")):
        i -= 1  # an unclosed block's extent depends on what follows it
    restart = blocks[i - 1].end if i > 0 else 0
    change_end_line = old.lines.position(old_change_end).line
    j = i
    while j < len(blocks) and (blocks[j].start <= old_change_end or blocks[j].span.start.line <= change_end_line
                               or not blocks[j].closed or blocks[j].kind in ("", "attribute")):
        j += 1
    stop = blocks[j].start + delta if j < len(blocks) else None
    middle, reach = _split_window(text, lines, restart, stop)
    if stop is not None and reach > stop:
        return split_blocks(text)  # a comment, string or heredoc now runs past the window
    if any(not b.closed or b.kind in ("", "attribute") for b in middle):
        return split_blocks(text)  # broken text: structure may differ beyond the window
    if stop is not None:
        if middle and middle[-1].end > stop:
            return split_blocks(text)
        if not _HEADER_LINE.match(text, stop):
            return split_blocks(text)
    kept = list(blocks[:i])
    tail = [_shift_block(b, delta, dline) for b in blocks[j:]]
    return SplitFile(text=text, lines=lines, blocks=tuple(kept + middle + tail))


def _trim_end(text: str, end: int) -> int:
    while end > 0 and text[end - 1] in " \t\r\n":
        end -= 1
    return end


def _make_block(
    text: str,
    lines: LineIndex,
    kind: str,
    labels: tuple[str, ...],
    start: int,
    end: int,
    header_start: int,
    header_end: int,
    closed: bool,
    items: tuple[Item, ...],
) -> Block:
    return Block(
        kind=kind,
        labels=labels,
        start=start,
        end=end,
        base_span=lines.span(start, end),
        base_header_span=lines.span(header_start, header_end),
        closed=closed,
        text=text[start:end],
        base_items=items,
    )


def _is_header_line_start(text: str, lines: LineIndex, tok: Token) -> bool:
    """True when ``tok`` starts a line at column 0 and the line reads like a top-level header."""
    if tok.start != 0 and text[tok.start - 1] != "\n":
        return False
    return _HEADER_LINE.match(text, tok.start) is not None


def _match_block(text: str, lines: LineIndex, toks: list[Token], open_i: int) -> tuple[int, bool]:
    """Index of the closing brace of the block opened at ``open_i`` and whether it was found.

    When not found, the index returned is of the first token of the next top-level header
    (or ``len(toks)``), so the block ends before it.
    """
    depth = 0
    n = len(toks)
    k = open_i
    while k < n:
        tk = toks[k]
        if tk.kind is Tok.LBRACE:
            depth += 1
        elif tk.kind is Tok.RBRACE:
            depth -= 1
            if depth == 0:
                return k, True
        elif tk.kind is Tok.IDENT and k > open_i and _is_header_line_start(text, lines, tk):
            return k, False
        k += 1
    return n, False


_OPENERS = (Tok.LBRACE, Tok.LBRACK, Tok.LPAREN)
_CLOSERS = (Tok.RBRACE, Tok.RBRACK, Tok.RPAREN)


class _Tokens(list):  # type: ignore[type-arg]
    """The token list with each opening bracket's matching close (any bracket kind, as depth counts)."""

    def __init__(self, toks: list[Token]) -> None:
        super().__init__(toks)
        self.match: list[int | None] = [None] * len(toks)
        self.brace: list[int | None] = [None] * len(toks)  # braces only, as block nesting counts them
        stack: list[int] = []
        braces: list[int] = []
        for i, tk in enumerate(toks):
            if tk.kind in _OPENERS:
                stack.append(i)
                if tk.kind is Tok.LBRACE:
                    braces.append(i)
            elif tk.kind in _CLOSERS:
                if stack:
                    self.match[stack.pop()] = i
                if tk.kind is Tok.RBRACE and braces:
                    self.brace[braces.pop()] = i


def _expression_end(toks: list[Token], k: int, stop: int | None = None) -> int:
    """Index after the last token of an expression starting at ``k`` (ends at a newline at depth 0).

    Bracket groups are jumped over with the precomputed matches (linear, not quadratic, on
    deeply nested or unclosed input).
    """
    n = len(toks) if stop is None else stop
    match = getattr(toks, "match", None)
    depth = 0
    last = k
    while k < n:
        tk = toks[k]
        if tk.kind in _OPENERS:
            if depth == 0 and match is not None:
                m = match[k]
                if m is not None and m < n:
                    last = k = m + 1
                    continue
                j = n - 1  # never closed before ``n``: the expression runs to the end
                while j > k and toks[j].kind is Tok.NEWLINE:
                    j -= 1
                return j + 1
            depth += 1
        elif tk.kind in (Tok.RBRACE, Tok.RBRACK, Tok.RPAREN):
            if depth == 0:
                return last
            depth -= 1
        elif tk.kind is Tok.NEWLINE and depth == 0:
            return last
        if tk.kind is not Tok.NEWLINE:
            last = k + 1
        k += 1
    return last


MAX_ITEM_DEPTH = 32


def _scan_body(
    text: str, lines: LineIndex, toks: _Tokens, k: int, stop: int, path: tuple[str, ...]
) -> tuple[Item, ...]:
    """Attributes and nested blocks between tokens ``k`` and ``stop`` (exclusive).

    Items deeper than :data:`MAX_ITEM_DEPTH` are not indexed (pathological nesting would make
    this quadratic and recurse without bound; findings there are located at the nearest item).
    """
    items: list[Item] = []
    if len(path) >= MAX_ITEM_DEPTH:
        return ()
    while k < stop:
        tk = toks[k]
        if tk.kind is Tok.IDENT or (tk.kind is Tok.STRING and k + 1 < stop and toks[k + 1].kind is Tok.EQUAL):
            name = _unquote(tk.text(text))
            j = k + 1
            while j < stop and toks[j].kind in (Tok.IDENT, Tok.STRING):
                j += 1
            if j < stop and toks[j].kind is Tok.EQUAL and j == k + 1:
                end_i = _expression_end(toks, j + 1, stop)
                end = toks[end_i - 1].end if end_i > j + 1 else toks[j].end
                sub = path + (name,)
                items.append(Item(sub, lines.span(tk.start, end), lines.span(tk.start, tk.end), False,
                                  tk.start, end))
                # object-valued attributes (tags = { a = "b" }): index their keys too
                if j + 1 < end_i and toks[j + 1].kind is Tok.LBRACE:
                    items.extend(_scan_body(text, lines, toks, j + 2, end_i - 1, sub))
                k = end_i
                continue
            if j < stop and toks[j].kind is Tok.LBRACE:
                close_k = _match_nested(toks, j, stop)
                end = toks[close_k].end if close_k < stop else toks[stop - 1].end
                sub = path + (name,)
                items.append(Item(sub, lines.span(tk.start, end), lines.span(tk.start, tk.end), True,
                                  tk.start, end))
                items.extend(_scan_body(text, lines, toks, j + 1, close_k, sub))
                k = close_k + 1
                continue
        k += 1
    return tuple(items)


def _match_nested(toks: _Tokens, open_k: int, stop: int) -> int:
    """Index of the brace closing the one at ``open_k`` (``stop`` if not before it).

    From the precomputed table: linear overall, even on deep unclosed nesting.
    """
    j = toks.brace[open_k]
    return j if j is not None and j < stop else stop
