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
    message: str = ""
    details: tuple[str, ...] = ()
    caller_file: str | None = None  # for resources reported through a module call
    caller_line_range: tuple[int, int] | None = None
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
