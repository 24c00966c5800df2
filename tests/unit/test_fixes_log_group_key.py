"""CKV_AWS_158: a log group is encrypted with a key CloudWatch Logs may use; the choices are the file's
keys whose policy allows the logs service, else a typed key ARN. Proven by Checkov."""

from __future__ import annotations

from pathlib import Path

from tfguard.engine import Engine
from tfguard.fixes import build_edits, offers_for
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result

GROUP = 'resource "aws_cloudwatch_log_group" "app" {\n  name              = "app"\n  retention_in_days = 365\n}\n'
LOGS_KEY = ('\nresource "aws_kms_key" "logs" {\n  description         = "logs"\n  enable_key_rotation = true\n'
            '  policy = jsonencode({\n    Version = "2012-10-17"\n    Statement = [{\n'
            '      Effect    = "Allow"\n      Principal = { Service = "logs.eu-west-1.amazonaws.com" }\n'
            '      Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*", "kms:Describe*"]\n'
            '      Resource  = "*"\n    }]\n  })\n}\n')
OTHER_KEY = '\nresource "aws_kms_key" "data" {\n  description         = "data"\n  enable_key_rotation = true\n}\n'


def _failed(engine: Engine, path: Path) -> Finding:
    [finding] = [f for f in engine.analyze_file(str(path)).findings
                 if f.check_id == "CKV_AWS_158" and f.result is Result.FAILED]
    return finding


def test_the_key_cloudwatch_logs_may_use_is_offered(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    text = GROUP + LOGS_KEY + OTHER_KEY
    path.write_text(text)
    engine = Engine(str(tmp_path))
    finding = _failed(engine, path)
    offers = [o for o in offers_for(finding, engine) if o.kind == "local"]
    # the key whose policy allows CloudWatch Logs, then a typed ARN; never the data key
    assert [o.value for o in offers] == ["aws_kms_key.logs.arn", None]
    new = apply_text_edits(text, build_edits(offers[0], finding, engine))
    assert new == text.replace("  retention_in_days = 365\n", "  retention_in_days = 365\n"
                                                              "  kms_key_id = aws_kms_key.logs.arn\n", 1)
    engine.set_overlay(str(path), new)
    assert {f.result for f in engine.analyze_file(str(path)).findings
            if f.check_id == "CKV_AWS_158"} == {Result.PASSED}
    assert build_edits(offers[0], finding, engine) == []


def test_a_typed_value_must_be_a_key_arn(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_text(GROUP)
    engine = Engine(str(tmp_path))
    finding = _failed(engine, path)
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    for wrong in ("arn:aws:kms:eu-west-1:111122223333:alias/logs", "1234abcd-12ab-34cd-56ef-1234567890ab",
                  "aws_kms_key.logs.id"):
        assert build_edits(offer, finding, engine, value=wrong) == [], wrong
    key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert f'kms_key_id = "{key}"' in apply_text_edits(GROUP, build_edits(offer, finding, engine, value=key))
