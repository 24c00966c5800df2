"""`.checkov.yaml` is honoured as Checkov honours it: check, skip-check, soft-fail(-on), hard-fail-on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfguard.cli import main

BUCKET = 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n  acl    = "public-read"\n}\n'


def _scan(tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str) -> tuple[int, set[str]]:
    (tmp_path / "main.tf").write_text(BUCKET)
    (tmp_path / ".checkov.yaml").write_text(config)
    code = main(["scan", str(tmp_path), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    return code, {f["check_id"] for f in doc["findings"] if f["result"] == "FAILED"}


def test_skip_check_removes_a_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, failed = _scan(tmp_path, capsys, "skip-check:\n  - CKV_AWS_20\n")
    assert "CKV_AWS_20" not in failed and "CKV_AWS_21" in failed
    assert code == 1


def test_check_runs_only_the_named_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, failed = _scan(tmp_path, capsys, "check: CKV_AWS_20\n")
    assert failed == {"CKV_AWS_20"}
    assert code == 1


def test_soft_fail_exits_zero_with_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, failed = _scan(tmp_path, capsys, "soft-fail: true\n")
    assert failed and code == 0


def test_soft_fail_on_ignores_only_the_named_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _scan(tmp_path, capsys, "check: [CKV_AWS_20, CKV_AWS_21]\nsoft-fail-on: [CKV_AWS_2*]\n")
    assert code == 0
    code, _ = _scan(tmp_path, capsys, "check: [CKV_AWS_20, CKV_AWS_21]\nsoft-fail-on: [CKV_AWS_20]\n")
    assert code == 1


def test_hard_fail_on_fails_only_for_the_named_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, failed = _scan(tmp_path, capsys, "hard-fail-on: [CKV_AWS_9999]\n")
    assert failed and code == 0
    code, _ = _scan(tmp_path, capsys, "hard-fail-on: [CKV_AWS_20]\n")
    assert code == 1
