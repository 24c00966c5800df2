"""Turn `checkov -o json` and `tfguard scan --format json` output into comparable result sets."""

from __future__ import annotations

import json
import os
from typing import Any

Key = tuple[str, str, str, int, int, str]  # check id, real file path, resource, first line, last line, result

_CHECKOV_SECTIONS = (("failed_checks", "FAILED"), ("passed_checks", "PASSED"), ("skipped_checks", "SKIPPED"))


def _reports(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)]
    if isinstance(data, dict):
        return [data]
    return []


def checkov_keys(output: str) -> set[Key]:
    """Result keys of a ``checkov -o json`` run (an empty run prints a summary without results)."""
    out: set[Key] = set()
    text = output.strip()
    if not text:
        return out
    for rep in _reports(json.loads(text)):
        if rep.get("check_type", "terraform") != "terraform":
            continue
        results = rep.get("results") or {}
        for section, status in _CHECKOV_SECTIONS:
            for r in results.get(section) or []:
                lr = r["file_line_range"]
                out.add((r["check_id"], os.path.realpath(r["file_abs_path"]), r["resource"], int(lr[0]),
                         int(lr[1]), status))
    return out


def tfguard_keys(output: str) -> set[Key]:
    """Result keys of a ``tfguard scan --format json`` run (Checkov's checks only, not org rules)."""
    data = json.loads(output)
    out: set[Key] = set()
    for f in data["findings"]:
        if f.get("source") not in ("checkov", "graph"):
            continue
        lr = f["line_range"]
        out.add((f["check_id"], os.path.realpath(f["file_abs_path"]), f["resource"], int(lr[0]), int(lr[1]),
                 f["result"]))
    return out


def describe_diff(expected: set[Key], actual: set[Key], limit: int = 60) -> str:
    """Readable diff: what only Checkov reports and what only tfguard reports."""
    lines = []
    only_ck = sorted(expected - actual)
    only_tg = sorted(actual - expected)
    lines.append(f"only in checkov -d ({len(only_ck)}):")
    lines.extend(f"  {k}" for k in only_ck[:limit])
    lines.append(f"only in tfguard scan ({len(only_tg)}):")
    lines.extend(f"  {k}" for k in only_tg[:limit])
    return "\n".join(lines)
