"""The CI files tfguard ships, run as CI would run them: the composite Action's shell steps (action.yml) with
a GitHub-like environment (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP, GITHUB_ACTION_PATH), and the
GitLab template's script lines (ci/tfguard.gitlab-ci.yml) with its variables.

Not run: steps that reach the network (actions/setup-python, the pip install of the action's checkout or of
TFGUARD_PACKAGE, github/codeql-action/upload-sarif); the tfguard of this checkout is on PATH instead.
"""

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

from tests.unit.test_cli_formats import GITLAB_SAST_SCHEMA

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
GITLAB = yaml.safe_load((REPO / "ci" / "tfguard.gitlab-ci.yml").read_text())
EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    d = tmp_path / "repo"
    shutil.copytree(REPO / "examples", d)
    subprocess.run(["git", "init", "-q", str(d)], check=True)
    return d


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


class Runner:
    """The Action's steps in order, as the runner does: expressions of ``inputs`` and ``steps.*.outputs``
    substituted, ``if`` conditions evaluated (the few forms action.yml uses), outputs read back."""

    def __init__(self, work: Path, tmp: Path, inputs: dict[str, str]) -> None:
        self.work = work
        self.inputs = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()} | inputs
        self.outputs: dict[str, dict[str, str]] = {}
        self.outcomes: dict[str, str] = {}
        self.summary = tmp / "summary.md"
        self.summary.write_text("")
        self.runner_temp = tmp / "runner-temp"
        self.runner_temp.mkdir()
        self.logs: dict[str, subprocess.CompletedProcess[str]] = {}

    def value(self, expr: str) -> str:
        if expr.startswith("inputs."):
            return self.inputs[expr.removeprefix("inputs.")]
        m = re.fullmatch(r"steps\.([\w-]+)\.(outputs\.([\w-]+)|outcome)", expr)
        if m:
            if m.group(2) == "outcome":
                return self.outcomes.get(m.group(1), "")
            return self.outputs.get(m.group(1), {}).get(m.group(3), "")
        raise AssertionError(f"expression not understood by the test: {expr}")

    def condition(self, cond: str) -> bool:
        expr = EXPR.sub(lambda m: m.group(1), cond)
        expr = expr.replace("always()", "True").replace("&&", " and ").replace("||", " or ")
        expr = re.sub(r"(inputs\.[\w-]+|steps\.[\w-]+\.(?:outputs\.[\w-]+|outcome))",
                      lambda m: repr(self.value(m.group(1))), expr)
        return bool(eval(expr, {"__builtins__": {}}, {"True": True}))  # noqa: S307 (the test's own file)

    def run(self) -> None:
        for step in ACTION["runs"]["steps"]:
            name = step.get("name", step.get("uses"))
            if "if" in step and not self.condition(str(step["if"])):
                continue
            if "uses" in step:  # network: not run (see the module docstring); upload marked as not done
                self.outcomes[step.get("id", name)] = "skipped"
                continue
            if "pip install" in step["run"]:
                assert '"$GITHUB_ACTION_PATH"' in step["run"] and (REPO / "pyproject.toml").is_file()
                continue
            out_file = self.runner_temp / f"out-{len(self.logs)}"
            env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", GITHUB_OUTPUT=str(out_file),
                       GITHUB_STEP_SUMMARY=str(self.summary), RUNNER_TEMP=str(self.runner_temp),
                       GITHUB_ACTION_PATH=str(REPO), GITHUB_WORKSPACE=str(self.work), GITHUB_ACTIONS="true")
            env.update({k: EXPR.sub(lambda m: self.value(m.group(1)), str(v)) for k, v in step.get("env", {}).items()})
            proc = _bash(step["run"], self.work, env)
            self.logs[name] = proc
            self.outcomes[step.get("id", name)] = "success" if proc.returncode == 0 else "failure"
            if out_file.exists():
                self.outputs[step.get("id", name)] = dict(
                    line.split("=", 1) for line in out_file.read_text().splitlines() if "=" in line)


def test_the_action_gates_uploads_or_annotates_and_writes_the_summary(work: Path, tmp_path: Path) -> None:
    action = Runner(work, tmp_path, {"fail-on": "HIGH", "code-scanning": "false", "format": "json"})
    action.run()
    assert action.outputs["scan"]["exit-code"] == "1"
    sarif = json.loads(Path(action.outputs["scan"]["sarif"]).read_text())
    assert not list(jsonschema.Draft7Validator(SARIF_SCHEMA).iter_errors(sarif)) and sarif["runs"][0]["results"]
    assert action.summary.read_text().startswith("## tfguard\n")
    assert "| Severity | Check |" in action.summary.read_text()
    annotations = action.logs["Annotations"].stdout.splitlines()  # code scanning off: workflow commands
    assert annotations and all(re.match(r"^::(error|warning|notice) file=(dev|prod)/[\w.]+\.tf,line=\d+,", a)
                               for a in annotations)
    assert json.loads((work / "tfguard-report.json").read_text())["findings"]
    assert action.logs["Gate"].returncode == 1, "the job fails on HIGH findings"


def test_the_action_with_code_scanning_passes_on_a_clean_tree(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "main.tf").write_text('variable "region" {\n  default = "eu-west-1"\n}\n')
    action = Runner(clean, tmp_path, {})
    action.run()
    assert action.outputs["scan"]["exit-code"] == "0"
    assert "Annotations" not in action.logs, "code scanning gets the SARIF file (the upload step)"
    assert action.logs["Gate"].returncode == 0
    assert "No failed checks" in action.summary.read_text()


def _gitlab_env(**variables: str) -> dict[str, str]:
    job = GITLAB["tfguard"]
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "CI": "true",
            **{k: str(v) for k, v in job["variables"].items()}, **variables}


def test_the_gitlab_template_publishes_a_sast_report_and_gates(work: Path) -> None:
    job: dict[str, Any] = GITLAB["tfguard"]
    assert job["artifacts"]["reports"]["sast"] == "gl-sast-report.json"
    check_package = job["before_script"][0]
    refused = _bash(check_package, work, _gitlab_env())
    assert refused.returncode == 2 and "set TFGUARD_PACKAGE" in refused.stdout
    assert _bash(check_package, work, _gitlab_env(TFGUARD_PACKAGE="tfguard.whl")).returncode == 0
    env = _gitlab_env(TFGUARD_PACKAGE="tfguard.whl", TFGUARD_ARGS="--fail-on HIGH")
    codes = [_bash(line, work, env).returncode for line in job["script"]]
    assert codes == [1], "examples have HIGH findings: the job fails"
    report = json.loads((work / "gl-sast-report.json").read_text())
    assert not list(jsonschema.Draft7Validator(GITLAB_SAST_SCHEMA).iter_errors(report))
    assert report["vulnerabilities"] and {v["location"]["file"].split("/")[0] for v in report["vulnerabilities"]} \
        <= {"dev", "prod"}
    assert ET.parse(work / "tfguard-junit.xml").getroot().tag == "testsuites"
    for path in job["artifacts"]["paths"]:
        assert (work / path).is_file()
