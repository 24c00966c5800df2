"""The gate fails closed: an incomplete or empty scan is 2, never a pass; opt-outs as Checkov spells them."""

from __future__ import annotations

import pytest

from tfguard.model import Finding, Problem, Result, ScanReport, Severity, Span
from tfguard.scan.verdict import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, GateOptions, decide, decide_scoped


def _finding(check: str, severity: Severity) -> Finding:
    return Finding(check_id=check, check_name=check, result=Result.FAILED, file="/r/main.tf",
                   resource="aws_s3_bucket.b", line_range=(1, 3), span=Span.of(0, 0, 0, 1), severity=severity)


def _report(*problems: Problem, files: int = 1) -> ScanReport:
    report = ScanReport(root="/r")
    report.files_scanned = files
    report.problems.extend(problems)
    return report


CRASH = Problem("/r/main.tf", Span.of(4, 0, 4, 1), "Check CKV_AZURE_9 failed to run", "check-error")
HIGH = _finding("CKV_AWS_24", Severity.HIGH)
LOW = _finding("CKV_AWS_18", Severity.LOW)


@pytest.mark.parametrize("code", ["engine", "check-error", "read", "too-large", "syntax", "unscannable"])
def test_an_incomplete_scan_is_2_even_without_findings(code: str) -> None:
    problem = Problem("/r/main.tf", Span.of(0, 0, 0, 1), "x", code)
    got = decide(_report(problem), [], GateOptions())
    assert got.exit_code == EXIT_ERROR and got.reason is not None and "/r/main.tf" in got.reason


def test_configuration_notes_do_not_fail_the_gate() -> None:
    note = Problem("/r/.checkov.yaml", Span.of(0, 0, 0, 1), "option ignored", "config", Severity.INFO)
    assert decide(_report(note), [], GateOptions()).exit_code == EXIT_OK


def test_nothing_scanned_is_2() -> None:
    got = decide(_report(files=0), [], GateOptions())
    assert got.exit_code == EXIT_ERROR and got.reason is not None and "nothing to scan" in got.reason


def test_findings_fail_and_the_opt_outs_narrow_them() -> None:
    assert decide(_report(), [HIGH, LOW], GateOptions()).exit_code == EXIT_FINDINGS
    assert decide(_report(), [], GateOptions()).exit_code == EXIT_OK
    assert decide(_report(), [HIGH, LOW], GateOptions(soft_fail=True)).exit_code == EXIT_OK
    assert decide(_report(), [LOW], GateOptions(soft_fail=True, hard_fail_on=("HIGH",))).exit_code == EXIT_OK
    assert decide(_report(), [HIGH], GateOptions(soft_fail=True, hard_fail_on=("HIGH",))).exit_code == EXIT_FINDINGS
    assert decide(_report(), [HIGH], GateOptions(hard_fail_on=("CKV_AWS_2*",))).exit_code == EXIT_FINDINGS
    assert decide(_report(), [LOW], GateOptions(hard_fail_on=("CKV_AWS_2*",))).exit_code == EXIT_OK
    assert decide(_report(), [HIGH], GateOptions(soft_fail_on=("ckv_aws_24",))).exit_code == EXIT_OK
    assert decide(_report(), [HIGH, LOW], GateOptions(soft_fail_on=("MEDIUM",))).exit_code == EXIT_FINDINGS


def test_crash_opt_outs() -> None:
    assert decide(_report(CRASH), [], GateOptions(fail_on_crash=False)).exit_code == EXIT_OK
    assert decide(_report(CRASH), [HIGH], GateOptions(fail_on_crash=False)).exit_code == EXIT_FINDINGS
    assert decide(_report(CRASH), [HIGH], GateOptions(soft_fail=True)).exit_code == EXIT_OK


def _at(f: Finding, file: str) -> Finding:
    import dataclasses

    return dataclasses.replace(f, file=file)


SOFT = GateOptions(soft_fail=True)


@pytest.mark.parametrize("order", [1, -1])
def test_a_soft_fail_folder_never_lets_another_paths_failure_pass(order: int) -> None:
    prod_low, root_high = _at(LOW, "/r/prod/main.tf"), _at(HIGH, "/r/main.tf")
    scopes = [("/r/prod", SOFT), ("/r/main.tf", GateOptions())][::order]
    assert decide_scoped(_report(), [prod_low, root_high], scopes).exit_code == EXIT_FINDINGS
    assert decide_scoped(_report(), [prod_low], scopes).exit_code == EXIT_OK  # prod's own failures: soft
    crash_in_root = Problem("/r/main.tf", Span.of(0, 0, 0, 1), "x", "syntax")
    got = decide_scoped(_report(crash_in_root), [prod_low], scopes)
    assert got.exit_code == EXIT_ERROR and got.reason is not None and "/r/main.tf" in got.reason


def test_a_finding_two_paths_cover_is_judged_by_both_and_one_no_path_covers_by_all() -> None:
    prod_low = _at(LOW, "/r/prod/main.tf")
    assert decide_scoped(_report(), [prod_low], [("/r", GateOptions()), ("/r/prod", SOFT)]).exit_code == EXIT_FINDINGS
    mapped = _at(HIGH, "/elsewhere/main.tf")  # a plan's finding mapped to source outside every path
    assert decide_scoped(_report(), [mapped], [("/r/plan.json", GateOptions()), ("/r/prod", SOFT)]).exit_code == 1
    assert decide_scoped(_report(files=0), [], [("/r/a", SOFT), ("/r/b", GateOptions())]).exit_code == EXIT_ERROR
