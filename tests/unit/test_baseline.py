"""Baselines: stable fingerprints, --create-baseline / --baseline, gating only new findings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tfguard.cli import main
from tfguard.model import Finding, Result, Span
from tfguard.scan.baseline import (
    NEW,
    UNCHANGED,
    Baseline,
    BaselineError,
    create_baseline,
    fingerprint,
    load_baseline,
    normalize,
)
from tfguard.scan.runner import scan

BUCKET = '''resource "aws_s3_bucket" "data" {
  bucket = "data"
  acl    = "public-read"
}
'''
SG = '''resource "aws_security_group" "ssh" {
  description = "ssh"
  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
'''
VARIABLE = '''variable "env" {
  default = "dev"
}
'''
MAIN = VARIABLE + "\n" + BUCKET + "\n" + SG


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A git repository with one Terraform module, committed."""
    r = tmp_path / "repo"
    (r / "infra").mkdir(parents=True)
    git(r, "init", "-q")
    git(r, "config", "user.email", "dev@example.com")
    git(r, "config", "user.name", "Dev")
    (r / "infra" / "main.tf").write_text(MAIN)
    git(r, "add", ".")
    git(r, "commit", "-qm", "infra")
    return r


def scan_json(path: Path, *extra: str, out: Path) -> tuple[int, dict[str, Any]]:
    rc = main(["scan", str(path), "--format", "json", "--output", str(out), *extra])
    return rc, json.loads(out.read_text())


def failed(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in doc["findings"] if f["result"] == "FAILED"]


def states(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["check_id"], f["resource"]): f["baseline_state"] for f in failed(doc)}


def make_baseline(repo: Path) -> tuple[Path, dict[str, Any]]:
    bl = repo / ".tfguard-baseline.json"
    rc, doc = scan_json(repo / "infra", "--create-baseline", str(bl), out=repo.parent / "first.json")
    assert rc == 1 and failed(doc)
    return bl, doc


def test_create_baseline_file(repo: Path) -> None:
    bl, doc = make_baseline(repo)
    data = json.loads(bl.read_text())
    assert data["tfguard_baseline"] == 1 and data["fingerprint"] == "tfguard/v2"
    assert data["root"] == "infra"  # relative to the baseline's folder
    assert sum(e["count"] for e in data["findings"]) == len(failed(doc))
    assert {e["file"] for e in data["findings"]} == {"main.tf"}
    assert all(len(e["fingerprint"]) == 32 for e in data["findings"])
    # every failed finding of the JSON report carries its fingerprint
    assert {f["fingerprint"] for f in failed(doc)} == {e["fingerprint"] for e in data["findings"]}


def test_unchanged_file_gates_nothing(repo: Path) -> None:
    bl, first = make_baseline(repo)
    rc, doc = scan_json(repo / "infra", "--baseline", str(bl), out=repo.parent / "again.json")
    assert rc == 0
    assert set(states(doc).values()) == {UNCHANGED}
    assert doc["summary"]["new"] == 0 and doc["summary"]["baselined"] == len(failed(first))
    # without the baseline the same scan fails
    assert main(["scan", str(repo / "infra"), "--output", str(repo.parent / "t.txt")]) == 1


EDITS = {
    # lines inserted above, blocks reordered: every finding moves
    "line move": "# header\n\n\n\n" + SG + "\n\n" + BUCKET + "\n" + VARIABLE,
    # terraform fmt-style and indentation changes, blank lines, comments
    "whitespace": VARIABLE + "\n" + BUCKET.replace('acl    = "public-read"', '\tacl="public-read"   # why\n\n')
    + "\n" + SG.replace("    cidr_blocks = [\"0.0.0.0/0\"]", "        cidr_blocks   =   [ \"0.0.0.0/0\" ]")
    .replace("  ingress {", "\n  ingress   {"),
    # an unrelated block changes, another one is added
    "unrelated block": VARIABLE.replace('"dev"', '"staging"') + "\n" + BUCKET + "\n" + SG
    + '\noutput "bucket" {\n  value = aws_s3_bucket.data.id\n}\n',
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_edits_keep_baselined_findings_and_report_a_real_new_one(repo: Path, edit: str) -> None:
    bl, first = make_baseline(repo)
    before = {(f["check_id"], f["resource"]) for f in failed(first)}
    main_tf = repo / "infra" / "main.tf"
    main_tf.write_text(EDITS[edit])
    rc, doc = scan_json(repo / "infra", "--baseline", str(bl), "--fail-on", "LOW", out=repo.parent / "e.json")
    assert {k for k, v in states(doc).items() if v == UNCHANGED} == before, edit
    assert rc == 0, [f for f in failed(doc) if f["baseline_state"] == NEW]
    # a real new finding in the same file is reported as new and gates
    main_tf.write_text(EDITS[edit] + '\nresource "aws_ebs_volume" "scratch" {\n  availability_zone = "eu-west-1a"\n'
                       '  size = 10\n}\n')
    rc, doc = scan_json(repo / "infra", "--baseline", str(bl), out=repo.parent / "n.json")
    new = {k for k, v in states(doc).items() if v == NEW}
    assert new and all(res == "aws_ebs_volume.scratch" for _, res in new)
    assert ("CKV_AWS_3", "aws_ebs_volume.scratch") in new  # EBS encryption
    assert {k for k, v in states(doc).items() if v == UNCHANGED} == before
    assert rc == 1


def test_changed_offending_value_is_new(repo: Path) -> None:
    """Accepting ``public-read`` does not accept ``public-read-write``: the evaluated attribute is in the print."""
    bl, _ = make_baseline(repo)
    main_tf = repo / "infra" / "main.tf"
    main_tf.write_text(MAIN.replace('"public-read"', '"public-read-write"'))
    rc, doc = scan_json(repo / "infra", "--baseline", str(bl), out=repo.parent / "v.json")
    st = states(doc)
    assert st[("CKV_AWS_20", "aws_s3_bucket.data")] == NEW
    assert st[("CKV_AWS_24", "aws_security_group.ssh")] == UNCHANGED
    assert rc == 1


def test_fail_on_counts_only_new_findings(repo: Path) -> None:
    bl, _ = make_baseline(repo)
    main_tf = repo / "infra" / "main.tf"
    # a new LOW-or-below finding only: --fail-on HIGH passes, --fail-on INFO fails
    main_tf.write_text(MAIN.replace('  description = "ssh"\n  ingress', '  ingress'))  # CKV_AWS_23 group description
    rc_high, doc = scan_json(repo / "infra", "--baseline", str(bl), "--fail-on", "HIGH", out=repo.parent / "h.json")
    new = [f for f in failed(doc) if f["baseline_state"] == NEW]
    assert [f["check_id"] for f in new] == ["CKV_AWS_23"]
    assert rc_high == (1 if new[0]["severity"] in ("HIGH", "CRITICAL") else 0)
    rc_info, _ = scan_json(repo / "infra", "--baseline", str(bl), "--fail-on", "INFO", out=repo.parent / "i.json")
    assert rc_info == 1


def test_text_and_sarif_with_baseline(repo: Path) -> None:
    bl, first = make_baseline(repo)
    main_tf = repo / "infra" / "main.tf"
    main_tf.write_text(MAIN + '\nresource "aws_ebs_volume" "v" {\n  availability_zone = "a"\n  size = 1\n}\n')
    txt = repo.parent / "out.txt"
    assert main(["scan", str(repo / "infra"), "--baseline", str(bl), "--output", str(txt)]) == 1
    text = txt.read_text()
    assert "aws_ebs_volume.v" in text and "aws_s3_bucket.data" not in text
    assert f"{len(failed(first))} baselined (not shown)" in text
    sarif = repo.parent / "out.sarif"
    main(["scan", str(repo / "infra"), "--baseline", str(bl), "--format", "sarif", "--output", str(sarif)])
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    by_state: dict[str, set[str]] = {}
    for r in results:
        by_state.setdefault(r["baselineState"], set()).add(r["properties"]["resource"])
    assert by_state["new"] == {"aws_ebs_volume.v"}
    assert "aws_ebs_volume.v" not in by_state["unchanged"]
    assert len([r for r in results if r["baselineState"] == "unchanged"]) == len(failed(first))


def test_baseline_root_from_the_repository_root(repo: Path) -> None:
    """A baseline made with ``tfguard scan .`` at the top matches a scan of the subfolder and the API."""
    bl = repo / "baseline.json"
    rc, doc = scan_json(repo, "--create-baseline", str(bl), out=repo.parent / "top.json")
    assert json.loads(bl.read_text())["root"] == "."
    rc, doc = scan_json(repo / "infra", "--baseline", str(bl), out=repo.parent / "sub.json")
    assert rc == 0 and set(states(doc).values()) == {UNCHANGED}
    # the API the language server uses: any workspace root; unsaved text wins over the disk
    loaded = load_baseline(str(bl))
    from tfguard.wiring import make_engine

    report = scan(make_engine(str(repo / "infra")), [str(repo / "infra")])
    fails = report.failed
    assert fails and all(loaded.contains(f, str(repo / "infra")) for f in fails)
    assert all(loaded.contains(f, str(repo)) for f in fails)
    f20 = next(f for f in fails if f.check_id == "CKV_AWS_20")
    unsaved = MAIN.replace('"public-read"', '"public-read-write"')
    assert not loaded.contains(f20, str(repo), text=unsaved)
    passed = next(f for f in report.findings if f.result is Result.PASSED)
    assert not loaded.contains(passed, str(repo))


def finding(file: str, line: int = 1, check: str = "CKV_X_1", resource: str = "a.b") -> Finding:
    return Finding(check_id=check, check_name="x", result=Result.FAILED, file=file, resource=resource,
                   line_range=(line, line + 2), span=Span.of(line - 1, 0, line - 1, 1))


def test_duplicates_are_counted(tmp_path: Path) -> None:
    f = tmp_path / "m.tf"
    f.write_text('resource "a" "b" {\n}\n')
    one, two = finding(str(f)), finding(str(f), line=5)
    assert fingerprint(one, str(tmp_path)) == fingerprint(two, str(tmp_path))
    bl = create_baseline([one], str(tmp_path))
    assert len(bl) == 1
    st = bl.classify([one, two], str(tmp_path))
    assert st[id(one)] == UNCHANGED and st[id(two)] == NEW
    both = create_baseline([one, two], str(tmp_path))
    assert set(both.classify([one, two], str(tmp_path)).values()) == {UNCHANGED}
    assert both.contains(two, str(tmp_path))
    assert not both.contains(finding(str(f), check="CKV_X_2"), str(tmp_path))


def test_normalize_ignores_whitespace_and_comments_not_strings() -> None:
    assert normalize('cidr_blocks = [ "0.0.0.0/0" ] # x') == normalize('cidr_blocks=["0.0.0.0/0"]')
    assert normalize('ingress {\n  a = 1\n}') == normalize("ingress {a=1}")
    assert normalize('x = "a b"') != normalize('x = "ab"')  # inside quotes, spaces are data
    assert normalize("p = <<EOF\n  {\"a\": 1}\nEOF\n") == normalize("p = <<EOF\n{\"a\":1}\nEOF\n")


@pytest.mark.parametrize("content,message", [
    ("{", "invalid JSON"),
    ("[]", "not a tfguard baseline"),
    ('{"tfguard_baseline": 1, "findings": {}}', "must be a list"),
    ('{"tfguard_baseline": 1, "fingerprint": "tfguard/v1", "findings": []}', "create the baseline again"),
    ('{"tfguard_baseline": 1, "findings": [{"fingerprint": "x", "count": 0}]}', "positive"),
])
def test_invalid_baseline_files(tmp_path: Path, content: str, message: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "b.json"
    p.write_text(content)
    with pytest.raises(BaselineError, match=message):
        load_baseline(str(p))
    (tmp_path / "m.tf").write_text(BUCKET)
    assert main(["scan", str(tmp_path), "--baseline", str(p)]) == 2
    assert message in capsys.readouterr().err


def test_missing_baseline_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "m.tf").write_text(BUCKET)
    assert main(["scan", str(tmp_path), "--baseline", str(tmp_path / "nope.json")]) == 2
    assert isinstance(Baseline(), Baseline)
