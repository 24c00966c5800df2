"""Local fixes for terragoat's unfixed tail (issue #21): Azure and AWS checks that fail a few times each.

Chosen by frequency over terragoat's failed findings that had no fix (docs/fixes.md, "terragoat's tail
(measured)"). Attribute settings where the value is the secure default everyone wants; companion resources
wired by reference (private endpoints, an AWS Backup plan); typed values or choices where only the developer
knows the value (a subnet, an AAD administrator, a health-check path, e-mail addresses, expiry dates).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tfguard.fixes.registry import Options, attr, attrs, choice, custom
from tfguard.fixes.textops import Companion, Rewrite, Set, Step, is_dynamic, is_literal, value_range
from tfguard.fixes.textops import attribute_value as _value
from tfguard.fixes.textops import plain_string as _string
from tfguard.hcl.blocks import Block, split_blocks

ValuePlan = Callable[[Block, str, str], "list[Step] | None"]


def _plain(block: Block) -> bool:
    return block.item(("count",)) is None and block.item(("for_each",)) is None


def _resources_of(types: tuple[str, ...], attribute: str) -> Options:
    """Choices: the module's resources of ``types`` (no count/for_each), referenced by ``attribute``."""
    def options(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
        out = []
        for b in blocks:
            if (b.kind == "resource" and b.labels[:1] and b.labels[0] in types and len(b.labels) > 1
                    and b.labels != block.labels and _plain(b)):
                ref = f"{b.labels[0]}.{b.labels[1]}"
                out.append((ref, f"{ref}.{attribute}"))
        return out

    return options


def _hcl_string(value: str) -> str | None:
    """One line of text as an HCL string literal; None when empty or several lines."""
    value = value.strip()
    if not value or "\n" in value or "\r" in value:
        return None
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${").replace("%{", "%%{") + '"'


def _reference_or_id(pattern: re.Pattern[str], value: str) -> str | None:
    """A typed value that ``pattern`` accepts (a reference ``type.name.attribute`` or a literal ID: an ARN, an
    Azure resource ID), as HCL: the reference bare, the ID quoted; None when ``pattern`` refuses it."""
    value = value.strip()
    if not pattern.match(value):
        return None
    return f'"{value}"' if value.startswith(("arn:", "/")) else value


def _typed(path: tuple[str, ...], pattern: str) -> ValuePlan:
    """Set ``path`` to the typed value (as a string) when it matches ``pattern``."""
    rx = re.compile(pattern)

    def plan(block: Block, text: str, value: str) -> list[Step] | None:
        value = value.strip()
        quoted = _hcl_string(value)
        if quoted is None or not rx.match(value):
            return None
        return [Set(path, quoted)]

    return plan


# --------------------------------------------------------------------------- Azure storage accounts
_SA = "azurerm_storage_account"

attr("CKV2_AZURE_47", _SA, "allow_nested_items_to_be_public", "false",
     summary="forbid anonymous blob access (allow_nested_items_to_be_public = false)")
attr("CKV2_AZURE_40", _SA, "shared_access_key_enabled", "false", safe=False)  # key-based clients stop working


def _sas_policy(block: Block, text: str) -> list[Step] | None:
    steps: list[Step] = []
    if block.item(("shared_access_key_enabled",)) is None:  # the check needs it said (true is the default)
        steps.append(Set(("shared_access_key_enabled",), "true"))
    return [*steps, Set(("sas_policy", "expiration_period"), '"01.00:00:00"')]


custom("CKV2_AZURE_41", _SA, "let SAS tokens expire after one day (sas_policy)", _sas_policy)


def _soft_delete(block: Block, text: str) -> list[Step] | None:
    if block.item(("account_kind",)) is not None and _string(block, text, "account_kind") in (None, "FileStorage"):
        return None  # no blob service (or a kind decided elsewhere)
    return [Set(("blob_properties", "delete_retention_policy", "days"), "7")]


custom("CKV2_AZURE_38", _SA, "keep deleted blobs 7 days (blob_properties.delete_retention_policy)", _soft_delete)


def _queue_logging(block: Block, text: str) -> list[Step] | None:
    steps: list[Step] = [Set(("queue_properties", "logging", op), "true") for op in ("delete", "read", "write")]
    if block.item(("queue_properties", "logging")) is None:
        steps.append(Set(("queue_properties", "logging", "version"), '"1.0"'))
    return steps


custom("CKV_AZURE_33", _SA, "log queue reads, writes and deletes (queue_properties.logging)", _queue_logging)


def _geo_replication(block: Block, text: str) -> list[Step] | None:
    current = _string(block, text, "account_replication_type")
    wanted = {"LRS": '"GRS"', "ZRS": '"GZRS"'}.get(current or "")
    return [Set(("account_replication_type",), wanted)] if wanted else None


custom("CKV_AZURE_206", _SA, "replicate to a second region (account_replication_type)", _geo_replication,
       safe=False)  # costs more


def _trusted_services(block: Block, text: str) -> list[Step] | None:
    prefix: tuple[str, ...] = ("network_rules",) if block.labels[:1] == (_SA,) else ()
    current = block.item((*prefix, "bypass"))
    if current is None:
        return None  # nothing bypassed: the default (AzureServices) applies
    value = text[text.index("=", current.start) + 1:current.end].strip()
    if not is_literal(value) or not value.startswith("["):
        return None
    names = re.findall(r'"([^"]*)"', value)
    if "AzureServices" in names:
        return []
    return [Set((*prefix, "bypass"), "[" + ", ".join(f'"{n}"' for n in [*names, "AzureServices"]) + "]")]


custom("CKV_AZURE_36", (_SA, "azurerm_storage_account_network_rules"),
       'let trusted Microsoft services through (bypass "AzureServices")', _trusted_services, safe=False)

# --------------------------------------------------------------------------- private endpoints (companion)
_SUBRESOURCE = {
    _SA: ("CKV2_AZURE_33", "blob"),
    "azurerm_mssql_server": ("CKV2_AZURE_45", "sqlServer"),
    "azurerm_key_vault": ("CKV2_AZURE_32", "vault"),
    "azurerm_postgresql_server": ("CKV2_AZURE_42", "postgresqlServer"),
    "azurerm_mysql_server": ("CKV2_AZURE_44", "mysqlServer"),
}
_SUBNET_ID = re.compile(r"^azurerm_subnet\.[\w-]+\.id$|^/subscriptions/[\w-]+/resourceGroups/[\w.()-]+/providers/"
                        r"Microsoft\.Network/virtualNetworks/[\w.-]+/subnets/[\w.-]+$", re.IGNORECASE)


def _private_endpoint(subresource: str) -> ValuePlan:
    def plan(block: Block, text: str, value: str) -> list[Step] | None:
        subnet = _reference_or_id(_SUBNET_ID, value)
        if subnet is None:
            return None
        location = _value(block, text, "location")
        group = _value(block, text, "resource_group_name")
        if location is None or group is None or "\n" in location or "\n" in group:
            return None
        return [Companion("azurerm_private_endpoint", (
            '  name                = "{label}-private-endpoint"',
            f"  location            = {location}",
            f"  resource_group_name = {group}",
            f"  subnet_id           = {subnet}",
            "",
            "  private_service_connection {",
            '    name                           = "{label}-private-endpoint"',
            "    private_connection_resource_id = {ref}",
            f'    subresource_names              = ["{subresource}"]',
            "    is_manual_connection           = false",
            "  }",
        ))]

    return plan


for _type, (_check, _sub) in _SUBRESOURCE.items():
    choice(_check, _type, "reach it through a private endpoint (azurerm_private_endpoint)", _private_endpoint(_sub),
           options=_resources_of(("azurerm_subnet",), "id"),
           prompt="Subnet for the private endpoint (azurerm_subnet.NAME.id or the subnet's resource ID)",
           example="/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network/providers/"
                   "Microsoft.Network/virtualNetworks/vnet/subnets/private-endpoints")

# --------------------------------------------------------------------------- SQL: AAD administrator, alerts
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _aad_admin(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    ref = re.match(r"^data\.(azuread_group|azuread_user)\.([\w-]+)$", value)
    if ref is not None:
        login = f"{value}.{'display_name' if ref.group(1) == 'azuread_group' else 'user_principal_name'}"
        object_id = f"{value}.object_id"
    else:
        typed = re.match(r"^([^,\s\"\\$%][^,\"\\$%]*?)\s*,\s*(" + _GUID + r")$", value)
        if typed is None:
            return None
        login, object_id = f'"{typed.group(1)}"', f'"{typed.group(2)}"'
    if block.item(("azuread_administrator",)) is not None and block.item(("azuread_administrator", "object_id")):
        return None  # an administrator is there: its login is the developer's to fix
    return [Set(("azuread_administrator", "login_username"), login),
            Set(("azuread_administrator", "object_id"), object_id)]


def _aad_principals(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    return [(f"data.{b.labels[0]}.{b.labels[1]}", f"data.{b.labels[0]}.{b.labels[1]}")
            for b in blocks if b.kind == "data" and b.labels[:1] in (("azuread_group",), ("azuread_user",))
            and len(b.labels) > 1 and _plain(b)]


choice("CKV2_AZURE_27", "azurerm_mssql_server", "make an Azure AD principal the administrator (azuread_administrator)",
       _aad_admin, options=_aad_principals,
       prompt="Azure AD administrator: login name and object ID, comma separated (e.g. sql-admins, 00000000-…)",
       example="sql-admins, 00000000-0000-0000-0000-000000000000")

_EMAIL = re.compile(r"^[^@\s\"\\$%,]+@[^@\s\"\\$%,]+\.[^@\s\"\\$%,]+$")


def _alert_emails(block: Block, text: str, value: str) -> list[Step] | None:
    emails = [e.strip() for e in value.split(",") if e.strip()]
    if not emails or "\n" in value or not all(_EMAIL.match(e) for e in emails):
        return None
    return [Set(("email_addresses",), "[" + ", ".join(f'"{e}"' for e in emails) + "]")]


choice("CKV_AZURE_26", "azurerm_mssql_server_security_alert_policy", "send the alerts to e-mail addresses",
       _alert_emails, prompt="E-mail addresses for the SQL threat alerts, comma separated",
       example="security@example.com")

attr("CKV_AZURE_127", "azurerm_mysql_server", "threat_detection_policy.enabled", "true")
attr("CKV_AZURE_128", "azurerm_postgresql_server", "threat_detection_policy.enabled", "true")


def _server_parameter(name: str) -> Callable[[Block, str], list[Step] | None]:
    def plan(block: Block, text: str) -> list[Step] | None:
        return [Set(("value",), '"on"')] if _string(block, text, "name") == name else None

    return plan


custom("CKV_AZURE_30", "azurerm_postgresql_configuration", 'turn log_checkpoints on (value = "on")',
       _server_parameter("log_checkpoints"))
custom("CKV_AZURE_32", "azurerm_postgresql_configuration", 'turn connection_throttling on (value = "on")',
       _server_parameter("connection_throttling"))

# --------------------------------------------------------------------------- app services
_APP = "azurerm_app_service"
attr("CKV_AZURE_16", _APP, "identity.type", '"SystemAssigned"',
     summary='register with Azure AD (identity.type = "SystemAssigned")')
attrs("CKV_AZURE_63", _APP, {"logs.http_logs.file_system.retention_in_days": "30",
                             "logs.http_logs.file_system.retention_in_mb": "35"},
      "log HTTP requests to the file system (logs.http_logs)")
attr("CKV_AZURE_13", _APP, "auth_settings.enabled", "true", safe=False)  # requests must then authenticate
choice("CKV_AZURE_213", _APP, "set the health check path (site_config.health_check_path)",
       _typed(("site_config", "health_check_path"), r"^/[^\s\"\\$%]*$"),
       prompt="Path the platform probes for the app's health (e.g. /health)", example="/health")

# --------------------------------------------------------------------------- virtual machines
attr("CKV_AZURE_50", ("azurerm_linux_virtual_machine", "azurerm_windows_virtual_machine"),
     "allow_extension_operations", "false", safe=False)  # agents installed as extensions stop working
attr("CKV_AZURE_151", "azurerm_windows_virtual_machine", "encryption_at_host_enabled", "true",
     safe=False)  # needs the feature on the subscription; the VM is deallocated

# --------------------------------------------------------------------------- AKS
_AKS = "azurerm_kubernetes_cluster"


def _rbac(block: Block, text: str) -> list[Step] | None:
    if block.item(("role_based_access_control",)) is not None:  # azurerm < 2.99
        return [Set(("role_based_access_control", "enabled"), "true")]
    return [Set(("role_based_access_control_enabled",), "true")]


custom("CKV_AZURE_5", _AKS, "enable Kubernetes RBAC", _rbac, safe=False)  # re-creates the cluster


def _azure_policy(block: Block, text: str) -> list[Step] | None:
    if block.item(("addon_profile",)) is not None:  # azurerm 2.x
        return [Set(("addon_profile", "azure_policy", "enabled"), "true")]
    return [Set(("azure_policy_enabled",), "true")]


custom("CKV_AZURE_116", _AKS, "enable the Azure Policy add-on", _azure_policy)


def _dashboard(block: Block, text: str) -> list[Step] | None:
    if block.item(("addon_profile", "kube_dashboard")) is None:
        return None
    return [Set(("addon_profile", "kube_dashboard", "enabled"), "false")]


custom("CKV_AZURE_8", _AKS, "disable the Kubernetes dashboard", _dashboard)


def _upgrade_channel(block: Block, text: str) -> list[Step] | None:
    name = "automatic_upgrade_channel" if block.item(("automatic_upgrade_channel",)) is not None \
        else "automatic_channel_upgrade"  # provider v4 renamed it: keep the name in use
    return [Set((name,), '"patch"')]


custom("CKV_AZURE_171", _AKS, 'upgrade patch versions automatically (upgrade channel "patch")', _upgrade_channel,
       safe=False)  # the cluster upgrades itself
attr("CKV_AZURE_172", _AKS, "key_vault_secrets_provider.secret_rotation_enabled", "true",
     safe=False)  # installs the Secrets Store CSI driver add-on
attr("CKV_AZURE_141", _AKS, "local_account_disabled", "true", safe=False)  # cuts off the local admin
attr("CKV_AZURE_115", _AKS, "private_cluster_enabled", "true", safe=False)  # re-creates the cluster


def _network_policy(block: Block, text: str) -> list[Step] | None:
    if block.item(("network_profile",)) is None:  # the default network plugin is kubenet
        return [Set(("network_profile", "network_plugin"), '"kubenet"'),
                Set(("network_profile", "network_policy"), '"calico"')]
    item = block.item(("network_profile", "network_plugin"))
    if item is None:
        return None
    value = text[text.index("=", item.start) + 1:item.end].strip()
    policy = {'"azure"': '"azure"', '"kubenet"': '"calico"'}.get(value)
    return [Set(("network_profile", "network_policy"), policy)] if policy else None


custom("CKV_AZURE_7", _AKS, "enforce network policies (network_profile.network_policy)", _network_policy,
       safe=False)  # re-creates the cluster

# --------------------------------------------------------------------------- key vaults
attrs("CKV_AZURE_109", "azurerm_key_vault", {"network_acls.default_action": '"Deny"',
                                             "network_acls.bypass": '"AzureServices"'},
      'deny access by default (network_acls.default_action = "Deny")', safe=False)  # cuts off access


def _hsm_key(block: Block, text: str) -> list[Step] | None:
    current = _string(block, text, "key_type")
    wanted = {"RSA": '"RSA-HSM"', "EC": '"EC-HSM"'}.get(current or "")
    return [Set(("key_type",), wanted)] if wanted else None


custom("CKV_AZURE_112", "azurerm_key_vault_key", "keep the key in an HSM (key_type)", _hsm_key,
       safe=False)  # a new key (needs a Premium vault)
_DATE = r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$"
for _check, _type in (("CKV_AZURE_40", "azurerm_key_vault_key"), ("CKV_AZURE_41", "azurerm_key_vault_secret")):
    choice(_check, _type, "set an expiration date", _typed(("expiration_date",), _DATE),
           prompt="Expiration date (UTC, RFC 3339, e.g. 2027-12-31T00:00:00Z)", example="2027-12-31T00:00:00Z")
choice("CKV_AZURE_114", "azurerm_key_vault_secret", "say what the secret is (content_type)",
       _typed(("content_type",), r"^[^\s\"\\$%][^\"\\$%]*$"),
       prompt="Content type of the secret (e.g. password, text/plain)", example="password")

# --------------------------------------------------------------------------- security center, monitoring
attr("CKV_AZURE_21", "azurerm_security_center_contact", "alert_notifications", "true")
attr("CKV_AZURE_22", "azurerm_security_center_contact", "alerts_to_admins", "true")
choice("CKV_AZURE_20", "azurerm_security_center_contact", "set the security contact's phone number",
       _typed(("phone",), r"^\+?[\d][\d ()-]{5,}$"), prompt="Phone number of the security contact",
       example="+1-555-555-5555")
attr("CKV_AZURE_19", "azurerm_security_center_subscription_pricing", "tier", '"Standard"', safe=False)  # paid
attrs("CKV_AZURE_37", "azurerm_monitor_log_profile", {"retention_policy.enabled": "true",
                                                     "retention_policy.days": "365"},
      "keep the activity log 365 days (retention_policy)")


def _all_categories(block: Block, text: str) -> list[Step] | None:
    current = _value(block, text, "categories")
    if current is not None and not is_literal(current):
        return None
    names = re.findall(r'"([^"]*)"', current or "")
    wanted = [*names, *(c for c in ("Action", "Delete", "Write") if c not in names)]
    return [Set(("categories",), "[" + ", ".join(f'"{c}"' for c in wanted) + "]")]


custom("CKV_AZURE_38", "azurerm_monitor_log_profile", "capture Action, Delete and Write (categories)",
       _all_categories)
attrs("CKV_AZURE_12", "azurerm_network_watcher_flow_log", {"enabled": "true", "retention_policy.enabled": "true",
                                                          "retention_policy.days": "90"},
      "keep flow logs 90 days (retention_policy)", safe=False)  # turns a disabled flow log on

# --------------------------------------------------------------------------- AWS Neptune
_NEPTUNE = "aws_neptune_cluster"
attr("CKV2_AWS_58", _NEPTUNE, "deletion_protection", "true")
attr("CKV_AWS_359", _NEPTUNE, "iam_database_authentication_enabled", "true")
attr("CKV_AWS_362", _NEPTUNE, "copy_tags_to_snapshot", "true")
attr("CKV_AWS_44", _NEPTUNE, "storage_encrypted", "true", safe=False)  # forces replacement


def _neptune_audit(block: Block, text: str) -> list[Step] | None:
    current = _value(block, text, "enable_cloudwatch_logs_exports")
    if current is not None and not is_literal(current):
        return None
    names = re.findall(r'"([^"]*)"', current or "")
    if "audit" in names:
        return []
    return [Set(("enable_cloudwatch_logs_exports",), "[" + ", ".join(f'"{n}"' for n in [*names, "audit"]) + "]")]


custom("CKV_AWS_101", _NEPTUNE, 'export the audit log to CloudWatch (enable_cloudwatch_logs_exports)',
       _neptune_audit)


def _retention(block: Block, text: str) -> list[Step] | None:
    current = _value(block, text, "backup_retention_period")
    if current is not None and not re.match(r"^\d+$", current):
        return None
    return [Set(("backup_retention_period",), "7")]


custom("CKV_AWS_361", _NEPTUNE, "keep automated backups 7 days (backup_retention_period = 7)", _retention)

_KMS = re.compile(r"^aws_kms_key\.[\w-]+\.arn$|^arn:aws[\w-]*:kms:[\w-]+:\d{12}:key/[\w-]+$")


def _kms(path: tuple[str, ...], *extra: Step) -> ValuePlan:
    def plan(block: Block, text: str, value: str) -> list[Step] | None:
        key = _reference_or_id(_KMS, value)
        return [*extra, Set(path, key)] if key is not None else None

    return plan


_KEY_EXAMPLE = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
choice("CKV_AWS_347", _NEPTUNE, "encrypt with a customer managed KMS key",
       _kms(("kms_key_arn",), Set(("storage_encrypted",), "true")),
       options=_resources_of(("aws_kms_key",), "arn"), prompt="ARN of the KMS key for the cluster",
       example=_KEY_EXAMPLE)

# --------------------------------------------------------------------------- AWS Lambda, Elasticsearch
def _dead_letter(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if re.match(r"^aws_(?:sqs_queue|sns_topic)\.[\w-]+\.arn$", value):
        return [Set(("dead_letter_config", "target_arn"), value)]
    if re.match(r"^arn:aws[\w-]*:(?:sqs|sns):[\w-]+:\d{12}:[\w.-]+$", value):
        return [Set(("dead_letter_config", "target_arn"), f'"{value}"')]
    return None


choice("CKV_AWS_116", "aws_lambda_function", "send failed events to a dead-letter queue (dead_letter_config)",
       _dead_letter, options=_resources_of(("aws_sqs_queue", "aws_sns_topic"), "arn"),
       prompt="ARN of the SQS queue or SNS topic for failed events",
       example="arn:aws:sqs:eu-west-1:111122223333:failed-events")


def _env_key(block: Block, text: str, value: str) -> list[Step] | None:
    if block.item(("environment",)) is None:
        return None  # no environment variables to encrypt
    return _kms(("kms_key_arn",))(block, text, value)


choice("CKV_AWS_173", "aws_lambda_function", "encrypt the environment variables with a KMS key", _env_key,
       options=_resources_of(("aws_kms_key",), "arn"), prompt="ARN of the KMS key for the environment variables",
       example=_KEY_EXAMPLE)
choice("CKV_AWS_247", ("aws_elasticsearch_domain", "aws_opensearch_domain"),
       "encrypt the data with a customer managed KMS key",
       _kms(("encrypt_at_rest", "kms_key_id"), Set(("encrypt_at_rest", "enabled"), "true")),
       options=_resources_of(("aws_kms_key",), "arn"), prompt="ARN of the KMS key for the domain",
       example=_KEY_EXAMPLE)

# --------------------------------------------------------------------------- AWS Backup for RDS clusters
def _backup_plan(block: Block, text: str, value: str) -> list[Step] | None:
    """An AWS Backup plan for the cluster: a vault encrypted with the chosen key, a daily plan keeping 35 days,
    a role for AWS Backup with AWS's managed policy, and the selection that puts the cluster in the plan."""
    key = _reference_or_id(_KMS, value)
    if key is None or len(block.labels) < 2:
        return None
    name = block.labels[1]
    cluster = f"{block.labels[0]}.{name}"
    taken = {(b.labels[0], b.labels[1]) for b in split_blocks(text).blocks if b.kind == "resource"
             and len(b.labels) > 1}
    if any((t, name) in taken for t in ("aws_backup_vault", "aws_backup_plan", "aws_iam_role",
                                        "aws_iam_role_policy_attachment")):
        return None  # the names the plan's resources would take are in use
    # one companion (the selection, which refers to the cluster and so makes the fix idempotent across the
    # module's files) followed by the resources it needs, each referring to the next by name
    return [Companion("aws_backup_selection", (
        '  name         = "{label}"',
        f"  plan_id      = aws_backup_plan.{name}.id",
        f"  iam_role_arn = aws_iam_role.{name}.arn",
        f"  resources    = [{cluster}.arn]",
        "}",
        "",
        f'resource "aws_backup_plan" "{name}" {{',
        '  name = "{label}"',
        "",
        "  rule {",
        '    rule_name         = "daily"',
        f"    target_vault_name = aws_backup_vault.{name}.name",
        '    schedule          = "cron(0 5 * * ? *)"',
        "",
        "    lifecycle {",
        "      delete_after = 35",
        "    }",
        "  }",
        "}",
        "",
        f'resource "aws_backup_vault" "{name}" {{',
        '  name        = "{label}"',
        f"  kms_key_arn = {key}",
        "}",
        "",
        f'resource "aws_iam_role" "{name}" {{',
        '  name               = "{label}-backup"',
        "  assume_role_policy = jsonencode({",
        '    Version = "2012-10-17"',
        "    Statement = [{",
        '      Effect    = "Allow"',
        '      Principal = { Service = "backup.amazonaws.com" }',
        '      Action    = "sts:AssumeRole"',
        "    }]",
        "  })",
        "}",
        "",
        f'resource "aws_iam_role_policy_attachment" "{name}" {{',
        f"  role       = aws_iam_role.{name}.name",
        '  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"',
    ))]


choice("CKV2_AWS_8", "aws_rds_cluster", "back it up with AWS Backup (plan, vault, role and selection)",
       _backup_plan, options=_resources_of(("aws_kms_key",), "arn"),
       prompt="ARN of the KMS key that encrypts the backup vault", example=_KEY_EXAMPLE)

# --------------------------------------------------------------------------- more keys the developer chooses
choice("CKV_AWS_189", "aws_ebs_volume", "encrypt with a customer managed KMS key",
       _kms(("kms_key_id",), Set(("encrypted",), "true")),  # replaces the volume
       options=_resources_of(("aws_kms_key",), "arn"), prompt="ARN of the KMS key for the volume",
       example=_KEY_EXAMPLE)
choice("CKV_AWS_186", ("aws_s3_bucket_object", "aws_s3_object"), "encrypt the object with a customer managed KMS key",
       _kms(("kms_key_id",), Set(("server_side_encryption",), '"aws:kms"')),
       options=_resources_of(("aws_kms_key",), "arn"), prompt="ARN of the KMS key for the object",
       example=_KEY_EXAMPLE)

_DES_ID = re.compile(r"^azurerm_disk_encryption_set\.[\w-]+\.id$|^/subscriptions/[\w-]+/resourceGroups/[\w.()-]+/"
                     r"providers/Microsoft\.Compute/diskEncryptionSets/[\w.-]+$", re.IGNORECASE)


def _disk_encryption_set(block: Block, text: str, value: str) -> list[Step] | None:
    des = _reference_or_id(_DES_ID, value)
    return [Set(("disk_encryption_set_id",), des)] if des is not None else None


def _des_unless_unencrypted_by_default(block: Block, text: str, value: str) -> list[Step] | None:
    if block.item(("encryption_settings", "enabled")) is None:
        return None  # encrypted by default: nothing fails here
    return _disk_encryption_set(block, text, value)


_DES_PROMPT = "Disk encryption set (azurerm_disk_encryption_set.NAME.id or its resource ID)"
_DES_EXAMPLE = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/keys/providers/"
                "Microsoft.Compute/diskEncryptionSets/disks")
for _check, _types, _plan in (("CKV_AZURE_93", ("azurerm_managed_disk",), _disk_encryption_set),
                              ("CKV_AZURE_2", ("azurerm_managed_disk",), _des_unless_unencrypted_by_default),
                              ("CKV_AZURE_117", (_AKS,), _disk_encryption_set)):
    choice(_check, _types, "encrypt with a customer managed key (disk_encryption_set_id)", _plan,
           options=_resources_of(("azurerm_disk_encryption_set",), "id"), prompt=_DES_PROMPT, example=_DES_EXAMPLE)

_WORKSPACE = re.compile(r"^azurerm_log_analytics_workspace\.[\w-]+\.id$|^/subscriptions/[\w-]+/resourceGroups/"
                        r"[\w.()-]+/providers/Microsoft\.OperationalInsights/workspaces/[\w.-]+$", re.IGNORECASE)


def _oms_agent(block: Block, text: str, value: str) -> list[Step] | None:
    rendered = _reference_or_id(_WORKSPACE, value)
    if rendered is None:
        return None
    if block.item(("addon_profile",)) is not None:  # azurerm 2.x
        return [Set(("addon_profile", "oms_agent", "enabled"), "true"),
                Set(("addon_profile", "oms_agent", "log_analytics_workspace_id"), rendered)]
    return [Set(("oms_agent", "log_analytics_workspace_id"), rendered)]


choice("CKV_AZURE_4", _AKS, "send the cluster's logs to Azure Monitor (oms_agent)", _oms_agent,
       options=_resources_of(("azurerm_log_analytics_workspace",), "id"),
       prompt="Log Analytics workspace (azurerm_log_analytics_workspace.NAME.id or its resource ID)",
       example="/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/logs/providers/"
               "Microsoft.OperationalInsights/workspaces/aks-logs")

_CIDR = re.compile(r"^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)/(?:3[0-2]|[12]?\d)$")


def _cidrs(value: str) -> list[str] | None:
    """Typed CIDRs (comma separated), none of them the whole internet."""
    cidrs = [c.strip() for c in value.split(",") if c.strip()]
    if not cidrs or "\n" in value or not all(_CIDR.match(c) and not c.startswith("0.0.0.0/") for c in cidrs):
        return None
    return cidrs


def _api_ranges(block: Block, text: str, value: str) -> list[Step] | None:
    cidrs = _cidrs(value)
    if cidrs is None:
        return None
    rendered = "[" + ", ".join(f'"{c}"' for c in cidrs) + "]"
    if block.item(("api_server_access_profile",)) is not None:  # azurerm >= 3.39
        return [Set(("api_server_access_profile", "authorized_ip_ranges"), rendered)]
    return [Set(("api_server_authorized_ip_ranges",), rendered)]


choice("CKV_AZURE_6", _AKS, "allow the API server only from your ranges (authorized IP ranges)", _api_ranges,
       prompt="CIDR ranges allowed to reach the API server, comma separated (e.g. 203.0.113.0/24)",
       example="203.0.113.0/24")


def _eks_endpoint(block: Block, text: str, value: str) -> list[Step] | None:
    if block.item(("vpc_config",)) is None:
        return None
    public = block.item(("vpc_config", "endpoint_public_access"))
    if public is not None and text[text.index("=", public.start) + 1:public.end].strip() == "false":
        return []  # no public endpoint: nothing to restrict
    if value.strip() == "private":
        return [Set(("vpc_config", "endpoint_public_access"), "false")]
    cidrs = _cidrs(value)
    if cidrs is None:
        return None
    return [Set(("vpc_config", "public_access_cidrs"), "[" + ", ".join(f'"{c}"' for c in cidrs) + "]")]


def _eks_private(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    return [("turn the public endpoint off (endpoint_public_access = false)", "private")]


choice("CKV_AWS_38", "aws_eks_cluster", "restrict the public API endpoint", _eks_endpoint, options=_eks_private,
       prompt="CIDR ranges allowed to reach the public endpoint, comma separated (e.g. 203.0.113.0/24)",
       example="203.0.113.0/24")


def _narrow_egress(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if re.match(r"^aws_vpc\.[\w-]+\.cidr_block$", value):
        rendered = value
    else:
        cidrs = _cidrs(value)
        if cidrs is None or len(cidrs) != 1:
            return None
        rendered = f'"{cidrs[0]}"'
    if block.labels[0] == "aws_vpc_security_group_egress_rule":
        step = Set(("cidr_ipv4",), rendered)
    elif block.labels[0] == "aws_security_group_rule":
        step = Set(("cidr_blocks",), f"[{rendered}]")
    elif sum(1 for it in block.items if it.path == ("egress",)) == 1:
        step = Set(("egress", "cidr_blocks"), f"[{rendered}]")
    else:
        return None  # several rules: each one needs its own decision
    current = block.item(step.path)
    if current is None or "0.0.0.0/0" not in text[current.start:current.end]:
        return None  # not open to the world here (any more)
    ipv6 = block.item((*step.path[:-1], "ipv6_cidr_blocks"))
    if ipv6 is not None and "::/0" in text[ipv6.start:ipv6.end]:
        return None  # open over IPv6 too: an IPv4 range does not close it
    return [step]


def _egress_ranges(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    vpcs = [(f"only inside the VPC (aws_vpc.{b.labels[1]}.cidr_block)", f"aws_vpc.{b.labels[1]}.cidr_block")
            for b in blocks if b.kind == "resource" and b.labels[:1] == ("aws_vpc",) and len(b.labels) > 1
            and _plain(b)]
    return [*vpcs, ("only the private range 10.0.0.0/8", "10.0.0.0/8")]


choice("CKV_AWS_382", ("aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_egress_rule"),
       "allow egress to a narrower range than 0.0.0.0/0", _narrow_egress, options=_egress_ranges,
       prompt="CIDR the traffic may go to instead of 0.0.0.0/0 (e.g. 10.0.0.0/8)", example="10.0.0.0/8")

# --------------------------------------------------------------------------- more companions
_NSG_ID = re.compile(r"^azurerm_network_security_group\.[\w-]+\.id$|^/subscriptions/[\w-]+/resourceGroups/"
                     r"[\w.()-]+/providers/Microsoft\.Network/networkSecurityGroups/[\w.-]+$", re.IGNORECASE)


def _subnet_nsg(block: Block, text: str, value: str) -> list[Step] | None:
    nsg = _reference_or_id(_NSG_ID, value)
    if nsg is None:
        return None
    return [Companion("azurerm_subnet_network_security_group_association", (
        "  subnet_id                 = {ref}",
        f"  network_security_group_id = {nsg}",
    ))]


choice("CKV2_AZURE_31", "azurerm_subnet", "protect the subnet with a network security group", _subnet_nsg,
       options=_resources_of(("azurerm_network_security_group",), "id"),
       prompt="Network security group (azurerm_network_security_group.NAME.id or its resource ID)",
       example="/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network/providers/"
               "Microsoft.Network/networkSecurityGroups/default-deny")


def _log_buckets(attribute: str, bucket_type: str = "aws_s3_bucket") -> Options:
    """The module's buckets (no count/for_each) by ``attribute``, buckets named like log buckets first."""
    def options(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
        found = _resources_of((bucket_type,), attribute)(block, text, blocks)
        return sorted(found, key=lambda o: "log" not in o[1])

    return options


def _flow_log(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if re.match(r"^aws_s3_bucket\.[\w-]+\.arn$", value):
        dest = value
    elif re.match(r"^arn:aws[\w-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?:/[\w./-]*)?$", value):
        dest = f'"{value}"'
    else:
        return None
    return [Companion("aws_flow_log", (
        "  vpc_id               = {ref}",
        '  traffic_type         = "ALL"',
        '  log_destination_type = "s3"',
        f"  log_destination      = {dest}",
    ))]


choice("CKV2_AWS_11", "aws_vpc", "log the VPC's traffic to S3 (aws_flow_log)", _flow_log,
       options=_log_buckets("arn"), prompt="ARN of the S3 bucket for the flow logs (arn:aws:s3:::NAME)",
       example="arn:aws:s3:::example-flow-logs")


def _elb_logs(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if re.match(r"^aws_s3_bucket\.[\w-]+\.(?:id|bucket)$", value):
        bucket = value
    elif re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", value):
        bucket = f'"{value}"'
    else:
        return None
    if block.item(("access_logs",)) is not None:
        return [Set(("access_logs", "enabled"), "true")] if block.item(("access_logs", "bucket")) else None
    return [Set(("access_logs", "bucket"), bucket), Set(("access_logs", "enabled"), "true")]


choice("CKV_AWS_92", "aws_elb", "write access logs to an S3 bucket (access_logs)", _elb_logs,
       options=_log_buckets("id"), prompt="Name of the S3 bucket for the access logs (its policy must let ELB write)",
       example="example-elb-logs")


def _ssl_policy(block: Block, text: str) -> list[Step] | None:
    if block.item(("ssl_policy",)) is not None:
        return None  # a policy of the developer's (custom ciphers): theirs to change
    return [Set(("ssl_policy", "policy_type"), '"Predefined"'),
            Set(("ssl_policy", "policy_name"), '"AppGwSslPolicy20220101S"')]


custom("CKV_AZURE_218", "azurerm_application_gateway",
       'allow only TLS 1.2+ with strong ciphers (ssl_policy "AppGwSslPolicy20220101S")', _ssl_policy,
       safe=False)  # clients without TLS 1.2 are cut off

# --------------------------------------------------------------------------- Alibaba Cloud and Oracle Cloud (terragoat)
_OSS = "alicloud_oss_bucket"
attr("CKV_ALI_10", _OSS, "versioning.status", '"Enabled"')
attr("CKV_ALI_11", _OSS, "transfer_acceleration.enabled", "true", safe=False)  # billed per GB


def _oss_private(block: Block, text: str) -> list[Step] | None:
    return [Set(("acl",), '"private"')] if _string(block, text, "acl") in ("public-read", "public-read-write") \
        else None


custom("CKV_ALI_1", _OSS, 'make the bucket private (acl = "private")', _oss_private,
       safe=False)  # public readers lose access


def _oss_logging(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if re.match(r"^alicloud_oss_bucket\.[\w-]+\.(?:id|bucket)$", value):
        target = value
    elif re.match(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", value):
        target = f'"{value}"'
    else:
        return None
    return [Set(("logging", "target_bucket"), target), Set(("logging", "target_prefix"), '"access-logs/"')]


choice("CKV_ALI_12", _OSS, "write access logs to a bucket (logging)", _oss_logging, options=_log_buckets("id", _OSS),
       prompt="Name of the OSS bucket for the access logs", example="example-access-logs")


def _oss_kms(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if re.match(r"^alicloud_kms_key\.[\w-]+\.id$", value):
        key = value
    elif re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", value):
        key = f'"{value}"'
    else:
        return None
    return [Set(("server_side_encryption_rule", "sse_algorithm"), '"KMS"'),
            Set(("server_side_encryption_rule", "kms_master_key_id"), key)]


choice("CKV_ALI_6", _OSS, "encrypt with a KMS key (server_side_encryption_rule)", _oss_kms,
       options=_resources_of(("alicloud_kms_key",), "id"), prompt="ID of the KMS key for the bucket",
       example="0b1e9a5e-1111-4222-8333-944445555666")

_ALI_DB = "alicloud_db_instance"
attr("CKV_ALI_20", _ALI_DB, "ssl_action", '"Open"', safe=False)  # clients must then connect with TLS
attr("CKV_ALI_30", _ALI_DB, "auto_upgrade_minor_version", '"Auto"')
attrs("CKV_ALI_25", _ALI_DB, {"sql_collector_status": '"Enabled"', "sql_collector_config_value": "180"},
      "keep the SQL audit log 180 days (sql_collector_status)")


def _no_world_ips(block: Block, text: str) -> list[Step] | None:
    current = _value(block, text, "security_ips")
    if current is None or not is_literal(current):
        return None
    ips = re.findall(r'"([^"]*)"', current)
    kept = [ip for ip in ips if ip not in ("0.0.0.0", "0.0.0.0/0")]
    if not kept or kept == ips:
        return None  # only the whole internet (which range instead is the developer's call), or nothing to drop
    return [Set(("security_ips",), "[" + ", ".join(f'"{ip}"' for ip in kept) + "]")]


custom("CKV_ALI_9", _ALI_DB, "drop 0.0.0.0 from security_ips (keep the other ranges)", _no_world_ips,
       safe=False)  # clients outside the kept ranges are cut off
attr("CKV_ALI_4", "alicloud_actiontrail_trail", "trail_region", '"All"')
attr("CKV_ALI_5", "alicloud_actiontrail_trail", "event_rw", '"All"')

_OCI = "oci_objectstorage_bucket"
attr("CKV_OCI_7", _OCI, "object_events_enabled", "true")
attr("CKV_OCI_8", _OCI, "versioning", '"Enabled"')
attr("CKV_OCI_10", _OCI, "access_type", '"NoPublicAccess"', safe=False)  # public readers lose access


def _oci_kms(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if re.match(r"^oci_kms_key\.[\w-]+\.id$", value):
        return [Set(("kms_key_id",), value)]
    if re.match(r"^ocid1\.key\.[\w.-]+$", value):
        return [Set(("kms_key_id",), f'"{value}"')]
    return None


choice("CKV_OCI_9", _OCI, "encrypt with a customer managed key (kms_key_id)", _oci_kms,
       options=_resources_of(("oci_kms_key",), "id"), prompt="OCID of the Vault key for the bucket",
       example="ocid1.key.oc1.eu-frankfurt-1.example.abcdefghijklmnop")

# --------------------------------------------------------------------------- AWS: the last attribute fixes
attr("CKV2_AWS_2", "aws_ebs_volume", "encrypted", "true", safe=False)  # replaces the attached volume


def _concurrency(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if not re.match(r"^(?:0|[1-9]\d{0,5})$", value):
        return None
    return [Set(("reserved_concurrent_executions",), value)]


choice("CKV_AWS_115", "aws_lambda_function", "reserve concurrent executions (reserved_concurrent_executions)",
       _concurrency, prompt="How many concurrent executions to reserve for the function (0 stops it)",
       example="50")

# --------------------------------------------------------------------------- Azure NSG rules open to the internet
_INTERNET = ("*", "0.0.0.0", "<nw>/0", "/0", "internet", "any")  # Checkov's list


def _covers(ports: str, port: int) -> bool:
    if ports == "*" or ports == str(port):
        return True
    m = re.fullmatch(r"(\d+)-(\d+)", ports)
    return m is not None and int(m.group(1)) <= port <= int(m.group(2))


def _open_rules(block: Block, text: str, port: int) -> list[tuple[int, int]] | None:
    """Offsets of the ``source_address_prefix`` values of the inbound rules letting the internet reach ``port``;
    None when a rule that may do so cannot be read (expressions, lists of prefixes)."""
    rules: list[tuple[int, int, tuple[str, ...]]]
    if block.labels[:1] == ("azurerm_network_security_rule",):
        rules = [(block.start, block.end, ())]
    else:
        rules = [(it.start, it.end, ("security_rule",)) for it in block.items
                 if it.path == ("security_rule",) and it.is_block]
        if is_dynamic(block, "security_rule"):
            return None
    out: list[tuple[int, int]] = []
    for start, end, prefix in rules:
        attrs: dict[str, tuple[str, int, int]] = {}
        for it in block.items:
            if len(it.path) == len(prefix) + 1 and it.path[:len(prefix)] == prefix and not it.is_block \
                    and start <= it.start < end:
                vs, ve = value_range(text, it)
                attrs[it.path[-1]] = (text[vs:ve].strip(), vs, ve)
        lit = {name: v[1:-1].lower() for name, (v, _, _) in attrs.items()
               if v.startswith('"') and v.endswith('"') and "${" not in v}
        if lit.get("access") != "allow" or lit.get("direction") != "inbound" \
                or lit.get("protocol") not in ("tcp", "*"):
            continue
        if "destination_port_ranges" in attrs or "source_address_prefixes" in attrs:
            return None  # lists: left to the developer
        ports, source = lit.get("destination_port_range"), lit.get("source_address_prefix")
        if ports is None or source is None:
            return None
        if _covers(ports, port) and source in _INTERNET:
            out.append(attrs["source_address_prefix"][1:])
    return out


def _restrict_source(port: int) -> ValuePlan:
    def plan(block: Block, text: str, value: str) -> list[Step] | None:
        cidrs = _cidrs(value)
        if cidrs is None or len(cidrs) != 1:
            return None
        found = _open_rules(block, text, port)
        if not found:
            return None if found is None else []
        new = block.text
        for vs, ve in sorted(found, reverse=True):
            new = new[:vs - block.start] + f'"{cidrs[0]}"' + new[ve - block.start:]
        return [Rewrite(new)]

    return plan


for _check, _port in (("CKV_AZURE_10", 22), ("CKV_AZURE_9", 3389)):
    choice(_check, ("azurerm_network_security_group", "azurerm_network_security_rule"),
           f"allow port {_port} only from your range (source_address_prefix)", _restrict_source(_port),
           prompt="CIDR allowed to connect instead of the internet (e.g. 203.0.113.0/24)", example="203.0.113.0/24")
