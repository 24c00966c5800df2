"""Bad input never stops a scan: every file that cannot be used is a located problem, the rest is checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfguard.cli import main
from tfguard.engine import Engine
from tfguard.model import Position, Result, Severity

OPEN_SSH = """\
resource "aws_security_group" "ssh" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"""


def scan_json(tmp_path: Path, *paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    code = main(["scan", *map(str, paths), "--format", "json", "--output", str(out), *extra])
    return code, json.loads(out.read_text())


@pytest.fixture()
def bad_tree(tmp_path: Path) -> Path:
    """One good module with every kind of bad file next to it."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "good.tf").write_text(OPEN_SSH)
    (root / "truncated.tf").write_text(OPEN_SSH[: OPEN_SSH.index("protocol")])
    (root / "unbalanced.tf").write_text(OPEN_SSH + "}\n}\n")
    (root / "binary.tf").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\xff\xfe" + bytes(range(256)))
    (root / "latin1.tf").write_bytes(b'resource "a" "b" {\n  name = "caf\xe9"\n}\n')
    (root / "empty.tf").write_bytes(b"")
    (root / "big.tf").write_text(("# " + "x" * 70 + "\n") * 75_000)  # 5.4 MB
    return root


def test_scan_reports_every_bad_file_with_its_location_and_keeps_going(tmp_path: Path, bad_tree: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, report = scan_json(tmp_path, bad_tree)
    assert code == 2  # fail closed: files that could not be checked make the result incomplete
    (why,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("tfguard: error:")]
    assert "the result is incomplete: 5 files" in why
    assert scan_json(tmp_path, bad_tree, extra=("--no-fail-on-crash",)) == (1, report)  # the good file fails
    problems = {(p["file"], p["code"]): p for p in report["problems"]}
    assert set(problems) == {
        ("truncated.tf", "syntax"),
        ("unbalanced.tf", "syntax"),
        ("binary.tf", "read"),
        ("latin1.tf", "read"),
        ("big.tf", "too-large"),
    }
    assert (problems[("latin1.tf", "read")]["line"], problems[("latin1.tf", "read")]["column"]) == (2, 14)
    assert problems[("big.tf", "too-large")]["severity"] == "INFO"
    stray = [(p["line"], p["column"]) for p in report["problems"] if p["file"] == "unbalanced.tf"]
    assert stray == [(9, 1), (10, 1)]  # each stray "}" where it stands
    failed = {(f["file"], f["check_id"], f["resource"]) for f in report["findings"] if f["result"] == "FAILED"}
    assert ("good.tf", "CKV_AWS_24", "aws_security_group.ssh") in failed
    # the unbalanced file's block is whole: it is still checked, like the good one
    assert ("unbalanced.tf", "CKV_AWS_24", "aws_security_group.ssh") in failed
    assert report["summary"]["files"] == 7


def test_engine_problems_are_located_per_file(bad_tree: Path) -> None:
    engine = Engine(str(bad_tree))
    truncated = engine.analyze_file(str(bad_tree / "truncated.tf"))
    assert [p.code for p in truncated.problems] == ["syntax"]
    assert truncated.problems[0].span.start == Position(3, 20)  # just after the last text of the unclosed block
    binary = engine.analyze_file(str(bad_tree / "binary.tf"))
    assert [(p.code, p.span.start) for p in binary.problems] == [("read", Position(0, 0))]
    big = engine.analyze_file(str(bad_tree / "big.tf"))
    assert [(p.code, p.severity) for p in big.problems] == [("too-large", Severity.INFO)]
    empty = engine.analyze_file(str(bad_tree / "empty.tf"))
    assert empty.problems == [] and empty.findings == []


def test_too_large_limit_applies_to_unsaved_text_too(tmp_path: Path) -> None:
    engine = Engine(str(tmp_path), max_file_bytes=1000)
    path = tmp_path / "main.tf"
    engine.set_overlay(str(path), "# x\n" * 1000)
    fa = engine.analyze_file(str(path))
    assert [p.code for p in fa.problems] == ["too-large"]


def test_directory_without_terraform_is_an_error_not_a_pass(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "docs"
    empty.mkdir()
    (empty / "README.md").write_text("# not terraform { }\n")
    code, report = scan_json(tmp_path, empty)
    assert code == 2
    assert "tfguard: error: nothing to scan" in capsys.readouterr().err
    assert report["findings"] == [] and report["problems"] == []
    assert report["summary"]["files"] == 0


def test_only_empty_and_comment_files_pass(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "empty.tf").write_text("")
    (tmp_path / "m" / "comments.tf").write_text("# nothing here\n/* { */\n")
    code, report = scan_json(tmp_path, tmp_path / "m")
    assert code == 0
    assert report["problems"] == []
    assert not [f for f in report["findings"] if f["result"] == Result.FAILED.value]


def test_missing_path_and_bad_threshold_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(tmp_path / "nope")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["scan", str(tmp_path), "--fail-on", "SEVERE"])
    assert info.value.code == 2


def test_fail_on_threshold_decides_the_exit_code(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "main.tf").write_text(OPEN_SSH)
    assert main(["scan", str(tmp_path / "m"), "-o", str(tmp_path / "r.txt")]) == 1
    code = main(["scan", str(tmp_path / "m"), "--fail-on", "CRITICAL", "-o", str(tmp_path / "r.txt")])
    report = (tmp_path / "r.txt").read_text()
    assert "CKV_AWS_24" in report
    assert code == (1 if "CRITICAL" in report.split("CKV_AWS_24")[0].splitlines()[-1] else 0)
