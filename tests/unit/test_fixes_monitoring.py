"""Enhanced Monitoring (CKV_AWS_118): the interval needs the role RDS publishes the metrics with.

At a module call the fix sets the interval and the input that makes the module send a role
(``LocalFix.needs``: found from the module's text, never by name), each case proven by Checkov."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tfguard.engine import Engine
from tfguard.fixes import build_edits, edit_path, example_value, offers_for
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fixes"
RESOURCE = "module.db.module.inner.aws_db_instance.this"
CHECK = "CKV_AWS_118"


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(FIXTURES / "monitoring", dst)
    return dst


def _failed(engine: Engine, app: Path) -> Finding:
    recs = [r for r in engine.module_run(str(app)).records if r.check_id == CHECK and r.resource == RESOURCE]
    [finding] = engine.records_to_findings(recs, None)
    assert finding.result is Result.FAILED
    return finding


def _results(engine: Engine, app: Path) -> dict[tuple[str, str], str]:
    return {(r.check_id, r.resource): r.result for r in engine.module_run(str(app)).records}


def _edit_caller(ws: Path, old: str, new: str) -> None:
    app = ws / "app" / "main.tf"
    text = app.read_text()
    assert old in text
    app.write_text(text.replace(old, new))


@pytest.mark.parametrize(("given", "added", "title"), [
    # the module sends a role only when it creates one or the caller gives its ARN: it creates it
    ("", "  monitoring_interval = 60\n  create_monitoring_role = true\n",
     "set monitoring_interval = 60, create_monitoring_role = true"),
    # the caller's own role: only the interval
    ('  monitoring_role_arn = "arn:aws:iam::111122223333:role/rds-monitoring"\n',
     "  monitoring_interval = 60\n", "set monitoring_interval = 60"),
    # the module creates the role already: only the interval
    ("  create_monitoring_role = true\n", "  monitoring_interval = 60\n", "set monitoring_interval = 60"),
])
def test_interval_and_role_are_set_at_the_outermost_call(given: str, added: str, title: str,
                                                         tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    _edit_caller(ws, '  name = "app"\n', f'  name = "app"\n{given}')
    app = ws / "app"
    engine = Engine(str(ws))
    finding = _failed(engine, app)
    [offer] = offers_for(finding, engine)
    assert offer.kind == "input" and offer.title == f'Fix {CHECK} at the call of module "db": {title}'
    assert edit_path(offer, finding) == str(app / "main.tf")
    modules = {p: p.read_text() for p in (ws / "modules").rglob("*.tf")}
    before = {k for k, v in _results(engine, app).items() if v == "FAILED"}

    text = (app / "main.tf").read_text()
    new = apply_text_edits(text, build_edits(offer, finding, engine))
    assert new == text.replace("}\n", f"{added}}}\n")
    engine.set_overlay(str(app / "main.tf"), new)
    assert {p: p.read_text() for p in modules} == modules  # the shared modules are not touched
    after = _results(engine, app)
    assert after[(CHECK, RESOURCE)] == "PASSED"
    assert {k for k, v in after.items() if v == "FAILED"} - before == set()
    assert build_edits(offer, finding, engine) == []  # idempotent
    assert offers_for(finding, engine) == []


@pytest.mark.parametrize("given", [
    # the caller decided the module creates no role (and gives none): its decision, no offer
    "  create_monitoring_role = false\n",
    # an expression decides it
    "  create_monitoring_role = var.create_role\n",
])
def test_no_offer_when_the_caller_decides_the_role(given: str, tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    _edit_caller(ws, '  name = "app"\n', f'  name = "app"\n{given}')
    if "var.create_role" in given:
        (ws / "app" / "main.tf").write_text((ws / "app" / "main.tf").read_text()
                                            + '\nvariable "create_role" {\n  type = bool\n}\n')
    engine = Engine(str(ws))
    assert offers_for(_failed(engine, ws / "app"), engine) == []


@pytest.mark.parametrize(("old", "new"), [
    # the module never sends a role: the interval alone would be refused by the RDS API
    ("  monitoring_role_arn = var.monitoring_interval > 0 ? local.monitoring_role_arn : null\n", ""),
    ("var.monitoring_interval > 0 ? local.monitoring_role_arn : null", "null"),
    # only the caller's ARN makes it non-null: tfguard does not invent one
    ("var.create_monitoring_role ? aws_iam_role.enhanced_monitoring[0].arn : var.monitoring_role_arn",
     "var.monitoring_role_arn"),
])
def test_no_offer_when_no_input_makes_the_module_send_a_role(old: str, new: str, tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    inner = ws / "modules" / "inner" / "main.tf"
    text = inner.read_text()
    assert old in text
    inner.write_text(text.replace(old, new))
    engine = Engine(str(ws))
    assert offers_for(_failed(engine, ws / "app"), engine) == []


def test_local_fix_offers_the_files_monitoring_role(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "CKV_AWS_118", tmp_path / "db")
    path = tmp_path / "db" / "main.tf"
    path.write_text(path.read_text() + (
        '\nresource "aws_iam_role" "rds_monitoring" {\n'
        '  name_prefix        = "rds-monitoring-"\n'
        "  assume_role_policy = data.aws_iam_policy_document.rds_monitoring.json\n}\n\n"
        'data "aws_iam_policy_document" "rds_monitoring" {\n  statement {\n'
        '    actions = ["sts:AssumeRole"]\n\n    principals {\n      type        = "Service"\n'
        '      identifiers = ["monitoring.rds.amazonaws.com"]\n    }\n  }\n}\n'))
    engine = Engine(str(tmp_path))
    [finding] = [f for f in engine.analyze_file(str(path)).findings
                 if f.check_id == CHECK and f.result is Result.FAILED]
    offers = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert [o.value for o in offers] == ["aws_iam_role.rds_monitoring.arn", None]  # the role, else a typed ARN
    text = path.read_text()
    new = apply_text_edits(text, build_edits(offers[0], finding, engine, value=offers[0].value))
    role = "  monitoring_role_arn = aws_iam_role.rds_monitoring.arn\n"
    assert new == text.replace("  monitoring_interval = 0\n", f"  monitoring_interval = 60\n{role}")
    engine.set_overlay(str(path), new)
    assert {f.result for f in engine.analyze_file(str(path)).findings if f.check_id == CHECK} == {Result.PASSED}
    # a typed value that is not a role's ARN is refused
    assert build_edits(offers[1], finding, engine, value="arn:aws:iam::111122223333:user/bob") == []
    assert example_value(offers[1]) == "arn:aws:iam::111122223333:role/rds-enhanced-monitoring"
