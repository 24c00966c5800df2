"""`tfguard scan FILE` (pre-commit passes file names) runs graph checks too, for that file only."""

from __future__ import annotations

import json
from pathlib import Path

from tfguard.cli import main


def test_scanning_a_file_reports_graph_checks_of_that_file_only(tmp_path: Path, capsys) -> None:
    (tmp_path / "a.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    (tmp_path / "other.tf").write_text('resource "aws_s3_bucket" "other" {\n  bucket = "o"\n}\n')
    code = main(["scan", str(tmp_path / "a.tf"), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    failed = {(f["check_id"], f["resource"]) for f in doc["findings"] if f["result"] == "FAILED"}
    assert code == 1
    assert ("CKV2_AWS_6", "aws_s3_bucket.b") in failed  # a graph check (public access block)
    assert ("CKV_AWS_18", "aws_s3_bucket.b") in failed  # a graph check in Checkov 3 (access logging)
    assert not any(res == "aws_s3_bucket.other" for _, res in failed)
