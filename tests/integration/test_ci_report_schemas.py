"""Each CI report format checked against what its consumer reads, on real scans (the CLI, real Checkov).

- ``gitlab_sast`` against GitLab's published SAST report schema 15.0.4 (tests/data, with its origin): a
  scan with findings, one without, a Terraform plan, a tree with a syntax error, one where Checkov checks
  raise, a YAML policy whose name is longer than the schema allows, files outside the working directory.
- ``junitxml`` against Jenkins' JUnit schema (xunit-plugin ``junit-10.xsd``, tests/data) and as GitLab's
  JUnit parser reads it (``lib/gitlab/ci/parsers/test/junit.rb``: one ``testsuites`` root, ``testsuite`` >
  ``testcase`` with ``failure``/``error``/``skipped``). No XSD validator is installed (lxml, xmlschema), so
  :class:`Xsd` implements the part of XML Schema that file uses and refuses a schema using more.
- ``csv`` with Checkov's IaC header (``checkov/common/output/csv.py`` ``HEADER_IAC``, read from the
  installed Checkov, not copied).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import CORPORA

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCHEMA = json.loads((REPO / "tests" / "data" / "gitlab-sast-report-format-15.0.4.json").read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
PLANS = CORPORA / "plans" / "plan"
CHECK_ERRORS = REPO / "tests" / "fixtures" / "check_errors"
BROKEN = 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\nresource "aws_s3_bucket" "c" {\n  bucket =\n'


JUNIT_XSD = (REPO / "tests" / "data" / "junit-10.xsd").read_text()
XS = "{http://www.w3.org/2001/XMLSchema}"
# What GitLab's test report reads beyond Jenkins' schema: the test case's file (Checkov writes it, with line).
JUNIT_EXTENSIONS = {("testcase", "file"), ("testcase", "line")}


class Xsd:
    """The part of XML Schema that junit-10.xsd uses (checked on load: any other construct is refused):
    global elements and named complex types, sequence/choice of element refs or local elements,
    attributes (``use="required"``, a pattern-restricted simple type), mixed or element-only content."""

    USED = {"schema", "simpleType", "restriction", "pattern", "complexType", "sequence", "choice", "element",
            "attribute"}

    def __init__(self, text: str) -> None:
        root = ET.fromstring(text.encode())
        unknown = {e.tag.removeprefix(XS) for e in root.iter() if isinstance(e.tag, str)} - self.USED
        assert not unknown, f"XSD constructs this checker does not implement: {unknown}"
        self.patterns = {s.get("name"): s.find(f"{XS}restriction/{XS}pattern").get("value")  # type: ignore[union-attr]
                         for s in root.findall(f"{XS}simpleType")}
        self.types = {c.get("name"): c for c in root.findall(f"{XS}complexType")}
        self.elements = {e.get("name"): e for e in root.findall(f"{XS}element")}

    def errors(self, el: ET.Element, decl: ET.Element | None = None, path: str = "") -> list[tuple[str, str]]:
        """(path, message) for each way ``el`` breaks the schema."""
        decl = self.elements.get(el.tag) if decl is None else decl
        path = f"{path}/{el.tag}"
        if decl is None:
            return [(path, "element not declared")]
        inline = decl.find(f"{XS}complexType")
        ctype = inline if inline is not None else self.types.get(decl.get("type", ""))
        if ctype is None:  # xs:string: text only
            return [(path, "child elements in a text-only element")] if len(el) else []
        out = []
        attrs = {a.get("name"): a for a in ctype.iter(f"{XS}attribute")}
        for name, value in el.attrib.items():
            a = attrs.get(name)
            if a is None:
                out.append((path, f"attribute {name} not declared"))
            elif a.get("type") in self.patterns and not re.fullmatch(self.patterns[a.get("type")], value):
                out.append((path, f"attribute {name}={value!r} does not match {a.get('type')}"))
        out += [(path, f"required attribute {n} missing") for n, a in attrs.items()
                if a.get("use") == "required" and n not in el.attrib]
        if ctype.get("mixed") != "true" and (el.text or "").strip():
            out.append((path, "text in element-only content"))
        allowed = {(c.get("ref") or c.get("name")): c for c in ctype.iter(f"{XS}element")}
        for child in el:
            cdecl = allowed.get(child.tag)
            if cdecl is None:
                out.append((path, f"child {child.tag} not allowed"))
            else:
                out += self.errors(child, self.elements.get(child.tag) if cdecl.get("ref") else cdecl, path)
        return out


def junit_schema_errors(xml: str) -> list[tuple[str, str]]:
    """Breaches of junit-10.xsd other than :data:`JUNIT_EXTENSIONS`."""
    return [(p, m) for p, m in Xsd(JUNIT_XSD).errors(ET.fromstring(xml.encode()))
            if not any(p.endswith(f"/{el}") and m == f"attribute {a} not declared" for el, a in JUNIT_EXTENSIONS)]


def test_the_junit_checker_is_live() -> None:
    """The checker rejects what junit-10.xsd rejects (and the extensions only where allowed)."""
    ok = '<testsuites><testsuite name="s" tests="1" failures="1" errors="0" time="0.5"><testcase name="c" ' \
         'file="a.tf" line="3"><failure message="m" type="failure">x</failure></testcase></testsuite></testsuites>'
    assert junit_schema_errors(ok) == []
    for bad in (ok.replace(' tests="1"', ""), ok.replace('time="0.5"', 'time="soon"'),
                ok.replace("<failure", "<failed").replace("</failure", "</failed"),
                ok.replace('<testsuite name="s"', '<testsuite file="a.tf" disabled="0" name="s"'),
                ok.replace("<testsuites>", '<testsuites line="1">')):
        assert junit_schema_errors(bad), bad


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def tfguard(cwd: Path, cache: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``tfguard ARGV`` from a shell in ``cwd``, as a CI job runs it (no daemon)."""
    env = dict(os.environ, TFGUARD_NO_DAEMON="1", TFGUARD_CACHE_DIR=str(cache))
    return subprocess.run([str(BIN / "tfguard"), *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def gitlab(cwd: Path, cache: Path, *argv: str, code: int) -> dict[str, Any]:
    proc = tfguard(cwd, cache, "scan", *argv, "-o", "gitlab_sast")
    assert proc.returncode == code, proc.stderr[-2000:]
    doc: dict[str, Any] = json.loads(proc.stdout)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(doc)]
    assert not errors, errors[:5]
    return doc


def test_the_vendored_schema_is_gitlabs_and_rejects_what_gitlab_would() -> None:
    """The validator is live: the declared version is the schema's, and reports GitLab refuses fail it."""
    assert SCHEMA["self"]["version"] == "15.0.4" and SCHEMA["title"] == "Report format for GitLab SAST"
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    good = {"version": "15.0.4", "vulnerabilities": [], "scan": {
        "analyzer": {"id": "a", "name": "a", "version": "1", "vendor": {"name": "v"}},
        "scanner": {"id": "a", "name": "a", "version": "1", "vendor": {"name": "v"}},
        "start_time": "2026-01-01T00:00:00", "end_time": "2026-01-01T00:00:00", "status": "success", "type": "sast"}}
    assert VALIDATOR.is_valid(good)
    bad_time = copy.deepcopy(good)
    bad_time["scan"]["end_time"] = "2026-01-01T00:00:00Z"
    vuln = {"id": "x", "identifiers": [{"type": "checkov", "name": "C", "value": "C"}], "location": {},
            "severity": "HIGH"}
    bad_severity = copy.deepcopy(good) | {"vulnerabilities": [vuln]}
    long_name = copy.deepcopy(good) | {"vulnerabilities": [dict(vuln, severity="High", name="n" * 256)]}
    for bad in (bad_time, bad_severity, long_name, {k: v for k, v in good.items() if k != "scan"}):
        assert not VALIDATOR.is_valid(bad)


def test_gitlab_sast_with_findings_and_without(tmp_path: Path, cache: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(REPO / "examples", work)
    doc = gitlab(work, cache, "-d", ".", code=1)
    assert doc["scan"]["status"] == "success" and "messages" not in doc["scan"]
    vulns = doc["vulnerabilities"]
    assert vulns and {v["location"]["file"].split("/")[0] for v in vulns} == {"dev", "prod"}
    assert all(v["location"]["start_line"] >= 1 and v["severity"] != "Unknown" for v in vulns)
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "main.tf").write_text('variable "region" {\n  default = "eu-west-1"\n}\n')
    empty = gitlab(clean, cache, "-d", ".", code=0)
    assert empty["vulnerabilities"] == [] and empty["scan"]["status"] == "success"


@pytest.mark.skipif(not PLANS.is_dir(), reason="../shared/corpora/plans is absent")
def test_gitlab_sast_of_a_plan_names_the_plan_file(tmp_path: Path, cache: Path) -> None:
    shutil.copy(PLANS / "tfplan.json", tmp_path / "tfplan.json")
    doc = gitlab(tmp_path, cache, "-f", "tfplan.json", code=1)
    assert doc["vulnerabilities"] and {v["location"]["file"] for v in doc["vulnerabilities"]} == {"tfplan.json"}
    # from another directory: the path outside the working directory stays absolute (Checkov strips the "/")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    doc = gitlab(elsewhere, cache, "-f", str(tmp_path / "tfplan.json"), code=1)
    assert {v["location"]["file"] for v in doc["vulnerabilities"]} == {str(tmp_path / "tfplan.json")}


def test_gitlab_sast_carries_problems_as_scan_messages(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "bad.tf").write_text(BROKEN)
    doc = gitlab(tmp_path, cache, "-d", ".", code=2)
    (msg,) = doc["scan"]["messages"]
    assert msg["level"] == "warn" and msg["value"].startswith("bad.tf:5:") and "[syntax]" in msg["value"]


def test_gitlab_sast_of_a_scan_whose_checks_raised_is_a_failure(tmp_path: Path, cache: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(CHECK_ERRORS, tree)
    doc = gitlab(tree, cache, "-d", ".", code=2)
    assert doc["scan"]["status"] == "failure"
    fatal = [m for m in doc["scan"]["messages"] if m["level"] == "fatal"]
    assert fatal and all("[check-error]" in m["value"] for m in fatal)


def test_gitlab_sast_names_longer_than_the_schema_allows_are_shortened(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    policies = tmp_path / "policies"
    policies.mkdir()
    name = "S3 buckets must declare a data-classification tag " * 8
    (policies / "long.yaml").write_text(
        f'metadata:\n  id: ACME_AWS_9\n  name: "{name.strip()}"\n  category: GENERAL_SECURITY\n'
        "definition:\n  cond_type: attribute\n  resource_types: [aws_s3_bucket]\n"
        "  attribute: tags.data-classification\n  operator: exists\n")
    doc = gitlab(tmp_path, cache, "-d", ".", "--external-checks-dir", "policies", "--check", "ACME_AWS_9", code=1)
    (vuln,) = doc["vulnerabilities"]
    assert len(vuln["name"]) == 255 and vuln["name"].endswith("\u2026") and name.startswith(vuln["name"][:-1])
    assert vuln["identifiers"][0]["value"] == "ACME_AWS_9"


def _gitlab_junit_cases(xml: str) -> list[dict[str, str]]:
    """Test cases as GitLab's JUnit parser builds them: one ``testsuites`` root, its ``testsuite``s'
    ``testcase``s; status failed/error/skipped/success by the child element."""
    root = ET.fromstring(xml.encode())
    assert root.tag == "testsuites"
    cases = []
    for suite in root.iter("testsuite"):
        for tc in suite.findall("testcase"):
            status = next((s for s in ("failure", "error", "skipped") if tc.find(s) is not None), "success")
            cases.append({"suite": suite.get("name", ""), "name": tc.get("name", ""), "classname": tc.get(
                "classname", ""), "file": tc.get("file", ""), "status": status})
    return cases


def test_junitxml_is_valid_and_as_gitlab_reads_it_shows_problems_as_errors(tmp_path: Path, cache: Path) -> None:
    shutil.copy(REPO / "examples" / "dev" / "main.tf", tmp_path / "good.tf")
    (tmp_path / "bad.tf").write_text(BROKEN)
    proc = tfguard(tmp_path, cache, "scan", ".", "-o", "junitxml")
    assert proc.returncode == 2
    assert junit_schema_errors(proc.stdout) == []
    cases = _gitlab_junit_cases(proc.stdout)
    assert all(c["name"] and c["classname"] and c["file"] in ("good.tf", "bad.tf") for c in cases)
    statuses = {c["status"] for c in cases}
    assert {"failure", "skipped", "success"} <= statuses
    (err,) = [c for c in cases if c["status"] == "error"]
    assert err["suite"] == "tfguard problems" and err["file"] == "bad.tf"
    assert err["name"].startswith("[syntax] bad.tf:5:")
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "main.tf").write_text('variable "region" {\n  default = "eu-west-1"\n}\n')
    proc = tfguard(clean, cache, "scan", ".", "-o", "junitxml")
    assert junit_schema_errors(proc.stdout) == []
    assert proc.returncode == 0 and not [c for c in _gitlab_junit_cases(proc.stdout) if c["status"] != "success"]


def test_csv_has_checkovs_header_and_rows(tmp_path: Path, cache: Path) -> None:
    from checkov.common.output.csv import HEADER_IAC

    shutil.copy(REPO / "examples" / "dev" / "main.tf", tmp_path / "main.tf")
    proc = tfguard(tmp_path, cache, "scan", "-d", ".", "-o", "csv")
    assert proc.returncode == 1
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows[0][:len(HEADER_IAC)] == HEADER_IAC and rows[0][len(HEADER_IAC):] == ["Line", "Column", "Message"]
    records = list(csv.DictReader(io.StringIO(proc.stdout)))
    failed = [r for r in records if r["Misconfigurations"]]
    assert failed and all(r["Path"] == "main.tf" and r["Severity"] and r["Policy title"] for r in failed)
    as_json = json.loads(tfguard(tmp_path, cache, "scan", "-d", ".", "-o", "json").stdout)
    assert sorted((r["Resource"], r["Misconfigurations"]) for r in failed) == sorted(
        (f["resource"], f["check_id"]) for f in as_json["findings"] if f["result"] == "FAILED")
    resources = {f["resource"] for f in as_json["findings"]}
    assert {r["Resource"] for r in records} == resources, "every evaluated resource appears, as in Checkov"
