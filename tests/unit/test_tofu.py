"""OpenTofu files (``*.tofu``, ``*.tofu.json``) are scanned like Terraform, with OpenTofu's override rule.

The reference is ``checkov -d`` on a copy of the folder in which every ``x.tofu`` is renamed ``x.tf``
(replacing an ``x.tf`` it overrides), and ``x.tofu.json`` ``x.tf.json``: tfguard must report the same
failed checks, resources and lines, on the real ``.tofu`` files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tfguard.checks.graph import Mirror, mirror_name
from tfguard.engine import OVERRIDDEN, Engine
from tfguard.files import is_terraform_file, tofu_alternative, tofu_overridden
from tfguard.scan.inputs import refusal

BIN = Path(sys.executable).parent

BUCKET_AND_SG = '''resource "aws_s3_bucket" "b" {
  bucket = var.name
}

resource "aws_security_group" "sg" {
  name = "x"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.cidr]
  }
}
'''
VARIABLES = '''variable "name" {
  default = "bucket"
}

variable "cidr" {
  default = "0.0.0.0/0"
}
'''
SECURE_SG = '''resource "aws_security_group" "sg" {
  name        = "x"
  description = "ssh from the office"
  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
}
'''
OPEN_SG = '''resource "aws_security_group" "sg" {
  name = "x"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
'''
OPEN_SG_JSON = json.dumps({"resource": {"aws_security_group": {"sg": {
    "name": "x", "ingress": [{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"],
                              "description": None, "ipv6_cidr_blocks": None, "prefix_list_ids": None,
                              "security_groups": None, "self": None}]}}}}, indent=2)

Failed = set[tuple[str, str, tuple[int, int], str]]  # (check id, resource, lines, file relative to the root)


# ------------------------------------------------------------------ helpers
def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def renamed_copy(src: Path, dest: Path) -> dict[str, str]:
    """``src`` copied to ``dest`` with OpenTofu files renamed as Terraform ones; {copy name: real name}."""
    shutil.copytree(src, dest)
    names: dict[str, str] = {}
    for p in sorted(dest.rglob("*")):
        rel = str(p.relative_to(dest))
        new = mirror_name(rel)
        if new != rel:
            os.replace(p, dest / new)  # replaces the x.tf it overrides
            names[new] = rel
    return names


def checkov_failed(d: Path, names: dict[str, str]) -> Failed:
    env = dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true", BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR")
    proc = subprocess.run([str(BIN / "checkov"), "-d", str(d), "--framework", "terraform", "-o", "json",
                           "--skip-download"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    doc = json.loads(proc.stdout) if proc.stdout.strip().startswith(("{", "[")) else {}
    if isinstance(doc, list):
        doc = doc[0]
    out: Failed = set()
    for rec in doc.get("results", {}).get("failed_checks", []):
        rel = rec["file_path"].lstrip("/")
        out.add((rec["check_id"], rec["resource"], tuple(rec["file_line_range"]), names.get(rel, rel)))
    return out


def tfguard_scan(cache: Path, *paths: Path) -> dict[str, Any]:
    """The real CLI (no daemon, a private cache): its JSON report."""
    env = dict(os.environ, TFGUARD_NO_DAEMON="1", TFGUARD_CACHE_DIR=str(cache))
    proc = subprocess.run([str(BIN / "tfguard"), "scan", *map(str, paths), "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def tfguard_failed(doc: dict[str, Any], root: Path) -> Failed:
    out: Failed = set()
    for f in doc["findings"]:
        if f["result"] == "FAILED" and f["source"] in ("checkov", "graph"):
            out.add((f["check_id"], f["resource"], tuple(f["line_range"]),
                     os.path.relpath(f["file_abs_path"], root)))
    return out


def overridden_problems(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in doc["problems"] if p["code"] == OVERRIDDEN]


# --------------------------------------------------------------- file kinds
def test_file_kinds_and_the_override_rule() -> None:
    assert all(is_terraform_file(n) for n in ("a.tf", "a.tf.json", "a.tofu", "a.tofu.json"))
    assert not is_terraform_file("a.tofu.bak")
    assert tofu_alternative("/m/x.tf") == "/m/x.tofu"
    assert tofu_alternative("/m/x.tf.json") == "/m/x.tofu.json"
    assert tofu_alternative("/m/x.tofu") is None and tofu_alternative("/m/x.tfvars") is None
    files = ["/m/a.tf", "/m/a.tofu", "/m/b.tf.json", "/m/b.tofu.json", "/m/c.tf", "/m/c.tofu.json",
             "/m/d.tofu", "/n/a.tf"]
    # only same name, same kind, same directory: x.tofu.json does not hide x.tf
    assert tofu_overridden(files) == {"/m/a.tf": "/m/a.tofu", "/m/b.tf.json": "/m/b.tofu.json"}
    assert mirror_name("m/x.tofu") == "m/x.tf" and mirror_name("m/x.tofu.json") == "m/x.tf.json"
    assert mirror_name("m/x.tf") == "m/x.tf"


def test_scannable_inputs(tmp_path: Path) -> None:
    for name in ("a.tofu", "a.tofu.json"):
        (tmp_path / name).write_text("{}")
        assert refusal(str(tmp_path / name)) is None


def test_mirror_presents_tofu_as_tf_and_leaves_the_overridden_file_out(tmp_path: Path) -> None:
    real = write(tmp_path / "real", {"m/x.tf": "old", "m/x.tofu": "new", "m/y.tofu.json": "{}", "m/z.tf": "z"})
    mirror = Mirror(str(real))
    try:
        mirror.sync({str(p): p.read_bytes() for p in real.rglob("*") if p.is_file()})
        got = {str(p.relative_to(mirror.root)): p.read_text() for p in Path(mirror.root).rglob("*") if p.is_file()}
        assert got == {"m/x.tf": "new", "m/y.tf.json": "{}", "m/z.tf": "z"}
        assert mirror.renamed == {os.path.join(mirror.root, "m/x.tf"): os.path.realpath(real / "m/x.tofu"),
                                  os.path.join(mirror.root, "m/y.tf.json"): os.path.realpath(real / "m/y.tofu.json")}
        assert mirror.path_for(str(real / "m/x.tofu")) == os.path.join(mirror.root, "m/x.tf")
        assert mirror.path_for(str(real / "m")) == os.path.join(mirror.root, "m")
        # x.tofu gone: the real x.tf is what the mirror holds again
        mirror.sync({str(real / "m/x.tf"): "old"})
        assert (Path(mirror.root) / "m/x.tf").read_text() == "old" and mirror.renamed == {}
    finally:
        mirror.close()


# ---------------------------------------------------------------------- CLI
def test_tofu_file_reports_what_checkov_reports_on_it_as_tf(tmp_path: Path) -> None:
    """Variables in a .tf, resources in a .tofu: the graph, variable evaluation and graph checks across both."""
    mod = write(tmp_path / "mod", {"main.tofu": BUCKET_AND_SG, "variables.tf": VARIABLES})
    expected = checkov_failed(tmp_path / "copy", renamed_copy(mod, tmp_path / "copy"))
    ids = {c for c, *_ in expected}
    assert {"CKV_AWS_24", "CKV2_AWS_5", "CKV2_AWS_6"} <= ids  # a variable of the .tf file; graph checks
    doc = tfguard_scan(tmp_path / "cache", mod)
    assert tfguard_failed(doc, mod) == expected
    assert {f for _, _, _, f in expected} == {"main.tofu"}
    assert doc["summary"]["files"] == 2 and not doc["problems"]
    # the file named on the command line: its module's full run, its findings only
    one = tfguard_scan(tmp_path / "cache2", mod / "main.tofu")
    assert tfguard_failed(one, mod) == expected


def test_tofu_json_and_a_local_module_in_tofu(tmp_path: Path) -> None:
    """A module called from a .tf, written in .tofu and .tofu.json (Checkov's terraform framework reads
    what it reads of the .tf.json it becomes: the same records, whatever they are)."""
    root = write(tmp_path / "tree", {
        "env/main.tf": 'module "net" {\n  source = "../modules/net"\n}\n',
        "modules/net/sg.tofu": OPEN_SG,
        "modules/net/extra.tofu.json": OPEN_SG_JSON.replace('"sg"', '"sg_json"'),
        "json_only/sg.tofu.json": OPEN_SG_JSON,
    })
    expected = checkov_failed(tmp_path / "copy", renamed_copy(root, tmp_path / "copy"))
    assert any(f == "modules/net/sg.tofu" and r.startswith("module.net.") for _, r, _, f in expected), expected
    doc = tfguard_scan(tmp_path / "cache", root)
    assert tfguard_failed(doc, root) == expected
    assert doc["summary"]["files"] == 4


@pytest.mark.parametrize("insecure", ["tf", "tofu"])
def test_the_override_rule(tmp_path: Path, insecure: str) -> None:
    """x.tf and x.tofu in one directory: only x.tofu counts (OpenTofu reads it and ignores x.tf)."""
    files = {"sg.tf": OPEN_SG if insecure == "tf" else SECURE_SG,
             "sg.tofu": OPEN_SG if insecure == "tofu" else SECURE_SG,
             "other.tf": 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n'}
    mod = write(tmp_path / "mod", files)
    expected = checkov_failed(tmp_path / "copy", renamed_copy(mod, tmp_path / "copy"))
    doc = tfguard_scan(tmp_path / "cache", mod)
    got = tfguard_failed(doc, mod)
    assert got == expected
    assert not any(f == "sg.tf" for *_, f in got)  # nothing of the overridden file
    sg_ids = {c for c, r, _, _ in got if r == "aws_security_group.sg"}
    assert ("CKV_AWS_24" in sg_ids) == (insecure == "tofu")
    (info,) = overridden_problems(doc)
    assert info["file"] == "sg.tf" and info["severity"] == "INFO" and info["line"] == 1
    assert "overridden by sg.tofu (OpenTofu): not what OpenTofu runs" in info["message"]
    assert doc["summary"]["files"] == 2

    # `tfguard scan sg.tf` while sg.tofu exists: said, located, and the effective file scanned instead
    one = tfguard_scan(tmp_path / "cache2", mod / "sg.tf")
    assert [p["file"] for p in overridden_problems(one)] == ["sg.tf"]
    assert tfguard_failed(one, mod) == {x for x in expected if x[3] == "sg.tofu"}


# ------------------------------------------------------------------- engine
def test_tier1_and_module_context_read_tofu_and_skip_the_overridden_file(tmp_path: Path) -> None:
    mod = write(tmp_path / "mod", {"main.tofu": BUCKET_AND_SG, "variables.tf": VARIABLES.replace(
        "0.0.0.0/0", "10.0.0.0/8"), "variables.tofu": VARIABLES, "secure.tf": SECURE_SG})
    engine = Engine(str(mod), module_time_budget=None)
    files = [os.path.basename(f) for f in engine.module_files(str(mod))]
    assert files == ["main.tofu", "secure.tf", "variables.tofu"]  # variables.tf is overridden
    fa = engine.analyze_file(str(mod / "main.tofu"))
    t1 = {(f.check_id, f.resource) for f in fa.findings if f.result.value == "FAILED"}
    assert ("CKV_AWS_24", "aws_security_group.sg") in t1  # 0.0.0.0/0 from variables.tofu, not variables.tf
    over = engine.analyze_file(str(mod / "variables.tf"))
    assert not over.findings and [p.code for p in over.problems] == [OVERRIDDEN]
    # tier 2 (Checkov through the mirror) agrees, and says the same about the overridden file
    result = engine.analyze_module(str(mod))
    t2 = {(f.check_id, f.resource) for f in result[str(mod / "main.tofu")].findings if f.result.value == "FAILED"}
    assert ("CKV_AWS_24", "aws_security_group.sg") in t2 and ("CKV2_AWS_5", "aws_security_group.sg") in t2
    assert [p.code for p in result[str(mod / "variables.tf")].problems] == [OVERRIDDEN]
    assert all(f.file.endswith(".tofu") for f in result[str(mod / "main.tofu")].findings)
    # unsaved text of the .tofu file (the editor): the overlay wins, mapped back to the .tofu path
    engine.set_overlay(str(mod / "variables.tofu"), VARIABLES.replace("0.0.0.0/0", "10.0.0.0/8"))
    result = engine.analyze_module(str(mod))
    t2 = {(f.check_id, f.resource) for f in result[str(mod / "main.tofu")].findings if f.result.value == "FAILED"}
    assert ("CKV_AWS_24", "aws_security_group.sg") not in t2 and t2


def test_a_directory_without_tofu_takes_no_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mod = write(tmp_path / "mod", {"main.tf": OPEN_SG})
    engine = Engine(str(mod), module_time_budget=None)

    def no_mirror(*args: object, **kwargs: object) -> None:
        raise AssertionError("a mirror for a directory without OpenTofu files")

    monkeypatch.setattr("tfguard.engine.tier2.Mirror", no_mirror)
    monkeypatch.setattr("tfguard.scan.pool.Mirror", no_mirror)
    assert engine.analyze_module(str(mod))[str(mod / "main.tf")].findings
    from tfguard.scan.runner import scan

    report = scan(engine, [str(mod)], cache_dir="", workers=1)
    assert any(f.check_id == "CKV_AWS_24" for f in report.failed)


def test_pre_commit_hooks_take_tofu_files() -> None:
    import re

    import yaml

    hooks = yaml.safe_load((Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml").read_text())
    for hook in hooks:
        pattern = re.compile(hook["files"])
        assert all(pattern.search(n) for n in ("a.tf", "m/a.tf.json", "a.tofu", "m/a.tofu.json")), hook["id"]
        assert not any(pattern.search(n) for n in ("a.tfvars", "README.md", "a.tofu.bak", "plan.json")), hook["id"]
