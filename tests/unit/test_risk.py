"""Risk classes (issue #18): the shipped table, its build, the name rules and the org rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tfguard.risk import (
    ORG_RULE_CLASSES,
    RISK_CLASSES,
    classify_check,
    classify_name,
    parse_class,
    table_class,
    table_header,
)

DATA = Path(__file__).resolve().parents[2] / "server" / "tfguard" / "data"


def test_build_script_reproduces_the_shipped_table(tmp_path: Path) -> None:
    out = tmp_path / "risk_classes.json"
    # a fresh interpreter: checks registered by other tests in this process must not leak in
    subprocess.run([sys.executable, str(DATA / "build_risk_classes.py"), "--output", str(out)],
                   check=True, timeout=300, capture_output=True)
    assert out.read_text(encoding="utf-8") == (DATA / "risk_classes.json").read_text(encoding="utf-8")


def test_every_installed_terraform_check_has_a_class() -> None:
    listed = subprocess.run(
        [sys.executable, "-c", "import json; from tfguard.data.build_risk_classes import terraform_checks; "
                               "print(json.dumps(sorted(terraform_checks())))"],
        capture_output=True, text=True, check=True, timeout=300)
    ids = json.loads(listed.stdout.strip().splitlines()[-1])
    assert len(ids) > 1000
    assert [cid for cid in ids if table_class(cid) not in RISK_CLASSES] == []


def test_header_records_origin_and_counts() -> None:
    header = table_header()
    assert "Checkov" in str(header["origin"]) and header["checkov_version"]
    counts = header["counts"]
    assert isinstance(counts, dict) and set(counts) == set(RISK_CLASSES)
    assert all(n > 0 for n in counts.values())
    assert header["exceptions_not_registered"] == []


@pytest.mark.parametrize(("check_id", "expected"), [
    # one fixture per class, from the table
    ("CKV_AWS_24", "public-exposure"),  # SSH from 0.0.0.0/0 (reviewed: the vendor rates it INFO)
    ("CKV_AWS_17", "public-exposure"),  # RDS publicly accessible
    ("CKV_AWS_20", "public-exposure"),  # S3 public READ ACL
    ("CKV_AWS_286", "identity-access"),  # IAM privilege escalation
    ("CKV_AWS_355", "identity-access"),  # "*" as a statement's resource
    ("CKV_AWS_62", "identity-access"),  # full "*-*" admin
    ("CKV_AWS_41", "secrets"),  # hard-coded access key in the provider
    ("CKV_AWS_46", "secrets"),  # secrets in EC2 user data
    ("CKV_AWS_19", "data-protection"),  # S3 encryption at rest
    ("CKV_AWS_16", "data-protection"),  # RDS encryption
    ("CKV_AWS_293", "data-protection"),  # deletion protection
    ("CKV_AWS_18", "logging-monitoring"),  # S3 access logging
    ("CKV2_AWS_11", "logging-monitoring"),  # VPC flow logs
    ("CKV_AWS_23", "hygiene"),  # security group rule descriptions
    ("CKV_AWS_135", "hygiene"),  # EBS optimised
])
def test_known_checks(check_id: str, expected: str) -> None:
    decision = classify_check(check_id)
    assert (decision.risk_class, decision.source) == (expected, "table")


def test_every_org_rule_has_a_class() -> None:
    from tfguard.rules import ALL_RULES

    rule_ids = {rule.id for rule in ALL_RULES}
    assert rule_ids and rule_ids <= set(ORG_RULE_CLASSES)
    assert classify_check("TFG_SEC_1").risk_class == "secrets"
    assert classify_check("TFG_TAG_1").risk_class == "hygiene"


@pytest.mark.parametrize(("name", "expected"), [
    ("Ensure no hard-coded credentials exist in the config", "secrets"),
    ("Ensure the database is not publicly accessible", "public-exposure"),
    ("Ensure the firewall allows no egress to 0.0.0.0/0", "hygiene"),  # open egress is not exposure
    ("Ensure the policy does not grant admin privileges", "identity-access"),
    ("Ensure the volume is encrypted with a CMK", "data-protection"),
    ("Ensure audit logging is enabled", "logging-monitoring"),
    ("Ensure the bucket has an owner tag", "hygiene"),
])
def test_custom_policies_are_classified_by_name(name: str, expected: str) -> None:
    assert classify_name(name)[0] == expected
    decision = classify_check("ORG_POLICY_9", name)
    assert (decision.risk_class, decision.source) == (expected, "name")


def test_parse_class() -> None:
    assert parse_class(" Public_Exposure ") == "public-exposure"
    with pytest.raises(ValueError, match="unknown risk class"):
        parse_class("urgent")
