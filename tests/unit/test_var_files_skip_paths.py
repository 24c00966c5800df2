"""Variables files (``--var-file`` and its config keys) and skipped paths (``--skip-path``, ``exclude``) as in Checkov.

Each case runs the real CLI (a subprocess, no daemon, a private cache) and the real ``checkov -d`` on the
same tree and compares the failed check ids per (file, resource). Checkov's runs go in a background thread,
beside tfguard's (two cores): each is started once the tree it reads is written, and awaited before the
tree changes again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent

VARIABLES = """\
variable "acl" {
  type    = string
  default = "private"
}
"""
MAIN = """\
resource "aws_s3_bucket" "data" {
  bucket = "acme-data"
  acl    = var.acl
}
"""
PUBLIC = 'acl = "public-read"\n'
WORLD = 'acl = "public-read-write"\n'

Failed = dict[tuple[str, str], set[str]]


def _by_resource(pairs: list[tuple[str, str, str]]) -> Failed:
    out: Failed = defaultdict(set)
    for file, resource, check in pairs:
        out[(file, resource)].add(check)
    return dict(out)


def tfguard(d: Path, cache: Path, *extra: str, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
    """``tfguard scan d --format json`` (the real CLI): (exit code, the JSON report)."""
    env = dict(os.environ, TFGUARD_NO_DAEMON="1", TFGUARD_CACHE_DIR=str(cache))
    proc = subprocess.run([str(BIN / "tfguard"), "scan", str(d), "--format", "json", *extra], capture_output=True,
                          text=True, env=env, timeout=300, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return proc.returncode, json.loads(proc.stdout)


def tfguard_failed(doc: dict[str, Any]) -> Failed:
    root = doc["root"]
    return _by_resource([(os.path.relpath(f["file_abs_path"], root), f["resource"], f["check_id"])
                         for f in doc["findings"] if f["result"] == "FAILED" and f["source"] in ("checkov", "graph")])


def checkov_failed(d: Path, *extra: str, cwd: Path | None = None) -> Failed:
    """``checkov -d d --framework terraform -o json --skip-download`` (the real CLI)."""
    env = dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true", BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR")
    proc = subprocess.run([str(BIN / "checkov"), "-d", str(d), "--framework", "terraform", "-o", "json",
                           "--skip-download", *extra], capture_output=True, text=True, env=env, timeout=300,
                          cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    docs = doc if isinstance(doc, list) else [doc]
    pairs = [(rec["file_path"].lstrip("/"), rec["resource"], rec["check_id"])
             for x in docs for rec in x.get("results", {}).get("failed_checks", [])]
    return _by_resource(pairs)


_BESIDE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkov-beside")


def checkov_beside(d: Path, *extra: str, cwd: Path | None = None) -> Future[Failed]:
    """:func:`checkov_failed`, started now in a background thread (it reads the tree as it is now)."""
    return _BESIDE.submit(checkov_failed, d, *extra, cwd=cwd)


@pytest.fixture()
def bucket(tmp_path: Path) -> Path:
    d = tmp_path / "infra"
    d.mkdir()
    (d / "variables.tf").write_text(VARIABLES)
    (d / "main.tf").write_text(MAIN)
    (d / "prod.tfvars").write_text(PUBLIC)
    (d / "world.tfvars").write_text(WORLD)
    return d


def test_var_file_makes_the_bucket_public_as_in_checkov(bucket: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    ck_private = checkov_beside(bucket)
    ck_public = checkov_beside(bucket, "--var-file", str(bucket / "prod.tfvars"))
    ck_world = checkov_beside(bucket, "--var-file", "world.tfvars", cwd=bucket)
    _, private = tfguard(bucket, cache)
    assert tfguard_failed(private) == ck_private.result()
    assert "CKV_AWS_20" not in tfguard_failed(private)[("main.tf", "aws_s3_bucket.data")]

    _, public = tfguard(bucket, cache, "--var-file", str(bucket / "prod.tfvars"))
    assert tfguard_failed(public) == ck_public.result()
    assert "CKV_AWS_20" in tfguard_failed(public)[("main.tf", "aws_s3_bucket.data")]  # public-read ACL

    # cached re-runs: each var file gets its own result, in both orders
    _, again = tfguard(bucket, cache)
    assert tfguard_failed(again) == tfguard_failed(private)
    _, world = tfguard(bucket, cache, "--var-file", "world.tfvars", cwd=bucket)  # relative to the cwd
    assert tfguard_failed(world) == ck_world.result()
    assert "CKV_AWS_57" in tfguard_failed(world)[("main.tf", "aws_s3_bucket.data")]  # public-read-write
    _, public_again = tfguard(bucket, cache, "--var-file", str(bucket / "prod.tfvars"))
    assert tfguard_failed(public_again) == tfguard_failed(public)

    # the var file's content is part of the key too
    (bucket / "prod.tfvars").write_text(WORLD)
    _, changed = tfguard(bucket, cache, "--var-file", str(bucket / "prod.tfvars"))
    assert tfguard_failed(changed) == tfguard_failed(world)


def test_a_later_var_file_wins_over_terraform_tfvars_and_an_earlier_one(bucket: Path, tmp_path: Path) -> None:
    (bucket / "terraform.tfvars").write_text(WORLD)
    (bucket / "a.auto.tfvars").write_text('acl = "private"\n')
    args = ("--var-file", str(bucket / "world.tfvars"), "--var-file", str(bucket / "prod.tfvars"))
    ck_args, ck_plain = checkov_beside(bucket, *args), checkov_beside(bucket)
    _, doc = tfguard(bucket, tmp_path / "cache", *args)
    assert tfguard_failed(doc) == ck_args.result()
    _, doc = tfguard(bucket, tmp_path / "cache")
    assert tfguard_failed(doc) == ck_plain.result()  # *.auto.tfvars over terraform.tfvars: private


def test_checkov_yaml_var_file(bucket: Path, tmp_path: Path) -> None:
    (bucket / ".checkov.yaml").write_text("var-file:\n  - prod.tfvars\n")
    cache = tmp_path / "cache"
    # Checkov reads .checkov.yaml from the -d folder; its var-file is relative to the working directory, so
    # run it from the folder (tfguard takes var-file relative to the .checkov.yaml, whatever the cwd)
    ck_config = checkov_beside(bucket, cwd=bucket)
    ck_world = checkov_beside(bucket, "--var-file", str(bucket / "world.tfvars"), cwd=bucket)
    _, doc = tfguard(bucket, cache)
    assert tfguard_failed(doc) == ck_config.result()
    assert "CKV_AWS_20" in tfguard_failed(doc)[("main.tf", "aws_s3_bucket.data")]
    # the command line replaces it, as in Checkov
    _, world = tfguard(bucket, cache, "--var-file", str(bucket / "world.tfvars"))
    assert tfguard_failed(world) == ck_world.result()
    (bucket / ".checkov.yaml").write_text("var-file: world.tfvars\n")
    _, doc2 = tfguard(bucket, cache)
    assert tfguard_failed(doc2) == tfguard_failed(world)  # not the cached prod.tfvars result


def test_tfguard_yaml_var_files(bucket: Path, tmp_path: Path) -> None:
    (bucket / ".tfguard.yaml").write_text("version: 1\nvar_files: [prod.tfvars]\n")
    expected = checkov_beside(bucket, "--var-file", str(bucket / "prod.tfvars"))
    _, doc = tfguard(bucket, tmp_path / "cache")
    assert tfguard_failed(doc) == expected.result()


def test_a_missing_var_file_is_exit_2(bucket: Path, tmp_path: Path) -> None:
    env = dict(os.environ, TFGUARD_NO_DAEMON="1", TFGUARD_CACHE_DIR=str(tmp_path / "cache"))
    for extra, config in ((["--var-file", "nope.tfvars"], None), ([], ("var-file: nope.tfvars\n", ".checkov.yaml")),
                          ([], ("var_files: [nope.tfvars]\n", ".tfguard.yaml"))):
        for name in (".checkov.yaml", ".tfguard.yaml"):
            (bucket / name).unlink(missing_ok=True)
        if config is not None:
            (bucket / config[1]).write_text(config[0])
        proc = subprocess.run([str(BIN / "tfguard"), "scan", str(bucket), *extra], capture_output=True, text=True,
                              env=env, timeout=300, cwd=bucket)
        assert proc.returncode == 2, (extra, config, proc.stderr)
        assert "nope.tfvars" in proc.stderr


# ------------------------------------------------------------------------------------------- skip paths


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for sub in ("app", "legacy", "legacy/inner", "other", "modules/bucket"):
        (root / sub).mkdir(parents=True)
    (root / "app" / "main.tf").write_text(MAIN.replace("var.acl", '"public-read"'))
    (root / "app" / "old_bucket.tf").write_text('resource "aws_s3_bucket" "old" {\n  bucket = "o"\n}\n')
    (root / "legacy" / "main.tf").write_text('resource "aws_s3_bucket" "legacy" {\n  acl = "public-read"\n}\n')
    (root / "legacy" / "inner" / "main.tf").write_text('resource "aws_s3_bucket" "inner" {\n}\n')
    (root / "other" / "main.tf").write_text('module "b" {\n  source = "../modules/bucket"\n}\n'
                                            'resource "aws_security_group" "sg" {\n}\n')
    (root / "modules" / "bucket" / "main.tf").write_text('resource "aws_s3_bucket" "m" {\n}\n')
    return root


@pytest.mark.parametrize("patterns", [["legacy"], ["old_bucket"], [r"app/.*\.tf$"], ["modules"], [r"^/nothing"],
                                      ["legacy/inner", "old_"], ["[unclosed"]])
def test_skip_path_as_in_checkov(tree: Path, tmp_path: Path, patterns: list[str]) -> None:
    args = [a for p in patterns for a in ("--skip-path", p)]
    expected = checkov_beside(tree, *args)
    _, doc = tfguard(tree, tmp_path / "cache", *args)
    assert tfguard_failed(doc) == expected.result()


def test_checkov_yaml_skip_path(tree: Path, tmp_path: Path) -> None:
    (tree / ".checkov.yaml").write_text("skip-path:\n  - legacy\n  - old_bucket\n")
    cache = tmp_path / "cache"
    beside = checkov_beside(tree, cwd=tree)
    _, doc = tfguard(tree, cache)
    expected = beside.result()
    assert tfguard_failed(doc) == expected
    assert not any(f.startswith("legacy") or "old_bucket" in f for f, _ in expected)
    (tree / ".checkov.yaml").write_text("skip-path: app\n")
    beside = checkov_beside(tree, cwd=tree)
    _, doc = tfguard(tree, cache)  # not served the previous skip paths' result
    assert tfguard_failed(doc) == beside.result()


def test_tfguard_yaml_exclude(tree: Path, tmp_path: Path) -> None:
    (tree / ".git").mkdir()  # the repository root the globs are relative to
    (tree / ".tfguard.yaml").write_text('version: 1\nexclude: ["legacy/**", "**/old_*.tf"]\n')
    expected = checkov_beside(tree, "--skip-path", "legacy", "--skip-path", "old_bucket")
    _, doc = tfguard(tree, tmp_path / "cache")
    assert tfguard_failed(doc) == expected.result()
    assert not any(f["file"].startswith("legacy") or "old_bucket" in f["file"] for f in doc["findings"])
    # a file named on the command line is excluded too
    _, doc = tfguard(tree / "app" / "old_bucket.tf", tmp_path / "cache")
    assert doc["findings"] == []


def test_an_unparsable_var_file_makes_the_result_incomplete(bucket: Path, tmp_path: Path) -> None:
    (bucket / "bad.tfvars").write_text('acl = "public-read\n')
    env = dict(os.environ, TFGUARD_NO_DAEMON="1", TFGUARD_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([str(BIN / "tfguard"), "scan", str(bucket), "--format", "json", "--var-file",
                           str(bucket / "bad.tfvars")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr
    problems = json.loads(proc.stdout)["problems"]
    assert [(p["file"], p["code"]) for p in problems] == [("bad.tfvars", "syntax")]


def test_var_files_with_local_modules_inside_the_tree(tmp_path: Path) -> None:
    root = tmp_path / "live"
    for sub in ("app", "modules/bucket", "other"):
        (root / sub).mkdir(parents=True)
    (root / "modules" / "bucket" / "variables.tf").write_text(VARIABLES)
    (root / "modules" / "bucket" / "main.tf").write_text(MAIN)
    (root / "app" / "main.tf").write_text('module "bucket" {\n  source = "../modules/bucket"\n}\n')
    (root / "other" / "variables.tf").write_text(VARIABLES)
    (root / "other" / "main.tf").write_text(MAIN.replace('"data"', '"other"'))
    (tmp_path / "prod.tfvars").write_text(PUBLIC)
    args = ("--var-file", str(tmp_path / "prod.tfvars"))
    expected = checkov_beside(root, *args)
    _, doc = tfguard(root, tmp_path / "cache", *args)
    assert tfguard_failed(doc) == expected.result()
