"""Offline severities and guideline links for Checkov's Terraform checks.

Open-source Checkov reports no severity and, offline, no guideline link. tfguard ships its own table,
``tfguard/data/severities.json``, built by ``tfguard/data/build_severities.py`` from the severities
the vendor publishes in its Prisma Cloud policy reference (extracted by the community project
webmutation/checkov-oss-severity-mappings, commit 2c9f76b, January 2026). See docs/severities.md.

Lookup order of :func:`severity_for`:

1. **Table**: the check id is listed -> the vendor's severity.
2. **Fallback** for ids the table does not list (new Checkov checks, custom policies), first rule
   that matches wins. The rules read the check id, the check name (when given), Checkov's category
   and the resource type, all lower-cased:

   a. *Public exposure / privilege* -> HIGH: ``public``, ``0.0.0.0``, ``::/0``, ``unrestricted``,
      ``internet``, ``anonymous``, IAM ``wildcard`` / ``*`` actions or principals, ``admin``
      privileges, hard-coded ``secret`` / ``password`` / ``credential``; also the ``SECRETS``
      category and ids of the ``CKV_SECRET`` family. Names about ``outbound`` / ``egress``
      traffic or routes skip this rule (open egress and default routes are normal).
   b. *Encryption / transport* -> MEDIUM: ``encrypt``, ``kms``, ``cmk``, ``customer managed key``,
      ``tls``, ``ssl``, ``https``; also the ``ENCRYPTION`` category.
   c. *Logging / monitoring / hygiene* -> LOW: ``log``, ``audit``, ``monitor``, ``trail``,
      ``tag``, ``backup``, ``retention``, ``versioning``, ``deletion protection``, ``description``,
      ``naming``; also the ``LOGGING``, ``BACKUP_AND_RECOVERY`` and ``CONVENTION`` categories.
   d. *Resource kind*: security groups, firewalls, network ACLs and IAM policies -> MEDIUM, as does
      every other check: the **default is MEDIUM**.

:func:`guideline_for` returns the table's link to the vendor's published page; for a Checkov id
(``CKV_`` / ``CKV2_`` ...) the table does not list it returns Checkov's policy index for Terraform
(:data:`CHECKOV_POLICY_INDEX`, there is no offline per-check page); for any other id, ``None``.

No LSP or Checkov import here: this module is pure and cheap to import. The table is read once,
lazily, through :mod:`importlib.resources`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from tfguard.model import Severity

CHECKOV_POLICY_INDEX = "https://www.checkov.io/5.Policy%20Index/terraform.html"
_TABLE_RESOURCE = "severities.json"

_CHECKOV_ID = re.compile(r"^CKV\d*_[A-Z0-9]+_\d+$")

# Fallback keyword rules, in order; the first whose pattern is found in the text wins.
_HIGH = re.compile(
    r"public|0\.0\.0\.0|::/0|unrestricted|internet|anonymous|wildcard|\*|admin(istrative)?\s+priv"
    r"|full\s+admin|hard[- ]?coded|secret|password|credential"
)
_MEDIUM = re.compile(r"encrypt|\bkms\b|\bcmk\b|customer[- ]managed\s+key|\btls\b|\bssl\b|https")
_LOW = re.compile(
    r"\blog(s|ging|ged)?\b|audit|monitor|trail|\btags?\b|tagged|backup|retention|versioning"
    r"|deletion\s+protection|description|naming"
)
_CATEGORY_SEVERITY = {
    "SECRETS": Severity.HIGH,
    "ENCRYPTION": Severity.MEDIUM,
    "LOGGING": Severity.LOW,
    "BACKUP_AND_RECOVERY": Severity.LOW,
    "CONVENTION": Severity.LOW,
}
# Open *outbound* traffic and default routes are normal; they do not make a check HIGH.
_NOT_EXPOSURE = re.compile(r"outbound|egress|\broute\b|routing")
_RESOURCE_KINDS = re.compile(r"security_group|firewall|network_acl|network_security|iam_|_iam")


@dataclass(frozen=True)
class TableEntry:
    """One row of the shipped table."""

    check_id: str
    severity: Severity
    title: str
    category: str
    guideline: str


@dataclass(frozen=True)
class SeverityDecision:
    """A severity and where it came from: ``source`` is ``table`` or ``fallback``."""

    severity: Severity
    source: str
    reason: str


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Any], dict[str, TableEntry]]:
    text = resources.files("tfguard").joinpath("data").joinpath(_TABLE_RESOURCE).read_text(encoding="utf-8")
    document = json.loads(text)
    entries = {
        check_id: TableEntry(
            check_id=check_id,
            severity=Severity.parse(row["severity"]),
            title=row.get("title", ""),
            category=row.get("category", ""),
            guideline=row.get("guideline", ""),
        )
        for check_id, row in document.get("checks", {}).items()
    }
    return dict(document.get("header", {})), entries


def table_header() -> dict[str, Any]:
    """Return the table's header: origin, commit, date, Checkov version, coverage."""
    return dict(_load()[0])


def table_entry(check_id: str) -> TableEntry | None:
    """Return the table row of a check id, or None when the table does not list it."""
    return _load()[1].get(check_id.strip().upper())


def known_check_ids() -> frozenset[str]:
    """Return every check id the table lists."""
    return frozenset(_load()[1])


def _category_name(category: str | None) -> str:
    if not category:
        return ""
    # Accept "ENCRYPTION", "CheckCategories.ENCRYPTION", "encryption", "backup and recovery".
    name = category.rsplit(".", 1)[-1]
    return re.sub(r"[\s-]+", "_", name.strip()).upper()


def fallback_severity(
    check_id: str,
    resource_type: str | None = None,
    category: str | None = None,
    check_name: str | None = None,
) -> SeverityDecision:
    """Apply the fallback rules of the module docstring, ignoring the table."""
    text = " ".join(part for part in (check_name, resource_type) if part).lower()
    cat = _category_name(category)
    cid = check_id.strip().upper()

    match = None if _NOT_EXPOSURE.search(text) else _HIGH.search(text)
    if match or cat == "SECRETS" or cid.startswith("CKV_SECRET"):
        why = f"mentions {match.group(0)!r}" if match else "secrets check"
        return SeverityDecision(Severity.HIGH, "fallback", f"public exposure, privilege or secret ({why})")
    match = _MEDIUM.search(text)
    if match:
        return SeverityDecision(Severity.MEDIUM, "fallback", f"encryption ({match.group(0)!r})")
    match = _LOW.search(text)
    if match:
        return SeverityDecision(Severity.LOW, "fallback", f"logging or hygiene ({match.group(0).strip()!r})")
    if cat in _CATEGORY_SEVERITY:
        return SeverityDecision(_CATEGORY_SEVERITY[cat], "fallback", f"category {cat}")
    if resource_type and _RESOURCE_KINDS.search(resource_type.lower()):
        return SeverityDecision(Severity.MEDIUM, "fallback", f"resource kind {resource_type}")
    return SeverityDecision(Severity.MEDIUM, "fallback", "default")


def decide_severity(
    check_id: str,
    resource_type: str | None = None,
    category: str | None = None,
    check_name: str | None = None,
) -> SeverityDecision:
    """Like :func:`severity_for`, and say where the severity came from."""
    entry = table_entry(check_id)
    if entry is not None:
        return SeverityDecision(entry.severity, "table", "vendor-published severity")
    return fallback_severity(check_id, resource_type, category, check_name)


def severity_for(
    check_id: str,
    resource_type: str | None = None,
    category: str | None = None,
    check_name: str | None = None,
) -> Severity:
    """Return the severity of a check: the table's, else the documented fallback (default MEDIUM).

    ``category`` is Checkov's category (``ENCRYPTION``, ``CheckCategories.NETWORKING``...);
    ``check_name`` is the check's human-readable name, which the fallback reads for keywords.
    """
    return decide_severity(check_id, resource_type, category, check_name).severity


def guideline_for(check_id: str) -> str | None:
    """Return a link explaining the check: the vendor's page, else Checkov's policy index, else None."""
    entry = table_entry(check_id)
    if entry is not None and entry.guideline:
        return entry.guideline
    if _CHECKOV_ID.match(check_id.strip().upper()):
        return CHECKOV_POLICY_INDEX
    return None
