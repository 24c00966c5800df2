"""``tfguard scan`` with Checkov's command line: each flag and each format, as a user sees them.

Formats are validated: SARIF against the vendored 2.1.0 schema, JUnit XML by parsing it, the GitLab SAST
report against GitLab's schema 15.0.4 (vendored in tests/data), GitHub
workflow commands by parsing each line, CSV with the csv module.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from tfguard.cli import main
from tfguard.invocation import Invocation

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
LOCATION = re.compile(r"^(?P<path>[^\s:]+\.tf):(?P<line>\d+):(?P<col>\d+): ")

# GitLab's SAST report schema 15.0.4 (security-report-schemas, dist/sast-report-format.json), vendored:
# tests/data/README.md says where it comes from.
GITLAB_SAST_SCHEMA = json.loads((REPO / "tests" / "data" / "gitlab-sast-report-format-15.0.4.json").read_text())


def _inv(cwd: Path, tty: bool = False, **env: str) -> Invocation:
    return Invocation(cwd=str(cwd), environ={"TFGUARD_NO_DAEMON": "1", **env}, stdout=io.StringIO(),
                      stderr=io.StringIO(), stdout_isatty=tty)


def _out(inv: Invocation) -> str:
    assert isinstance(inv.stdout, io.StringIO)
    return inv.stdout.getvalue()


def _err(inv: Invocation) -> str:
    assert isinstance(inv.stderr, io.StringIO)
    return inv.stderr.getvalue()


def scan(*argv: str, cwd: Path = REPO, **env: str) -> tuple[int, str, str]:
    inv = _inv(cwd, **env)
    code = main(list(argv), inv)
    return code, _out(inv), _err(inv)


_CACHE: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A shared result cache: the module's scans of examples/ run Checkov once."""
    _CACHE["TFGUARD_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


def _cache_env() -> dict[str, str]:
    return dict(_CACHE)


def test_tfguard_without_scan_takes_checkovs_d() -> None:
    code, out, err = scan("-d", "examples/dev", **_cache_env())
    assert code == 1, err
    lines = [ln for ln in out.splitlines() if LOCATION.match(ln)]
    assert lines, out
    assert all(m["path"] == "examples/dev/main.tf" for m in map(LOCATION.match, lines) if m)
    assert "    guide: https://" in out, "guideline links in the cli format"
    assert re.search(r"^examples/dev/main.tf:\d+:\d+: SKIPPED +CKV2_AWS_62 ", out, flags=re.M), "skips are named"


def test_sarif_is_a_format_not_a_file(tmp_path: Path) -> None:
    code, out, _ = scan("scan", "-o", "sarif", "examples/dev", **_cache_env())
    assert code == 1
    doc = json.loads(out)
    assert not list(jsonschema.Draft7Validator(SARIF_SCHEMA).iter_errors(doc))
    assert "informationUri" not in doc["runs"][0]["tool"]["driver"], "no placeholder URL"
    assert not (REPO / "sarif").exists()


def test_the_old_output_file_still_works_with_a_note(tmp_path: Path) -> None:
    out_file = tmp_path / "r.json"
    code, out, err = scan("scan", "examples/dev", "--format", "json", "-o", str(out_file), **_cache_env())
    assert code == 1 and out == ""
    assert json.loads(out_file.read_text())["summary"]["failed"] > 0
    assert "--format is deprecated: use -o json" in err
    assert "not a format name, so written as the report file (deprecated" in err


def test_check_and_skip_check_take_lists_and_wildcards() -> None:
    code, out, _ = scan("-d", "examples/dev", "--check", "CKV_AWS_1*,CKV2_AWS_6", "-o", "json", **_cache_env())
    ids = {f["check_id"] for f in json.loads(out)["findings"]}
    assert ids and all(i == "CKV2_AWS_6" or i.startswith("CKV_AWS_1") for i in ids), ids
    code, out, _ = scan("-d", "examples/dev", "--skip-check", "CKV_AWS_1*", "--skip-check", "TFG_*", "-o", "json",
                        **_cache_env())
    ids = {f["check_id"] for f in json.loads(out)["findings"]}
    assert ids and not any(i.startswith(("CKV_AWS_1", "TFG_")) for i in ids), ids


def test_check_and_skip_check_must_not_overlap() -> None:
    code, _, err = scan("-d", "examples/dev", "--check", "CKV_AWS_18", "--skip-check", "CKV_AWS_18")
    assert code == 2 and "mutually exclusive" in err


def test_soft_fail_and_short_s() -> None:
    for flag in ("--soft-fail", "-s"):
        code, _, _ = scan("-d", "examples/dev", flag, "-o", "compact", **_cache_env())
        assert code == 0


def test_compact_is_one_line_per_finding() -> None:
    code, out, _ = scan("-d", "examples/dev", "--compact", **_cache_env())
    lines = out.splitlines()
    assert code == 1 and lines[-1].startswith("tfguard: ")
    assert all(LOCATION.match(ln) for ln in lines[:-1]), lines


def test_quiet_names_no_skipped_checks() -> None:
    _, out, _ = scan("-d", "examples/dev", "--quiet", **_cache_env())
    assert "SKIPPED" not in out and "CKV_AWS_18" in out


def test_framework_selects_what_is_scanned_and_refuses_what_it_would_pass_over(tmp_path: Path) -> None:
    code, out, err = scan("-d", "examples/dev", "--framework", "terraform_plan")
    assert code == 2 and out == ""
    assert "--framework terraform_plan scans plan files; examples/dev is not one" in err
    plan = tmp_path / "tfplan.json"
    plan.write_text('{"format_version": "1.2", "terraform_version": "1.6.0", "planned_values": {}, '
                    '"resource_changes": []}')
    code, _, err = scan("-f", str(plan), "--framework", "terraform")
    assert code == 2 and "is a Terraform plan: add --framework terraform_plan" in err
    code, _, err = scan("-d", "examples/dev", "--framework", "kubernetes")
    assert code == 2 and "Terraform only" in err
    assert scan("-d", "examples/dev", "--framework", "terraform", "-o", "compact", **_cache_env())[0] == 1


def test_unknown_option_shows_scans_usage(capsys: pytest.CaptureFixture[str]) -> None:
    inv = _inv(REPO)
    with pytest.raises(SystemExit) as e:
        main(["scan", "examples/dev", "--bogus"], inv)
    assert e.value.code == 2
    assert "usage: tfguard scan" in _err(inv) and "unrecognized arguments: --bogus" in _err(inv)


def test_help_describes_exit_codes_and_examples() -> None:
    inv = _inv(REPO)
    with pytest.raises(SystemExit):
        main(["scan", "--help"], inv)
    text = _out(inv)
    for needle in ("exit codes:", "examples:", "--output-file-path", "NO_COLOR", "--skip-check", "a known format"
                   " name", "--external-checks-dir", "--config-file"):
        assert needle in text, needle


def test_output_file_path_directory_and_comma_list(tmp_path: Path) -> None:
    code, out, _ = scan("-d", "examples/dev", "-o", "sarif", "-o", "junitxml", "--output-file-path",
                        str(tmp_path / "out"), **_cache_env())
    assert code == 1 and out == ""
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["results_junitxml.xml", "results_sarif.sarif"]
    code, out, _ = scan("-d", "examples/dev", "-o", "cli", "-o", "json", "--output-file-path",
                        f"console,{tmp_path / 'r.json'}", **_cache_env())
    assert LOCATION.search(out.splitlines()[1]) and json.loads((tmp_path / "r.json").read_text())["findings"]
    code, _, err = scan("-d", "examples/dev", "-o", "cli", "-o", "json", "--output-file-path", "a,b,c")
    assert code == 2 and "3 destinations for 2 formats" in err


def test_two_formats_on_stdout_are_delimited_as_checkov_does() -> None:
    _, out, _ = scan("-d", "examples/dev", "-o", "compact", "-o", "json", **_cache_env())
    first, second = out.split("\n--- OUTPUT DELIMITER ---\n")
    assert first.splitlines()[-1].startswith("tfguard: ") and json.loads(second)["findings"]


def test_config_file_replaces_the_found_checkov_yaml(tmp_path: Path) -> None:
    cfg = tmp_path / "ck.yaml"
    cfg.write_text("check: [CKV_AWS_18]\n")
    _, out, _ = scan("-d", "examples/dev", "--config-file", str(cfg), "-o", "json", **_cache_env())
    assert {f["check_id"] for f in json.loads(out)["findings"] if f["source"] != "org"} == {"CKV_AWS_18"}
    code, _, err = scan("-d", "examples/dev", "--config-file", str(tmp_path / "missing.yaml"))
    assert code == 2 and "no such file" in err


def test_external_checks_dir_loads_yaml_policies(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    code, out, _ = scan("-d", str(ws), "--external-checks-dir", str(EXAMPLES / "policies"), "--check", "ACME_AWS_1",
                        "-o", "json", cwd=tmp_path)
    assert code == 1
    assert [f["check_id"] for f in json.loads(out)["findings"] if f["result"] == "FAILED"] == ["ACME_AWS_1"]


def test_junitxml_parses_with_failures_per_check() -> None:
    _, out, _ = scan("-d", "examples/dev", "-o", "junitxml", **_cache_env())
    root = ET.fromstring(out.encode())
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert suites and all(s.get("name") and s.get("tests") for s in suites)
    failures = [c for s in suites for c in s.findall("testcase") if c.find("failure") is not None]
    assert int(root.get("failures") or 0) == len(failures) > 0
    assert all(c.get("file") == "examples/dev/main.tf" and c.get("classname") for c in failures)
    assert any(c.find("skipped") is not None for s in suites for c in s.findall("testcase"))


def test_gitlab_sast_is_valid() -> None:
    _, out, _ = scan("-d", "examples/dev", "-o", "gitlab_sast", **_cache_env())
    doc = json.loads(out)
    errors = list(jsonschema.Draft7Validator(GITLAB_SAST_SCHEMA).iter_errors(doc))
    assert not errors, errors[:3]
    assert doc["version"] == "15.0.4" and doc["scan"]["scanner"]["id"] == "tfguard"
    assert {v["location"]["file"] for v in doc["vulnerabilities"]} == {"examples/dev/main.tf"}
    assert not any("None" in v.get("description", "") for v in doc["vulnerabilities"])
    _, as_json, _ = scan("-d", "examples/dev", "-o", "json", **_cache_env())
    failed = [f for f in json.loads(as_json)["findings"] if f["result"] == "FAILED"]
    assert sorted(v["severity"] for v in doc["vulnerabilities"]) == sorted(
        f["severity"].capitalize() for f in failed), "each finding once, with tfguard's severity"


GITHUB_COMMAND = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<msg>.*)$")


def test_github_workflow_commands_parse() -> None:
    _, out, _ = scan("-d", "examples/dev", "-o", "github", **_cache_env())
    lines = out.splitlines()
    assert lines
    for line in lines:
        m = GITHUB_COMMAND.match(line)
        assert m, line
        props = dict(p.split("=", 1) for p in m["props"].split(","))
        assert props["file"] == "examples/dev/main.tf"
        assert int(props["line"]) >= 1 and int(props["col"]) >= 1 and props["title"]
        assert "\n" not in m["msg"]


def test_csv_and_markdown() -> None:
    _, out, _ = scan("-d", "examples/dev", "-o", "csv", **_cache_env())
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and all(r["Path"] == "examples/dev/main.tf" and int(r["Line"]) >= 1 for r in rows)
    _, md, _ = scan("-d", "examples/dev", "-o", "markdown", **_cache_env())
    assert md.startswith("## tfguard\n") and "| Severity | Check |" in md and "[guide](https://" in md
    _, md2, _ = scan("-d", "examples/dev", "-o", "github_failed_only", **_cache_env())
    assert md2 == md


def test_colour_follows_no_color_force_color_and_no_color_flag() -> None:
    def colored(*extra: str, tty: bool = True, **env: str) -> bool:
        inv = _inv(REPO, tty=tty, **_cache_env(), **env)
        main(["-d", "examples/dev", *extra], inv)
        return "\033[" in _out(inv)

    assert colored()
    assert not colored(NO_COLOR="1")
    assert not colored("--no-color")
    assert not colored(tty=False)
    assert colored(tty=False, FORCE_COLOR="1")
    assert not colored(tty=False, FORCE_COLOR="0")


def test_every_scan_option_has_help() -> None:
    from tfguard.cli import build_parser

    scan_parser = build_parser().commands["scan"]  # type: ignore[attr-defined]
    missing = [a.option_strings or a.dest for a in scan_parser._actions if not a.help]
    assert not missing


def test_compact_shapes_the_cli_output_beside_other_formats(tmp_path: Path) -> None:
    """Checkov's --compact applies to the cli report wherever it goes; its file keeps Checkov's cli name."""
    code, _, _ = scan("-d", "examples/dev", "-o", "cli", "-o", "json", "--compact", "--output-file-path",
                      str(tmp_path), **_cache_env())
    assert code == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["results_cli.txt", "results_json.json"]
    lines = (tmp_path / "results_cli.txt").read_text().splitlines()
    assert lines[-1].startswith("tfguard: ") and all(LOCATION.match(ln) for ln in lines[:-1]), lines


def test_a_mistyped_format_or_command_is_refused_not_written_to_a_file(tmp_path: Path) -> None:
    """`-o sarfi` would otherwise be the deprecated `-o FILE` and write the text report into ./sarfi."""
    code, out, err = scan("-d", str(EXAMPLES / "dev"), "-o", "sarfi", cwd=tmp_path)
    assert code == 2 and out == "" and "did you mean -o sarif?" in err
    assert not (tmp_path / "sarfi").exists()
    code, _, err = scan("scna", str(EXAMPLES / "dev"), cwd=tmp_path)
    assert code == 2 and "no such file or directory: scna (did you mean `tfguard scan`?)" in err
    code, _, err = scan("scan", str(EXAMPLES / "dev"), "-o", str(tmp_path / "report"), **_cache_env())
    assert code == 1 and (tmp_path / "report").is_file() and "deprecated" in err, "a file name still works"


def test_github_failed_only_keeps_checkovs_file_name(tmp_path: Path) -> None:
    code, out, _ = scan("-d", "examples/dev", "-o", "github_failed_only", "--output-file-path", str(tmp_path),
                        **_cache_env())
    assert code == 1 and out == "" and [p.name for p in tmp_path.iterdir()] == ["results_github_failed_only.md"]
    assert (tmp_path / "results_github_failed_only.md").read_text().startswith("## tfguard\n")
