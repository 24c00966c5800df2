"""Local fixes for Azure checks (chosen by how often they fail in real code; see docs/fixes.md)."""

from __future__ import annotations

from tfguard.fixes.registry import attr, attrs, companion, custom
from tfguard.fixes.textops import Companion, InCompanion, Set, Step
from tfguard.hcl.blocks import Block

# --------------------------------------------------------------------------- SQL servers
attr("CKV_AZURE_113", "azurerm_mssql_server", "public_network_access_enabled", "false", safe=False)
attr("CKV_AZURE_52", "azurerm_mssql_server", "minimum_tls_version", '"1.2"')
attr("CKV_AZURE_25", "azurerm_mssql_server_security_alert_policy", "disabled_alerts", "[]",
     summary="detect all threat types (disabled_alerts = [])")
attr("CKV_AZURE_27", "azurerm_mssql_server_security_alert_policy", "email_account_admins", "true")

# --------------------------------------------------------------------------- storage accounts
attr("CKV_AZURE_44", "azurerm_storage_account", "min_tls_version", '"TLS1_2"')
attr("CKV_AZURE_59", "azurerm_storage_account", "public_network_access_enabled", "false", safe=False)
attr("CKV_AZURE_190", "azurerm_storage_account", "allow_nested_items_to_be_public", "false")

# --------------------------------------------------------------------------- app services
_APP = ("azurerm_app_service", "azurerm_linux_web_app", "azurerm_windows_web_app")
attr("CKV_AZURE_14", _APP, "https_only", "true")
attr("CKV_AZURE_15", "azurerm_app_service", "site_config.min_tls_version", '"1.2"')
attr("CKV_AZURE_78", "azurerm_app_service", "site_config.ftps_state", '"Disabled"')
attr("CKV_AZURE_18", "azurerm_app_service", "site_config.http2_enabled", "true")
attr("CKV_AZURE_71", _APP, "identity.type", '"SystemAssigned"')
attr("CKV_AZURE_65", "azurerm_app_service", "logs.detailed_error_messages_enabled", "true")
attr("CKV_AZURE_66", "azurerm_app_service", "logs.failed_request_tracing_enabled", "true")
attr("CKV_AZURE_17", "azurerm_app_service", "client_cert_enabled", "true", safe=False)

# --------------------------------------------------------------------------- key vaults
attr("CKV_AZURE_110", "azurerm_key_vault", "purge_protection_enabled", "true")
attrs("CKV_AZURE_42", "azurerm_key_vault", {"purge_protection_enabled": "true"},
      "make the key vault recoverable (purge_protection_enabled = true)")
attr("CKV_AZURE_189", "azurerm_key_vault", "public_network_access_enabled", "false", safe=False)

# --------------------------------------------------------------------------- MySQL / PostgreSQL servers
attr("CKV_AZURE_28", "azurerm_mysql_server", "ssl_enforcement_enabled", "true")
attr("CKV_AZURE_53", "azurerm_mysql_server", "public_network_access_enabled", "false", safe=False)
attr("CKV_AZURE_54", "azurerm_mysql_server", "ssl_minimal_tls_version_enforced", '"TLS1_2"')
attr("CKV_AZURE_94", "azurerm_mysql_server", "geo_redundant_backup_enabled", "true", safe=False)
attr("CKV_AZURE_29", "azurerm_postgresql_server", "ssl_enforcement_enabled", "true")
attr("CKV_AZURE_68", "azurerm_postgresql_server", "public_network_access_enabled", "false", safe=False)
attr("CKV_AZURE_147", "azurerm_postgresql_server", "ssl_minimal_tls_version_enforced", '"TLS1_2"')
attr("CKV_AZURE_102", "azurerm_postgresql_server", "geo_redundant_backup_enabled", "true", safe=False)
attr("CKV_AZURE_130", "azurerm_postgresql_server", "infrastructure_encryption_enabled", "true", safe=False)

# --------------------------------------------------------------------------- disks
attr("CKV_AZURE_251", "azurerm_managed_disk", "public_network_access_enabled", "false")

# --------------------------------------------------------------------------- AKS (added for issue #21)
_AKS = "azurerm_kubernetes_cluster"
_AKS_POOL = "azurerm_kubernetes_cluster_node_pool"


def _host_encryption(block: Block, text: str) -> list[Step] | None:
    prefix: tuple[str, ...] = ("default_node_pool",) if block.labels[:1] == (_AKS,) else ()
    if prefix and block.item(prefix) is None:
        return None
    # provider v4 renamed enable_host_encryption to host_encryption_enabled: keep the name in use
    name = "host_encryption_enabled" if block.item((*prefix, "host_encryption_enabled")) is not None \
        else "enable_host_encryption"
    return [Set((*prefix, name), "true")]


custom("CKV_AZURE_227", (_AKS, _AKS_POOL), "encrypt the nodes' disks at host", _host_encryption,
       safe=False)  # re-creates the node pool


def _max_pods(block: Block, text: str) -> list[Step] | None:
    if block.labels[:1] == (_AKS,):
        return [Set(("default_node_pool", "max_pods"), "50")] if block.item(("default_node_pool",)) else None
    return [Set(("max_pods",), "50")]


custom("CKV_AZURE_168", (_AKS, _AKS_POOL), "allow 50 pods per node (max_pods = 50)", _max_pods,
       safe=False)  # re-creates the node pool
attr("CKV_AZURE_170", _AKS, "sku_tier", '"Standard"', safe=False)  # a paid tier
attr("CKV_AZURE_232", _AKS, "default_node_pool.only_critical_addons_enabled", "true", safe=False)
attr("CKV_AZURE_226", _AKS, "default_node_pool.os_disk_type", '"Ephemeral"', safe=False)
attr("CKV2_AZURE_29", _AKS, "network_profile.network_plugin", '"azure"',
     safe=False)  # re-creates the cluster; pods take addresses of the subnet

# --------------------------------------------------------------------------- SQL auditing (companion)
_AUDIT = Companion("azurerm_mssql_server_extended_auditing_policy", (
    "  server_id         = {ref}",
    "  retention_in_days = 90",
))
companion("CKV_AZURE_23", "azurerm_mssql_server", "turn auditing on (azurerm_mssql_server_extended_auditing_policy)",
          _AUDIT)


def _audit_retention(block: Block, text: str) -> list[Step] | None:
    return [_AUDIT, InCompanion(_AUDIT.resource_type, Set(("retention_in_days",), "90"))]


custom("CKV_AZURE_24", "azurerm_mssql_server",
       "keep audit logs 90 days (azurerm_mssql_server_extended_auditing_policy)",
       _audit_retention)
