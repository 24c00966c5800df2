"""Report formats beyond text/JSON/SARIF (``tfguard scan -o FORMAT``): ``compact``, ``junitxml``,
``gitlab_sast``, ``github`` (workflow commands), ``csv`` and ``markdown``.

Where Checkov has a reporter that fits, it is reused: JUnit XML is built with ``junit_xml`` (the
library Checkov's ``Report.get_junit_xml_string`` uses, one test suite per check as Checkov does),
the GitLab SAST report by Checkov's ``GitLabSast`` (through :mod:`tfguard.checks.reporters`) on
tfguard's findings, with tfguard named as the scanner. ``github`` and ``markdown`` have no Checkov
equivalent that carries a location per finding (Checkov's ``github_failed_only`` is a Markdown
table; tfguard accepts that name for ``markdown``).

Every renderer takes the report and ``cwd`` (the invocation's directory, which paths are shown
relative to, so terminals and CI problem matchers can open them) and returns text.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tfguard import __version__
from tfguard.model import Finding, Problem, Result, ScanReport, Severity
from tfguard.scan.report import ordered

if TYPE_CHECKING:
    from junit_xml import TestCase


def shown_path(path: str, cwd: str) -> str:
    """``path`` as a terminal should show it: relative to ``cwd`` when inside it, else absolute."""
    try:
        rel = os.path.relpath(path, cwd)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def position(f: Finding) -> tuple[int, int]:
    """1-based line and column of a finding."""
    return f.span.start.line + 1, f.span.start.character + 1


def _failed(report: ScanReport, baseline_state: Mapping[int, str] | None) -> list[Finding]:
    return ordered([f for f in report.failed
                    if baseline_state is None or baseline_state.get(id(f)) != "unchanged"])


def _by_location(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.file, f.span.start.line, f.span.start.character, f.check_id))


def render_compact(report: ScanReport, cwd: str, baseline_state: Mapping[int, str] | None = None) -> str:
    """One line per failed finding, ``path:line:col: SEVERITY CHECK_ID message (resource)``, then the
    problems the same way and a summary line (what ``gcc``-style problem matchers read)."""
    lines = []
    for f in _by_location(_failed(report, baseline_state)):
        line, col = position(f)
        msg = f.message or f.check_name
        lines.append(f"{shown_path(f.file, cwd)}:{line}:{col}: {f.severity.value} {f.check_id} "
                     + (msg if f.resource in msg else f"{msg} ({f.resource})"))
    for p in report.problems:
        lines.append(f"{shown_path(p.file, cwd)}:{p.span.start.line + 1}:{p.span.start.character + 1}: "
                     f"{p.severity.value} [{p.code}] {p.message}")
    n = len(_failed(report, baseline_state))
    lines.append(f"tfguard: {n} failed, {len(report.problems)} problems in {report.files_scanned} files")
    return "\n".join(lines) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
                 Severity.LOW: "notice", Severity.INFO: "notice"}


def render_github(report: ScanReport, cwd: str, baseline_state: Mapping[int, str] | None = None) -> str:
    """GitHub Actions workflow commands, one per failed finding and problem:
    ``::error file=PATH,line=L,col=C,endLine=L2,title=ID::message`` (CRITICAL/HIGH error, MEDIUM warning,
    LOW/INFO notice), paths relative to ``cwd`` (the workspace), escaped as GitHub documents."""
    lines = []
    for f in _by_location(_failed(report, baseline_state)):
        line, col = position(f)
        props = {"file": shown_path(f.file, cwd), "line": str(line), "col": str(col),
                 "endLine": str(max(f.span.end.line + 1, line)), "title": f"{f.check_id} ({f.severity.value})"}
        msg = f.message or f.check_name
        text = msg if f.resource in msg else f"{msg} ({f.resource})"
        if f.guideline:
            text += f"\nGuide: {f.guideline}"
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} "
                     + ",".join(f"{k}={_escape_property(v)}" for k, v in props.items())
                     + f"::{_escape_data(text)}")
    for p in report.problems:
        level = "error" if p.engine_failure or p.severity.rank >= Severity.HIGH.rank else "warning"
        props = {"file": shown_path(p.file, cwd), "line": str(p.span.start.line + 1),
                 "col": str(p.span.start.character + 1), "title": f"tfguard {p.code}"}
        lines.append(f"::{level} " + ",".join(f"{k}={_escape_property(v)}" for k, v in props.items())
                     + f"::{_escape_data(p.message)}")
    return "\n".join(lines) + ("\n" if lines else "")


# Checkov's IaC CSV header (checkov/common/output/csv.py HEADER_IAC), then tfguard's location and message.
CHECKOV_CSV_COLUMNS = ("Resource", "Path", "Git Org", "Git Repository", "Misconfigurations", "Severity",
                       "Policy title", "Guideline")
CSV_COLUMNS = (*CHECKOV_CSV_COLUMNS, "Line", "Column", "Message")


def render_csv(report: ScanReport, cwd: str, baseline_state: Mapping[int, str] | None = None) -> str:
    """CSV (RFC 4180) with Checkov's IaC columns, as Checkov's ``-o csv`` writes them: one row per failed
    check (``Misconfigurations`` = its id), then each resource that failed nothing once, with those
    columns empty; ``Git Org``/``Git Repository`` are empty (Checkov fills them from ``--repo-id``).
    ``Path`` is relative to ``cwd`` like every other format; ``Line``, ``Column``, ``Message`` follow."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    failed = _by_location(_failed(report, baseline_state))
    seen = set()
    for f in failed:
        line, col = position(f)
        seen.add((f.file, f.resource))
        w.writerow([f.resource, shown_path(f.file, cwd), "", "", f.check_id, f.severity.value, f.check_name,
                    f.guideline or "", line, col, f.message or f.check_name])
    for f in _by_location(report.findings):
        if (f.file, f.resource) not in seen:
            seen.add((f.file, f.resource))
            line, col = position(f)
            w.writerow([f.resource, shown_path(f.file, cwd), "", "", "", "", "", "", line, col, ""])
    return buf.getvalue()


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: ScanReport, cwd: str, baseline_state: Mapping[int, str] | None = None) -> str:
    """A Markdown summary (a GitHub job summary, a merge-request comment): counts by severity, then
    a table of failed findings with their location and guideline link."""
    failed = _failed(report, baseline_state)
    counts = {s: 0 for s in Severity}
    for f in failed:
        counts[f.severity] += 1
    out = ["## tfguard", ""]
    if not failed:
        out.append(f"No failed checks in {report.files_scanned} files.")
    else:
        out.append(f"**{len(failed)} failed** in {report.files_scanned} files: "
                   + ", ".join(f"{n} {s.value}" for s, n in counts.items() if n) + ".")
        out += ["", "| Severity | Check | Resource | Location | Guideline |", "| --- | --- | --- | --- | --- |"]
        for f in failed:
            line, col = position(f)
            guide = f"[guide]({f.guideline})" if f.guideline else ""
            out.append(f"| {f.severity.value} | {f.check_id}: {_md(f.check_name)} | `{_md(f.resource)}` | "
                       f"`{_md(shown_path(f.file, cwd))}:{line}:{col}` | {guide} |")
    if report.problems:
        out += ["", f"{len(report.problems)} problems:", ""]
        out += [f"- `{_md(shown_path(p.file, cwd))}:{p.span.start.line + 1}`: [{p.code}] {_md(p.message)}"
                for p in report.problems]
    return "\n".join(out) + "\n"


def _junit_problem(p: Problem, cwd: str) -> TestCase:
    """A problem as a test case: an ``error`` when an input was not (fully) checked or a check or the
    engine failed (CI test reports show the scan as broken, not green), else ``skipped`` with the message."""
    from junit_xml import TestCase

    from tfguard.scan.verdict import INCOMPLETE

    line, col = p.span.start.line + 1, p.span.start.character + 1
    where = f"{shown_path(p.file, cwd)}:{line}:{col}"
    case = TestCase(name=f"[{p.code}] {where}", classname="tfguard.problems", file=shown_path(p.file, cwd), line=line)
    if p.engine_failure or p.code in INCOMPLETE:
        case.add_error_info(message=f"[{p.code}] {p.message}", output=where, error_type=p.code)
    else:
        case.add_skipped_info(message=f"[{p.code}] {p.message}")
    return case


def render_junitxml(report: ScanReport, cwd: str, baseline_state: Mapping[int, str] | None = None) -> str:
    """JUnit XML as Checkov writes it (``junit_xml``): one ``testsuite`` per check, one ``testcase`` per
    resource it evaluated, failed ones with a ``failure`` element, skipped ones ``skipped``; problems in a
    ``tfguard problems`` suite (:func:`_junit_problem`)."""
    from junit_xml import TestCase, TestSuite, to_xml_report_string

    suites: dict[str, list[TestCase]] = {}
    names: dict[str, str] = {}
    for f in sorted(report.findings, key=lambda x: (x.check_id, x.file, x.line_range[0], x.resource)):
        if f.result is Result.FAILED and baseline_state is not None and baseline_state.get(id(f)) == "unchanged":
            continue
        names.setdefault(f.check_id, f.check_name)
        line, col = position(f)
        where = f"{shown_path(f.file, cwd)}:{line}:{col}"
        case = TestCase(name=f"[{f.severity.value}][{f.check_id}] {f.resource}", classname=f.check_id,
                        file=shown_path(f.file, cwd), line=line)
        if f.result is Result.FAILED:
            text = f"Resource: {f.resource}\nFile: {where}\nSeverity: {f.severity.value}"
            if f.guideline:
                text += f"\nGuideline: {f.guideline}"
            case.add_failure_info(message=f"{f.check_id}: {f.message or f.check_name}", output=text,
                                  failure_type="failure")
        elif f.result is Result.SKIPPED:
            case.add_skipped_info(message=f.suppress_comment or "skipped")
        suites.setdefault(f.check_id, []).append(case)
    ts = [TestSuite(name=f"{cid} {names[cid]}", test_cases=cases, package="tfguard") for cid, cases in suites.items()]
    if report.problems:
        ts.append(TestSuite(name="tfguard problems", test_cases=[_junit_problem(p, cwd) for p in report.problems],
                            package="tfguard"))
    if not ts:
        ts = [TestSuite(name="tfguard", test_cases=[])]
    xml = str(to_xml_report_string(ts, prettyprint=True, encoding="utf-8"))
    # junit_xml's disabled="0" is in no JUnit schema (Jenkins' junit-10.xsd) and read by no CI: dropped
    return re.sub(r'(<testsuites?\b[^>]*?) disabled="\d+"', r"\1", xml)


GITLAB_NAME_MAX = 255  # the schema's maxLength of a vulnerability's name


def _gitlab_message(p: Problem, cwd: str) -> dict[str, str]:
    """A problem as a GitLab scan message: ``fatal`` when a check or the engine failed, ``warn`` when an
    input was not (fully) checked (a syntax error, an unreadable file), else ``info``."""
    from tfguard.scan.verdict import INCOMPLETE

    level = "fatal" if p.engine_failure else "warn" if p.code in INCOMPLETE else "info"
    where = f"{shown_path(p.file, cwd)}:{p.span.start.line + 1}:{p.span.start.character + 1}"
    return {"level": level, "value": f"{where}: [{p.code}] {p.message}"}


def render_gitlab_sast(report: ScanReport, cwd: str, baseline_state: Mapping[int, str] | None = None) -> str:
    """A GitLab SAST report (schema 15.0.4, validated against GitLab's schema file in the tests):
    Checkov's ``GitLabSast`` on tfguard's failed findings, with tfguard as the scanner. File paths are
    relative to ``cwd`` (the project directory in CI), absolute for files outside it. Problems are the
    scan's ``messages``; a check or engine failure makes the scan's status ``failure`` (as SARIF's
    ``executionSuccessful``)."""
    import json

    from tfguard.checks.reporters import SastRecord, gitlab_sast

    failed = _failed(report, baseline_state)
    records = [SastRecord(f.check_id, f.check_name, shown_path(f.file, cwd), f.line_range, f.guideline,
                          "NONE" if f.severity is Severity.INFO else f.severity.value)  # Checkov's name: Info
               for f in failed]
    # no "url": tfguard has no public home yet (the schema makes it optional)
    tool = {"id": "tfguard", "name": "tfguard", "vendor": {"name": "tfguard"}, "version": __version__}
    doc = gitlab_sast(records, tool, complete=not report.engine_failures)
    for vuln, f in zip(doc["vulnerabilities"], failed, strict=True):
        vuln["identifiers"][0]["type"] = "tfguard" if f.source == "org" else "checkov"
        vuln["location"]["file"] = shown_path(f.file, cwd)  # Checkov strips a leading "/" (repo-relative)
        if len(vuln["name"]) > GITLAB_NAME_MAX:
            vuln["name"] = vuln["name"][:GITLAB_NAME_MAX - 1] + "\u2026"
        if not f.guideline:  # Checkov writes "Further info can be found None"
            vuln["description"] = f.message or f.check_name
            vuln.pop("solution", None)
    if report.problems:
        doc["scan"]["messages"] = [_gitlab_message(p, cwd) for p in report.problems]
    return json.dumps(doc, indent=2) + "\n"
