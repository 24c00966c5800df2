"""Hostile repositories: real files planted in a temporary git repository, real CLI processes.

Every test plants the hostile thing and asserts what a user would see: a located problem, and no line
of a file outside the repository anywhere in what tfguard printed (stdout, stderr, JSON, SARIF).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TFGUARD = Path(sys.executable).with_name("tfguard")
SECRET_LINES = ("root:*:20228:0:99999:7:::", "TOPSECRET aws_secret_access_key = hunter2-do-not-leak")
MAIN_TF = 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n'
# A Terraform file outside the repository: if it were read, its resource would show up in findings.
OUTSIDE_TF = 'resource "aws_s3_bucket" "leak" {\n  bucket = "TOPSECRET-bucket-do-not-leak"\n}\n'


@dataclass
class Planted:
    """A temporary git repository (``repo``) and, beside it, a folder it must never read (``outside``)."""

    tmp: Path
    repo: Path
    outside: Path
    home: Path

    def write(self, rel: str, text: str) -> Path:
        path = self.repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def link(self, rel: str, target: str | Path) -> Path:
        path = self.repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
        return path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(TFGUARD_NO_DAEMON="1", TFGUARD_CACHE_DIR=str(self.tmp / "cache"), HOME=str(self.home))
        return env

    def tfguard(self, *args: str, timeout: float = 50) -> subprocess.CompletedProcess[str]:
        """Run the real CLI (``.venv/bin/tfguard``) in the repository."""
        return subprocess.run([str(TFGUARD), *args], cwd=self.repo, env=self.env(), capture_output=True,
                              text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)

    def scan(self, fmt: str = "json", timeout: float = 50) -> Scan:
        """``tfguard scan . --format FMT``; JSON parsed when it is JSON."""
        proc = self.tfguard("scan", ".", "--format", fmt, timeout=timeout)
        data: Any = None
        if fmt in ("json", "sarif") and proc.stdout.strip():
            data = json.loads(proc.stdout)
        return Scan(proc, data, str(self.repo))


_LOCATED = re.compile(r"^(?P<path>[^\n]+?):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>[^\n]*)$", re.MULTILINE)


@dataclass
class Scan:
    proc: subprocess.CompletedProcess[str]
    data: Any
    cwd: str | None = None

    @property
    def everything(self) -> str:
        return self.proc.stdout + "\n" + self.proc.stderr

    def problems(self) -> list[dict[str, Any]]:
        """The report's problems, and the located errors printed on stderr when the CLI refused to scan
        (invalid configuration: ``FILE:LINE:COL: error: MESSAGE``, exit 2)."""
        out = list(self.data.get("problems", [])) if isinstance(self.data, dict) else []
        for m in _LOCATED.finditer(self.proc.stderr):
            path = m.group("path")
            rel = os.path.relpath(path, self.cwd) if self.cwd and os.path.isabs(path) else path
            out.append({"file": rel, "line": int(m.group("line")), "column": int(m.group("col")),
                        "message": m.group("msg"), "code": "config"})
        assert out or isinstance(self.data, dict), self.everything[-3000:]
        return out

    def problem(self, text: str, file: str | None = None) -> dict[str, Any]:
        """The problem whose message holds ``text`` (on ``file`` when given); fails listing them otherwise."""
        for p in self.problems():
            if text in p["message"] and (file is None or p["file"] == file):
                return p
        raise AssertionError(f"no problem {text!r} on {file}: {self.problems()}\nstderr: {self.proc.stderr[-2000:]}")

    def resources(self) -> set[str]:
        return {f["resource"] for f in self.data.get("findings", [])} if isinstance(self.data, dict) else set()


def assert_nothing_leaked(text: str) -> None:
    """No line of the planted outside files (nor /etc/shadow's first field pattern) appears in ``text``."""
    for line in SECRET_LINES:
        assert line not in text
    assert "TOPSECRET" not in text
    assert "hunter2" not in text
    assert "20228" not in text


@pytest.fixture
def planted(tmp_path: Path) -> Planted:
    """A git repository holding one Terraform file, a secret folder beside it and a private HOME."""
    repo, outside, home = tmp_path / "repo", tmp_path / "outside", tmp_path / "home"
    for d in (repo, outside, home / ".aws"):
        d.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, capture_output=True)
    (repo / "main.tf").write_text(MAIN_TF, encoding="utf-8")
    secret = "\n".join(SECRET_LINES) + "\n"
    (outside / "secret").write_text(secret, encoding="utf-8")
    (outside / "secret.tf").write_text(OUTSIDE_TF, encoding="utf-8")
    (outside / "policy.yaml").write_text("metadata: {id: CKV2_TOPSECRET_1, name: hunter2}\n", encoding="utf-8")
    (home / ".aws" / "credentials").write_text(secret, encoding="utf-8")
    return Planted(tmp_path, repo, outside, home)


GUARD = Path(__file__).with_name("guarded_cli.py")


def guarded(planted: Planted, forbidden: list[str], *args: str, timeout: float = 50) -> Scan:
    """``tfguard ARGS`` under the audit hook of guarded_cli.py: exit 99 if a ``forbidden`` path is opened."""
    proc = subprocess.run([sys.executable, str(GUARD), *forbidden, "--", *args], cwd=planted.repo,
                          env=planted.env(), capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode != 99, f"opened a forbidden path: {proc.stderr[-500:]}"
    data: Any = None
    if "--format" in args and args[args.index("--format") + 1] in ("json", "sarif") and proc.stdout.strip():
        data = json.loads(proc.stdout)
    return Scan(proc, data, str(planted.repo))
