"""TFG_TAG_1: required tags (``labels`` on Google Cloud) missing on taggable resources."""

from __future__ import annotations

import os
from typing import Any

from tfguard.engine import BlockContext
from tfguard.model import Finding, Severity
from tfguard.rules.base import OrgRule, RuleEnv, body_of, conf_body, first, is_expression

#: Resource types known to take ``tags`` (AWS, Azure) or ``labels`` (Google Cloud). A resource of any
#: other type is taggable when its configuration has a ``tags`` / ``labels`` attribute.
TAGGABLE_TYPES = frozenset({
    # AWS
    "aws_instance", "aws_s3_bucket", "aws_db_instance", "aws_rds_cluster", "aws_security_group", "aws_vpc",
    "aws_subnet", "aws_lb", "aws_alb", "aws_lb_target_group", "aws_ecs_cluster", "aws_ecs_service",
    "aws_ecs_task_definition", "aws_eks_cluster", "aws_eks_node_group", "aws_lambda_function",
    "aws_dynamodb_table", "aws_kms_key", "aws_sqs_queue", "aws_sns_topic", "aws_iam_role", "aws_iam_user",
    "aws_iam_policy", "aws_ebs_volume", "aws_elasticache_cluster", "aws_elasticache_replication_group",
    "aws_efs_file_system", "aws_cloudwatch_log_group", "aws_ecr_repository", "aws_secretsmanager_secret",
    "aws_nat_gateway", "aws_internet_gateway", "aws_eip", "aws_launch_template", "aws_route_table",
    "aws_kinesis_stream", "aws_cloudfront_distribution", "aws_api_gateway_rest_api", "aws_sfn_state_machine",
    "aws_redshift_cluster", "aws_opensearch_domain", "aws_elasticsearch_domain", "aws_msk_cluster",
    "aws_wafv2_web_acl", "aws_acm_certificate", "aws_route53_zone", "aws_ssm_parameter",
    # Azure
    "azurerm_resource_group", "azurerm_storage_account", "azurerm_virtual_network",
    "azurerm_linux_virtual_machine", "azurerm_windows_virtual_machine", "azurerm_virtual_machine",
    "azurerm_kubernetes_cluster", "azurerm_key_vault", "azurerm_network_security_group", "azurerm_public_ip",
    "azurerm_mssql_server", "azurerm_postgresql_flexible_server", "azurerm_mysql_flexible_server",
    "azurerm_cosmosdb_account", "azurerm_container_registry", "azurerm_app_service_plan",
    "azurerm_service_plan", "azurerm_linux_web_app", "azurerm_windows_web_app", "azurerm_function_app",
    "azurerm_application_gateway", "azurerm_lb", "azurerm_redis_cache", "azurerm_log_analytics_workspace",
    "azurerm_network_interface", "azurerm_managed_disk",
    # Google Cloud (labels)
    "google_storage_bucket", "google_compute_instance", "google_compute_disk", "google_container_cluster",
    "google_bigquery_dataset", "google_bigquery_table", "google_pubsub_topic", "google_pubsub_subscription",
    "google_kms_crypto_key", "google_compute_image", "google_compute_snapshot", "google_redis_instance",
    "google_cloudfunctions_function", "google_cloudfunctions2_function", "google_dataproc_cluster",
    "google_spanner_instance", "google_filestore_instance", "google_secret_manager_secret",
})


def tag_attribute(resource_type: str) -> str:
    """``labels`` for Google Cloud resources, ``tags`` otherwise."""
    return "labels" if resource_type.startswith("google_") else "tags"


def _keys(value: Any) -> set[str] | None:
    """Literal keys of a tags map; None when the map is (partly) an expression and cannot be read."""
    value = first(value)
    if value is None:
        return set()
    if not isinstance(value, dict) or is_expression(value):
        return None
    return {str(k).strip('"') for k in value if not str(k).startswith("__")}


def _default_tags(ctx: BlockContext, env: RuleEnv, provider: str) -> set[str] | None:
    """Keys of the module's ``provider "aws" { default_tags { tags = {...} } }``; None if unreadable."""
    keys: set[str] = set()
    for _file, block, conf in env.module_blocks(os.path.dirname(ctx.file)):
        if block.kind != "provider" or not block.labels or block.labels[0] != provider:
            continue
        got = conf_body("provider", conf)
        if got is None:
            continue
        dt = first(got[2].get("default_tags"))
        if isinstance(dt, dict):
            found = _keys(dt.get("tags"))
            if found is None:
                return None
            keys |= found
    return keys


def check_required_tags(rule: OrgRule, ctx: BlockContext, env: RuleEnv) -> list[Finding]:
    if ctx.block.kind != "resource":
        return []
    got = body_of(ctx)
    if got is None:
        return []
    rtype, _name, body = got
    required = env.config_for(ctx.file).required_tags(rtype)
    if not required:
        return []
    attr = tag_attribute(rtype)
    if attr not in body and rtype not in TAGGABLE_TYPES:
        return []
    present = _keys(body.get(attr))
    if present is None:
        return []  # tags = merge(...) / var.tags: not knowable here
    if rtype.startswith("aws_"):
        defaults = _default_tags(ctx, env, "aws")
        if defaults is None:
            return []
        present |= defaults
    missing = [k for k in required if k not in present]
    if not missing:
        return []
    names = ", ".join(missing)
    where = f"its {attr}" if attr in body else f"a {attr} map"
    extra = " (or the aws provider's default_tags)" if rtype.startswith("aws_") else ""
    plural = "s" if len(missing) > 1 else ""
    them = "them" if plural else "it"
    return [rule.finding(ctx, f"Missing required {attr[:-1]}{plural}: {names}. Add {them} to {where}{extra}.",
                         (attr,))]


RULES = (
    OrgRule("TFG_TAG_1", "Required tags are missing", Severity.LOW,
            "A taggable resource lacks one of the tag keys required by required_tags (all, or by_type).",
            check_required_tags),
)
