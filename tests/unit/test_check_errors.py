"""A Checkov check that raises is one ``check-error`` problem per (check, resource), in every output.

The fixture holds Checkov 3.3.30's NSG port checks' crash (``destination_port_range`` a comma list,
on a rule and on a group's ``security_rule``) next to an insecure storage account whose findings
must equal ``checkov -d``'s.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tfguard.checks.errors import CHECK_ERROR, CheckError
from tfguard.checks.graph import GraphRun
from tfguard.engine import Engine
from tfguard.model import Problem, ScanReport, Span
from tfguard.scan.pool import run_from_json, run_to_json
from tfguard.scan.report import render_sarif
from tfguard.scan.runner import scan

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "check_errors"
SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
BIN = Path(sys.executable).parent
CRASHING = {"CKV_AZURE_9", "CKV_AZURE_10", "CKV_AZURE_160"}  # NSGRulePortAccessRestricted's subclasses
BAD = {"azurerm_network_security_rule.bad": 1, "azurerm_network_security_group.bad_group": 26}  # resource -> line
EXPECTED_ERRORS = {(c, r) for c in CRASHING for r in BAD}


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    dest = tmp_path / "tree"
    shutil.copytree(FIXTURE, dest)
    return dest


def tfguard_scan(d: Path, cache: Path, fmt: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """The real CLI. A check that raised makes the result incomplete: exit 2, one line saying why."""
    env = dict(os.environ, TFGUARD_NO_DAEMON="1", TFGUARD_CACHE_DIR=str(cache))
    proc = subprocess.run([str(BIN / "tfguard"), "scan", str(d), "--format", fmt, *extra], capture_output=True,
                          text=True, env=env, timeout=300, cwd=d)  # paths in the text report: relative to cwd
    assert proc.returncode == (1 if "--no-fail-on-crash" in extra else 2), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "ERROR" not in proc.stderr, proc.stderr[-2000:]
    if not extra:
        (why,) = [line for line in proc.stderr.splitlines() if line.startswith("tfguard: error:")]
        assert "incomplete" in why and "a check failed to run" in why
    return proc


def checkov_failed(d: Path) -> dict[str, set[str]]:
    env = dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true", BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR")
    proc = subprocess.run([str(BIN / "checkov"), "-d", str(d), "--framework", "terraform", "-o", "json",
                           "--skip-download"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    out: dict[str, set[str]] = defaultdict(set)
    for rec in doc["results"]["failed_checks"]:
        out[rec["resource"]].add(rec["check_id"])
    return dict(out)


def json_errors(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["check_id"], p["resource"]) for p in doc["problems"] if p["code"] == CHECK_ERROR]


def json_failed(doc: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for f in doc["findings"]:
        if f["result"] == "FAILED" and f["source"] in ("checkov", "graph"):
            out[f["resource"]].add(f["check_id"])
    return dict(out)


def test_cli_reports_each_crash_once_in_every_format_and_keeps_every_other_finding(tree: Path,
                                                                                    tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected_failed = checkov_failed(tree)
    assert expected_failed.get("azurerm_storage_account.insecure"), "the fixture's storage account must fail checks"

    # JSON, cold
    cold = json.loads(tfguard_scan(tree, cache, "json").stdout)
    # teams that gate on findings alone: the same report, exit 1 for the storage account's findings
    assert json.loads(tfguard_scan(tree, cache, "json", "--no-fail-on-crash").stdout) == cold
    errors = json_errors(cold)
    assert sorted(errors) == sorted(EXPECTED_ERRORS)  # exactly one per (check, resource)
    for p in cold["problems"]:
        if p["code"] == CHECK_ERROR:
            assert p["line"] == BAD[p["resource"]] and p["file"] == "main.tf"
            assert p["message"].startswith(f"Check {p['check_id']} failed to run on {p['resource']}: ValueError: ")
    failed = json_failed(cold)
    assert failed == expected_failed  # Checkov reports nothing for a check that raised: the rest is equal
    assert not any(c in CRASHING for ids in failed.values() for c in ids)
    assert not any(f["source"] == "engine" for f in cold["findings"])

    # the per-unit cache (scans/ removed: the unit results are read back from JSON) and the whole-scan cache
    shutil.rmtree(cache / "scans")
    from_units = json.loads(tfguard_scan(tree, cache, "json").stdout)
    assert list((cache / "units").rglob("*.json")), "the unit result was cached"
    warm = json.loads(tfguard_scan(tree, cache, "json").stdout)
    for doc in (from_units, warm):
        assert sorted(json_errors(doc)) == sorted(errors)
        assert doc["findings"] == cold["findings"] and doc["problems"] == cold["problems"]

    # SARIF: valid, one error notification per crash, located, naming the check
    sarif = json.loads(tfguard_scan(tree, cache, "sarif").stdout)
    jsonschema.Draft7Validator(SCHEMA).validate(sarif)
    (inv,) = sarif["runs"][0]["invocations"]
    assert inv["executionSuccessful"] is False
    notes = [n for n in inv["toolExecutionNotifications"] if "[check-error]" in n["message"]["text"]]
    assert len(notes) == len(EXPECTED_ERRORS)
    seen = set()
    for n in notes:
        assert n["level"] == "error"
        (loc,) = n["locations"]
        resource = loc["logicalLocations"][0]["fullyQualifiedName"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == "main.tf"
        assert loc["physicalLocation"]["region"]["startLine"] == BAD[resource]
        seen.add((n["descriptor"]["id"], resource))
    assert seen == EXPECTED_ERRORS
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]}.isdisjoint(CRASHING)

    # text: one line per crash
    text = tfguard_scan(tree, cache, "text").stdout
    lines = [line for line in text.splitlines() if "[check-error]" in line]
    assert len(lines) == len(EXPECTED_ERRORS)
    for check_id, resource in EXPECTED_ERRORS:
        (line,) = [x for x in lines if f"Check {check_id} failed to run on {resource}:" in x]
        assert line.startswith(f"main.tf:{BAD[resource]}:1: ")


def test_tier1_reports_the_same_problems_and_no_fake_finding(tree: Path) -> None:
    engine = Engine(str(tree))
    fa = engine.analyze_file(str(tree / "main.tf"))
    errors = [(p.check_id, p.resource) for p in fa.problems if p.code == CHECK_ERROR]
    assert sorted(errors) == sorted(EXPECTED_ERRORS)  # type: ignore[type-var]
    for p in fa.problems:
        if p.code == CHECK_ERROR:
            assert p.span.start.line + 1 == BAD[p.resource or ""]
            assert p.message.startswith(f"Check {p.check_id} failed to run on {p.resource}: ValueError: ")
    assert not any(f.source == "engine" for f in fa.findings)
    assert not any(f.check_id in CRASHING and f.resource in BAD for f in fa.findings)
    # the other checks on the crashing resources still ran
    assert any(f.resource in BAD for f in fa.findings)


def test_tier2_module_analysis_carries_the_same_errors_as_tier1(tree: Path) -> None:
    engine = Engine(str(tree))
    result = engine.analyze_module(str(tree))
    fa = result[str(tree / "main.tf")]
    errors = [(p.check_id, p.resource) for p in fa.problems if p.code == CHECK_ERROR]
    assert sorted(errors) == sorted(EXPECTED_ERRORS)  # type: ignore[type-var]
    tier1 = Engine(str(tree)).analyze_file(str(tree / "main.tf"))
    assert {p for p in fa.problems if p.code == CHECK_ERROR} == {p for p in tier1.problems if p.code == CHECK_ERROR}


def test_a_file_checkov_cannot_parse_still_reports_its_crashes_once(tmp_path: Path) -> None:
    d = tmp_path / "broken"
    d.mkdir()
    text = (FIXTURE / "main.tf").read_text()
    (d / "main.tf").write_text(text + '\nresource "aws_s3_bucket" "half" {\n  bucket = \n}\n')
    report = scan(Engine(str(d)), [str(d)], cache_dir="")
    errors = [(p.check_id, p.resource) for p in report.problems if p.code == CHECK_ERROR]
    assert sorted(errors) == sorted(EXPECTED_ERRORS)  # type: ignore[type-var]
    assert any(f.resource == "azurerm_storage_account.insecure" for f in report.findings)


def test_unit_cache_round_trip_keeps_check_errors() -> None:
    err = CheckError("CKV_AZURE_9", "RDP", "azurerm_network_security_rule.bad", "/x/main.tf", (1, 13),
                     "ValueError: nope")
    run = GraphRun(records=(), parsing_errors=(), check_errors=(err,), checkov_warnings=(("module loading", 2),))
    back = run_from_json(json.loads(json.dumps(run_to_json(run))))
    assert back == run
    old_format = {"records": [], "parsing_errors": []}  # an entry without errors could hide a crash: refused
    with pytest.raises(KeyError):
        run_from_json(old_format)


def test_graph_check_that_raises_is_reported(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tfguard.checks.checkov_env import checkov_modules
    from tfguard.checks.graph import graph_check_ids, run_checkov

    graph_check_ids()
    reg = checkov_modules().graph_registry
    check = next(c for c in reg.checks if c.id == "CKV2_AZURE_1")

    def boom(graph_connector: Any) -> Any:
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(check, "run", boom)
    run = run_checkov(str(tree))
    graph_errors = [e for e in run.check_errors if e.check_id == "CKV2_AZURE_1"]
    assert len(graph_errors) == 1 and graph_errors[0].resource == ""
    assert graph_errors[0].error == "RuntimeError: solver exploded"
    assert {(e.check_id, e.resource) for e in run.check_errors if e.resource} == EXPECTED_ERRORS
    assert any(r.check_id == "CKV2_AZURE_33" for r in run.records)  # the other graph checks ran


def test_checkov_warnings_go_to_the_log_and_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    import checkov

    from tfguard.checks.checkov_env import checkov_modules, checkov_warning_kinds, checkov_warning_summary

    checkov_modules()
    before = checkov_warning_kinds().get("module loading", 0)
    record = logging.LogRecord("root", logging.WARNING, os.path.join(os.path.dirname(checkov.__file__), "x.py"), 1,
                               "Unable to load module %s", ("m",), None)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, r: logging.LogRecord) -> None:
            seen.append(r)

    keep = Keep(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(keep)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        root.handle(record)
        logging.getLogger("checkov.some.module").warning("Unable to load module x")
    finally:
        root.setLevel(old_level)
        root.removeHandler(keep)
    assert checkov_warning_kinds().get("module loading", 0) == before + 2
    assert [r.name for r in seen] == ["tfguard.checkov", "tfguard.checkov"]
    assert all(r.levelno == logging.DEBUG for r in seen)
    assert checkov_warning_summary({}) is None
    line = checkov_warning_summary({"safe-evaluation errors": 10, "module loading": 2})
    assert line == ("tfguard: 12 Checkov warnings (safe-evaluation errors, module loading); "
                    "details with -vv (DEBUG log)")


def test_engine_failures_and_sarif_success_flag(tmp_path: Path) -> None:
    ok = ScanReport(root=str(tmp_path), problems=[Problem(str(tmp_path / "a.tf"), Span.of(0, 0, 0, 1), "x", "syntax")])
    assert ok.engine_failures == []
    assert json.loads(render_sarif(ok))["runs"][0]["invocations"][0]["executionSuccessful"] is True
    bad = ScanReport(root=str(tmp_path), problems=[
        Problem(str(tmp_path / "a.tf"), Span.of(0, 0, 0, 1), "Checkov failed", "engine")])
    assert [p.code for p in bad.engine_failures] == ["engine"]
    doc = json.loads(render_sarif(bad))
    jsonschema.Draft7Validator(SCHEMA).validate(doc)
    (note,) = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "error" and note["descriptor"]["id"] == "engine"
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is False
