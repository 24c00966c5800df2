"""CODEOWNERS: who owns a file, in GitHub and GitLab syntax.

The file is looked up in the repository root at ``.github/CODEOWNERS``, ``CODEOWNERS``,
``.gitlab/CODEOWNERS`` and ``docs/CODEOWNERS``; the first that exists is used.

Syntax: ``pattern owner...`` per line; ``#`` starts a comment (``\\#`` is a literal ``#``); owners
are ``@user``, ``@org/team``, ``@group/subgroup`` or e-mail addresses. Patterns follow
``.gitignore``: a leading ``/`` anchors to the root, a pattern with no other ``/`` matches at any
depth, a trailing ``/`` (or a directory) matches everything below, ``*`` stays within one path
segment (``docs/*`` matches no deeper file), ``**`` spans segments. **The last matching line
wins.** A line with a pattern and no owners makes the file unowned (GitHub). GitLab sections
(``[Name]``, ``^[Name]``, ``[Name][2]``, optionally followed by default owners) are independent:
the last match of each section counts and the owners of all sections are combined; a line of a
section without owners takes the section's default owners.

Pure apart from reading the one file (cached by modification time).
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from tfguard.files import glob_to_regex

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", ".gitlab/CODEOWNERS", "docs/CODEOWNERS")
_MAX_BYTES = 1 << 20
RECHECK_SECONDS = 1.0
_SECTION = re.compile(r"^\^?\[([^\]]+)\](?:\[\d+\])?\s*(.*)$")


@dataclass(frozen=True)
class Rule:
    """One line: its pattern, owners and GitLab section ('' outside any section)."""

    pattern: str
    owners: tuple[str, ...]
    section: str = ""
    line: int = 0


def _split(line: str) -> list[str]:
    """Tokens of a line: whitespace-separated, ``\\ `` an escaped space, comments dropped."""
    out: list[str] = []
    current = ""
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line):
            current += line[i + 1]
            i += 2
            continue
        if ch == "#":
            break
        if ch.isspace():
            if current:
                out.append(current)
            current = ""
        else:
            current += ch
        i += 1
    if current:
        out.append(current)
    return out


def _is_owner(token: str) -> bool:
    return token.startswith("@") or "@" in token


def parse(text: str) -> tuple[Rule, ...]:
    """The rules of a CODEOWNERS text, in file order."""
    rules: list[Rule] = []
    section, defaults = "", ()  # type: tuple[str, tuple[str, ...]]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _SECTION.match(line)
        if m and line.startswith(("[", "^[")):
            section = m.group(1).strip().lower()
            defaults = tuple(t for t in _split(m.group(2)) if _is_owner(t))
            continue
        tokens = _split(line)
        if not tokens:
            continue
        owners = tuple(t for t in tokens[1:] if _is_owner(t))
        rules.append(Rule(tokens[0], owners or (defaults if section else ()), section, number))
    return tuple(rules)


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/") if pattern != "/" else ""
    prefix = "" if anchored else "(?:.*/)?"
    below = "" if pattern.endswith("/*") else "(?:/.*)?"  # GitHub: ``docs/*`` is not ``docs/sub/x``
    return re.compile(f"{prefix}{glob_to_regex(body)}{below}")


def matches(pattern: str, path: str) -> bool:
    """Whether a CODEOWNERS pattern matches ``path`` (relative to the repository root, ``/``-separated)."""
    if pattern in ("*", "/*", "**", "/**"):
        return True
    return _regex(pattern).fullmatch(path.lstrip("/")) is not None


def owners_of(rules: tuple[Rule, ...], path: str) -> tuple[str, ...]:
    """Owners of ``path``: per section, the last matching rule's owners; sections combined."""
    last: dict[str, Rule] = {}
    for rule in rules:
        if matches(rule.pattern, path):
            last[rule.section] = rule
    out: list[str] = []
    for rule in last.values():
        out.extend(o for o in rule.owners if o not in out)
    return tuple(out)


class Owners:
    """The repository's CODEOWNERS, re-read when it changes (thread-safe)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self._lock = threading.Lock()
        self._cached: tuple[tuple[str, int, int] | None, tuple[Rule, ...]] = (None, ())
        self._checked = float("-inf")

    def file(self) -> str | None:
        """The CODEOWNERS file in use, or None."""
        for rel in LOCATIONS:
            path = os.path.join(self.root, rel)
            if os.path.isfile(path):
                return path
        return None

    def rules(self) -> tuple[Rule, ...]:
        """The parsed rules (empty without a CODEOWNERS file); the disk is looked at most every
        ``RECHECK_SECONDS`` (every finding asks)."""
        now = time.monotonic()
        with self._lock:
            if now - self._checked < RECHECK_SECONDS:
                return self._cached[1]
            self._checked = now
        path = self.file()
        if path is None:
            with self._lock:
                self._cached = (None, ())
            return ()
        try:
            st = os.stat(path)
        except OSError:
            return ()
        stamp = (path, st.st_mtime_ns, st.st_size)
        with self._lock:
            if self._cached[0] == stamp:
                return self._cached[1]
        if st.st_size > _MAX_BYTES:
            rules: tuple[Rule, ...] = ()
        else:
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    rules = parse(fh.read())
            except OSError:
                rules = ()
        with self._lock:
            self._cached = (stamp, rules)
        return rules

    def for_file(self, file: str) -> tuple[str, ...]:
        """Owners of an absolute file path (none outside the root)."""
        rel = os.path.relpath(os.path.abspath(file), self.root).replace(os.sep, "/")
        if rel.startswith("../"):
            return ()
        return owners_of(self.rules(), rel)


__all__ = ["LOCATIONS", "Owners", "Rule", "matches", "owners_of", "parse"]
