"""Callers of module-instance findings that Checkov names none for (graph checks), and the fixes at those calls.

Fixture ``fixes/modcaller``: ``modules/db`` (``copy_tags_to_snapshot = var.copy_tags_to_snapshot``,
default false: CKV2_AWS_60, a graph check, fails through every call) called as ``module "db"`` by
``examples/a`` and ``examples/b`` (a shared call name, as module repositories' examples have), and
``modules/url`` (a function URL behind ``count = local.create && var.create_url ? 1 : 0``) called by
``examples/url``. Checkov decides, in-process.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from tfguard.calls import CallIndex, call_names
from tfguard.engine import Engine
from tfguard.engine.tier2 import merge_instances
from tfguard.fixes import build_edits, edit_path, offers_for
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result
from tfguard.scan.runner import scan

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "fixes" / "modcaller"
DB_TITLE = 'Fix CKV2_AWS_60 at the call of module "db" in examples/{}: set copy_tags_to_snapshot = true'


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(FIXTURE, dst)
    return dst


def _scan_failed(engine: Engine, root: Path, check_id: str) -> list[Finding]:
    report = scan(engine, [str(root)], cache_dir="", workers=1)
    return [f for f in report.findings if f.check_id == check_id and f.result is Result.FAILED]


def test_call_names_of_an_address() -> None:
    assert call_names("module.a[0].module.b[\"x\"].aws_s3_bucket.this[0]") == ["a", "b"]
    assert call_names("aws_s3_bucket.this") == []


def test_through_names_every_call_of_that_name(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    calls = CallIndex(str(ws))
    found = calls.through("module.db.aws_db_instance.this", str(ws / "modules" / "db"))
    assert [(Path(c.caller_file).relative_to(ws).as_posix(), c.name, c.line, c.end_line) for c in found] == [
        ("examples/a/main.tf", "db", 1, 3), ("examples/b/main.tf", "db", 1, 3)]
    # another call name, or a module that call does not reach: no candidate, never a guess
    assert calls.through("module.other.aws_db_instance.this", str(ws / "modules" / "db")) == ()
    assert calls.through("module.db.aws_db_instance.this", str(ws / "modules" / "url")) == ()
    assert calls.through("aws_db_instance.this", str(ws / "modules" / "db")) == ()


def test_unsaved_calls_count_as_the_editor_has_them(tmp_path: Path) -> None:
    """A call typed in the editor and not saved names its caller; a call deleted but not saved does
    not; once the unsaved text is dropped (closed without saving) the disk counts again."""
    ws = _copy(tmp_path)
    engine = Engine(str(ws))
    assert engine.calls is not None
    db = str(ws / "modules" / "db")
    callers = lambda: [Path(c.caller_file).relative_to(ws).as_posix()  # noqa: E731
                       for c in engine.calls.through("module.db.aws_db_instance.this", db)]  # type: ignore[union-attr]
    assert callers() == ["examples/a/main.tf", "examples/b/main.tf"]
    new = ws / "examples" / "c" / "main.tf"  # a new example, only in the editor (not on disk)
    engine.set_overlay(str(new), 'module "db" {\n  source = "../../modules/db"\n}\n')
    assert callers() == ["examples/a/main.tf", "examples/b/main.tf", "examples/c/main.tf"]
    b_main = ws / "examples" / "b" / "main.tf"
    engine.set_overlay(str(b_main), "# the call is being rewritten\n")
    assert callers() == ["examples/a/main.tf", "examples/c/main.tf"]
    engine.drop_overlay(str(b_main))
    engine.drop_overlay(str(new))
    assert callers() == ["examples/a/main.tf", "examples/b/main.tf"]


def test_through_follows_nested_calls_to_the_root(tmp_path: Path) -> None:
    (tmp_path / "modules" / "outer").mkdir(parents=True)
    (tmp_path / "modules" / "inner").mkdir(parents=True)
    (tmp_path / "main.tf").write_text('module "app" {\n  source = "./modules/outer"\n}\n')
    (tmp_path / "modules" / "outer" / "main.tf").write_text('module "db" {\n  source = "../inner"\n}\n')
    (tmp_path / "modules" / "inner" / "main.tf").write_text('resource "aws_db_instance" "this" {}\n')
    calls = CallIndex(str(tmp_path))
    [c] = calls.through("module.app.module.db.aws_db_instance.this", str(tmp_path / "modules" / "inner"))
    assert (c.caller_file, c.name, c.line) == (str(tmp_path / "main.tf"), "app", 1)
    assert calls.through("module.db.module.app.aws_db_instance.this", str(tmp_path / "modules" / "inner")) == ()


def test_graph_check_through_a_shared_call_name_is_fixed_at_each_candidate_call(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    engine = Engine(str(ws))
    [finding] = _scan_failed(engine, ws, "CKV2_AWS_60")
    assert finding.source == "graph" and finding.caller_file is None  # Checkov names no caller
    assert finding.resource == "module.db.aws_db_instance.this"
    offers = offers_for(finding, engine)
    assert [(o.kind, o.title, o.preferred) for o in offers] == [
        ("input", DB_TITLE.format("a"), True), ("input", DB_TITLE.format("b"), False)]
    assert [edit_path(o, finding) for o in offers] == [str(ws / "examples" / x / "main.tf") for x in "ab"]
    module_text = (ws / "modules" / "db" / "main.tf").read_text()
    for offer, example in zip(offers, "ab", strict=True):
        caller = ws / "examples" / example / "main.tf"
        before = {(r.check_id, r.resource) for r in engine.module_run(str(caller.parent)).records
                  if r.result == "FAILED"}
        new = apply_text_edits(caller.read_text(), build_edits(offer, finding, engine))
        assert new == 'module "db" {\n  source = "../../modules/db"\n  copy_tags_to_snapshot = true\n}\n'
        caller.write_text(new)  # saved: the repository scan below reads the disk
        after = {(r.check_id, r.resource): r.result for r in engine.module_run(str(caller.parent)).records}
        assert after[("CKV2_AWS_60", "module.db.aws_db_instance.this")] == "PASSED"
        assert not {k for k, v in after.items() if v == "FAILED"} - before  # no new failure
        assert build_edits(offer, finding, engine) == []  # idempotent
    assert (ws / "modules" / "db" / "main.tf").read_text() == module_text  # the shared module is not touched
    # both calls fixed: the repository scan (`checkov -d`, one graph for the shared name) passes the check
    assert _scan_failed(engine, ws, "CKV2_AWS_60") == []


def test_one_candidate_call_gets_the_plain_title(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    shutil.rmtree(ws / "examples" / "b")
    engine = Engine(str(ws))
    [finding] = _scan_failed(engine, ws, "CKV2_AWS_60")
    [offer] = offers_for(finding, engine)
    assert offer.title == 'Fix CKV2_AWS_60 at the call of module "db": set copy_tags_to_snapshot = true'


def test_merged_instance_finding_names_the_candidate_calls(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    engine = Engine(str(ws))
    module = str(ws / "modules" / "db" / "main.tf")
    recs = [r for d in ("a", "b") for r in engine.module_run(str(ws / "examples" / d)).records
            if r.check_id == "CKV2_AWS_60" and r.file == module]
    assert len(recs) == 2 and all(r.caller_file is None for r in recs)
    findings = engine.records_to_findings(recs, engine.state(module))
    [merged] = merge_instances(findings, str(ws), engine.tier2.through)
    assert merged.message == ("Ensure RDS instance with copy tags to snapshots is enabled via module.db in "
                              "examples/a or module.db in examples/b (Checkov names no caller: the calls of that name)")
    assert [(Path(c[0]).relative_to(ws).as_posix(), c[1], c[2], c[3]) for c in merged.callers] == [
        ("examples/a/main.tf", 1, 3, "module.db"), ("examples/b/main.tf", 1, 3, "module.db")]
    [offer_a, offer_b] = offers_for(merged, engine)  # the fix at each call, from the module's own finding
    assert (offer_a.title, offer_b.title) == (DB_TITLE.format("a"), DB_TITLE.format("b"))
    # without the call index nothing is guessed: the record stays as Checkov gave it
    assert merge_instances(findings[:1], str(ws), None) == findings[:1]


def test_no_fix_at_a_call_for_which_the_count_is_zero(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    engine = Engine(str(ws))
    [finding] = [f for f in _scan_failed(engine, ws, "CKV_AWS_258")]
    assert finding.resource == "module.url_on.aws_lambda_function_url.this[0]"  # create_url = true
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "input"]
    assert offer.title == ('Fix CKV_AWS_258 at the call of module "url_on": set authorization_type = "AWS_IAM"')
    # the same record through `module "url"` (create_url left at its default, false): Terraform creates no
    # URL for that call, and Checkov, when it still reports one (terraform-aws-lambda), cannot check the fix
    off = dataclasses.replace(finding, resource="module.url.aws_lambda_function_url.this[0]", caller_line_range=(1, 3))
    assert [o for o in offers_for(off, engine) if o.kind == "input"] == []
    caller = ws / "examples" / "url" / "main.tf"
    caller.write_text(caller.read_text().replace('source = "../../modules/url"\n',
                                                 'source = "../../modules/url"\n  create_url = false\n', 1))
    assert [o for o in offers_for(off, engine) if o.kind == "input"] == []


def test_two_calls_in_one_file_each_get_their_own_fix(tmp_path: Path) -> None:
    ws = _copy(tmp_path)
    caller = ws / "examples" / "a" / "main.tf"
    caller.write_text(caller.read_text() + '\nmodule "db2" {\n  source = "../../modules/db"\n}\n')
    engine = Engine(str(ws))
    module = str(ws / "modules" / "db" / "main.tf")
    recs = [r for r in engine.module_run(str(caller.parent)).records
            if r.check_id == "CKV2_AWS_60" and r.file == module]
    assert sorted(r.resource for r in recs) == ["module.db.aws_db_instance.this", "module.db2.aws_db_instance.this"]
    [merged] = merge_instances(engine.records_to_findings(recs, engine.state(module)), str(ws), engine.tier2.through)
    offers = offers_for(merged, engine)
    assert [o.title for o in offers] == [
        DB_TITLE.format("a"), DB_TITLE.format("a").replace('module "db"', 'module "db2"'), DB_TITLE.format("b")]
    text = caller.read_text()
    new_db2 = apply_text_edits(text, build_edits(offers[1], merged, engine))
    assert new_db2 == text.replace('module "db2" {\n  source = "../../modules/db"\n',
                                   'module "db2" {\n  source = "../../modules/db"\n  copy_tags_to_snapshot = true\n')
    engine.set_overlay(str(caller), new_db2)
    after = {(r.check_id, r.resource): r.result for r in engine.module_run(str(caller.parent)).records}
    assert after[("CKV2_AWS_60", "module.db2.aws_db_instance.this")] == "PASSED"
    assert after[("CKV2_AWS_60", "module.db.aws_db_instance.this")] == "FAILED"  # the other call is its own fix


TRICKY_CALLS = [
    'module "a" {\n  source = "./m"\n}\n',
    '/* a comment */ module "a" {\n  source = "./m"\n}\n',
    '\tmodule a {\n  source = "./m"\n}\n',
    'locals {}\nmodule"a"{\n  source = "./m"\n}\n',
    '# terraform-aws-modules\nmodule "a" { # the module\n  source = "./m"\n}\n',
]


def test_the_module_word_gate_never_hides_a_call(tmp_path: Path) -> None:
    """An unsaved file is read again on every keystroke; one without the word ``module`` is not split.
    Every text in which the splitter finds a module block passes the gate: tricky headers, and every
    Terraform file of the fixtures and of the shared corpora (when present)."""
    from tfguard.calls import _has_module_word
    from tfguard.hcl.blocks import split_blocks

    assert not _has_module_word("# see terraform-aws-modules/vpc and the submodule_x\nlocals {\n  modules = 1\n}\n")
    (tmp_path / "m").mkdir()
    for i, text in enumerate(TRICKY_CALLS):
        assert any(b.kind == "module" for b in split_blocks(text).blocks), text
        assert _has_module_word(text), text
        engine = Engine(str(tmp_path))
        assert engine.calls is not None
        engine.set_overlay(str(tmp_path / f"c{i}.tf"), text)
        assert [c.name for c in engine.calls.callers(str(tmp_path / "m"))] == ["a"], text
    roots = [Path(__file__).resolve().parent.parent / "fixtures",
             Path(__file__).resolve().parents[3] / "shared" / "corpora"]
    checked = 0
    for root in roots:
        for path in root.rglob("*.tf"):
            text = path.read_text(errors="replace")
            if any(b.kind == "module" for b in split_blocks(text).blocks):
                assert _has_module_word(text), path
                checked += 1
    assert checked > 0
