from __future__ import annotations

import os
from pathlib import Path

import pytest

from tfguard.config.checkov import ConfigError
from tfguard.config.tfguard import ConfigResolver, discover, load_config_file, parse_config
from tfguard.model import Severity
from tfguard.priority import DEFAULT_ENVIRONMENTS
from tfguard.wiring import make_engine

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_example_config_is_valid_and_complete() -> None:
    layer = load_config_file(str(REPO / "examples" / ".tfguard.yaml"))
    v = layer.values
    assert v["severity_overrides"]["CKV_AWS_24"] is Severity.HIGH
    assert v["environments"][0] == ("**/prod/**", 1, "production")
    assert v["disable"] == ("CKV2_AWS_61",)
    assert v["catalogue"] == str(REPO / "examples" / "approved-modules.yaml")
    assert v["policy_dirs"] == (str(REPO / "examples" / "policies"),)
    assert v["required_tags_by_type"]["aws_s3_bucket"] == ("data-classification",)
    assert v["minimum_severity"] is Severity.INFO and v["secrets_enabled"] is True


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("version: 1\nseverity_overrides:\n  CKV_AWS_20: SEVERE\n", 2, 14, "unknown severity 'SEVERE'"),
        ("version: 1\ncolour: blue\n", 1, 0, "unknown key 'colour'"),
        ("python_checks: [checks/]\n", 0, 0, "python_checks cannot be set in a workspace file"),
        ("environments:\n  - pattern: '**/prod/**'\n    adjust: lots\n", 2, 12, "whole number"),
        ("environments:\n  - adjust: 1\n", 1, 4, "missing 'pattern'"),
        ("checks:\n  disable: CKV_AWS_20\n", 1, 11, "expected a list"),
        ("secrets: {enabled: maybe}\n", 0, 19, "true or false"),
        ("required_tags:\n  all: [owner]\n  by_kind: {}\n", 2, 2, "unknown key 'by_kind'"),
        ("severity_overrides: [1, 2\n", 1, 0, "invalid YAML"),
        ("- just\n- a list\n", 0, 0, "expected a mapping"),
    ],
    ids=["bad-severity", "unknown-key", "python-checks-refused", "bad-adjust", "missing-pattern",
         "disable-not-list", "bad-bool", "bad-nested-key", "yaml-syntax", "not-a-mapping"],
)
def test_bad_config_error_is_located(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "/ws/.tfguard.yaml")
    assert (info.value.line, info.value.column) == (line, column)
    assert fragment in info.value.message


def test_defaults_without_any_file(tmp_path: Path) -> None:
    cfg = ConfigResolver(str(tmp_path)).config_for(str(tmp_path / "main.tf"))
    assert cfg.sources == ()
    assert cfg.environments == DEFAULT_ENVIRONMENTS
    assert cfg.catalogue is None and cfg.secrets_enabled and cfg.is_enabled("CKV_AWS_20")


@pytest.fixture
def layered(tmp_path: Path) -> Path:
    write(tmp_path / ".tfguard.yaml",
          "severity_overrides: {CKV_AWS_20: LOW}\nminimum_severity: LOW\nrequired_tags: {all: [owner]}\n")
    write(tmp_path / "envs" / "prod" / ".tfguard.yaml", "severity_overrides: {CKV_AWS_20: CRITICAL}\n")
    write(tmp_path / "envs" / "prod" / "main.tf", "")
    write(tmp_path / "envs" / "dev" / "main.tf", "")
    write(tmp_path / "cli.yaml", "minimum_severity: HIGH\n")
    return tmp_path


def test_root_file_applies_below_it(layered: Path) -> None:
    cfg = ConfigResolver(str(layered)).config_for(str(layered / "envs" / "dev" / "main.tf"))
    assert cfg.severity_overrides == {"CKV_AWS_20": Severity.LOW}
    assert cfg.sources == (str(layered / ".tfguard.yaml"),)


def test_nearest_file_wins_per_key_and_root_fills_the_rest(layered: Path) -> None:
    cfg = ConfigResolver(str(layered)).config_for(str(layered / "envs" / "prod" / "main.tf"))
    assert cfg.severity_overrides == {"CKV_AWS_20": Severity.CRITICAL}  # nearest
    assert cfg.minimum_severity is Severity.LOW and cfg.required_tags("aws_instance") == ("owner",)  # root
    assert cfg.sources[0].endswith(os.path.join("prod", ".tfguard.yaml"))


def test_cli_config_wins_over_workspace_files(layered: Path) -> None:
    resolver = ConfigResolver(str(layered), explicit=str(layered / "cli.yaml"))
    cfg = resolver.config_for(str(layered / "envs" / "prod" / "main.tf"))
    assert cfg.minimum_severity is Severity.HIGH  # --config
    assert cfg.severity_overrides == {"CKV_AWS_20": Severity.CRITICAL}  # nearest still fills other keys


def test_discovery_stops_at_the_workspace_root(layered: Path) -> None:
    found = discover(str(layered / "envs" / "prod"), str(layered / "envs"))
    assert found == [str(layered / "envs" / "prod" / ".tfguard.yaml")]


def test_bad_file_reports_located_error_and_previous_config_stays(layered: Path) -> None:
    resolver = ConfigResolver(str(layered))
    prod = layered / "envs" / "prod" / "main.tf"
    assert resolver.config_for(str(prod)).severity_overrides == {"CKV_AWS_20": Severity.CRITICAL}
    bad = layered / "envs" / "prod" / ".tfguard.yaml"
    bad.write_text("severity_overrides:\n  CKV_AWS_20: EXTREME\n")
    bump_mtime(bad)
    resolver.invalidate(str(bad))
    cfg = resolver.config_for(str(prod))
    assert cfg.severity_overrides == {"CKV_AWS_20": Severity.CRITICAL}  # previous valid content
    (err,) = resolver.errors()
    assert (err.path, err.line, err.column) == (str(bad), 1, 14)
    (problem,) = resolver.problems()
    assert problem.code == "config" and problem.span.start.line == 1 and "EXTREME" in problem.message
    bad.write_text("severity_overrides:\n  CKV_AWS_20: INFO\n")
    bump_mtime(bad)
    assert resolver.config_for(str(prod)).severity_overrides == {"CKV_AWS_20": Severity.INFO}
    assert resolver.errors() == []


def test_unsaved_text_is_validated(layered: Path) -> None:
    resolver = ConfigResolver(str(layered))
    path = str(layered / ".tfguard.yaml")
    err = resolver.set_text(path, "minimum_severity: LOUD\n")
    assert err is not None and err.line == 0
    assert resolver.config_for(str(layered / "envs" / "dev" / "main.tf")).minimum_severity is None
    assert resolver.set_text(path, "minimum_severity: MEDIUM\n") is None
    assert resolver.config_for(str(layered / "envs" / "dev" / "main.tf")).minimum_severity is Severity.MEDIUM


def test_checks_enable_and_disable_patterns(tmp_path: Path) -> None:
    write(tmp_path / ".tfguard.yaml", "checks: {enable: ['CKV_AWS_*', 'TFG_*'], disable: [CKV_AWS_20]}\n")
    cfg = ConfigResolver(str(tmp_path)).config_for(str(tmp_path))
    assert cfg.is_enabled("CKV_AWS_19") and cfg.is_enabled("TFG_SEC_1")
    assert not cfg.is_enabled("CKV_AWS_20") and not cfg.is_enabled("CKV_GCP_1")


def test_catalogue_error_is_reported_and_last_valid_catalogue_kept(tmp_path: Path) -> None:
    write(tmp_path / ".tfguard.yaml", "catalogue: cat.yaml\n")
    cat = write(tmp_path / "cat.yaml", "modules:\n  - {name: a, source: ./a, replaces: [aws_s3_bucket]}\n")
    resolver = ConfigResolver(str(tmp_path))
    cfg = resolver.config_for(str(tmp_path))
    first = resolver.catalogue_for(cfg)
    assert first is not None and first.module_replacing("aws_s3_bucket") is not None
    cat.write_text("modules:\n  - {name: a}\n")
    bump_mtime(cat)
    assert resolver.catalogue_for(cfg) is first
    (err,) = resolver.errors()
    assert err.path == str(cat) and err.line == 1


def test_make_engine_rejects_a_bad_cli_config_with_its_location(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "version: 1\nminimum_severity: LOUD\n")
    with pytest.raises(ValueError, match=r"bad.yaml:2:19: minimum_severity"):
        make_engine(str(tmp_path), config_file=str(bad))
