"""The engine's parts: one failure policy for rules (tier 1, tier 2, scan) and the process-wide busy state."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tfguard.engine import BlockContext, Engine
from tfguard.engine import tier2 as tier2_mod
from tfguard.model import Finding, Result, Severity, Span
from tfguard.scan.runner import scan

BUCKET = 'resource "aws_s3_bucket" "b" {\n  bucket = "data"\n  acl    = "public-read"\n}\n'
TWO = BUCKET + '\nresource "aws_s3_bucket" "c" {\n  bucket = "c"\n}\n'


def exploding(ctx: BlockContext) -> list[Finding]:
    """A rule failing on bucket c only; on b it reports one finding."""
    if ctx.block.labels[-1] == "c":
        raise RuntimeError("strange input")
    return [Finding("ORG_T_1", "test rule", Result.FAILED, ctx.file, ctx.block.address,
                    (ctx.block.start_line, ctx.block.end_line), Span.of(0, 0, 0, 1), source="org")]


def _engine(root: Path) -> Engine:
    return Engine(str(root), block_rules=[exploding])


def _rule_problems(problems: list) -> list:  # type: ignore[type-arg]
    return [p for p in problems if p.code == "engine"]


def _assert_one_rule_problem(problems: list, findings: list[Finding], path: Path) -> None:  # type: ignore[type-arg]
    got = _rule_problems(problems)
    assert len(got) == 1, got
    p = got[0]
    assert p.severity is Severity.INFO and p.file == str(path)
    assert p.message == "tfguard rule exploding failed on this block: strange input"
    assert p.span.start.line == 5  # the header of bucket c (0-based), not of b
    assert [f.check_id for f in findings if f.source == "org"] == ["ORG_T_1"]  # the other block still ran
    assert "CKV_AWS_93" in {f.check_id for f in findings}  # Checkov's findings are not lost


def test_a_raising_rule_is_one_problem_in_tier1(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "main.tf").write_text(TWO)
    fa = _engine(tmp_path).analyze_file(str(tmp_path / "main.tf"))
    _assert_one_rule_problem(fa.problems, fa.findings, tmp_path / "main.tf")
    logged = [r for r in caplog.records if "exploding" in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # with its traceback


def test_a_raising_rule_is_one_problem_in_tier2(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(TWO)
    result = _engine(tmp_path).analyze_module(str(tmp_path))
    fa = result[str(tmp_path / "main.tf")]
    assert fa.tier == 2
    _assert_one_rule_problem(fa.problems, fa.findings, tmp_path / "main.tf")


def test_a_raising_rule_is_one_problem_in_the_scan(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(TWO)
    report = scan(_engine(tmp_path), [str(tmp_path)], cache_dir="")
    _assert_one_rule_problem(report.problems, report.findings, tmp_path / "main.tf")


def test_while_one_module_is_over_budget_another_gets_tier1_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hung, other = tmp_path / "hung", tmp_path / "other"
    for d in (hung, other):
        d.mkdir()
        (d / "main.tf").write_text(BUCKET)
    release = threading.Event()
    real = tier2_mod.run_checkov
    started: list[str] = []

    def blocking(root: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        started.append(root)
        if root == str(hung):
            assert release.wait(60)
        return real(root, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tier2_mod, "run_checkov", blocking)
    a, b = Engine(str(hung)), Engine(str(other))  # two engines (LSP workspaces): the state is process-wide
    try:
        first = a.analyze_module_bounded(str(hung), budget=0.3)
        own = [p for p in first[str(hung / "main.tf")].problems if p.code == "budget"]
        assert len(own) == 1 and "0.3 s" in own[0].message
        import time

        t0 = time.monotonic()
        got = b.analyze_module_bounded(str(other), budget=30)
        assert time.monotonic() - t0 < 5, "must not queue behind the hung run"
        fa = got[str(other / "main.tf")]
        assert fa.tier == 1 and "CKV_AWS_93" in {f.check_id for f in fa.findings}
        busy = [p for p in fa.problems if p.code == "budget"]
        assert len(busy) == 1 and busy[0].severity is Severity.INFO
        assert "busy" in busy[0].message and str(hung) in busy[0].message
        assert started == [str(hung)]  # no second Checkov run was started
        # tier 1 of the refused module says so too, until its tier 2 runs
        assert [p.code for p in b.analyze_file(str(other / "main.tf")).problems] == ["budget"]
    finally:
        release.set()
    assert Engine.wait_for_checkov(60)
    ok = b.analyze_module_bounded(str(other), budget=60)
    assert ok[str(other / "main.tf")].tier == 2
    assert not any(p.code == "budget" for p in ok[str(other / "main.tf")].problems)
    assert not any(p.code == "budget" for p in b.analyze_file(str(other / "main.tf")).problems)
    again = a.analyze_module_bounded(str(hung), budget=60)
    assert not any(p.code == "budget" for p in again[str(hung / "main.tf")].problems)
