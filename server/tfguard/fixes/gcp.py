"""Local fixes for GCP checks (chosen by how often they fail in real code; see docs/fixes.md)."""

from __future__ import annotations

import re
from dataclasses import replace

from tfguard.fixes.lookups import with_lookup_defaults
from tfguard.fixes.registry import REGISTRY, attr, attrs, choice, custom
from tfguard.fixes.textops import Companion, Rewrite, Set, Step, is_dynamic
from tfguard.hcl.blocks import Block

_OTHERS = frozenset(REGISTRY)  # registered before this module: not GCP's

# --------------------------------------------------------------------------- storage
attr("CKV_GCP_29", "google_storage_bucket", "uniform_bucket_level_access", "true")
attr("CKV_GCP_114", "google_storage_bucket", "public_access_prevention", '"enforced"')
attr("CKV_GCP_78", "google_storage_bucket", "versioning.enabled", "true")

# --------------------------------------------------------------------------- compute
_VM = ("google_compute_instance", "google_compute_instance_template")
attr("CKV_GCP_36", _VM, "can_ip_forward", "false", safe=False)
attrs("CKV_GCP_39", _VM, {"shielded_instance_config.enable_vtpm": "true",
                          "shielded_instance_config.enable_integrity_monitoring": "true"},
      "enable Shielded VM (vTPM and integrity monitoring)", safe=False)
attr("CKV_GCP_32", _VM, "metadata.block-project-ssh-keys", "true", object_path=True)
attr("CKV_GCP_35", _VM, "metadata.serial-port-enable", "false", object_path=True)
attr("CKV_GCP_74", "google_compute_subnetwork", "private_ip_google_access", "true")
# dual-stack subnets only (Checkov returns UNKNOWN for IPV4_ONLY): VMs without external IPv6 reach Google APIs
attr("CKV_GCP_76", "google_compute_subnetwork", "private_ipv6_google_access", '"ENABLE_OUTBOUND_VM_ACCESS_TO_GOOGLE"')
attrs("CKV_GCP_26", "google_compute_subnetwork", {
    "log_config.aggregation_interval": '"INTERVAL_10_MIN"',
    "log_config.flow_sampling": "0.5",
    "log_config.metadata": '"INCLUDE_ALL_METADATA"',
}, "enable VPC flow logs (log_config)")

# --------------------------------------------------------------------------- GKE
_GKE = "google_container_cluster"
attr("CKV_GCP_7", _GKE, "enable_legacy_abac", "false")
attr("CKV_GCP_61", _GKE, "enable_intranode_visibility", "true")
attr("CKV_GCP_70", _GKE, "release_channel.channel", '"REGULAR"')
attr("CKV_GCP_66", _GKE, "binary_authorization.evaluation_mode", '"PROJECT_SINGLETON_POLICY_ENFORCE"',
     safe=False)
attr("CKV_GCP_13", _GKE, "master_auth.client_certificate_config.issue_client_certificate", "false",
     safe=False)
_POOL = "google_container_node_pool"
attr("CKV_GCP_10", _POOL, "management.auto_upgrade", "true")
attr("CKV_GCP_9", _POOL, "management.auto_repair", "true")


def _metadata_server(block: Block, text: str) -> list[Step] | None:
    if block.item(("node_config",)) is None and block.labels[:1] == (_GKE,):
        return None  # adding node_config to a cluster changes its default pool: left to the developer
    return [Set(("node_config", "workload_metadata_config", "mode"), '"GKE_METADATA"')]


custom("CKV_GCP_69", (_GKE, _POOL), 'use the GKE Metadata Server (workload_metadata_config.mode = "GKE_METADATA")',
       _metadata_server, safe=False)
attrs("CKV_GCP_68", (_GKE, _POOL), {
    "node_config.shielded_instance_config.enable_secure_boot": "true",
    "node_config.shielded_instance_config.enable_integrity_monitoring": "true",
}, "enable Secure Boot (and integrity monitoring) for Shielded GKE nodes", safe=False)

# --------------------------------------------------------------------------- Cloud SQL
attr("CKV_GCP_14", "google_sql_database_instance", "settings.backup_configuration.enabled", "true")
attr("CKV_GCP_6", "google_sql_database_instance", "settings.ip_configuration.ssl_mode",
     '"TRUSTED_CLIENT_CERTIFICATE_REQUIRED"', safe=False)

# --------------------------------------------------------------------------- added for issue #21 (by frequency)

attr("CKV_GCP_12", _GKE, "network_policy.enabled", "true", safe=False)  # re-creates the nodes
for _check in ("CKV_GCP_64", "CKV_GCP_25"):
    # private nodes; the control plane stays reachable (enable_private_endpoint is left to the developer)
    attr(_check, _GKE, "private_cluster_config.enable_private_nodes", "true", safe=False,
         summary="create the cluster with private nodes (private_cluster_config)")  # forces replacement
attr("CKV_GCP_72", (_GKE, _POOL), "node_config.shielded_instance_config.enable_integrity_monitoring", "true",
     safe=False)  # re-creates the nodes

_DENY_INGRESS = Companion("google_compute_firewall", (
    '  name      = "{label}-deny-all-ingress"',
    "  network   = {ref}",
    '  direction = "INGRESS"',
    "  priority  = 65534",
    "",
    "  deny {",
    '    protocol = "all"',
    "  }",
    "",
    '  source_ranges = ["0.0.0.0/0"]',
))


def _deny_ingress(block: Block, text: str) -> list[Step] | None:
    """The network's own deny-all ingress firewall; not for a network named by a module input
    (``name = var.network_name``: a shared network module, called once per network, as terraform-google-
    network's ``modules/vpc`` in ``examples/multi_vpc``): the firewall's name would be the same in every
    instance, and firewall names are unique in a project."""
    item = block.item(("name",))
    if item is None or item.is_block or re.search(r"\bvar\.", text[item.start:item.end]):
        return None
    return [_DENY_INGRESS]


# the rule changes no traffic of a network Terraform creates (GCP's implied rule at 65535 denies ingress
# already; allow rules at higher priority still apply), it makes the deny explicit
custom("CKV2_GCP_18", "google_compute_network",
       "add a google_compute_firewall denying all ingress (the network's own firewall)", _deny_ingress)


def _crypto_keys(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    """Choices: the module's ``google_kms_crypto_key`` resources (one instance each)."""
    return [(f"google_kms_crypto_key.{b.labels[1]}", f"google_kms_crypto_key.{b.labels[1]}.id") for b in blocks
            if b.kind == "resource" and b.labels[:1] == ("google_kms_crypto_key",) and len(b.labels) > 1
            and b.item(("count",)) is None and b.item(("for_each",)) is None]


_CRYPTO_KEY = re.compile(r"^google_kms_crypto_key\.[\w-]+\.id$"
                         r"|^projects/[\w-]+/locations/[\w-]+/keyRings/[\w-]+/cryptoKeys/[\w-]+$")


def _boot_disk_key(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if not _CRYPTO_KEY.match(value) or block.item(("boot_disk",)) is None:
        return None  # not a key (or no boot_disk block to encrypt: the instance is incomplete)
    return [Set(("boot_disk", "kms_key_self_link"), value if value.startswith("google_") else f'"{value}"')]


# the key is the developer's (a raw CSEK never belongs in the text): a Cloud KMS key of the module, or typed
choice("CKV_GCP_38", "google_compute_instance", "encrypt the boot disk with a customer managed key",
       _boot_disk_key, options=_crypto_keys, prompt="Cloud KMS key for the boot disk (projects/…/cryptoKeys/NAME)",
       example="projects/my-project/locations/europe-west1/keyRings/vm/cryptoKeys/boot-disk")

_LABEL = re.compile(r"^([a-z][a-z0-9_-]{0,62})\s*=\s*([a-z0-9_-]{0,63})$")


def _labels(block: Block, text: str, value: str) -> list[Step] | None:
    """Typed ``team=payments, env=prod`` (GCP label syntax) as the cluster's ``resource_labels``."""
    pairs = [_LABEL.match(p.strip()) for p in value.split(",")] if value.strip() and "\n" not in value else []
    if not pairs or not all(pairs):
        return None
    body = ", ".join(f'{m.group(1)} = "{m.group(2)}"' for m in pairs if m)
    return [Set(("resource_labels",), f"{{ {body} }}")]


choice("CKV_GCP_21", _GKE, "label the cluster (resource_labels)", _labels,
       prompt="Labels for the cluster (key=value, comma separated)", example="team=platform, env=prod")

def _no_public_ip(block: Block, text: str) -> list[Step] | None:
    """Remove the first network interface's ``access_config`` block (what Checkov inspects)."""
    if is_dynamic(block, "network_interface") or is_dynamic(block, "access_config"):
        return None
    item = block.item(("network_interface", "access_config"))
    if item is None or not item.is_block:
        return None
    start = text.rfind("\n", 0, item.start) + 1
    if text[start:item.start].strip():
        return None  # shares its line with other text: not a block to cut out cleanly
    end = text.find("\n", item.end)
    end = len(text) if end < 0 else end + 1
    if text[item.end:end].strip():
        return None
    prev = text.rfind("\n", 0, start - 1) + 1 if start > 0 else start
    following = text[end:text.find("\n", end) if "\n" in text[end:] else len(text)].strip()
    if start > 0 and not text[prev:start].strip() and following in ("", "}"):
        start = prev  # and the blank line that separated it
    return [Rewrite(text[block.start:start] + text[end:block.end])]


custom("CKV_GCP_40", ("google_compute_instance", "google_compute_instance_template"),
       "remove the public IP (the network interface's access_config)", _no_public_ip,
       safe=False)  # cuts the instance off from the internet: reach it through IAP or Cloud NAT

_CIDR = re.compile(r"^(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}/(?:3[0-2]|[12]?\d)$")


def _source_range(block: Block, text: str, value: str) -> list[Step] | None:
    """The typed CIDR (not ``0.0.0.0/0``) as the rule's only source range."""
    value = value.strip()
    if not _CIDR.match(value) or value.endswith("/0"):
        return None
    return [Set(("source_ranges",), f'["{value}"]')]


for _check, _port in (("CKV_GCP_2", "SSH"), ("CKV_GCP_106", "HTTP")):
    choice(_check, "google_compute_firewall", f"allow {_port} only from the range you type instead of 0.0.0.0/0",
           _source_range, prompt="Source range (CIDR) allowed to connect, e.g. your office or VPN range",
           example="10.0.0.0/8")

# --------------------------------------------------------------------------- Kubernetes resources on GKE (#21)
_K8S_NAMESPACED = (  # the resources Checkov's CKV_K8S_21 inspects
    "kubernetes_pod", "kubernetes_pod_v1", "kubernetes_deployment", "kubernetes_deployment_v1",
    "kubernetes_daemonset", "kubernetes_daemon_set_v1", "kubernetes_stateful_set", "kubernetes_stateful_set_v1",
    "kubernetes_replication_controller", "kubernetes_replication_controller_v1", "kubernetes_job",
    "kubernetes_job_v1", "kubernetes_cron_job", "kubernetes_cron_job_v1", "kubernetes_service",
    "kubernetes_service_v1", "kubernetes_secret", "kubernetes_secret_v1", "kubernetes_service_account",
    "kubernetes_service_account_v1", "kubernetes_role_binding", "kubernetes_role_binding_v1",
    "kubernetes_config_map", "kubernetes_config_map_v1", "kubernetes_ingress", "kubernetes_ingress_v1",
)
_NAMESPACE = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$")  # a DNS-1123 label


def _namespace(block: Block, text: str, value: str) -> list[Step] | None:
    """The typed namespace as ``metadata.namespace``: a namespace name, never ``default`` nor ``kube-*``."""
    value = value.strip()
    if not _NAMESPACE.match(value) or value == "default" or value.startswith("kube-"):
        return None
    if block.item(("metadata",)) is None or is_dynamic(block, "metadata"):
        return None  # no metadata block to put it in (the resource is incomplete)
    return [Set(("metadata", "namespace"), f'"{value}"')]


# which namespace the workload belongs in is the developer's (it must exist in the cluster)
choice("CKV_K8S_21", _K8S_NAMESPACED,
       "put it in its own namespace (metadata.namespace)", _namespace,
       prompt="Namespace for it (an existing namespace, not \"default\")", example="payments")

# --------------------------------------------------------------------------- GKE node pools and the GCP tail (#21)
# Every GCP fix also acts on an attribute that is ``lookup(each.value, "key", LITERAL)`` (the GKE node
# pools over ``var.node_pools``): at the call, the key in each map of the caller's list; in the module's
# own file, the lookup's default (fixes/lookups.py). Through a module call with no input driving the
# value (the examples' literal subnetworks and networks called by test fixtures), the fix is made in the
# module's file, for every caller (``in_module``); CKV2_GCP_18's firewall too, but never in a shared network
# module (a network named by an input, see _deny_ingress).
for _id in sorted(set(REGISTRY) - _OTHERS):
    REGISTRY[_id] = replace(REGISTRY[_id], plan=with_lookup_defaults(REGISTRY[_id].plan), in_module=True)
