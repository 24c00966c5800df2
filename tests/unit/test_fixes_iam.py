"""IAM wildcard fixes beyond the per-check fixture: heredoc JSON, what is never offered, and a statement
inside a module reported through a module call (fixed in the module's file, for every caller).

Checkov decides (in-process, the same engine the editor uses).
"""

from __future__ import annotations

from pathlib import Path

from tfguard.engine import Engine
from tfguard.fixes import build_edits, example_value, offers_for
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result

ARN = "arn:aws:sns:eu-west-1:111122223333:deployments"

HEREDOC = """resource "aws_iam_policy" "this" {
  name = "example"

  policy = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Action": ["ec2:DescribeVpcs"],
          "Effect": "Allow",
          "Resource": "*"
        },
        {
          "Action": ["sns:Publish"],
          "Effect": "Allow",
          "Resource": "*"
        }
      ]
    }
  EOT
}
"""


def _failed(engine: Engine, path: Path, check_id: str) -> Finding:
    fa = engine.analyze_module(str(path.parent))[str(path)]
    return next(f for f in fa.findings if f.check_id == check_id and f.result is Result.FAILED)


def _results(engine: Engine, path: Path, check_id: str) -> set[Result]:
    fa = engine.analyze_module(str(path.parent))[str(path)]
    return {f.result for f in fa.findings if f.check_id == check_id}


def test_heredoc_policy_statement_restricted_to_typed_arn(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_text(HEREDOC)
    engine = Engine(str(tmp_path))
    finding = _failed(engine, path, "CKV_AWS_355")
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert offer.prompt is not None and not offer.safe
    assert build_edits(offer, finding, engine, value="*") == []
    assert build_edits(offer, finding, engine, value="${var.arn}") == []
    new = apply_text_edits(HEREDOC, build_edits(offer, finding, engine, value=ARN))
    # the Describe statement needs "*" (its action cannot be restricted) and keeps it
    assert new == HEREDOC.replace('["sns:Publish"],\n          "Effect": "Allow",\n          "Resource": "*"',
                                  f'["sns:Publish"],\n          "Effect": "Allow",\n          "Resource": "{ARN}"')
    engine.set_overlay(str(path), new)
    assert _results(engine, path, "CKV_AWS_355") == {Result.PASSED}
    assert build_edits(offer, finding, engine, value=ARN) == []


def test_no_offer_when_the_statement_is_not_in_the_text(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_text("""variable "arns" {
  type    = list(string)
  default = ["*"]
}

data "aws_iam_policy_document" "generated" {
  dynamic "statement" {
    for_each = toset(["a"])
    content {
      actions   = ["sns:Publish"]
      resources = ["*"]
    }
  }
}

data "aws_iam_policy_document" "from_input" {
  statement {
    actions   = ["sns:Publish"]
    resources = var.arns
  }
}

resource "aws_iam_policy" "from_variable" {
  name   = "x"
  policy = var.policy
}

variable "policy" {
  type    = string
  default = <<-EOT
    {"Version": "2012-10-17",
     "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}
  EOT
}
""")
    engine = Engine(str(tmp_path))
    fa = engine.analyze_module(str(tmp_path))[str(path)]
    failed = [f for f in fa.findings if f.result is Result.FAILED
              and f.check_id in ("CKV_AWS_356", "CKV_AWS_111", "CKV_AWS_355")]
    # (Checkov does not render this dynamic block: whatever it reports of it, no fix is offered)
    assert "aws_iam_policy_document.from_input" in {f.resource.removeprefix("data.") for f in failed}
    for f in failed:
        assert [o for o in offers_for(f, engine) if o.kind == "local"] == [], f.resource


def test_statement_of_a_module_is_fixed_in_the_module_for_every_caller(tmp_path: Path) -> None:
    mod = tmp_path / "modules" / "notify"
    mod.mkdir(parents=True)
    module_text = """data "aws_iam_policy_document" "this" {
  statement {
    actions   = ["sns:Publish"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "this" {
  name   = var.name
  policy = data.aws_iam_policy_document.this.json
}

variable "name" {
  type = string
}
"""
    (mod / "main.tf").write_text(module_text)
    caller = tmp_path / "app"
    caller.mkdir()
    (caller / "main.tf").write_text('module "notify" {\n  source = "../modules/notify"\n  name   = "app"\n}\n')
    engine = Engine(str(tmp_path))
    records = [r for r in engine.module_run(str(caller)).records
               if r.result == "FAILED" and r.check_id == "CKV_AWS_356"]
    [finding] = engine.records_to_findings(records, None)
    assert finding.resource == "module.notify.aws_iam_policy_document.this"
    offers = offers_for(finding, engine)
    assert [o.kind for o in offers] == ["local"]  # no suppression in the shared module
    [offer] = offers
    assert offer.title.startswith("Fix CKV_AWS_356 (restricts the statement for every caller): restrict")
    edits = build_edits(offer, finding, engine, value=example_value(offer))
    new = apply_text_edits(module_text, edits)
    assert new == module_text.replace('resources = ["*"]', 'resources = ["arn:aws:s3:::example-bucket/*"]')
    engine.set_overlay(str(mod / "main.tf"), new)
    after = {(r.check_id, r.result) for r in engine.module_run(str(caller)).records
             if r.resource == finding.resource}
    assert ("CKV_AWS_356", "PASSED") in after and ("CKV_AWS_356", "FAILED") not in after
