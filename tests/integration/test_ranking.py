"""Issue #18 through the real CLI: risk classes, floors, exposure from the resource's configuration,
``risk_classes`` in ``.tfguard.yaml``, in the JSON and SARIF reports."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tfguard.cli import main
from tfguard.invocation import Invocation

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ranking"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(FIXTURE, dest)
    (dest / ".git").mkdir()  # the repository root: configuration and environments resolve here
    return dest


def _scan(repo: Path, fmt: str = "json", *extra: str) -> Any:
    out = repo.parent / f"report.{fmt}"
    inv = Invocation(cwd=str(repo), environ={"TFGUARD_NO_DAEMON": "1", "TFGUARD_CACHE_DIR": str(repo.parent / "c")},
                     stdout=io.StringIO(), stderr=io.StringIO(), stdout_isatty=False)
    code = main(["scan", "infra", "--format", fmt, "--output", str(out), *extra], inv)
    assert code in (0, 1), inv.stderr.getvalue()  # type: ignore[attr-defined]
    return json.loads(out.read_text()) if fmt != "text" else out.read_text()


def _failed(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["check_id"], f["resource"]): f for f in report["findings"] if f["result"] == "FAILED"}


def test_every_finding_carries_a_class_and_urgent_classes_lead(repo: Path) -> None:
    report = _scan(repo)
    failed = [f for f in report["findings"] if f["result"] == "FAILED"]
    assert failed and all(f["risk_class"] for f in failed)
    order = [f["risk_class"] for f in failed]  # the report lists findings most urgent first
    assert {"public-exposure", "identity-access", "data-protection", "hygiene"} <= set(order)
    last_urgent = max(i for i, c in enumerate(order) if c in ("public-exposure", "identity-access", "secrets"))
    first_hygiene = order.index("hygiene")
    assert last_urgent < first_hygiene


def test_ssh_open_to_the_world_is_critical_and_says_why(repo: Path) -> None:
    ssh = _failed(_scan(repo))[("CKV_AWS_24", "aws_security_group.web")]
    assert ssh["severity"] == "CRITICAL" and ssh["risk_class"] == "public-exposure"
    assert "publicly exposed: aws_security_group.web allows 0.0.0.0/0 on port 22 (SSH): +1 level" in ssh["context"]
    # the same rule from 10.0.0.0/8 does not fail the check at all
    assert ("CKV_AWS_24", "aws_security_group.internal") not in _failed(_scan(repo))


def test_a_public_database_ranks_above_its_private_twin_for_the_same_check(repo: Path) -> None:
    failed = _failed(_scan(repo))
    public = failed[("CKV_AWS_16", "aws_db_instance.public")]
    private = failed[("CKV_AWS_16", "aws_db_instance.private")]
    assert public["risk_class"] == private["risk_class"] == "data-protection"
    assert (public["severity"], private["severity"]) == ("MEDIUM", "LOW")
    assert public["priority"] > private["priority"]
    assert "publicly exposed: aws_db_instance.public has publicly_accessible = true: +1 level" in public["context"]
    assert not any("exposed" in c for c in private["context"])


def test_risk_classes_in_the_configuration_change_the_report(repo: Path) -> None:
    default = _failed(_scan(repo))
    (repo / ".tfguard.yaml").write_text(
        "risk_classes:\n  order: [data-protection]\n  floors: {}\n")
    configured = _failed(_scan(repo))
    iam = ("CKV_AWS_286", "aws_iam_policy.admin")  # vendor MEDIUM; identity floor HIGH by default
    assert (default[iam]["severity"], configured[iam]["severity"]) == ("HIGH", "MEDIUM")
    enc = ("CKV_AWS_16", "aws_db_instance.public")
    assert "risk class data-protection (1 of 6)" in configured[enc]["context"]
    assert configured[enc]["priority"] > default[enc]["priority"]


def test_an_invalid_risk_classes_key_is_a_located_error(repo: Path) -> None:
    (repo / ".tfguard.yaml").write_text("risk_classes:\n  order: [public-exposure, urgent]\n")
    inv = Invocation(cwd=str(repo), environ={"TFGUARD_NO_DAEMON": "1", "TFGUARD_CACHE_DIR": str(repo.parent / "c")},
                     stdout=io.StringIO(), stderr=io.StringIO(), stdout_isatty=False)
    code = main(["scan", "infra", "--format", "json"], inv)
    err = inv.stderr.getvalue() + inv.stdout.getvalue()  # type: ignore[attr-defined]
    assert code == 2
    assert ".tfguard.yaml:2:" in err and "risk_classes.order[1]: unknown risk class" in err


def test_sarif_results_carry_the_class(repo: Path) -> None:
    sarif = _scan(repo, "sarif")
    results = sarif["runs"][0]["results"]
    ssh = next(r for r in results if r["ruleId"] == "CKV_AWS_24")
    assert ssh["properties"]["risk_class"] == "public-exposure"
    assert any("port 22 (SSH)" in c for c in ssh["properties"]["context"])


def test_codeowners_in_json_sarif_and_the_text_report_by_owner(repo: Path) -> None:
    (repo / ".github").mkdir()
    (repo / ".github" / "CODEOWNERS").write_text("* @acme/platform\n/infra/ @acme/secops @alice\n")
    report = _scan(repo)
    assert {tuple(f["owners"]) for f in report["findings"]} == {("@acme/secops", "@alice")}
    sarif = _scan(repo, "sarif")
    assert all(r["properties"]["owners"] == ["@acme/secops", "@alice"] for r in sarif["runs"][0]["results"])
    text = _scan(repo, "text", "--group-by", "owner")
    lines = text.splitlines()
    assert "@acme/secops" in lines and "@alice" in lines
    assert text.count("CKV_AWS_24") == 2  # listed under each owner
    # a CODEOWNERS edit reaches the next scan (the scan cache keys on it): last match wins
    (repo / ".github" / "CODEOWNERS").write_text("/infra/ @acme/secops\n* @acme/platform\n")
    assert {tuple(f["owners"]) for f in _scan(repo)["findings"]} == {("@acme/platform",)}
