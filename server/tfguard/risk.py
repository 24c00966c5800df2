"""Risk classes: what kind of fault a finding is, so SecOps can rank exposure above hygiene.

Every check belongs to exactly one class (docs/severities.md, "Risk classes"):

======================  ===================================================================
``public-exposure``     reachable from the internet: world ingress, public ACLs/policies/IPs
``identity-access``     IAM wildcards, privilege escalation, admin rights, authentication
``secrets``             hard-coded secrets and credentials
``data-protection``     encryption, backups, deletion protection, versioning, recovery
``logging-monitoring``  logs, audit trails, monitoring, alerting
``hygiene``             conventions and everything else
======================  ===================================================================

Lookup of :func:`classify_check`: the organisation rules' own classes (:data:`ORG_RULE_CLASSES`);
the shipped table ``tfguard/data/risk_classes.json`` (built by ``data/build_risk_classes.py`` from
Checkov's check names and categories plus a reviewed list of exceptions); else the same name rules
the table was built with (:func:`classify_name`), for custom policies and checks newer than the table.

Pure: no Checkov import; the table is read once, lazily.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

PUBLIC_EXPOSURE = "public-exposure"
IDENTITY_ACCESS = "identity-access"
SECRETS = "secrets"
DATA_PROTECTION = "data-protection"
LOGGING_MONITORING = "logging-monitoring"
HYGIENE = "hygiene"

#: The classes, in the default ranking order (most urgent first).
RISK_CLASSES: tuple[str, ...] = (PUBLIC_EXPOSURE, IDENTITY_ACCESS, SECRETS, DATA_PROTECTION,
                                 LOGGING_MONITORING, HYGIENE)
#: The classes SecOps called urgent (the ranking benchmark's positives).
URGENT_CLASSES: frozenset[str] = frozenset({PUBLIC_EXPOSURE, IDENTITY_ACCESS, SECRETS})

#: tfguard's own organisation rules (tfguard.rules).
ORG_RULE_CLASSES: dict[str, str] = {
    "TFG_SEC_1": SECRETS,  # hard-coded secret
    "TFG_MOD_1": HYGIENE,  # module not in the approved catalogue
    "TFG_MOD_2": HYGIENE,  # module not pinned
    "TFG_MOD_3": HYGIENE,  # module version outside the approved range
    "TFG_MOD_4": HYGIENE,  # raw resource instead of the approved module
    "TFG_PROV_1": HYGIENE,  # provider without a version constraint
    "TFG_PROV_2": HYGIENE,  # no required_version
    "TFG_TAG_1": HYGIENE,  # required tags missing
}

_TABLE_RESOURCE = "risk_classes.json"

_SECRETS = re.compile(r"hard[- ]?coded|plain ?text (secret|password|credential)|secrets? (in|exposed)"
                      r"|contains? (a )?secret|access keys? (in|are not)|credentials? (in|are not|is not)")
_EGRESS = re.compile(r"egress|outbound|\broute\b|routing")
_PUBLIC = re.compile(r"public|0\.0\.0\.0|::/0|\binternet\b|anonymous|unrestricted|\bworld\b|any ip"
                     r"|all ip|exposed|open to|from anywhere|external ip|not accessible from all")
_IAM = re.compile(r"\biam\b|wildcard|privilege|\badmin|\*|assume ?role|authenticat|authori[sz]|permission"
                  r"|\brbac\b|\bmfa\b|multi[- ]factor|password polic|service account|\broles?\b|principal"
                  r"|access keys?|least privilege|credentials? (rotation|expir)|\bsso\b|identity|oauth|\bacl\b")
_DATA = re.compile(r"encrypt|\bkms\b|\bcmk\b|customer[- ]managed key|\btls\b|\bssl\b|https|backup|snapshot"
                   r"|deletion protection|delete protection|versioning|retention period|point[- ]in[- ]time"
                   r"|recovery|replicat|soft delete|purge protection|key rotation|multi-az|redundan")
_LOG = re.compile(r"\blog(s|ging|ged)?\b|audit|monitor|trail|alarm|alert|tracing|x-ray|insights|flow ?log"
                  r"|diagnostic")
_CATEGORY = {
    "SECRETS": SECRETS,
    "IAM": IDENTITY_ACCESS,
    "ENCRYPTION": DATA_PROTECTION,
    "BACKUP_AND_RECOVERY": DATA_PROTECTION,
    "LOGGING": LOGGING_MONITORING,
}


@dataclass(frozen=True)
class RiskDecision:
    """A class and where it came from: ``org-rule``, ``table`` or ``name``."""

    risk_class: str
    source: str


def category_name(category: object) -> str:
    """Checkov's category as a bare upper-case name (``CheckCategories.IAM`` -> ``IAM``)."""
    return str(category or "").rsplit(".", 1)[-1].strip().upper()


def classify_name(name: str, categories: tuple[str, ...] = ()) -> tuple[str, str]:
    """``(class, "name" | "category" | "default")`` from a check's name and Checkov categories.

    First match: secrets words or the ``SECRETS`` category; world-exposure words unless the name is
    about egress/outbound traffic or routes; IAM words; encryption/backup words; logging words; then
    the category (``IAM``, ``ENCRYPTION``, ``BACKUP_AND_RECOVERY``, ``LOGGING``); else hygiene.
    """
    text = name.lower()
    cats = tuple(category_name(c) for c in categories)
    if _SECRETS.search(text):
        return SECRETS, "name"
    if "SECRETS" in cats:
        return SECRETS, "category"
    if not _EGRESS.search(text) and _PUBLIC.search(text):
        return PUBLIC_EXPOSURE, "name"
    for pattern, cls in ((_IAM, IDENTITY_ACCESS), (_DATA, DATA_PROTECTION), (_LOG, LOGGING_MONITORING)):
        if pattern.search(text):
            return cls, "name"
    for cat in cats:
        if cat in _CATEGORY:
            return _CATEGORY[cat], "category"
    return HYGIENE, "category" if cats else "default"


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, object], dict[str, str]]:
    text = resources.files("tfguard").joinpath("data").joinpath(_TABLE_RESOURCE).read_text(encoding="utf-8")
    document = json.loads(text)
    return dict(document.get("header", {})), {cid: row["class"] for cid, row in document["checks"].items()}


def table_header() -> dict[str, object]:
    """The shipped table's header: origin, Checkov version, counts per class."""
    return dict(_load()[0])


def table_class(check_id: str) -> str | None:
    """The shipped table's class of a Checkov check, or None when it is not listed."""
    return _load()[1].get(check_id.strip().upper())


def classify_check(check_id: str, check_name: str = "") -> RiskDecision:
    """The risk class of a finding's check: org rule, else the table, else its name (see module doc)."""
    cid = check_id.strip().upper()
    if cid in ORG_RULE_CLASSES:
        return RiskDecision(ORG_RULE_CLASSES[cid], "org-rule")
    listed = table_class(cid)
    if listed is not None:
        return RiskDecision(listed, "table")
    return RiskDecision(classify_name(check_name)[0], "name")


def parse_class(value: str) -> str:
    """A class name as written in configuration (``Public_Exposure`` ok); ValueError when unknown."""
    name = value.strip().lower().replace("_", "-")
    if name not in RISK_CLASSES:
        raise ValueError(f"unknown risk class {value!r} (expected one of {', '.join(RISK_CLASSES)})")
    return name


__all__ = [
    "DATA_PROTECTION", "HYGIENE", "IDENTITY_ACCESS", "LOGGING_MONITORING", "ORG_RULE_CLASSES", "PUBLIC_EXPOSURE",
    "RISK_CLASSES", "SECRETS", "URGENT_CLASSES", "RiskDecision", "category_name", "classify_check",
    "classify_name", "parse_class", "table_class", "table_header",
]
