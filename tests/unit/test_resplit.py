"""Incremental re-splitting gives exactly what a full split gives, for any edit."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import CORPORA

from tfguard.hcl.blocks import resplit, split_blocks

SNIPPETS = ["x", "\n", "}", '"', "{", "", 'resource "a" "b" {\n', "#", "\r\n", "<<EOF\n", "/*", "${", "*/",
            "EOF\n", "  tags = {\n", "= ", "]"]

BASE = '''resource "aws_s3_bucket" "a" {
  bucket = "a-${var.x}" # comment {
  tags = {
    Name = "a"
  }
}

locals {
  doc = <<EOT
  { not a brace }
EOT
}

/* block { comment */
data "aws_iam_policy_document" "p" {
  statement {
    actions = ["s3:*"]
  }
}
'''


@given(pos=st.integers(0, len(BASE)), cut=st.integers(0, 4), ins=st.sampled_from(SNIPPETS),
       pos2=st.integers(0, len(BASE)), ins2=st.sampled_from(SNIPPETS))
@settings(max_examples=300, deadline=None)
def test_resplit_equals_full_split_after_edits(pos: int, cut: int, ins: str, pos2: int, ins2: str) -> None:
    text = BASE[:pos] + ins + BASE[pos + cut:]
    first = resplit(split_blocks(BASE), text)
    assert first.blocks == split_blocks(text).blocks
    pos2 = min(pos2, len(text))
    text2 = text[:pos2] + ins2 + text[pos2:]
    assert resplit(first, text2).blocks == split_blocks(text2).blocks


def test_resplit_equals_full_split_on_corpus_edits() -> None:
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora not found at {CORPORA}")
    rng = random.Random(7)
    files = sorted(CORPORA.rglob("*.tf"))
    assert files
    for f in files[::3]:
        text = f.read_text()
        current = split_blocks(text)
        for _ in range(8):
            pos = rng.randrange(0, len(text) + 1)
            text = text[:pos] + rng.choice(SNIPPETS) + text[pos + rng.choice([0, 0, 1, 3]):]
            current = resplit(current, text)
            assert current.blocks == split_blocks(text).blocks, f"{f} at {pos}"
