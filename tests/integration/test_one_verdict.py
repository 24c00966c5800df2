"""One file, one verdict: every way a user starts tfguard gives the same severity, priority and gate result.

A real git repository is made in the test: ``infra/prod/main.tf`` opens SSH to the world (CKV_AWS_24) and a
``.tfguard.yaml`` raises that check to HIGH, once at the repository root and once next to the file. The same
file is then scanned as users do: ``tfguard scan .``, ``scan infra``, ``scan infra/prod/main.tf`` (what the
pre-commit hook runs), from inside the folder, from outside the repository, through the real pre-commit
hook of .pre-commit-hooks.yaml, through the warm daemon, and in an LSP session (pytest-lsp over stdio).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import SERVER_COMMAND, init_params, open_document, serve_client_requests, wait_for_diagnostics

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PRE_COMMIT = shutil.which("pre-commit", path=str(VENV_BIN)) or shutil.which("pre-commit")

OPEN_SSH = '''resource "aws_security_group" "bastion" {
  description = "bastion"
  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
'''
CONFIG = "severity_overrides:\n  CKV_AWS_24: HIGH\n"
TARGET = "infra/prod/main.tf"
CHECK = "CKV_AWS_24"


def _git_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TFGUARD_DAEMON_SOCKET"}
    env.update({
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
        "GIT_CONFIG_GLOBAL": str(tmp / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
        "TFGUARD_NO_DAEMON": "1", "TFGUARD_CACHE_DIR": str(tmp / "cache"),
    })
    return env


def _run(*cmd: str, cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(params=["root-config", "nested-config"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A team's repository: the insecure file, and the override at the root or next to the file."""
    env = _git_env(tmp_path)
    p = tmp_path / "project"
    (p / "infra" / "prod").mkdir(parents=True)
    (p / TARGET).write_text(OPEN_SSH)
    config_dir = p if request.param == "root-config" else p / "infra" / "prod"
    (config_dir / ".tfguard.yaml").write_text(CONFIG)
    assert _run("git", "init", "--quiet", str(p), cwd=tmp_path, env=env).returncode == 0
    assert _run("git", "add", ".", cwd=p, env=env).returncode == 0
    return p


def _verdict_from_json(report: Path, code: int) -> tuple[str, int, int]:
    doc = json.loads(report.read_text())
    found = [f for f in doc["findings"]
             if f["check_id"] == CHECK and f["result"] == "FAILED" and f["file_abs_path"].endswith(TARGET)]
    assert len(found) == 1, doc["findings"]
    return found[0]["severity"], found[0]["priority"], code


def _scan(repo: Path, cwd: Path, path: str, out: Path, env: dict[str, str]) -> tuple[str, int, int]:
    got = _run(sys.executable, "-m", "tfguard", "scan", path, "--format", "json", "--output", str(out),
               "--fail-on", "HIGH", cwd=cwd, env=env)
    assert got.returncode in (0, 1), got.stderr
    return _verdict_from_json(out, got.returncode)


def _cli_verdicts(repo: Path, tmp_path: Path, env: dict[str, str]) -> dict[str, tuple[str, int, int]]:
    outside = tmp_path / "elsewhere"
    outside.mkdir(exist_ok=True)
    return {
        "scan .": _scan(repo, repo, ".", tmp_path / "dot.json", env),
        "scan infra": _scan(repo, repo, "infra", tmp_path / "sub.json", env),
        "scan FILE": _scan(repo, repo, TARGET, tmp_path / "file.json", env),
        "scan main.tf in its folder": _scan(repo, repo / "infra" / "prod", "main.tf", tmp_path / "here.json", env),
        "scan FILE from outside": _scan(repo, outside, str(repo / TARGET), tmp_path / "out.json", env),
    }


def _precommit_verdict(repo: Path, tmp_path: Path, env: dict[str, str]) -> tuple[str, int, int]:
    """The shipped ``tfguard-system`` hook, from a clone of this repository, run by the real pre-commit."""
    assert PRE_COMMIT is not None
    hooks = tmp_path / "tfguard-hooks"
    assert _run("git", "init", "--quiet", str(hooks), cwd=tmp_path, env=env).returncode == 0
    shutil.copy(REPO / ".pre-commit-hooks.yaml", hooks / ".pre-commit-hooks.yaml")
    assert _run("git", "add", ".", cwd=hooks, env=env).returncode == 0
    assert _run("git", "commit", "--quiet", "-m", "hooks", cwd=hooks, env=env).returncode == 0
    rev = _run("git", "rev-parse", "HEAD", cwd=hooks, env=env).stdout.strip()
    out = tmp_path / "hook.json"
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n      - id: tfguard-system\n"
        f"        args: [--format, json, --output, {out}, --fail-on, HIGH]\n")
    got = _run(PRE_COMMIT, "run", "tfguard-system", "--files", TARGET, cwd=repo, env=env)
    assert got.returncode in (0, 1), got.stdout + got.stderr
    assert "- exit code: 2" not in got.stdout, got.stdout
    return _verdict_from_json(out, got.returncode)


@pytest.fixture()
def daemon_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private daemon socket; the daemon is stopped afterwards."""
    d = Path(tempfile.mkdtemp(prefix="tfgv-"))
    os.chmod(d, 0o700)
    env = {k: v for k, v in _git_env(tmp_path).items() if k != "TFGUARD_NO_DAEMON"}
    env["TFGUARD_DAEMON_SOCKET"] = str(d / "d.sock")
    yield env
    _run(sys.executable, "-m", "tfguard", "daemon", "stop", cwd=tmp_path, env=env, timeout=60)
    time.sleep(0.2)
    shutil.rmtree(d, ignore_errors=True)


def _daemon_verdicts(repo: Path, tmp_path: Path, env: dict[str, str]) -> dict[str, tuple[str, int, int]]:
    started = _run(sys.executable, "-m", "tfguard", "daemon", "start", "--idle-timeout", "120", cwd=tmp_path, env=env)
    assert started.returncode == 0, started.stderr
    verdicts = {
        "daemon: scan FILE": _scan(repo, repo, TARGET, tmp_path / "d-file.json", env),
        "daemon: scan infra from its folder": _scan(repo, repo / "infra", ".", tmp_path / "d-sub.json", env),
    }
    status = _run(sys.executable, "-m", "tfguard", "daemon", "status", cwd=tmp_path, env=env)
    assert "2 scans served" in status.stdout + status.stderr, (status.stdout, status.stderr)
    return verdicts


async def _lsp_verdict(repo: Path) -> tuple[str, int]:
    client = await ClientServerConfig(server_command=SERVER_COMMAND).start()
    assert isinstance(client, LanguageClient)
    try:
        serve_client_requests(client)
        await client.initialize_session(init_params(repo, client_capabilities("visual_studio_code")))
        uri = open_document(client, repo / TARGET)

        def settled(diags: list[lsp.Diagnostic]) -> bool:
            return any(str(d.code) == CHECK for d in diags)

        diags = await wait_for_diagnostics(client, uri, settled, timeout=60)
        (d,) = [d for d in diags if str(d.code) == CHECK]
        assert isinstance(d.data, dict)
        return str(d.data["severity"]), int(d.data["priority"])
    finally:
        await client.shutdown_session()
        await client.stop()


@pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed (pip install -e .[dev])")
async def test_the_same_file_gets_the_same_verdict_from_every_entry_point(
        repo: Path, tmp_path: Path, daemon_env: dict[str, str]) -> None:
    env = _git_env(tmp_path)
    verdicts = _cli_verdicts(repo, tmp_path, env)
    verdicts["pre-commit hook"] = _precommit_verdict(repo, tmp_path, env)
    verdicts.update(_daemon_verdicts(repo, tmp_path, daemon_env))
    severity, priority, code = verdicts["scan ."]
    assert severity in ("HIGH", "CRITICAL"), verdicts  # the override applies (prod may raise it further)
    assert code == 1, "--fail-on HIGH fails on it"
    assert {k: v for k, v in verdicts.items() if v != (severity, priority, code)} == {}
    assert await _lsp_verdict(repo) == (severity, priority)
