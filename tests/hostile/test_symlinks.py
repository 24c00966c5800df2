"""Guarantee 2: a symlinked Terraform, tfvars or YAML file whose target is outside the repository is not read.

tfguard's own read (``files.read_disk``), Checkov's (tier 2, guarded by ``checks/readguard.py``) and the
configuration reads all refuse it; the link gets a located problem and the target is never opened.
"""

from __future__ import annotations

import pytest

from tests.hostile.conftest import Planted, assert_nothing_leaked, guarded
from tfguard.config.checkov import ConfigError, load_checkov_config
from tfguard.config.tfguard import load_config_file
from tfguard.files import read_disk

LINK_OUT = "symlink to a file outside the repository: not read"


def _forbidden(planted: Planted) -> list[str]:
    return [str(planted.outside), str(planted.home)]


@pytest.mark.timeout(60)
def test_a_terraform_file_linked_outside_is_a_problem_on_the_link_and_never_opened(planted: Planted) -> None:
    planted.link("creds.tf", planted.outside / "secret.tf")
    planted.link("netrc.tf", planted.home / ".aws" / "credentials")
    planted.link("vars.auto.tfvars", planted.outside / "secret")
    scan = guarded(planted, _forbidden(planted), "scan", ".", "--format", "json")
    assert scan.proc.returncode in (1, 2), scan.everything[-2000:]  # 2: the result is incomplete (fail closed)
    for name in ("creds.tf", "netrc.tf"):
        problem = scan.problem(LINK_OUT, name)
        assert (problem["line"], problem["code"]) == (1, "read")
    assert scan.resources() == {"aws_s3_bucket.b"}  # Checkov did not read creds.tf either
    assert_nothing_leaked(scan.everything)


@pytest.mark.timeout(60)
def test_a_link_inside_the_repository_is_read(planted: Planted) -> None:
    planted.write("shared/common.tf", 'resource "aws_s3_bucket" "shared" {\n  bucket = "y"\n}\n')
    planted.link("mod/common.tf", "../shared/common.tf")
    text, problem = read_disk(str(planted.repo / "mod" / "common.tf"))
    assert problem is None and text is not None and "shared" in text


@pytest.mark.timeout(60)
def test_read_disk_refuses_the_link(planted: Planted) -> None:
    link = planted.link("creds.tf", planted.outside / "secret.tf")
    text, problem = read_disk(str(link))
    assert text is None and problem is not None
    assert problem.message == f"File not analysed: {LINK_OUT}"
    assert_nothing_leaked(problem.message)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", [".tfguard.yaml", ".checkov.yaml", "approved.yaml"])
def test_a_configuration_file_linked_outside_is_refused(planted: Planted, name: str) -> None:
    planted.link(name, planted.outside / "secret")
    if name == "approved.yaml":
        planted.write(".tfguard.yaml", "catalogue: approved.yaml\n")
    scan = guarded(planted, _forbidden(planted), "scan", ".", "--format", "json")
    # the catalogue is refused where .tfguard.yaml names it (its path resolves outside the repository)
    assert (LINK_OUT if name != "approved.yaml" else "'approved.yaml' is outside the repository root") in \
        scan.everything
    assert_nothing_leaked(scan.everything)
    if name == ".tfguard.yaml":
        with pytest.raises(ConfigError, match=LINK_OUT):
            load_config_file(str(planted.repo / name))
    elif name == ".checkov.yaml":
        with pytest.raises(ConfigError, match=LINK_OUT):
            load_checkov_config(str(planted.repo / name))


@pytest.mark.timeout(60)
def test_a_policy_linked_outside_refuses_its_folder(planted: Planted) -> None:
    planted.link("policies/evil.yaml", planted.outside / "policy.yaml")
    planted.write(".tfguard.yaml", "policy_dirs: [policies]\n")
    scan = guarded(planted, _forbidden(planted), "scan", ".", "--format", "json")
    scan.problem(LINK_OUT)
    assert "CKV2_TOPSECRET_1" not in scan.everything
    assert_nothing_leaked(scan.everything)
