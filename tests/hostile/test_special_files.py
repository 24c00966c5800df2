"""Guarantee 4: only regular files are opened, with size caps, never blocking.

A FIFO (no writer: a plain ``open`` would block forever), ``/dev/zero`` (an endless read), a socket or
a folder where a configuration, catalogue, policy or Terraform file is expected is a located problem;
the scan finishes. Configuration files are capped at 1 MiB, Terraform files at DEFAULT_MAX_FILE_BYTES.
"""

from __future__ import annotations

import os
import socket
import time

import pytest

from tests.hostile.conftest import Planted, assert_nothing_leaked
from tfguard.config.checkov import ConfigError
from tfguard.config.tfguard import load_config_file
from tfguard.files import MAX_CONFIG_BYTES, FileRefused, read_disk, read_regular


@pytest.mark.timeout(60)
def test_fifo_and_dev_zero_terraform_files_do_not_hang_a_scan(planted: Planted) -> None:
    os.mkfifo(planted.repo / "fifo.tf")
    planted.link("zero.tf", "/dev/zero")
    os.mkdir(planted.repo / "vars")
    os.mkfifo(planted.repo / "vars" / "x.auto.tfvars")
    planted.write("vars/main.tf", 'variable "a" {\n  default = "b"\n}\n')
    started = time.monotonic()
    scan = planted.scan()
    assert time.monotonic() - started < 50
    assert scan.proc.returncode in (1, 2), scan.everything[-2000:]  # 2: the result is incomplete (fail closed)
    assert scan.problem("not a regular file (a FIFO): not read", "fifo.tf")["line"] == 1
    scan.problem("not read", "zero.tf")
    assert "aws_s3_bucket.b" in scan.resources()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder", "socket"])
def test_a_catalogue_that_is_not_a_regular_file_is_a_located_problem(planted: Planted, kind: str) -> None:
    target = planted.repo / "cat.yaml"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "dev-zero":
        planted.link("cat.yaml", "/dev/zero")
    elif kind == "folder":
        target.mkdir()
    sock = None
    if kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
    try:
        planted.write(".tfguard.yaml", "catalogue: cat.yaml\n")
        scan = planted.scan()
        assert scan.proc.returncode in (1, 2)
        # /dev/zero is outside the repository: refused before it is looked at
        expected = {"fifo": "not a regular file (a FIFO): not read", "folder": "not a regular file (a folder)",
                    "socket": "cannot read", "dev-zero": "is outside the repository root; not read"}[kind]
        scan.problem(expected)
    finally:
        if sock is not None:
            sock.close()


@pytest.mark.timeout(60)
def test_a_configuration_fifo_and_an_oversized_configuration(planted: Planted) -> None:
    os.mkfifo(planted.repo / ".tfguard.yaml")
    with pytest.raises(ConfigError, match=r"not a regular file \(a FIFO\): not read"):
        load_config_file(str(planted.repo / ".tfguard.yaml"))
    os.unlink(planted.repo / ".tfguard.yaml")
    planted.write(".tfguard.yaml", "# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError, match="limit: not read"):
        load_config_file(str(planted.repo / ".tfguard.yaml"))
    scan = planted.scan()
    scan.problem("limit: not read", ".tfguard.yaml")


@pytest.mark.timeout(60)
def test_read_regular_reads_at_most_the_cap(planted: Planted) -> None:
    with pytest.raises(FileRefused, match="not a regular file"):
        read_regular("/dev/zero", 1024)
    big = planted.write("big.tf", "#" * 5000)
    with pytest.raises(FileRefused) as e:
        read_regular(str(big), 4096)
    assert e.value.size == 5000
    text, problem = read_disk(str(big), 4096)
    assert text is None and problem is not None and problem.code == "too-large"
    assert_nothing_leaked(problem.message)


@pytest.mark.timeout(60)
def test_a_deeply_nested_tf_json_is_a_problem_not_a_crash(planted: Planted) -> None:
    planted.write("deep.tf.json", "[" * 200_000 + "]" * 200_000)
    scan = planted.scan()
    assert scan.proc.returncode in (1, 2), scan.everything[-2000:]  # 2: the result is incomplete (fail closed)
    assert scan.problem("JSON nested too deeply", "deep.tf.json")["line"] == 1
    assert "aws_s3_bucket.b" in scan.resources()


@pytest.mark.timeout(60)
def test_checkovs_own_loader_refuses_fifos_devices_and_links_out(planted: Planted) -> None:
    from tfguard.checks.checkov_env import checkov_modules

    checkov_modules()  # installs checks/readguard.py
    import checkov.terraform.module_loading.module_finder as mf
    import checkov.terraform.tf_parser as tp

    os.mkfifo(planted.repo / "fifo.tf")
    planted.link("zero.tf", "/dev/zero")
    planted.link("creds.tf", planted.outside / "secret.tf")
    for loader in (tp.load_or_die_quietly, mf.load_or_die_quietly):
        errors: dict[str, Exception] = {}
        for name in ("fifo.tf", "zero.tf", "creds.tf"):
            assert loader(str(planted.repo / name), errors) is None
        assert sorted(os.path.basename(p) for p in errors) == ["creds.tf", "fifo.tf", "zero.tf"]
        assert "not read" in str(errors[str(planted.repo / "creds.tf")])
        ok: dict[str, Exception] = {}
        assert loader(str(planted.repo / "main.tf"), ok) is not None and ok == {}


@pytest.mark.timeout(60)
def test_a_fifo_named_like_a_plan_does_not_hang_the_nothing_to_scan_check(planted: Planted) -> None:
    (planted.repo / "main.tf").unlink()
    os.mkfifo(planted.repo / "plan.json")
    planted.link("zero.json", "/dev/zero")
    scan = planted.tfguard("scan", ".", "--format", "json")
    assert scan.returncode in (0, 1, 2), scan.stderr[-2000:]
