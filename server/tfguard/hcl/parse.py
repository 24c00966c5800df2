"""Parse blocks with Checkov's own ``hcl2`` (the bc-python-hcl2 fork), one block at a time.

The conf of a block has exactly the shape Checkov's parser gives for the whole file
(values wrapped in lists, ``__start_line__``/``__end_line__`` 1-based and absolute), so
Checkov's checks see what they would see in ``checkov -d``. Parse results are cached by
block text and re-based when the block only moved.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from typing import Any

from cachetools import LRUCache

from tfguard.hcl.blocks import Block, SplitFile
from tfguard.hcl.refs import references_in, value_digest
from tfguard.model import Position, Problem, Severity, Span, shift_problem

log = logging.getLogger(__name__)


def _hcl2_loads() -> Any:
    """Checkov's hcl2 ``loads``, hardened (imported on first use: a cached scan never needs it)."""
    global _loads
    if _loads is None:
        import hcl2

        from tfguard.hcl.harden import harden_hcl2

        harden_hcl2()  # Checkov's hcl2 can backtrack forever on an unclosed "${ (see harden.py)
        _loads = hcl2.loads
    return _loads


_loads: Any = None

_LINE_KEYS = ("__start_line__", "__end_line__")


class ParsedBlock:
    """A block and its parsed conf (``{"resource": [{type: {name: {...}}}]}``; None when broken).

    The conf carries line numbers (``__start_line__``/``__end_line__``), as Checkov's parser gives
    them. A block that only moved (lines inserted above it) keeps its conf and records the line
    shift; the conf is re-numbered when first read (``conf``). ``content_conf`` gives it without
    re-numbering, for readers that ignore line numbers (variables, locals).

    ``value`` (the conf without line numbers, as a digest) and ``references`` (the symbols its
    expressions name, see :mod:`tfguard.hcl.refs`) are computed once per text: a moved copy shares
    them (``memo``, which readers may use for other facts of the text alone).
    """

    __slots__ = ("block", "problem", "_state", "memo")

    def __init__(self, block: Block, conf: dict[str, list[Any]] | None, problem: Problem | None,
                 line_shift: int = 0, memo: dict[str, Any] | None = None) -> None:
        self.block = block
        self.problem = problem
        self._state: tuple[dict[str, list[Any]] | None, int] = (conf, line_shift)  # one attribute: thread-safe
        # facts of the block's text alone (shared with moved copies); entries are only ever added
        self.memo: dict[str, Any] = memo if memo is not None else {}

    @property
    def conf(self) -> dict[str, list[Any]] | None:
        conf, shift = self._state
        if shift:
            conf = _shift_lines(conf, shift) if conf else conf
            self._state = (conf, 0)
        return conf

    @property
    def content_conf(self) -> dict[str, list[Any]] | None:
        return self._state[0]

    @property
    def broken(self) -> bool:
        return self._state[0] is None

    @property
    def value(self) -> str | None:
        """Digest of the parsed value (the conf without line numbers); None when broken. Whitespace and
        comments do not change it."""
        got = self.memo.get("value")
        if got is None and "value" not in self.memo:
            conf = self._state[0]
            got = value_digest(conf) if conf is not None else None
            self.memo["value"] = got
        return got

    @property
    def references(self) -> frozenset[str]:
        """Symbols the block's expressions name (``var.x``, ``local.y``, ``data.t.n``, ``t.n``, ``module.m``)."""
        got: frozenset[str] | None = self.memo.get("references")
        if got is None:
            got = references_in(self._state[0]) if self._state[0] is not None else frozenset()
            self.memo["references"] = got
        return got

    def moved_to(self, block: Block) -> ParsedBlock:
        """This parse for ``block``: the same text, now starting ``n`` lines lower (or higher)."""
        dline = block.first_line - self.block.first_line
        conf, shift = self._state
        problem = shift_problem(self.problem, dline) if self.problem is not None else None
        return ParsedBlock(block, conf, problem, shift + dline, self.memo)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParsedBlock):
            return NotImplemented
        return (self.block, self.conf, self.problem) == (other.block, other.conf, other.problem)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ParsedBlock({self.block.address!r}, conf={self.conf!r}, problem={self.problem!r})"


# Parse results by block text. Bounded LRU; size from $TFGUARD_PARSE_CACHE_SIZE (entries; about
# 1.2 KB each measured on the corpora), see docs/reliability.md.
DEFAULT_PARSE_CACHE_SIZE = 20_000


def _env_size(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


_cache: LRUCache[str, tuple[dict[str, Any] | None, tuple[int, int, str] | None]] = LRUCache(
    maxsize=_env_size("TFGUARD_PARSE_CACHE_SIZE", DEFAULT_PARSE_CACHE_SIZE))
_cache_lock = threading.Lock()


def set_parse_cache_size(maxsize: int) -> None:
    """Resize (and empty) the parse cache."""
    global _cache
    with _cache_lock:
        _cache = LRUCache(maxsize=max(1, maxsize))


def parse_cache_info() -> tuple[int, int]:
    """(entries, maxsize) of the parse cache."""
    return len(_cache), int(_cache.maxsize)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _shift_lines(obj: Any, delta: int) -> Any:
    if delta == 0:
        return obj
    if isinstance(obj, dict):
        return {k: (v + delta if k in _LINE_KEYS and isinstance(v, int) else _shift_lines(v, delta))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_shift_lines(v, delta) for v in obj]
    return obj


def _parse_text(text: str) -> tuple[dict[str, Any] | None, tuple[int, int, str] | None]:
    """Parse ``text`` (lines as in the block, first line = line 1); return conf or error."""
    key = _digest(text)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    try:
        conf: dict[str, Any] | None = _hcl2_loads()(text + "\n")
        res: tuple[dict[str, Any] | None, tuple[int, int, str] | None] = (conf, None)
    except Exception as e:  # lark raises many types; any failure is a syntax error here
        res = (None, _error_location(e, text))
    with _cache_lock:
        _cache[key] = res
    return res


def _error_location(e: Exception, text: str) -> tuple[int, int, str]:
    line = getattr(e, "line", None)
    col = getattr(e, "column", None)
    if not isinstance(line, int) or line < 1:
        line = text.count("\n") + 1
        col = len(text.rsplit("\n", 1)[-1]) + 1
    if not isinstance(col, int) or col < 1:
        col = 1
    return line, col, describe_syntax_error(e)


_TOKEN_NAMES = {
    "_NEW_LINE_OR_COMMENT": "end of line",
    "RBRACE": '"}"',
    "LBRACE": '"{"',
    "EQUAL": '"="',
    "STRING_LIT": "a string",
    "$END": "end of file",
}


QUOTE_LIMIT = 40  # characters of a file's text a message may quote (the token that is wrong)
_LONG_QUOTED = re.compile("'[^']{%d,}'|\"[^\"]{%d,}\"" % (QUOTE_LIMIT + 1, QUOTE_LIMIT + 1))  # noqa: UP031


def quote_token(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of a token from the file, cut at ``limit`` characters with an ellipsis."""
    return repr(text[:limit]) + "…" if len(text) > limit else repr(text)


def cut_text(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut at ``limit`` characters, with an ellipsis when cut."""
    return text[:limit] + "…" if len(text) > limit else text


def describe_syntax_error(e: Exception) -> str:
    """A one-line, human message for a lark/hcl2 error; it quotes at most the offending token, cut short."""
    token = getattr(e, "token", None)
    if token is not None:
        ttype = getattr(token, "type", "")
        shown = _TOKEN_NAMES.get(ttype) or quote_token(str(token))
        return f"Syntax error: unexpected {shown}"
    char = getattr(e, "char", None)
    if char is not None:
        return f"Syntax error: unexpected character {quote_token(str(char), 4)}"
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    msg = re.sub(r"\s+", " ", msg)
    # a message of another kind may carry text of the file in quotes: cut each quoted part
    msg = _LONG_QUOTED.sub(lambda m: quote_token(m.group(0)[1:-1]), msg)
    head, sep, rest = msg.partition(": ")  # "Line has unclosed quote marks: <the line>"
    if sep and len(rest) > QUOTE_LIMIT:
        msg = f"{head}: {quote_token(rest)}"
    return f"Syntax error: {cut_text(msg, 120)}"


def parse_block(block: Block, file: str) -> ParsedBlock:
    """Parse one top-level block; a broken block yields a located syntax problem."""
    if block.kind == "":
        return ParsedBlock(block, None, Problem(file, block.span, _junk_message(block), "syntax"))
    if not block.closed and block.kind != "attribute":
        end = block.span.end
        return ParsedBlock(
            block,
            None,
            Problem(file, Span(end, end), f'Syntax error: "{cut_text(block.kind)}" block is not closed (missing "}}")',
                    "syntax"),
        )
    # Parse at line offset 0 with the block's own columns; shift lines afterwards (cacheable).
    first_col = block.span.start.character
    text = " " * first_col + block.text
    conf, err = _parse_text(text)
    base = block.span.start.line
    if err is not None:
        line, col, msg = err
        pos = Position(base + line - 1, col - 1)
        return ParsedBlock(block, None, Problem(file, Span(pos, Position(pos.line, pos.character + 1)), msg,
                                                "syntax"))
    return ParsedBlock(block, _shift_lines(conf, base) if conf else {}, None)


def _junk_message(block: Block) -> str:
    snippet = block.text.strip().splitlines()[0] if block.text.strip() else ""
    return f"Syntax error: unexpected text {quote_token(snippet)} outside any block"


def parse_split(split: SplitFile, file: str) -> list[ParsedBlock]:
    """Parse every block of a split file."""
    return [parse_block(b, file) for b in split.blocks]


def merge_confs(parsed: list[ParsedBlock]) -> dict[str, list[Any]]:
    """Merge per-block confs into the shape ``hcl2.load`` gives for the whole file."""
    out: dict[str, list[Any]] = {}
    for p in parsed:
        if not p.conf:
            continue
        for k, v in p.conf.items():
            if isinstance(v, list):
                out.setdefault(k, []).extend(v)
            else:  # top-level attributes (.tfvars): last wins, as in hcl2
                out[k] = v  # type: ignore[assignment]
    return out


def load_json_text(text: str, file: str) -> tuple[dict[str, Any] | None, Problem | None]:
    """Read a ``*.tf.json`` file as Checkov reads it (plain ``json.load``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        pos = Position(max(0, e.lineno - 1), max(0, e.colno - 1))
        return None, Problem(file, Span(pos, pos), f"JSON syntax error: {e.msg}", "syntax", Severity.HIGH)
    except RecursionError:  # ``[[[[...`` thousands deep: json's decoder runs out of stack
        return None, Problem(file, Span(Position(0, 0), Position(0, 1)), "JSON nested too deeply: not analysed",
                             "syntax", Severity.HIGH)
    if not isinstance(data, dict):
        return None, Problem(file, Span(Position(0, 0), Position(0, 1)), "JSON Terraform file must hold an object",
                             "syntax")
    return data, None
