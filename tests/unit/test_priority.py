from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tfguard.model import Finding, Result, Severity, Span
from tfguard.priority import (
    CLASS_STEP,
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
LEGACY = PriorityConfig(ranking="severity")


# ------------------------------------------------------------------ base severity and priority


def test_plain_finding_keeps_the_table_severity_and_gets_a_level_priority() -> None:
    # Risk ranking (the default): CKV_AWS_20 (public READ ACL) is public-exposure, the first of six
    # classes, so it gets five class steps on top of its level.
    out = assess(finding("CKV_AWS_20"), None, DEFAULT, ROOT)  # vendor: HIGH
    assert out.severity is Severity.HIGH
    assert out.risk_class == "public-exposure"
    assert out.priority == Severity.HIGH.rank * LEVEL_STEP + 5 * CLASS_STEP
    assert out.context == ("risk class public-exposure (1 of 6)",)


def test_plain_finding_in_the_severity_ranking_gets_just_its_level() -> None:
    out = assess(finding("CKV_AWS_20"), None, LEGACY, ROOT)
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
    # CKV2_AWS_11 (VPC flow logs): vendor INFO, logging-monitoring (5th of 6 classes: one step).
    out = assess(finding("CKV2_AWS_11", file=f"{ROOT}/dev/vpc.tf"), None, DEFAULT, ROOT)
    assert out.severity is Severity.INFO
    assert out.priority == -ENV_STEP + CLASS_STEP
    assert assess(finding("CKV2_AWS_11", file=f"{ROOT}/dev/vpc.tf"), None, LEGACY, ROOT).priority == -ENV_STEP


# ------------------------------------------------------------------ exposure


def test_public_ingress_outranks_encryption_at_rest_of_the_same_base_severity() -> None:
    # The severity ranking (before risk classes), kept for the benchmark's comparison.
    # Both LOW in the vendor table: CKV_AWS_23 (SG rule description) stands in for an ingress rule
    # check on the open group; CKV_AWS_19 is S3 encryption at rest.
    assert table_entry_severity("CKV_AWS_23") is table_entry_severity("CKV_AWS_19")
    open_group = finding("CKV_AWS_23", resource="aws_security_group.web", line=30)
    bucket = finding("CKV_AWS_19", resource="aws_s3_bucket.data", line=1)
    ingress = assess(open_group, OPEN_SG, LEGACY, ROOT)
    at_rest = assess(bucket, {"bucket": ["d"]}, LEGACY, ROOT)
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
    out = assess(finding("CKV_AWS_23"), OPEN_SG, PriorityConfig(detect_exposure=False, ranking="severity"), ROOT)
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
    # An override is SecOps' word: the public-exposure floor (HIGH) does not lift it.
    out = assess(finding("CKV_AWS_20"), None, PriorityConfig(overrides={"CKV_AWS_*": Severity.INFO}), ROOT)
    assert out.severity is Severity.INFO
    assert out.context == ("severity INFO set by override (pattern CKV_AWS_*)", "risk class public-exposure (1 of 6)")


def test_an_override_is_not_raised_by_exposure_but_the_exposure_is_said() -> None:
    # SecOps' explicit word wins over exposure (docs/severities.md): LOW stays LOW on an open group.
    config = PriorityConfig(overrides={"CKV_AWS_24": Severity.LOW}, environments=())
    out = assess(finding("CKV_AWS_24", resource="aws_security_group.web"), OPEN_SG, config, ROOT)
    assert out.severity is Severity.LOW
    assert out.priority == Severity.LOW.rank * LEVEL_STEP + 5 * CLASS_STEP
    assert "publicly exposed: aws_security_group.web allows 0.0.0.0/0 on port 22 (SSH) " \
        "(severity kept: set by override)" in out.context
    assert not any("+1 level" in c or "administrative port" in c for c in out.context)


def test_an_override_is_still_moved_by_the_environment() -> None:
    config = PriorityConfig(overrides={"CKV_AWS_20": Severity.LOW})
    out = assess(finding("CKV_AWS_20", file=f"{ROOT}/envs/prod/main.tf"), {"acl": ["public-read"]}, config, ROOT)
    assert out.severity is Severity.MEDIUM  # LOW, +1 for production, nothing for the public ACL


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


# ------------------------------------------------------------------ risk classes (issue #18)


def test_ssh_open_to_the_world_is_critical_not_a_hint() -> None:
    # CKV_AWS_24 is INFO in the vendor table. public-exposure is at least HIGH; the group really is
    # open on 22, which raises it one more level.
    out = assess(finding("CKV_AWS_24", resource="aws_security_group.web"), OPEN_SG, DEFAULT, ROOT)
    assert table_entry_severity("CKV_AWS_24") is Severity.INFO
    assert out.severity is Severity.CRITICAL
    assert "severity raised from INFO to HIGH: public-exposure is at least HIGH" in out.context
    assert "publicly exposed: aws_security_group.web allows 0.0.0.0/0 on port 22 (SSH): +1 level" in out.context


def test_the_same_check_behind_a_private_group_is_not_raised_by_exposure() -> None:
    out = assess(finding("CKV_AWS_24", resource="aws_security_group.web"), CLOSED_SG, DEFAULT, ROOT)
    assert out.severity is Severity.HIGH  # the class floor only
    assert not any("exposed" in c for c in out.context)


def test_an_admin_port_open_to_the_world_lifts_any_finding_on_it_to_high_then_exposure() -> None:
    rdp = {"security_rule": [{"direction": ["Inbound"], "source_address_prefix": ["Internet"],
                              "destination_port_range": ["3389"]}]}
    f = finding("ORG_LOG_1", resource="azurerm_network_security_group.nsg", source="policy",
                severity=Severity.LOW, name="Ensure flow logging is enabled for the security group")
    out = assess(f, rdp, DEFAULT, ROOT)
    assert out.risk_class == "logging-monitoring"
    assert "severity raised from LOW to HIGH: administrative port 3389 (RDP) open to the world" in out.context
    assert out.severity is Severity.CRITICAL


def test_a_web_port_open_to_the_world_raises_one_level_but_is_not_an_admin_port() -> None:
    web = {"ingress": [{"from_port": [443], "to_port": [443], "cidr_blocks": [["0.0.0.0/0"]]}]}
    f = finding("ORG_LOG_1", resource="aws_security_group.lb", source="policy", severity=Severity.LOW,
                name="Ensure flow logging is enabled")
    out = assess(f, web, DEFAULT, ROOT)
    assert out.severity is Severity.MEDIUM
    assert "publicly exposed: aws_security_group.lb allows 0.0.0.0/0 on port 443: +1 level" in out.context


def test_exposure_does_not_raise_hygiene() -> None:
    out = assess(finding("CKV_AWS_23", resource="aws_security_group.web"), OPEN_SG, DEFAULT, ROOT)
    assert out.risk_class == "hygiene"
    assert out.severity is table_entry_severity("CKV_AWS_23")


def test_a_public_database_raises_its_encryption_finding() -> None:
    db = finding("CKV_AWS_16", resource="module.db.aws_db_instance.main")  # RDS encryption at rest
    private = assess(db, {"publicly_accessible": [False]}, DEFAULT, ROOT)
    public = assess(db, {"publicly_accessible": [True]}, DEFAULT, ROOT)
    assert public.risk_class == "data-protection"
    assert public.severity.rank == private.severity.rank + 1
    assert "publicly exposed: aws_db_instance.main has publicly_accessible = true: +1 level" in public.context


@pytest.mark.parametrize(("conf", "port"), [
    (OPEN_SG, 22),
    ({"type": ["ingress"], "from_port": [0], "to_port": [0], "protocol": ["-1"], "cidr_blocks": [["0.0.0.0/0"]]}, 22),
    ({"source_ranges": [["0.0.0.0/0"]], "allow": [{"protocol": ["tcp"], "ports": [["80", "3306"]]}]}, 3306),
    ({"source_ranges": [["0.0.0.0/0"]], "allow": [{"protocol": ["tcp"], "ports": [["80", "443"]]}]}, None),
    ({"cidr_ipv4": ["0.0.0.0/0"], "from_port": [5400], "to_port": [5500]}, 5432),
    ({"security_rule": [{"direction": ["Inbound"], "source_address_prefix": ["*"],
                         "destination_port_range": ["*"]}]}, 22),
])
def test_admin_ports_are_read_beside_the_open_cidr(conf: dict[str, Any], port: int | None) -> None:
    from tfguard.priority import exposure_of

    got = exposure_of(conf)
    assert got is not None and got.admin_port == port


def test_urgent_classes_outrank_data_protection_within_a_band_and_hygiene_last() -> None:
    # Same vendor severity (HIGH), different classes: public-exposure > data-protection > hygiene.
    cases = {"CKV_AWS_20": "public-exposure", "CKV_AWS_16": "data-protection"}
    got = [assess(finding(cid, resource=f"r.{cid}"), None, DEFAULT, ROOT) for cid in cases]
    assert [f.risk_class for f in rank(got)] == ["public-exposure", "data-protection"]
    hygiene = assess(finding("TFG_PROV_1", source="org", severity=Severity.MEDIUM), None, DEFAULT, ROOT)
    data = assess(finding("ORG_X", source="policy", severity=Severity.MEDIUM, name="Ensure backups are enabled"),
                  None, DEFAULT, ROOT)
    assert hygiene.risk_class == "hygiene" and data.risk_class == "data-protection"
    assert rank([hygiene, data]) == [data, hygiene]


def test_the_identity_floor_puts_a_low_iam_check_above_a_medium_encryption_check() -> None:
    iam = assess(finding("CKV_AWS_15", resource="aws_iam_account_password_policy.p"), None, DEFAULT, ROOT)
    enc = assess(finding("ORG_E", source="policy", severity=Severity.MEDIUM, name="Ensure the volume is encrypted"),
                 None, DEFAULT, ROOT)
    assert iam.risk_class == "identity-access" and iam.severity is Severity.HIGH
    assert rank([enc, iam]) == [iam, enc]
    no_floor = PriorityConfig(class_floors={})
    assert assess(finding("CKV_AWS_15"), None, no_floor, ROOT).severity is table_entry_severity("CKV_AWS_15")


def test_a_configured_class_order_reorders_a_band() -> None:
    order = ("hygiene", "public-exposure", "identity-access", "secrets", "data-protection", "logging-monitoring")
    config = PriorityConfig(class_order=order, class_floors={})
    hygiene = assess(finding("TFG_PROV_1", source="org", severity=Severity.MEDIUM), None, config, ROOT)
    data = assess(finding("ORG_X", source="policy", severity=Severity.MEDIUM, name="Ensure backups are enabled"),
                  None, config, ROOT)
    assert rank([data, hygiene]) == [hygiene, data]
    assert "risk class hygiene (1 of 6)" in hygiene.context


def test_prod_outranks_its_dev_twin_for_every_class_and_exposure() -> None:
    cases = [("CKV_AWS_24", OPEN_SG), ("CKV_AWS_24", CLOSED_SG), ("CKV_AWS_16", {"publicly_accessible": [True]}),
             ("CKV_AWS_23", OPEN_SG), ("CKV2_AWS_11", None), ("CKV_AWS_15", None), ("TFG_SEC_1", None)]
    for cid, conf in cases:
        prod = assess(finding(cid, file=f"{ROOT}/envs/prod/main.tf"), conf, DEFAULT, ROOT)
        dev = assess(finding(cid, file=f"{ROOT}/envs/dev/main.tf"), conf, DEFAULT, ROOT)
        assert prod.priority > dev.priority, cid
        assert prod.severity.rank >= dev.severity.rank, cid


def test_ranking_option_is_validated() -> None:
    assert PriorityConfig.from_mapping({"ranking": "severity"}).ranking == "severity"
    with pytest.raises(ValueError, match="unknown ranking"):
        PriorityConfig.from_mapping({"ranking": "vibes"})


# ------------------------------------------------------------------ severity through module callers


def test_a_module_instance_finding_is_as_severe_as_its_most_severe_caller() -> None:
    in_module = finding("CKV_AWS_20", file=f"{ROOT}/modules/bucket/main.tf")
    alone = assess(in_module, None, DEFAULT, ROOT)
    # the editor's merged finding: an example caller and a production caller
    merged = dataclasses.replace(in_module, callers=(
        (f"{ROOT}/examples/complete/main.tf", 1, 4, "module.bucket"),
        (f"{ROOT}/envs/prod/main.tf", 3, 9, "module.bucket"),
    ))
    out = assess(merged, None, DEFAULT, ROOT)
    assert out.severity.rank == alone.severity.rank + 1
    assert any("through the call in envs/prod/main.tf" in c for c in out.context), out.context
    # the scan's record through the production call: the same severity
    record = dataclasses.replace(in_module, caller_file=f"{ROOT}/envs/prod/main.tf")
    assert assess(record, None, DEFAULT, ROOT).severity is out.severity
    # only an example calls it: the module's own path is the floor, an example never lowers it
    example_only = dataclasses.replace(in_module, caller_file=f"{ROOT}/examples/complete/main.tf")
    assert assess(example_only, None, DEFAULT, ROOT).severity is alone.severity
