"""Checkov's own reporters, on tfguard's data (``checks/`` is the only package that imports Checkov).

:func:`gitlab_sast` is Checkov's ``GitLabSast`` (``checkov/common/output/gitlab_sast.py``) run on plain
records, with the scanner named by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any


@dataclass(frozen=True)
class SastRecord:
    """What Checkov's GitLab SAST reporter reads of a failed check's record."""

    check_id: str
    check_name: str
    repo_file_path: str
    file_line_range: tuple[int, int]
    guideline: str | None
    severity: str  # CRITICAL | HIGH | MEDIUM | LOW | NONE (Checkov's names; NONE is GitLab's Info)


def gitlab_sast(records: Sequence[SastRecord], tool: dict[str, Any], complete: bool = True) -> dict[str, Any]:
    """A GitLab SAST report (Checkov's schema version) of ``records``, ``tool`` as analyzer and scanner;
    ``complete=False``: the scan status is ``failure``."""
    from checkov.common.output.gitlab_sast import GitLabSast

    class _Sast(GitLabSast):
        def _create_scan(self) -> dict[str, Any]:
            scan = super()._create_scan()
            scan["analyzer"] = dict(tool)
            scan["scanner"] = dict(tool)
            if not complete:
                scan["status"] = "failure"
            return scan

    fake = [SimpleNamespace(check_id=r.check_id, check_name=r.check_name, repo_file_path=r.repo_file_path,
                            file_line_range=list(r.file_line_range), guideline=r.guideline,
                            severity=SimpleNamespace(name=r.severity)) for r in records]
    report: Any = SimpleNamespace(check_type="terraform", failed_checks=fake)
    return dict(_Sast([report]).sast_json)
