"""Build ``severities.json``: vendor-published severities for the installed Checkov's Terraform checks.

Run from the repository root (with the project's venv)::

    python server/tfguard/data/build_severities.py [--source PATH] [--output PATH]

Input: ``checkov-policy-metadata.json`` (one record per Checkov policy id, every framework), the
severities, titles and page paths that Palo Alto Networks publishes in its Prisma Cloud policy
reference, as extracted by the community project webmutation/checkov-oss-severity-mappings
(commit 2c9f76b, January 2026).

Output: one entry per check id that the installed Checkov registers for Terraform (resource, data,
provider and module registries, plus the Terraform graph checks), with ``severity``, ``title``,
``category`` and ``guideline`` (``https://docs.prismacloud.io/`` + the page path without ``docs/``
and ``.adoc``). Ids outside Terraform (Kubernetes manifests, Dockerfiles, SAST, secrets...) are
dropped.

A few ids appear more than once in the source, sometimes with different severities. For those the
severity is the highest one listed (the conservative choice) and the title, category and guideline
come from the record whose title and page name best match Checkov's own check name (the duplicates
are mostly a page filed under two sections, or a page attached to the wrong id).

The output is deterministic: same source and same Checkov give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DEFAULT_SOURCE = Path("/work/shared/data/checkov-policy-metadata.json")
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "severities.json"
GUIDELINE_BASE = "https://docs.prismacloud.io/"

ORIGIN = {
    "origin": "Prisma Cloud policy reference (Palo Alto Networks), https://docs.prismacloud.io/",
    "extracted_by": "https://github.com/webmutation/checkov-oss-severity-mappings",
    "commit": "2c9f76b",
    "date": "2026-01",
}

_RANK = {"CRITICAL": 4, "HIGH": 3, "MEDIUM": 2, "LOW": 1, "INFO": 0}
_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"ensure", "the", "is", "are", "a", "an", "and", "or", "of", "to", "for", "in", "on", "not", "does"}


def terraform_checks() -> dict[str, str]:
    """Return ``{check_id: check_name}`` for every Terraform check registered in the installed Checkov."""
    import checkov.terraform.checks.data  # noqa: F401  (importing registers the checks)
    import checkov.terraform.checks.module  # noqa: F401
    import checkov.terraform.checks.provider  # noqa: F401
    import checkov.terraform.checks.resource  # noqa: F401
    from checkov.common.checks_infra.registry import get_graph_checks_registry
    from checkov.terraform.checks.data.registry import data_registry
    from checkov.terraform.checks.module.registry import module_registry
    from checkov.terraform.checks.provider.registry import provider_registry
    from checkov.terraform.checks.resource.registry import resource_registry

    checks: dict[str, str] = {}
    for registry in (resource_registry, data_registry, provider_registry, module_registry):
        for check in registry.get_all_registered_checks():
            checks.setdefault(check.id, check.name)
    graph = get_graph_checks_registry("terraform")
    graph.load_checks()
    for graph_check in graph.checks:
        checks.setdefault(graph_check.id, graph_check.name)
    return checks


def guideline_url(source_file: str) -> str:
    """Published page of a policy: ``docs/en/.../page.adoc`` -> ``https://docs.prismacloud.io/en/.../page``."""
    path = source_file.removeprefix("docs/").removesuffix(".adoc")
    return GUIDELINE_BASE + path


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _match_score(record: dict[str, Any], check_name: str) -> float:
    wanted = _words(check_name)
    if not wanted:
        return 0.0
    page = Path(record.get("source_file") or "").stem.replace("-", " ")
    have = _words(f"{record.get('title') or ''} {page}")
    return len(wanted & have) / len(wanted | have)


def choose(records: list[dict[str, Any]], check_name: str) -> dict[str, Any]:
    """Merge the source records of one id into one table entry (see the module docstring)."""
    best = max(records, key=lambda r: (_match_score(r, check_name), _RANK[r["severity"]]))
    severity = max((r["severity"] for r in records), key=lambda s: _RANK[s])
    return {
        "severity": severity,
        "title": best["title"],
        "category": best["category"],
        "guideline": guideline_url(best["source_file"]),
    }


def build(source: Iterable[dict[str, Any]], checks: dict[str, str], checkov_version: str) -> dict[str, Any]:
    """Build the table document from the source records and the installed checks."""
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in source:
        if record.get("severity") in _RANK and record.get("source_file"):
            by_id[record["checkov_id"]].append(record)
    entries = {cid: choose(by_id[cid], checks[cid]) for cid in sorted(checks) if cid in by_id}
    conflicts = sorted(
        cid for cid in entries if len({r["severity"] for r in by_id[cid]}) > 1
    )
    return {
        "header": {
            **ORIGIN,
            "checkov_version": checkov_version,
            "terraform_checks": len(checks),
            "entries": len(entries),
            "coverage": round(len(entries) / len(checks), 4) if checks else 0.0,
            "severity_conflicts_resolved_to_highest": conflicts,
        },
        "checks": entries,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    from checkov.version import version as checkov_version

    source = json.loads(args.source.read_text(encoding="utf-8"))
    document = build(source, terraform_checks(), checkov_version)
    text = json.dumps(document, indent=1, sort_keys=False, ensure_ascii=False) + "\n"
    args.output.write_text(text, encoding="utf-8")
    header = document["header"]
    print(
        f"wrote {args.output}: {header['entries']} of {header['terraform_checks']} Terraform checks "
        f"({header['coverage']:.1%}), checkov {checkov_version}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
