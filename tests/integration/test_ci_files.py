"""The CI files tfguard ships, run as CI would run them: the composite Action's steps (action.yml) in order,
with the environment a GitHub runner gives a composite action's ``run`` steps (GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY, RUNNER_TEMP, GITHUB_ACTION_PATH, GITHUB_WORKSPACE, ``bash --noprofile --norc -eo
pipefail`` on a script file), the runner's rules for ``if:`` (success() unless always()), ``continue-on-error``
and the job's result; and the GitLab template's script lines (ci/tfguard.gitlab-ci.yml) with its variables.

What is stood in for, because it needs the network:
- ``actions/setup-python``: a fresh virtual environment from this machine's Python; Checkov and the other
  dependencies are made visible to it from the test's environment (a .pth file) instead of downloaded. The
  "Install tfguard" step then runs for real: ``pip install "$GITHUB_ACTION_PATH"`` builds and installs this
  checkout into that environment, and the later steps run the ``tfguard`` it installed.
- ``github/codeql-action/upload-sarif`` (GitHub's API): not run; its outcome is set by each test (success,
  or failure as on a repository without code scanning) so that the steps depending on it are exercised.
- the GitLab template's ``pip install "$TFGUARD_PACKAGE"``: the tfguard of this checkout is on PATH.
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
BROKEN = 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\nresource "aws_s3_bucket" "c" {\n  bucket =\n'


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    d = tmp_path / "repo"
    shutil.copytree(REPO / "examples", d)
    subprocess.run(["git", "init", "-q", str(d)], check=True)
    return d


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def _path_without_test_venv() -> str:
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != VENV_BIN)


class Runner:
    """The Action's steps in order, as the runner does: expressions of ``inputs`` and ``steps.*.outputs``
    substituted, ``if`` conditions evaluated (the forms action.yml uses; no ``if``: ``success()``), outputs
    read back, ``continue-on-error`` honoured, the job's result kept in :attr:`job_failed`."""

    def __init__(self, work: Path, tmp: Path, python_env: Path, inputs: dict[str, str], *,
                 upload: str = "success", action_path: Path = REPO) -> None:
        self.work = work
        unknown = set(inputs) - set(ACTION["inputs"])
        assert not unknown, f"not inputs of action.yml: {unknown}"
        self.inputs = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()} | inputs
        self.python_env = python_env
        self.upload = upload
        self.action_path = action_path
        self.outputs: dict[str, dict[str, str]] = {}
        self.outcomes: dict[str, str] = {}
        self.summary = tmp / "summary.md"
        self.summary.write_text("")
        self.runner_temp = tmp / "runner-temp"
        self.runner_temp.mkdir()
        self.logs: dict[str, subprocess.CompletedProcess[str]] = {}
        self.job_failed = False

    def value(self, expr: str) -> str:
        if expr.startswith("inputs."):
            return self.inputs[expr.removeprefix("inputs.")]
        m = re.fullmatch(r"steps\.([\w-]+)\.(outputs\.([\w-]+)|outcome)", expr)
        if m:
            if m.group(2) == "outcome":
                return self.outcomes.get(m.group(1), "")
            return self.outputs.get(m.group(1), {}).get(m.group(3), "")
        raise AssertionError(f"expression not understood by the test: {expr}")

    def condition(self, cond: str | None) -> bool:
        expr = EXPR.sub(lambda m: m.group(1), cond or "success()")
        if "always()" not in expr and "failure()" not in expr and "success()" not in expr:
            expr = f"success() && ({expr})"
        expr = (expr.replace("always()", "True").replace("success()", repr(not self.job_failed))
                .replace("failure()", repr(self.job_failed)).replace("&&", " and ").replace("||", " or "))
        expr = re.sub(r"(inputs\.[\w-]+|steps\.[\w-]+\.(?:outputs\.[\w-]+|outcome))",
                      lambda m: repr(self.value(m.group(1))), expr)
        return bool(eval(expr, {"__builtins__": {}}, {"True": True, "False": False}))  # noqa: S307 (test's own)

    def _env(self, step: dict[str, Any], out_file: Path) -> dict[str, str]:
        env = dict(os.environ, PATH=f"{self.python_env / 'bin'}{os.pathsep}{_path_without_test_venv()}",
                   GITHUB_OUTPUT=str(out_file), GITHUB_STEP_SUMMARY=str(self.summary),
                   RUNNER_TEMP=str(self.runner_temp), GITHUB_ACTION_PATH=str(self.action_path),
                   GITHUB_WORKSPACE=str(self.work), GITHUB_ACTIONS="true", CI="true", RUNNER_OS="Linux")
        env.pop("VIRTUAL_ENV", None)
        env.update({k: EXPR.sub(lambda m: self.value(m.group(1)), str(v)) for k, v in step.get("env", {}).items()})
        return env

    def run(self) -> Runner:
        for step in ACTION["runs"]["steps"]:
            name = step.get("name", step.get("uses"))
            sid = step.get("id", name)
            if not self.condition(step.get("if")):
                self.outcomes[sid] = "skipped"
                continue
            if "uses" in step:
                if step["uses"].startswith("actions/setup-python@"):
                    outcome = "success"  # stood in for by the python_env fixture
                else:
                    assert step["uses"].startswith("github/codeql-action/upload-sarif@")
                    assert Path(EXPR.sub(lambda m: self.value(m.group(1)), step["with"]["sarif_file"])).is_file()
                    outcome = self.upload
            else:
                assert "${{" not in step["run"], "inputs reach scripts through env only (no script injection)"
                out_file = self.runner_temp / f"out-{len(self.logs)}"
                script = self.runner_temp / f"step-{len(self.logs)}.sh"
                script.write_text(step["run"])
                proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                                      cwd=self.work, env=self._env(step, out_file), capture_output=True, text=True,
                                      timeout=600, check=False)
                self.logs[name] = proc
                outcome = "success" if proc.returncode == 0 else "failure"
                if out_file.exists():
                    self.outputs[sid] = dict(line.split("=", 1) for line in out_file.read_text().splitlines()
                                             if "=" in line)
            self.outcomes[sid] = outcome
            if outcome == "failure" and not step.get("continue-on-error", False):
                self.job_failed = True
        return self


def _annotations(runner: Runner) -> list[str]:
    return runner.logs["Annotations"].stdout.splitlines() if "Annotations" in runner.logs else []


def test_the_action_installs_itself_gates_annotates_and_writes_the_summary(
        work: Path, tmp_path: Path, python_env: Path) -> None:
    action = Runner(work, tmp_path, python_env, {"fail-on": "HIGH", "code-scanning": "false",
                                                  "format": "json"}).run()
    assert action.outcomes["Install tfguard"] == "success", action.logs["Install tfguard"].stderr[-2000:]
    assert (python_env / "bin" / "tfguard").is_file(), "the install step put tfguard on PATH"
    assert action.outputs["scan"]["exit-code"] == "1"
    sarif = json.loads(Path(action.outputs["scan"]["sarif"]).read_text())
    assert not list(jsonschema.Draft7Validator(SARIF_SCHEMA).iter_errors(sarif)) and sarif["runs"][0]["results"]
    assert action.summary.read_text().startswith("## tfguard\n")
    assert "| Severity | Check |" in action.summary.read_text()
    annotations = _annotations(action)  # code scanning off: workflow commands
    assert annotations and all(re.match(r"^::(error|warning|notice) file=(dev|prod)/[\w.]+\.tf,line=\d+,", a)
                               for a in annotations)
    assert json.loads((work / "tfguard-report.json").read_text())["findings"]
    assert action.logs["Gate"].returncode == 1 and action.job_failed, "the job fails on HIGH findings"


def test_the_action_with_code_scanning_passes_on_a_clean_tree(tmp_path: Path, python_env: Path) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "main.tf").write_text('variable "region" {\n  default = "eu-west-1"\n}\n')
    action = Runner(clean, tmp_path, python_env, {}).run()
    assert action.outputs["scan"]["exit-code"] == "0"
    assert action.outcomes["upload"] == "success" and action.outcomes["Annotations"] == "skipped"
    assert action.logs["Gate"].returncode == 0 and not action.job_failed
    assert "No failed checks" in action.summary.read_text()


def test_the_action_annotates_when_the_sarif_upload_fails(work: Path, tmp_path: Path, python_env: Path) -> None:
    """A private repository without code scanning: the upload fails (continue-on-error), annotations follow."""
    action = Runner(work, tmp_path, python_env, {"soft_fail": "true"}, upload="failure").run()
    assert action.outcomes["upload"] == "failure"
    assert _annotations(action), "findings are shown as annotations instead"
    assert action.outputs["scan"]["exit-code"] == "0" and not action.job_failed, "soft_fail: the job passes"


def test_the_action_takes_checkov_actions_inputs(work: Path, tmp_path: Path, python_env: Path) -> None:
    from tfguard.cli import RESULT_FILES

    (work / "ck.yaml").write_text("skip-check: [CKV_AWS_20]\n")
    action = Runner(work, tmp_path, python_env, {
        "directory": "dev", "check": "CKV_AWS_1*,CKV_AWS_20,ACME_AWS_1", "skip_check": "CKV_AWS_19",
        "framework": "terraform", "config_file": "ck.yaml", "external_checks_dirs": "policies",
        "quiet": "true", "compact": "true", "output_format": "cli,json,junitxml,gitlab_sast,csv,sarif",
        "output_file_path": "reports", "code-scanning": "false"}).run()
    scan = action.logs["Scan"]
    assert action.outputs["scan"]["exit-code"] == "1", scan.stderr[-2000:]
    names = {fmt: RESULT_FILES[fmt] for fmt in ("cli", "json", "junitxml", "gitlab_sast", "csv", "sarif")}
    assert sorted(p.name for p in (work / "reports").iterdir()) == sorted(names.values()), \
        "Checkov's results_<format> names in the output_file_path directory"
    doc = json.loads((work / "reports" / names["json"]).read_text())
    ids = {f["check_id"] for f in doc["findings"] if f["result"] == "FAILED"}
    assert ids and "ACME_AWS_1" in ids and "CKV_AWS_19" not in ids and "CKV_AWS_20" not in ids
    assert all(i.startswith("CKV_AWS_1") or i == "ACME_AWS_1" for i in ids), ids
    assert Path(doc["root"]).name == "dev" and {f["file"] for f in doc["findings"]} == {"main.tf"}, \
        "directory: only dev/ is scanned"
    assert json.loads((work / "reports" / names["sarif"]).read_text())["runs"][0]["results"]
    text = (work / "reports" / names["cli"]).read_text()
    assert "SKIPPED" not in text and "guide:" not in text, "quiet and compact"
    # a comma list: one destination per format, console for the log; the gate as the CLI's
    (work / "prod" / "ci.tfvars").write_text('vpc_id = "vpc-123"\n')
    second = tmp_path / "second"
    second.mkdir()
    inputs = {"file": "prod/main.tf", "var_file": "prod/ci.tfvars", "soft_fail_on": "LOW,MEDIUM"}
    action = Runner(work, second, python_env, inputs | {"output_format": "compact,json",
                                                        "output_file_path": "console,out/r.json"}).run()
    direct = subprocess.run([str(VENV_BIN / "tfguard"), "scan", "-f", "prod/main.tf", "--var-file", "prod/ci.tfvars",
                             "--soft-fail-on", "LOW,MEDIUM", "-o", "compact"], cwd=work, capture_output=True,
                            text=True, env=dict(os.environ, TFGUARD_NO_DAEMON="1"), timeout=600, check=False)
    assert action.outputs["scan"]["exit-code"] == str(direct.returncode)
    assert direct.stdout in action.logs["Scan"].stdout, "compact in the log, as the CLI prints it"
    assert {f["file"] for f in json.loads((work / "out" / "r.json").read_text())["findings"]} == {"main.tf"}


def test_the_action_maps_a_plan_to_its_sources_as_checkov_action_does(tmp_path: Path, python_env: Path) -> None:
    """checkov-action's ``file`` + ``repo_root_for_plan_enrichment``: the plan's findings on the sources there,
    their skip comments applied; a folder that is not there fails the job (exit 2), never a scan without them."""
    work = tmp_path / "repo"
    shutil.copytree(REPO / "tests" / "fixtures" / "side_by_side" / "plan", work / "infra")
    (work / "ci").mkdir()
    (work / "infra" / "tfplan.json").rename(work / "ci" / "tfplan.json")
    subprocess.run(["git", "init", "-q", str(work / "ci")], check=True)  # the default root (ci/) holds no source
    out = work / "ci" / "out" / "results_json.json"
    got: dict[str, tuple[str, set[str]]] = {}
    for n, root in enumerate(("", "../infra", "../infar")):
        out.unlink(missing_ok=True)
        (tmp_path / f"run{n}").mkdir()
        action = Runner(work / "ci", tmp_path / f"run{n}", python_env, {
            "file": "tfplan.json", "framework": "terraform_plan", "repo_root_for_plan_enrichment": root,
            "output_format": "json", "output_file_path": "out", "code-scanning": "false"}).run()
        acl = {f["result"] for f in json.loads(out.read_text())["findings"]
               if f["check_id"] == "CKV_AWS_20"} if out.exists() else set()
        got[root] = (action.outputs["scan"]["exit-code"], acl)
        if root == "../infar":
            assert "--repo-root-for-plan-enrichment ../infar: no such directory" in action.logs["Scan"].stderr
    assert got == {"": ("1", {"FAILED"}), "../infra": ("1", {"SKIPPED"}), "../infar": ("2", set())}


@pytest.mark.parametrize("inputs", [
    {"soft_fail": "false"},                                     # a syntax error: the result is incomplete
    {"soft_fail": "true", "framework": "kubernetes"},           # a usage error fails even with soft_fail
    {"output_format": "json,csv", "output_file_path": "a.json,b.csv,c"},  # destinations do not match
], ids=["incomplete", "usage-error-with-soft-fail", "bad-output-file-path"])
def test_the_action_fails_closed(work: Path, tmp_path: Path, python_env: Path, inputs: dict[str, str]) -> None:
    (work / "dev" / "bad.tf").write_text(BROKEN)
    action = Runner(work, tmp_path, python_env, inputs).run()
    assert action.outputs["scan"]["exit-code"] == "2"
    assert action.logs["Gate"].returncode == 2 and action.job_failed
    assert "::error title=tfguard::the scan could not complete (exit 2)" in action.logs["Gate"].stdout


def test_the_action_fails_when_tfguard_cannot_be_installed(work: Path, tmp_path: Path, python_env: Path) -> None:
    empty = tmp_path / "not-an-action-checkout"
    empty.mkdir()
    action = Runner(work, tmp_path, python_env, {}, action_path=empty).run()
    assert action.outcomes["Install tfguard"] == "failure"
    assert action.outcomes["scan"] == "skipped" and action.job_failed
    assert action.logs["Gate"].returncode == 2, "no exit code from the scan: the gate fails, never passes"


def _gitlab_env(python_env: Path, work: Path, **variables: str) -> dict[str, str]:
    """A GitLab job's environment: the template's variables, the project's, CI=true, the image's Python
    first on PATH (the python_env fixture, without tfguard until the job installs it)."""
    job = GITLAB["tfguard"]
    env = {**os.environ, "PATH": f"{python_env / 'bin'}{os.pathsep}{_path_without_test_venv()}", "CI": "true",
           "GITLAB_CI": "true", "CI_PROJECT_DIR": str(work), **{k: str(v) for k, v in job["variables"].items()},
           **variables}
    env.pop("VIRTUAL_ENV", None)
    return env


def _gitlab_job(work: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """before_script then script, one shell, stopping at the first line that fails (as the runner does)."""
    job = GITLAB["tfguard"]
    return _bash("\n".join([*job["before_script"], *job["script"]]), work, env)


def test_the_gitlab_template_installs_the_wheel_publishes_a_sast_report_and_gates(
        work: Path, python_env: Path) -> None:
    job: dict[str, Any] = GITLAB["tfguard"]
    assert job["artifacts"]["reports"]["sast"] == "gl-sast-report.json"
    refused = _gitlab_job(work, _gitlab_env(python_env, work))
    assert refused.returncode == 2 and "set TFGUARD_PACKAGE" in refused.stdout
    # docs/ci.md: a wheel built from a checkout, committed (or hosted) where the job finds it
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"), str(REPO)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = (work / "dist").glob("tfguard-*.whl")
    subprocess.run([str(python_env / "bin" / "python"), "-m", "pip", "uninstall", "-q", "-y", "tfguard"],
                   capture_output=True, check=False, timeout=300)  # a fresh image: the Action tests installed it
    env = _gitlab_env(python_env, work, TFGUARD_PACKAGE=f"dist/{wheel.name}", TFGUARD_ARGS="--fail-on HIGH")
    proc = _gitlab_job(work, env)
    assert "Successfully installed tfguard" in proc.stdout, proc.stderr[-2000:]
    assert proc.returncode == 1, "examples have HIGH findings: the job fails"
    assert re.search(r"^dev/main\.tf:\d+:\d+: ", proc.stdout, flags=re.M), "the cli report in the job log"
    report = json.loads((work / "gl-sast-report.json").read_text())
    assert not list(jsonschema.Draft7Validator(GITLAB_SAST_SCHEMA).iter_errors(report))
    assert report["vulnerabilities"] and {v["location"]["file"].split("/")[0] for v in report["vulnerabilities"]} \
        <= {"dev", "prod"}
    assert ET.parse(work / "tfguard-junit.xml").getroot().tag == "testsuites"
    for path in job["artifacts"]["paths"]:
        assert (work / path).is_file()
    # fail closed: a file that does not parse fails the job with exit 2, the reports say why
    (work / "dev" / "bad.tf").write_text(BROKEN)
    proc = _gitlab_job(work, _gitlab_env(python_env, work, TFGUARD_PACKAGE=f"dist/{wheel.name}"))
    assert proc.returncode == 2 and "the result is incomplete" in proc.stderr
    messages = json.loads((work / "gl-sast-report.json").read_text())["scan"]["messages"]
    assert any(m["level"] == "warn" and m["value"].startswith("dev/bad.tf:") for m in messages)
    errors = [c for c in ET.parse(work / "tfguard-junit.xml").getroot().iter("testcase") if c.find("error") is not None]
    assert [c.get("file") for c in errors] == ["dev/bad.tf"]


def test_the_action_cuts_a_summary_over_githubs_limit(tmp_path: Path, python_env: Path) -> None:
    """GitHub refuses a step summary over 1 MiB: 600 buckets' findings (~1.1 MB of Markdown) are cut, with a note."""
    big = tmp_path / "big"
    big.mkdir()
    (big / "main.tf").write_text("".join(f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "b{i}"\n}}\n'
                                         for i in range(600)))
    action = Runner(big, tmp_path, python_env, {"soft_fail": "true", "code-scanning": "false"}).run()
    assert action.outputs["scan"]["exit-code"] == "0" and not action.job_failed
    whole = (action.runner_temp / "tfguard" / "summary.md").stat().st_size
    summary = action.summary.read_bytes()
    assert whole > 1_000_000 >= len(summary) - 200, (whole, len(summary))
    assert summary.startswith(b"## tfguard\n") and summary.rstrip().endswith(b"and the Scan step log)")


def test_the_action_names_output_files_as_tfguard_and_checkov_do(tmp_path: Path, python_env: Path) -> None:
    """output_file_path DIR: every format (and alias) gets the file name `tfguard -o F --output-file-path DIR`
    gives it, the formats the Action writes anyway (sarif, markdown, github) included."""
    from tfguard.cli import CHECKOV_RESULT_FILES, FORMAT_ALIASES, FORMATS, RESULT_FILES

    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "main.tf").write_text('variable "region" {\n  default = "eu-west-1"\n}\n')
    names = [*FORMATS, *FORMAT_ALIASES]
    action = Runner(clean, tmp_path, python_env, {"output_format": ",".join(names), "output_file_path": "out"}).run()
    assert action.outputs["scan"]["exit-code"] == "0", action.logs["Scan"].stderr[-2000:]
    expected = {CHECKOV_RESULT_FILES.get(n) or RESULT_FILES[FORMAT_ALIASES.get(n, n)] for n in names}
    assert {p.name for p in (clean / "out").iterdir()} == expected
    assert json.loads((clean / "out" / "results_sarif.sarif").read_text())["version"] == "2.1.0"
