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
    original_parser = hp.Hcl2.lark_parser
    hp.Hcl2.lark_parser = Lark(grammar=grammar, parser="lalr", propagate_positions=True, cache=True)
    _done = True
    return True
