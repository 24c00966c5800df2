"""The command lines of docs/coming-from-checkov.md, run on real ``checkov`` and real ``tfguard`` processes
(offline) on tests/fixtures/side_by_side: equal exit codes, equal failed checks, the same files written."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "coming-from-checkov.md"
FIXTURE = REPO / "tests" / "fixtures" / "side_by_side"
BIN = Path(sys.executable).parent


def rows() -> list[tuple[str, str]]:
    """(checkov line, tfguard line) of the doc's side-by-side table."""
    return re.findall(r"^\| `(checkov [^`]+)` \| `(tfguard [^`]+)` \|$", DOC.read_text(), flags=re.M)


def _env(tmp: Path) -> dict[str, str]:
    return dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true", BC_SKIP_MAPPING="TRUE", TFGUARD_NO_DAEMON="1",
                TFGUARD_CACHE_DIR=str(tmp / "cache"), NO_COLOR="1")


def _run(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(line)
    if argv[0] == "checkov":
        argv = [str(BIN / "checkov"), *argv[1:], "--skip-download"]
    else:
        argv = [str(BIN / "tfguard"), *argv[1:]]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def _failed(tool: str, stdout: str) -> set[tuple[str, str]]:
    doc: Any = json.loads(stdout)
    if tool == "checkov":
        reports = doc if isinstance(doc, list) else [doc]
        return {(r["check_id"], r["resource"]) for rep in reports if "results" in rep
                for r in rep["results"]["failed_checks"]}
    return {(f["check_id"], f["resource"]) for f in doc["findings"]
            if f["result"] == "FAILED" and f["source"] in ("checkov", "graph", "policy")}


def test_the_doc_has_the_side_by_side_rows() -> None:
    got = rows()
    assert len(got) >= 10
    for ck, tg in got:  # the same options on both sides
        assert ck.split()[1:] == [a for a in tg.split()[1:] if a != "scan"]


@pytest.mark.parametrize(("checkov_line", "tfguard_line"), rows(), ids=[r[0] for r in rows()])
def test_the_same_command_line_gives_the_same_exit_code_and_failed_checks(
        checkov_line: str, tfguard_line: str, tmp_path: Path) -> None:
    work = {tool: tmp_path / tool for tool in ("checkov", "tfguard")}
    for d in work.values():
        shutil.copytree(FIXTURE, d)
    env = _env(tmp_path)
    writes_files = " -o " in f" {checkov_line} "
    lines = {"checkov": checkov_line, "tfguard": tfguard_line}
    if not writes_files:  # the failed checks as each tool's JSON reports them, from the same run
        lines = {tool: f"{line} -o json" for tool, line in lines.items()}
    with ThreadPoolExecutor(2) as pool:
        got = dict(zip(lines, pool.map(lambda t: _run(lines[t], work[t], env), lines), strict=True))
    assert got["tfguard"].returncode == got["checkov"].returncode, (
        f"exit codes differ: checkov {got['checkov'].returncode}, tfguard {got['tfguard'].returncode}\n"
        f"{got['tfguard'].stderr}")
    if writes_files:
        written = {tool: sorted(p.name for p in (work[tool] / "out").iterdir()) for tool in work}
        assert written["tfguard"] == written["checkov"]
        assert written["tfguard"]
    else:
        ck, tg = _failed("checkov", got["checkov"].stdout), _failed("tfguard", got["tfguard"].stdout)
        assert tg == ck, f"only checkov: {sorted(ck - tg)}; only tfguard: {sorted(tg - ck)}"
