from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import SHARED

from tfguard.model import Severity
from tfguard.severity import (
    CHECKOV_POLICY_INDEX,
    decide_severity,
    fallback_severity,
    guideline_for,
    known_check_ids,
    severity_for,
    table_entry,
    table_header,
)

DATA = Path(__file__).resolve().parents[2] / "server" / "tfguard" / "data"
COVERAGE_FLOOR = 0.90  # measured 1052 / 1144 = 92.0% with Checkov 3.3.30


# build_severities.terraform_checks, run in a fresh interpreter (see _installed_terraform_checks)
_LIST_CHECKS = ("import json; from tfguard.data.build_severities import terraform_checks; "
                "print(json.dumps(terraform_checks()))")


def _installed_terraform_checks() -> dict[str, str]:
    """Every check the installed Checkov registers for Terraform, read in a fresh interpreter
    (checks other tests register or load in this process must not count)."""
    out = subprocess.run([sys.executable, "-c", _LIST_CHECKS], capture_output=True, text=True, check=True,
                         timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def terraform_checks() -> dict[str, str]:
    return _installed_terraform_checks()


def test_every_installed_terraform_check_gets_a_severity(terraform_checks: dict[str, str]) -> None:
    assert len(terraform_checks) > 1000
    for check_id, name in terraform_checks.items():
        assert isinstance(severity_for(check_id, check_name=name), Severity)
        assert guideline_for(check_id)


def test_table_covers_most_installed_terraform_checks(terraform_checks: dict[str, str]) -> None:
    covered = [cid for cid in terraform_checks if table_entry(cid) is not None]
    coverage = len(covered) / len(terraform_checks)
    print(f"severity table coverage: {len(covered)}/{len(terraform_checks)} = {coverage:.1%}")
    assert coverage >= COVERAGE_FLOOR


def test_table_lists_only_installed_terraform_checks(terraform_checks: dict[str, str]) -> None:
    assert known_check_ids() <= set(terraform_checks)


def test_header_records_origin() -> None:
    header = table_header()
    assert header["commit"] == "2c9f76b"
    assert "checkov-oss-severity-mappings" in header["extracted_by"]
    assert header["date"]
    assert header["entries"] == len(known_check_ids())


@pytest.mark.parametrize(
    ("check_id", "expected"),
    [
        ("CKV_AWS_20", Severity.HIGH),  # S3 ACL grants READ to everyone
        ("CKV_AWS_19", Severity.LOW),  # S3 server-side encryption
        ("CKV_AWS_1", Severity.LOW),  # IAM full admin policy document
        ("CKV2_AWS_11", Severity.INFO),  # VPC flow logs
        ("CKV_AWS_24", Severity.INFO),  # SSH from anywhere (the vendor's build-time rating)
        ("CKV_AWS_87", Severity.MEDIUM),  # conflicting duplicate LOW/MEDIUM -> the highest
        ("ckv_aws_20", Severity.HIGH),  # ids are case-insensitive
    ],
)
def test_known_severities_come_from_the_vendor_table(check_id: str, expected: Severity) -> None:
    assert severity_for(check_id) is expected
    assert decide_severity(check_id).source == "table"


def test_table_severity_wins_over_fallback_keywords() -> None:
    # CKV_AWS_19 is about encryption (fallback would say MEDIUM) but the vendor says LOW.
    name = "Ensure data is encrypted"
    assert severity_for("CKV_AWS_19", "aws_s3_bucket", "ENCRYPTION", name) is Severity.LOW


def test_table_agrees_with_the_shipped_source_records() -> None:
    source = SHARED / "data" / "checkov-policy-metadata.json"
    if not source.exists():
        pytest.skip("source data not available")
    records = json.loads(source.read_text(encoding="utf-8"))
    by_id: dict[str, set[str]] = {}
    for record in records:
        by_id.setdefault(record["checkov_id"], set()).add(record["severity"])
    for check_id in known_check_ids():
        assert table_entry(check_id).severity.value in by_id[check_id]  # type: ignore[union-attr]


def test_guideline_is_the_published_prisma_cloud_page() -> None:
    assert guideline_for("CKV_AWS_20") == (
        "https://docs.prismacloud.io/en/enterprise-edition/policy-reference/"
        "aws-policies/s3-policies/s3-1-acl-read-permissions-everyone"
    )


@pytest.mark.parametrize(
    ("check_id", "expected"),
    [
        ("CKV_YC_2", CHECKOV_POLICY_INDEX),  # Checkov id the table does not list
        ("CKV2_NOPE_999", CHECKOV_POLICY_INDEX),
        ("ORG_S3_1", None),  # custom/org policy: nothing to link to
        ("", None),
    ],
)
def test_guideline_fallback(check_id: str, expected: str | None) -> None:
    assert guideline_for(check_id) == expected


@pytest.mark.parametrize(
    ("name", "resource_type", "category", "expected"),
    [
        ("Ensure no security groups allow ingress from 0.0.0.0:0 to port 22", "aws_security_group", None,
         Severity.HIGH),
        ("Ensure storage bucket does not have public access permissions.", None, None, Severity.HIGH),
        ('Ensure IAM policies that allow full "*-*" administrative privileges are not created', None, "IAM",
         Severity.HIGH),
        ("Ensure no hard coded API token exist in the provider", None, "SECRETS", Severity.HIGH),
        ("Ensure storage bucket is encrypted.", None, "ENCRYPTION", Severity.MEDIUM),
        ("Ensure LB Listener uses TLS 1.2", None, None, Severity.MEDIUM),
        ("Ensure NKS control plane logging enabled for all log types", None, "LOGGING", Severity.LOW),
        ("Ensure every access control groups rule has a description", None, None, Severity.LOW),
        ("Ensure no security group rules allow outbound traffic to 0.0.0.0/0", None, None, Severity.MEDIUM),
        ("Ensure WAF is configured with AMR for Log4j Vulnerability", None, None, Severity.MEDIUM),
        (None, None, "CheckCategories.BACKUP_AND_RECOVERY", Severity.LOW),
        (None, None, "convention", Severity.LOW),
        (None, "yandex_vpc_security_group", None, Severity.MEDIUM),
        ("Ensure the widget frobs", "acme_widget", "GENERAL_SECURITY", Severity.MEDIUM),
        (None, None, None, Severity.MEDIUM),
    ],
)
def test_fallback_rules(name: str | None, resource_type: str | None, category: str | None,
                        expected: Severity) -> None:
    check_id = "CKV_NEW_1"
    assert table_entry(check_id) is None
    assert severity_for(check_id, resource_type, category, check_name=name) is expected
    assert decide_severity(check_id, resource_type, category, name).source == "fallback"


def test_secret_check_family_is_high_without_a_name() -> None:
    assert fallback_severity("CKV_SECRET_99").severity is Severity.HIGH


def test_build_script_reproduces_the_shipped_table(tmp_path: Path) -> None:
    source = SHARED / "data" / "checkov-policy-metadata.json"
    if not source.exists():
        pytest.skip(f"source data not found at {source}")
    out = tmp_path / "severities.json"
    # a fresh interpreter: checks registered by other tests in this process must not leak in
    subprocess.run([sys.executable, str(DATA / "build_severities.py"), "--source", str(source), "--output",
                    str(out)], check=True, timeout=300, capture_output=True)
    assert out.read_text(encoding="utf-8") == (DATA / "severities.json").read_text(encoding="utf-8")
