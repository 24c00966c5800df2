"""tfguard's copy of Checkov's skip-path test equals Checkov's own (``filter_ignored_paths``), pattern by pattern."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tfguard.config.checkov import ConfigError
from tfguard.config.paths import anchored, excluded_by_glob, skip_path_matches, skipped_by_checkov
from tfguard.config.tfguard import parse_config

PATTERNS = ["legacy", "old_", r"app/.*\.tf$", "^/abs", ".hidden", "..", "[unclosed", r"\.tf$", "inner/main",
            "modules/bucket"]
NAMES = ["main.tf", "old_bucket.tf", "legacy", "inner", ".hidden", "x.tfvars", "app"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_same_entries_as_checkovs_filter(pattern: str, tmp_path: Path) -> None:
    from checkov.common.runners.base_runner import filter_ignored_paths

    for parent in (tmp_path / "app", tmp_path / "legacy" / "inner", tmp_path / "modules"):
        names = list(NAMES)
        filter_ignored_paths(str(parent), names, [pattern])
        kept_by_checkov = set(names)
        # Checkov's legacy rule drops hidden names on its own; tfguard's walk skips them too
        ours = {n for n in NAMES if not skip_path_matches(os.path.join(str(parent), n), (pattern,))}
        assert ours - {".hidden"} == kept_by_checkov - {".hidden"}, (parent, pattern)


def test_a_skipped_folder_takes_its_subtree_and_the_walk_root_is_never_tested(tmp_path: Path) -> None:
    root = str(tmp_path / "legacy")  # the root's own name matches: only its entries are tested
    assert not skipped_by_checkov(os.path.join(root, "main.tf"), ("nothing",), root)
    assert skipped_by_checkov(os.path.join(root, "main.tf"), (os.path.basename(str(tmp_path)),), root)
    assert skipped_by_checkov(str(tmp_path / "a" / "inner" / "x" / "main.tf"), ("inner$",), str(tmp_path))
    assert not skipped_by_checkov(str(tmp_path / "a" / "main.tf"), ("inner$",), str(tmp_path))


def test_exclude_globs_are_relative_to_the_repository_root(tmp_path: Path) -> None:
    root = str(tmp_path)
    assert excluded_by_glob(f"{root}/legacy/a/main.tf", ("legacy/**",), root)
    assert excluded_by_glob(f"{root}/legacy/main.tf", ("legacy",), root)  # a folder takes its subtree
    assert excluded_by_glob(f"{root}/x/old_b.tf", ("**/old_*.tf",), root)
    assert not excluded_by_glob(f"{root}/app/main.tf", ("legacy/**", "**/old_*.tf"), root)
    assert not excluded_by_glob("/elsewhere/legacy/main.tf", ("legacy/**",), root)


def test_anchored_patterns_match_only_their_path(tmp_path: Path) -> None:
    (p,) = {x for x in anchored([str(tmp_path / "a.tf")])}
    assert skip_path_matches(str(tmp_path / "a.tf"), (p,))
    assert not skip_path_matches(str(tmp_path / "a.tf.bak"), (p,))
    assert not skip_path_matches(str(tmp_path / "b" / "a.tf"), (p,))


def test_tfguard_yaml_var_files_and_exclude(tmp_path: Path) -> None:
    (tmp_path / "prod.tfvars").write_text('acl = "public-read"\n')
    layer = parse_config("version: 1\nvar_files: [prod.tfvars]\nexclude: ['legacy/**']\n",
                         str(tmp_path / ".tfguard.yaml"))
    assert layer.values["var_files"] == (str(tmp_path / "prod.tfvars"),)
    assert layer.values["exclude"] == ("legacy/**",)
    with pytest.raises(ConfigError) as e:
        parse_config("version: 1\nvar_files:\n  - nope.tfvars\n", str(tmp_path / ".tfguard.yaml"))
    assert e.value.line == 2 and "not found" in e.value.message
    with pytest.raises(ConfigError) as e:
        parse_config("version: 1\nexclude: legacy\n", str(tmp_path / ".tfguard.yaml"))
    assert "expected a list" in e.value.message


def test_tier1_and_tier2_apply_tfguard_yaml_var_files_and_exclude(tmp_path: Path) -> None:
    from tfguard.wiring import make_engine

    (tmp_path / ".git").mkdir()
    app, legacy = tmp_path / "app", tmp_path / "legacy"
    app.mkdir()
    legacy.mkdir()
    (app / "variables.tf").write_text('variable "cidr" {\n  type    = string\n  default = "10.0.0.0/8"\n}\n')
    (app / "main.tf").write_text('resource "aws_security_group" "ssh" {\n  ingress {\n    from_port   = 22\n'
                                 '    to_port     = 22\n    protocol    = "tcp"\n'
                                 '    cidr_blocks = [var.cidr]\n  }\n}\n')
    (app / "prod.tfvars").write_text('cidr = "0.0.0.0/0"\n')
    (legacy / "main.tf").write_text('resource "aws_s3_bucket" "l" {\n  acl = "public-read"\n}\n')
    (tmp_path / ".tfguard.yaml").write_text('version: 1\nexclude: ["legacy"]\n')
    engine = make_engine(str(tmp_path), repo_root=str(tmp_path))

    def failed(fa: object) -> set[str]:
        return {f.check_id for f in fa.findings if f.result.value == "FAILED"}  # type: ignore[attr-defined]

    assert "CKV_AWS_24" not in failed(engine.analyze_file(str(app / "main.tf")))  # SSH open to 10/8 only
    (app / ".tfguard.yaml").write_text("version: 1\nvar_files: [prod.tfvars]\n")
    assert "CKV_AWS_24" in failed(engine.analyze_file(str(app / "main.tf")))  # tier 1's module context
    assert "CKV_AWS_24" in failed(engine.analyze_module(str(app))[str(app / "main.tf")])  # tier 2
    assert engine.excluded(str(legacy / "main.tf"))
    assert not engine.analyze_file(str(legacy / "main.tf")).findings
    assert not engine.analyze_module(str(legacy))[str(legacy / "main.tf")].findings
