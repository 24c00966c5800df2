"""A small, forgiving HCL tokenizer: just enough structure to find blocks and attributes.

It never raises. Strings with template interpolations (``"${ {a = "}"} }"``), heredocs
(``<<EOF`` / ``<<-EOF``), ``#``, ``//`` and ``/* */`` comments are single tokens, so braces
inside them never count. An unterminated string ends at the end of its line; an
unterminated heredoc or block comment runs to the end of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Tok(str, Enum):
    IDENT = "ident"
    STRING = "string"
    HEREDOC = "heredoc"
    COMMENT = "comment"
    NEWLINE = "newline"
    LBRACE = "{"
    RBRACE = "}"
    LBRACK = "["
    RBRACK = "]"
    LPAREN = "("
    RPAREN = ")"
    EQUAL = "="
    OTHER = "other"


@dataclass(frozen=True)
class Token:
    kind: Tok
    start: int  # offset into the text (code points)
    end: int  # exclusive

    def text(self, src: str) -> str:
        return src[self.start : self.end]


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_\-.]*)[ \t]*\r?\n")
_SINGLE = {
    "{": Tok.LBRACE,
    "}": Tok.RBRACE,
    "[": Tok.LBRACK,
    "]": Tok.RBRACK,
    "(": Tok.LPAREN,
    ")": Tok.RPAREN,
}


def tokenize(src: str, start: int = 0, stop: int | None = None) -> list[Token]:
    """Split ``src[start:stop]`` into tokens; whitespace other than newlines is dropped.

    Offsets are into ``src``. A token that starts before ``stop`` may end after it (a string or
    heredoc running on): callers that tokenize a window check for that.
    """
    out: list[Token] = []
    i, n = start, len(src)
    limit = n if stop is None else min(stop, n)
    while i < limit:
        c = src[i]
        if c == "\n":
            out.append(Token(Tok.NEWLINE, i, i + 1))
            i += 1
        elif c in " \t\r\f\v\ufeff":
            i += 1
        elif c == "#" or (c == "/" and src.startswith("//", i)):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(Token(Tok.COMMENT, i, j))
            i = j
        elif c == "/" and src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(Token(Tok.COMMENT, i, j))
            i = j
        elif c == '"':
            j = _scan_string(src, i)
            out.append(Token(Tok.STRING, i, j))
            i = j
        elif c == "<" and src.startswith("<<", i):
            m = _HEREDOC.match(src, i)
            if m is None:
                out.append(Token(Tok.OTHER, i, i + 2))
                i += 2
                continue
            j = _scan_heredoc(src, m.end(), m.group(2))
            out.append(Token(Tok.HEREDOC, i, j))
            i = j
        elif c in _SINGLE:
            out.append(Token(_SINGLE[c], i, i + 1))
            i += 1
        elif c == "=" and not src.startswith("==", i) and not src.startswith("=>", i):
            prev = src[i - 1] if i > 0 else ""
            if prev in "!<>=":
                out.append(Token(Tok.OTHER, i, i + 1))
            else:
                out.append(Token(Tok.EQUAL, i, i + 1))
            i += 1
        else:
            m = _IDENT.match(src, i)
            if m:
                out.append(Token(Tok.IDENT, i, m.end()))
                i = m.end()
            else:
                j = i + 1
                if src.startswith(("==", "=>"), i):
                    j = i + 2
                out.append(Token(Tok.OTHER, i, j))
                i = j
    return out


def _scan_string(src: str, i: int) -> int:
    """Return the offset just past the string literal starting at ``src[i] == '"'``."""
    n = len(src)
    j = i + 1
    while j < n:
        c = src[j]
        if c == "\\":
            j += 2
        elif c == '"':
            return j + 1
        elif c == "\n":
            return j  # unterminated: stop at the end of the line
        elif c in "$%" and src.startswith("{", j + 1) and not src.startswith(c * 2, j - 1 if j else 0):
            j = _scan_template(src, j + 2)
        else:
            j += 1
    return n


def _scan_template(src: str, j: int) -> int:
    """Skip a ``${ ... }`` interpolation body starting after its ``{``; nested strings allowed."""
    n = len(src)
    depth = 1
    while j < n:
        c = src[j]
        if c == '"':
            j = _scan_string(src, j)
        elif c == "{":
            depth += 1
            j += 1
        elif c == "}":
            depth -= 1
            j += 1
            if depth == 0:
                return j
        elif c == "\n" and depth == 1 and _blank_line_follows(src, j):
            return j  # a runaway interpolation: give up at a blank line
        else:
            j += 1
    return n


def _blank_line_follows(src: str, j: int) -> bool:
    k = src.find("\n", j + 1)
    line = src[j + 1 : k if k >= 0 else len(src)]
    return not line.strip()


def _scan_heredoc(src: str, body_start: int, marker: str) -> int:
    n = len(src)
    j = body_start
    while j < n:
        k = src.find("\n", j)
        line_end = n if k < 0 else k
        if src[j:line_end].strip() == marker:
            return line_end
        if k < 0:
            return n
        j = k + 1
    return n
