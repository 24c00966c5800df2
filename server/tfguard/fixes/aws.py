"""Local fixes for AWS checks (chosen by how often they fail in real code; see docs/fixes.md)."""

from __future__ import annotations

import re
from collections.abc import Callable

from tfguard.fixes.registry import Options, attr, choice, companion, custom
from tfguard.fixes.textops import (
    Companion,
    InCompanion,
    Rewrite,
    Set,
    Step,
    child_indent,
    indent_unit,
    is_dynamic,
    is_literal,
)
from tfguard.hcl.blocks import Block

BUCKET = "aws_s3_bucket"

# --------------------------------------------------------------------------- S3 buckets

attr("CKV_AWS_20", BUCKET, "acl", '"private"')

companion("CKV2_AWS_6", BUCKET, "add an aws_s3_bucket_public_access_block blocking all public access",
          Companion("aws_s3_bucket_public_access_block", (
              "  bucket = {ref}",
              "",
              "  block_public_acls       = true",
              "  block_public_policy     = true",
              "  ignore_public_acls      = true",
              "  restrict_public_buckets = true",
          )))


def _versioning(block: Block, text: str) -> list[Step] | None:
    if block.item(("versioning",)) is not None:  # the inline (pre-v4 provider) form
        return [Set(("versioning", "enabled"), "true")]
    return [Companion("aws_s3_bucket_versioning", (
        "  bucket = {ref}",
        "",
        "  versioning_configuration {",
        '    status = "Enabled"',
        "  }",
    )), InCompanion("aws_s3_bucket_versioning", Set(("versioning_configuration", "status"), '"Enabled"'))]


custom("CKV_AWS_21", BUCKET, "enable versioning (aws_s3_bucket_versioning)", _versioning)

_SSE_PATH = ("server_side_encryption_configuration", "rule", "apply_server_side_encryption_by_default",
             "sse_algorithm")


def _kms_encryption(block: Block, text: str) -> list[Step] | None:
    if block.item(("server_side_encryption_configuration",)) is not None:
        return [Set(_SSE_PATH, '"aws:kms"')]
    return [Companion("aws_s3_bucket_server_side_encryption_configuration", (
        "  bucket = {ref}",
        "",
        "  rule {",
        "    apply_server_side_encryption_by_default {",
        '      sse_algorithm = "aws:kms"',
        "    }",
        "  }",
    )), InCompanion("aws_s3_bucket_server_side_encryption_configuration",
                    Set(_SSE_PATH[1:], '"aws:kms"'))]


custom("CKV_AWS_145", BUCKET,
       "encrypt with KMS by default (aws_s3_bucket_server_side_encryption_configuration)",
       _kms_encryption)
custom("CKV_AWS_19", BUCKET, "encrypt at rest with KMS (aws_s3_bucket_server_side_encryption_configuration)",
       _kms_encryption)

_LOGGING_TODO = Companion("aws_s3_bucket_logging", (
    "  bucket = {ref}",
    "",
    "  target_bucket = {ref} # TODO: deliver access logs to your log bucket",
    '  target_prefix = "access-logs/"',
))


def _log_to(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if not re.match(r"^aws_s3_bucket\.[\w-]+\.id$", value) or block.item(("logging",)) is not None:
        return None
    return [Companion("aws_s3_bucket_logging", (
        "  bucket = {ref}",
        "",
        f"  target_bucket = {value}",
        '  target_prefix = "access-logs/"',
    ))]


def _log_buckets(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    out = []
    for b in blocks:
        if b.kind == "resource" and b.labels[:1] == (BUCKET,) and len(b.labels) > 1 and b.labels != block.labels \
                and b.item(("count",)) is None and b.item(("for_each",)) is None:
            out.append((f"log to {BUCKET}.{b.labels[1]}", f"{BUCKET}.{b.labels[1]}.id"))
    logs = [o for o in out if "log" in o[1]]
    return logs + [o for o in out if o not in logs]  # buckets named like log buckets first


def _logging_todo(block: Block, text: str) -> list[Step] | None:
    return None if block.item(("logging",)) is not None else [_LOGGING_TODO]


choice("CKV_AWS_18", BUCKET, "add aws_s3_bucket_logging", _log_to, options=_log_buckets,
       fallback=_logging_todo)

companion("CKV2_AWS_62", BUCKET, "add aws_s3_bucket_notification sending events to EventBridge",
          Companion("aws_s3_bucket_notification", (
              "  bucket      = {ref}",
              "  eventbridge = true",
          )))

companion("CKV2_AWS_61", BUCKET, "add an aws_s3_bucket_lifecycle_configuration aborting incomplete uploads",
          Companion("aws_s3_bucket_lifecycle_configuration", (
              "  bucket = {ref}",
              "",
              "  rule {",
              '    id     = "abort-incomplete-multipart-uploads"',
              '    status = "Enabled"',
              "",
              "    filter {}",
              "",
              "    abort_incomplete_multipart_upload {",
              "      days_after_initiation = 7",
              "    }",
              "  }",
          )))


def _abort_uploads(block: Block, text: str) -> list[Step] | None:
    if block.item(("rule",)) is None or block.item(("rule", "filter")) is not None:
        return None  # a filtered rule does not cover every upload: leave it to the developer
    return [Set(("rule", "abort_incomplete_multipart_upload", "days_after_initiation"), "7"),
            Set(("rule", "status"), '"Enabled"')]


custom("CKV_AWS_300", "aws_s3_bucket_lifecycle_configuration",
       "abort incomplete multipart uploads after 7 days", _abort_uploads)

for _check, _key in (("CKV_AWS_53", "block_public_acls"), ("CKV_AWS_54", "block_public_policy"),
                     ("CKV_AWS_55", "ignore_public_acls"), ("CKV_AWS_56", "restrict_public_buckets")):
    attr(_check, "aws_s3_bucket_public_access_block", _key, "true")

attr("CKV2_AWS_65", "aws_s3_bucket_ownership_controls", "rule.object_ownership", '"BucketOwnerEnforced"',
     safe=False, summary="disable ACLs (object_ownership = \"BucketOwnerEnforced\")")

# --------------------------------------------------------------------------- RDS

attr("CKV_AWS_139", "aws_rds_cluster", "deletion_protection", "true")
attr("CKV_AWS_162", "aws_rds_cluster", "iam_database_authentication_enabled", "true")
attr("CKV_AWS_313", "aws_rds_cluster", "copy_tags_to_snapshot", "true")
attr("CKV_AWS_96", "aws_rds_cluster", "storage_encrypted", "true", safe=False)  # forces replacement
attr("CKV_AWS_16", "aws_db_instance", "storage_encrypted", "true", safe=False)  # forces replacement
attr("CKV_AWS_17", "aws_db_instance", "publicly_accessible", "false", safe=False)
attr("CKV_AWS_161", "aws_db_instance", "iam_database_authentication_enabled", "true")
attr("CKV_AWS_226", "aws_db_instance", "auto_minor_version_upgrade", "true")
attr("CKV_AWS_293", "aws_db_instance", "deletion_protection", "true")
attr("CKV_AWS_157", "aws_db_instance", "multi_az", "true", safe=False)  # doubles the cost
attr("CKV2_AWS_60", "aws_db_instance", "copy_tags_to_snapshot", "true")


def _backup_retention(block: Block, text: str) -> list[Step] | None:
    source = block.item(("replicate_source_db",))
    if source is not None and text[source.start:source.end].split("=", 1)[-1].strip() != "null":
        # a read replica (or an input that may make one): its backups are the developer's decision
        # (the terraform-aws-rds examples set 0 on every replica; in cross-region-replica-postgres
        # Checkov still reports the replica FAILED with 7: the fix could not be proven)
        return None
    it = block.item(("backup_retention_period",))
    current = text[text.index("=", it.start) + 1:it.end].strip() if it is not None and not it.is_block else ""
    # more than 35 days is not accepted: the longest allowed keeps the most; else a week
    return [Set(("backup_retention_period",), "35" if current.isdigit() and int(current) > 35 else "7")]


custom("CKV_AWS_133", ("aws_db_instance", "aws_rds_cluster"), "keep automated backups (backup_retention_period)",
       _backup_retention, safe=False)  # backups cost storage; 0 may be deliberate (read replicas)
attr("CKV_AWS_211", "aws_db_instance", "ca_cert_identifier", '"rds-ca-rsa2048-g1"',
     safe=False)  # clients must trust the new CA

# log types each engine family can export (the API refuses others)
_DB_LOGS = (
    (("mysql", "mariadb"), '["audit", "error", "general", "slowquery"]'),
    (("postgres",), '["postgresql", "upgrade"]'),
    (("oracle-",), '["alert", "audit", "listener", "trace"]'),
    (("sqlserver-",), '["agent", "error"]'),
)


def _instance_logs(block: Block, text: str) -> list[Step] | None:
    engine = _literal(block, text, "engine")
    existing = block.item(("enabled_cloudwatch_logs_exports",))
    current = text[existing.start:existing.end].split("=", 1)[-1].strip() if existing is not None else "[]"
    if engine is None or is_literal(current) and current not in ("[]", "null"):
        return None  # engine unknown, or the user's own list (extending it is their choice)
    for prefixes, logs in _DB_LOGS:
        if engine.startswith(prefixes) if prefixes[0].endswith("-") else engine in prefixes:
            return [Set(("enabled_cloudwatch_logs_exports",), logs)]
    return None


custom("CKV_AWS_129", "aws_db_instance", "export the database logs to CloudWatch (enabled_cloudwatch_logs_exports)",
       _instance_logs, safe=False)  # log ingestion costs

# --------------------------------------------------------------------------- compute, keys, queues

attr("CKV_AWS_7", "aws_kms_key", "enable_key_rotation", "true")
attr("CKV_AWS_126", "aws_instance", "monitoring", "true")
attr("CKV_AWS_135", "aws_instance", "ebs_optimized", "true")
attr("CKV_AWS_79", ("aws_instance", "aws_launch_template"), "metadata_options.http_tokens", '"required"',
     safe=False, summary='require IMDSv2 (metadata_options.http_tokens = "required")')


def _no_public_ip(block: Block, text: str) -> list[Step] | None:
    """``associate_public_ip_address = false`` (on the launch template's one network interface)."""
    if block.labels[:1] == ("aws_instance",):
        return [Set(("associate_public_ip_address",), "false")]
    interfaces = sum(1 for it in block.items if it.path == ("network_interfaces",))
    if is_dynamic(block, "network_interfaces") or interfaces != 1:
        return None  # generated, or several interfaces: each one is the developer's decision
    return [Set(("network_interfaces", "associate_public_ip_address"), "false")]


# the instance is then reachable only through the VPC (a NAT gateway for its own traffic, SSM, a bastion)
custom("CKV_AWS_88", ("aws_instance", "aws_launch_template"),
       "no public IP address (associate_public_ip_address = false)", _no_public_ip, safe=False)


def _ebs_encrypted(block: Block, text: str) -> list[Step] | None:
    steps: list[Step] = [Set(("root_block_device", "encrypted"), "true")]
    n_ebs = sum(1 for it in block.items if it.path == ("ebs_block_device",))
    if n_ebs > 1 or block.item(("ephemeral_block_device",)) is not None:
        return None  # several devices: each needs its own decision
    if n_ebs == 1:
        steps.append(Set(("ebs_block_device", "encrypted"), "true"))
    return steps


custom("CKV_AWS_8", ("aws_instance", "aws_launch_configuration"), "encrypt the root and EBS block devices",
       _ebs_encrypted, safe=False)  # forces replacement
attr("CKV_AWS_3", "aws_ebs_volume", "encrypted", "true", safe=False)  # forces replacement
attr("CKV_AWS_163", "aws_ecr_repository", "image_scanning_configuration.scan_on_push", "true")
attr("CKV_AWS_51", "aws_ecr_repository", "image_tag_mutability", '"IMMUTABLE"', safe=False)
attr("CKV_AWS_27", "aws_sqs_queue", "sqs_managed_sse_enabled", "true")
attr("CKV_AWS_338", "aws_cloudwatch_log_group", "retention_in_days", "365")
attr("CKV_AWS_130", "aws_subnet", "map_public_ip_on_launch", "false", safe=False)
attr("CKV_AWS_5", "aws_elasticsearch_domain", "encrypt_at_rest.enabled", "true", safe=False)
attr("CKV_AWS_228", ("aws_elasticsearch_domain", "aws_opensearch_domain"),
     "domain_endpoint_options.tls_security_policy", '"Policy-Min-TLS-1-2-2019-07"')
attr("CKV_AWS_39", "aws_eks_cluster", "vpc_config.endpoint_public_access", "false", safe=False)
attr("CKV_AWS_37", "aws_eks_cluster", "enabled_cluster_log_types",
     '["api", "audit", "authenticator", "controllerManager", "scheduler"]')

# --------------------------------------------------------------------------- added for issue #21 (by frequency)


def _literal(block: Block, text: str, name: str) -> str | None:
    """The plain string value of attribute ``name`` (without quotes), else None."""
    it = block.item((name,))
    if it is None or it.is_block:
        return None
    value = text[text.index("=", it.start) + 1:it.end].strip()
    return value[1:-1] if value.startswith('"') and value.endswith('"') and "${" not in value else None


_MYSQL_ENGINES = {"aurora", "aurora-mysql", "mysql"}
_MYSQL_LOGS = '["audit", "error", "general", "slowquery"]'


def _cluster_logs(audit: bool) -> Callable[[Block, str], list[Step] | None]:
    def plan(block: Block, text: str) -> list[Step] | None:
        engine = _literal(block, text, "engine") if block.item(("engine",)) is not None else "aurora"
        if engine is None:
            return None
        existing = block.item(("enabled_cloudwatch_logs_exports",))
        if existing is not None:
            return None  # the user's own list: extending it is their choice
        if engine in _MYSQL_ENGINES:
            return [Set(("enabled_cloudwatch_logs_exports",), _MYSQL_LOGS)]
        if engine == "aurora-postgresql" and not audit:
            return [Set(("enabled_cloudwatch_logs_exports",), '["postgresql"]')]
        return None

    return plan


custom("CKV_AWS_324", "aws_rds_cluster", "export the database logs to CloudWatch (enabled_cloudwatch_logs_exports)",
       _cluster_logs(False))
custom("CKV_AWS_325", "aws_rds_cluster", "export the audit log to CloudWatch (enabled_cloudwatch_logs_exports)",
       _cluster_logs(True))


def _backtrack(block: Block, text: str) -> list[Step] | None:
    engine = _literal(block, text, "engine") if block.item(("engine",)) is not None else "aurora"
    if engine not in ("aurora", "aurora-mysql"):
        return None  # only Aurora MySQL can backtrack
    return [Set(("backtrack_window",), "86400")]


custom("CKV_AWS_326", "aws_rds_cluster", "allow backtracking 24 hours (backtrack_window = 86400)", _backtrack,
       safe=False)  # costs: change records are stored


def _resources_of(resource_type: str, attribute: str) -> Options:
    """Choices: the ``resource_type`` resources of the module, referenced by ``attribute``."""
    def options(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
        out = []
        for b in blocks:
            if (b.kind == "resource" and b.labels[:1] == (resource_type,) and len(b.labels) > 1
                    and b.labels != block.labels):
                ref = f"{b.labels[0]}.{b.labels[1]}"
                if b.item(("count",)) is None and b.item(("for_each",)) is None:
                    out.append((ref, f"{ref}.{attribute}"))
        return out

    return options


_REF = re.compile(r"^[a-z][\w-]*\.[\w-]+\.(?:arn|id)$|^arn:aws[\w-]*:[\w-]+:[\w-]*:\d{12}:[\w/:.-]+$")


def _set_ref(path: tuple[str, ...], *extra: Step) -> Callable[[Block, str, str], list[Step] | None]:
    def plan(block: Block, text: str, value: str) -> list[Step] | None:
        value = value.strip()
        if not _REF.match(value):
            return None
        rendered = value if not value.startswith("arn:") else f'"{value}"'
        return [*extra, Set(path, rendered)]

    return plan


choice("CKV_AWS_327", "aws_rds_cluster", "encrypt with a customer managed KMS key",
       _set_ref(("kms_key_id",), Set(("storage_encrypted",), "true")),
       options=_resources_of("aws_kms_key", "arn"), prompt="ARN of the KMS key for the cluster",
       example="arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")



def _insights_with_key(block: Block, text: str) -> list[Step] | None:
    """Without a choice: only where the block already says which key encrypts the insights (a module's
    ``performance_insights_kms_key_id = var.enabled ? var.key : null``); else enabling them alone
    fails CKV_AWS_354 (insights not encrypted with a customer key), and the key is a choice."""
    if block.item(("performance_insights_kms_key_id",)) is None:
        return None
    return [Set(("performance_insights_enabled",), "true")]


# some small instance classes have no Performance Insights (the apply fails); beyond 7 days it costs
choice("CKV_AWS_353", ("aws_db_instance", "aws_rds_cluster_instance"),
       "enable Performance Insights, encrypted with a customer managed KMS key",
       _set_ref(("performance_insights_kms_key_id",), Set(("performance_insights_enabled",), "true")),
       options=_resources_of("aws_kms_key", "arn"), prompt="ARN of the KMS key for Performance Insights",
       example="arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
       fallback=_insights_with_key)

_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_ROLE_REF = re.compile(r"^aws_iam_role\.[\w-]+\.arn$")


def _monitoring_role(block: Block, text: str, value: str) -> list[Step] | None:
    """Enhanced monitoring every 60 s with the role RDS publishes the metrics with: the API refuses a
    ``monitoring_interval`` above 0 without ``monitoring_role_arn``."""
    value = value.strip()
    if _ROLE_REF.match(value):
        rendered = value
    elif _ROLE_ARN.match(value):
        rendered = f'"{value}"'
    else:
        return None
    return [Set(("monitoring_role_arn",), rendered), Set(("monitoring_interval",), "60")]


def _monitoring_roles(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    """The module's roles RDS can assume for Enhanced Monitoring (trusting ``monitoring.rds.amazonaws.com``,
    in the role or the policy document it uses)."""
    trusting = {f"data.aws_iam_policy_document.{b.labels[1]}.json" for b in blocks
                if b.kind == "data" and b.labels[:1] == ("aws_iam_policy_document",) and len(b.labels) > 1
                and "monitoring.rds.amazonaws.com" in b.text}
    out = []
    for b in blocks:
        if b.kind == "resource" and b.labels[:1] == ("aws_iam_role",) and len(b.labels) > 1 \
                and b.item(("count",)) is None and b.item(("for_each",)) is None \
                and ("monitoring.rds.amazonaws.com" in b.text or any(t in b.text for t in trusting)):
            out.append((f"aws_iam_role.{b.labels[1]}", f"aws_iam_role.{b.labels[1]}.arn"))
    return out


def _monitoring_interval(block: Block, text: str) -> list[Step] | None:
    """Without a choice: only where the block already sends a role (a module's
    ``monitoring_role_arn = var.monitoring_interval > 0 ? local.monitoring_role_arn : null``; at its
    call the inputs that make it non-null are set too, see ``needs``)."""
    role = block.item(("monitoring_role_arn",))
    if role is None or role.is_block or text[role.start:role.end].split("=", 1)[-1].strip() == "null":
        return None
    return [Set(("monitoring_interval",), "60")]


# Enhanced Monitoring costs CloudWatch Logs ingestion; the role is the developer's (or the module creates it)
choice("CKV_AWS_118", ("aws_db_instance", "aws_rds_cluster_instance"),
       "enable Enhanced Monitoring every 60 seconds (monitoring_interval, monitoring_role_arn)",
       _monitoring_role, options=_monitoring_roles,
       prompt="ARN of the IAM role RDS publishes Enhanced Monitoring with (trusts monitoring.rds.amazonaws.com, "
              "has AmazonRDSEnhancedMonitoringRole)",
       example="arn:aws:iam::111122223333:role/rds-enhanced-monitoring", fallback=_monitoring_interval,
       needs=((("monitoring_interval",), ("monitoring_role_arn",)),))

attr("CKV_AWS_258", "aws_lambda_function_url", "authorization_type", '"AWS_IAM"', safe=False)  # callers need IAM
attr("CKV_AWS_50", "aws_lambda_function", "tracing_config.mode", '"Active"')
attr("CKV_AWS_150", "aws_lb", "enable_deletion_protection", "true")
attr("CKV_AWS_341", "aws_launch_template", "metadata_options.http_put_response_hop_limit", "1",
     safe=False)  # containers on the instance may need 2 hops
attr("CKV_AWS_136", "aws_ecr_repository", "encryption_configuration.encryption_type", '"KMS"',
     safe=False)  # forces replacement

companion("CKV2_AWS_12", "aws_vpc", "restrict the VPC's default security group (aws_default_security_group)",
          Companion("aws_default_security_group", (
              "  vpc_id = {ref}",
              "",
              "  # no ingress or egress rules: the default security group denies all traffic",
          )), safe=False)  # cuts off whatever still uses the default group

_ZONE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d[a-z]$|^[a-z]{3,4}\d-az\d+$")


_IDENTITY_FILTER = re.compile(r'(?m)^\s*name\s*=\s*"zone-(?:name|id)"')


def _zone_filter(block: Block, text: str, value: str) -> list[Step] | None:
    zones = [z.strip() for z in re.split(r"[,\s]+", value) if z.strip()]
    if not zones or not all(_ZONE.match(z) for z in zones):
        return None
    kind = "zone-id" if "-az" in zones[0] else "zone-name"
    if any(("-az" in z) != (kind == "zone-id") for z in zones):
        return None
    listed = "[" + ", ".join(f'"{z}"' for z in zones) + "]"
    if block.item(("filter",)) is None:
        return [Set(("filter", "name"), f'"{kind}"'), Set(("filter", "values"), listed)]
    if is_dynamic(block, "filter") or _IDENTITY_FILTER.search(block.text):
        return None  # generated filters, or an allowlist already there
    # other filters (``opt-in-status``: excludes local zones) stay; filters combine, so the new
    # allowlist narrows them further (the terraform-aws-eks examples)
    indent = child_indent(block, text, None)
    unit = indent_unit(block, text)
    close = block.text.rstrip().rfind("}")
    head = block.text[:close].rstrip(" \t")
    lines = [f'{indent}filter {{', f'{indent}{unit}name   = "{kind}"', f"{indent}{unit}values = {listed}",
             f"{indent}}}"]
    if not head.endswith("\n"):
        return None  # a block on one line: no layout to follow
    return [Rewrite(head + "\n" + "\n".join(lines) + "\n" + block.text[close:])]


choice("CKV_AWS_394", "aws_availability_zones", "allow only the zones you use (filter on zone-name)",
       _zone_filter, prompt="Availability Zones to use, comma separated (e.g. eu-west-1a, eu-west-1b)",
       example="eu-west-1a, eu-west-1b", kind="data")


def _hcl_string(text: str) -> str | None:
    """A one-line text the user typed as an HCL string literal; None when empty or several lines."""
    text = text.strip()
    if not text or "\n" in text or "\r" in text:
        return None
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${").replace("%{", "%%{") + '"'


def _describe_rules(block: Block, text: str, value: str) -> list[Step] | None:
    quoted = _hcl_string(value)
    if quoted is None:
        return None
    steps: list[Step] = []
    if block.item(("description",)) is None:
        steps.append(Set(("description",), quoted))
    for rule in ("ingress", "egress"):
        n = sum(1 for it in block.items if it.path == (rule,))
        described = sum(1 for it in block.items if it.path == (rule, "description"))
        if n == described or is_dynamic(block, rule) and n == 0:
            continue
        if n != 1:
            return None  # several rules: each needs its own description
        steps.append(Set((rule, "description"), quoted))
    return steps or None


choice("CKV_AWS_23", ("aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
                      "aws_vpc_security_group_egress_rule"),
       "describe the security group rule", _describe_rules,
       prompt="What is this security group (rule) for? It becomes its description",
       example="HTTPS from the load balancer")

_PROFILE_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")


def _instance_profile(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if re.match(r"^aws_iam_instance_profile\.[\w-]+\.name$", value):
        return [Set(("iam_instance_profile",), value)]
    if _PROFILE_NAME.match(value):
        return [Set(("iam_instance_profile",), f'"{value}"')]
    return None


choice("CKV2_AWS_41", "aws_instance", "attach an IAM role (iam_instance_profile)", _instance_profile,
       options=_resources_of("aws_iam_instance_profile", "name"),
       prompt="Name of the instance profile (IAM role) for the instance", example="app-server")


def _key_policy(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if re.match(r"^\d{12}$", value):
        account = value
    elif re.match(r"^data\.aws_caller_identity\.[\w-]+\.account_id$", value):
        account = "${" + value + "}"
    else:
        return None
    if block.item(("policy",)) is not None:
        return None
    return [Companion("aws_kms_key_policy", (
        "  key_id = {ref}",
        "  policy = jsonencode({",
        '    Version = "2012-10-17"',
        "    Statement = [{",
        '      Sid       = "AccountAdministersTheKey"',
        '      Effect    = "Allow"',
        f'      Principal = {{ AWS = "arn:aws:iam::{account}:root" }}',
        '      Action    = "kms:*"',
        '      Resource  = "*"',
        "    }]",
        "  })",
    ))]


def _caller_identities(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    return [(f"the account of data.aws_caller_identity.{b.labels[1]}",
             f"data.aws_caller_identity.{b.labels[1]}.account_id")
            for b in blocks if b.kind == "data" and b.labels[:1] == ("aws_caller_identity",) and len(b.labels) > 1]


choice("CKV2_AWS_64", "aws_kms_key", "add an aws_kms_key_policy letting the account administer the key",
       _key_policy, options=_caller_identities, prompt="AWS account ID (12 digits) that administers the key",
       example="111122223333")


_CIDR = re.compile(r"^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)/(?:3[0-2]|[12]?\d)$")


def _narrow_cidr(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if re.match(r"^aws_vpc\.[\w-]+\.cidr_block$", value):
        rendered = value
    elif _CIDR.match(value) and not value.startswith("0.0.0.0/"):
        rendered = f'"{value}"'
    else:
        return None
    kind = block.labels[0]
    if kind == "aws_vpc_security_group_ingress_rule":
        step = Set(("cidr_ipv4",), rendered)
    elif kind == "aws_security_group_rule":
        step = Set(("cidr_blocks",), f"[{rendered}]")
    elif sum(1 for it in block.items if it.path == ("ingress",)) == 1:
        step = Set(("ingress", "cidr_blocks"), f"[{rendered}]")
    else:
        return None  # several rules: each one needs its own decision
    current = block.item(step.path)
    if current is None or "0.0.0.0/0" not in text[current.start:current.end]:
        return None  # nothing open to the world here (any more)
    return [step]


def _vpc_cidrs(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    vpcs = [(f"the VPC's range (aws_vpc.{b.labels[1]}.cidr_block)", f"aws_vpc.{b.labels[1]}.cidr_block")
            for b in blocks if b.kind == "resource" and b.labels[:1] == ("aws_vpc",) and len(b.labels) > 1
            and b.item(("count",)) is None and b.item(("for_each",)) is None]
    return [*vpcs, ("the private range 10.0.0.0/8", "10.0.0.0/8")]


_OPEN_INGRESS = ("aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule")
for _check, _port in (("CKV_AWS_24", "22"), ("CKV_AWS_25", "3389"), ("CKV_AWS_260", "80")):
    choice(_check, _OPEN_INGRESS, f"allow port {_port} from a narrower range than 0.0.0.0/0", _narrow_cidr,
           options=_vpc_cidrs, prompt="CIDR to allow instead of 0.0.0.0/0 (e.g. 203.0.113.0/24)",
           example="203.0.113.0/24")
