"""The gate: a scan's exit status, failing closed.

=====  ==========================================================================================
code   meaning
=====  ==========================================================================================
0      the scan is complete and nothing at or above the threshold failed
1      a failed check at or above the threshold (``--fail-on``, ``--hard-fail-on`` …) remains
2      tfguard cannot stand behind the result: usage or configuration error, a path that does not
       exist, nothing scannable, an input tfguard cannot scan (a plan it cannot read, an unreadable or
       unparsable file), or a check or the engine failed on some input
=====  ==========================================================================================

Opt-outs, as Checkov spells them:

- ``soft_fail``: findings and engine failures never fail the gate (usage and configuration errors still
  do); with ``hard_fail_on`` only those checks fail;
- ``soft_fail_on`` / ``hard_fail_on``: check ids, fnmatch patterns or severities;
- ``fail_on_crash=False`` (``--no-fail-on-crash``): engine failures and incomplete inputs are reported
  but do not force 2.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tfguard.files import is_inside
from tfguard.model import Finding, Problem, ScanReport, Severity

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

# Problems that mean part of the input was not checked: the result is incomplete.
INCOMPLETE = {
    "engine": "the engine failed",
    "check-error": "a check failed to run",
    "read": "unreadable",
    "too-large": "too large to analyse",
    "syntax": "does not parse",
    "unscannable": "not a kind tfguard can scan",
}


@dataclass(frozen=True)
class GateOptions:
    """How failures turn into an exit status (the CLI's flags merged over ``.checkov.yaml``)."""

    soft_fail: bool = False
    soft_fail_on: tuple[str, ...] = ()
    hard_fail_on: tuple[str, ...] = ()
    fail_on_crash: bool = True


@dataclass(frozen=True)
class Verdict:
    """The exit status and, for 2, the one line saying why."""

    exit_code: int
    reason: str | None = None


def _matches(f: Finding, items: tuple[str, ...]) -> bool:
    for item in items:
        up = item.upper()
        if up in Severity.__members__ and f.severity.rank >= Severity(up).rank:
            return True
        if fnmatch.fnmatchcase(f.check_id.upper(), up):
            return True
    return False


def incomplete_inputs(problems: Iterable[Problem]) -> list[Problem]:
    """Problems meaning some input was not (fully) checked."""
    return [p for p in problems if p.code in INCOMPLETE]


def _describe(problems: list[Problem]) -> str:
    files = sorted({p.file for p in problems})
    kinds = sorted({INCOMPLETE[p.code] for p in problems})
    where = files[0] if len(files) == 1 else f"{len(files)} files"
    return (f"the result is incomplete: {where} ({'; '.join(kinds)}); see the problems in the report "
            "(--no-fail-on-crash to gate on the findings alone)")


def decide(report: ScanReport, failing: list[Finding], options: GateOptions) -> Verdict:
    """The exit status of a scan whose findings at or above the threshold are ``failing``.

    Usage and configuration errors are decided before the scan runs; this decides the rest.
    """
    if report.files_scanned == 0 and not report.findings:
        return Verdict(EXIT_ERROR, "nothing to scan: no Terraform files (.tf, .tf.json, .tofu, .tofu.json) in the "
                                   "given paths")
    return _judge(report.problems, failing, options)


def decide_scoped(report: ScanReport, failing: list[Finding], scopes: Sequence[tuple[str, GateOptions]]) -> Verdict:
    """:func:`decide` for a scan of several paths, each with the gate options of its own configuration.

    Each finding and problem is judged by the options of every path covering it (a folder covers what is
    under it, a file itself; what no path covers, such as a plan's findings mapped to source, by all), and
    the worst exit status wins: the verdict does not depend on the order of the paths, and a path's
    ``soft-fail`` never lets another path's failures pass.
    """
    groups: dict[GateOptions, list[str]] = {}
    for path, options in scopes:
        groups.setdefault(options, []).append(path)
    if len(groups) <= 1:
        return decide(report, failing, next(iter(groups), GateOptions()))
    if report.files_scanned == 0 and not report.findings:
        return decide(report, failing, GateOptions())

    def covering(file: str) -> list[GateOptions]:
        return [o for o, paths in groups.items() if any(is_inside(file, p) for p in paths)]

    worst = Verdict(EXIT_OK)
    for options in groups:
        mine = [f for f in failing if options in (covering(f.file) or [options])]
        problems = [p for p in report.problems if options in (covering(p.file) or [options])]
        got = _judge(problems, mine, options)
        if got.exit_code > worst.exit_code:
            worst = got
    return worst


def _judge(problems: list[Problem], failing: list[Finding], options: GateOptions) -> Verdict:
    if options.soft_fail and not options.hard_fail_on:  # hard-fail-on narrows soft-fail, as in Checkov
        return Verdict(EXIT_OK)
    incomplete = incomplete_inputs(problems)
    if incomplete and options.fail_on_crash:
        return Verdict(EXIT_ERROR, _describe(incomplete))
    if options.hard_fail_on:
        failing = [f for f in failing if _matches(f, options.hard_fail_on)]
    if options.soft_fail_on:
        failing = [f for f in failing if not _matches(f, options.soft_fail_on)]
    return Verdict(EXIT_FINDINGS if failing else EXIT_OK)
