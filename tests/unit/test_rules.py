from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from tfguard.cli import main
from tfguard.model import Finding, Result, Severity
from tfguard.rules import ALL_RULES, RULES_BY_ID
from tfguard.scan.report import ordered, render_json, render_sarif, render_text
from tfguard.scan.runner import scan
from tfguard.wiring import make_engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "policies"
RULES_ROOT = FIXTURES / "rules"
SECRETS = ("AKIAZZTFGUARDTEST123", "s3cr3t-Zm9vYmFyYmF6cXV4-tfguard-canary", "Hunter2-tfguard-canary-pw",
           "tok-9f8e7d6c5b4a-tfguard-canary", "tfguardcanarykeymaterial", "ci-only-password-123")


def org_findings(case: str) -> list[Finding]:
    engine = make_engine(str(RULES_ROOT))
    out: list[Finding] = []
    for tf in sorted((RULES_ROOT / case).glob("*.tf")):
        out.extend(f for f in engine.analyze_file(str(tf)).findings if f.source == "org")
    return out


def ids(findings: list[Finding], result: Result = Result.FAILED) -> list[tuple[str, str]]:
    return sorted((f.check_id, f.resource) for f in findings if f.result is result)


def test_every_rule_has_id_name_severity_and_guideline() -> None:
    assert sorted(RULES_BY_ID) == ["TFG_MOD_1", "TFG_MOD_2", "TFG_MOD_3", "TFG_MOD_4", "TFG_PROV_1",
                                   "TFG_PROV_2", "TFG_SEC_1", "TFG_TAG_1"]
    docs = (FIXTURES.parents[2] / "docs" / "policies.md").read_text()
    for rule in ALL_RULES:
        assert rule.name and isinstance(rule.severity, Severity)
        assert rule.guideline.endswith(f"policies.md#{rule.id.lower()}")
        assert f'<a id="{rule.id.lower()}"></a>' in docs


def test_module_rules_negative() -> None:
    assert org_findings("modules_pass") == []


def test_module_rules_positive() -> None:
    found = org_findings("modules_fail")
    assert ids(found) == [
        ("TFG_MOD_1", "module.unapproved"),
        ("TFG_MOD_2", "module.git_branch"),
        ("TFG_MOD_2", "module.git_no_ref"),
        ("TFG_MOD_2", "module.registry_unpinned"),
        ("TFG_MOD_3", "module.git_too_new"),
        ("TFG_MOD_3", "module.too_old"),
        ("TFG_MOD_4", "aws_s3_bucket.raw"),
    ]
    by = {(f.check_id, f.resource): f for f in found}
    unpinned = by[("TFG_MOD_2", "module.registry_unpinned")]
    assert "4.2.1" in unpinned.message and unpinned.span.start.line == 6  # the source attribute
    too_old = by[("TFG_MOD_3", "module.too_old")]
    assert "~> 4.2" in too_old.message and too_old.span.start.line == 19  # the version attribute (0-based)
    assert "use the approved module 's3-bucket'" in by[("TFG_MOD_4", "aws_s3_bucket.raw")].message.lower()
    assert all(f.guideline and f.guideline.endswith(f.check_id.lower()) for f in found)


def test_skip_comment_makes_org_rule_skipped() -> None:
    skipped = [f for f in org_findings("modules_fail") if f.result is Result.SKIPPED]
    assert [(f.check_id, f.resource, f.suppress_comment) for f in skipped] == [
        ("TFG_MOD_1", "module.skipped", "Vendor module reviewed in SEC-4711")]


def test_tag_rule_negative() -> None:
    assert org_findings("tags_pass") == []


def test_tag_rule_positive() -> None:
    found = [f for f in org_findings("tags_fail") if f.check_id == "TFG_TAG_1"]
    assert ids(found) == [("TFG_TAG_1", "aws_instance.untagged"), ("TFG_TAG_1", "aws_s3_bucket.partly"),
                          ("TFG_TAG_1", "google_storage_bucket.unlabelled")]
    by = {f.resource: f for f in found}
    assert "cost-center, data-classification" in by["aws_s3_bucket.partly"].message  # by_type adds a key
    assert "owner" not in by["aws_s3_bucket.partly"].message
    assert by["aws_s3_bucket.partly"].span.start.line == 7  # the tags attribute
    assert "labels" in by["google_storage_bucket.unlabelled"].message


def test_provider_rules_negative() -> None:
    assert org_findings("providers_pass") == []


def test_provider_rules_positive() -> None:
    found = org_findings("providers_fail")
    assert ids(found) == [("TFG_PROV_1", "terraform"), ("TFG_PROV_2", "terraform")]
    prov1 = next(f for f in found if f.check_id == "TFG_PROV_1")
    assert "aws" in prov1.message and "random" not in prov1.message
    assert prov1.span.start.line == 2  # required_providers.aws


def test_required_version_reported_on_first_provider_without_terraform_block() -> None:
    found = org_findings("provider_only")
    assert [(f.check_id, f.resource, f.span.start.line) for f in found] == [("TFG_PROV_2", "aws", 0)]


def test_secret_rule_negative() -> None:
    assert [f for f in org_findings("secrets_pass") if f.check_id == "TFG_SEC_1"] == []


def test_secret_rule_positive() -> None:
    found = [f for f in org_findings("secrets_fail") if f.check_id == "TFG_SEC_1"]
    assert ids(found) == [("TFG_SEC_1", "aws"), ("TFG_SEC_1", "aws_db_instance.hardcoded"),
                          ("TFG_SEC_1", "tls_cert_request.csr"), ("TFG_SEC_1", "variable.api_token")]
    assert ids(found, Result.SKIPPED) == [("TFG_SEC_1", "aws_db_instance.skipped")]
    assert all(f.severity is Severity.CRITICAL for f in found)
    by = {f.resource: f for f in found}
    assert by["aws_db_instance.hardcoded"].span.start.line == 12  # the password attribute
    assert "access_key" in by["aws"].message and "secret_key" in by["aws"].message


def test_disabled_rule_is_not_reported(tmp_path: Path) -> None:
    shutil.copytree(RULES_ROOT, tmp_path / "ws")
    cfg = tmp_path / "ws" / ".tfguard.yaml"
    cfg.write_text(cfg.read_text() + "checks: {disable: [TFG_MOD_2, 'TFG_MOD_3']}\n")
    engine = make_engine(str(tmp_path / "ws"))
    found = engine.analyze_file(str(tmp_path / "ws" / "modules_fail" / "main.tf")).findings
    assert {f.check_id for f in found if f.source == "org"} == {"TFG_MOD_1", "TFG_MOD_4"}


# ----------------------------------------------------------------------------- secrets never leak


def test_secret_values_never_appear_in_any_output(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    case = RULES_ROOT / "secrets_fail"
    engine = make_engine(str(case))
    report = scan(engine, [str(case)])
    assert any(f.check_id == "TFG_SEC_1" for f in report.findings)
    outputs = [render_text(report, show_passed=True), render_json(report), render_sarif(report)]
    outputs += [repr(f) for f in report.findings]  # diagnostics are built from these fields
    tier1 = engine.analyze_file(str(case / "main.tf"))
    outputs += [repr(f) for f in tier1.findings] + [repr(p) for p in tier1.problems]
    for fmt in ("text", "json", "sarif"):
        out = tmp_path / f"report.{fmt}"
        main(["scan", str(case), "--format", fmt, "--output", str(out), "-vv"])
        outputs.append(out.read_text())
    captured = capsys.readouterr()
    outputs += [captured.out, captured.err]
    outputs += [r.getMessage() for r in caplog.records]
    blob = "\n".join(outputs)
    for secret in SECRETS:
        assert secret not in blob


# ----------------------------------------------------------------------------- ranking


def failed(root: Path, config: str | None = None) -> list[Finding]:
    engine = make_engine(str(root), config_file=config)
    return ordered([f for f in scan(engine, [str(root)]).findings if f.result is Result.FAILED])


def test_each_prod_finding_outranks_its_dev_twin() -> None:
    found = failed(FIXTURES / "ranking")
    prod = {(f.check_id, f.resource): f for f in found if "/prod/" in f.file}
    dev = {(f.check_id, f.resource): f for f in found if "/dev/" in f.file}
    assert prod.keys() == dev.keys() and len(prod) >= 3
    for key, p in prod.items():
        assert p.priority > dev[key].priority, key
        assert found.index(p) < found.index(dev[key])


def test_public_ingress_outranks_encryption_at_rest_of_same_base_severity() -> None:
    found = [f for f in failed(FIXTURES / "ranking") if "/prod/" in f.file]
    by = {f.check_id: f for f in found}
    ingress, encryption = by["CKV_AWS_260"], by["CKV_AWS_189"]  # both LOW in the vendor table
    # Issue #18: public-exposure is at least HIGH and real exposure adds a level; encryption keeps its own.
    assert ingress.severity.rank > encryption.severity.rank
    assert ingress.priority > encryption.priority
    assert found.index(ingress) < found.index(encryption)
    assert any("publicly exposed" in c for c in ingress.context)


def test_override_in_tfguard_yaml_changes_order_without_code(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "ranking" / "prod", ws)
    before = [f.check_id for f in failed(ws)]
    assert before.index("CKV_AWS_260") < before.index("CKV_AWS_189")
    # an exposed public-exposure finding is at least CRITICAL in the priority: SecOps lowers it and
    # raises the other (an override is not lifted by the class floor)
    (ws / ".tfguard.yaml").write_text("severity_overrides:\n  CKV_AWS_189: CRITICAL\n  CKV_AWS_260: LOW\n")
    after = failed(ws)
    order = [f.check_id for f in after]
    assert order.index("CKV_AWS_189") < order.index("CKV_AWS_260")
    ebs = next(f for f in after if f.check_id == "CKV_AWS_189")
    assert ebs.severity is Severity.CRITICAL and any("override" in c for c in ebs.context)


def test_cli_orders_json_findings_by_priority(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    main(["scan", str(FIXTURES / "ranking"), "--format", "json", "--output", str(out)])
    prios = [f["priority"] for f in json.loads(out.read_text())["findings"] if f["result"] == "FAILED"]
    assert prios == sorted(prios, reverse=True)


# ----------------------------------------------------------------------------- YAML policies


def test_yaml_policies_run_with_their_metadata_severity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFGUARD_CACHE_DIR", "off")
    root = FIXTURES / "custom"
    engine = make_engine(str(root))
    report = scan(engine, [str(root)])
    by = {f.check_id: f for f in report.findings if f.result is Result.FAILED}
    kms = by["ACME_AWS_KMS_1"]  # attribute block
    assert kms.source == "policy" and kms.severity is Severity.CRITICAL
    assert kms.guideline == "https://wiki.acme.internal/secops/ebs-kms"
    attach = by["ACME_AWS_NET_1"]  # connection + filter blocks
    assert attach.severity is Severity.LOW and attach.resource == "aws_ebs_volume.data"
    # tier 2 in the editor runs them too
    module = engine.analyze_module(str(root / "infra"))
    tier2 = {f.check_id: f for fa in module.values() for f in fa.findings}
    assert tier2["ACME_AWS_KMS_1"].severity is Severity.CRITICAL


def test_fail_on_uses_final_severities(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "ranking" / "prod", ws)
    (ws / ".tfguard.yaml").write_text("severity_overrides: {'*': LOW}\nenvironments: []\n")
    assert main(["scan", str(ws), "--fail-on", "HIGH", "-o", str(tmp_path / "o.txt")]) == 0
    (ws / ".tfguard.yaml").write_text(
        "severity_overrides: {'*': LOW, CKV_AWS_260: CRITICAL}\nenvironments: []\n")
    assert main(["scan", str(ws), "--fail-on", "HIGH", "-o", str(tmp_path / "o.txt")]) == 1


def test_python_checks_are_refused_from_workspace_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".tfguard.yaml").write_text("python_checks: [checks]\n")
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    out = tmp_path / "r.json"
    assert main(["scan", str(tmp_path), "--format", "json", "-o", str(out)]) == 2  # fatal in the CLI
    err = capsys.readouterr().err
    assert f"{tmp_path / '.tfguard.yaml'}:1:1: error: python_checks cannot be set" in err
    assert not out.exists(), "no report from a configuration the gate cannot use"
