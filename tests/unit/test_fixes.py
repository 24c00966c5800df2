"""Every quick fix is proven: applied through build_edits (the LSP's path), the check re-run passes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tfguard.catalogue import parse_catalogue
from tfguard.engine import Engine
from tfguard.fixes import (
    SUPPRESS_PLACEHOLDER,
    DuplicateFixError,
    FixOffer,
    LocalFix,
    build_edits,
    example_value,
    fix_all_edits,
    offers_for,
    register,
    registered_check_ids,
)
from tfguard.fixes.modules import UNMAPPED_MARKER
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result, Span

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fixes"
CATALOGUE = FIXTURES / "catalogue.yaml"


def _copy(case: str, tmp_path: Path) -> Path:
    dst = tmp_path / case
    shutil.copytree(FIXTURES / case, dst)
    return dst / "main.tf"


def _findings(engine: Engine, path: Path, graph: bool) -> list[Finding]:
    if graph:
        return engine.analyze_module(str(path.parent)).get(str(path), None).findings  # type: ignore[union-attr]
    return engine.analyze_file(str(path)).findings


def _problems(engine: Engine, path: Path) -> list[str]:
    return [p.message for p in engine.analyze_file(str(path)).problems if p.code == "syntax"]


def _failed(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.check_id, f.resource) for f in findings if f.result is Result.FAILED}


def _apply(engine: Engine, path: Path, offer: FixOffer, finding: Finding, **kw: object) -> str:
    text, _ = engine.read(str(path))
    assert text is not None
    edits = build_edits(offer, finding, engine, **kw)  # type: ignore[arg-type]
    new = apply_text_edits(text, edits)
    engine.set_overlay(str(path), new)
    return new


def _target_failure(engine: Engine, path: Path, check_id: str) -> tuple[Finding, bool]:
    for graph in (False, True):
        found = [f for f in _findings(engine, path, graph)
                 if f.check_id == check_id and f.result is Result.FAILED]
        if found:
            return found[0], graph
    raise AssertionError(f"fixture {check_id} does not fail {check_id}")


# --------------------------------------------------------------------------- registry


def test_every_registered_fix_has_a_fixture() -> None:
    missing = [c for c in registered_check_ids() if not (FIXTURES / c / "main.tf").is_file()]
    assert not missing, f"fixes without a fixture (and so without a test): {missing}"
    assert len(registered_check_ids()) >= 40


def test_registering_a_check_twice_is_an_error() -> None:
    with pytest.raises(DuplicateFixError):
        register(LocalFix("CKV_AWS_20", ("aws_s3_bucket",), "again", lambda b, t: []))


def test_fixes_cover_aws_azure_and_gcp() -> None:
    ids = registered_check_ids()
    for prefix in ("CKV_AWS_", "CKV_AZURE_", "CKV_GCP_"):
        assert sum(1 for i in ids if i.startswith(prefix)) >= 5, prefix


# --------------------------------------------------------------------------- local fixes


@pytest.mark.parametrize("check_id", registered_check_ids())
def test_fix_makes_check_pass(check_id: str, tmp_path: Path) -> None:
    path = _copy(check_id, tmp_path)
    engine = Engine(str(tmp_path))
    finding, graph = _target_failure(engine, path, check_id)
    before = _failed(_findings(engine, path, graph))

    offers = [o for o in offers_for(finding, engine) if o.kind == "local"]
    # one fix; a fix that needs a choice offers one action per choice, all in one group
    assert len(offers) == 1 or len({o.group for o in offers}) == 1, offers
    offer = offers[0]
    assert check_id in offer.title and offer.id == f"local:{check_id}" and offer.preferred
    value = example_value(offer)
    if offer.prompt is not None:
        assert value is not None and not offer.safe
        assert build_edits(offer, finding, engine) == []  # nothing without the typed value
        assert build_edits(offer, finding, engine, value="not\nvalid") == []  # two lines: never acceptable

    new = _apply(engine, path, offer, finding, value=value)
    assert new != path.read_text()
    assert _problems(engine, path) == [], new
    after = _findings(engine, path, graph)
    results = {f.result for f in after if f.check_id == check_id and f.resource == finding.resource}
    assert results == {Result.PASSED}, new
    assert _failed(after) - before == set(), new

    # idempotent: building again on the fixed text changes nothing, and nothing is offered any more
    assert build_edits(offer, finding, engine, value=value) == []
    assert not [o for o in offers_for(finding, engine) if o.kind == "local"]


def test_fix_keeps_comments_and_indentation(tmp_path: Path) -> None:
    path = _copy("CKV_AWS_20", tmp_path)
    engine = Engine(str(tmp_path))
    finding, _ = _target_failure(engine, path, "CKV_AWS_20")
    new = _apply(engine, path, offers_for(finding, engine)[0], finding)
    assert '  acl    = "private" # legacy inline ACL\n' in new


def test_nested_attribute_goes_inside_existing_block_with_its_indentation(tmp_path: Path) -> None:
    path = _copy("CKV_AZURE_78", tmp_path)
    engine = Engine(str(tmp_path))
    finding, _ = _target_failure(engine, path, "CKV_AZURE_78")
    new = _apply(engine, path, offers_for(finding, engine)[0], finding)
    assert '  site_config {\n    dotnet_framework_version = "v4.0"\n    ftps_state = "Disabled"\n  }' in new


def test_companion_resource_references_the_bucket(tmp_path: Path) -> None:
    path = _copy("CKV_AWS_21", tmp_path)
    engine = Engine(str(tmp_path))
    finding, _ = _target_failure(engine, path, "CKV_AWS_21")
    new = _apply(engine, path, offers_for(finding, engine)[0], finding)
    assert 'resource "aws_s3_bucket_versioning" "data" {\n  bucket = aws_s3_bucket.data.id\n' in new
    assert new.startswith("# Bucket for application data\n")


def test_fix_all_applies_every_safe_fix_once(tmp_path: Path) -> None:
    path = _copy("CKV2_AWS_6", tmp_path)
    engine = Engine(str(tmp_path))
    findings = engine.analyze_module(str(path.parent))[str(path)].findings
    failed_before = _failed(findings)
    edits = fix_all_edits(str(path), findings, engine)
    spans = sorted((e.span.start, e.span.end) for e in edits)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), "edits overlap"
    new = apply_text_edits(path.read_text(), edits)
    engine.set_overlay(str(path), new)
    assert new.count('resource "aws_s3_bucket_server_side_encryption_configuration"') == 1
    assert "aws_s3_bucket_logging" not in new  # not safe: needs the developer's log bucket
    after = engine.analyze_module(str(path.parent))[str(path)].findings
    fixed = {"CKV2_AWS_6", "CKV_AWS_21", "CKV_AWS_145", "CKV_AWS_19", "CKV2_AWS_62", "CKV2_AWS_61"}
    assert not {c for c, _ in _failed(after)} & fixed
    assert _failed(after) - failed_before == set()
    assert fix_all_edits(str(path), after, engine) == []


# --------------------------------------------------------------------------- suppress


def _suppress(engine: Engine, path: Path, check_id: str, reason: str | None) -> str:
    finding, _ = _target_failure(engine, path, check_id)
    offer = next(o for o in offers_for(finding, engine) if o.kind == "suppress")
    assert offer.id == f"suppress:{check_id}" and check_id in offer.title and not offer.safe
    return _apply(engine, path, offer, finding, reason=reason)


def test_suppress_inserts_skip_on_first_line_inside_block(tmp_path: Path) -> None:
    path = _copy("CKV_AWS_7", tmp_path)
    engine = Engine(str(tmp_path))
    new = _suppress(engine, path, "CKV_AWS_7", "rotation handled by the HSM team")
    assert new.startswith('resource "aws_kms_key" "key" {\n'
                          "  # checkov:skip=CKV_AWS_7:rotation handled by the HSM team\n"
                          '  description = "app key"\n')
    skipped = [f for f in engine.analyze_file(str(path)).findings if f.check_id == "CKV_AWS_7"]
    assert [(f.result, f.suppress_comment) for f in skipped] == [
        (Result.SKIPPED, "rotation handled by the HSM team")]


def test_suppress_without_reason_uses_placeholder(tmp_path: Path) -> None:
    path = _copy("CKV_AWS_27", tmp_path)
    engine = Engine(str(tmp_path))
    new = _suppress(engine, path, "CKV_AWS_27", None)
    assert f"  # checkov:skip=CKV_AWS_27:{SUPPRESS_PLACEHOLDER}\n" in new


def test_suppress_merges_with_existing_skip_one_line_per_check(tmp_path: Path) -> None:
    path = _copy("CKV_AWS_126", tmp_path)
    engine = Engine(str(tmp_path))
    _suppress(engine, path, "CKV_AWS_126", "cost")
    new = _suppress(engine, path, "CKV_AWS_135", "small instance type")
    assert ('resource "aws_instance" "web" {\n'
            "  # checkov:skip=CKV_AWS_126:cost\n"
            "  # checkov:skip=CKV_AWS_135:small instance type\n"
            '  ami ') in new
    by_id = {f.check_id: f for f in engine.analyze_file(str(path)).findings}
    assert by_id["CKV_AWS_126"].result is Result.SKIPPED and by_id["CKV_AWS_126"].suppress_comment == "cost"
    assert by_id["CKV_AWS_135"].result is Result.SKIPPED
    assert by_id["CKV_AWS_135"].suppress_comment == "small instance type"


def test_suppress_graph_check_is_honoured_by_tier_2(tmp_path: Path) -> None:
    path = _copy("CKV2_AWS_6", tmp_path)
    engine = Engine(str(tmp_path))
    _suppress(engine, path, "CKV2_AWS_6", "public website bucket")
    res = [f for f in engine.analyze_module(str(path.parent))[str(path)].findings
           if f.check_id == "CKV2_AWS_6"]
    assert [(f.result, f.suppress_comment) for f in res] == [(Result.SKIPPED, "public website bucket")]


# --------------------------------------------------------------------------- approved modules


def _catalogue():  # type: ignore[no-untyped-def]
    return parse_catalogue(CATALOGUE.read_text(), str(CATALOGUE))


def _module_finding(engine: Engine, path: Path, resource: str) -> Finding:
    """The finding the org rule TFG_MOD_4 reports on a raw resource an approved module replaces."""
    block = next(b for b in engine.state(str(path)).split.blocks if b.address == resource)
    return Finding(check_id="TFG_MOD_4", check_name="use the approved module", result=Result.FAILED,
                   file=str(path), resource=resource, line_range=(block.start_line, block.end_line),
                   span=block.header_span, source="org")


@pytest.mark.parametrize(
    ("case", "resource", "expected_module", "expected_moved"),
    [
        ("modules/s3", "aws_s3_bucket.data",
         'module "data" {\n  source  = "app.terraform.io/acme/s3-bucket/aws"\n  version = "4.2.1"\n\n'
         '  bucket = "acme-data"\n  tags = {\n    owner = "data-team"\n  }\n',
         "moved {\n  from = aws_s3_bucket.data\n  to   = module.data.aws_s3_bucket.this\n}"),
        ("modules/rds", "aws_db_instance.main",
         'module "main" {\n  source  = "git::https://git.acme.internal/tf/rds.git?ref=v3.1.0"\n\n'
         '  identifier     = "app-db"\n  engine         = "postgres"\n  instance_class = "db.t3.micro"\n',
         "moved {\n  from = aws_db_instance.main\n  to   = module.main.aws_db_instance.this[0]\n}"),
        ("modules/storage", "azurerm_storage_account.sa",
         'module "sa" {\n  source  = "app.terraform.io/acme/storage-account/azurerm"\n  version = "2.0.3"\n\n'
         '  name                     = "acmestorage"\n',
         "moved {\n  from = azurerm_storage_account.sa\n  to   = module.sa.azurerm_storage_account.this\n}"),
    ],
    ids=["s3-bucket", "rds", "azure-storage"],
)
def test_replace_resource_with_approved_module(case: str, resource: str, expected_module: str,
                                               expected_moved: str, tmp_path: Path) -> None:
    path = _copy(case, tmp_path)
    engine = Engine(str(tmp_path))
    cat = _catalogue()
    finding = _module_finding(engine, path, resource)
    offers = offers_for(finding, engine, cat)
    offer = next(o for o in offers if o.kind == "module")
    assert offer.preferred and "TFG_MOD_4" in offer.title and not offer.safe
    new = _apply(engine, path, offer, finding, catalogue=cat)
    assert expected_module in new, new
    assert expected_moved in new, new
    assert f'resource "{resource.split(".")[0]}"' not in new
    assert _problems(engine, path) == []
    # unmapped attributes are never dropped: they are kept in a marked comment
    assert UNMAPPED_MARKER in new
    # the raw resource's findings are gone: the resource no longer exists
    assert not [f for f in engine.analyze_file(str(path)).findings if f.resource == resource]
    assert build_edits(offer, finding, engine, cat) == []


def test_unmapped_attributes_are_kept_as_comments(tmp_path: Path) -> None:
    path = _copy("modules/s3", tmp_path)
    engine = Engine(str(tmp_path))
    cat = _catalogue()
    finding = _module_finding(engine, path, "aws_s3_bucket.data")
    offer = next(o for o in offers_for(finding, engine, cat) if o.kind == "module")
    new = _apply(engine, path, offer, finding, catalogue=cat)
    assert (f"  {UNMAPPED_MARKER}\n"
            '  # object_lock_enabled = true\n'
            "  # lifecycle {\n"
            "  #   prevent_destroy = true\n"
            "  # }\n") in new


def test_pin_unpinned_module_source(tmp_path: Path) -> None:
    path = _copy("modules/pin", tmp_path)
    engine = Engine(str(tmp_path))
    cat = _catalogue()
    for rule, label, expected in [
        ("TFG_MOD_2", "logs", 'module "logs" {\n  source = "app.terraform.io/acme/s3-bucket/aws"\n'
                              '  version = "4.2.1"\n'),
        ("TFG_MOD_1", "vpc", 'module "vpc" {\n  source  = "git::https://git.acme.internal/tf/vpc.git?ref=v5.0.0"\n'
                             "\n  cidr = "),
    ]:
        text = path.read_text()
        start = text.index(f'module "{label}"')
        line = text[:start].count("\n") + 1
        finding = Finding(check_id=rule, check_name=rule, result=Result.FAILED, file=str(path),
                          resource=f"module.{label}", line_range=(line, line + 3),
                          span=Span.of(0, 0, 0, 1),
                          source="org", block_type="module")
        offer = next(o for o in offers_for(finding, engine, cat) if o.kind == "pin")
        assert offer.preferred and rule in offer.title
        new = _apply(engine, path, offer, finding, catalogue=cat)
        assert expected in new, new
        path.write_text(new)
        engine.drop_overlay(str(path))
        assert build_edits(offer, finding, engine, cat) == []
    assert _problems(engine, path) == []


def test_no_offers_for_passed_findings_or_module_internal_resources(tmp_path: Path) -> None:
    path = _copy("CKV_AWS_7", tmp_path)
    engine = Engine(str(tmp_path))
    finding, _ = _target_failure(engine, path, "CKV_AWS_7")
    from dataclasses import replace

    assert offers_for(replace(finding, result=Result.PASSED), engine) == []
    assert offers_for(replace(finding, resource="module.keys.aws_kms_key.key"), engine) == []
    assert os.path.exists(path)
