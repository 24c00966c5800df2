"""Org rules on plans (tfguard.rules.plan), on pairs derived from the corpus plan
``plans/plan_with_tf_modules_for_enrichment``: ``provider "aws"`` in the root module (``providers.tf``), a
local module ``./log_group`` declaring an untagged ``aws_cloudwatch_log_group``, and a registry module
call ``terraform-aws-modules/cloudwatch/aws//modules/log-group`` (``version = "~> 2.0"`` in the plan's
configuration).

Derivation for the ``default_tags`` case: the test adds ``default_tags { tags = { owner = "platform" } }``
to the root provider, both in ``providers.tf`` and in the plan (the provider configuration's expressions,
and ``tags_all`` of every planned resource, as Terraform plans it). The tag is then present on the plan
and missing on the source: the source rule reads one module directory, and ``./log_group`` has no
provider block of its own (its provider, with its ``default_tags``, comes from the caller).
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tfguard.cli import main

CASE = "plan_with_tf_modules_for_enrichment"
LOCAL = "module.log_group_local.aws_cloudwatch_log_group.not_encrypted"


@pytest.fixture()
def repo(corpora: Path, tmp_path: Path) -> Path:
    case = corpora / "plans" / CASE
    if not case.is_dir():
        pytest.skip(f"plan corpus case not found at {case}")
    repo = tmp_path / "repo"
    shutil.copytree(case, repo)
    (repo / ".git").mkdir()
    (repo / ".tfguard.yaml").write_text("version: 1\ncatalogue: approved-modules.yaml\n"
                                        "required_tags:\n  all: [owner]\n")
    (repo / "approved-modules.yaml").write_text(
        "version: 1\nmodules:\n  - name: network\n    source: git::https://git.acme.internal/platform/network.git\n")
    return repo


def _with_default_tags(repo: Path) -> Path:
    providers = repo / "providers.tf"
    default_tags = '\n  default_tags {\n    tags = { owner = "platform" }\n  }'
    providers.write_text(providers.read_text().replace('region  = "eu-central-1"',
                                                       'region  = "eu-central-1"' + default_tags))
    doc: dict[str, Any] = json.loads((repo / "tfplan.json").read_text())
    doc = copy.deepcopy(doc)
    doc["configuration"]["provider_config"]["aws"]["expressions"]["default_tags"] = [
        {"tags": {"constant_value": {"owner": "platform"}}}]
    for child in doc["planned_values"]["root_module"]["child_modules"]:
        for r in child["resources"]:
            r["values"]["tags_all"] = {"owner": "platform"}
    for rc in doc["resource_changes"]:
        rc["change"]["after"]["tags_all"] = {"owner": "platform"}
        rc["change"]["after_unknown"].pop("tags_all", None)
    out = repo / "tagged.json"
    out.write_text(json.dumps(doc))
    return out


def _scan(paths: list[Path], out: Path) -> list[dict[str, Any]]:
    main(["scan", "--no-daemon", *map(str, paths), "--format", "json", "-o", str(out)])
    return [f for f in json.loads(out.read_text())["findings"] if f["source"] == "org"]


def test_a_tag_from_provider_default_tags_passes_on_the_plan_and_fails_on_the_source(repo: Path,
                                                                                     tmp_path: Path) -> None:
    plan = _with_default_tags(repo)
    on_plan = _scan([plan], tmp_path / "plan.json")
    assert not [f for f in on_plan if f["check_id"] == "TFG_TAG_1"]
    on_source = _scan([repo], tmp_path / "src.json")
    tag = [f for f in on_source if f["check_id"] == "TFG_TAG_1"]
    assert [f["file_abs_path"] for f in tag] == [str(repo / "log_group" / "main.tf")]


def test_a_missing_tag_on_the_plan_is_reported_on_the_resource_block(repo: Path, tmp_path: Path) -> None:
    found = _scan([repo / "tfplan.json"], tmp_path / "r.json")
    tags = {f["resource"]: f for f in found if f["check_id"] == "TFG_TAG_1"}
    assert LOCAL in tags and "owner" in tags[LOCAL]["message"]
    assert tags[LOCAL]["file_abs_path"] == str(repo / "log_group" / "main.tf")
    assert tags[LOCAL]["line_range"][0] == 1 and tags[LOCAL]["plan_file"]
    # a skip comment in that block skips the plan's finding too
    main_tf = repo / "log_group" / "main.tf"
    main_tf.write_text(main_tf.read_text().replace("{\n", "{\n  # checkov:skip=TFG_TAG_1: owned by the caller\n", 1))
    found = _scan([repo / "tfplan.json"], tmp_path / "r2.json")
    (skipped,) = [f for f in found if f["check_id"] == "TFG_TAG_1" and f["resource"] == LOCAL]
    assert skipped["result"] == "SKIPPED" and "owned by the caller" in skipped["suppress_comment"]


def test_module_sources_and_provider_versions_from_the_plan_configuration(repo: Path, tmp_path: Path) -> None:
    found = _scan([repo / "tfplan.json"], tmp_path / "r.json")
    by_id: dict[str, list[dict[str, Any]]] = {}
    for f in found:
        by_id.setdefault(f["check_id"], []).append(f)
    (mod,) = by_id["TFG_MOD_1"]  # the registry module; the local ./log_group is always allowed
    assert mod["resource"] == "module.log_group_external"
    assert mod["file_abs_path"] == str(repo / "main.tf") and "cloudwatch" in mod["message"]
    assert "TFG_MOD_2" not in by_id  # version_constraint "~> 2.0" pins it
    (prov,) = by_id["TFG_PROV_1"]  # root aws has no constraint; the module's aws has ">= 2.55.0"
    assert prov["resource"] == "aws" and prov["file_abs_path"] == str(repo / "providers.tf")


def test_org_rule_messages_on_plans_never_carry_plan_values(repo: Path, tmp_path: Path) -> None:
    plan = _with_default_tags(repo)
    doc = json.loads(plan.read_text())
    doc["planned_values"]["root_module"]["child_modules"][0]["resources"][0]["values"]["tags_all"] = {
        "cost-center": "s3cr3t-value-42"}
    plan.write_text(json.dumps(doc))
    (repo / ".tfguard.yaml").write_text("version: 1\nrequired_tags:\n  all: [owner, cost-center]\n")
    out = tmp_path / "r.json"
    main(["scan", "--no-daemon", str(plan), "--format", "json", "-o", str(out)])
    text = out.read_text()
    assert "TFG_TAG_1" in text and "s3cr3t-value-42" not in text
