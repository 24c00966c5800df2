"""``tfguard suppressions``: every skip comment with its author, and what is wrong with it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tfguard.cli import main
from tfguard.config.checkov import ConfigError
from tfguard.config.tfguard import ConfigResolver, parse_config
from tfguard.fixes import SUPPRESS_PLACEHOLDER
from tfguard.scan.suppressions import (
    AuditOptions,
    audit,
    find_suppressions,
    is_placeholder,
    parse_porcelain,
    strip_skips,
)

MAIN = f'''# checkov:skip=CKV_AWS_18:outside any block: Checkov ignores it, so does the audit
resource "aws_s3_bucket" "data" {{
  # checkov:skip=CKV_AWS_18:{SUPPRESS_PLACEHOLDER}
  # checkov:skip=CKV_AWS_21
  # bridgecrew:skip=CKV_AWS_20:Public website bucket, see SEC-42
  bucket = "data"
  acl    = "private"
}}

resource "aws_security_group" "ssh" {{
  # cortex:skip=CKV_AWS_24,CKV_AWS_999:bastion access
  description = "ssh"
  ingress {{
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }}
}}
'''
LATER = '''
resource "aws_ebs_volume" "v" {
  # checkov:skip=CKV_AWS_3:Scratch disk without data, approved in SEC-77
  availability_zone = "eu-west-1a"
  size              = 1
}
'''


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    (r / "infra").mkdir(parents=True)
    git(r, "init", "-q")
    git(r, "config", "user.name", "Alice Example")
    git(r, "config", "user.email", "alice@example.com")
    (r / "infra" / "main.tf").write_text(MAIN)
    git(r, "add", ".")
    env = dict(os.environ, GIT_AUTHOR_DATE="2024-03-05T10:20:30+0100", GIT_COMMITTER_DATE="2024-03-05T10:20:30+0100")
    git(r, "commit", "-qm", "infra", env=env)
    return r


def run_json(*args: str, tmp: Path) -> tuple[int, dict[str, Any]]:
    out = tmp / "audit.json"
    rc = main(["suppressions", *args, "--format", "json", "--output", str(out)])
    return rc, json.loads(out.read_text())


def by_check(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["check_id"]: s for s in doc["suppressions"]}


def codes(s: dict[str, Any]) -> set[str]:
    return {v["code"] for v in s["violations"]}


def test_lists_every_skip_with_blame_and_violations(repo: Path, tmp_path: Path) -> None:
    rc, doc = run_json(str(repo), "--ticket-pattern", r"SEC-\d+", "--not-suppressible", "CKV_AWS_24", tmp=tmp_path)
    assert rc == 0  # listing only: --fail-on-violations not given
    s = by_check(doc)
    assert sorted(s) == ["CKV_AWS_18", "CKV_AWS_20", "CKV_AWS_21", "CKV_AWS_24", "CKV_AWS_999"]
    assert doc["summary"]["suppressions"] == 5
    b18 = s["CKV_AWS_18"]
    assert (b18["file"], b18["line"], b18["resource"], b18["reason"]) == (
        "infra/main.tf", 3, "aws_s3_bucket.data", SUPPRESS_PLACEHOLDER)
    assert b18["author"] == "Alice Example" and b18["author_mail"] == "alice@example.com"
    assert b18["date"] == "2024-03-05T10:20:30+01:00" and b18["committed"] is True
    assert s["CKV_AWS_20"]["directive"] == "bridgecrew" and s["CKV_AWS_24"]["directive"] == "cortex"
    assert s["CKV_AWS_24"]["line"] == s["CKV_AWS_999"]["line"] == 11
    # the violations
    assert codes(b18) == {"placeholder"}  # CKV_AWS_18 (access logging) still fails: not stale
    assert codes(s["CKV_AWS_21"]) == {"no-reason"}
    assert s["CKV_AWS_21"]["reason"] is None
    assert codes(s["CKV_AWS_20"]) == {"stale"}  # acl = private: the public-ACL check passes
    assert codes(s["CKV_AWS_24"]) == {"no-ticket", "not-suppressible"}
    assert codes(s["CKV_AWS_999"]) == {"no-ticket", "stale"}  # unknown id
    assert "not reported" in next(v["message"] for v in s["CKV_AWS_999"]["violations"] if v["code"] == "stale")
    assert "passes" in next(v["message"] for v in s["CKV_AWS_20"]["violations"] if v["code"] == "stale")
    assert doc["summary"]["by_violation"] == {"no-reason": 1, "placeholder": 1, "no-ticket": 2, "stale": 2,
                                              "not-suppressible": 1}


def test_fail_on_violations(repo: Path, tmp_path: Path) -> None:
    assert main(["suppressions", str(repo), "--fail-on-violations", "--output", str(tmp_path / "a.txt")]) == 1
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "v.tf").write_text(LATER)
    assert main(["suppressions", str(clean), "--fail-on-violations", "--ticket-pattern", r"SEC-\d+",
                 "--output", str(tmp_path / "b.txt")]) == 0
    text = (tmp_path / "b.txt").read_text()
    assert "CKV_AWS_3" in text and "1 suppressions in 1 files, 0 violations" in text


def test_uncommitted_and_later_lines(repo: Path, tmp_path: Path) -> None:
    main_tf = repo / "infra" / "main.tf"
    main_tf.write_text(MAIN + LATER)
    _, doc = run_json(str(repo / "infra"), "--no-stale", tmp=tmp_path)
    s = by_check(doc)
    assert s["CKV_AWS_3"]["committed"] is False and s["CKV_AWS_3"]["author"] is None
    assert s["CKV_AWS_3"]["file"] == "main.tf"  # relative to the audited folder
    env = dict(os.environ, GIT_AUTHOR_NAME="Bob", GIT_AUTHOR_EMAIL="bob@example.com",
               GIT_AUTHOR_DATE="2025-01-02T03:04:05+0000")
    git(repo, "commit", "-qam", "ebs", env=env)
    _, doc = run_json(str(repo / "infra"), "--no-stale", tmp=tmp_path)
    s = by_check(doc)
    assert (s["CKV_AWS_3"]["author"], s["CKV_AWS_3"]["date"]) == ("Bob", "2025-01-02T03:04:05+00:00")
    assert s["CKV_AWS_18"]["author"] == "Alice Example"  # older lines keep their author
    assert not any(v["code"] == "stale" for x in doc["suppressions"] for v in x["violations"])  # --no-stale


def test_outside_git_no_blame(tmp_path: Path) -> None:
    d = tmp_path / "plain"
    d.mkdir()
    (d / "v.tf").write_text(LATER)
    _, doc = run_json(str(d), tmp=tmp_path)
    (s,) = doc["suppressions"]
    assert s["author"] is None and s["committed"] is None and s["violations"] == []


def test_config_ticket_pattern_and_not_suppressible(repo: Path, tmp_path: Path) -> None:
    (repo / ".tfguard.yaml").write_text(
        'version: 1\nsuppressions:\n  ticket_pattern: "SEC-\\\\d+"\n  not_suppressible: ["ckv_aws_2*"]\n')
    _, doc = run_json(str(repo), "--no-stale", tmp=tmp_path)
    s = by_check(doc)
    assert codes(s["CKV_AWS_24"]) == {"no-ticket", "not-suppressible"}
    assert codes(s["CKV_AWS_20"]) == {"not-suppressible"}  # pattern CKV_AWS_2*; it has a ticket
    assert codes(s["CKV_AWS_21"]) == {"no-reason", "not-suppressible"}
    assert codes(s["CKV_AWS_18"]) == {"placeholder"}
    # --ticket-pattern overrides the file's; --not-suppressible adds to it
    _, doc = run_json(str(repo), "--no-stale", "--ticket-pattern", "bastion", "--not-suppressible", "CKV_AWS_18",
                      tmp=tmp_path)
    s = by_check(doc)
    assert codes(s["CKV_AWS_24"]) == {"not-suppressible"}
    assert codes(s["CKV_AWS_20"]) == {"no-ticket", "not-suppressible"}
    assert "not-suppressible" in codes(s["CKV_AWS_18"])
    # --config FILE
    cfg = tmp_path / "secops.yaml"
    cfg.write_text("suppressions: {ticket_pattern: 'JIRA-\\d+'}\n")
    _, doc = run_json(str(repo), "--no-stale", "--config", str(cfg), tmp=tmp_path)
    assert codes(by_check(doc)["CKV_AWS_20"]) == {"no-ticket"}  # the --config layer wins, whole key


def test_config_validation(tmp_path: Path) -> None:
    layer = parse_config("suppressions:\n  ticket_pattern: 'SEC-\\d+'\n  not_suppressible: [ckv_aws_24]\n", "c.yaml")
    assert layer.values["ticket_pattern"] == r"SEC-\d+" and layer.values["not_suppressible"] == ("CKV_AWS_24",)
    with pytest.raises(ConfigError, match="invalid regular expression") as e:
        parse_config("suppressions:\n  ticket_pattern: 'SEC-(\\d+'\n", "c.yaml")
    assert (e.value.line, e.value.column) == (1, 18)
    with pytest.raises(ConfigError, match="unknown key 'tickets'"):
        parse_config("suppressions: {tickets: x}\n", "c.yaml")
    with pytest.raises(ConfigError, match="expected a list"):
        parse_config("suppressions: {not_suppressible: CKV_AWS_1}\n", "c.yaml")
    # nearest file wins for the whole key
    (tmp_path / "mod").mkdir()
    (tmp_path / ".tfguard.yaml").write_text("suppressions: {ticket_pattern: 'A-1', not_suppressible: [X]}\n")
    (tmp_path / "mod" / ".tfguard.yaml").write_text("suppressions: {ticket_pattern: 'B-2'}\n")
    cfg = ConfigResolver(str(tmp_path)).config_for(str(tmp_path / "mod" / "main.tf"))
    assert cfg.ticket_pattern == "B-2" and cfg.not_suppressible == ()
    top = ConfigResolver(str(tmp_path)).config_for(str(tmp_path / "main.tf"))
    assert top.ticket_pattern == "A-1" and top.not_suppressible == ("X",)


def test_invalid_ticket_pattern_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "v.tf").write_text(LATER)
    assert main(["suppressions", str(tmp_path), "--ticket-pattern", "SEC-(", "--no-stale"]) == 2
    assert "invalid --ticket-pattern" in capsys.readouterr().err
    assert main(["suppressions", str(tmp_path / "missing")]) == 2


@pytest.mark.parametrize("reason,placeholder", [
    (SUPPRESS_PLACEHOLDER, True), ("TODO", True), ("todo: later", True), ("FIXME", True), ("tbd", True),
    ("reason", True), ("<reason>", True), ("n/a", True), ("-", True), ("ok", True), ("...", True),
    ("Public website bucket (SEC-42)", False), ("Logs go to the central account", False),
    ("Todoist integration needs public read", False),
])
def test_placeholders(reason: str, placeholder: bool) -> None:
    assert is_placeholder(reason) is placeholder


def test_find_and_strip() -> None:
    found = find_suppressions("/x/main.tf", MAIN)
    assert [(s.check_id, s.line) for s in found] == [
        ("CKV_AWS_18", 2), ("CKV_AWS_21", 3), ("CKV_AWS_20", 4), ("CKV_AWS_24", 10), ("CKV_AWS_999", 10)]
    assert found[0].column == MAIN.split("\n")[2].index("checkov:skip")
    stripped = strip_skips(MAIN)
    assert "skip=" not in stripped and stripped.count("\n") == MAIN.count("\n")
    assert find_suppressions("/x/main.tf", stripped) == []


def test_parse_porcelain() -> None:
    out = ("abc123 3 3 1\nauthor Ann\nauthor-mail <ann@example.com>\nauthor-time 1700000000\n"
           "author-tz -0230\nsummary fix\nfilename main.tf\n\t# checkov:skip=X:y\n")
    b = parse_porcelain(out)
    assert b is not None and (b.author, b.mail, b.commit) == ("Ann", "ann@example.com", "abc123")
    assert b.date == "2023-11-14T19:43:20-02:30"
    zero = parse_porcelain("0000000000000000000000000000000000000000 1 1 1\nauthor Not Committed Yet\n")
    assert zero is not None and zero.commit is None


def test_text_report(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.txt"
    main(["suppressions", str(repo), "--ticket-pattern", r"SEC-\d+", "--output", str(out)])
    text = out.read_text()
    assert "infra/main.tf:4  CKV_AWS_21  aws_s3_bucket.data  (no reason)  (Alice Example <alice@example.com>, " \
           "2024-03-05)" in text
    assert "    stale: CKV_AWS_20 passes without the skip" in text
    assert text.rstrip().endswith("5 suppressions in 1 files, 6 violations (1 no-reason, 1 placeholder, "
                                  "2 no-ticket, 2 stale)")


def test_api_options(repo: Path) -> None:
    result = audit([str(repo / "infra" / "main.tf")], AuditOptions(stale=False, blame=False))
    assert len(result.suppressions) == 5 and result.files_scanned == 1
    assert all(s.blame is None for s in result.suppressions)
