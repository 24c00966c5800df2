"""Fixes at module calls, CKV_TF_1 commit pins and fixes that need a choice, each proven by Checkov."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from tfguard.catalogue import parse_catalogue
from tfguard.engine import Engine
from tfguard.fixes import build_edits, edit_path, offers_for
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fixes" / "lsp_choices"
COMMIT = "4e3b2a1f0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f"


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(FIXTURES, dst)
    return dst


def _through_call(engine: Engine, directory: Path, check_id: str) -> list[Finding]:
    recs = [r for r in engine.module_run(str(directory)).records
            if r.check_id == check_id and r.resource.startswith("module.")]
    return engine.records_to_findings(recs, None)


def _apply(engine: Engine, path: str, edits: list) -> str:  # type: ignore[type-arg]
    text, _ = engine.read(path)
    assert text is not None
    new = apply_text_edits(text, edits)
    engine.set_overlay(path, new)
    return new


def test_finding_through_a_module_call_is_fixed_at_the_call(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    engine = Engine(str(ws))
    calls = ws / "calls"
    [finding] = _through_call(engine, calls, "CKV_AWS_338")
    assert finding.result is Result.FAILED and finding.resource == "module.logs.aws_cloudwatch_log_group.this"
    [offer] = offers_for(finding, engine)  # no suppression: the block belongs to the shared module
    assert offer.kind == "input" and offer.title == (
        'Fix CKV_AWS_338 at the call of module "logs": set retention_in_days = 365')
    assert edit_path(offer, finding) == str(calls / "main.tf")
    module_text = (calls / "modules" / "logs" / "main.tf").read_text()

    new = _apply(engine, str(calls / "main.tf"), build_edits(offer, finding, engine))
    assert new == 'module "logs" {\n  source = "./modules/logs"\n\n  name = "app"\n  retention_in_days = 365\n}\n'
    assert (calls / "modules" / "logs" / "main.tf").read_text() == module_text  # the module is not touched
    after = {(r.check_id, r.resource): r.result for r in engine.module_run(str(calls)).records}
    assert after[("CKV_AWS_338", "module.logs.aws_cloudwatch_log_group.this")] == "PASSED"
    assert not [k for k, v in after.items() if v == "FAILED" and k[0] != "CKV_AWS_158"]  # only the KMS one is left
    assert build_edits(offer, finding, engine) == []  # idempotent


def test_no_fix_at_the_call_when_the_caller_passes_an_expression(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    caller = ws / "calls" / "main.tf"
    caller.write_text(caller.read_text().replace('name = "app"', 'name = "app"\n  retention_in_days = var.days')
                      + 'variable "days" {\n  default = 7\n}\n')
    engine = Engine(str(ws))
    [finding] = _through_call(engine, ws / "calls", "CKV_AWS_338")
    assert offers_for(finding, engine) == []


def test_no_fix_at_the_call_when_the_module_computes_the_value(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    module = ws / "calls" / "modules" / "logs" / "main.tf"
    module.write_text(module.read_text().replace("var.retention_in_days", "var.retention_in_days * 1"))
    engine = Engine(str(ws))
    [finding] = _through_call(engine, ws / "calls", "CKV_AWS_338")
    assert offers_for(finding, engine) == []


def _commit_finding(engine: Engine, path: Path) -> Finding:
    [f] = [f for f in engine.analyze_file(str(path)).findings
           if f.check_id == "CKV_TF_1" and f.result is Result.FAILED]
    return f


def test_ckv_tf_1_pins_a_registry_module_to_the_typed_commit(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    path = ws / "pin" / "main.tf"
    engine = Engine(str(ws))
    finding = _commit_finding(engine, path)
    offer = next(o for o in offers_for(finding, engine) if o.kind == "pin")
    assert offer.id == "pin:commit" and offer.prompt and "tag v5.8.1 of github.com/terraform-aws-modules/" \
        "terraform-aws-vpc" in offer.title
    assert build_edits(offer, finding, engine) == []  # no hash is ever invented
    assert build_edits(offer, finding, engine, value="v5.8.1") == []  # a tag is not a commit
    assert build_edits(offer, finding, engine, value="4e3b2a1") == []  # nor is a short hash
    new = _apply(engine, str(path), build_edits(offer, finding, engine, value=COMMIT))
    assert new == ('module "vpc" {\n'
                   f'  source  = "git::https://github.com/terraform-aws-modules/terraform-aws-vpc.git?ref={COMMIT}"\n'
                   '\n  name = "main"\n}\n')
    results = {f.result for f in engine.analyze_file(str(path)).findings if f.check_id == "CKV_TF_1"}
    assert results == {Result.PASSED}
    assert build_edits(offer, finding, engine, value=COMMIT) == []


def test_ckv_tf_1_replaces_a_git_tag_ref_by_the_commit(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    path = ws / "pin" / "main.tf"
    path.write_text('module "vpc" {\n  source = "git::https://example.com/net/vpc.git//modules/a?ref=v1.2.0"\n}\n')
    engine = Engine(str(ws))
    finding = _commit_finding(engine, path)
    offer = next(o for o in offers_for(finding, engine) if o.kind == "pin")
    assert "v1.2.0 of git::https://example.com/net/vpc.git//modules/a" in offer.title
    new = _apply(engine, str(path), build_edits(offer, finding, engine, value=COMMIT))
    assert f'source = "git::https://example.com/net/vpc.git//modules/a?ref={COMMIT}"' in new
    assert {f.result for f in engine.analyze_file(str(path)).findings if f.check_id == "CKV_TF_1"} == {Result.PASSED}


def test_ckv_tf_1_uses_the_catalogue_commit_without_typing(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    path = ws / "pin" / "main.tf"
    path.write_text('module "vpc" {\n  source = "git::https://git.acme.internal/tf/vpc.git?ref=v5.0.0"\n}\n')
    cat = parse_catalogue(
        "version: 1\nmodules:\n  - name: vpc\n    source: git::https://git.acme.internal/tf/vpc.git\n"
        f"    pin: {COMMIT}\n", "catalogue.yaml")
    engine = Engine(str(ws))
    finding = _commit_finding(engine, path)
    offers = [o for o in offers_for(finding, engine, cat) if o.kind == "pin"]
    assert [o.id for o in offers] == ["pin:vpc", "pin:commit"] and offers[0].preferred and not offers[1].preferred
    new = _apply(engine, str(path), build_edits(offers[0], finding, engine, cat))
    assert f'?ref={COMMIT}"' in new
    assert {f.result for f in engine.analyze_file(str(path)).findings if f.check_id == "CKV_TF_1"} == {Result.PASSED}


def test_log_bucket_is_a_choice_among_the_module_buckets(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    path = ws / "choice" / "main.tf"
    engine = Engine(str(ws))
    findings = engine.analyze_module(str(path.parent))[str(path)].findings
    finding = next(f for f in findings if f.check_id == "CKV_AWS_18" and f.resource == "aws_s3_bucket.data")
    offers = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert [(o.value, o.group) for o in offers] == [("aws_s3_bucket.access_logs.id", "local:CKV_AWS_18")]
    assert "log to aws_s3_bucket.access_logs" in offers[0].title and not offers[0].safe
    assert build_edits(offers[0], finding, engine, value="aws_s3_bucket.data.id; rm") == []
    new = _apply(engine, str(path), build_edits(offers[0], finding, engine))
    assert ('resource "aws_s3_bucket_logging" "data" {\n  bucket = aws_s3_bucket.data.id\n\n'
            '  target_bucket = aws_s3_bucket.access_logs.id\n') in new
    after = engine.analyze_module(str(path.parent))[str(path)].findings
    assert {f.result for f in after if f.check_id == "CKV_AWS_18" and f.resource == "aws_s3_bucket.data"} \
        == {Result.PASSED}
    assert build_edits(offers[0], finding, engine) == []
    assert offers_for(replace(finding, result=Result.PASSED), engine) == []


def test_kms_key_policy_companion_with_the_typed_account(tmp_path: Path) -> None:
    src = FIXTURES.parent / "CKV2_AWS_64" / "main.tf"
    path = tmp_path / "main.tf"
    path.write_text(src.read_text().replace('data "aws_caller_identity" "current" {}\n\n', ""))
    engine = Engine(str(tmp_path))
    findings = engine.analyze_module(str(tmp_path))[str(path)].findings
    finding = next(f for f in findings if f.check_id == "CKV2_AWS_64" and f.result is Result.FAILED)
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]  # no caller identity: type it
    assert offer.prompt and "account ID" in offer.prompt
    assert build_edits(offer, finding, engine, value="1111") == []
    new = _apply(engine, str(path), build_edits(offer, finding, engine, value="444455556666"))
    assert ('resource "aws_kms_key_policy" "app" {\n  key_id = aws_kms_key.app.id\n  policy = jsonencode({\n'
            in new) and 'Principal = { AWS = "arn:aws:iam::444455556666:root" }' in new
    after = engine.analyze_module(str(tmp_path))[str(path)].findings
    assert {f.result for f in after if f.check_id == "CKV2_AWS_64"} == {Result.PASSED}
    assert {(f.check_id, f.resource) for f in after if f.result is Result.FAILED} <= \
        {(f.check_id, f.resource) for f in findings if f.result is Result.FAILED}
    assert build_edits(offer, finding, engine, value="444455556666") == []
