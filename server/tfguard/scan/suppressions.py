"""``tfguard suppressions``: every skip comment, who wrote it, and what is wrong with it.

A *suppression* is a ``checkov:skip=ID[,ID]:reason`` comment (also ``bridgecrew:skip=`` and
``cortex:skip=``; tfguard's own checks ``TFG_*`` use the same comments) on a line strictly inside a
top-level block, where Checkov honours it. Each one is listed with check, resource, file, line and
reason, and, when the file is tracked by git, the author and date of that line
(``git blame --porcelain -L n,n``).

Violations (``--fail-on-violations`` exits 1 when there is any):

``no-reason``
    no reason given (Checkov records "No comment provided"), or an empty one;
``placeholder``
    a placeholder reason: tfguard's quick-fix placeholder ("TODO: justify this suppression"),
    ``TODO``/``FIXME``/``TBD``/``XXX``..., ``reason``, ``n/a``, or shorter than 3 letters/digits;
``no-ticket``
    the reason has no match of the ticket pattern (``--ticket-pattern`` or ``.tfguard.yaml``
    ``suppressions.ticket_pattern``; checked only when one is configured);
``stale``
    the check would not fail on that resource without the skip: the module is analysed again with
    every skip comment removed (same line numbers, unsaved-text overlay of the engine) and Checkov
    reports the check PASSED, or does not report it at all (it does not apply, or the id is unknown);
``not-suppressible``
    SecOps marked the check as not suppressible (``.tfguard.yaml`` ``suppressions.not_suppressible``,
    ids or fnmatch patterns, or ``--not-suppressible``).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatchcase
from typing import Any

from tfguard import __version__
from tfguard.checks.skips import NO_REASON, SKIP_RE, block_skips
from tfguard.files import run_git
from tfguard.fixes.suppress import SUPPRESS_PLACEHOLDER
from tfguard.hcl.blocks import split_blocks
from tfguard.model import Result

log = logging.getLogger(__name__)

NO_REASON_CODE = "no-reason"
PLACEHOLDER = "placeholder"
NO_TICKET = "no-ticket"
STALE = "stale"
NOT_SUPPRESSIBLE = "not-suppressible"
VIOLATION_CODES = (NO_REASON_CODE, PLACEHOLDER, NO_TICKET, STALE, NOT_SUPPRESSIBLE)
_VIOLATION_TITLES = {
    NO_REASON_CODE: "Suppression without a reason",
    PLACEHOLDER: "Suppression with a placeholder reason",
    NO_TICKET: "Suppression without a ticket reference",
    STALE: "Stale suppression: the check no longer fails",
    NOT_SUPPRESSIBLE: "Suppression of a check that must not be suppressed",
}
_VIOLATION_LEVEL = {NO_REASON_CODE: "error", PLACEHOLDER: "error", NO_TICKET: "warning", STALE: "warning",
                    NOT_SUPPRESSIBLE: "error"}

# Whole reasons that say nothing (compared lower-case, punctuation dropped).
PLACEHOLDER_REASONS = frozenset({
    "todo", "fixme", "tbd", "tbc", "tba", "xxx", "reason", "the reason", "reason here", "your reason",
    "add reason", "justification", "justify", "na", "n a", "none", "no reason", "nothing", "placeholder",
    "temp", "temporary", "wip", "skip", "skipped", "ignore", "ignored", "suppress", "suppressed", "test",
    "later", "fix later", "todo later", "comment", "description", "why", "because",
})
_PLACEHOLDER_PREFIX = re.compile(r"^(todo|fixme|tbd|tbc|xxx|hack)\b")


def is_placeholder(reason: str) -> bool:
    """True for a reason that justifies nothing (see ``placeholder`` in the module docstring)."""
    text = " ".join(reason.split()).lower()
    if text == SUPPRESS_PLACEHOLDER.lower():
        return True
    words = " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())
    if sum(c.isalnum() for c in words) < 3:
        return True
    return words in PLACEHOLDER_REASONS or _PLACEHOLDER_PREFIX.match(words) is not None


@dataclass(frozen=True)
class Violation:
    code: str  # one of VIOLATION_CODES
    message: str


@dataclass(frozen=True)
class Blame:
    author: str | None
    mail: str | None
    date: str | None  # ISO 8601 with the author's offset
    commit: str | None  # None for a line not committed yet
    summary: str | None = None


@dataclass(frozen=True)
class Suppression:
    check_id: str
    file: str  # absolute
    line: int  # 0-based line of the comment
    column: int  # 0-based column where the directive (``checkov:skip=``) starts
    end_column: int
    resource: str  # address of the block holding it
    block_type: str
    block_start_line: int  # 1-based, as Checkov counts
    reason: str | None  # None when no reason was given
    directive: str  # checkov | bridgecrew | cortex
    blame: Blame | None = None
    violations: tuple[Violation, ...] = ()


@dataclass
class AuditOptions:
    ticket_pattern: str | None = None  # overrides .tfguard.yaml suppressions.ticket_pattern
    not_suppressible: tuple[str, ...] = ()  # added to .tfguard.yaml suppressions.not_suppressible
    stale: bool = True
    blame: bool = True
    config_file: str | None = None


@dataclass
class AuditResult:
    root: str
    suppressions: list[Suppression] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files_scanned: int = 0

    @property
    def violations(self) -> list[tuple[Suppression, Violation]]:
        return [(s, v) for s in self.suppressions for v in s.violations]


# --------------------------------------------------------------------------- finding skips


def find_suppressions(path: str, text: str) -> list[Suppression]:
    """Skip comments of one Terraform file, where Checkov honours them (inside a top-level block)."""
    split = split_blocks(text)
    out: list[Suppression] = []
    for block in split.blocks:
        if not block.kind or block.kind == "attribute":
            continue
        for skip in block_skips(block):
            line_text = split.lines.line_text(skip.line)
            m = SKIP_RE.search(line_text)
            col, end = (m.start(), m.end()) if m else (0, len(line_text))
            directive = m.group(1).split(":")[0] if m else "checkov"
            reason: str | None = skip.reason if skip.has_reason else None
            if reason is not None and not reason.strip():
                reason = None
            out.append(Suppression(
                check_id=skip.check_id, file=path, line=skip.line, column=col, end_column=end,
                resource=block.address, block_type=block.kind, block_start_line=block.start_line,
                reason=reason.strip() if reason is not None else None, directive=directive,
            ))
    return out


def strip_skips(text: str) -> str:
    """``text`` with every skip directive removed (comment markers stay; line numbers do not change)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if "skip=" in line:
            lines[i] = SKIP_RE.sub("", line)
    return "\n".join(lines)


# --------------------------------------------------------------------------- git blame


def git_toplevel(path: str) -> str | None:
    """The work tree holding ``path``, or None when it is not in a git repository (or git is absent)."""
    d = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    got = run_git(d, ["rev-parse", "--show-toplevel"], timeout=30)  # no repository-chosen program runs
    if got is None:
        return None
    return got.stdout.strip() or None if got.returncode == 0 else None


def blame_line(path: str, line: int) -> Blame | None:
    """Author and date of the 0-based ``line`` of ``path`` (``git blame --porcelain -L n,n``)."""
    d = os.path.dirname(os.path.abspath(path))
    got = run_git(d, ["blame", "--no-textconv", "--porcelain", "-L", f"{line + 1},{line + 1}", "--",
                      os.path.basename(path)], timeout=60)  # through files.run_git: no repository-chosen program
    if got is None or got.returncode != 0 or not got.stdout:
        return None
    return parse_porcelain(got.stdout)


def parse_porcelain(out: str) -> Blame | None:
    """The first entry of ``git blame --porcelain`` output."""
    lines = out.splitlines()
    if not lines:
        return None
    sha = lines[0].split(" ")[0]
    fields: dict[str, str] = {}
    for ln in lines[1:]:
        if ln.startswith("\t"):
            break
        key, _, value = ln.partition(" ")
        fields[key] = value
    if set(sha) == {"0"}:
        return Blame(author=None, mail=None, date=None, commit=None, summary="not committed yet")
    date = None
    if "author-time" in fields:
        try:
            tz = fields.get("author-tz", "+0000")
            sign = -1 if tz.startswith("-") else 1
            offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
            date = datetime.fromtimestamp(int(fields["author-time"]), timezone(offset)).isoformat()
        except (ValueError, IndexError):
            date = None
    mail = fields.get("author-mail", "").strip("<>") or None
    return Blame(author=fields.get("author"), mail=mail, date=date, commit=sha, summary=fields.get("summary"))


# --------------------------------------------------------------------------- staleness


def failing_after_unskip(engine: Any, module_dir: str, files: dict[str, str]) -> dict[tuple[str, int, str], str]:
    """Run tier 2 on ``module_dir`` with the skips of ``files`` removed (unsaved overlays).

    Returns ``(realpath, block start line, check id) -> result`` (FAILED wins over PASSED).
    """
    for path, text in files.items():
        engine.set_overlay(path, strip_skips(text))
    try:
        analysis = engine.analyze_module(module_dir)
    finally:
        for path in files:
            engine.drop_overlay(path)
    out: dict[tuple[str, int, str], str] = {}
    for fa in analysis.values():
        for f in fa.findings:
            key = (os.path.realpath(f.file), f.line_range[0], f.check_id.upper())
            if f.result is Result.FAILED or key not in out:
                out[key] = f.result.value
    return out


# --------------------------------------------------------------------------- audit


def audit(paths: Sequence[str], options: AuditOptions | None = None) -> AuditResult:
    """Find and judge every suppression under ``paths`` (directories or files)."""
    from tfguard.files import iter_terraform_files, read_disk
    from tfguard.wiring import make_verdict_engine

    options = options or AuditOptions()
    if options.ticket_pattern is not None:
        try:
            re.compile(options.ticket_pattern)
        except re.error as e:
            raise ValueError(f"invalid --ticket-pattern: {e}") from None
    first = os.path.abspath(paths[0])
    root = first if os.path.isdir(first) else os.path.dirname(first)
    # no finding hook: staleness is about Checkov's verdict, not about what is reported
    engine = make_verdict_engine(root, config_file=options.config_file)
    result = AuditResult(root=root)
    texts: dict[str, str] = {}
    for p in paths:
        for f in iter_terraform_files(os.path.abspath(p)):
            if not f.endswith((".tf", ".tofu")) or f in texts:
                continue
            result.files_scanned += 1
            text, problem = read_disk(f)
            if text is None:
                if problem is not None:
                    result.problems.append(f"{f}: {problem.message}")
                continue
            texts[f] = text
            result.suppressions.extend(find_suppressions(f, text))

    blame_ok = options.blame and git_toplevel(root) is not None
    stale_results: dict[tuple[str, int, str], str] = {}
    if options.stale:
        by_dir: dict[str, dict[str, str]] = {}
        for s in result.suppressions:
            by_dir.setdefault(os.path.dirname(s.file), {})[s.file] = texts[s.file]
        for module_dir, files in sorted(by_dir.items()):
            try:
                stale_results.update(failing_after_unskip(engine, module_dir, files))
            except Exception as e:  # never let one module hide the rest of the audit
                log.exception("stale-skip analysis failed in %s", module_dir)
                result.problems.append(f"{module_dir}: could not check for stale skips: {e}")
                for f in files:
                    stale_results[(os.path.realpath(f), -1, "")] = "ERROR"

    judged: list[Suppression] = []
    for s in result.suppressions:
        cfg = engine.configs.config_for(s.file) if engine.configs is not None else None
        pattern = options.ticket_pattern if options.ticket_pattern is not None else (
            cfg.ticket_pattern if cfg is not None else None)
        locked = tuple(options.not_suppressible) + (cfg.not_suppressible if cfg is not None else ())
        violations: list[Violation] = []
        if s.reason is None or s.reason == NO_REASON:
            violations.append(Violation(NO_REASON_CODE, f"no reason given for skipping {s.check_id}"))
        elif is_placeholder(s.reason):
            violations.append(Violation(PLACEHOLDER, f"placeholder reason {s.reason!r}: say why {s.check_id} "
                                                     f"does not apply or why the risk is accepted"))
        elif pattern and re.search(pattern, s.reason) is None:
            violations.append(Violation(NO_TICKET, f"reason has no ticket reference matching {pattern}"))
        if any(fnmatchcase(s.check_id.upper(), p.upper()) for p in locked):
            violations.append(Violation(NOT_SUPPRESSIBLE, f"{s.check_id} must not be suppressed (SecOps policy)"))
        if options.stale and (os.path.realpath(s.file), -1, "") not in stale_results:
            verdict = stale_results.get((os.path.realpath(s.file), s.block_start_line, s.check_id.upper()))
            if verdict != Result.FAILED.value:
                why = ("passes without the skip" if verdict == Result.PASSED.value
                       else "is not reported on this resource without the skip (it does not apply, or the id "
                            "is unknown)")
                violations.append(Violation(STALE, f"{s.check_id} {why}: remove the skip"))
        blame = blame_line(s.file, s.line) if blame_ok else None
        judged.append(replace(s, blame=blame, violations=tuple(violations)))
    result.suppressions = sorted(judged, key=lambda s: (s.file, s.line, s.check_id))
    return result


# --------------------------------------------------------------------------- reports


def _rel(path: str, root: str) -> str:
    from tfguard.scan.baseline import rel_path

    return rel_path(path, root)


def suppression_json(s: Suppression, root: str) -> dict[str, Any]:
    b = s.blame
    return {
        "check_id": s.check_id,
        "resource": s.resource,
        "block_type": s.block_type,
        "file": _rel(s.file, root),
        "file_abs_path": s.file,
        "line": s.line + 1,
        "column": s.column + 1,
        "reason": s.reason,
        "directive": s.directive,
        "author": b.author if b else None,
        "author_mail": b.mail if b else None,
        "date": b.date if b else None,
        "commit": b.commit if b else None,
        "committed": (b.commit is not None) if b else None,
        "violations": [{"code": v.code, "message": v.message} for v in s.violations],
    }


def render_audit_json(result: AuditResult) -> str:
    counts = Counter(v.code for _, v in result.violations)
    doc = {
        "schema_version": "1.0",
        "tool": {"name": "tfguard", "version": __version__},
        "root": result.root,
        "summary": {
            "files": result.files_scanned,
            "suppressions": len(result.suppressions),
            "with_violations": sum(1 for s in result.suppressions if s.violations),
            "violations": len(result.violations),
            "by_violation": {c: counts.get(c, 0) for c in VIOLATION_CODES},
        },
        "suppressions": [suppression_json(s, result.root) for s in result.suppressions],
        "problems": result.problems,
    }
    return json.dumps(doc, indent=2) + "\n"


def render_audit_text(result: AuditResult, color: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    lines: list[str] = []
    for s in result.suppressions:
        where = f"{_rel(s.file, result.root)}:{s.line + 1}"
        reason = repr(s.reason) if s.reason is not None else paint("(no reason)", "33")
        who = ""
        if s.blame is not None:
            who = ("  (not committed yet)" if s.blame.commit is None
                   else f"  ({s.blame.author} <{s.blame.mail}>, {(s.blame.date or '')[:10]})")
        lines.append(f"{paint(where, '1')}  {s.check_id}  {s.resource}  {reason}{who}")
        for v in s.violations:
            lines.append(f"    {paint(v.code, '31')}: {v.message}")
    for p in result.problems:
        lines.append(f"problem: {p}")
    counts = Counter(v.code for _, v in result.violations)
    detail = ", ".join(f"{counts[c]} {c}" for c in VIOLATION_CODES if counts[c])
    lines.append(f"tfguard: {len(result.suppressions)} suppressions in {result.files_scanned} files, "
                 f"{len(result.violations)} violations" + (f" ({detail})" if detail else ""))
    return "\n".join(lines) + "\n"


def render_audit_sarif(result: AuditResult) -> str:
    """Every suppression as a SARIF result: violations with their rule, compliant ones informational."""
    from tfguard.scan.report import SARIF_SCHEMA, SRCROOT, _file_uri, _uri_path

    rule_ids = ["TFG_SUPPRESSION", *(f"TFG_SUPPRESSION_{c.upper().replace('-', '_')}" for c in VIOLATION_CODES)]
    rules = [{
        "id": "TFG_SUPPRESSION",
        "name": "Suppression",
        "shortDescription": {"text": "A check suppressed with a skip comment"},
        "fullDescription": {"text": "A checkov:skip comment; listed for review."},
        "help": {"text": "Every skip comment should give a reason and a ticket reference."},
        "defaultConfiguration": {"level": "none"},
    }]
    for c in VIOLATION_CODES:
        rules.append({
            "id": f"TFG_SUPPRESSION_{c.upper().replace('-', '_')}",
            "name": "".join(w.capitalize() for w in _VIOLATION_TITLES[c].replace(":", "").split()),
            "shortDescription": {"text": _VIOLATION_TITLES[c]},
            "fullDescription": {"text": _VIOLATION_TITLES[c] + "."},
            "help": {"text": f"{_VIOLATION_TITLES[c]} (tfguard suppressions: {c})."},
            "defaultConfiguration": {"level": _VIOLATION_LEVEL[c]},
            "properties": {"tags": ["security", "suppression"]},
        })
    results = []
    for s in result.suppressions:
        rel = _rel(s.file, result.root)
        artifact = {"uri": _file_uri(s.file)} if os.path.isabs(rel) else {"uri": _uri_path(rel),
                                                                          "uriBaseId": SRCROOT}
        location = {"physicalLocation": {"artifactLocation": artifact, "region": {
            "startLine": s.line + 1, "startColumn": s.column + 1, "endLine": s.line + 1,
            "endColumn": max(s.end_column + 1, s.column + 2)}},
            "logicalLocations": [{"fullyQualifiedName": s.resource, "kind": "resource"}]}
        props = {k: v for k, v in suppression_json(s, result.root).items() if k not in ("violations",)}
        base = f"{s.check_id} suppressed on {s.resource}: " + (repr(s.reason) if s.reason else "no reason")
        if not s.violations:
            results.append({"ruleId": "TFG_SUPPRESSION", "ruleIndex": 0, "kind": "informational", "level": "none",
                            "message": {"text": base}, "locations": [location], "properties": props})
        for v in s.violations:
            rid = f"TFG_SUPPRESSION_{v.code.upper().replace('-', '_')}"
            results.append({"ruleId": rid, "ruleIndex": rule_ids.index(rid), "kind": "fail",
                            "level": _VIOLATION_LEVEL[v.code], "message": {"text": f"{base}. {v.message}"},
                            "locations": [location], "properties": props})
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "tfguard-suppressions", "version": __version__,
                                "informationUri": "https://github.com/tfguard/tfguard", "rules": rules}},
            "originalUriBaseIds": {SRCROOT: {"uri": _file_uri(result.root).rstrip("/") + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2) + "\n"


__all__ = [
    "VIOLATION_CODES",
    "AuditOptions",
    "AuditResult",
    "Blame",
    "Suppression",
    "Violation",
    "audit",
    "blame_line",
    "find_suppressions",
    "is_placeholder",
    "parse_porcelain",
    "render_audit_json",
    "render_audit_sarif",
    "render_audit_text",
    "strip_skips",
]
