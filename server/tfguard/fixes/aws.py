"""Local fixes for AWS checks (chosen by how often they fail in real code; see docs/fixes.md)."""

from __future__ import annotations

from tfguard.fixes.registry import attr, companion, custom
from tfguard.fixes.textops import Companion, InCompanion, Set, Step
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

companion("CKV_AWS_18", BUCKET, "add aws_s3_bucket_logging (choose the log bucket)",
          Companion("aws_s3_bucket_logging", (
              "  bucket = {ref}",
              "",
              "  target_bucket = {ref} # TODO: deliver access logs to your log bucket",
              '  target_prefix = "access-logs/"',
          )), safe=False)

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

# --------------------------------------------------------------------------- compute, keys, queues

attr("CKV_AWS_7", "aws_kms_key", "enable_key_rotation", "true")
attr("CKV_AWS_126", "aws_instance", "monitoring", "true")
attr("CKV_AWS_135", "aws_instance", "ebs_optimized", "true")
attr("CKV_AWS_79", ("aws_instance", "aws_launch_template"), "metadata_options.http_tokens", '"required"',
     safe=False, summary='require IMDSv2 (metadata_options.http_tokens = "required")')


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
