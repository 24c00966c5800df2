"""Guarantee 1: paths named by workspace files stay inside the repository root (symlinks resolved).

``.tfguard.yaml`` ``catalogue:`` / ``policy_dirs:`` and ``.checkov.yaml`` ``external-checks-dir`` naming
``/etc/shadow``, ``~/.aws/credentials``, ``/proc/self/environ`` or ``../outside`` are a located
configuration problem, and the path is never opened (an audit hook kills the CLI if it is).
"""

from __future__ import annotations

import os

import pytest

from tests.hostile.conftest import Planted, assert_nothing_leaked, guarded
from tfguard.catalogue import Catalogue
from tfguard.config.checkov import ConfigError, load_checkov_config
from tfguard.config.preflight import configuration_errors
from tfguard.config.tfguard import ConfigResolver, load_config_file

OUTSIDE = "is outside the repository root; not read"

CASES = [
    (".tfguard.yaml", "version: 1\ncatalogue: /etc/shadow\n", 1, "/etc/shadow"),
    (".tfguard.yaml", "version: 1\ncatalogue: ~/.aws/credentials\n", 1, "HOME/.aws/credentials"),
    (".tfguard.yaml", "version: 1\ncatalogue: /proc/self/environ\n", 1, "/proc/self/environ"),
    (".tfguard.yaml", "catalogue: ../outside/secret\n", 0, "OUTSIDE/secret"),
    (".tfguard.yaml", "catalogue: ../../x\n", 0, None),
    (".tfguard.yaml", "policy_dirs:\n  - policies\n  - ../outside\n", 2, "OUTSIDE"),
    (".tfguard.yaml", "policy_dirs: [\"~\"]\n", 0, "HOME"),
    (".checkov.yaml", "skip-check: [CKV_AWS_1]\nexternal-checks-dir:\n  - ../outside\n", 1, "OUTSIDE"),
    (".checkov.yaml", "external-checks-dir: /etc\n", 0, "/etc/shadow"),
]


def _forbidden(planted: Planted, target: str | None) -> list[str]:
    out = [str(planted.outside), "/etc/shadow", "/proc/self/environ", str(planted.home / ".aws")]
    if target:
        out.append(target.replace("HOME", str(planted.home)).replace("OUTSIDE", str(planted.outside)))
    return out


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("name", "text", "line", "target"), CASES)
def test_a_workspace_path_outside_the_repository_is_a_located_problem_and_never_opened(
        planted: Planted, name: str, text: str, line: int, target: str | None) -> None:
    (planted.repo / "policies").mkdir()
    planted.write(name, text)
    scan = guarded(planted, _forbidden(planted, target), "scan", ".", "--format", "json")
    assert scan.proc.returncode == 2, scan.everything[-2000:]  # invalid configuration: not scanning
    problem = scan.problem(OUTSIDE, name)  # the CLI refuses to scan (exit 2), the error located at the key
    assert problem["line"] == line + 1
    # what the CLI's fail-closed gate (config.preflight) reports: located at the key
    errors = configuration_errors([str(planted.repo)], str(planted.repo))
    assert [(os.path.basename(p.file), p.span.start.line) for p in errors if OUTSIDE in p.message] == [
        (name, line)]
    assert_nothing_leaked(scan.everything)
    assert "aws_s3_bucket.leak" not in scan.resources()


@pytest.mark.timeout(60)
def test_a_sarif_run_prints_the_problem_and_nothing_of_the_file(planted: Planted) -> None:
    planted.write(".tfguard.yaml", "catalogue: ../outside/secret\n")
    scan = guarded(planted, _forbidden(planted, "OUTSIDE"), "scan", ".", "--format", "sarif")
    assert OUTSIDE in scan.everything  # exit 2 before a report: the located error is on stderr
    assert_nothing_leaked(scan.everything)


@pytest.mark.timeout(60)
def test_the_layer_api_raises_at_the_key(planted: Planted) -> None:
    cfg = planted.write(".tfguard.yaml", "version: 1\ncatalogue: /etc/shadow\n")
    with pytest.raises(ConfigError) as e:
        load_config_file(str(cfg))
    assert (e.value.line, e.value.message) == (1, f"catalogue: '/etc/shadow' {OUTSIDE}")
    ck = planted.write(".checkov.yaml", "external-checks-dir: ../outside\n")
    with pytest.raises(ConfigError) as e2:
        load_checkov_config(str(ck))
    assert OUTSIDE in e2.value.message


@pytest.mark.timeout(60)
def test_a_symlinked_folder_inside_that_leads_outside_is_outside(planted: Planted) -> None:
    planted.link("shared", planted.outside)
    cfg = planted.write(".tfguard.yaml", "catalogue: shared/secret\npolicy_dirs: [shared]\n")
    with pytest.raises(ConfigError) as e:
        load_config_file(str(cfg))
    assert OUTSIDE in e.value.message


@pytest.mark.timeout(60)
def test_paths_inside_the_repository_still_work(planted: Planted) -> None:
    planted.write("approved.yaml", "version: 1\nmodules: []\nallowed_sources: [\"git::https://x/\"]\n")
    planted.write(".tfguard.yaml", "catalogue: approved.yaml\npolicy_dirs: [policies]\n")
    (planted.repo / "policies").mkdir()
    resolver = ConfigResolver(str(planted.repo))
    config = resolver.config_for(str(planted.repo / "main.tf"))
    assert config.catalogue == os.path.join(str(planted.repo), "approved.yaml")
    assert isinstance(resolver.catalogue_for(config), Catalogue)
    assert resolver.errors() == []
