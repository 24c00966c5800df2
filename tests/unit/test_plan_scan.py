"""``tfguard scan PLAN.json``: findings on source lines, and the source scan's machinery on them.

Checkov's enrichment (``plans/*_for_enrichment``) places each failed/skipped plan record on its ``.tf``
block; tfguard then shows it on the evaluated attribute of that block, and severity, context priority
(production paths), ``.tfguard.yaml`` checks, baselines, ``--fail-on`` and SARIF work as for a source
scan. The exact records (ids, addresses, files, lines) are proven equal to ``checkov -f`` in
tests/parity/test_plan_parity.py; here the behaviour around them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tfguard.cli import main


def _case(corpora: Path, name: str) -> Path:
    case = corpora / "plans" / name
    if not case.is_dir():
        pytest.skip(f"plan corpus case not found at {case}")
    return case


def _repo(tmp_path: Path, case: Path, sub: str = "infra") -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)  # the git work tree: the default repository root
    shutil.copytree(case, repo / sub)
    return repo


def _scan(args: list[str], out: Path) -> tuple[int, dict[str, Any]]:
    code = main(["scan", "--no-daemon", *args, "-o", str(out)])
    return code, json.loads(out.read_text()) if out.suffix in (".json", ".sarif") else {}


def test_plan_findings_land_on_the_source_block_and_attribute(corpora: Path, tmp_path: Path) -> None:
    repo = _repo(tmp_path, _case(corpora, "plan_with_hcl_for_enrichment"))
    code, rep = _scan([str(repo / "infra" / "tfplan.json"), "--format", "json"], tmp_path / "r.json")
    assert code == 1  # default repository root: the git work tree above the plan
    by = {(f["check_id"], f["resource"]): f for f in rep["findings"]}
    skipped = by[("CKV_AWS_20", "aws_s3_bucket.test-bucket1")]  # `# checkov:skip=CKV_AWS_20` in the block
    assert skipped["result"] == "SKIPPED" and "public static content" in skipped["suppress_comment"]
    assert skipped["file_abs_path"] == str(repo / "infra" / "s3.tf")
    assert skipped["plan_file"].endswith("tfplan.json")
    failed = [f for f in rep["findings"] if f["result"] == "FAILED" and f["source"] != "org"]
    assert failed and all(f["file"].endswith(".tf") and f["line_range"][0] == 1 for f in failed)
    s3 = (repo / "infra" / "s3.tf").read_text().splitlines()
    acl = by[("CKV_AWS_20", "aws_s3_bucket.test-bucket1")]["range"]["start"]["line"]
    assert "acl" in s3[acl - 1] or s3[acl - 1].startswith("resource")


def test_unmapped_findings_stay_on_the_plan_lines(corpora: Path, tmp_path: Path) -> None:
    case = _case(corpora, "plan_with_hcl_for_enrichment")
    empty = tmp_path / "empty"
    empty.mkdir()
    _, rep = _scan([str(case / "tfplan.json"), "--format", "json", "--repo-root", str(empty)], tmp_path / "r.json")
    assert rep["findings"] and all(f["file_abs_path"] == str(case / "tfplan.json") for f in rep["findings"])
    assert all(f["line_range"][0] > 0 for f in rep["findings"])


def test_production_paths_config_baseline_and_fail_on_work_on_plans(corpora: Path, tmp_path: Path) -> None:
    case = _case(corpora, "plan_with_hcl_for_enrichment")
    dev = _repo(tmp_path / "a", case, "dev")
    prod = _repo(tmp_path / "b", case, "prod")
    _, rep_dev = _scan([str(dev / "dev" / "tfplan.json"), "--format", "json"], tmp_path / "dev.json")
    _, rep_prod = _scan([str(prod / "prod" / "tfplan.json"), "--format", "json"], tmp_path / "prod.json")
    sev = {(f["check_id"], f["resource"]): f["priority"] for f in rep_dev["findings"] if f["result"] == "FAILED"}
    for f in rep_prod["findings"]:
        if f["result"] == "FAILED":
            assert f["priority"] > sev[(f["check_id"], f["resource"])]
            assert any("production path" in c for c in f["context"])
    # .tfguard.yaml at the repository root disables a check for the plan's findings too
    one = next(iter(sev))[0]
    (prod / ".tfguard.yaml").write_text(f"version: 1\nchecks:\n  disable: [{one}]\n")
    _, rep = _scan([str(prod / "prod" / "tfplan.json"), "--format", "json"], tmp_path / "cfg.json")
    assert one not in {f["check_id"] for f in rep["findings"]}
    # a baseline of the plan's findings: the same plan passes the gate against it
    base = tmp_path / "baseline.json"
    assert main(["scan", "--no-daemon", str(prod / "prod" / "tfplan.json"), "--create-baseline", str(base),
                 "-o", str(tmp_path / "x.txt")]) == 1
    assert main(["scan", "--no-daemon", str(prod / "prod" / "tfplan.json"), "--baseline", str(base),
                 "-o", str(tmp_path / "y.txt")]) == 0
    assert main(["scan", "--no-daemon", str(prod / "prod" / "tfplan.json"), "--fail-on", "CRITICAL",
                 "-o", str(tmp_path / "z.txt")]) == (1 if any(f["severity"] == "CRITICAL" for f in rep["findings"]
                                                             if f["result"] == "FAILED") else 0)


def test_sarif_annotations_of_a_plan_point_at_the_tf_source(corpora: Path, tmp_path: Path) -> None:
    repo = _repo(tmp_path, _case(corpora, "plan_with_hcl_for_enrichment"))
    out = tmp_path / "r.sarif"
    assert main(["scan", "--no-daemon", str(repo / "infra" / "tfplan.json"), "--format", "sarif", "-o",
                 str(out)]) == 1
    results = json.loads(out.read_text())["runs"][0]["results"]
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in results for loc in r["locations"]
            if not r["ruleId"].startswith("TFG_")}  # org rules on providers without a provider block: the plan
    assert uris and all(u.endswith(".tf") for u in uris), uris


def test_the_three_encodings_terraform_writes_give_the_same_findings(corpora: Path, tmp_path: Path) -> None:
    """The three plans are of one bucket (named differently): the same checks fail on it in each encoding."""
    case = _case(corpora, "plan_encodings")
    got = {}
    for name in ("tfplan_mac_utf8.json", "tfplan_win_utf8.json", "tfplan_win_utf16.json"):
        _, rep = _scan([str(case / name), "--format", "json", "--repo-root", str(tmp_path)], tmp_path / f"{name}.json")
        got[name] = {(f["check_id"], f["resource"].split(".")[0], f["result"]) for f in rep["findings"]}
    assert got["tfplan_mac_utf8.json"] and len({frozenset(v) for v in got.values()}) == 1


def test_plans_among_other_paths(corpora: Path, tmp_path: Path) -> None:
    case = _case(corpora, "plan_with_hcl_for_enrichment")
    code, rep = _scan([str(case), str(case / "tfplan.json"), "--format", "json", "--repo-root", str(case)],
                      tmp_path / "r.json")
    assert code == 1
    plan_findings = [f for f in rep["findings"] if f.get("plan_file")]
    source_findings = [f for f in rep["findings"] if not f.get("plan_file")]
    assert plan_findings and source_findings


def test_a_plan_scan_leaves_the_process_logging_as_it_was(corpora: Path, tmp_path: Path) -> None:
    """Importing Checkov's runner registry configures the root logger (DEBUG, a handler): tfguard undoes it."""
    import logging

    from tfguard.checks.checkov_env import checkov_modules

    checkov_modules()  # tfguard's own capture (a filter on the root logger) is in place first
    root = logging.getLogger()
    before = (root.level, list(root.handlers), list(root.filters))
    case = _case(corpora, "plan_change_keys")
    _scan([str(case / "tfplan.json"), "--format", "json", "--repo-root", str(tmp_path)], tmp_path / "r.json")
    assert (root.level, list(root.handlers), list(root.filters)) == before
