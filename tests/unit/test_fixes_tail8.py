"""The lambda, s3-bucket and aks leftovers (fixes/tail8.py, the CKV_TF_2 pin): what the user gets.

Every local fix here is also applied and re-checked by tests/unit/test_fixes.py::test_fix_makes_check_pass on
its fixture; these tests look at the shapes a fix must decline or handle differently (a RabbitMQ broker, a
key already chosen, a SKU decided elsewhere, the azurerm v3 blocks), the choices offered and the typed values
refused, and the module pin offered for CKV_TF_2.
"""

from __future__ import annotations

from pathlib import Path

from fixkit import apply as _apply
from fixkit import failing as _failing
from fixkit import offers as _offers
from fixkit import result as _result
from fixkit import write as _write

from tfguard.engine import Engine
from tfguard.fixes import FixOffer, build_edits, example_value
from tfguard.model import Finding, Result
from tfguard.scan.runner import scan

COMMIT = "0123456789abcdef0123456789abcdef01234567"
KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _fixes(engine: Engine, f: Finding) -> list[FixOffer]:
    return _offers(engine, f, ("local", "pin"))


# --------------------------------------------------------------------------- CKV_TF_2: a module without version

_ECR = '''module "ecr" {
  source = "terraform-aws-modules/ecr/aws"

  repository_name = "images"
}
'''


def test_module_without_version_is_pinned_to_a_typed_commit(tmp_path: Path) -> None:
    path = _write(tmp_path, _ECR)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_TF_2")
    offers = _fixes(engine, f)
    assert [o.id for o in offers] == ["pin:commit"]
    offer = offers[0]
    assert offer.title == ("Fix CKV_TF_2: pin to the commit of the release you use of "
                           "github.com/terraform-aws-modules/terraform-aws-ecr (type the hash)")
    assert offer.prompt is not None and not offer.safe
    assert build_edits(offer, f, engine) == [] and build_edits(offer, f, engine, value="v2.3.0") == []
    new = _apply(engine, path, offer, f, COMMIT)
    assert f'  source = "git::https://github.com/terraform-aws-modules/terraform-aws-ecr.git?ref={COMMIT}"\n' in new
    assert '  repository_name = "images"\n' in new
    assert _result(engine, path, "CKV_TF_2", f.resource) == {Result.PASSED}
    assert _result(engine, path, "CKV_TF_1", f.resource) == {Result.PASSED}
    assert build_edits(offer, f, engine, value=COMMIT) == []


def test_module_without_version_is_pinned_from_the_repository_scan(tmp_path: Path) -> None:
    # `tfguard scan` names the call by its label ("ecr"), as Checkov's runner does
    path = _write(tmp_path, _ECR)
    engine = Engine(str(tmp_path))
    report = scan(engine, [str(path.parent)], cache_dir="", workers=1)
    f = next(x for x in report.findings if x.check_id == "CKV_TF_2" and x.result is Result.FAILED)
    assert f.resource == "ecr"
    offers = _fixes(engine, f)
    assert [o.id for o in offers] == ["pin:commit"]
    new = _apply(engine, path, offers[0], f, COMMIT)
    assert f"terraform-aws-ecr.git?ref={COMMIT}" in new
    assert _result(engine, path, "CKV_TF_2", "module.ecr") == {Result.PASSED}


# --------------------------------------------------------------------------- Amazon MQ

_BROKER = '''resource "aws_kms_key" "broker" {
  description         = "broker key"
  enable_key_rotation = true
}

resource "aws_mq_broker" "queue" {
  broker_name        = "queue"
  engine_type        = "%s"
  engine_version     = "3.13"
  host_instance_type = "mq.t3.micro"

  user {
    username = "admin"
    password = "correct-horse-battery"
  }
}
'''


def test_customer_managed_key_is_not_offered_for_a_rabbitmq_broker(tmp_path: Path) -> None:
    # the API's encryptionOptions do not apply to RabbitMQ brokers: a key set there would be refused
    path = _write(tmp_path, _BROKER % "RabbitMQ")
    engine = Engine(str(tmp_path))
    assert _fixes(engine, _failing(engine, path, "CKV_AWS_209")) == []
    # the other MQ fixes are right for RabbitMQ too
    f = _failing(engine, path, "CKV_AWS_48")
    new = _apply(engine, path, _fixes(engine, f)[0], f)
    assert "  logs {\n    general = true\n  }\n}" in new
    assert _result(engine, path, "CKV_AWS_48", f.resource) == {Result.PASSED}


def test_activemq_broker_gets_the_module_key_or_a_typed_key(tmp_path: Path) -> None:
    path = _write(tmp_path, _BROKER % "ActiveMQ")
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AWS_209")
    offers = _fixes(engine, f)
    assert [o.value for o in offers] == ["aws_kms_key.broker.arn", None]
    assert offers[1].prompt is not None and example_value(offers[1]) is not None
    # an alias names AWS managed keys too: not a customer managed key
    assert build_edits(offers[1], f, engine, value="alias/aws/mq") == []
    new = _apply(engine, path, offers[1], f, KEY_ARN)
    assert f'  encryption_options {{\n    use_aws_owned_key = false\n    kms_key_id = "{KEY_ARN}"\n  }}\n' in new
    assert _result(engine, path, "CKV_AWS_209", f.resource) == {Result.PASSED}


# --------------------------------------------------------------------------- Kinesis

def test_stream_encryption_keeps_a_key_already_chosen(tmp_path: Path) -> None:
    path = _write(tmp_path, '''resource "aws_kinesis_stream" "events" {
  name            = "events"
  shard_count     = 1
  encryption_type = "NONE"
  kms_key_id      = aws_kms_key.stream.arn
}
''')
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AWS_43")
    new = _apply(engine, path, _fixes(engine, f)[0], f)
    assert '  encryption_type = "KMS"\n  kms_key_id      = aws_kms_key.stream.arn\n}' in new
    assert "alias/aws/kinesis" not in new
    assert _result(engine, path, "CKV_AWS_43", f.resource) == {Result.PASSED}


def test_stream_without_key_gets_the_aws_managed_key(tmp_path: Path) -> None:
    path = _write(tmp_path, '''resource "aws_kinesis_stream" "events" {
  name        = "events"
  shard_count = 1
}
''')
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AWS_43")
    new = _apply(engine, path, _fixes(engine, f)[0], f)
    assert '  encryption_type = "KMS"\n  kms_key_id = "alias/aws/kinesis"\n}' in new  # the API needs a key


# --------------------------------------------------------------------------- Azure Container Registry

_ACR = '''resource "azurerm_container_registry" "images" {
  name                = "buildimages"
  location            = "northeurope"
  resource_group_name = "build"
  sku                 = %s
%s}
'''


def test_registry_on_premium_keeps_its_sku(tmp_path: Path) -> None:
    path = _write(tmp_path, _ACR % ('"Premium"', ""))
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AZURE_237")
    new = _apply(engine, path, _fixes(engine, f)[0], f)
    assert new.count("sku") == 1 and '  data_endpoint_enabled = true\n}' in new
    assert _result(engine, path, "CKV_AZURE_237", f.resource) == {Result.PASSED}


def test_registry_on_a_lower_sku_is_moved_to_premium(tmp_path: Path) -> None:
    path = _write(tmp_path, _ACR % ('"Basic"', ""))
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AZURE_139")
    offer = _fixes(engine, f)[0]
    assert not offer.safe  # cuts off public access (and Premium costs more)
    new = _apply(engine, path, offer, f)
    assert '  sku                 = "Premium"\n' in new and "  public_network_access_enabled = false\n" in new
    assert _result(engine, path, "CKV_AZURE_139", f.resource) == {Result.PASSED}


def test_registry_sku_decided_elsewhere_gets_no_fix(tmp_path: Path) -> None:
    path = _write(tmp_path, _ACR % ("var.sku", ""))
    engine = Engine(str(tmp_path))
    for check in ("CKV_AZURE_139", "CKV_AZURE_237", "CKV_AZURE_167"):
        assert _fixes(engine, _failing(engine, path, check)) == [], check


def test_registry_v3_trust_policy_block_is_enabled_in_place(tmp_path: Path) -> None:
    path = _write(tmp_path, _ACR % ('"Premium"', "\n  trust_policy {\n    enabled = false\n  }\n"))
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AZURE_164")
    new = _apply(engine, path, _fixes(engine, f)[0], f)
    assert "  trust_policy {\n    enabled = true\n  }\n" in new and "trust_policy_enabled" not in new
    assert _result(engine, path, "CKV_AZURE_164", f.resource) == {Result.PASSED}


def test_georeplication_needs_another_region(tmp_path: Path) -> None:
    path = _write(tmp_path, _ACR % ('"Premium"', ""))
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AZURE_165")
    offers = _fixes(engine, f)
    assert len(offers) == 1 and offers[0].prompt is not None
    for refused in ("northeurope", "North Europe", "eu", "west-europe", ""):
        assert build_edits(offers[0], f, engine, value=refused) == [], refused
    new = _apply(engine, path, offers[0], f, "West Europe")
    assert '  georeplications {\n    location = "westeurope"\n  }\n}' in new
    assert _result(engine, path, "CKV_AZURE_165", f.resource) == {Result.PASSED}


# --------------------------------------------------------------------------- Secrets Manager rotation (graph)

_SECRET = '''resource "aws_lambda_function" "rotate" {
  function_name = "rotate-credentials"
  role          = "arn:aws:iam::111122223333:role/rotate"
  handler       = "index.handler"
  runtime       = "python3.12"
  filename      = "rotate.zip"
}

resource "aws_secretsmanager_secret" "credentials" {
  name = "mq-credentials"
}
'''


def test_secret_rotation_uses_the_function_the_developer_names(tmp_path: Path) -> None:
    path = _write(tmp_path, _SECRET)
    engine = Engine(str(tmp_path))
    fa = engine.analyze_module(str(path.parent)).get(str(path))
    assert fa is not None
    f = next(x for x in fa.findings if x.check_id == "CKV2_AWS_57" and x.result is Result.FAILED)
    offers = _fixes(engine, f)
    assert [o.value for o in offers] == ["aws_lambda_function.rotate.arn", None]
    for refused in ("rotate-credentials", "arn:aws:sqs:eu-west-1:111122223333:q", "aws_sqs_queue.q.arn"):
        assert build_edits(offers[1], f, engine, value=refused) == [], refused
    new = _apply(engine, path, offers[0], f)
    assert new.endswith('''resource "aws_secretsmanager_secret_rotation" "credentials" {
  secret_id           = aws_secretsmanager_secret.credentials.id
  rotation_lambda_arn = aws_lambda_function.rotate.arn

  rotation_rules {
    automatically_after_days = 30
  }
}
''')
    fa = engine.analyze_module(str(path.parent)).get(str(path))
    assert fa is not None
    assert {x.result for x in fa.findings if x.check_id == "CKV2_AWS_57" and x.resource == f.resource} == \
        {Result.PASSED}
    assert build_edits(offers[0], f, engine) == []
