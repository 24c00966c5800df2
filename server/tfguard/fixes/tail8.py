"""Local fixes for the leftovers of terraform-aws-lambda and terraform-azurerm-aks (issue #21, eighth session).

The resources the examples declare themselves and no fix covered: SNS topics, CloudWatch log groups, DynamoDB
tables, Kinesis streams, Amazon MQ brokers, Secrets Manager secrets, EFS file systems (terraform-aws-lambda's
``examples/``) and Azure Container Registries (terraform-azurerm-aks's ``examples/with_acr``). Attribute
settings where the value is the secure setting the provider accepts; a choice of KMS key (the module's
``aws_kms_key`` resources, or a typed key ARN) where Checkov wants a customer managed key, which only the
developer can pick. See docs/fixes.md, "lambda, s3-bucket and aks leftovers, eighth session (measured)".
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tfguard.fixes.registry import Options, Planner, attr, choice, custom
from tfguard.fixes.textops import Companion, Set, Step, is_dynamic
from tfguard.fixes.textops import plain_string as _string
from tfguard.hcl.blocks import Block

ValuePlan = Callable[[Block, str, str], "list[Step] | None"]

_KEY_EXAMPLE = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# a customer managed key: a reference to the module's key, or a key ARN (aliases name AWS managed keys too)
_CMK = re.compile(r"^aws_kms_key\.[\w-]+\.arn$|^arn:aws[\w-]*:kms:[\w-]+:\d{12}:key/[\w-]+$")


def _keys(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    """Choices: the module's ``aws_kms_key`` resources without count/for_each, by ARN."""
    out = []
    for b in blocks:
        if (b.kind == "resource" and b.labels[:1] == ("aws_kms_key",) and len(b.labels) > 1
                and b.item(("count",)) is None and b.item(("for_each",)) is None):
            ref = f"aws_kms_key.{b.labels[1]}"
            out.append((ref, f"{ref}.arn"))
    return out


def _key(value: str) -> str | None:
    """A typed or chosen customer managed key as HCL (a reference bare, an ARN quoted), else None."""
    value = value.strip()
    if not _CMK.match(value):
        return None
    return f'"{value}"' if value.startswith("arn:") else value


def _with_key(path: tuple[str, ...], *extra: Step, unless: Callable[[Block, str], bool] | None = None) -> ValuePlan:
    """Set ``path`` to the chosen key (after ``extra``); no fix when ``unless`` holds for the block."""
    def plan(block: Block, text: str, value: str) -> list[Step] | None:
        key = _key(value)
        if key is None or (unless is not None and unless(block, text)):
            return None
        return [*extra, Set(path, key)]

    return plan


def _key_choice(check_id: str, types: str, summary: str, plan: ValuePlan, what: str,
                options: Options = _keys) -> None:
    choice(check_id, types, summary, plan, options=options, prompt=f"ARN of the customer managed KMS key for {what}",
           example=_KEY_EXAMPLE)


# --------------------------------------------------------------------------- SNS, CloudWatch Logs
# the AWS managed key of SNS: every topic can use it; services publishing to the topic (S3, EventBridge,
# CloudWatch alarms) cannot, they need a customer managed key whose policy lets them: not safe
attr("CKV_AWS_26", "aws_sns_topic", "kms_master_key_id", '"alias/aws/sns"', safe=False,
     summary='encrypt the topic with the AWS managed key (kms_master_key_id = "alias/aws/sns")')
# CloudWatch Logs only takes a customer managed key (its key policy must allow logs.<region>.amazonaws.com)
_key_choice("CKV_AWS_158", "aws_cloudwatch_log_group", "encrypt the log group with a KMS key (kms_key_id)",
            _with_key(("kms_key_id",)), "the log group")

# --------------------------------------------------------------------------- DynamoDB
attr("CKV_AWS_28", "aws_dynamodb_table", "point_in_time_recovery.enabled", "true", safe=False,  # billed per GB
     summary="keep continuous backups (point_in_time_recovery.enabled = true)")
_key_choice("CKV_AWS_119", "aws_dynamodb_table", "encrypt the table with a customer managed KMS key",
            _with_key(("server_side_encryption", "kms_key_arn"), Set(("server_side_encryption", "enabled"), "true")),
            "the table")

# --------------------------------------------------------------------------- Kinesis
_STREAM = "aws_kinesis_stream"


def _stream_encryption(block: Block, text: str) -> list[Step] | None:
    steps: list[Step] = [Set(("encryption_type",), '"KMS"')]
    if block.item(("kms_key_id",)) is None:  # the API needs a key with KMS: Kinesis's AWS managed key
        steps.append(Set(("kms_key_id",), '"alias/aws/kinesis"'))
    return steps


custom("CKV_AWS_43", _STREAM, 'encrypt the stream (encryption_type = "KMS", the AWS managed key)', _stream_encryption)
_key_choice("CKV_AWS_185", _STREAM, "encrypt the stream with a customer managed KMS key",
            _with_key(("kms_key_id",), Set(("encryption_type",), '"KMS"')), "the stream")

# --------------------------------------------------------------------------- Amazon MQ
_MQ = "aws_mq_broker"


def _rabbitmq(block: Block, text: str) -> bool:
    """A RabbitMQ broker (or an engine decided elsewhere): its encryption options do not apply (AWS API)."""
    engine = _string(block, text, "engine_type")
    return engine is None or engine.lower() != "activemq"


attr("CKV_AWS_207", _MQ, "auto_minor_version_upgrade", "true", safe=False,  # the broker restarts to upgrade
     summary="apply minor engine upgrades (auto_minor_version_upgrade = true)")
# ActiveMQ needs a CloudWatch Logs resource policy letting Amazon MQ write: not safe
attr("CKV_AWS_48", _MQ, "logs.general", "true", summary="publish the general log to CloudWatch (logs.general)",
     safe=False)
_key_choice("CKV_AWS_209", _MQ, "encrypt the broker with a customer managed KMS key (encryption_options)",
            _with_key(("encryption_options", "kms_key_id"), Set(("encryption_options", "use_aws_owned_key"), "false"),
                      unless=_rabbitmq), "the broker")

# --------------------------------------------------------------------------- Secrets Manager
_key_choice("CKV_AWS_149", "aws_secretsmanager_secret", "encrypt the secret with a customer managed KMS key",
            _with_key(("kms_key_id",)), "the secret")

_LAMBDA = re.compile(r"^aws_lambda_function\.[\w-]+\.arn$|^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+$")


def _rotation(block: Block, text: str, value: str) -> list[Step] | None:
    """A companion ``aws_secretsmanager_secret_rotation`` with the rotation function the developer names."""
    function = value.strip()
    if not _LAMBDA.match(function):
        return None
    if function.startswith("arn:"):
        function = f'"{function}"'
    return [Companion("aws_secretsmanager_secret_rotation", (
        "  secret_id           = {ref}",
        f"  rotation_lambda_arn = {function}",
        "",
        "  rotation_rules {",
        "    automatically_after_days = 30",
        "  }",
    ))]


def _functions(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    return [(f"aws_lambda_function.{b.labels[1]}", f"aws_lambda_function.{b.labels[1]}.arn") for b in blocks
            if b.kind == "resource" and b.labels[:1] == ("aws_lambda_function",) and len(b.labels) > 1
            and b.item(("count",)) is None and b.item(("for_each",)) is None]


choice("CKV2_AWS_57", "aws_secretsmanager_secret",
       "rotate the secret every 30 days (aws_secretsmanager_secret_rotation)", _rotation, options=_functions,
       prompt="ARN of the Lambda function that rotates the secret",
       example="arn:aws:lambda:eu-west-1:111122223333:function:rotate-credentials")

# --------------------------------------------------------------------------- EFS
_EFS = "aws_efs_file_system"
attr("CKV_AWS_42", _EFS, "encrypted", "true", safe=False)  # forces a new file system
_key_choice("CKV_AWS_184", _EFS, "encrypt the file system with a customer managed KMS key",
            _with_key(("kms_key_id",), Set(("encrypted",), "true")), "the file system")  # forces a new one

# --------------------------------------------------------------------------- Azure Container Registry
# (azurerm v4 attribute names; the features need the Premium SKU, which an unsafe fix sets when the SKU is
# a lower literal one: it costs more)
_ACR = "azurerm_container_registry"


def _premium(block: Block, text: str) -> list[Step] | None:
    """``sku = "Premium"`` when needed; None when the SKU is an expression (decided elsewhere)."""
    sku = _string(block, text, "sku")
    if sku == "Premium":
        return []
    if sku in ("Basic", "Standard"):
        return [Set(("sku",), '"Premium"')]
    return None


def _acr(*settings: tuple[str, str], legacy: tuple[str, tuple[str, str]] | None = None) -> Planner:
    """Premium, then ``settings``; ``legacy`` names the azurerm v3 nested block used instead when present."""
    def plan(block: Block, text: str) -> list[Step] | None:
        sku = _premium(block, text)
        if sku is None:
            return None
        if legacy is not None and block.item((legacy[0],)) is not None:
            if is_dynamic(block, legacy[0]):
                return None
            return [*sku, Set((legacy[0], legacy[1][0]), legacy[1][1]), Set((legacy[0], "enabled"), "true")]
        return [*sku, *(Set((path,), value) for path, value in settings)]

    return plan


custom("CKV_AZURE_139", _ACR, "disable public network access (public_network_access_enabled = false)",
       _acr(("public_network_access_enabled", "false")), safe=False)  # cuts off access
custom("CKV_AZURE_237", _ACR, "use dedicated data endpoints (data_endpoint_enabled = true)",
       _acr(("data_endpoint_enabled", "true")), safe=False)  # clients' firewall rules must allow them
custom("CKV_AZURE_166", _ACR, "quarantine images until they are scanned (quarantine_policy_enabled = true)",
       _acr(("quarantine_policy_enabled", "true")), safe=False)  # unscanned images cannot be pulled
custom("CKV_AZURE_164", _ACR, "use content trust for signed images (trust_policy_enabled = true)",
       _acr(("trust_policy_enabled", "true"), legacy=("trust_policy", ("enabled", "true"))), safe=False)
custom("CKV_AZURE_167", _ACR, "delete untagged manifests after 7 days (retention_policy_in_days = 7)",
       _acr(("retention_policy_in_days", "7"), legacy=("retention_policy", ("days", "7"))), safe=False)


def _zone_redundant(block: Block, text: str) -> list[Step] | None:
    if block.item(("georeplications",)) is not None:
        return None  # each replica needs it too, in its own block
    sku = _premium(block, text)
    return [*sku, Set(("zone_redundancy_enabled",), "true")] if sku is not None else None


custom("CKV_AZURE_233", _ACR, "make the registry zone redundant (zone_redundancy_enabled = true)", _zone_redundant,
       safe=False)  # forces a new registry
_REGION = re.compile(r"^[a-z][a-z0-9]{2,}$")


def _georeplicate(block: Block, text: str, value: str) -> list[Step] | None:
    region = value.strip().replace(" ", "").lower()
    location = _string(block, text, "location")
    sku = _premium(block, text)
    if (not _REGION.match(region) or sku is None or block.item(("georeplications",)) is not None
            or (location is not None and location.replace(" ", "").lower() == region)):
        return None  # not a region name, the registry's own region, or replicas already chosen
    return [*sku, Set(("georeplications", "location"), f'"{region}"')]


choice("CKV_AZURE_165", _ACR, "replicate the registry to a second region (georeplications)", _georeplicate,
       prompt="Azure region for the replica, other than the registry's (e.g. westeurope)", example="westeurope")
