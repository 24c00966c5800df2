"""What a scan was given: inputs tfguard scans, and the ones it must refuse rather than pass.

A path on the command line that tfguard cannot scan is an error (exit 2), never a silent "0 failed":
a ``terraform show -json`` plan, a README, a binary. Plans are recognised by content (UTF-8, UTF-8 with
a BOM, UTF-16 as Terraform writes them on Windows), not only by name.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterable

from tfguard.files import SKIP_DIRS, FileRefused, read_head

SCANNABLE_SUFFIXES = (".tf", ".tf.json", ".tofu", ".tofu.json", ".tfvars", ".tfvars.json")
_PLAN_PROBE_BYTES = 4096


def _decode_head(data: bytes) -> str:
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="ignore")
    if len(data) > 1 and data[1:2] == b"\x00":  # UTF-16 LE without a BOM
        return data.decode("utf-16-le", errors="ignore")
    return data.decode("utf-8", errors="ignore")


def is_plan_file(path: str) -> bool:
    """True for a ``terraform show -json`` plan (its first kilobytes name ``format_version`` and plan keys),
    whatever its name (``tfplan.json``, ``plan.out``) except Terraform's and OpenTofu's own suffixes."""
    if path.endswith(SCANNABLE_SUFFIXES) or path.endswith(".hcl"):
        return False
    try:  # files.read_head: a FIFO or device named *.json neither hangs nor is read
        head = _decode_head(read_head(path, _PLAN_PROBE_BYTES)).lstrip()
    except FileRefused:
        return False
    if not head.startswith("{") or '"format_version"' not in head:
        return False
    if any(k in head for k in ('"planned_values"', '"resource_changes"', '"terraform_version"')):
        return True
    try:  # a short plan: the whole text
        doc = json.loads(_decode_head(read_head(path, _PLAN_PROBE_BYTES * 256)))
    except (FileRefused, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and ("planned_values" in doc or "resource_changes" in doc)


def refusal(path: str) -> str | None:
    """Why the file ``path`` given on the command line cannot be scanned; None when it can."""
    if is_plan_file(path):  # scanned by Checkov's plan runner (tfguard.scan.plan)
        return None
    if not path.endswith(SCANNABLE_SUFFIXES):
        try:
            with open(path, "rb") as f:
                binary_plan = f.read(4) == b"PK\x03\x04"  # `terraform plan -out` writes a zip archive
        except OSError:
            binary_plan = False
        if binary_plan:
            return ("looks like a binary Terraform plan (terraform plan -out): scan its JSON instead, made with"
                    " `terraform show -json PLAN > PLAN.json`")
        return f"is not a Terraform file ({', '.join(SCANNABLE_SUFFIXES)})"
    return None


def plan_refusal(path: str) -> str | None:
    """Why the Terraform plan ``path`` cannot be scanned (one line, no plan value); None when it can or is
    not a plan."""
    if not is_plan_file(path):
        return None
    from tfguard.checks.plan import PlanReadError, read_plan  # no Checkov import: read_plan is plain JSON

    try:
        read_plan(path)
    except PlanReadError as e:
        return f"is a Terraform plan (terraform show -json) that {e}"
    return None


def plan_files_under(folder: str) -> Iterable[str]:
    """Plan JSON files under ``folder`` (to say why a folder without Terraform had nothing to scan)."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".json") and is_plan_file(os.path.join(dirpath, name)):
                yield os.path.join(dirpath, name)
