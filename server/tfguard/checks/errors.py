"""A Checkov check that raised: one problem per (check, resource), as data.

Checkov's own handling (3.3.30): ``BaseCheck.run`` logs the exception with a traceback at ERROR
(``log_check_error``) and re-raises; the registry's ``run_check`` turns it into an ``UNKNOWN``
result, which ``Report.add_record`` drops. The other checks on the entity, the file and the run
go on, and the run reports nothing. tfguard records the exception where it is raised (see
``checkov_env.install_check_error_hook``) and reports it as a :class:`CheckError`, turned into a
``check-error`` :class:`~tfguard.model.Problem` located on the resource's block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tfguard.hcl.blocks import Block
from tfguard.model import Problem, Severity, Span

CHECK_ERROR = "check-error"  # Problem.code of a check that raised
_MAX_ERROR = 300  # characters of the exception text kept


@dataclass(frozen=True)
class CheckError:
    """A check that raised on one entity in Checkov's full runner."""

    check_id: str
    check_name: str
    resource: str  # address, e.g. azurerm_network_security_rule.bad; "" for a graph check (whole run)
    file: str  # absolute, real path; the run's root for a graph check
    line_range: tuple[int, int]  # 1-based, inclusive: the resource's block; (0, 0) when unknown
    error: str  # "ValueError: invalid literal for int() ..."


def error_text(exc: BaseException) -> str:
    """``Type: message`` of an exception, on one line, bounded."""
    text = f"{type(exc).__name__}: {exc}".replace("\r", " ").replace("\n", " ")
    return text[:_MAX_ERROR]


def check_error_message(check_id: str, resource: str, error: str) -> str:
    """The one line every output shows for a check that raised."""
    where = f" on {resource}" if resource else ""
    return f"Check {check_id} failed to run{where}: {error}"


def check_error_problem(file: str, span: Span, check_id: str, resource: str, error: str) -> Problem:
    """The ``check-error`` problem for ``check_id`` raising on ``resource`` (tier 1 and tier 2 alike)."""
    return Problem(file=file, span=span, message=check_error_message(check_id, resource, error), code=CHECK_ERROR,
                   severity=Severity.MEDIUM, check_id=check_id, resource=resource or None)


def check_error_problems(errors: Iterable[CheckError], blocks_of: Callable[[str], Iterable[Block]]) -> list[Problem]:
    """Problems for a run's check errors, each on its resource's block header.

    ``blocks_of(file)`` gives the blocks of a file (its current split); an error whose block is not
    found is placed on the first line of its line range.
    """
    out: list[Problem] = []
    by_file: dict[str, dict[int, Block]] = {}
    for err in errors:
        if not err.resource or err.line_range[0] <= 0:  # a graph check, or no known block: the first line
            out.append(check_error_problem(err.file, Span.of(0, 0, 0, 1), err.check_id, err.resource, err.error))
            continue
        if err.file not in by_file:
            try:
                by_file[err.file] = {b.start_line: b for b in blocks_of(err.file)}
            except Exception:  # an unreadable file: the line range still locates it
                by_file[err.file] = {}
        block = by_file[err.file].get(err.line_range[0])
        if block is not None:
            span = block.header_span
        else:
            line = max(0, err.line_range[0] - 1)
            span = Span.of(line, 0, line, 1)
        out.append(check_error_problem(err.file, span, err.check_id, err.resource, err.error))
    return out
