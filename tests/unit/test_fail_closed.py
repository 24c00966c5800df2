"""``tfguard scan`` fails closed: when it cannot give the right answer it says so in one line and exits 2.

Each case as a user meets it: a typo in ``.tfguard.yaml`` (found from a file scan too), a plan given where
Terraform was expected, a folder with nothing to scan, and the opt-outs teams use (Checkov's spellings).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfguard.cli import main

OPEN_SSH = """\
resource "aws_security_group" "ssh" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"""
PLAN = {"format_version": "1.2", "terraform_version": "1.6.0",
        "planned_values": {"root_module": {"resources": [{"address": "aws_s3_bucket.b", "mode": "managed",
                                                          "type": "aws_s3_bucket", "name": "b",
                                                          "provider_name": "registry.terraform.io/hashicorp/aws",
                                                          "values": {"bucket": "b", "acl": "public-read"}}]}},
        "resource_changes": []}


def _errors(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if "error" in line]


def _repo(tmp_path: Path, config: str) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)  # a git work tree: configuration resolves up to here
    (repo / "infra" / "prod").mkdir(parents=True)
    (repo / "infra" / "prod" / "main.tf").write_text(OPEN_SSH)
    (repo / ".tfguard.yaml").write_text(config)
    return repo


@pytest.mark.parametrize("target", ["repo", "repo/infra", "repo/infra/prod/main.tf"])
def test_a_typo_in_the_root_config_is_exit_2_from_any_path(tmp_path: Path, target: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path, "version: 1\nseverity_overides:\n  CKV_AWS_24: HIGH\n")
    out = tmp_path / "r.json"
    assert main(["scan", str(tmp_path / target), "--fail-on", "HIGH", "-o", str(out)]) == 2
    lines = _errors(capsys)
    assert lines[0].startswith(f"{repo / '.tfguard.yaml'}:2:1: error: unknown key 'severity_overides'")
    assert lines[-1].startswith("tfguard: error: invalid configuration (1 problem above): not scanning")
    assert not out.exists()


@pytest.mark.parametrize("target", ["repo", "repo/infra", "repo/infra/prod/main.tf"])
def test_a_typo_in_a_checkov_yaml_is_exit_2_even_when_nothing_fails(tmp_path: Path, target: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # Checkov refuses an option it does not know; tfguard used to warn and exit 0 on a clean folder.
    repo = _repo(tmp_path, "version: 1\n")
    (repo / "infra" / "prod" / "main.tf").write_text('variable "x" {}\n')
    (repo / ".checkov.yaml").write_text("compact: true\nframwork: terraform\n")
    assert main(["scan", str(tmp_path / target)]) == 2
    lines = _errors(capsys)
    assert lines[0].startswith(f"{repo / '.checkov.yaml'}:2:1: error: 'framwork' is not a Checkov option")
    assert lines[-1].startswith("tfguard: error: invalid configuration (1 problem above): not scanning")
    (repo / ".checkov.yaml").write_text("compact: true\nframework: terraform\n")
    assert main(["scan", str(tmp_path / target)]) == 0


def test_the_root_config_applies_to_a_file_scan(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "severity_overrides:\n  CKV_AWS_24: HIGH\n")
    got = {}
    for target in (repo, repo / "infra", repo / "infra" / "prod" / "main.tf"):
        out = tmp_path / "r.json"
        code = main(["scan", str(target), "--format", "json", "--fail-on", "HIGH", "-o", str(out)])
        (f,) = [f for f in json.loads(out.read_text())["findings"] if f["check_id"] == "CKV_AWS_24"]
        got[str(target)] = (f["severity"], code)
    assert set(got.values()) == {("CRITICAL", 1)}, got  # HIGH, raised one level on a prod path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_a_plan_file_is_scanned_in_each_encoding_terraform_writes(tmp_path: Path, encoding: str) -> None:
    plan = tmp_path / "tfplan.json"
    plan.write_text(json.dumps(PLAN), encoding=encoding)
    out = tmp_path / "r.json"
    assert main(["scan", str(plan), "--format", "json", "-o", str(out), "--repo-root", str(tmp_path)]) == 1
    failed = {(f["check_id"], f["resource"]) for f in json.loads(out.read_text())["findings"]
              if f["result"] == "FAILED"}
    assert ("CKV_AWS_20", "aws_s3_bucket.b") in failed  # the public-read ACL


@pytest.mark.parametrize("content", [b'{"format_version": "1.2", "planned_values": {',
                                     b"\xff\xfe" + '{"format_version": "1.2", "planned_values": {'.encode("utf-16-le")
                                     + b"\x00\xd8" + "}}".encode("utf-16-le"),
                                     b'{"format_version": "1.2", "terraform_version": "1.6", "values": {}}',
                                     b'{"format_version": "1.2", "terraform_version": "1.6", "planned_values": \xe9}'])
def test_an_unreadable_plan_is_exit_2_in_one_line_without_its_values(tmp_path: Path, content: bytes,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "tfplan.json"
    plan.write_bytes(content)
    assert main(["scan", str(plan)]) == 2
    (line,) = _errors(capsys)
    assert line.startswith(f"tfguard: error: cannot scan {plan}: it is a Terraform plan (terraform show -json) that")
    assert "1.6" not in line


def test_a_folder_holding_only_a_plan_is_exit_2_naming_the_plan(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "tfplan.json").write_text(json.dumps(PLAN))
    assert main(["scan", str(tmp_path / "ci")]) == 2
    (line,) = _errors(capsys)
    assert "nothing to scan" in line and "tfplan.json is a Terraform plan" in line


def test_a_plan_is_found_by_content_whatever_its_name_and_a_binary_plan_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.out"
    plan.write_text(json.dumps(PLAN), encoding="utf-16")
    out = tmp_path / "r.json"
    assert main(["scan", str(plan), "--format", "json", "-o", str(out), "--repo-root", str(tmp_path)]) == 1
    findings = json.loads(out.read_text())["findings"]
    assert ("CKV_AWS_20", "FAILED") in {(f["check_id"], f["result"]) for f in findings}
    assert {f["file_abs_path"] for f in findings} == {str(plan)}
    binary = tmp_path / "tfplan"
    binary.write_bytes(b"PK\x03\x04" + bytes(60))
    assert main(["scan", str(binary)]) == 2
    assert "binary Terraform plan" in _errors(capsys)[0]


def test_a_file_of_another_kind_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("# infra\n")
    assert main(["scan", str(tmp_path / "README.md")]) == 2
    assert "is not a Terraform file" in _errors(capsys)[0]


def test_the_soft_fail_family_as_checkov_spells_it(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "main.tf").write_text(OPEN_SSH)
    out = ["-o", str(tmp_path / "r.txt")]
    assert main(["scan", str(tmp_path / "m"), *out]) == 1
    assert main(["scan", str(tmp_path / "m"), "--soft-fail", *out]) == 0
    assert main(["scan", str(tmp_path / "m"), "--soft-fail-on", "CKV_AWS_*,CKV2_*", *out]) == 0
    assert main(["scan", str(tmp_path / "m"), "--soft-fail", "--hard-fail-on", "CKV_AWS_24", *out]) == 1
    assert main(["scan", str(tmp_path / "m"), "--hard-fail-on", "CKV_AZURE_1", *out]) == 0
    (tmp_path / "m" / ".checkov.yaml").write_text("soft-fail: true\n")
    assert main(["scan", str(tmp_path / "m"), *out]) == 0, ".checkov.yaml soft-fail"
    assert main(["scan", str(tmp_path / "m"), "--hard-fail-on", "CKV_AWS_24", *out]) == 1, "hard-fail-on narrows it"


def test_soft_fail_still_refuses_an_invalid_configuration(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "minimum_severity: SEVERE\n")
    assert main(["scan", str(repo), "--soft-fail", "-o", str(tmp_path / "r.txt")]) == 2


def test_tracebacks_go_to_the_log_file_not_the_terminal(tmp_path: Path) -> None:
    """The real CLI process: the terminal gets one line; the log file gets Checkov's tracebacks."""
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "check_errors"
    log = tmp_path / "tfguard.log"
    env = dict(os.environ, TFGUARD_NO_DAEMON="1", TFGUARD_CACHE_DIR="")  # no cache: Checkov's check really raises
    for extra in ((), ("-vv",)):
        proc = subprocess.run([sys.executable, "-m", "tfguard", "scan", str(fixture), "--format", "json", "-o",
                               str(tmp_path / "r.json"), "--log-file", str(log), *extra],
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 2  # the NSG port checks raise on a comma list: the result is incomplete
        assert "Traceback" not in proc.stderr or extra, proc.stderr
        assert proc.stderr.count("Traceback") == proc.stderr.count("raised on") * int(bool(extra)), "never twice"
        assert len([line for line in proc.stderr.splitlines() if line.startswith("tfguard: error:")]) == 1
        text = log.read_text()
        assert "Traceback" in text and "ValueError" in text, "the details are in the log file"


@pytest.mark.parametrize("command", ["scan", "plan-review"])
def test_a_mistyped_repo_root_is_exit_2_not_a_scan_without_its_sources(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str) -> None:
    """A plan's findings are mapped to the ``.tf`` files under ``--repo-root`` (their skip comments apply), and
    configuration is found up to it: a root that does not exist would silently give another answer."""
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "tfplan.json").write_text(json.dumps(PLAN))
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(OPEN_SSH)
    monkeypatch.chdir(tmp_path / "ci")  # relative to the working directory, as a CI step gives it
    targets = ["tfplan.json"] + (["../infra"] if command == "scan" else [])
    for target in targets:
        assert main([command, target, "--repo-root", "../infar"]) == 2, target
        assert _errors(capsys) == ["tfguard: error: --repo-root ../infar: no such directory"]
    assert main([command, "tfplan.json", "--repo-root", ".."]) == (1 if command == "scan" else 0)
    assert _errors(capsys) == []


def test_checkovs_plan_enrichment_option_maps_the_plan_to_its_sources(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``--repo-root-for-plan-enrichment DIR`` (Checkov's spelling) is ``--repo-root DIR``: the plan's bucket is
    found in the sources there, and their skip comment applies; without it the working directory is the root."""
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "tfplan.json").write_text(json.dumps(PLAN))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n'
                                              '  # checkov:skip=CKV_AWS_20: the public website (SEC-12)\n'
                                              '  bucket = "b"\n  acl    = "public-read"\n}\n')
    monkeypatch.chdir(tmp_path / "ci")

    def acl_result(*extra: str) -> str:
        out = tmp_path / "out"  # a folder, as Checkov's: results_json.json there
        assert main(["-f", "tfplan.json", "--framework", "terraform_plan", "-o", "json", "--output-file-path",
                     str(out), *extra]) == 1
        report = json.loads((out / "results_json.json").read_text())
        (result,) = {f["result"] for f in report["findings"] if f["check_id"] == "CKV_AWS_20"}
        return str(result)

    assert acl_result() == "FAILED"  # the working directory (ci/) holds no source
    assert acl_result("--repo-root-for-plan-enrichment", "../src") == "SKIPPED"
    assert acl_result("--repo-root", "../src") == "SKIPPED"
    capsys.readouterr()
    assert main(["-f", "tfplan.json", "--repo-root-for-plan-enrichment", "../src",
                 "--repo-root-for-plan-enrichment", ".."]) == 2
    assert _errors(capsys) == ["tfguard: error: --repo-root-for-plan-enrichment: tfguard maps a plan to one"
                               " repository root (give one folder, or --repo-root alone)"]
    assert main(["-f", "tfplan.json", "--repo-root-for-plan-enrichment", "../scr"]) == 2
    assert _errors(capsys) == ["tfguard: error: --repo-root-for-plan-enrichment ../scr: no such directory"]


@pytest.mark.parametrize(("extra", "code", "line"), [
    (["--check", "CKV_AWS_2O"], 2,  # a letter O for a zero: Checkov runs no check and passes (exit 0)
     "tfguard: error: --check CKV_AWS_2O: matches no check (did you mean CKV_AWS_20?)"),
    (["--check", "CKV_AWS_24,CKV_AWS_2A"], 2, "tfguard: error: --check CKV_AWS_2A: matches no check"),
    (["--check", "ckv_aws_24"], 2, "tfguard: error: --check ckv_aws_24: matches no check (did you mean CKV_AWS_24?)"),
    (["--check", "HIGH"], 2, "tfguard: error: --check HIGH: Checkov selects checks by severity only with its"),
    (["--check", "CKV9_*"], 2, "tfguard: error: --check CKV9_*: matches no check"),
    (["--check", "TFG_SEC_9"], 2, "tfguard: error: --check TFG_SEC_9: matches no check (did you mean TFG_SEC_1?)"),
    (["--soft-fail", "--hard-fail-on", "CKV_AWS_2A"], 2, "tfguard: error: --hard-fail-on CKV_AWS_2A: matches no"),
    (["--skip-check", "CKV_AWS_2A"], 1, "tfguard: warning: --skip-check CKV_AWS_2A: matches no check"),
    (["--check", "CKV_AWS_24", "--soft-fail-on", "CKV_AWS_2A"], 1,
     "tfguard: warning: --soft-fail-on CKV_AWS_2A: matches no check"),
    (["--check", "CKV_AWS_2*,TFG_PROV_1"], 1, None),
    (["--soft-fail", "--hard-fail-on", "HIGH"], 1, None),
    (["--soft-fail", "--hard-fail-on", "ckv_aws_24"], 1, None),  # the gate matches its entries in any case
])
def test_a_selection_that_matches_no_check_never_passes_the_gate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], code: int, line: str | None) -> None:
    (tmp_path / "main.tf").write_text(OPEN_SSH)
    assert main(["-d", str(tmp_path), *extra]) == code
    said = [x for x in capsys.readouterr().err.splitlines() if x.startswith(("tfguard: error", "tfguard: warning"))]
    assert said == ([] if line is None else [said[0]]) and (line is None or said[0].startswith(line)), said


def test_a_typo_in_a_checkov_yaml_check_list_is_exit_2_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path, "version: 1\n")
    (repo / ".checkov.yaml").write_text("check:\n  - CKV_AWS_24\n  - CKV_AWS_2O\n")
    monkeypatch.chdir(repo / "infra")
    assert main(["scan", "prod"]) == 2
    (line,) = _errors(capsys)  # located on the entry, as configuration errors are
    assert line.startswith(f"{repo / '.checkov.yaml'}:3:5: error: check: CKV_AWS_2O: matches no check (did you"
                           " mean CKV_AWS_20?)")
    (repo / ".checkov.yaml").write_text("check:\n  - CKV_AWS_24\n")
    assert main(["scan", "prod"]) == 1
    assert main(["scan", "prod", "--check", "CKV_AWS_2O"]) == 2  # the command line's list replaces the file's
    assert _errors(capsys)[-1].startswith("tfguard: error: --check CKV_AWS_2O: matches no check")
    (repo / ".checkov.yaml").write_text("check: HIGH\n")
    assert main(["scan", "prod"]) == 2
    assert _errors(capsys) == [f"{repo / '.checkov.yaml'}:1:8: error: check: HIGH: Checkov selects checks by"
                               " severity only with its platform's metadata, so offline this selects none; gate on"
                               " tfguard's severities with --fail-on HIGH"]
    (repo / ".checkov.yaml").write_text("skip-check:\n  - CKV_AWS_2A\n")  # stricter, not weaker: in the report
    out = tmp_path / "r.json"
    assert main(["scan", "prod", "-o", "json", "--output-file-path", str(out)]) == 1
    assert _errors(capsys) == []
    report = json.loads((out / "results_json.json").read_text())
    (problem,) = [p for p in report["problems"] if p["code"] == "config"]
    assert problem["file"].endswith(".checkov.yaml") and problem["line"] == 2 and problem["severity"] == "LOW"
    assert problem["message"].startswith("skip-check: CKV_AWS_2A: matches no check (did you mean CKV_AWS_20?)")
    (repo / "infra" / "dev").mkdir()
    (repo / "infra" / "dev" / "main.tf").write_text(OPEN_SSH)
    assert main(["scan", "prod", "dev", "-o", "json", "--output-file-path", str(out)]) == 1
    report = json.loads((out / "results_json.json").read_text())
    assert len([p for p in report["problems"] if p["code"] == "config"]) == 1, "two folders, one file: once"
