"""Check selections that select nothing: ``--check CKV_AWS_2O`` (a letter O for a zero) runs no check at all.

Checkov takes such an entry as it is: it matches no check, nothing runs, and the scan passes (exit 0). A gate
must not pass because of a typo, so ``tfguard scan`` looks at every entry of a selection before scanning:

- ``--check`` and ``--hard-fail-on`` (command line or ``.checkov.yaml``): an entry that matches no check is an
  error (exit 2). With ``--check`` a check the user meant would not run; with ``--hard-fail-on`` (which narrows
  ``--soft-fail``) it would never fail the gate.
- ``--skip-check`` and ``--soft-fail-on``: a warning. Such a typo makes the gate stricter, not weaker.

The checks known are Checkov's (its resource, data, provider and module registries, Python custom checks the
user allowed included, and its graph checks), the YAML policies of the scan's policy folders, and tfguard's own
rules. Entries are ids or fnmatch wildcards, matched as they are used: ``--check`` / ``--skip-check`` as Checkov
matches them (case-sensitively), ``--hard-fail-on`` / ``--soft-fail-on`` as tfguard's verdict does (in any
case, and a severity name is valid there: tfguard's severities decide); in ``--check`` Checkov
selects by severity only with its platform's metadata, so offline such an entry selects nothing and is
reported with the option that does gate on severities, ``--fail-on``.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from tfguard.config.checkov import CheckovConfig
from tfguard.model import Problem, Severity, Span


@dataclass(frozen=True)
class Unmatched:
    """One selection entry that matches no known check."""

    option: str  # "--check", ".checkov.yaml check", ...
    entry: str
    error: bool  # True: exit 2; False: a warning

    def message(self, known: frozenset[str]) -> str:
        up = self.entry.strip().upper()
        if up in Severity.__members__:  # only where severities select nothing (--check, --skip-check)
            return (f"{self.option} {self.entry}: Checkov selects checks by severity only with its platform's"
                    f" metadata, so offline this selects none; gate on tfguard's severities with --fail-on {up}")
        guess = _closest(up, known)
        hint = f" (did you mean {guess}?)" if guess else ""
        then = ("a gate that runs or fails on fewer checks than asked would pass wrongly" if self.error
                else "it changes nothing")
        return f"{self.option} {self.entry}: matches no check{hint}; {then}"

    def line(self, known: frozenset[str]) -> str:
        """The command line's one line."""
        return f"tfguard: {'error' if self.error else 'warning'}: {self.message(known)}"


def config_problems(cfg: CheckovConfig, policy_dirs: Iterable[str],
                    known: frozenset[str] | None = None) -> list[Problem]:
    """The ``check`` / ``skip-check`` entries of the ``.checkov.yaml`` ``cfg`` (those in force) that match no
    check, as located configuration problems: what the editor shows on that file and a scan's report lists
    (a ``check`` entry HIGH, a ``skip-check`` one LOW). Nothing to import when the file sets neither.
    ``known``: the checks known, when the caller has them already (:func:`known_check_ids` of ``policy_dirs``)."""
    if cfg.path is None or not cfg.selection_lines:
        return []
    lines = dict(cfg.selection_lines)
    selections = [(f"{key}:", cfg.checks if key == "check" else cfg.skip_checks, False, key == "check")
                  for key in lines]
    if known is None:
        known = known_check_ids(tuple(policy_dirs))
    found = unmatched(selections, known)
    if not found:
        return []
    try:
        with open(cfg.path, encoding="utf-8", errors="replace") as f:
            text = f.read().splitlines()
    except OSError:
        text = []
    out = []
    for u in found:
        line, column = _entry_at(text, lines[u.option[:-1]], u.entry)
        out.append(Problem(cfg.path, Span.of(line, column, line, column + len(u.entry) if column else 1),
                           u.message(known), "config", Severity.HIGH if u.error else Severity.LOW))
    return out


def _entry_at(text: list[str], key_line: int, entry: str) -> tuple[int, int]:
    """(0-based line, column) of ``entry`` in the file's lines from its key's line on, else the key's line."""
    for n in range(key_line, len(text)):
        column = text[n].find(entry, text[n].find(":") + 1 if n == key_line else 0)
        if column >= 0:
            return n, column
    return key_line, 0


_LOOKALIKE = {frozenset(p) for p in ("O0", "I1", "L1", "S5", "B8", "Z2")}


def _closest(entry: str, known: frozenset[str]) -> str | None:
    """The known id ``entry`` most likely meant: one character off (a look-alike first: O for 0), else
    difflib's closest. ``entry`` comes upper-cased: Checkov matches ids case-sensitively."""
    if entry in known:
        return entry
    one_off = []
    for check_id in sorted(known):
        if len(check_id) == len(entry):
            diff = [(a, b) for a, b in zip(check_id, entry, strict=True) if a != b]
            if len(diff) == 1:
                one_off.append((frozenset(diff[0]) not in _LOOKALIKE, check_id))
    if one_off:
        return min(one_off)[1]
    close = difflib.get_close_matches(entry, sorted(known), n=1, cutoff=0.8)
    return close[0] if close else None


def checkov_check_ids() -> frozenset[str]:
    """The ids of every check Checkov holds in this process (per-block registries and graph checks)."""
    from tfguard.checks.checkov_env import checkov_modules
    from tfguard.checks.graph import graph_check_ids

    ck = checkov_modules()
    ids: set[str] = set()
    for registry in ck.registries.values():
        for table in (registry.checks, getattr(registry, "wildcard_checks", {})):
            for checks in table.values():
                ids.update(c.id for c in checks)
    return frozenset(ids) | graph_check_ids()


def known_check_ids(policy_dirs: Iterable[str]) -> frozenset[str]:
    """Checkov's checks, the YAML policies of ``policy_dirs`` and tfguard's rules."""
    from tfguard.rules import RULES_BY_ID
    from tfguard.rules.policies import read_policy_metadata

    policies = read_policy_metadata(tuple(dict.fromkeys(policy_dirs)))
    return checkov_check_ids() | frozenset(policies) | frozenset(RULES_BY_ID)


def hit(check_id: str, entries: Iterable[str]) -> bool:
    """Checkov's match of a check id against selection entries: the id itself or an fnmatch wildcard."""
    return any(fnmatch.fnmatchcase(check_id, entry) for entry in entries)


def _matches(entry: str, known: frozenset[str], gate: bool) -> bool:
    """``gate``: a ``--hard-fail-on`` / ``--soft-fail-on`` entry, matched as the verdict matches it (a severity,
    or an id or wildcard in any case: :func:`tfguard.scan.verdict.decide`); else Checkov's ``--check``."""
    entry = entry.strip()
    if gate:
        entry = entry.upper()
        if entry in Severity.__members__:
            return True
        return entry in known or any(hit(check_id.upper(), (entry,)) for check_id in known)
    return entry in known or any(hit(check_id, (entry,)) for check_id in known)


def unmatched(selections: Iterable[tuple[str, Iterable[str], bool, bool]],
              known: frozenset[str]) -> list[Unmatched]:
    """For each ``(option, entries, a gate option, an error)``: its entries that match no check of ``known``
    (see :func:`_matches`), in order, each once."""
    out: list[Unmatched] = []
    seen: set[tuple[str, str]] = set()
    for option, entries, gate, error in selections:
        for entry in entries:
            if not entry.strip() or (option, entry) in seen or _matches(entry, known, gate):
                continue
            seen.add((option, entry))
            out.append(Unmatched(option, entry, error))
    return out
