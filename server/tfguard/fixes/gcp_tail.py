"""Local fixes for terragoat's GCP findings that had none (issue #21): Cloud SQL, BigQuery, GKE, buckets, firewalls.

Chosen from terragoat's failed GCP findings with no registered fix (docs/fixes.md, "terragoat's GCP resources,
eighth session (measured)"). PostgreSQL database flags are added as one more ``database_flags`` block beside
the existing ones (only for a ``database_version`` naming PostgreSQL: Checkov checks these flags on nothing
else); values only the developer knows (a CIDR, a KMS key, a log bucket, a private network, a principal) are
typed or chosen from the module's resources, and validated.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tfguard.fixes.registry import Options, Planner, attr, choice, custom
from tfguard.fixes.textops import Rewrite, Set, Step, child_indent, indent_unit, is_dynamic, is_literal, line_indent
from tfguard.hcl.blocks import Block, Item

ValuePlan = Callable[[Block, str, str], "list[Step] | None"]


# --------------------------------------------------------------------------- helpers


def _string(block: Block, text: str, path: tuple[str, ...]) -> str | None:
    """The plain string value (without quotes) of the attribute at ``path``, else None."""
    it = block.item(path)
    if it is None or it.is_block:
        return None
    value = text[text.index("=", it.start) + 1:it.end].strip()
    if len(value) < 2 or value[0] != '"' or value[-1] != '"' or "${" in value or "%{" in value:
        return None
    return value[1:-1]


def _literal_string(text: str, it: Item) -> str | None:
    """The plain string value of attribute item ``it``, else None."""
    value = text[text.index("=", it.start) + 1:it.end].strip()
    if len(value) < 2 or value[0] != '"' or value[-1] != '"' or "${" in value or "%{" in value:
        return None
    return value[1:-1]


def _children(block: Block, parent: Item, name: str) -> list[Item]:
    """The attributes ``name`` directly inside the nested block ``parent`` (one instance of a repeated block)."""
    path = (*parent.path, name)
    return [it for it in block.items if it.path == path and parent.start < it.start < parent.end]


def _rewrite(block: Block, edits: list[tuple[int, int, str]]) -> list[Step]:
    """A Rewrite of the block with ``edits`` (absolute offsets ``start, end, new text``, not overlapping)."""
    new = block.text
    for start, end, piece in sorted(edits, reverse=True):
        new = new[:start - block.start] + piece + new[end - block.start:]
    return [Rewrite(new)]


def _insertion_before_close(block: Block, text: str, parent: Item | None, lines: list[str]) -> tuple[int, str] | None:
    """Where and what to insert so that ``lines`` (no base indent) end ``parent``'s body (or the block's)."""
    close = (parent.end if parent is not None else block.end) - 1
    if text[close] != "}":
        return None
    line_start = text.rfind("\n", 0, close) + 1
    if text[line_start:close].strip():
        return None  # the closing brace shares its line (a one-line block): not rewritten
    indent = child_indent(block, text, parent)
    return line_start, "".join(indent + line + "\n" if line else "\n" for line in lines)


def _plain(block: Block) -> bool:
    return block.item(("count",)) is None and block.item(("for_each",)) is None


def _resources_of(resource_type: str, attribute: str) -> Options:
    """Choices: the module's other ``resource_type`` resources (no count/for_each), as ``type.name.attribute``."""
    def options(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
        return [(f"{resource_type}.{b.labels[1]}", f"{resource_type}.{b.labels[1]}.{attribute}") for b in blocks
                if b.kind == "resource" and b.labels[:1] == (resource_type,) and len(b.labels) > 1
                and b.labels != block.labels and _plain(b)]

    return options


_CIDR = re.compile(r"^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)/(?:3[0-2]|[12]?\d)$")


def _narrow_cidr(value: str) -> str | None:
    """One typed IPv4 CIDR that is not the whole internet (``/0``), else None."""
    value = value.strip()
    return value if _CIDR.match(value) and not value.endswith("/0") else None


# --------------------------------------------------------------------------- Cloud SQL for PostgreSQL: flags
_SQL = "google_sql_database_instance"


def _postgres_flag(name: str, wanted: str, accepted: tuple[str, ...]) -> Planner:
    """Add ``database_flags { name = NAME  value = WANTED }`` after the instance's other flags (or set the value of
    the flag of that name when it is there with a value Checkov does not accept)."""
    def plan(block: Block, text: str) -> list[Step] | None:
        version = _string(block, text, ("database_version",))
        settings = block.item(("settings",))
        if version is None or "POSTGRES" not in version or settings is None or not settings.is_block:
            return None  # another engine (Checkov does not check the flag there), or not readable
        if is_dynamic(block, "database_flags") or is_dynamic(block, "settings"):
            return None  # flags generated from a variable: the developer's list to change
        flags = [it for it in block.items if it.path == ("settings", "database_flags")]
        if any(not f.is_block for f in flags):
            return None
        for flag in flags:
            names = _children(block, flag, "name")
            if len(names) != 1 or _literal_string(text, names[0]) != name:
                continue
            values = _children(block, flag, "value")
            current = _literal_string(text, values[0]) if len(values) == 1 else None
            if current in accepted:
                return []
            if current is None:
                return None  # an expression (or no value): decided elsewhere
            eq = text.index("=", values[0].start) + 1
            start = eq + len(text[eq:values[0].end]) - len(text[eq:values[0].end].lstrip())
            return _rewrite(block, [(start, values[0].end, f'"{wanted}"')])
        unit = indent_unit(block, text)
        body = [f'{unit}name  = "{name}"', f'{unit}value = "{wanted}"']
        if flags:
            last = flags[-1]
            end_of_line = text.find("\n", last.end)
            if end_of_line < 0 or text[last.end:end_of_line].strip():
                return None
            indent = line_indent(text, last.start)
            lines = "".join(f"{indent}{line}\n" for line in ["database_flags {", *body, "}"])
            return _rewrite(block, [(end_of_line + 1, end_of_line + 1, lines)])
        found = _insertion_before_close(block, text, settings, ["database_flags {", *body, "}"])
        if found is None:
            return None
        return _rewrite(block, [(found[0], found[0], found[1])])

    return plan


_LOG_LEVELS = ("debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error")
# (check, flag, value written, values Checkov accepts, safe): no flag here restarts the instance but pgAudit's
_FLAGS = (
    ("CKV_GCP_51", "log_checkpoints", "on", ("on",), True),
    ("CKV_GCP_52", "log_connections", "on", ("on",), True),
    ("CKV_GCP_53", "log_disconnections", "on", ("on",), True),
    ("CKV_GCP_54", "log_lock_waits", "on", ("on",), True),
    ("CKV2_GCP_13", "log_duration", "on", ("on",), True),
    ("CKV_GCP_109", "log_min_error_statement", "error", _LOG_LEVELS, True),  # PostgreSQL's default level
    ("CKV_GCP_111", "log_statement", "ddl", ("ddl", "mod", "all"), True),  # schema changes only: the least volume
    ("CKV_GCP_108", "log_hostname", "on", ("on",), False),  # a reverse DNS lookup per connection
    ("CKV_GCP_110", "cloudsql.enable_pgaudit", "on", ("on",), False),  # restarts the instance
)
for _check, _flag, _wanted, _accepted, _safe in _FLAGS:
    custom(_check, _SQL, f'set the database flag {_flag} to "{_wanted}" (database_flags)',
           _postgres_flag(_flag, _wanted, _accepted), safe=_safe)

# --------------------------------------------------------------------------- Cloud SQL: version, network
_LATEST = {"POSTGRES": "POSTGRES_18", "MYSQL": "MYSQL_8_0"}
_SQLSERVER = re.compile(r"^SQLSERVER_\d{4}_(STANDARD|WEB|ENTERPRISE|EXPRESS)$")
_CURRENT = ("POSTGRES_18", "MYSQL_8_0", "MYSQL_8_4")


def _major_version(block: Block, text: str) -> list[Step] | None:
    version = _string(block, text, ("database_version",))
    if version is None:
        return None
    if version in _CURRENT:
        return []
    edition = _SQLSERVER.match(version)
    if edition is not None:
        return [Set(("database_version",), f'"SQLSERVER_2022_{edition.group(1)}"')]
    wanted = _LATEST.get(version.split("_", 1)[0])
    return [Set(("database_version",), f'"{wanted}"')] if wanted else None


custom("CKV_GCP_79", _SQL, "upgrade to the latest major version of the engine (database_version)", _major_version,
       safe=False)  # a major upgrade: the application and extensions must support it


def _authorized_networks(block: Block, text: str, value: str) -> list[Step] | None:
    """The typed CIDR instead of every authorized network that is the whole internet."""
    cidr = _narrow_cidr(value)
    if cidr is None or is_dynamic(block, "authorized_networks"):
        return None
    edits = []
    for it in block.items:
        if it.path == ("settings", "ip_configuration", "authorized_networks", "value"):
            current = _literal_string(text, it)
            if current is None:
                return None  # an expression: which networks is decided elsewhere
            if current.endswith("/0"):
                eq = text.index("=", it.start) + 1
                start = eq + len(text[eq:it.end]) - len(text[eq:it.end].lstrip())
                edits.append((start, it.end, f'"{cidr}"'))
    return _rewrite(block, edits) if edits else None


choice("CKV_GCP_11", _SQL, "allow only your range instead of 0.0.0.0/0 (authorized_networks)", _authorized_networks,
       prompt="CIDR allowed to connect to the public IP instead of 0.0.0.0/0 (e.g. 203.0.113.0/24)",
       example="203.0.113.0/24")

_NETWORK = re.compile(r"^google_compute_network\.[\w-]+\.(?:id|self_link)$|^projects/[\w-]+/global/networks/[\w-]+$")


def _private_ip(block: Block, text: str, value: str) -> list[Step] | None:
    """No public IP: ``ipv4_enabled = false`` and the VPC network the instance gets its private IP in."""
    value = value.strip()
    if not _NETWORK.match(value) or block.item(("settings",)) is None:
        return None
    steps: list[Step] = [Set(("settings", "ip_configuration", "ipv4_enabled"), "false")]
    if block.item(("settings", "ip_configuration", "private_network")) is None:
        steps.append(Set(("settings", "ip_configuration", "private_network"),
                         value if value.startswith("google_") else f'"{value}"'))
    return steps


choice("CKV_GCP_60", _SQL, "use a private IP only (ipv4_enabled = false, private_network)", _private_ip,
       options=_resources_of("google_compute_network", "id"),
       prompt="VPC network for the private IP (google_compute_network.NAME.id or projects/P/global/networks/N; "
              "it needs private services access)",
       example="projects/my-project/global/networks/default")

# --------------------------------------------------------------------------- Cloud KMS keys (BigQuery, disks)
_CRYPTO_KEY = re.compile(r"^google_kms_crypto_key\.[\w-]+\.id$"
                         r"|^projects/[\w-]+/locations/[\w-]+/keyRings/[\w-]+/cryptoKeys/[\w-]+$")
_KEY_EXAMPLE = "projects/my-project/locations/us-central1/keyRings/data/cryptoKeys/default"


def _crypto_key(path: tuple[str, ...]) -> ValuePlan:
    def plan(block: Block, text: str, value: str) -> list[Step] | None:
        value = value.strip()
        if not _CRYPTO_KEY.match(value):
            return None
        return [Set(path, value if value.startswith("google_") else f'"{value}"')]

    return plan


choice("CKV_GCP_81", "google_bigquery_dataset",
       "encrypt new tables with a Cloud KMS key (default_encryption_configuration)",
       _crypto_key(("default_encryption_configuration", "kms_key_name")),
       options=_resources_of("google_kms_crypto_key", "id"),
       prompt="Cloud KMS key for the dataset (projects/…/cryptoKeys/NAME; BigQuery's service account must be "
              "allowed to use it)", example=_KEY_EXAMPLE)
choice("CKV_GCP_37", "google_compute_disk", "encrypt the disk with a customer managed key (disk_encryption_key)",
       _crypto_key(("disk_encryption_key", "kms_key_self_link")),  # replaces the disk
       options=_resources_of("google_kms_crypto_key", "id"),
       prompt="Cloud KMS key for the disk (projects/…/cryptoKeys/NAME; Compute Engine's service agent must be "
              "allowed to use it)", example=_KEY_EXAMPLE)

# --------------------------------------------------------------------------- BigQuery and Cloud Storage access
_PUBLIC = ("allUsers", "allAuthenticatedUsers")
_EMAIL = re.compile(r"^[^@\s\"\\$%,]+@[^@\s\"\\$%,]+\.[^@\s\"\\$%,]+$")
_PROJECT_GROUP = {"READER": "projectReaders", "WRITER": "projectWriters", "OWNER": "projectOwners"}


def _dataset_access(block: Block, text: str, value: str) -> list[Step] | None:
    """Each public ``access`` entry given to the project's members of that role, or to the typed group."""
    value = value.strip()
    if value != "project" and not _EMAIL.match(value):
        return None
    if is_dynamic(block, "access"):
        return None
    edits = []
    for access in (it for it in block.items if it.path == ("access",) and it.is_block):
        groups = _children(block, access, "special_group")
        if len(groups) != 1 or _literal_string(text, groups[0]) not in _PUBLIC:
            continue
        if value == "project":
            roles = _children(block, access, "role")
            group = _PROJECT_GROUP.get(_literal_string(text, roles[0]) or "") if len(roles) == 1 else None
            if group is None:
                return None  # an IAM role, or none: which project group is not clear
            new = f'special_group = "{group}"'
        else:
            new = f'group_by_email = "{value}"'
        edits.append((groups[0].start, groups[0].end, new))
    return _rewrite(block, edits) if edits else None


def _project_members(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    return [("the project's members of the same role (projectReaders, projectWriters, projectOwners)", "project")]


choice("CKV_GCP_15", "google_bigquery_dataset", "give the public access to the project's members or a group",
       _dataset_access, options=_project_members, prompt="E-mail address of the Google group that may access "
       "the dataset instead of the public", example="data-readers@example.com")

_PRINCIPAL = re.compile(r"^(?:user|group|serviceAccount|domain):[^\s\"\\$%,]+$")


def _bucket_members(block: Block, text: str, value: str) -> list[Step] | None:
    """The typed principal instead of ``allUsers``/``allAuthenticatedUsers`` (other members kept)."""
    value = value.strip()
    if not _PRINCIPAL.match(value):
        return None
    if block.labels[:1] == ("google_storage_bucket_iam_member",):
        return [Set(("member",), f'"{value}"')] if _string(block, text, ("member",)) in _PUBLIC else None
    it = block.item(("members",))
    if it is None or it.is_block:
        return None
    current = text[text.index("=", it.start) + 1:it.end].strip()
    if not is_literal(current) or not current.startswith("["):
        return None
    members = re.findall(r'"([^"]*)"', current)
    kept = [m for m in members if m not in _PUBLIC]
    if kept == members:
        return None
    wanted = [*kept, *([value] if value not in kept else [])]
    return [Set(("members",), "[" + ", ".join(f'"{m}"' for m in wanted) + "]")]


choice("CKV_GCP_28", ("google_storage_bucket_iam_binding", "google_storage_bucket_iam_member"),
       "grant the role to a principal you name instead of the public", _bucket_members,
       prompt="Principal instead of allUsers / allAuthenticatedUsers (user:, group:, serviceAccount: or domain:)",
       example="group:web-readers@example.com")

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")


def _log_bucket(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if re.match(r"^google_storage_bucket\.[\w-]+\.(?:name|id)$", value):
        bucket = value
    elif _BUCKET_NAME.match(value):
        bucket = f'"{value}"'
    else:
        return None
    return [Set(("logging", "log_bucket"), bucket)]


def _log_buckets(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    found = _resources_of("google_storage_bucket", "name")(block, text, blocks)
    return sorted(found, key=lambda o: "log" not in o[1])  # buckets named like log buckets first


choice("CKV_GCP_62", "google_storage_bucket", "write usage and storage logs to a bucket (logging.log_bucket)",
       _log_bucket, options=_log_buckets, prompt="Name of the bucket that receives the access logs",
       example="example-access-logs")

# --------------------------------------------------------------------------- GKE
_GKE = "google_container_cluster"
attr("CKV_GCP_1", _GKE, "logging_service", '"logging.googleapis.com/kubernetes"')
attr("CKV_GCP_8", _GKE, "monitoring_service", '"monitoring.googleapis.com/kubernetes"')


def _alias_ips(block: Block, text: str) -> list[Step] | None:
    """A VPC-native cluster: ``ip_allocation_policy {}`` lets GKE create the secondary ranges."""
    if block.item(("ip_allocation_policy",)) is not None or is_dynamic(block, "ip_allocation_policy"):
        return []
    if _string(block, text, ("networking_mode",)) == "ROUTES" or block.item(("cluster_ipv4_cidr",)) is not None:
        return None  # a routes-based cluster by decision (or its own pod range): not rewritten
    found = _insertion_before_close(block, text, None, ["ip_allocation_policy {}"])
    return _rewrite(block, [(found[0], found[0], found[1])]) if found is not None else None


custom("CKV_GCP_23", _GKE, "make the cluster VPC-native (ip_allocation_policy)", _alias_ips,
       safe=False)  # re-creates the cluster


def _control_plane_ranges(block: Block, text: str, value: str) -> list[Step] | None:
    """The typed CIDR instead of every authorized network of the control plane that contains 0.0.0.0/0."""
    cidr = _narrow_cidr(value)
    if cidr is None or is_dynamic(block, "cidr_blocks"):
        return None
    edits = []
    for it in block.items:
        if it.path == ("master_authorized_networks_config", "cidr_blocks", "cidr_block"):
            current = _literal_string(text, it)
            if current is None:
                return None
            if "0.0.0.0/0" in current:
                eq = text.index("=", it.start) + 1
                start = eq + len(text[eq:it.end]) - len(text[eq:it.end].lstrip())
                edits.append((start, it.end, f'"{cidr}"'))
    return _rewrite(block, edits) if edits else None


choice("CKV_GCP_18", _GKE, "allow the control plane only from your range (master_authorized_networks_config)",
       _control_plane_ranges, prompt="CIDR allowed to reach the control plane instead of 0.0.0.0/0 "
       "(e.g. 203.0.113.0/24)", example="203.0.113.0/24")

_SECURITY_GROUP = re.compile(r"^gke-security-groups@[a-z0-9.-]+\.[a-z]{2,}$")


def _rbac_groups(block: Block, text: str, value: str) -> list[Step] | None:
    value = value.strip()
    if not _SECURITY_GROUP.match(value):
        return None
    return [Set(("authenticator_groups_config", "security_group"), f'"{value}"')]


choice("CKV_GCP_65", _GKE, "manage RBAC with Google Groups (authenticator_groups_config)", _rbac_groups,
       prompt="Your domain's GKE security group (gke-security-groups@YOUR-DOMAIN)",
       example="gke-security-groups@example.com")

# --------------------------------------------------------------------------- compute instances and firewalls
attr("CKV_GCP_34", ("google_compute_instance", "google_compute_instance_template",
                    "google_compute_instance_from_template"),
     "metadata.enable-oslogin", "true", object_path=True,
     safe=False)  # SSH keys in metadata stop working: users log in with their Google identity


def _firewall_source(block: Block, text: str, value: str) -> list[Step] | None:
    """``0.0.0.0/0`` in ``source_ranges`` replaced by the typed CIDR (the other ranges kept)."""
    cidr = _narrow_cidr(value)
    it = block.item(("source_ranges",))
    if cidr is None or it is None or it.is_block:
        return None
    current = text[text.index("=", it.start) + 1:it.end].strip()
    if not is_literal(current) or not current.startswith("["):
        return None
    ranges = re.findall(r'"([^"]*)"', current)
    if "0.0.0.0/0" not in ranges:
        return None
    wanted: list[str] = []
    for r in ranges:
        r = cidr if r == "0.0.0.0/0" else r
        if r not in wanted:
            wanted.append(r)
    return [Set(("source_ranges",), "[" + ", ".join(f'"{r}"' for r in wanted) + "]")]


for _check, _port in (("CKV_GCP_3", "RDP (3389)"), ("CKV_GCP_75", "FTP (21)"), ("CKV_GCP_77", "FTP (20)"),
                      ("CKV_GCP_88", "MySQL (3306)")):
    choice(_check, "google_compute_firewall", f"allow {_port} only from your range instead of 0.0.0.0/0",
           _firewall_source, prompt="Source range (CIDR) allowed to connect instead of 0.0.0.0/0, e.g. your office "
           "or VPN range", example="10.0.0.0/8")
