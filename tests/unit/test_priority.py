from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tfguard.model import Finding, Result, Severity, Span
from tfguard.priority import (
    ENV_STEP,
    EXPOSURE_BONUS,
    LEVEL_STEP,
    PriorityConfig,
    assess,
    find_exposure,
    lsp_level,
    match_environment,
    match_override,
    rank,
    resource_type_of,
)

ROOT = "/ws"
OPEN_SG: dict[str, Any] = {
    "name": ["web"],
    "ingress": [{"from_port": [22], "to_port": [22], "protocol": ["tcp"], "cidr_blocks": [["0.0.0.0/0"]]}],
    "egress": [{"from_port": [0], "to_port": [0], "protocol": ["-1"], "cidr_blocks": [["0.0.0.0/0"]]}],
}
CLOSED_SG: dict[str, Any] = {
    "ingress": [{"from_port": [22], "to_port": [22], "cidr_blocks": [["10.0.0.0/8"]]}],
    "egress": [{"from_port": [0], "to_port": [0], "cidr_blocks": [["0.0.0.0/0"]]}],
}


def finding(
    check_id: str = "CKV_AWS_20",
    file: str = f"{ROOT}/main.tf",
    resource: str = "aws_s3_bucket.data",
    line: int = 1,
    *,
    name: str = "",
    source: str = "checkov",
    severity: Severity = Severity.MEDIUM,
) -> Finding:
    return Finding(
        check_id=check_id,
        check_name=name,
        result=Result.FAILED,
        file=file,
        resource=resource,
        line_range=(line, line + 5),
        span=Span.of(line - 1, 0, line - 1, 10),
        source=source,
        severity=severity,
    )


DEFAULT = PriorityConfig()


# ------------------------------------------------------------------ base severity and priority


def test_plain_finding_keeps_the_table_severity_and_gets_a_level_priority() -> None:
    out = assess(finding("CKV_AWS_20"), None, DEFAULT, ROOT)  # vendor: HIGH
    assert out.severity is Severity.HIGH
    assert out.priority == Severity.HIGH.rank * LEVEL_STEP
    assert out.context == ()


def test_unlisted_checkov_check_uses_the_fallback_and_says_so() -> None:
    f = finding("CKV_NEW_1", name="Ensure the thing is not publicly accessible")
    out = assess(f, None, DEFAULT, ROOT)
    assert out.severity is Severity.HIGH
    assert out.context and out.context[0].startswith("severity HIGH by fallback rule")


def test_custom_policy_keeps_its_declared_severity() -> None:
    f = finding("ORG_1", source="policy", severity=Severity.CRITICAL)
    assert assess(f, None, DEFAULT, ROOT).severity is Severity.CRITICAL


# ------------------------------------------------------------------ environment


@pytest.mark.parametrize(
    ("path", "label", "delta"),
    [
        ("envs/prod/main.tf", "production path", 1),
        ("prod/main.tf", "production path", 1),
        ("live/Production/eu/main.tf", "production path", 1),
        ("prd/x.tf", "production path", 1),
        ("envs/dev/main.tf", "non-production path", -1),
        ("sandbox/a/b.tf", "non-production path", -1),
        ("modules/vpc/examples/basic/main.tf", "non-production path", -1),
        ("test/main.tf", "non-production path", -1),
    ],
)
def test_default_environment_patterns(path: str, label: str, delta: int) -> None:
    env = match_environment(f"{ROOT}/{path}", DEFAULT.environments, ROOT)
    assert env is not None and env[2] == label and env[1] == delta


@pytest.mark.parametrize("path", ["main.tf", "modules/product/main.tf", "devops/main.tf", "testing/x.tf"])
def test_paths_outside_any_environment(path: str) -> None:
    assert match_environment(f"{ROOT}/{path}", DEFAULT.environments, ROOT) is None


def test_environment_matches_absolute_paths_without_a_workspace_root() -> None:
    assert match_environment("/home/me/infra/prod/main.tf", DEFAULT.environments, None) is not None


def test_prod_finding_outranks_its_dev_twin() -> None:
    prod = assess(finding(file=f"{ROOT}/envs/prod/s3.tf"), None, DEFAULT, ROOT)
    dev = assess(finding(file=f"{ROOT}/envs/dev/s3.tf"), None, DEFAULT, ROOT)
    plain = assess(finding(file=f"{ROOT}/s3.tf"), None, DEFAULT, ROOT)
    assert [f.file for f in rank([dev, plain, prod])] == [prod.file, plain.file, dev.file]
    assert prod.severity is Severity.CRITICAL and dev.severity is Severity.MEDIUM
    assert prod.priority - plain.priority == ENV_STEP
    assert "production path (prod/**): +1 level" in prod.context
    assert "non-production path (dev/**): -1 level" in dev.context


def test_production_alone_does_not_jump_a_whole_level() -> None:
    prod_high = assess(finding("CKV_AWS_20", file=f"{ROOT}/prod/a.tf"), None, DEFAULT, ROOT)
    critical = assess(finding("CKV_NEW_1", source="policy", severity=Severity.CRITICAL), None, DEFAULT, ROOT)
    assert critical.priority > prod_high.priority


def test_configured_environment_delta_of_two_levels() -> None:
    config = PriorityConfig(environments=(("**/live/**", 2, "live account"),))
    out = assess(finding("CKV_AWS_19", file=f"{ROOT}/live/s3.tf"), None, config, ROOT)  # vendor: LOW
    assert out.severity is Severity.HIGH
    assert "live account (live/**): +2 levels" in out.context


def test_severity_is_clamped_at_the_ends() -> None:
    out = assess(finding("CKV2_AWS_11", file=f"{ROOT}/dev/vpc.tf"), None, DEFAULT, ROOT)  # vendor: INFO
    assert out.severity is Severity.INFO
    assert out.priority == -ENV_STEP


# ------------------------------------------------------------------ exposure


def test_public_ingress_outranks_encryption_at_rest_of_the_same_base_severity() -> None:
    # Both LOW in the vendor table: CKV_AWS_23 (SG rule description) stands in for an ingress rule
    # check on the open group; CKV_AWS_19 is S3 encryption at rest.
    assert table_entry_severity("CKV_AWS_23") is table_entry_severity("CKV_AWS_19")
    open_group = finding("CKV_AWS_23", resource="aws_security_group.web", line=30)
    bucket = finding("CKV_AWS_19", resource="aws_s3_bucket.data", line=1)
    ingress = assess(open_group, OPEN_SG, DEFAULT, ROOT)
    at_rest = assess(bucket, {"bucket": ["d"]}, DEFAULT, ROOT)
    assert ingress.priority == at_rest.priority + EXPOSURE_BONUS
    assert rank([at_rest, ingress]) == [ingress, at_rest]
    assert "publicly exposed: ingress from 0.0.0.0/0" in ingress.context
    assert ingress.severity is at_rest.severity


def table_entry_severity(check_id: str) -> Severity:
    from tfguard.severity import table_entry

    entry = table_entry(check_id)
    assert entry is not None
    return entry.severity


@pytest.mark.parametrize(
    ("conf", "reason"),
    [
        (OPEN_SG, "ingress from 0.0.0.0/0"),
        ({"type": ["ingress"], "cidr_blocks": [["0.0.0.0/0"]]}, "ingress from 0.0.0.0/0"),
        ({"ingress": [{"ipv6_cidr_blocks": [["::/0"]]}]}, "ingress from ::/0"),
        ({"cidr_ipv4": ["0.0.0.0/0"], "from_port": [22]}, "ingress from 0.0.0.0/0"),
        ({"source_ranges": [["0.0.0.0/0"]], "direction": ["INGRESS"]}, "ingress from 0.0.0.0/0"),
        ({"security_rule": [{"direction": ["Inbound"], "source_address_prefix": ["*"]}]}, "ingress from *"),
        ({"acl": ["public-read"]}, "acl public-read"),
        ({"acl": ["public-read-write"]}, "acl public-read-write"),
        ({"associate_public_ip_address": [True]}, "associate_public_ip_address = true"),
        ({"publicly_accessible": ["true"]}, "publicly_accessible = true"),
        (
            {"network_interface": [{"associate_public_ip_address": [True]}]},
            "associate_public_ip_address = true",
        ),
    ],
)
def test_exposure_is_detected(conf: dict[str, Any], reason: str) -> None:
    assert find_exposure(conf) == reason


@pytest.mark.parametrize(
    "conf",
    [
        None,
        {},
        CLOSED_SG,
        {"egress": [{"cidr_blocks": [["0.0.0.0/0"]]}]},
        {"type": ["egress"], "cidr_blocks": [["0.0.0.0/0"]]},
        {"egress": [True], "cidr_block": ["0.0.0.0/0"]},  # aws_network_acl_rule egress
        {"route": [{"cidr_block": ["0.0.0.0/0"], "gateway_id": ["igw"]}]},
        {"destination_cidr_block": ["0.0.0.0/0"]},
        {"direction": ["EGRESS"], "destination_ranges": [["0.0.0.0/0"]]},
        {"acl": ["private"]},
        {"publicly_accessible": [False]},
        {"cidr_blocks": [["${var.allowed}"]]},
    ],
)
def test_no_exposure(conf: dict[str, Any] | None) -> None:
    assert find_exposure(conf) is None


def test_exposure_detection_can_be_switched_off() -> None:
    out = assess(finding("CKV_AWS_23"), OPEN_SG, PriorityConfig(detect_exposure=False), ROOT)
    assert out.priority == table_entry_severity("CKV_AWS_23").rank * LEVEL_STEP
    assert not any("exposed" in c for c in out.context)


# ------------------------------------------------------------------ overrides


def test_override_changes_the_order() -> None:
    s3_acl = finding("CKV_AWS_20", line=1)  # HIGH
    s3_enc = finding("CKV_AWS_19", line=9)  # LOW
    assert rank([assess(s3_enc, None, DEFAULT, ROOT), assess(s3_acl, None, DEFAULT, ROOT)])[0].check_id == \
        "CKV_AWS_20"
    config = PriorityConfig(overrides={"CKV_AWS_19": Severity.CRITICAL})
    ranked = rank([assess(s3_acl, None, config, ROOT), assess(s3_enc, None, config, ROOT)])
    assert [f.check_id for f in ranked] == ["CKV_AWS_19", "CKV_AWS_20"]
    assert ranked[0].severity is Severity.CRITICAL
    assert "severity CRITICAL set by override (check id)" in ranked[0].context


@pytest.mark.parametrize(
    ("overrides", "check_id", "expected"),
    [
        ({"CKV_AWS_*": Severity.LOW}, "CKV_AWS_20", ("CKV_AWS_*", Severity.LOW)),
        ({"ckv_aws_*": Severity.LOW, "CKV_AWS_2?": Severity.INFO}, "CKV_AWS_20",
         ("CKV_AWS_2?", Severity.INFO)),
        ({"CKV_AWS_*": Severity.LOW, "CKV_AWS_20": Severity.HIGH}, "CKV_AWS_20",
         ("CKV_AWS_20", Severity.HIGH)),
        ({"CKV2_*": Severity.LOW}, "CKV_AWS_20", None),
    ],
)
def test_override_matching(overrides: dict[str, Severity], check_id: str,
                           expected: tuple[str, Severity] | None) -> None:
    assert match_override(check_id, overrides) == expected


def test_pattern_override_says_which_pattern() -> None:
    out = assess(finding("CKV_AWS_20"), None, PriorityConfig(overrides={"CKV_AWS_*": Severity.INFO}), ROOT)
    assert out.severity is Severity.INFO
    assert out.context == ("severity INFO set by override (pattern CKV_AWS_*)",)


def test_config_from_mapping() -> None:
    config = PriorityConfig.from_mapping(
        {
            "environments": [{"pattern": "**/live/**", "delta": 1, "label": "live"}, ["**/tmp/**", -1]],
            "overrides": {"ckv_aws_19": "high"},
            "detect_exposure": False,
        }
    )
    assert config.environments == (("**/live/**", 1, "live"), ("**/tmp/**", -1, "environment"))
    assert config.overrides == {"CKV_AWS_19": Severity.HIGH}
    assert config.detect_exposure is False
    assert PriorityConfig.from_mapping(None) == PriorityConfig()


@pytest.mark.parametrize(
    "data",
    [{"nope": 1}, {"overrides": {"CKV_AWS_1": "urgent"}}, {"environments": [{"pattern": "x", "delta": "1"}]}],
)
def test_config_from_mapping_rejects_bad_input(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PriorityConfig.from_mapping(data)


# ------------------------------------------------------------------ rank, lsp level, helpers


def test_rank_breaks_ties_by_file_then_line() -> None:
    a = dataclasses.replace(finding(file="/ws/b.tf", line=3), priority=100)
    b = dataclasses.replace(finding(file="/ws/a.tf", line=9), priority=100)
    c = dataclasses.replace(finding(file="/ws/a.tf", line=2), priority=100)
    d = dataclasses.replace(finding(file="/ws/z.tf", line=1), priority=200)
    assert rank([a, b, c, d]) == [d, c, b, a]


@pytest.mark.parametrize(
    ("sev", "level"),
    [
        (Severity.CRITICAL, "error"),
        (Severity.HIGH, "error"),
        (Severity.MEDIUM, "warning"),
        (Severity.LOW, "information"),
        (Severity.INFO, "hint"),
    ],
)
def test_lsp_level_defaults(sev: Severity, level: str) -> None:
    assert lsp_level(sev) == level


def test_lsp_level_overrides() -> None:
    assert lsp_level(Severity.MEDIUM, {"medium": "Error"}) == "error"
    assert lsp_level(Severity.LOW, {Severity.MEDIUM: "error"}) == "information"
    with pytest.raises(ValueError):
        lsp_level(Severity.LOW, {Severity.LOW: "fatal"})


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("aws_s3_bucket.data", "aws_s3_bucket"),
        ("module.vpc.aws_vpc.this[0]", "aws_vpc"),
        ('module.a["x"].module.b.aws_iam_role.r', "aws_iam_role"),
        ("data.aws_iam_policy_document.p", "aws_iam_policy_document"),
        ("aws", None),
    ],
)
def test_resource_type_of(address: str, expected: str | None) -> None:
    assert resource_type_of(address) == expected
