"""Build ``risk_classes.json``: one risk class for every Terraform check of the installed Checkov.

Run from the repository root (with the project's venv)::

    python server/tfguard/data/build_risk_classes.py [--output PATH] [--print-unreviewed]

Inputs, all offline: the check ids, names and categories the installed Checkov registers for
Terraform (the resource, data, provider and module registries and the graph checks), and the
reviewed list of exceptions below (:data:`EXCEPTIONS`). The classes (docs/severities.md):

``public-exposure``
    reachable from the internet: world ingress, public ACLs/policies/endpoints, public IPs.
``identity-access``
    IAM wildcards, privilege escalation, admin rights, authentication, permissions.
``secrets``
    hard-coded secrets and credentials, secrets in plain text.
``data-protection``
    encryption (at rest and in transit), backups, deletion protection, versioning, recovery.
``logging-monitoring``
    logs, audit trails, monitoring, alerting, tracing.
``hygiene``
    conventions and everything else (descriptions, tags, versions, settings).

Each check is classified by the first rule that matches (:func:`classify`):

1. an entry of :data:`EXCEPTIONS` (reviewed by hand: the name rules get these wrong);
2. its name (:func:`tfguard.risk.classify_name`, shared with the run-time fallback): hard-coded or
   plain-text secrets, or Checkov's ``SECRETS`` category -> ``secrets``; world exposure words
   (``public``, ``0.0.0.0``, ``internet``, ``anonymous``, ``unrestricted``...) unless the name is about
   egress/outbound traffic -> ``public-exposure``; IAM words (``wildcard``, ``privilege``, ``admin``,
   ``*``, ``assume role``, ``authentication``, ``permission``...) -> ``identity-access``; encryption and
   backup words -> ``data-protection``; logging words -> ``logging-monitoring``;
3. its Checkov category: ``SECRETS`` -> secrets, ``IAM`` -> identity-access, ``ENCRYPTION`` and
   ``BACKUP_AND_RECOVERY`` -> data-protection, ``LOGGING`` -> logging-monitoring, ``NETWORKING`` ->
   public-exposure only when the name speaks of reachability, otherwise hygiene; anything else ->
   hygiene.

The output is deterministic (sorted keys); a unit test rebuilds it and compares bytes. Re-run after
upgrading Checkov; ``--print-unreviewed`` lists the checks decided by category alone, to review.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tfguard.risk import RISK_CLASSES, category_name, classify_name

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "risk_classes.json"

CLASSES = RISK_CLASSES

ORIGIN = {
    "origin": "derived from the installed Checkov's Terraform check names and categories "
              "(server/tfguard/data/build_risk_classes.py) with a reviewed list of exceptions",
    "classes": list(CLASSES),
}

#: Reviewed by hand: check id -> (class, why the name/category rules are wrong for it).
EXCEPTIONS: dict[str, tuple[str, str]] = {
    "CKV_AWS_24": ("public-exposure", "SSH (22) open to 0.0.0.0/0"),
    "CKV_AWS_25": ("public-exposure", "RDP (3389) open to 0.0.0.0/0"),
    "CKV_AWS_260": ("public-exposure", "HTTP (80) open to 0.0.0.0/0"),
    "CKV_AWS_277": ("public-exposure", "all ports open to 0.0.0.0/0"),
    "CKV2_AWS_12": ("public-exposure", "default security group must restrict all traffic"),
    "CKV_AWS_88": ("public-exposure", "EC2 instance with a public IP"),
    "CKV_AWS_130": ("public-exposure", "subnets assigning public IPs by default"),
    "CKV_AWS_1": ("identity-access", "IAM policy document allowing '*:*' (admin)"),
    "CKV_AWS_62": ("identity-access", "IAM policy allowing full administrative privileges"),
    "CKV_AWS_63": ("identity-access", "IAM policy allowing '*' actions"),
    "CKV_AWS_41": ("secrets", "hard-coded AWS access key in the provider block"),
    "CKV_AWS_46": ("secrets", "secrets in EC2 user data"),
    "CKV_AWS_45": ("secrets", "secrets in Lambda environment variables"),
    "CKV_AZURE_41": ("data-protection", "Key Vault secret expiration date (lifecycle, not a leak)"),
    "CKV_AWS_149": ("data-protection", "Secrets Manager secret encrypted with a CMK"),
    "CKV_AWS_57": ("public-exposure", "S3 bucket ACL allows public WRITE"),
    "CKV_AWS_20": ("public-exposure", "S3 bucket ACL allows public READ"),
    "CKV_AWS_21": ("data-protection", "S3 versioning (recovery from deletion/overwrite)"),
    "CKV_AWS_144": ("data-protection", "S3 cross-region replication (recovery)"),
    "CKV_AWS_18": ("logging-monitoring", "S3 access logging"),
    "CKV_AWS_23": ("hygiene", "security group rule descriptions"),
    "CKV_AWS_79": ("identity-access", "EC2 metadata service v1 (instance credentials stolen through IMDS)"),
    "CKV_AWS_258": ("public-exposure", "Lambda function URL without authentication"),
    "CKV_AWS_222": ("hygiene", "DMS minor version upgrades (not replication)"),
    "CKV_AWS_126": ("logging-monitoring", "EC2 detailed monitoring"),
    "CKV_AWS_135": ("hygiene", "EC2 EBS optimisation"),
    "CKV_AWS_8": ("data-protection", "launch configuration EBS encryption"),
    "CKV2_AWS_41": ("identity-access", "EC2 instance without an IAM role"),
    "CKV_AWS_273": ("identity-access", "SSO instead of IAM users"),
    "CKV_AWS_388": ("hygiene", "Aurora PostgreSQL version with a local file read flaw (patching)"),
    "CKV_AWS_394": ("hygiene", "availability zones data source pinning (not identity)"),
    "CKV2_AWS_71": ("hygiene", "wildcard certificate names (not an IAM wildcard)"),
}

def _category_name(category: Any) -> str:
    return category_name(category)


def classify(check_id: str, name: str, categories: tuple[str, ...]) -> tuple[str, str]:
    """``(class, reason)`` of one check: exception, else :func:`tfguard.risk.classify_name`."""
    if check_id in EXCEPTIONS:
        cls, why = EXCEPTIONS[check_id]
        return cls, f"reviewed: {why}"
    return classify_name(name, categories)


def terraform_checks() -> dict[str, tuple[str, tuple[str, ...]]]:
    """``{check_id: (name, categories)}`` for every Terraform check of the installed Checkov."""
    import checkov.terraform.checks.data  # noqa: F401  (importing registers the checks)
    import checkov.terraform.checks.module  # noqa: F401
    import checkov.terraform.checks.provider  # noqa: F401
    import checkov.terraform.checks.resource  # noqa: F401
    from checkov.common.checks_infra.registry import get_graph_checks_registry
    from checkov.terraform.checks.data.registry import data_registry
    from checkov.terraform.checks.module.registry import module_registry
    from checkov.terraform.checks.provider.registry import provider_registry
    from checkov.terraform.checks.resource.registry import resource_registry

    checks: dict[str, tuple[str, tuple[str, ...]]] = {}
    for registry in (resource_registry, data_registry, provider_registry, module_registry):
        for check in registry.get_all_registered_checks():
            cats = tuple(sorted(_category_name(c) for c in check.categories))
            checks.setdefault(check.id, (check.name, cats))
    graph = get_graph_checks_registry("terraform")
    graph.load_checks()
    for graph_check in graph.checks:
        checks.setdefault(graph_check.id, (graph_check.name, (_category_name(graph_check.category),)))
    return checks


def build(checks: dict[str, tuple[str, tuple[str, ...]]], checkov_version: str) -> dict[str, Any]:
    """The table document: header (origin, counts) and ``checks: {id: {class, by}}``."""
    entries: dict[str, dict[str, str]] = {}
    for cid in sorted(checks):
        name, cats = checks[cid]
        cls, by = classify(cid, name, cats)
        entries[cid] = {"class": cls, "by": by}
    counts = {c: sum(1 for e in entries.values() if e["class"] == c) for c in CLASSES}
    by_counts = {b: sum(1 for e in entries.values() if e["by"].split(":")[0] == b)
                 for b in ("reviewed", "name", "category", "default")}
    missing = sorted(set(EXCEPTIONS) - set(checks))
    return {
        "header": {**ORIGIN, "checkov_version": checkov_version, "terraform_checks": len(checks),
                   "counts": counts, "decided_by": by_counts, "exceptions_not_registered": missing},
        "checks": entries,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--print-unreviewed", action="store_true",
                        help="list the checks classified by their category alone")
    args = parser.parse_args(argv)
    from checkov.version import version as checkov_version

    checks = terraform_checks()
    document = build(checks, checkov_version)
    if args.print_unreviewed:
        for cid, entry in document["checks"].items():
            if entry["by"] != "name" and not entry["by"].startswith("reviewed"):
                print(f"{cid}\t{entry['class']}\t{checks[cid][1]}\t{checks[cid][0]}")
    args.output.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.output}: {document['header']['counts']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
