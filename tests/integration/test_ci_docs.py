"""The commands of docs/ci.md, run as written against a copy of examples/."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.integration.test_ci_files import ACTION, Runner

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "ci.md"
VENV_BIN = Path(sys.executable).parent
SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())


def blocks() -> dict[str, tuple[str, str]]:
    """Fenced blocks whose first line is ``# tfguard-ci-test: NAME`` -> (language, text)."""
    out = {}
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(), flags=re.S):
        m = re.match(r"# tfguard-ci-test: (\w+)\n", body)
        if m:
            out[m.group(1)] = (lang, body)
    return out


def run(cmd: str, cwd: Path) -> int:
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    got = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", cmd], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=600, check=False)
    return got.returncode


def tfguard_commands(lines: list[str]) -> list[str]:
    return [c for c in lines if c.lstrip().startswith("tfguard ")]


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    d = tmp_path / "repo"
    shutil.copytree(REPO / "examples", d)
    subprocess.run(["git", "init", "-q", str(d)], check=True)
    return d


def test_doc_has_the_tested_blocks() -> None:
    assert set(blocks()) == {"github", "gitlab", "baseline"}


def valid_sarif(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    errors = list(jsonschema.Draft7Validator(SARIF_SCHEMA).iter_errors(doc))
    assert not errors, errors[:3]
    return doc


def test_github_actions_workflow(work: Path, tmp_path: Path, python_env: Path) -> None:
    """The workflow uses the repository's own action.yml from a checkout of tfguard; its inputs are the
    Action's and the Action, run with them (tests/integration/test_ci_files.py's runner), gates and reports."""
    lang, text = blocks()["github"]
    assert lang == "yaml"
    wf = yaml.safe_load(text)
    assert wf["permissions"]["security-events"] == "write"
    steps = wf["jobs"]["tfguard"]["steps"]
    by_name = {s.get("name", s.get("uses")): s for s in steps}
    checkout = by_name["Check out tfguard"]
    assert checkout["uses"].startswith("actions/checkout@")
    assert "vars.TFGUARD_REPOSITORY" in checkout["with"]["repository"]
    action = by_name["tfguard"]
    assert action["uses"] == "./" + checkout["with"]["path"]
    assert set(action["with"]) <= set(ACTION["inputs"])
    runner = Runner(work, tmp_path, python_env, {k: str(v) for k, v in action["with"].items()}).run()
    assert runner.outputs["scan"]["exit-code"] == "1" and runner.logs["Gate"].returncode == 1 and runner.job_failed
    assert ET.parse(work / action["with"]["output_file_path"] / "results_junitxml.xml").getroot().tag == "testsuites"
    sarif = valid_sarif(Path(runner.outputs["scan"]["sarif"]))
    assert sarif["runs"][0]["results"]
    cmds = tfguard_commands([s["run"] for s in steps if "run" in s])
    assert cmds == [by_name["Audit suppressions"]["run"]]
    assert run(by_name["Audit suppressions"]["run"], work) == 0  # examples' one skip is justified (SEC-1234)
    (work / "dev" / "main.tf").write_text((work / "dev" / "main.tf").read_text().replace(" (SEC-1234)", ""))
    assert run(by_name["Audit suppressions"]["run"], work) == 1


def test_baseline_commands(work: Path) -> None:
    lang, text = blocks()["baseline"]
    assert lang == "sh"
    cmds = tfguard_commands(text.splitlines())
    assert len(cmds) == 2
    assert run(cmds[0], work) == 0
    assert (work / ".tfguard-baseline.json").is_file()
    assert run(cmds[1], work) == 0  # nothing new
    sarif = valid_sarif(work / "tfguard.sarif")
    assert {r["baselineState"] for r in sarif["runs"][0]["results"]} == {"unchanged"}
    prod = work / "prod" / "main.tf"
    prod.write_text(prod.read_text() + '\nresource "aws_security_group" "jump" {\n  description = "jump"\n'
                    '  ingress {\n    description = "ssh"\n    from_port = 22\n    to_port = 22\n'
                    '    protocol = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n')
    assert run(cmds[1], work) == 1  # a new HIGH-or-worse finding (SSH open to the world, in production)
    new = [r for r in valid_sarif(work / "tfguard.sarif")["runs"][0]["results"] if r["baselineState"] == "new"]
    assert new and all(r["properties"]["resource"] == "aws_security_group.jump" for r in new)
    assert any(r["ruleId"] == "CKV_AWS_24" and r["properties"]["severity"] in ("HIGH", "CRITICAL") for r in new)


def test_gitlab_ci(work: Path) -> None:
    """The project's .gitlab-ci.yml includes the shipped template; its script lines, run with the
    variables set there, fail on the examples' HIGH findings and write the SAST report."""
    lang, text = blocks()["gitlab"]
    assert lang == "yaml"
    doc = yaml.safe_load(text)
    template = REPO / doc["include"][0]["local"]
    job = yaml.safe_load(template.read_text())["tfguard"]
    variables = {**{k: str(v) for k, v in job["variables"].items()}, **{k: str(v) for k, v in doc["variables"].items()}}
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", **variables}
    codes = [subprocess.run(["bash", "-e", "-c", line], cwd=work, env=env, capture_output=True, text=True,
                            timeout=600, check=False).returncode for line in job["script"]]
    assert codes == [1]
    assert json.loads((work / job["artifacts"]["reports"]["sast"]).read_text())["vulnerabilities"]
