"""Hardening in-process: workspace trust, check isolation, tier-2 time budget, bounded caches."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import pytest

from tfguard.config.checkov import load_checkov_config
from tfguard.engine import Engine
from tfguard.engine.tier2 import Tier2
from tfguard.lsp.settings import parse_settings
from tfguard.model import Result, Severity
from tfguard.scan.runner import scan

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "hardening"
BUCKET = 'resource "aws_s3_bucket" "b" {\n  bucket = "data"\n  acl    = "public-read"\n}\n'


@pytest.fixture()
def trust_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copytree(FIX / "evil_checks", ws / "policies")
    (ws / "main.tf").write_text(BUCKET)
    (ws / ".checkov.yaml").write_text(
        "external-checks-dir:\n  - policies\n"
        "download-external-modules: true\n"
        "external-checks-git: https://example.invalid/checks.git\n"
        "bc-api-key: 00000000-0000-0000-0000-000000000000\n"
        "repo-id: acme/infra\n"
        "prisma-api-url: https://example.invalid\n")
    monkeypatch.setenv("TFGUARD_EVIL_MARKER", str(tmp_path / "marker"))
    return ws


def test_checkov_yaml_code_and_network_options_are_refused_once_and_located(trust_ws: Path) -> None:
    cfg = load_checkov_config(str(trust_ws / ".checkov.yaml"))
    refused = dict((msg.split("'")[1] if "option" in msg else "python", line) for line, msg in cfg.refused)
    assert refused == {"download-external-modules": 2, "external-checks-git": 3, "bc-api-key": 4, "repo-id": 5,
                       "prisma-api-url": 6, "python": 0}
    engine = Engine(str(trust_ws))
    for _ in range(3):
        engine.analyze_file(str(trust_ws / "main.tf"))
    problems = [p for p in engine.config_problems if p.file.endswith(".checkov.yaml")]
    assert len(problems) == 6  # each refusal once, however often the configuration is read
    assert all(p.severity is Severity.INFO for p in problems)
    assert any("evil.py" in p.message and "not loaded" in p.message for p in problems)


def test_python_checks_in_external_checks_dir_never_run_yaml_ones_do(trust_ws: Path, tmp_path: Path) -> None:
    engine = Engine(str(trust_ws))
    result = engine.analyze_module(str(trust_ws))
    ids = {f.check_id for f in result[str(trust_ws / "main.tf")].findings if f.result is Result.FAILED}
    assert "CKV2_ORG_1" in ids  # the YAML policy next to the .py file is loaded
    assert not (tmp_path / "marker").exists(), "the workspace's Python file was imported"
    report = scan(engine, [str(trust_ws)])
    assert not (tmp_path / "marker").exists()
    assert report.findings


def test_allow_python_checks_only_from_trusted_settings() -> None:
    trusted, errors = parse_settings({"allowPythonChecks": ["/opt/checks"]}, trusted=True)
    assert trusted.allow_python_checks == ("/opt/checks",) and not errors
    untrusted, errors = parse_settings({"allowPythonChecks": ["/opt/checks"]}, trusted=False)
    assert untrusted.allow_python_checks == ()
    assert errors and "initializationOptions" in errors[0]
    kept, _ = parse_settings({"allowPythonChecks": ["/evil"]}, base=trusted, trusted=False)
    assert kept.allow_python_checks == ("/opt/checks",)


@pytest.fixture()
def raising_check():
    """A check registered in Checkov's resource registry that raises on every S3 bucket."""
    from checkov.common.models.enums import CheckCategories
    from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
    from checkov.terraform.checks.resource.registry import resource_registry

    from tfguard.checks import entity

    class Raising(BaseResourceCheck):
        def __init__(self) -> None:
            super().__init__(name="Raises on strange blocks", id="CKV_TEST_RAISES",
                             categories=[CheckCategories.GENERAL_SECURITY], supported_resources=["aws_s3_bucket"])

        def scan_resource_conf(self, conf):  # noqa: ANN001, ANN201
            raise KeyError("strange")

    check = Raising()
    entity.set_results_cache_size(entity.DEFAULT_RESULTS_CACHE_SIZE)
    yield check
    from checkov.common.checks.base_check_registry import BaseCheckRegistry

    for lst in resource_registry.checks.values():
        if check in lst:
            lst.remove(check)
    every = BaseCheckRegistry._BaseCheckRegistry__all_registered_checks  # type: ignore[attr-defined]
    if check in every:
        every.remove(check)
    entity._logged_errors.discard(("CKV_TEST_RAISES", "KeyError"))
    entity.set_results_cache_size(entity.DEFAULT_RESULTS_CACHE_SIZE)


def test_a_raising_check_is_reported_once_and_the_others_still_run(
        raising_check, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    f = tmp_path / "main.tf"
    engine = Engine(str(tmp_path))
    caplog.set_level(logging.DEBUG, logger="tfguard")
    for i in range(3):
        f.write_text(BUCKET.replace('"data"', f'"data{i}"'))
        engine.forget(str(f))
        fa = engine.analyze_file(str(f))
        # a check-error problem on the block, never a (fake) finding
        assert not [x for x in fa.findings if x.check_id == "CKV_TEST_RAISES"]
        err = [p for p in fa.problems if p.check_id == "CKV_TEST_RAISES"]
        assert len(err) == 1 and err[0].code == "check-error" and "KeyError: 'strange'" in err[0].message
        assert err[0].resource == "aws_s3_bucket.b"
        assert err[0].span.start.line == 0
        assert "CKV_AWS_93" in {x.check_id for x in fa.findings}  # every other check still ran
    logged = [r for r in caplog.records if "CKV_TEST_RAISES" in r.getMessage()]
    assert len(logged) == 1, "logged once, not on every analysis"
    assert logged[0].levelno == logging.DEBUG and logged[0].exc_info, "the traceback goes to the log, at DEBUG"


def test_tier2_over_budget_falls_back_to_tier1_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "main.tf").write_text(BUCKET)
    engine = Engine(str(tmp_path))
    release = threading.Event()
    real = Tier2.analyze_module

    def slow(self: Tier2, module_dir: str):  # noqa: ANN202
        release.wait(30)
        return real(self, module_dir)

    monkeypatch.setattr(Tier2, "analyze_module", slow)
    result = engine.analyze_module_bounded(str(tmp_path), budget=0.3)
    fa = result[str(tmp_path / "main.tf")]
    assert "CKV_AWS_93" in {f.check_id for f in fa.findings}  # tier 1's results
    budget = [p for p in fa.problems if p.code == "budget"]
    assert len(budget) == 1 and budget[0].severity is Severity.INFO and "0.3 s" in budget[0].message
    # while the runaway run goes on, no second run is started; the next analysis still says so
    again = engine.analyze_module_bounded(str(tmp_path), budget=0.3)
    assert any(p.code == "budget" for p in again[str(tmp_path / "main.tf")].problems)
    release.set()
    assert engine.wait_for_checkov(30)
    monkeypatch.setattr(Tier2, "analyze_module", real)
    ok = engine.analyze_module_bounded(str(tmp_path), budget=60)
    assert not any(p.code == "budget" for p in ok[str(tmp_path / "main.tf")].problems)
    assert not any(p.code == "budget" for p in engine.analyze_file(str(tmp_path / "main.tf")).problems)


def test_caches_are_bounded_lrus_with_configurable_size() -> None:
    from tfguard.checks import entity
    from tfguard.hcl import parse
    from tfguard.hcl.blocks import split_blocks

    try:
        parse.set_parse_cache_size(10)
        for i in range(50):
            for b in split_blocks(f'resource "a" "b{i}" {{\n  x = {i}\n}}\n').blocks:
                parse.parse_block(b, "/x.tf")
        assert parse.parse_cache_info() == (10, 10)
        entity.set_results_cache_size(5)
        engine = Engine("/nonexistent-root")
        for i in range(20):
            engine.set_overlay(f"/nonexistent-root/m{i}.tf", BUCKET.replace('"data"', f'"d{i}"'))
            engine.analyze_file(f"/nonexistent-root/m{i}.tf")
        assert entity.results_cache_info() == (5, 5)
    finally:
        parse.set_parse_cache_size(parse.DEFAULT_PARSE_CACHE_SIZE)
        entity.set_results_cache_size(entity.DEFAULT_RESULTS_CACHE_SIZE)
