"""The IAM policy memo (checks/iam_memo.py) and tier 1's shared policy per block never change what
Checkov's IAM checks report, while a developer types through the policy's values."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfguard.checks import iam_memo
from tfguard.checks.checkov_env import checkov_modules
from tfguard.checks.graph import run_checkov
from tfguard.engine import Engine
from tfguard.model import Finding

# Statements whose analysis differs: wildcards that expand to every action, a service wildcard,
# restrictable and unrestrictable actions, Deny, NotAction, conditions, and a policy resource.
POLICIES = '''
data "aws_iam_policy_document" "everything" {
  statement {
    effect    = "EFFECT"
    actions   = ["*"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "s3" {
  statement {
    effect    = "Allow"
    actions   = ["s3:*", "iam:PassRole"]
    resources = ["*"]
  }
  statement {
    effect    = "Deny"
    actions   = ["*"]
    resources = ["*"]
    condition {
      test     = "StringNotEquals"
      variable = "aws:SourceVpc"
      values   = ["vpc-1234"]
    }
  }
}

data "aws_iam_policy_document" "not_action" {
  statement {
    effect      = "Allow"
    not_actions = ["iam:*"]
    resources   = ["*"]
  }
}

data "aws_iam_policy_document" "scoped" {
  statement {
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::bucket/*"]
  }
}

resource "aws_iam_policy" "inline" {
  name = "inline"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "EFFECT", Action = ["iam:*", "sts:AssumeRole"], Resource = "*" }]
  })
}
'''

# what a developer's keystrokes make of the first statement's effect, in turn
EFFECTS = ["Deny", "Denyx", "Allow", "Allo", "Deny"]


def _module(tmp_path: Path, effect: str, name: str = "") -> Path:
    d = tmp_path / f"m-{name or effect}"
    d.mkdir()
    (d / "main.tf").write_text(POLICIES.replace("EFFECT", effect))
    return d


def _records(d: Path) -> list[str]:
    return sorted(f"{r.check_id} {r.resource} {r.result}" for r in run_checkov(str(d), recursive=False).records)


def _tier1(findings: list[Finding]) -> set[tuple[str, str, str]]:
    """Checkov's per-entity results on the policy documents (tier 1 names data sources ``data.…``)."""
    return {(f.check_id, f.resource.removeprefix("data."), f.result.value) for f in findings
            if f.source == "checkov" and f.resource.startswith("data.aws_iam_policy_document.")}


def _documents(records: list[str]) -> set[tuple[str, str, str]]:
    """The same out of Checkov's runner (graph checks, ``CKV2_``, are tier 2's alone)."""
    out = set()
    for r in records:
        check, resource, result = r.split(" ")
        if resource.startswith("aws_iam_policy_document.") and not check.startswith("CKV2_"):
            out.add((check, resource, result))
    return out


@pytest.fixture(scope="module")
def checkov() -> Iterator[None]:
    checkov_modules()
    import cloudsplaining.scan.statement_detail as sd

    assert getattr(sd.remove_wildcard_only_actions, "_tfguard_memo", False), "memo not installed with Checkov"
    yield
    iam_memo.install()


@pytest.mark.parametrize("effect", sorted(set(EFFECTS)))
def test_checkov_reports_the_same_with_and_without_the_memo(tmp_path: Path, checkov: None, effect: str) -> None:
    d = _module(tmp_path, effect)
    iam_memo.uninstall()
    iam_memo.clear()
    try:
        import cloudsplaining.scan.statement_detail as sd

        assert not getattr(sd.remove_wildcard_only_actions, "_tfguard_memo", False)
        plain = _records(d)
    finally:
        iam_memo.install()
    first = _records(d)  # fills the memo
    hits = iam_memo.stats["hits"] + iam_memo.stats["policy_hits"]
    second = _records(d)  # answered from it
    assert iam_memo.stats["hits"] + iam_memo.stats["policy_hits"] > hits, "the second run reused nothing"
    assert first == plain and second == plain
    assert any(" FAILED" in r for r in plain), "the policies should fail some IAM check"


def test_tier1_follows_each_keystroke_as_checkov_does(tmp_path: Path, checkov: None) -> None:
    """Tier 1 (one block at a time, the block's checks sharing its parsed policy) after each edit of the
    effect equals Checkov's runner with the memo off on the same text: nothing stale, nothing shared
    between blocks or edits."""
    d = tmp_path / "typing"
    d.mkdir()
    main = d / "main.tf"
    main.write_text(POLICIES.replace("EFFECT", EFFECTS[0]))
    engine = Engine(str(d))
    seen: set[frozenset[tuple[str, str, str]]] = set()
    for effect in EFFECTS:
        text = POLICIES.replace("EFFECT", effect)
        engine.set_overlay(str(main), text)
        tier1 = _tier1(engine.analyze_file(str(main)).findings)
        ref = _module(tmp_path, effect, f"ref-{effect}-{len(seen)}")
        iam_memo.uninstall()
        iam_memo.clear()
        try:
            expected = _documents(_records(ref))
        finally:
            iam_memo.install()
        assert tier1 == expected, (f"effect {effect!r}: only tier 1 {sorted(tier1 - expected)}; "
                                   f"only Checkov {sorted(expected - tier1)}")
        seen.add(frozenset(tier1))
    assert len(seen) > 1, "the edits should change what the IAM checks report"
    assert os.path.exists(main)


def test_the_memo_is_bounded() -> None:
    iam_memo.install()
    assert iam_memo._cache.maxsize == iam_memo.MAX_STRINGS
    assert iam_memo._policies.maxsize == iam_memo.POLICY_CACHE_BYTES
    import cloudsplaining.scan.statement_detail as sd

    iam_memo.clear()
    for i in range(2_000):  # distinct lists, each remembered until the bound evicts the oldest
        sd.remove_wildcard_only_actions([f"s3:GetObject{i}"] * 250)
    assert iam_memo._cache.currsize <= iam_memo.MAX_STRINGS
