"""The CLI validates every configuration file a scan would use before it runs (fail closed)."""

from __future__ import annotations

from pathlib import Path

from tfguard.config.preflight import configuration_errors, configuration_files


def _tree(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "infra" / "prod").mkdir(parents=True)
    (repo / "infra" / "prod" / "main.tf").write_text("")
    return repo


def test_files_from_the_path_up_to_the_root_and_below_a_folder(tmp_path: Path) -> None:
    repo = _tree(tmp_path)
    (repo / ".tfguard.yaml").write_text("minimum_severity: LOW\n")
    (repo / "infra" / "prod" / ".checkov.yaml").write_text("skip-check: [CKV_AWS_1]\n")
    (tmp_path / ".tfguard.yaml").write_text("nonsense: 1\n")  # above the root: never used
    target = str(repo / "infra" / "prod" / "main.tf")
    assert configuration_files([target], str(repo)) == [str(repo / ".tfguard.yaml"),
                                                       str(repo / "infra" / "prod" / ".checkov.yaml")]
    assert configuration_files([str(repo / "infra")], str(repo)) == [
        str(repo / ".tfguard.yaml"), str(repo / "infra" / "prod" / ".checkov.yaml")]
    assert configuration_errors([target], str(repo)) == []


def test_a_typo_in_a_root_config_is_a_located_error_for_a_file_scan(tmp_path: Path) -> None:
    repo = _tree(tmp_path)
    (repo / ".tfguard.yaml").write_text("version: 1\nseverity_overides:\n  CKV_AWS_24: HIGH\n")
    (problem,) = configuration_errors([str(repo / "infra" / "prod" / "main.tf")], str(repo))
    assert problem.file == str(repo / ".tfguard.yaml")
    assert (problem.span.start.line, problem.code) == (1, "config")
    assert "severity_overides" in problem.message


def test_invalid_checkov_yaml_missing_catalogue_policy_dir_and_explicit_file(tmp_path: Path) -> None:
    repo = _tree(tmp_path)
    (repo / ".checkov.yaml").write_text("check: [unclosed\n")
    (repo / "infra" / ".tfguard.yaml").write_text("catalogue: nowhere.yaml\npolicy_dirs: [policies]\n")
    got = configuration_errors([str(repo / "infra")], str(repo))
    messages = sorted(p.message for p in got)
    assert len(got) == 3, messages
    assert any("invalid YAML" in m for m in messages)
    assert any("policy_dirs: folder not found" in m for m in messages)
    assert any("catalogue" in m for m in messages)
    (missing,) = configuration_errors([str(repo / "infra")], str(repo), explicit=str(tmp_path / "none.yaml"))
    assert "not found" in missing.message
