"""SARIF for GitHub code scanning: valid against the SARIF 2.1.0 schema, with what GitHub reads."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tfguard.cli import main

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())


def validate(doc: dict[str, Any]) -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft7Validator(SCHEMA).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def github_checks(doc: dict[str, Any]) -> None:
    """What GitHub code scanning requires or reads beyond the schema."""
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "tfguard"
    rules = driver["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    for r in rules:
        assert r["name"] and r["shortDescription"]["text"] and r["fullDescription"]["text"]
        assert r["help"]["text"] and r["help"]["markdown"]
        sev = float(r["properties"]["security-severity"])
        assert 0.0 <= sev <= 10.0
        assert "security" in r["properties"]["tags"]
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.startswith("file:///") and base.endswith("/")
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["message"]["text"]
        (loc,) = res["locations"]
        art = loc["physicalLocation"]["artifactLocation"]
        assert art["uriBaseId"] == "%SRCROOT%"
        assert not art["uri"].startswith(("/", "file:")) and "\\" not in art["uri"] and ".." not in art["uri"]
        region = loc["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert region["endLine"] >= region["startLine"]
        if region["endLine"] == region["startLine"]:
            assert region["endColumn"] > region["startColumn"]
        (fp,) = res["partialFingerprints"].values()
        assert len(fp.split(":")[0]) == 32


@pytest.fixture()
def examples(tmp_path: Path) -> Path:
    dst = tmp_path / "examples"
    shutil.copytree(REPO / "examples", dst)
    return dst


def test_examples_sarif_is_valid_and_github_ready(examples: Path, tmp_path: Path) -> None:
    out = tmp_path / "tfguard.sarif"
    rc = main(["scan", str(examples), "--format", "sarif", "--output", str(out)])
    assert rc == 1
    doc = json.loads(out.read_text())
    validate(doc)
    github_checks(doc)
    run = doc["runs"][0]
    assert run["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris <= {"prod/main.tf", "prod/variables.tf", "dev/main.tf"}
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    ckv = rules["CKV_AWS_24"]
    assert ckv["helpUri"].startswith("https://")
    assert ckv["properties"]["security-severity"] in ("9.5", "8.0", "5.5", "3.0", "1.0")
    # fingerprints are unique per result (occurrence numbers)
    fps = [next(iter(r["partialFingerprints"].values())) for r in run["results"]]
    assert len(fps) == len(set(fps))
    assert all("baselineState" not in r for r in run["results"])  # only with --baseline


def test_fingerprints_do_not_change_when_lines_move(examples: Path, tmp_path: Path) -> None:
    def prints() -> dict[tuple[str, str], str]:
        out = tmp_path / "x.sarif"
        main(["scan", str(examples), "--format", "sarif", "--output", str(out)])
        return {(r["ruleId"], r["properties"]["resource"]): next(iter(r["partialFingerprints"].values()))
                for r in json.loads(out.read_text())["runs"][0]["results"]}

    before = prints()
    main_tf = examples / "prod" / "main.tf"
    main_tf.write_text("\n\n# moved down\n\n" + main_tf.read_text())
    assert prints() == before


def test_problems_and_odd_paths_stay_valid(tmp_path: Path) -> None:
    d = tmp_path / "dir with space#1"
    d.mkdir()
    (d / "ok é.tf").write_text('resource "aws_ebs_volume" "v" {\n  availability_zone = "a"\n  size = 1\n}\n')
    (d / "broken.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = \n')
    out = tmp_path / "o.sarif"
    main(["scan", str(d), "--format", "sarif", "--output", str(out)])
    doc = json.loads(out.read_text())
    validate(doc)
    github_checks(doc)
    run = doc["runs"][0]
    assert any("ok%20%C3%A9.tf" == r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
               for r in run["results"])
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any(n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.tf" for n in notes)
    assert "%23" in run["originalUriBaseIds"]["%SRCROOT%"]["uri"]


def test_single_file_scan_and_empty_report(tmp_path: Path) -> None:
    f = tmp_path / "main.tf"
    f.write_text('variable "x" {}\n')
    out = tmp_path / "o.sarif"
    assert main(["scan", str(f), "--format", "sarif", "--output", str(out)]) == 0
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["runs"][0]["results"] == []


def test_suppression_audit_sarif_is_valid(tmp_path: Path) -> None:
    d = tmp_path / "repo"
    d.mkdir()
    subprocess.run(["git", "init", "-q", str(d)], check=True)
    (d / "main.tf").write_text(
        'resource "aws_s3_bucket" "b" {\n  # checkov:skip=CKV_AWS_18\n'
        '  # checkov:skip=CKV_AWS_21:Versioning is handled by the backup vault, SEC-12\n  bucket = "b"\n}\n')
    out = tmp_path / "s.sarif"
    assert main(["suppressions", str(d), "--format", "sarif", "--output", str(out), "--no-stale"]) == 0
    doc = json.loads(out.read_text())
    validate(doc)
    results = doc["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"TFG_SUPPRESSION", "TFG_SUPPRESSION_NO_REASON"}
    listed = next(r for r in results if r["ruleId"] == "TFG_SUPPRESSION")
    assert listed["kind"] == "informational" and listed["level"] == "none"
    assert listed["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
