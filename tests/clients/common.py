"""Shared plumbing for the real-editor tests: the workspace copy, the environment, the expectations.

The editors run the *user-facing* configurations in ``editors/`` (the ones docs/editors.md shows
verbatim) through small harness scripts that open ``module/main.tf``, wait with a predicate until
tfguard's diagnostics are there, and write them as JSON. The expectations below are computed from the
fixture's text, not hard-coded line numbers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
EDITORS = HERE / "editors"
REPO = HERE.parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "lsp"
MAIN_TF = Path("module") / "main.tf"

# What the harness waits for: a tier-1 attribute finding, the SSH finding, and a graph (CKV2) check
# from the module run that follows the idle debounce and Checkov's warm-up.
WAIT_FOR = ("CKV_AWS_24", "CKV_AWS_20", "CKV2_*")
WAIT_MS = 40_000
EDITOR_TIMEOUT = 90

# "[SEVERITY] ..." message prefix -> LSP DiagnosticSeverity
LSP_SEVERITY = {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFO": 4}
CODE_RE = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
PREFIX_RE = re.compile(r"^\[(CRITICAL|HIGH|MEDIUM|LOW|INFO)\] ")
ADDRESS_RE = re.compile(r"\((\w+\.\w+)\)\s*$")


def tfguard_bin_dir() -> Path:
    """The venv's bin folder, which holds the ``tfguard`` console script the configs run."""
    bindir = Path(sys.executable).parent
    if not (bindir / "tfguard").exists():
        pytest.skip(f"no tfguard console script next to {sys.executable} (run scripts/setup.sh)")
    return bindir


def make_workspace(tmp_path: Path) -> Path:
    """A private copy of tests/fixtures/lsp (a git repository when git is there, as a user's would be)."""
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE, root)
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(root)], check=False, timeout=30)
    return root


def editor_env(tmp_path: Path, root: Path, out: Path, config: Path) -> dict[str, str]:
    """Isolated HOME/XDG folders, tfguard first on PATH, and the harness parameters."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "PATH": os.pathsep.join([str(tfguard_bin_dir()), env.get("PATH", "")]),
        "TFGUARD_CONFIG": str(config),
        "TFGUARD_FILE": str(root / MAIN_TF),
        "TFGUARD_OUT": str(out),
        "TFGUARD_WAIT_FOR": ",".join(WAIT_FOR),
        "TFGUARD_WAIT_MS": str(WAIT_MS),
    })
    return env


def run_editor(cmd: list[str], cwd: Path, env: dict[str, str], out: Path) -> dict[str, Any]:
    """Run the editor; return the harness's JSON (with the editor's output attached on failure)."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=EDITOR_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{cmd[0]} did not finish within {EDITOR_TIMEOUT}s; "
                             f"stdout={exc.stdout!r} stderr={exc.stderr!r}") from exc
    context = f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert out.exists(), f"{cmd[0]} wrote no result\n{context}"
    result: dict[str, Any] = json.loads(out.read_text())
    result["_context"] = context
    return result


@dataclass
class Block:
    start: int  # 0-based line of the header
    end: int  # 0-based line of the closing brace


def resource_blocks(lines: list[str]) -> dict[str, Block]:
    """``type.name`` -> the lines of each top-level resource block."""
    blocks: dict[str, Block] = {}
    for i, line in enumerate(lines):
        m = re.match(r'^resource\s+"(\w+)"\s+"(\w+)"\s*\{', line)
        if m:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].rstrip() == "}")
            blocks[f"{m.group(1)}.{m.group(2)}"] = Block(i, end)
    return blocks


def nested_block(lines: list[str], within: Block, name: str) -> Block:
    for i in range(within.start, within.end):
        m = re.match(rf"^(\s*){name}\s*\{{", lines[i])
        if m:
            indent = m.group(1)
            end = next(j for j in range(i + 1, within.end) if lines[j].rstrip() == indent + "}")
            return Block(i, end)
    raise AssertionError(f"no {name} block in lines {within}")


def attribute_line(lines: list[str], within: Block, name: str) -> int:
    return next(i for i in range(within.start, within.end + 1) if re.match(rf"^\s*{name}\s*=", lines[i]))


def check_diagnostics(result: dict[str, Any], root: Path) -> dict[str, dict[str, Any]]:
    """The assertions both editors share; returns the diagnostics by code."""
    context = result.get("_context", "")
    assert "error" not in result, f"harness error: {result['error']}\n{context}"
    diags: list[dict[str, Any]] = result.get("diagnostics") or []
    got = sorted({str(d["code"]) for d in diags})
    assert result["ok"] is True, (f"diagnostics for {', '.join(WAIT_FOR)} did not arrive within "
                                  f"{WAIT_MS} ms; got {got}\n{context}")

    lines = (root / MAIN_TF).read_text().splitlines()
    blocks = resource_blocks(lines)
    bucket, sg = blocks["aws_s3_bucket.data"], blocks["aws_security_group.ssh"]
    ingress = nested_block(lines, sg, "ingress")
    acl_line = attribute_line(lines, bucket, "acl")
    # CKV_AWS_24 evaluates the ingress rule: its header, ports or CIDR blocks, never elsewhere
    ssh_lines = {ingress.start, *(attribute_line(lines, ingress, a)
                                  for a in ("from_port", "to_port", "cidr_blocks"))}

    by_code: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, int]] = set()
    for d in diags:
        code, msg = str(d["code"]), str(d["message"])
        where = f"{code} at {d['lnum']}:{d['col']}-{d['end_lnum']}:{d['end_col']} {msg!r}"
        assert CODE_RE.match(code), where
        assert d["source"] == "tfguard", where
        m = PREFIX_RE.match(msg)
        assert m, f"message must start with [SEVERITY]: {where}"
        assert d["severity"] == LSP_SEVERITY[m.group(1)], f"severity {d['severity']} for {where}"
        # a real range inside the file, on the finding's own resource
        assert 0 <= d["lnum"] <= d["end_lnum"] < len(lines), where
        assert (d["lnum"], d["col"]) < (d["end_lnum"], d["end_col"]), f"empty range: {where}"
        assert d["end_col"] <= len(lines[d["end_lnum"]]), where
        addr = ADDRESS_RE.search(msg)
        assert addr and addr.group(1) in blocks, f"message must name its resource: {where}"
        block = blocks[addr.group(1)]
        assert block.start <= d["lnum"] and d["end_lnum"] <= block.end, f"outside {addr.group(1)}: {where}"
        assert (code, d["lnum"]) not in seen, f"duplicate: {where}"
        seen.add((code, d["lnum"]))
        by_code[code] = d

    acl = by_code["CKV_AWS_20"]
    assert (acl["lnum"], acl["end_lnum"]) == (acl_line, acl_line), f"CKV_AWS_20 not on the acl line: {acl}"
    assert lines[acl_line][acl["col"]:acl["end_col"]].startswith("acl"), acl
    assert acl["severity"] == 1, f"public-read ACL must be an Error: {acl}"

    ssh = by_code["CKV_AWS_24"]
    assert ssh["lnum"] == ssh["end_lnum"] and ssh["lnum"] in ssh_lines, (
        f"CKV_AWS_24 expected on one of lines {sorted(ssh_lines)} (0-based), got {ssh}")
    assert lines[ssh["lnum"]][ssh["col"]:ssh["end_col"]].strip(), ssh

    assert any(c.startswith("CKV2_") for c in by_code), f"no graph check arrived: {sorted(by_code)}"
    return by_code
