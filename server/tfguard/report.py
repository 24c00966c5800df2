"""Scan reports as text, JSON (versioned schema, see docs/json-schema.md) and SARIF 2.1.0."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from typing import Any

from tfguard import __version__
from tfguard.model import Finding, Problem, Result, ScanReport, Severity

JSON_SCHEMA_VERSION = "1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
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


def render_text(report: ScanReport, show_passed: bool = False, color: bool = False) -> str:
    """Readable terminal output: files by their worst finding, findings by priority."""
    root = report.root if os.path.isdir(report.root) else os.path.dirname(report.root)
    failed = ordered([f for f in report.findings if f.result is Result.FAILED])
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for f in failed:
        by_file[f.file].append(f)
    lines: list[str] = []

    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    colors = {Severity.CRITICAL: "1;31", Severity.HIGH: "31", Severity.MEDIUM: "33", Severity.LOW: "36",
              Severity.INFO: "2"}
    for file, items in sorted(by_file.items(), key=lambda kv: (-kv[1][0].priority, kv[0])):
        lines.append(paint(_rel(file, root), "1"))
        for f in items:
            pos = f"{f.span.start.line + 1}:{f.span.start.character + 1}"
            sev = paint(f"{f.severity.value:<8}", colors[f.severity])
            lines.append(f"  {pos:>8}  {sev} {f.check_id:<14} {f.resource}")
            lines.append(f"            {f.message or f.check_name}")
            if f.context:
                lines.append(f"            ({'; '.join(f.context)})")
        lines.append("")
    for p in report.problems:
        lines.append(f"{_rel(p.file, root)}:{p.span.start.line + 1}:{p.span.start.character + 1}: "
                     f"{p.severity.value} [{p.code}] {p.message}")
    counts = severity_counts(failed)
    passed = sum(1 for f in report.findings if f.result is Result.PASSED)
    skipped = sum(1 for f in report.findings if f.result is Result.SKIPPED)
    summary = ", ".join(f"{counts[s]} {s.value.lower()}" for s in Severity if counts[s])
    lines.append(
        f"tfguard: {len(failed)} failed ({summary or 'none'}), {passed} passed, {skipped} skipped, "
        f"{len(report.problems)} problems in {report.files_scanned} files"
    )
    return "\n".join(lines) + "\n"


def severity_counts(findings: list[Finding]) -> dict[Severity, int]:
    counts = {s: 0 for s in Severity}
    for f in findings:
        counts[f.severity] += 1
    return counts


def finding_json(f: Finding, root: str) -> dict[str, Any]:
    return {
        "check_id": f.check_id,
        "check_name": f.check_name,
        "result": f.result.value,
        "severity": f.severity.value,
        "priority": f.priority,
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
        "source": f.source,
        "guideline": f.guideline,
        "message": f.message or f.check_name,
        "suppress_comment": f.suppress_comment,
    }


def problem_json(p: Problem, root: str) -> dict[str, Any]:
    return {
        "file": _rel(p.file, root),
        "line": p.span.start.line + 1,
        "column": p.span.start.character + 1,
        "code": p.code,
        "severity": p.severity.value,
        "message": p.message,
    }


def render_json(report: ScanReport) -> str:
    root = report.root if os.path.isdir(report.root) else os.path.dirname(report.root)
    failed = [f for f in report.findings if f.result is Result.FAILED]
    doc = {
        "schema_version": JSON_SCHEMA_VERSION,
        "tool": {"name": "tfguard", "version": __version__},
        "root": report.root,
        "summary": {
            "files": report.files_scanned,
            "failed": len(failed),
            "passed": sum(1 for f in report.findings if f.result is Result.PASSED),
            "skipped": sum(1 for f in report.findings if f.result is Result.SKIPPED),
            "problems": len(report.problems),
            "by_severity": {s.value: n for s, n in severity_counts(failed).items()},
        },
        "findings": [finding_json(f, root) for f in ordered(report.findings)],
        "problems": [problem_json(p, root) for p in report.problems],
    }
    return json.dumps(doc, indent=2) + "\n"


def render_sarif(report: ScanReport) -> str:
    root = report.root if os.path.isdir(report.root) else os.path.dirname(report.root)
    failed = ordered([f for f in report.findings if f.result is Result.FAILED])
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in failed:
        if f.check_id not in rules:
            rule: dict[str, Any] = {
                "id": f.check_id,
                "name": f.check_id,
                "shortDescription": {"text": f.check_name},
                "fullDescription": {"text": f.check_name},
                "help": {"text": f"{f.check_name}. Guideline: {f.guideline or 'n/a'}"},
                "defaultConfiguration": {"level": _SARIF_LEVEL[f.severity]},
                "properties": {"security-severity": _SECURITY_SEVERITY[f.severity], "tags": ["security",
                                                                                           "terraform"]},
            }
            if f.guideline:
                rule["helpUri"] = f.guideline
            rules[f.check_id] = rule
        results.append(
            {
                "ruleId": f.check_id,
                "ruleIndex": list(rules).index(f.check_id),
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": f"{f.message or f.check_name} ({f.resource})"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _rel(f.file, root).replace(os.sep, "/"),
                                                 "uriBaseId": "%SRCROOT%"},
                            "region": {
                                "startLine": f.span.start.line + 1,
                                "startColumn": f.span.start.character + 1,
                                "endLine": f.span.end.line + 1,
                                "endColumn": max(f.span.end.character + 1, 1),
                            },
                        }
                    }
                ],
                "partialFingerprints": {"tfguard/v1": fingerprint(f, root)},
                "properties": {"severity": f.severity.value, "priority": f.priority},
            }
        )
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "tfguard", "version": __version__,
                                    "informationUri": "https://github.com/tfguard/tfguard",
                                    "rules": list(rules.values())}},
                "originalUriBaseIds": {"%SRCROOT%": {"uri": "file://" + root.rstrip("/") + "/"}},
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def fingerprint(f: Finding, root: str) -> str:
    """Stable identity of a finding: survives line moves (no line numbers in it)."""
    import hashlib

    key = f"{f.check_id}|{_rel(f.file, root)}|{f.resource}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]
