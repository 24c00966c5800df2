"""Issue #18 through the real CLI's JSON report: explained values (a default, a variables file, a
module input), exposure through other blocks (exposed vs. the same resources behind private groups)
and blast radius (a module used by three roots vs. the same finding in a leaf)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tfguard.cli import main
from tfguard.invocation import Invocation

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    dest.mkdir()
    for name in ("explained", "reach", "blast"):
        shutil.copytree(FIXTURES / name, dest / name)
    (dest / ".git").mkdir()  # the repository root: configuration and environments resolve here
    return dest


def _scan(repo: Path, *args: str) -> dict[str, Any]:
    out = repo.parent / "report.json"
    inv = Invocation(cwd=str(repo), environ={"TFGUARD_NO_DAEMON": "1", "TFGUARD_CACHE_DIR": str(repo.parent / "c")},
                     stdout=io.StringIO(), stderr=io.StringIO(), stdout_isatty=False)
    code = main(["scan", *args, "--format", "json", "--output", str(out)], inv)
    assert code in (0, 1), inv.stderr.getvalue()  # type: ignore[attr-defined]
    return json.loads(out.read_text())


def _failed(report: dict[str, Any], check_id: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["result"] == "FAILED" and f["check_id"] == check_id]


# ----------------------------------------------------------------------------- explained values


def test_a_variable_default_is_explained_with_its_line(repo: Path) -> None:
    (f,) = _failed(_scan(repo, "-d", "explained/default", "-c", "CKV_AWS_20"), "CKV_AWS_20")
    assert f["explained"] == [{
        "key": "acl", "expression": "var.acl", "value": '"public-read"', "kind": "default",
        "origin": "variables.tf:3", "file": "variables.tf", "line": 3,  # relative to the scanned folder, as "file"
        "via": None, "text": 'acl = var.acl → "public-read" (default at variables.tf:3)'}]


def test_a_variables_file_value_is_explained_over_the_default(repo: Path) -> None:
    (f,) = _failed(_scan(repo, "-d", "explained/tfvars", "-c", "CKV_AWS_20"), "CKV_AWS_20")
    (e,) = f["explained"]
    # .tfguard.yaml var_files, applied as Checkov's --var-file, win over the default "private"
    assert (e["expression"], e["value"], e["kind"], e["origin"]) == (
        "var.acl", '"public-read"', "var-file", "prod.tfvars:1")


def test_a_module_input_is_explained_at_the_callers_line_via_the_module(repo: Path) -> None:
    report = _scan(repo, "-d", "explained", "-c", "CKV_AWS_20")
    (f,) = [x for x in _failed(report, "CKV_AWS_20") if x["resource"] == "module.s3.aws_s3_bucket.this"]
    (e,) = f["explained"]
    assert e["text"] == 'acl = var.acl → "public-read" (input at examples/complete/main.tf:8 via module.s3)'
    assert (e["kind"], e["line"], e["via"]) == ("module-input", 8, "module.s3")


def test_a_literal_is_not_explained(repo: Path) -> None:
    report = _scan(repo, "-d", "reach/exposed", "-c", "CKV_AWS_24")
    (f,) = _failed(report, "CKV_AWS_24")
    assert f["explained"] == []


# ----------------------------------------------------------------------------- real exposure


@pytest.mark.parametrize(("check_id", "resource", "why"), [
    ("CKV_AWS_8", "aws_instance.web", "reachable: aws_security_group.web allows 0.0.0.0/0 on port 22 (SSH)"),
    ("CKV_AWS_16", "aws_db_instance.main",
     "reachable: aws_security_group.db allows 0.0.0.0/0 on port 5432 (PostgreSQL)"),
    ("CKV_AWS_145", "aws_s3_bucket.site", 'reachable: aws_s3_bucket_policy.site has a policy allowing Principal "*"'),
    ("CKV_AWS_126", "aws_instance.app", "reachable: aws_lb.front is internet-facing, in front "
     "(aws_lb_listener.http -> aws_lb_target_group.app)"),
    ("CKV_AWS_126", "aws_instance.edge",
     "reachable: aws_subnet.edge gives a public IP (map_public_ip_on_launch = true)"),
], ids=["instance-behind-open-group", "database-behind-open-rule", "bucket-with-public-policy",
        "instance-behind-internet-facing-lb", "instance-in-public-subnet"])
def test_exposure_through_another_block_raises_a_level_and_says_why(
        repo: Path, check_id: str, resource: str, why: str) -> None:
    report = _scan(repo, "-d", "reach")
    exposed = next(f for f in _failed(report, check_id) if f["file"].startswith("exposed/")
                   and f["resource"] == resource)
    private = next(f for f in _failed(report, check_id) if f["file"].startswith("private/")
                   and f["resource"] == resource)
    assert f"publicly exposed: {why}: +1 level" in exposed["context"]
    assert not any("exposed" in c for c in private["context"])
    order = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
    assert order.index(exposed["severity"]) >= order.index(private["severity"]) + 1
    assert exposed["priority"] > private["priority"]


# ----------------------------------------------------------------------------- blast radius


def test_a_module_used_by_three_roots_ranks_above_the_same_finding_in_a_leaf(repo: Path) -> None:
    report = _scan(repo, "-d", "blast", "-c", "CKV_AWS_3")
    (shared,) = [f for f in _failed(report, "CKV_AWS_3") if f["file"] == "modules/shared/main.tf"]
    (leaf,) = [f for f in _failed(report, "CKV_AWS_3") if f["file"] == "modules/leaf/main.tf"]
    assert "module used by 3 roots (2 prod): +12 priority" in shared["context"]
    assert not any("module used by" in c for c in leaf["context"])
    # its production callers make it as severe as a production finding (the most severe caller, #15);
    # the blast radius adds priority on top
    assert (leaf["severity"], shared["severity"]) == ("HIGH", "CRITICAL")
    assert any("through the call in blast/envs/prod/" in c for c in shared["context"]), shared["context"]
    assert shared["priority"] > leaf["priority"]
    ids = [(f["file"], f["check_id"]) for f in report["findings"] if f["result"] == "FAILED"]
    assert ids.index(("modules/shared/main.tf", "CKV_AWS_3")) < ids.index(("modules/leaf/main.tf",
                                                                                  "CKV_AWS_3"))


def test_the_text_report_shows_the_value_and_its_origin(repo: Path) -> None:
    out = repo.parent / "report.txt"
    inv = Invocation(cwd=str(repo), environ={"TFGUARD_NO_DAEMON": "1", "TFGUARD_CACHE_DIR": str(repo.parent / "c")},
                     stdout=io.StringIO(), stderr=io.StringIO(), stdout_isatty=False)
    assert main(["scan", "-d", "explained/tfvars", "-c", "CKV_AWS_20", "--format", "text", "--output", str(out)],
                inv) == 1
    text = out.read_text()  # paths relative to the working directory, as the report's locations
    assert '    value: acl = var.acl → "public-read" (explained/tfvars/prod.tfvars:1)' in text.splitlines()
    # the exposure is real: the value from the variables file, not the literal `var.acl`
    assert "publicly exposed: aws_s3_bucket.assets has acl public-read: +1 level" in text
