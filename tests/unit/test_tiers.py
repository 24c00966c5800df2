"""Tier 1 (per block, in-process registries) agrees with tier 2 (Checkov's full runner) on unsaved text."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tfguard.engine import Engine
from tfguard.model import Finding

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiers"

EDITS = {
    "open-ssh-to-world": ('from_port   = 443\n    to_port     = 443',
                          'from_port   = 22\n    to_port     = 22'),
    "cidr-literal-world": ("cidr_blocks = [var.office_cidr]", 'cidr_blocks = ["0.0.0.0/0"]'),
    "no-description": ('description = "https"\n', ""),
    "instance-unencrypted": ("encrypted = true\n  }", "encrypted = false\n  }"),
    "instance-no-imdsv2": ('http_tokens = "required"', 'http_tokens = "optional"'),
    "volume-local-off": ("encrypted         = local.encrypt", "encrypted         = false"),
}


def entity_results(findings: list[Finding], resource: str) -> set[tuple[str, str, tuple[int, int], str]]:
    return {(f.check_id, f.resource, f.line_range, f.result.value) for f in findings
            if f.resource == resource and f.source == "checkov"}


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}


@pytest.fixture()
def module(tmp_path: Path) -> Path:
    dest = tmp_path / "module"
    shutil.copytree(FIXTURE, dest)
    return dest


@pytest.mark.parametrize("edit", list(EDITS), ids=list(EDITS))
def test_tier1_equals_tier2_for_the_edited_block(module: Path, edit: str) -> None:
    main = module / "main.tf"
    old, new = EDITS[edit]
    disk = main.read_text()
    assert old in disk
    unsaved = disk.replace(old, new, 1)
    before = snapshot(module)

    engine = Engine(str(module))
    engine.set_overlay(str(main), unsaved)
    tier1 = engine.analyze_file(str(main))
    tier2 = engine.analyze_module(str(module))[os.path.abspath(main)]

    resources = {f.resource for f in tier1.findings if f.source == "checkov"}
    assert resources == {"aws_security_group.web", "aws_instance.web", "aws_ebs_volume.data"}
    for resource in sorted(resources):
        one, two = entity_results(tier1.findings, resource), entity_results(tier2.findings, resource)
        assert one == two, f"{resource}: only tier 1 {sorted(one - two)}; only tier 2 {sorted(two - one)}"
    assert snapshot(module) == before, "tier 2 wrote into the user's tree"


def test_tier2_sees_unsaved_text_and_leaves_the_disk_alone(module: Path) -> None:
    main = module / "main.tf"
    disk = main.read_text()
    before = snapshot(module)
    engine = Engine(str(module))

    saved = engine.analyze_module(str(module))[str(main)]
    assert ("CKV_AWS_24", "PASSED") in {(f.check_id, f.result.value) for f in saved.findings}

    ssh_open = disk.replace(*EDITS["open-ssh-to-world"], 1).replace(*EDITS["cidr-literal-world"], 1)
    engine.set_overlay(str(main), ssh_open)
    unsaved = engine.analyze_module(str(module))[str(main)]
    assert ("CKV_AWS_24", "FAILED") in {(f.check_id, f.result.value) for f in unsaved.findings}
    assert all(f.file == str(main) for f in unsaved.findings), "findings must name the user's file, not a copy"
    assert snapshot(module) == before

    engine.drop_overlay(str(main))
    again = engine.analyze_module(str(module))[str(main)]
    assert ("CKV_AWS_24", "PASSED") in {(f.check_id, f.result.value) for f in again.findings}
