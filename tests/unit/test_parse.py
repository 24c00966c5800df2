"""Per-block parsing gives Checkov's own conf; a broken block is one located problem, not a lost file."""

from __future__ import annotations

import json
from pathlib import Path

import hcl2
import pytest

from tfguard.engine import Engine
from tfguard.files import read_disk
from tfguard.hcl.blocks import split_blocks
from tfguard.hcl.parse import load_json_text, merge_confs, parse_block
from tfguard.model import Position, Result

GOOD_BAD_GOOD = """\
resource "aws_security_group" "first" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_s3_bucket" "broken" {
  bucket = "broken" "oops"
}

# a comment between blocks { with a brace
resource "aws_security_group" "last" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"""

def whole_file_error(text: str) -> tuple[int, int]:
    """Where Checkov's hcl2 reports the first error of ``text`` (0-based line and column)."""
    with pytest.raises(Exception) as info:
        hcl2.loads(text)
    e = info.value
    return e.line - 1, e.column - 1  # type: ignore[attr-defined]


def test_broken_block_is_a_syntax_problem_at_the_parser_position() -> None:
    split = split_blocks(GOOD_BAD_GOOD)
    parsed = [parse_block(b, "/x/main.tf") for b in split.blocks]
    assert [p.conf is not None for p in parsed] == [True, False, True]
    problem = parsed[1].problem
    assert problem is not None and problem.code == "syntax"
    line, col = whole_file_error(GOOD_BAD_GOOD)
    assert problem.span.start == Position(line, col) == Position(10, 20)
    assert "Syntax error" in problem.message


def test_unclosed_block_problem_points_at_its_end_and_the_next_block_parses() -> None:
    text = 'resource "aws_s3_bucket" "a" {\n  bucket = "a"\n\nresource "aws_s3_bucket" "b" {\n}\n'
    parsed = [parse_block(b, "/x/main.tf") for b in split_blocks(text).blocks]
    assert parsed[0].problem is not None and parsed[0].problem.span.start == Position(1, 14)
    assert "not closed" in parsed[0].problem.message
    assert parsed[1].conf == {"resource": [{"aws_s3_bucket": {"b": {"__start_line__": 4, "__end_line__": 5}}}]}


def test_block_lines_are_absolute_as_in_a_whole_file_parse() -> None:
    text = GOOD_BAD_GOOD.replace('"broken" "oops"', '"broken"')
    assert "oops" not in text
    parsed = [parse_block(b, "/x/main.tf") for b in split_blocks(text).blocks]
    assert merge_confs(parsed) == hcl2.loads(text)


def test_other_blocks_of_a_broken_file_are_still_checked(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_text(GOOD_BAD_GOOD)
    fa = Engine(str(tmp_path)).analyze_file(str(path))
    assert [(p.code, p.span.start) for p in fa.problems] == [("syntax", Position(10, 20))]
    failed = {(f.resource, f.check_id, f.line_range) for f in fa.findings if f.result is Result.FAILED}
    assert ("aws_security_group.first", "CKV_AWS_24", (1, 8)) in failed  # SSH open to the world
    assert ("aws_security_group.last", "CKV_AWS_24", (15, 22)) in failed
    assert not any(f.resource == "aws_s3_bucket.broken" for f in fa.findings)


def test_crlf_bom_and_non_ascii_file_parses_like_checkov(tmp_path: Path) -> None:
    from checkov.terraform.parser_utils import load_or_die_quietly

    text = '\ufeffresource "aws_s3_bucket" "b" {\r\n\tbucket = "ünï-${var.x}-{}"\r\n  # } comment\r\n}\r\n'
    path = tmp_path / "main.tf"
    path.write_bytes(text.encode("utf-8"))
    disk, problem = read_disk(str(path))
    assert problem is None and disk is not None
    got = merge_confs([parse_block(b, str(path)) for b in split_blocks(disk).blocks])
    assert got == load_or_die_quietly(str(path), {})


def test_tf_json_is_read_as_checkov_reads_it(tmp_path: Path) -> None:
    from checkov.terraform.parser_utils import load_or_die_quietly

    data = {"resource": {"aws_s3_bucket": {"b": {"bucket": "x", "acl": "public-read"}}}}
    path = tmp_path / "main.tf.json"
    path.write_text(json.dumps(data, indent=2))
    conf, problem = load_json_text(path.read_text(), str(path))
    assert problem is None
    assert conf == load_or_die_quietly(str(path), {})


def test_broken_tf_json_is_a_located_problem() -> None:
    conf, problem = load_json_text('{\n  "resource": {\n    "a": 1,\n  }\n}\n', "/x/main.tf.json")
    assert conf is None and problem is not None
    assert problem.code == "syntax" and problem.span.start == Position(3, 2)


@pytest.mark.parametrize("corpus", ["terragoat", "terraform-aws-vpc", "terraform-aws-s3-bucket"])
def test_merged_block_confs_equal_checkovs_parse_of_every_corpus_file(corpora: Path, corpus: str) -> None:
    from checkov.terraform.parser_utils import load_or_die_quietly

    files = sorted((corpora / corpus).rglob("*.tf"))
    assert files
    mismatched = []
    for f in files:
        expected = load_or_die_quietly(str(f), {})
        text, problem = read_disk(str(f))
        assert problem is None and text is not None, f
        parsed = [parse_block(b, str(f)) for b in split_blocks(text).blocks]
        assert [p.problem for p in parsed if p.problem] == [], f
        if merge_confs(parsed) != expected:
            mismatched.append(str(f.relative_to(corpora)))
    assert mismatched == []
