"""The CI recipes and the sample summary of docs/plan-review.md, run as written.

The work tree is a git-initialised copy of the corpus case ``plans/plan_with_hcl_for_enrichment`` (a plan,
``tfplan.json``, beside the ``.tf`` files it was made from), standing for the checkout after the
``terraform plan`` / ``terraform show -json`` steps; the tfguard commands of each recipe run there unchanged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import CORPORA

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "plan-review.md"
VENV_BIN = Path(sys.executable).parent
SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
CASE = CORPORA / "plans" / "plan_with_hcl_for_enrichment"


def blocks() -> dict[str, tuple[str, str]]:
    """Fenced blocks whose first line is ``# tfguard-plan-test: NAME`` -> (language, text)."""
    out = {}
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(), flags=re.S):
        m = re.match(r"# tfguard-plan-test: (\w+)\n", body)
        if m:
            out[m.group(1)] = (lang, body)
    return out


def sample() -> str:
    (body,) = [b for lang, b in re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(), flags=re.S)
               if lang == "markdown"]
    return body


def run(cmd: str, cwd: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", TFGUARD_NO_DAEMON="1",
               **(env_extra or {}))
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def tfguard_commands(lines: list[str]) -> list[str]:
    return [c for c in lines if c.lstrip().startswith("tfguard ")]


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    if not CASE.is_dir():
        pytest.skip(f"plan corpus case not found at {CASE}")
    d = tmp_path / "repo"
    shutil.copytree(CASE, d)
    subprocess.run(["git", "init", "-q", str(d)], check=True)
    return d


def _high_introduced(review: dict[str, Any]) -> bool:
    return any(f["severity"] in ("HIGH", "CRITICAL") for r in review["resources"] for f in r["introduced"])


def test_doc_has_the_tested_blocks() -> None:
    assert set(blocks()) == {"github", "gitlab"}


def test_github_actions_workflow(work: Path, tmp_path: Path) -> None:
    lang, text = blocks()["github"]
    assert lang == "yaml"
    wf = yaml.safe_load(text)
    steps = wf["jobs"]["plan-review"]["steps"]
    by_name = {s.get("name", s.get("uses")): s for s in steps}
    plan_step = by_name["Plan"]["run"]
    assert "terraform plan -input=false -out tfplan" in plan_step and "terraform show -json tfplan > tfplan.json" in \
        plan_step
    scan, review = by_name["Scan the plan"], by_name["Review the plan"]
    assert tfguard_commands([s["run"] for s in steps if "run" in s]) == [scan["run"], review["run"]]
    upload = by_name["Upload SARIF to code scanning"]
    assert f"--output {upload['with']['sarif_file']}" in scan["run"]
    assert run(scan["run"], work).returncode == 0  # --soft-fail: the gate is the review
    sarif = json.loads((work / upload["with"]["sarif_file"]).read_text())
    assert not list(jsonschema.Draft7Validator(SARIF_SCHEMA).iter_errors(sarif))
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]
            for loc in r["locations"] if not r["ruleId"].startswith("TFG_")}
    assert uris and all(u.endswith(".tf") for u in uris)  # annotations land on the source
    summary = tmp_path / "step-summary.md"
    summary.write_text("## earlier step\n")
    got = run(review["run"], work, {"GITHUB_STEP_SUMMARY": str(summary)})
    doc = json.loads((work / "plan-review.json").read_text())
    assert got.returncode == (1 if _high_introduced(doc) else 0), got.stderr
    comment = by_name["Comment on the pull request"]
    md = (work / comment["with"]["path"]).read_text()
    assert summary.read_text() == "## earlier step\n" + md  # appended
    assert "tfguard plan review" in md and doc["summary"]["create"] == 3


def test_gitlab_ci(work: Path) -> None:
    lang, text = blocks()["gitlab"]
    assert lang == "yaml"
    job = yaml.safe_load(text)["tfguard-plan"]
    script = job["script"]
    assert tfguard_commands(script) == script
    codes = [run(c, work).returncode for c in script]
    review = json.loads((work / "plan-review.json").read_text())
    assert codes == [0, 1 if _high_introduced(review) else 0]
    for p in job["artifacts"]["paths"]:
        assert (work / p).is_file(), p
    assert json.loads((work / "tfguard-plan.json").read_text())["summary"]["failed"] > 0


def test_the_sample_summary_is_what_plan_review_writes(work: Path) -> None:
    got = run("tfguard plan-review tfplan.json --repo-root .", work)
    assert got.returncode in (0, 1), got.stderr
    assert got.stdout == sample()
