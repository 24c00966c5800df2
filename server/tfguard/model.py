"""Value types shared by every layer: plain frozen dataclasses, no behaviour beyond small helpers.

Positions are 0-based lines and 0-based columns counted in code points (Python ``str``
indices within the line). The LSP layer converts columns to the negotiated encoding once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar


class Severity(str, Enum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFO = "INFO"

    @property
    def rank(self) -> int:
        """Higher is worse: CRITICAL=4 … INFO=0."""
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Parse a severity name, case-insensitively; raise ValueError on an unknown name."""
        try:
            return cls(value.strip().upper())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {value!r} (expected one of {names})") from None

    @classmethod
    def from_rank(cls, rank: int) -> Severity:
        rank = max(0, min(4, rank))
        return next(s for s, r in _SEVERITY_RANK.items() if r == rank)


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


@dataclass(frozen=True, order=True)
class Position:
    line: int
    character: int


_new = object.__new__


def shift_span(span: Span, lines: int) -> Span:
    """``span`` moved down by ``lines`` (hot path: every finding of every moved block). Builds the
    frozen values without running their ``__init__`` (the same values, a third of the time)."""
    start, end = _new(Position), _new(Position)
    start.__dict__.update(line=span.start.line + lines, character=span.start.character)
    end.__dict__.update(line=span.end.line + lines, character=span.end.character)
    out = _new(Span)
    out.__dict__.update(start=start, end=end)
    return out


@dataclass(frozen=True)
class Span:
    start: Position
    end: Position

    @staticmethod
    def of(line: int, col: int, end_line: int, end_col: int) -> Span:
        return Span(Position(line, col), Position(end_line, end_col))

    def contains(self, pos: Position) -> bool:
        return self.start <= pos <= self.end

    def overlaps(self, other: Span) -> bool:
        return not (other.end < self.start or self.end < other.start)


class Result(str, Enum):
    FAILED = "FAILED"
    PASSED = "PASSED"
    SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class Explained:
    """Where a value a check read came from (issue #18, explained values): ``acl = var.acl`` is
    ``"public-read"`` from ``prod.tfvars:1`` (see :mod:`tfguard.explain`)."""

    key: str  # the attribute the check read, as Checkov names it (``acl``, ``versioning/enabled``)
    expression: str  # as written in the block: ``var.acl``
    value: str  # the value it took, as HCL/JSON text: ``"public-read"``
    origin: str  # for people, relative to the repository: ``prod.tfvars:1``, ``variables.tf:3``
    kind: str  # default | tfvars | var-file | module-input | local
    file: str | None = None  # absolute path of the origin
    line: int | None = None  # 1-based line of the origin
    via: str | None = None  # ``module.s3`` when the value is a caller's input

    def describe(self) -> str:
        """``acl = var.acl → "public-read" (prod.tfvars:1)`` (``, input of module.s3`` when a caller's)."""
        how = {"default": "default at ", "module-input": "input at ", "local": "local at "}.get(self.kind, "")
        via = f" via {self.via}" if self.via else ""
        return f"{self.key} = {self.expression} → {self.value} ({how}{self.origin}{via})"


@dataclass(frozen=True)
class Finding:
    """One check result on one entity, as Checkov's records carry it, plus what tfguard adds."""

    check_id: str
    check_name: str
    result: Result
    file: str  # absolute path
    resource: str  # address, e.g. aws_s3_bucket.data or module.vpc.aws_vpc.this[0]
    line_range: tuple[int, int]  # 1-based, inclusive: the whole block, as Checkov reports it
    span: Span  # where to show it: the evaluated attribute, else the block header
    evaluated_keys: tuple[str, ...] = ()
    source: str = "checkov"  # checkov | graph | policy | org
    block_type: str = "resource"
    suppress_comment: str | None = None  # the reason of a skip comment, for SKIPPED results
    guideline: str | None = None
    severity: Severity = Severity.MEDIUM
    priority: int = 0  # higher is more urgent; see priority.rank
    context: tuple[str, ...] = ()  # human-readable reasons behind the priority
    risk_class: str = ""  # tfguard.risk class (public-exposure ... hygiene); "" before ranking
    owners: tuple[str, ...] = ()  # CODEOWNERS of the file (tfguard.owners)
    explained: tuple[Explained, ...] = ()  # the evaluated values the check read, and their origin
    message: str = ""
    details: tuple[str, ...] = ()
    caller_file: str | None = None  # for resources reported through a module call
    caller_line_range: tuple[int, int] | None = None
    # a module-instance finding shown once for all its callers: (caller file, call's first line, last line,
    # module address), one per caller (see engine.tier2.merge_instances); empty otherwise
    callers: tuple[tuple[str, int, int, str], ...] = ()
    plan_file: str | None = None  # a finding of a Terraform plan: the plan (``file`` is its .tf source when mapped)
    # The finding this one was moved from (the same block text, now on other lines); lets caches
    # downstream (the LSP's serialised diagnostics) reuse their work. Not part of the value.
    origin: Finding | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        """Identity for comparing result sets (parity with the Checkov CLI)."""
        return (self.check_id, self.file, self.resource, self.line_range[0], self.line_range[1])


@dataclass(frozen=True)
class Problem:
    """Something that stopped analysis of part of a file: syntax error, unreadable file, engine error."""

    file: str
    span: Span
    message: str
    code: str  # syntax | read | too-large | engine | config | check-error | budget
    severity: Severity = Severity.HIGH
    check_id: str | None = None  # code "check-error": the check that raised
    resource: str | None = None  # code "check-error": the resource it raised on

    @property
    def engine_failure(self) -> bool:
        """True when the result is incomplete because tfguard or a check failed (see ENGINE_FAILURE_CODES)."""
        return self.code in ENGINE_FAILURE_CODES


# Problem codes meaning a check or the engine failed: the results are incomplete.
ENGINE_FAILURE_CODES = frozenset({"check-error", "engine"})


_T = TypeVar("_T")


def _copy_with(obj: _T, **changes: object) -> _T:
    """``dataclasses.replace`` for these frozen value types, without re-running ``__init__`` (hot
    path: every finding of every block below an inserted line moves)."""
    new = _new(type(obj))
    new.__dict__.update(obj.__dict__, **changes)
    return new


def shift_finding(f: Finding, lines: int) -> Finding:
    """``f`` moved down by ``lines``; it remembers the finding it came from (``origin``)."""
    if lines == 0:
        return f
    return _copy_with(f, span=shift_span(f.span, lines), line_range=(f.line_range[0] + lines, f.line_range[1] + lines),
                      origin=f.origin or f)


def shift_problem(p: Problem, lines: int) -> Problem:
    return p if lines == 0 else _copy_with(p, span=shift_span(p.span, lines))


@dataclass(frozen=True)
class TextEdit:
    span: Span
    new_text: str


@dataclass(frozen=True)
class FileEdits:
    file: str
    edits: tuple[TextEdit, ...]


@dataclass(frozen=True)
class FileReport:
    """Everything known about one file after a run."""

    file: str
    findings: tuple[Finding, ...] = ()
    problems: tuple[Problem, ...] = ()


@dataclass
class ScanReport:
    """Result of scanning one or more paths: findings and problems, per file."""

    root: str
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files_scanned: int = 0
    # What each failed finding's baseline fingerprint is made of (baseline.evaluated_content), kept
    # with the report so that a report from the scan cache needs no file re-read to fingerprint.
    evaluated: dict[Finding, str] = field(default_factory=dict)

    # Checkov warnings logged while this report's runs ran (safe-evaluation errors, module loading):
    # counted, not shown (see checks.checkov_env.checkov_warning_summary).
    checkov_warnings: dict[str, int] = field(default_factory=dict)  # kind -> count

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.result is Result.FAILED]

    @property
    def engine_failures(self) -> list[Problem]:
        """Problems meaning the results are incomplete: a check that raised, an engine failure."""
        return [p for p in self.problems if p.engine_failure]

# --------------------------------------------------------------------------- JSON
# Reports as JSON values (the scan cache). ``*_from_json`` raise ValueError (or KeyError/TypeError)
# on anything that is not exactly what ``*_to_json`` gives.

Json = dict[str, object]


def _str(v: object) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {type(v).__name__}")
    return v


def _opt_str(v: object) -> str | None:
    return None if v is None else _str(v)


def _int(v: object) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise ValueError(f"expected an integer, got {type(v).__name__}")
    return v


def _pair(v: object) -> tuple[int, int]:
    if not isinstance(v, list) or len(v) != 2:
        raise ValueError("expected a pair of integers")
    return _int(v[0]), _int(v[1])


def _strs(v: object) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise ValueError("expected a list of strings")
    return tuple(_str(x) for x in v)


def span_to_json(s: Span) -> list[int]:
    """``[start line, start character, end line, end character]``."""
    return [s.start.line, s.start.character, s.end.line, s.end.character]


def span_from_json(v: object) -> Span:
    """The span :func:`span_to_json` gave."""
    if not isinstance(v, list) or len(v) != 4:
        raise ValueError("expected a span of four integers")
    a, b, c, d = (_int(x) for x in v)
    return Span.of(a, b, c, d)


def finding_to_json(f: Finding) -> Json:
    """A finding as a JSON object (``origin`` is not part of the value and is dropped)."""
    return {
        "check_id": f.check_id, "check_name": f.check_name, "result": f.result.value, "file": f.file,
        "resource": f.resource, "line_range": list(f.line_range), "span": span_to_json(f.span),
        "evaluated_keys": list(f.evaluated_keys), "source": f.source, "block_type": f.block_type,
        "suppress_comment": f.suppress_comment, "guideline": f.guideline, "severity": f.severity.value,
        "priority": f.priority, "context": list(f.context), "risk_class": f.risk_class, "owners": list(f.owners),
        "message": f.message,
        "details": list(f.details),
        "caller_file": f.caller_file,
        "caller_line_range": list(f.caller_line_range) if f.caller_line_range is not None else None,
        "plan_file": f.plan_file,
        "explained": [explained_to_json(e) for e in f.explained],
    }


def explained_to_json(e: Explained) -> Json:
    """An explained value as a JSON object."""
    return {"key": e.key, "expression": e.expression, "value": e.value, "origin": e.origin, "kind": e.kind,
            "file": e.file, "line": e.line, "via": e.via}


def explained_from_json(d: object) -> Explained:
    """The explained value :func:`explained_to_json` gave."""
    if not isinstance(d, dict):
        raise ValueError("expected an explained value object")
    line = d.get("line")
    return Explained(key=_str(d["key"]), expression=_str(d["expression"]), value=_str(d["value"]),
                     origin=_str(d["origin"]), kind=_str(d["kind"]), file=_opt_str(d.get("file")),
                     line=None if line is None else _int(line), via=_opt_str(d.get("via")))


def finding_from_json(d: object) -> Finding:
    """The finding :func:`finding_to_json` gave."""
    if not isinstance(d, dict):
        raise ValueError("expected a finding object")
    clr = d["caller_line_range"]
    return Finding(
        check_id=_str(d["check_id"]), check_name=_str(d["check_name"]), result=Result(d["result"]),
        file=_str(d["file"]), resource=_str(d["resource"]), line_range=_pair(d["line_range"]),
        span=span_from_json(d["span"]), evaluated_keys=_strs(d["evaluated_keys"]), source=_str(d["source"]),
        block_type=_str(d["block_type"]), suppress_comment=_opt_str(d["suppress_comment"]),
        guideline=_opt_str(d["guideline"]), severity=Severity(d["severity"]), priority=_int(d["priority"]),
        context=_strs(d["context"]), risk_class=_str(d["risk_class"]), owners=_strs(d["owners"]),
        message=_str(d["message"]),
        details=_strs(d["details"]),
        caller_file=_opt_str(d["caller_file"]), caller_line_range=None if clr is None else _pair(clr),
        plan_file=_opt_str(d.get("plan_file")),
        explained=tuple(explained_from_json(e) for e in (d.get("explained") or ())),
    )


def problem_to_json(p: Problem) -> Json:
    """A problem as a JSON object."""
    return {"file": p.file, "span": span_to_json(p.span), "message": p.message, "code": p.code,
            "severity": p.severity.value, "check_id": p.check_id, "resource": p.resource}


def problem_from_json(d: object) -> Problem:
    """The problem :func:`problem_to_json` gave."""
    if not isinstance(d, dict):
        raise ValueError("expected a problem object")
    return Problem(_str(d["file"]), span_from_json(d["span"]), _str(d["message"]), _str(d["code"]),
                   Severity(d["severity"]), check_id=_opt_str(d["check_id"]), resource=_opt_str(d["resource"]))


def report_to_json(r: ScanReport) -> Json:
    """A scan report as a JSON object; ``evaluated`` is a list aligned with ``findings`` (null: none)."""
    return {
        "root": r.root,
        "files_scanned": r.files_scanned,
        "findings": [finding_to_json(f) for f in r.findings],
        "problems": [problem_to_json(p) for p in r.problems],
        "evaluated": [r.evaluated.get(f) for f in r.findings],
        "checkov_warnings": dict(r.checkov_warnings),
    }


def report_from_json(d: object) -> ScanReport:
    """The report :func:`report_to_json` gave."""
    if not isinstance(d, dict):
        raise ValueError("expected a report object")
    raw_findings, raw_problems, evaluated = d["findings"], d["problems"], d["evaluated"]
    if not isinstance(raw_findings, list) or not isinstance(raw_problems, list) or not isinstance(evaluated, list):
        raise ValueError("findings, problems and evaluated must be lists")
    if len(evaluated) != len(raw_findings):
        raise ValueError("evaluated is not aligned with findings")
    report = ScanReport(root=_str(d["root"]), files_scanned=_int(d["files_scanned"]))
    report.findings = [finding_from_json(f) for f in raw_findings]
    report.problems = [problem_from_json(p) for p in raw_problems]
    warnings = d["checkov_warnings"]
    if not isinstance(warnings, dict):
        raise ValueError("checkov_warnings must be an object")
    report.checkov_warnings = {_str(k): _int(n) for k, n in warnings.items()}
    for f, content in zip(report.findings, evaluated, strict=True):
        if content is not None:
            report.evaluated[f] = _str(content)
    return report
