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
    code, failed = _scan(tmp_path, capsys, "hard-fail-on: [CKV_AZURE_35]\n")  # a real check, not failing here
    assert failed and code == 0
    code, _ = _scan(tmp_path, capsys, "hard-fail-on: [CKV_AWS_20]\n")
    assert code == 1


IGNORED = """\
check: CKV_AWS_20
output: sarif
compact: true
framework: [kubernetes]
evaluate-variables: true
external-checks-git: https://example.invalid/checks.git
"""


@pytest.mark.parametrize("cached", [False, True])
def test_every_key_tfguard_does_not_apply_is_a_located_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch, cached: bool) -> None:
    monkeypatch.setenv("TFGUARD_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.tf").write_text(BUCKET)
    (src / ".checkov.yaml").write_text(IGNORED)
    for _ in range(2 if cached else 1):  # the second run is answered from the report cache
        main(["scan", str(src), "--format", "json"])
        doc = json.loads(capsys.readouterr().out)
    by_line = {p["line"]: (p["severity"], p["message"]) for p in doc["problems"] if p["code"] == "config"}
    lines = IGNORED.splitlines()

    def at(key: str) -> int:  # 1-based, as the JSON report counts
        return 1 + next(i for i, line in enumerate(lines) if line.startswith(key + ":"))

    assert by_line[at("output")][0] == "INFO" and "Checkov's own output" in by_line[at("output")][1]
    assert by_line[at("compact")][0] == "INFO"
    assert by_line[at("framework")][0] == "MEDIUM" and "terraform framework only" in by_line[at("framework")][1]
    # a misspelt option ("skip-checks:") is no longer a warning: the scan exits 2 (tests/unit/test_fail_closed.py)
    assert "network" in by_line[at("external-checks-git")][1]  # refused, as before
    # honoured, or harmless with this value: not reported
    assert at("check") not in by_line and at("evaluate-variables") not in by_line
    assert all(p["file"].endswith(".checkov.yaml") for p in doc["problems"] if p["code"] == "config")
