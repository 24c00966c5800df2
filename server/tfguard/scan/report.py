"""Scan reports as text, JSON (versioned schema, see docs/json-schema.md) and SARIF 2.1.0."""

from __future__ import annotations

import dataclasses
import json
import os
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from tfguard import __version__
from tfguard.model import Explained, Finding, Problem, Result, ScanReport, Severity

JSON_SCHEMA_VERSION = "1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
_SARIF_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def ordered(findings: list[Finding]) -> list[Finding]:
    """By priority (highest first), then file and line."""
    return sorted(findings, key=lambda f: (-f.priority, -f.severity.rank, f.file, f.line_range[0], f.check_id))


def _rel(path: str, root: str) -> str:
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def report_root(report: ScanReport) -> str:
    """The folder paths in reports are relative to: the scan root, or the folder of a scanned file."""
    return report.root if os.path.isdir(report.root) else os.path.dirname(report.root)


def render_text(report: ScanReport, show_passed: bool = False, color: bool = False,
                baseline_state: Mapping[int, str] | None = None, cwd: str | None = None,
                quiet: bool = False, group_by: str = "file") -> str:
    """Readable terminal output (the ``cli`` format): files by their worst finding, findings by priority.

    Each finding line starts with ``path:line:col`` (relative to ``cwd``, the invocation's directory,
    when given, else to the scan root) so terminals and CI problem matchers link it, then severity,
    check id, resource and message, with the guideline link under it. Skipped checks are named
    (``quiet``: failed ones only, as Checkov's ``--quiet``). ``baseline_state`` (``id(finding) -> "new"
    | "unchanged"``, from :meth:`tfguard.scan.baseline.Baseline.classify`): baselined findings are
    counted, not listed. ``group_by="owner"``: one section per CODEOWNERS owner (a finding with several
    owners is listed under each; ``(no owner)`` last), by the section's most urgent finding.
    """
    root = report_root(report)

    def shown(path: str) -> str:
        return _rel(path, cwd if cwd is not None else root)

    all_failed = [f for f in report.findings if f.result is Result.FAILED]
    failed = ordered([f for f in all_failed if baseline_state is None or baseline_state.get(id(f)) != "unchanged"])
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for f in failed:
        by_file[f.file].append(f)
    lines: list[str] = []

    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    colors = {Severity.CRITICAL: "1;31", Severity.HIGH: "31", Severity.MEDIUM: "33", Severity.LOW: "36",
              Severity.INFO: "2"}
    groups: list[tuple[str, list[Finding]]]
    if group_by == "owner":
        by_owner: dict[str, list[Finding]] = defaultdict(list)
        for f in failed:
            for owner in f.owners or ("(no owner)",):
                by_owner[owner].append(f)
        groups = sorted(by_owner.items(), key=lambda kv: (kv[0] == "(no owner)", -kv[1][0].priority, kv[0]))
    else:
        groups = [(shown(file), items)
                  for file, items in sorted(by_file.items(), key=lambda kv: (-kv[1][0].priority, kv[0]))]
    for title, items in groups:
        lines.append(paint(title, "1"))
        for f in items:
            pos = f"{shown(f.file)}:{f.span.start.line + 1}:{f.span.start.character + 1}"
            sev = paint(f"{f.severity.value:<8}", colors[f.severity])
            msg = f.message or f.check_name
            lines.append(f"{pos}: {sev} {f.check_id:<14} " + (msg if f.resource in msg else f"{f.resource}: {msg}"))
            if f.context:
                lines.append(f"    ({'; '.join(f.context)})")
            for e in f.explained:  # the value the check read and where it was written
                origin = f"{shown(e.file)}:{e.line}" if e.file and e.line else e.origin
                lines.append(f"    value: {dataclasses.replace(e, origin=origin).describe()}")
            if f.guideline:
                lines.append(f"    guide: {f.guideline}")
        lines.append("")
    if show_passed:
        for f in sorted((f for f in report.findings if f.result is Result.PASSED),
                        key=lambda x: (x.file, x.line_range[0], x.check_id)):
            lines.append(f"{shown(f.file)}:{f.span.start.line + 1}:{f.span.start.character + 1}: "
                         f"{paint('PASSED  ', '32')} {f.check_id:<14} {f.resource}")
    skipped_findings = [f for f in report.findings if f.result is Result.SKIPPED]
    if skipped_findings and not quiet:
        lines.append("skipped:")
        for f in sorted(skipped_findings, key=lambda x: (x.file, x.line_range[0], x.check_id)):
            why = f": {f.suppress_comment}" if f.suppress_comment else ""
            lines.append(f"{shown(f.file)}:{f.span.start.line + 1}:{f.span.start.character + 1}: "
                         f"{paint('SKIPPED ', '2')} {f.check_id:<14} {f.resource}{why}")
        lines.append("")
    for p in report.problems:
        lines.append(f"{shown(p.file)}:{p.span.start.line + 1}:{p.span.start.character + 1}: "
                     f"{p.severity.value} [{p.code}] {p.message}")
    counts = severity_counts(failed)
    passed = sum(1 for f in report.findings if f.result is Result.PASSED)
    skipped = len(skipped_findings)
    summary = ", ".join(f"{counts[s]} {s.value.lower()}" for s in Severity if counts[s])
    baselined = "" if baseline_state is None else f" new, {len(all_failed) - len(failed)} baselined (not shown)"
    lines.append(
        f"tfguard: {len(failed)} failed{baselined} ({summary or 'none'}), {passed} passed, {skipped} skipped, "
        f"{len(report.problems)} problems in {report.files_scanned} files"
    )
    return "\n".join(lines) + "\n"


def severity_counts(findings: list[Finding]) -> dict[Severity, int]:
    counts = {s: 0 for s in Severity}
    for f in findings:
        counts[f.severity] += 1
    return counts


def explained_json(e: Explained, root: str) -> dict[str, Any]:
    """An explained value (issue #18): the expression, its value and where that value was written."""
    if e.file:  # the origin relative to the report's root, as the report's files are
        e = dataclasses.replace(e, origin=_rel(e.file, root) + (f":{e.line}" if e.line else ""))
    return {"key": e.key, "expression": e.expression, "value": e.value, "kind": e.kind,
            "origin": e.origin, "file": _rel(e.file, root) if e.file else None, "line": e.line, "via": e.via,
            "text": e.describe()}


def finding_json(f: Finding, root: str, fingerprint: str | None = None,
                 baseline_state: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "check_id": f.check_id,
        "check_name": f.check_name,
        "result": f.result.value,
        "severity": f.severity.value,
        "priority": f.priority,
        "risk_class": f.risk_class or None,
        "owners": list(f.owners),
        "context": list(f.context),
        "file": _rel(f.file, root),
        "file_abs_path": f.file,
        "resource": f.resource,
        "line_range": list(f.line_range),
        "range": {
            "start": {"line": f.span.start.line + 1, "column": f.span.start.character + 1},
            "end": {"line": f.span.end.line + 1, "column": f.span.end.character + 1},
        },
        "evaluated_keys": list(f.evaluated_keys),
        "explained": [explained_json(e, root) for e in f.explained],
        "source": f.source,
        "guideline": f.guideline,
        "message": f.message or f.check_name,
        "suppress_comment": f.suppress_comment,
    }
    if f.plan_file is not None:
        doc["plan_file"] = _rel(f.plan_file, root)
    if fingerprint is not None:
        doc["fingerprint"] = fingerprint
    if baseline_state is not None:
        doc["baseline_state"] = baseline_state
    return doc


def problem_json(p: Problem, root: str) -> dict[str, Any]:
    """A problem in the JSON report; a ``check-error`` one also names its ``check_id`` and ``resource``."""
    doc: dict[str, Any] = {
        "file": _rel(p.file, root),
        "line": p.span.start.line + 1,
        "column": p.span.start.character + 1,
        "code": p.code,
        "severity": p.severity.value,
        "message": p.message,
    }
    if p.check_id is not None:
        doc["check_id"] = p.check_id
    if p.resource is not None:
        doc["resource"] = p.resource
    return doc


def _sarif_notification(p: Problem, root: str) -> dict[str, Any]:
    """A problem as a SARIF ``toolExecutionNotification``: ``error`` when the results are incomplete
    (a check that raised, an engine failure), else by severity; ``descriptor.id`` is the check id of
    a check that raised, else the problem's code."""
    if p.engine_failure:
        level = "error"
    else:
        level = "error" if p.severity.rank >= Severity.HIGH.rank else "warning" if p.severity is Severity.MEDIUM \
            else "note"
    rel = _rel(p.file, root)
    artifact = {"uri": _uri_path(rel), "uriBaseId": SRCROOT} if not os.path.isabs(rel) else {"uri": _file_uri(p.file)}
    start_line, start_col = p.span.start.line + 1, p.span.start.character + 1
    end_line = max(p.span.end.line + 1, start_line)
    end_col = p.span.end.character + 1
    if end_line == start_line and end_col <= start_col:
        end_col = start_col + 1
    location: dict[str, Any] = {"physicalLocation": {
        "artifactLocation": artifact,
        "region": {"startLine": start_line, "startColumn": start_col, "endLine": end_line, "endColumn": end_col},
    }}
    if p.resource:
        location["logicalLocations"] = [{"fullyQualifiedName": p.resource, "kind": "resource"}]
    return {
        "level": level,
        "message": {"text": f"[{p.code}] {p.message}"},
        "locations": [location],
        "descriptor": {"id": p.check_id or p.code},
    }


def render_json(report: ScanReport, baseline_state: Mapping[int, str] | None = None) -> str:
    """The versioned JSON report. Failed findings carry their ``fingerprint`` (tfguard/v2, see
    :mod:`tfguard.scan.baseline`); with ``baseline_state`` also ``baseline_state`` (new | unchanged) and
    the summary counts ``new`` and ``baselined``."""
    from tfguard.scan.baseline import fingerprints

    root = report_root(report)
    failed = [f for f in report.findings if f.result is Result.FAILED]
    fps = fingerprints(failed, root, report.evaluated)
    summary: dict[str, Any] = {
        "files": report.files_scanned,
        "failed": len(failed),
        "passed": sum(1 for f in report.findings if f.result is Result.PASSED),
        "skipped": sum(1 for f in report.findings if f.result is Result.SKIPPED),
        "problems": len(report.problems),
        "by_severity": {s.value: n for s, n in severity_counts(failed).items()},
    }
    if baseline_state is not None:
        new = [f for f in failed if baseline_state.get(id(f)) != "unchanged"]
        summary["new"] = len(new)
        summary["baselined"] = len(failed) - len(new)
        summary["new_by_severity"] = {s.value: n for s, n in severity_counts(new).items()}

    def one(f: Finding) -> dict[str, Any]:
        fp = fps.get(id(f))
        state = None
        if baseline_state is not None and f.result is Result.FAILED:
            state = baseline_state.get(id(f), "new")
        return finding_json(f, root, fp[0] if fp else None, state)

    doc = {
        "schema_version": JSON_SCHEMA_VERSION,
        "tool": {"name": "tfguard", "version": __version__},
        "root": report.root,
        "summary": summary,
        "findings": [one(f) for f in ordered(report.findings)],
        "problems": [problem_json(p, root) for p in report.problems],
    }
    return _dump(doc)


def _dump(doc: dict[str, Any]) -> str:
    """The report's JSON: its top level indented, each finding and problem on a line of its own
    (readable, diff-friendly, and written by the C encoder: ``indent`` makes json use Python's)."""
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value:
            items = ",\n".join("    " + json.dumps(x) for x in value)
            parts.append(f"  {json.dumps(key)}: [\n{items}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _sarif_location(f: Finding, root: str) -> dict[str, Any]:
    rel = _rel(f.file, root)
    if os.path.isabs(rel):  # outside the scan root: an absolute file URI, no base
        artifact: dict[str, Any] = {"uri": _file_uri(f.file)}
    else:
        artifact = {"uri": _uri_path(rel), "uriBaseId": SRCROOT}
    start_line = f.span.start.line + 1
    end_line = max(f.span.end.line + 1, start_line)
    start_col = f.span.start.character + 1
    end_col = f.span.end.character + 1
    if end_line == start_line and end_col <= start_col:
        end_col = start_col + 1
    return {
        "physicalLocation": {
            "artifactLocation": artifact,
            "region": {"startLine": start_line, "startColumn": start_col, "endLine": end_line,
                       "endColumn": end_col},
        },
        "logicalLocations": [{"fullyQualifiedName": f.resource, "kind": "resource"}],
    }


def _uri_path(rel: str) -> str:
    from urllib.parse import quote

    return quote(rel.replace(os.sep, "/"), safe="/")


def _file_uri(path: str) -> str:
    from urllib.parse import quote

    p = os.path.abspath(path).replace(os.sep, "/")
    if not p.startswith("/"):
        p = "/" + p  # Windows drive letters
    return "file://" + quote(p, safe="/:")


def _sarif_rule(f: Finding) -> dict[str, Any]:
    name = "".join(w[:1].upper() + w[1:] for w in f.check_name.replace("-", " ").split() if w.isalnum()) or f.check_id
    guideline = f.guideline
    help_text = f"{f.check_name}.\n\nSeverity: {f.severity.value} (tfguard)."
    help_md = f"**{f.check_id}**: {f.check_name}.\n\nSeverity: **{f.severity.value}**."
    if guideline:
        help_text += f"\n\nGuideline: {guideline}"
        help_md += f"\n\n[Guideline]({guideline})"
    help_text += f"\n\nSuppress with a justified comment inside the block: # checkov:skip={f.check_id}:<reason>"
    help_md += f"\n\nSuppress with a justified comment inside the block: `# checkov:skip={f.check_id}:<reason>`"
    rule: dict[str, Any] = {
        "id": f.check_id,
        "name": name[:200],
        "shortDescription": {"text": f.check_name},
        "fullDescription": {"text": f.check_name},
        "help": {"text": help_text, "markdown": help_md},
        "defaultConfiguration": {"level": _SARIF_LEVEL[f.severity]},
        "properties": {
            "security-severity": _SECURITY_SEVERITY[f.severity],
            "problem.severity": "error" if f.severity.rank >= Severity.HIGH.rank else
            "warning" if f.severity is Severity.MEDIUM else "recommendation",
            "precision": "very-high",
            "tags": ["security", "terraform", f.source],
        },
    }
    if guideline:
        rule["helpUri"] = guideline
    return rule


def render_sarif(report: ScanReport, baseline_state: Mapping[int, str] | None = None) -> str:
    """SARIF 2.1.0 as GitHub code scanning takes it: one run, rules with ``security-severity``,
    locations relative to ``%SRCROOT%`` (the scan root), 1-based regions in code points,
    ``partialFingerprints`` (tfguard/v2, see :mod:`tfguard.scan.baseline`), and, with a baseline,
    ``baselineState`` (new | unchanged) on each result."""
    from tfguard.scan.baseline import FINGERPRINT_KIND, fingerprints

    root = report_root(report)
    failed = ordered([f for f in report.findings if f.result is Result.FAILED])
    fps = fingerprints(failed, root, report.evaluated)
    rules: dict[str, dict[str, Any]] = {}
    rule_index: dict[str, int] = {}
    results = []
    for f in failed:
        if f.check_id not in rules:
            rule_index[f.check_id] = len(rules)
            rules[f.check_id] = _sarif_rule(f)
        fp, occurrence = fps[id(f)]
        result: dict[str, Any] = {
            "ruleId": f.check_id,
            "ruleIndex": rule_index[f.check_id],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.message or f.check_name}" + ("" if f.resource in (f.message or "")
                                                                  else f" ({f.resource})")},
            "locations": [_sarif_location(f, root)],
            "partialFingerprints": {FINGERPRINT_KIND: f"{fp}:{occurrence}"},
            "properties": {"severity": f.severity.value, "priority": f.priority, "resource": f.resource,
                           "risk_class": f.risk_class or None, "owners": list(f.owners),
                           "context": list(f.context), "explained": [e.describe() for e in f.explained]},
        }
        if baseline_state is not None:
            result["baselineState"] = baseline_state.get(id(f), "new")
        results.append(result)
    notifications = [_sarif_notification(p, root) for p in report.problems]
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "tfguard", "version": __version__, "semanticVersion": __version__,
                                    "rules": list(rules.values())}},
                "originalUriBaseIds": {SRCROOT: {"uri": _file_uri(root).rstrip("/") + "/"}},
                "columnKind": "unicodeCodePoints",
                "invocations": [{"executionSuccessful": not report.engine_failures,
                                 "toolExecutionNotifications": notifications}],
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def fingerprint(f: Finding, root: str) -> str:
    """Stable identity of a finding (tfguard/v2, see :func:`tfguard.scan.baseline.fingerprint`)."""
    from tfguard.scan.baseline import fingerprint as fp

    return fp(f, root)
