"""Companion-resource checks through module calls (issue #21) and the typed CKV_AWS_144 fix.

terraform-aws-s3-bucket has the companions (versioning, encryption, lifecycle, replication) behind
``count = local.create_bucket && length(keys(var.X)) > 0 ...``, their values computed with ``try(...)``
and ``dynamic`` blocks. No input set at the call makes Checkov's check pass for the instance (it does
not render those expressions), so no fix at the call is offered: an offer would never verify.
The test sets at the call the inputs the module's own code reads, runs Checkov on the caller's
directory, and asserts both what Checkov reports and that tfguard offers nothing at the call.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tfguard.engine import Engine
from tfguard.fixes import build_edits, offers_for
from tfguard.fixes.replication import EXAMPLE, parse_targets
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result
from tfguard.scan.runner import scan

# the inputs the module's companions read (variables.tf / main.tf of terraform-aws-s3-bucket)
INPUTS = """
  versioning = {
    enabled    = true
    status     = "Enabled"
    mfa_delete = false
  }

  server_side_encryption_configuration = {
    rule = {
      apply_server_side_encryption_by_default = {
        sse_algorithm = "aws:kms"
      }
    }
  }

  lifecycle_rule = [
    {
      id                                     = "abort-incomplete-uploads"
      enabled                                = true
      status                                 = "Enabled"
      abort_incomplete_multipart_upload_days = 7
    }
  ]
"""
COMPANION_CHECKS = ("CKV_AWS_21", "CKV_AWS_145", "CKV_AWS_19", "CKV_AWS_300")


def _s3_tree(corpora: Path, tmp_path: Path) -> Path:
    """The module's root files and its ``examples/object`` caller, copied."""
    src = corpora / "terraform-aws-s3-bucket"
    dst = tmp_path / "s3"
    dst.mkdir()
    for f in src.glob("*.tf"):
        shutil.copy(f, dst / f.name)
    shutil.copytree(src / "examples" / "object", dst / "examples" / "object")
    return dst


def _instance_results(engine: Engine, directory: Path) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for r in engine.module_run(str(directory)).records:
        if r.check_id in COMPANION_CHECKS and r.resource.startswith("module.s3_bucket."):
            out.setdefault((r.check_id, r.resource), set()).add(str(r.result))
    return out


def test_companions_through_the_call_are_not_rendered_so_no_fix_is_offered(corpora: Path, tmp_path: Path) -> None:
    root = _s3_tree(corpora, tmp_path)
    example = root / "examples" / "object"
    engine = Engine(str(root))
    report = scan(engine, [str(root)], cache_dir="", workers=1)
    findings = [f for f in report.findings if f.check_id in COMPANION_CHECKS and f.result is Result.FAILED
                and f.resource.startswith("module.s3_bucket.")]
    assert {f.check_id for f in findings} == set(COMPANION_CHECKS), findings
    before = _instance_results(engine, example)
    assert {c for c, _ in before} == set(COMPANION_CHECKS) and all(v == {"FAILED"} for v in before.values()), before

    # fail closed: no fix at the call (and none on the module's line) for these findings
    for f in findings:
        assert [o for o in offers_for(f, engine) if o.kind == "input"] == [], f

    # the inputs the companions read, set on the call: Checkov still fails every one of them
    caller = example / "main.tf"
    text = caller.read_text()
    head = 'module "s3_bucket" {\n  source = "../../"\n'
    assert head in text
    engine.set_overlay(str(caller), text.replace(head, head + INPUTS, 1))
    after = _instance_results(engine, example)
    assert after == before, after  # a fix at the call could never be proven with this Checkov


@pytest.mark.parametrize("value,expected", [
    (EXAMPLE, ('"arn:aws:s3:::replica-bucket"', '"arn:aws:iam::111122223333:role/s3-replication"')),
    ("arn:aws:iam::111122223333:role/r, arn:aws:s3:::b-1",
     ('"arn:aws:s3:::b-1"', '"arn:aws:iam::111122223333:role/r"')),
    ("aws_s3_bucket.replica.arn aws_iam_role.replication.arn", ("aws_s3_bucket.replica.arn",
                                                                "aws_iam_role.replication.arn")),
])
def test_replication_targets_accepted(value: str, expected: tuple[str, str]) -> None:
    assert parse_targets(value) == expected


@pytest.mark.parametrize("value", [
    "", "arn:aws:s3:::replica-bucket", "arn:aws:s3:::a arn:aws:s3:::b",
    "arn:aws:s3:::replica-bucket arn:aws:iam::1111:role/r",  # not a 12-digit account
    'arn:aws:s3:::b" arn:aws:iam::111122223333:role/r', "arn:aws:s3:::b\narn:aws:iam::111122223333:role/r",
    "aws_s3_bucket.replica.id aws_iam_role.replication.arn",  # the bucket's id is not its ARN
])
def test_replication_targets_refused(value: str) -> None:
    assert parse_targets(value) is None


def test_replication_fix_refers_to_the_module_resources(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_text('resource "aws_s3_bucket" "data" {\n  bucket = "data"\n}\n\n'
                    'resource "aws_s3_bucket" "replica" {\n  bucket = "replica"\n}\n\n'
                    'resource "aws_iam_role" "replication" {\n  name = "replication"\n'
                    '  assume_role_policy = "{}"\n}\n')
    engine = Engine(str(tmp_path))
    fa = engine.analyze_module(str(tmp_path)).get(str(path))
    assert fa is not None
    finding = next(f for f in fa.findings if f.check_id == "CKV_AWS_144" and f.resource == "aws_s3_bucket.data"
                   and f.result is Result.FAILED)
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert offer.prompt is not None and not offer.safe
    assert build_edits(offer, finding, engine, value="aws_s3_bucket.data.arn aws_iam_role.replication.arn") == []
    edits = build_edits(offer, finding, engine, value="aws_s3_bucket.replica.arn aws_iam_role.replication.arn")
    new = apply_text_edits(path.read_text(), edits)
    assert ('resource "aws_s3_bucket_replication_configuration" "data" {\n  bucket = aws_s3_bucket.data.id\n'
            "  role   = aws_iam_role.replication.arn\n") in new
    assert "      bucket = aws_s3_bucket.replica.arn\n" in new
    engine.set_overlay(str(path), new)
    fa = engine.analyze_module(str(tmp_path)).get(os.path.abspath(path))
    assert fa is not None
    assert {f.result for f in fa.findings if f.check_id == "CKV_AWS_144" and f.resource == "aws_s3_bucket.data"} \
        == {Result.PASSED}


# --------------------------------------------------------------------------- companions next to the call

CALLS = Path(__file__).resolve().parent.parent / "fixtures" / "fixes" / "callcompanion"
INSTANCE = "module.data.aws_s3_bucket.this"


def _call_tree(tmp_path: Path) -> Path:
    dst = tmp_path / "calls"
    shutil.copytree(CALLS, dst)
    return dst


def _call_failures(root: Path) -> tuple[Engine, list[Finding]]:
    engine = Engine(str(root))
    report = scan(engine, [str(root)], cache_dir="", workers=1)
    return engine, [f for f in report.findings if f.result is Result.FAILED and f.resource == INSTANCE]


def _records(engine: Engine, directory: Path) -> set[tuple[str, str, str]]:
    return {(r.check_id, r.resource, str(r.result)) for r in engine.module_run(str(directory)).records}


@pytest.mark.parametrize("check_id", ["CKV2_AWS_62", "CKV2_AWS_6", "CKV2_AWS_61", "CKV_AWS_21", "CKV_AWS_145",
                                      "CKV_AWS_18"])
def test_companion_next_to_the_call_makes_the_check_pass(check_id: str, tmp_path: Path) -> None:
    root = _call_tree(tmp_path)
    engine, failures = _call_failures(root)
    finding = next(f for f in failures if f.check_id == check_id)
    offers = [o for o in offers_for(finding, engine) if o.kind == "input"]
    assert [o.path for o in offers] == [str(root / "examples" / x / "main.tf") for x in "ab"]
    offer = offers[0]
    assert offer.title.startswith(f'Fix {check_id} at the call of module "data" in examples/a: ')
    assert offer.title.endswith("(bucket = module.data.bucket_id)")
    caller = root / "examples" / "a"
    before = _records(engine, caller)
    assert (check_id, INSTANCE, "FAILED") in before
    text = (caller / "main.tf").read_text()
    new = apply_text_edits(text, build_edits(offer, finding, engine))
    assert new.startswith(text.rstrip("\n") + "\n\nresource ") and re.search(r"\n  bucket +=", new)
    assert "= module.data.bucket_id\n" in new
    engine.set_overlay(str(caller / "main.tf"), new)
    assert not [p for p in engine.analyze_file(str(caller / "main.tf")).problems if p.code == "syntax"]
    after = _records(engine, caller)
    assert {r for c, res, r in after if (c, res) == (check_id, INSTANCE)} == {"PASSED"}, new
    assert {r for r in after if r[2] == "FAILED"} - before == set(), new
    assert build_edits(offer, finding, engine) == []  # idempotent: the companion is there


def test_no_companion_at_a_call_that_creates_nothing_or_is_wired_already(tmp_path: Path) -> None:
    root = _call_tree(tmp_path)
    module = root / "modules" / "bucket" / "main.tf"
    module.write_text(module.read_text().replace('resource "aws_s3_bucket" "this" {\n',
                                                 'resource "aws_s3_bucket" "this" {\n'
                                                 "  count  = local.create_bucket ? 1 : 0\n", 1)
                      .replace("aws_s3_bucket.this.id", "try(aws_s3_bucket.this[0].id, \"\")")
                      + '\nvariable "create" {\n  type    = bool\n  default = true\n}\n\n'
                      'locals {\n  create_bucket = var.create && true\n}\n')
    a, b = root / "examples" / "a" / "main.tf", root / "examples" / "b" / "main.tf"
    a.write_text(a.read_text().replace('  name = "example-a"\n', '  name   = "example-a"\n  create = false\n'))
    b.write_text(b.read_text() + '\nresource "aws_s3_bucket_notification" "data" {\n'
                 "  bucket      = module.data.bucket_id\n  eventbridge = true\n}\n")
    engine, failures = _call_failures(root)
    resources = {f.resource for f in failures}
    finding = next(f for f in failures if f.check_id == "CKV2_AWS_6")
    offers = [o for o in offers_for(finding, engine) if o.kind == "input"]
    # examples/a creates no bucket (create = false through local.create_bucket): no fix there
    assert [o.path for o in offers] == [str(b)], (resources, offers)
    notify = [f for f in failures if f.check_id == "CKV2_AWS_62"]
    # examples/b has its notification already; examples/a creates nothing: no fix at either call
    assert all(not [o for o in offers_for(f, engine) if o.kind == "input"] for f in notify)


def test_no_companion_when_the_directory_calls_the_module_twice(tmp_path: Path) -> None:
    """Checkov's graph resolves both calls' outputs to one instance: the fix could not be proven."""
    root = _call_tree(tmp_path)
    a = root / "examples" / "a" / "main.tf"
    a.write_text(a.read_text() + '\nmodule "logs" {\n  source = "../../modules/bucket"\n\n  name = "logs-a"\n}\n')
    engine, failures = _call_failures(root)
    finding = next(f for f in failures if f.check_id == "CKV2_AWS_62")
    offers = [o for o in offers_for(finding, engine) if o.kind == "input"]
    assert [o.path for o in offers] == [str(root / "examples" / "b" / "main.tf")]
