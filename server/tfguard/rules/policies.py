"""Metadata of Checkov YAML custom policies (``metadata.id/name/severity/guideline``) in policy dirs.

Checkov's own parser (``checkov.common.checks_infra.checks_parser.GraphCheckParser.parse_raw_check``)
sets ``check.severity`` from the same ``metadata.severity`` field; reading the files here keeps this
layer free of Checkov and works before the registry has loaded them.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

import yaml

from tfguard.files import FileRefused, repository_root
from tfguard.model import Severity
from tfguard.safeyaml import read_config_text, safe_load, yaml_error_message

log = logging.getLogger(__name__)
_SEVERITY_ALIASES = {"MODERATE": "MEDIUM", "IMPORTANT": "HIGH"}


@dataclass(frozen=True)
class PolicyMeta:
    check_id: str
    name: str
    severity: Severity | None
    guideline: str | None
    path: str


def read_policy_metadata(dirs: tuple[str, ...]) -> dict[str, PolicyMeta]:
    """Policy id -> metadata for every YAML/JSON policy under ``dirs`` (unreadable files are skipped).

    Files are read as configuration is (:func:`tfguard.safeyaml.read_config_text`): a symlink out of the
    folder's repository, a FIFO, a device or a file over 1 MiB is skipped, and YAML has the alias budget.
    """
    out: dict[str, PolicyMeta] = {}
    for d in dirs:
        for root, dirnames, files in os.walk(d):
            dirnames.sort()
            for name in sorted(files):
                if not name.endswith((".yaml", ".yml", ".json")):
                    continue
                path = os.path.join(root, name)
                try:  # a regular file inside the folder's repository, 1 MiB at most; YAML with the budget
                    text = read_config_text(path, repository_root(d))
                    doc = json.loads(text) if name.endswith(".json") else safe_load(text)
                except FileRefused as e:
                    log.warning("policy %s: %s", path, e.message)
                    continue
                except yaml.YAMLError as e:
                    log.warning("cannot read policy %s: invalid YAML: %s", path, yaml_error_message(e))
                    continue
                except (ValueError, RecursionError):
                    log.warning("cannot read policy %s: invalid JSON", path)
                    continue
                meta = doc.get("metadata") if isinstance(doc, dict) else None
                if not isinstance(meta, dict) or not meta.get("id"):
                    continue
                sev_name = str(meta.get("severity") or "").strip().upper()
                sev_name = _SEVERITY_ALIASES.get(sev_name, sev_name)
                try:
                    severity: Severity | None = Severity.parse(sev_name) if sev_name else None
                except ValueError:
                    log.warning("policy %s: unknown severity %r", path, meta.get("severity"))
                    severity = None
                cid = str(meta["id"])
                guideline = str(meta["guideline"]) if meta.get("guideline") else None
                out.setdefault(cid, PolicyMeta(cid, str(meta.get("name") or ""), severity, guideline, path))
    return out
