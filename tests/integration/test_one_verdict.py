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


def _run_hook(repo: Path, tmp_path: Path, env: dict[str, str], files: list[str],
              out: Path) -> subprocess.CompletedProcess[str]:
    """The shipped ``tfguard-system`` hook, from a git repository holding this checkout's
    .pre-commit-hooks.yaml, run by the real pre-commit on ``files``; its JSON report written to ``out``."""
    assert PRE_COMMIT is not None
    hooks = tmp_path / "tfguard-hooks"
    if not hooks.exists():
        assert _run("git", "init", "--quiet", str(hooks), cwd=tmp_path, env=env).returncode == 0
        shutil.copy(REPO / ".pre-commit-hooks.yaml", hooks / ".pre-commit-hooks.yaml")
        assert _run("git", "add", ".", cwd=hooks, env=env).returncode == 0
        assert _run("git", "commit", "--quiet", "-m", "hooks", cwd=hooks, env=env).returncode == 0
    rev = _run("git", "rev-parse", "HEAD", cwd=hooks, env=env).stdout.strip()
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n      - id: tfguard-system\n"
        f"        args: [--format, json, --output, {out}, --fail-on, HIGH]\n")
    return _run(PRE_COMMIT, "run", "tfguard-system", "--files", *files, cwd=repo, env=env)


def _precommit_verdict(repo: Path, tmp_path: Path, env: dict[str, str]) -> tuple[str, int, int]:
    out = tmp_path / "hook.json"
    got = _run_hook(repo, tmp_path, env, [TARGET], out)
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



# A module repository as public ones are laid out: the root module opens SSH to the world only when a
# caller sets `public = true`, which its example does. `checkov -d .` (and `tfguard scan .`) reports
# CKV_AWS_24 failing on the module's line through the example's call; the module folder alone passes it.
MODULE = """variable "public" {
  type    = bool
  default = false
}

resource "aws_security_group" "this" {
  description = "bastion"
  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = var.public ? ["0.0.0.0/0"] : ["10.0.0.0/8"]
  }
}
"""
EXAMPLE = 'module "bastion" {\n  source = "../.."\n  public = true\n}\n'


@pytest.fixture()
def module_repo(tmp_path: Path) -> Path:
    """A module repository with an example calling the module, and a ``prod/`` folder whose own
    ``.checkov.yaml`` says ``soft-fail: true`` (read by `checkov -d prod`, not by `checkov -d .`)."""
    env = _git_env(tmp_path)
    p = tmp_path / "module"
    (p / "examples" / "public").mkdir(parents=True)
    (p / "prod").mkdir()
    (p / "main.tf").write_text(MODULE)
    (p / "examples" / "public" / "main.tf").write_text(EXAMPLE)
    (p / "prod" / "main.tf").write_text(OPEN_SSH)
    (p / "prod" / ".checkov.yaml").write_text("soft-fail: true\n")
    assert _run("git", "init", "--quiet", str(p), cwd=tmp_path, env=env).returncode == 0
    assert _run("git", "add", ".", cwd=p, env=env).returncode == 0
    return p


def _results(report: Path, file: str) -> list[tuple[str, str, int, str]]:
    doc = json.loads(report.read_text())
    return sorted((f["check_id"], f["result"], f["line_range"][0], f["resource"]) for f in doc["findings"]
                  if Path(f["file_abs_path"]).resolve() == Path(file).resolve())


def _tfguard(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run(sys.executable, "-m", "tfguard", "scan", *args, cwd=cwd, env=env)


@pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed (pip install -e .[dev])")
def test_the_hook_reports_what_the_repository_scan_reports_through_module_calls(
        module_repo: Path, tmp_path: Path) -> None:
    env = _git_env(tmp_path)
    whole = _tfguard(".", "--format", "json", "--output", str(tmp_path / "dot.json"), "--fail-on", "HIGH",
                     cwd=module_repo, env=env)
    module_file = str(module_repo / "main.tf")
    expected = _results(tmp_path / "dot.json", module_file)
    assert ("CKV_AWS_24", "FAILED", 6, "module.bastion.aws_security_group.this") in expected, expected
    assert whole.returncode == 1, whole.stderr
    hook = _run_hook(module_repo, tmp_path, env, ["main.tf"], tmp_path / "hook.json")
    assert hook.returncode == 1, hook.stdout + hook.stderr
    assert _results(tmp_path / "hook.json", module_file) == expected
    # the same from the module's own folder and from outside the repository
    for cwd, path in ((module_repo / "examples", "../main.tf"), (tmp_path, module_file)):
        out = tmp_path / "other.json"
        got = _tfguard(path, "--format", "json", "--output", str(out), "--fail-on", "HIGH", cwd=cwd, env=env)
        assert (got.returncode, _results(out, module_file)) == (1, expected), (cwd, got.stderr)


def test_the_gate_does_not_depend_on_the_order_of_the_paths(module_repo: Path, tmp_path: Path) -> None:
    """prod/.checkov.yaml's soft-fail covers `tfguard scan prod` alone: never the root's failures, whatever
    comes first on the command line; a named file is judged as `tfguard scan .` judges it."""
    env = _git_env(tmp_path)
    codes = {args: _tfguard(*args.split(), "--compact", cwd=module_repo, env=env).returncode for args in (
        ".", "main.tf prod/main.tf", "prod/main.tf main.tf", "prod main.tf", "main.tf prod", "prod/main.tf", "prod")}
    assert codes == {".": 1, "main.tf prod/main.tf": 1, "prod/main.tf main.tf": 1, "prod main.tf": 1,
                     "main.tf prod": 1, "prod/main.tf": 1, "prod": 0}
    inside = _tfguard("main.tf", "--compact", cwd=module_repo / "prod", env=env)
    assert inside.returncode == 1, inside.stdout + inside.stderr  # the hook's verdict from the subfolder too
    assert ".checkov.yaml:1:1: MEDIUM [config] not applied by the scan of" in inside.stdout, inside.stdout


def test_a_nested_configuration_is_reported_not_silently_ignored(module_repo: Path, tmp_path: Path) -> None:
    env = _git_env(tmp_path)
    out = tmp_path / "dot.json"
    _tfguard(".", "--format", "json", "--output", str(out), cwd=module_repo, env=env)
    problems = [p for p in json.loads(out.read_text())["problems"] if p["code"] == "config"]
    assert [(Path(p["file"]).name, p["severity"]) for p in problems] == [(".checkov.yaml", "MEDIUM")], problems
    assert "scan prod on its own" in problems[0]["message"]


def test_a_typo_in_any_configuration_in_force_stops_the_scan(module_repo: Path, tmp_path: Path) -> None:
    env = _git_env(tmp_path)
    (module_repo / "prod" / ".checkov.yaml").write_text("hard-fail-on:\n  - CKV_AWS_2400\n")
    for args in ("prod", "main.tf prod", "prod main.tf"):
        got = _tfguard(*args.split(), "--compact", cwd=module_repo, env=env)
        assert got.returncode == 2, (args, got.stdout, got.stderr)
        assert "prod/.checkov.yaml hard-fail-on: CKV_AWS_2400: matches no check" in got.stderr, got.stderr
