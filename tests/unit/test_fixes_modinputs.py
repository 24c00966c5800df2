"""Fixes at module calls for values the caller decides through nested calls, ``coalesce()`` and
conditionals, and fixes that read another input of the call (issue #21), each proven by Checkov."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tfguard.engine import Engine
from tfguard.fixes import build_edits, edit_path, example_value, offers_for
from tfguard.fixes.callers import driving_var
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fixes"
RESOURCE = "module.db.module.inner.aws_db_instance.this"


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(FIXTURES / "modinputs", dst)
    return dst


def _failed(engine: Engine, app: Path, check_id: str) -> Finding:
    recs = [r for r in engine.module_run(str(app)).records if r.check_id == check_id and r.resource == RESOURCE]
    [finding] = engine.records_to_findings(recs, None)
    assert finding.result is Result.FAILED
    return finding


def _results(engine: Engine, app: Path) -> dict[tuple[str, str], str]:
    return {(r.check_id, r.resource): r.result for r in engine.module_run(str(app)).records}


@pytest.mark.parametrize(("check_id", "line"), [
    ("CKV_AWS_293", "  deletion_protection = true\n"),
    # the module: var.blue_green_update != null ? coalesce(var.backup_retention_period, 1) : var.backup_...
    ("CKV_AWS_133", None),
    # the module: engine = local.is_replica ? null : var.engine; the caller passes "postgres"
    ("CKV_AWS_129", '  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]\n'),
])
def test_nested_call_is_fixed_at_the_outermost_call(check_id: str, line: str | None, tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    app = ws / "app"
    engine = Engine(str(ws))
    finding = _failed(engine, app, check_id)
    # Checkov names the innermost caller (the outer module's file, which calls "inner")
    assert finding.caller_file == str(ws / "modules" / "outer" / "main.tf")
    [offer] = offers_for(finding, engine)
    assert offer.kind == "input" and offer.title.startswith(f'Fix {check_id} at the call of module "db": set ')
    assert edit_path(offer, finding) == str(app / "main.tf")
    modules = {p: p.read_text() for p in (ws / "modules").rglob("*.tf")}
    before = {k for k, v in _results(engine, app).items() if v == "FAILED"}

    text = (app / "main.tf").read_text()
    new = apply_text_edits(text, build_edits(offer, finding, engine))
    engine.set_overlay(str(app / "main.tf"), new)
    if line is not None:
        assert line in new and new.replace(line, "") == text
    else:
        assert new == text.replace("backup_retention_period = 0", "backup_retention_period = 7")
    assert {p: p.read_text() for p in modules} == modules  # the shared modules are not touched
    after = _results(engine, app)
    assert after[(check_id, RESOURCE)] == "PASSED"
    assert {k for k, v in after.items() if v == "FAILED"} - before == set()
    assert build_edits(offer, finding, engine) == []  # idempotent
    assert offers_for(finding, engine) == []


def test_no_fix_at_the_call_when_a_condition_chooses_another_input(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    inner = ws / "modules" / "inner" / "main.tf"
    inner.write_text(inner.read_text().replace(
        "coalesce(var.backup_retention_period, 1) : var.backup_retention_period",
        "coalesce(var.backup_retention_period, 1) : 0"))
    engine = Engine(str(ws))
    assert offers_for(_failed(engine, ws / "app", "CKV_AWS_133"), engine) == []


def test_no_log_exports_at_the_call_without_the_callers_engine(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    app = ws / "app" / "main.tf"
    app.write_text(app.read_text().replace('  engine                  = "postgres"\n', ""))
    engine = Engine(str(ws))
    assert offers_for(_failed(engine, ws / "app", "CKV_AWS_129"), engine) == []


@pytest.mark.parametrize(("expr", "name"), [
    ("var.a", "a"),
    ("try(var.a, null)", "a"),
    ("coalesce(var.a, 1)", "a"),
    ("var.x != null ? coalesce(var.a, 1) : var.a", "a"),
    ("var.c ? (var.d ? var.a : var.a) : var.a", "a"),
    ('try(var.a, "x,)")', "a"),
    ("(var.a)", "a"),
    ("var.x ? var.a : var.b", None),  # the condition chooses between inputs
    ("var.x ? 1 : var.a", None),
    ("var.a * 1", None),
    ("local.a", None),
    ("try(var.a.b, 1)", None),
    ("lower(var.a)", None),
    ("coalesce(var.a, 1) + coalesce(var.b, 2)", None),
    ("(var.a) + (var.b)", None),
])
def test_driving_var(expr: str, name: str | None) -> None:
    assert driving_var(expr) == name


def test_zone_allowlist_is_added_beside_an_opt_in_filter(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    text = ('data "aws_availability_zones" "available" {\n  # Exclude local zones\n  filter {\n'
            '    name   = "opt-in-status"\n    values = ["opt-in-not-required"]\n  }\n}\n')
    path.write_text(text)
    engine = Engine(str(tmp_path))
    [finding] = [f for f in engine.analyze_file(str(path)).findings
                 if f.check_id == "CKV_AWS_394" and f.result is Result.FAILED]
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    value = example_value(offer)
    new = apply_text_edits(text, build_edits(offer, finding, engine, value=value))
    assert new == text.replace("  }\n}\n", '  }\n\n  filter {\n    name   = "zone-name"\n'
                                            '    values = ["eu-west-1a", "eu-west-1b"]\n  }\n}\n')
    engine.set_overlay(str(path), new)
    after = [f for f in engine.analyze_file(str(path)).findings if f.check_id == "CKV_AWS_394"]
    assert {f.result for f in after} == {Result.PASSED}
    assert build_edits(offer, finding, engine, value=value) == []


def test_no_backup_fix_at_the_call_of_a_read_replica(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    app = ws / "app" / "main.tf"
    app.write_text(app.read_text().replace('  name ', '  replicate_source_db     = "app-primary"\n  name '))
    engine = Engine(str(ws))
    assert offers_for(_failed(engine, ws / "app", "CKV_AWS_133"), engine) == []
