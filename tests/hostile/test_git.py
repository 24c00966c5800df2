"""Guarantee 6: git never runs a program the repository chose.

A workspace can carry its own ``.git/config`` (an archive, a shared folder). Planted: ``core.fsmonitor``
(run on every index read), a hook, a clean filter driver chosen by ``.gitattributes`` (run by ``git blame``
on a modified file) and a textconv driver. A control run of plain git proves each plant fires; then the
LSP's indexing path (``files.module_dirs``, ``git check-ignore``) and ``tfguard suppressions`` (CLI
subprocess, ``git rev-parse`` + ``git blame``) must leave no marker.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.hostile.conftest import Planted
from tfguard.files import module_dirs, run_git

SKIPPED_TF = ('resource "aws_s3_bucket" "b" {\n  # checkov:skip=CKV_AWS_18:SEC-1 logging elsewhere\n'
              '  bucket = "x"\n}\n')


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False, timeout=30)


def _plant(planted: Planted) -> list[Path]:
    repo = planted.repo
    markers = [planted.tmp / f"MARKER-{n}" for n in ("fsmonitor", "filter", "textconv", "hook")]
    planted.write("main.tf", SKIPPED_TF)
    planted.write(".gitignore", "ignored/\n")
    planted.write("ignored/x.tf", SKIPPED_TF)
    _git(repo, "add", "main.tf", ".gitignore")
    _git(repo, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "init")
    planted.write(".gitattributes", "*.tf filter=evil diff=evil\n")
    _git(repo, "config", "core.fsmonitor", f"touch {markers[0]}; false")
    _git(repo, "config", "filter.evil.clean", f"touch {markers[1]}; cat")
    _git(repo, "config", "filter.evil.required", "true")
    _git(repo, "config", "diff.evil.textconv", f"touch {markers[2]}; cat")
    hook = repo / ".git" / "hooks" / "post-index-change"
    hook.write_text(f"#!/bin/sh\ntouch {markers[3]}\n", encoding="utf-8")
    hook.chmod(0o755)
    with open(repo / "main.tf", "a", encoding="utf-8") as f:
        f.write("# modified: blame reads the working tree through the clean filter\n")
    return markers


def _control(planted: Planted, markers: list[Path]) -> None:
    """Plain git runs the planted programs (else the test would prove nothing)."""
    _git(planted.repo, "blame", "--porcelain", "-L", "2,2", "--", "main.tf")
    _git(planted.repo, "status", "--short")
    assert markers[0].exists() and markers[1].exists(), "the plants did not fire under plain git"
    for m in markers:
        m.unlink(missing_ok=True)


@pytest.mark.timeout(60)
def test_indexing_runs_no_repository_program(planted: Planted) -> None:
    markers = _plant(planted)
    _control(planted, markers)
    assert module_dirs(str(planted.repo)) == [str(planted.repo)]  # ignored/ is still git-ignored
    got = run_git(str(planted.repo), ["blame", "--no-textconv", "--porcelain", "-L", "2,2", "--", "main.tf"])
    assert got is not None and got.returncode == 0 and got.stdout
    assert [m.name for m in markers if m.exists()] == []


@pytest.mark.timeout(60)
def test_tfguard_suppressions_runs_no_repository_program(planted: Planted) -> None:
    markers = _plant(planted)
    _control(planted, markers)
    proc = planted.tfguard("suppressions", ".", "--format", "json", "--no-stale")
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "CKV_AWS_18" in proc.stdout
    assert '"author": "a"' in proc.stdout or "a@b" in proc.stdout  # blame still answered
    assert [m.name for m in markers if m.exists()] == []


@pytest.mark.timeout(60)
def test_a_bare_repository_planted_in_the_tree_is_not_used(planted: Planted) -> None:
    marker = planted.tmp / "MARKER-bare"
    bare = planted.repo / "sub"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True, capture_output=True)
    _git(bare, "config", "core.fsmonitor", f"touch {marker}; false")
    got = run_git(str(bare), ["check-ignore", "--stdin"], input=str(bare / "x.tf"))
    assert got is not None
    assert not marker.exists()
