"""Make Checkov's HCL parser (the bc-python-hcl2 fork) immune to catastrophic regex backtracking.

The fork's grammar has nested quantifiers in two terminals::

    STRING_CHARS : /(?:(?!\\${)([^"\\\\]|\\\\.))+/+
    INTERPOLATION : "${" (/(?:(?!\\${)([^}"]))+/ | NESTED_QUOTES | NESTED_INTERPOLATION)+ "}"

A string holding an unclosed ``${`` followed by more quotes on later lines (what anyone types
while writing an interpolation) makes the lexer backtrack exponentially: 14 characters take
2 s, 18 never finish. That hangs tier 1, Checkov's own runner (tier 2, ``tfguard scan``) and
``checkov -d`` alike. Found by tests/fuzz/mutate.py.

The fix makes the inner runs atomic (``(?>...)``, Python 3.11+). It does not change what the
grammar accepts: a run stops only before ``"``, ``\\``-less ``${`` or ``}``, and no alternative
can start inside a run, so giving characters back can never produce a match. Verified: every
corpus and fixture file parses to the identical result (tests/fuzz/test_fuzz_parser.py keeps a
differential test). The parser object is replaced in-process (Checkov shares it), once.

Two more traps in ``hcl2.api.loads``'s line pre-scan, also found by the fuzzer:

- ``strip_line_comment`` recounts the quotes of the whole prefix at every character: quadratic
  in the line length (a 200,000-character line never finishes). Replaced by a linear version
  with the same result (differential test in tests/fuzz/test_fuzz_parser.py).
- the heredoc delimiter after ``= <<`` is used as a regular expression (``re.match(rf"\\s*{d}")``):
  text such as ``x = <<(a+)+$`` backtracks exponentially. The delimiter is escaped (identical
  for every valid delimiter, which is an identifier).
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

_OLD_SC = r'''STRING_CHARS : /(?:(?!\${)([^"\\]|\\.))+/+'''
_NEW_SC = r'''STRING_CHARS : /(?>(?:(?!\${)([^"\\]|\\.))+)/'''
_OLD_IN = r'''INTERPOLATION : "${" (/(?:(?!\${)([^}"]))+/ | NESTED_QUOTES | NESTED_INTERPOLATION)+ "}"'''
_NEW_IN = r'''INTERPOLATION : "${" (/(?>(?:(?!\${)([^}"]))+)/ | NESTED_QUOTES | NESTED_INTERPOLATION)+ "}"'''

_done = False
original_parser = None  # the fork's own parser (kept for the differential test)


def hardened_grammar(grammar: str) -> str | None:
    """The grammar with atomic string runs, or None when it is not the grammar this fix knows."""
    if _OLD_SC not in grammar or _OLD_IN not in grammar:
        return None
    return grammar.replace(_OLD_SC, _NEW_SC).replace(_OLD_IN, _NEW_IN)


def strip_line_comment(line: str) -> tuple[str, str, str] | tuple[str, None, None]:
    """hcl2.parser.strip_line_comment in linear time (same result).

    The original tests, at each index, ``line[0:index].replace('\\"', '').count('"') % 2 == 0``.
    ``\\"`` cannot overlap itself, so that count is: quotes in the prefix not preceded by a
    backslash; it is kept incrementally.
    """
    n = len(line)
    quotes = 0
    for index in range(n):
        if quotes % 2 == 0:
            for token in ("#", "//", "/*"):
                if index <= n - len(token) and line.startswith(token, index):
                    return line[0:index], token, line[index + len(token):]
        if line[index] == '"' and not (index > 0 and line[index - 1] == "\\"):
            quotes += 1
    return line, None, None


class _EscapedHeredocRe:
    """``re`` for hcl2.api: the heredoc delimiter in ``re.match(rf"\\s*{d}", line)`` is matched literally."""

    def __getattr__(self, name: str):  # noqa: ANN204
        import re

        return getattr(re, name)

    @staticmethod
    def match(pattern: str, string: str, flags: int = 0):  # noqa: ANN205
        import re

        if pattern.startswith("\\s*"):
            pattern = "\\s*" + re.escape(pattern[3:])
        return re.match(pattern, string, flags)


def harden_hcl2() -> bool:
    """Install the hardened parser into ``hcl2`` (idempotent). Returns whether it is in place."""
    global _done, original_parser
    if _done:
        return True
    if sys.version_info < (3, 11):  # no atomic groups in `re` before 3.11
        log.warning("Python < 3.11: HCL parser not hardened against regex backtracking")
        return False
    try:
        import hcl2.parser as hp
        from lark import Lark
    except ImportError:
        return False
    grammar = hardened_grammar(hp.LARK_GRAMMAR)
    if grammar is None:
        log.warning("unknown hcl2 grammar version: HCL parser not hardened against regex backtracking")
        return False
    import hcl2.api as api

    original_parser = hp.Hcl2.lark_parser
    hp.Hcl2.lark_parser = Lark(grammar=grammar, parser="lalr", propagate_positions=True, cache=True)
    hp.strip_line_comment = strip_line_comment
    api.strip_line_comment = strip_line_comment  # type: ignore[assignment]
    api.re = _EscapedHeredocRe()  # type: ignore[assignment]
    _done = True
    return True
