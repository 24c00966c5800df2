"""`tfguard scan PLAN.json` reports exactly what `checkov -f PLAN.json --framework terraform_plan` reports.

Every plan of ``../shared/corpora/plans`` (every ``*.json`` Checkov's plan runner reads), twice:

- without source mapping: tfguard with ``--repo-root`` on an empty directory against plain ``checkov -f``;
- with source mapping: tfguard with ``--repo-root DIR`` against ``checkov -f … --repo-root-for-plan-enrichment
  DIR``, DIR being the plan's corpus folder (``plans/<case>``), where the ``*_for_enrichment`` sources sit.

Both run as subprocesses in this environment, offline. Compared, with no tolerated difference: (check id,
resource address, result) for every failed, passed and skipped check, plus the file and line range each
is reported on (the ``.tf`` file and block lines when mapped, the plan's lines otherwise). The corrupted
plan (``plan/corrupted-tfplan.json``: a state file's shape, no planned values) exits 2 with one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent
CHECKOV = str(VENV_BIN / "checkov")
CORRUPTED = "plan/corrupted-tfplan.json"
PlanKey = tuple[str, str, str, str, int, int]  # check id, address, result, real file, first line, last line

_SECTIONS = (("failed_checks", "FAILED"), ("passed_checks", "PASSED"), ("skipped_checks", "SKIPPED"))


def corpus_plans(corpora: Path) -> list[Path]:
    root = corpora / "plans"
    if not root.is_dir():
        pytest.skip(f"plan corpus not found at {root}")
    return sorted(p for p in root.rglob("*.json") if p.relative_to(root).as_posix() != CORRUPTED)


def case_dir(corpora: Path, plan: Path) -> Path:
    """``plans/<case>``: the folder of one corpus case (its plan and, for enrichment cases, its sources)."""
    return corpora / "plans" / plan.relative_to(corpora / "plans").parts[0]


def checkov_plan_keys(output: str, plan: Path, repo_root: Path | None) -> set[PlanKey]:
    out: set[PlanKey] = set()
    text = output.strip()
    if not text:
        return out
    data = json.loads(text)
    for rep in data if isinstance(data, list) else [data]:
        if rep.get("check_type") != "terraform_plan":
            continue
        for section, status in _SECTIONS:
            for r in (rep.get("results") or {}).get(section) or []:
                fp = r["file_path"]
                file = str(plan) if fp.startswith("/") or repo_root is None else os.path.join(repo_root, fp)
                lr = r["file_line_range"]
                out.add((r["check_id"], r["resource"], status, os.path.realpath(file), int(lr[0]), int(lr[1])))
    return out


def tfguard_plan_keys(output: str) -> set[PlanKey]:
    out: set[PlanKey] = set()
    for f in json.loads(output)["findings"]:
        if f.get("source") not in ("checkov", "graph"):
            continue
        lr = f["line_range"]
        out.add((f["check_id"], f["resource"], f["result"], os.path.realpath(f["file_abs_path"]), int(lr[0]),
                 int(lr[1])))
    return out


def run_checkov(plan: Path, repo_root: Path | None) -> str:
    env = dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true", BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR")
    cmd = [CHECKOV, "-f", str(plan), "--framework", "terraform_plan", "-o", "json", "--skip-download"]
    if repo_root is not None:
        cmd += ["--repo-root-for-plan-enrichment", str(repo_root)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return proc.stdout


def run_tfguard(plans: list[Path], repo_root: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tfguard", "scan", "--no-daemon", *map(str, plans), "-o",
                           "json", "--repo-root", str(repo_root)], capture_output=True, text=True, timeout=600,
                          cwd=cwd)


def _diff(expected: set[PlanKey], actual: set[PlanKey]) -> str:
    return (f"only in checkov ({len(expected - actual)}): {sorted(expected - actual)[:20]}\n"
            f"only in tfguard ({len(actual - expected)}): {sorted(actual - expected)[:20]}")


@pytest.mark.parametrize("mapped", [False, True], ids=["plan-lines", "mapped-to-source"])
def test_plan_scan_equals_checkov_f_on_every_corpus_plan(corpora: Path, tmp_path: Path, mapped: bool) -> None:
    plans = corpus_plans(corpora)
    empty = tmp_path / "empty-repo"
    empty.mkdir()
    diffs, compared, pairs = [], 0, 0
    roots = {plan: case_dir(corpora, plan) if mapped else None for plan in plans}
    with ThreadPoolExecutor(max_workers=1) as pool:  # Checkov's runs beside tfguard's: two processes at a time
        checkov_out = {plan: pool.submit(run_checkov, plan, roots[plan]) for plan in plans}
        scanned = {plan: run_tfguard([plan], roots[plan] or empty, tmp_path) for plan in plans}
        outputs = {plan: f.result() for plan, f in checkov_out.items()}
    for plan in plans:
        root = roots[plan]
        expected = checkov_plan_keys(outputs[plan], plan, root)
        proc = scanned[plan]
        assert proc.returncode in (0, 1), f"{plan}: {proc.stderr[-2000:]}"
        actual = tfguard_plan_keys(proc.stdout)
        compared += 1
        pairs += len(expected)
        if expected != actual:
            diffs.append(f"== {plan.relative_to(corpora)}\n{_diff(expected, actual)}")
    print(f"\n{compared} plans compared, {pairs} (check, address, result, location) results equal"
          f" ({'mapped' if mapped else 'plan lines'})")
    assert compared >= 15
    assert not diffs, "\n".join(diffs)


def test_corrupted_plan_exits_2_with_one_line(corpora: Path, tmp_path: Path) -> None:
    plan = corpora / "plans" / CORRUPTED
    if not plan.is_file():
        pytest.skip(f"{plan} not found")
    proc = run_tfguard([plan], tmp_path, tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Terraform plan" in lines[0] and "corrupted-tfplan.json" in lines[0]
    assert "621124146446964903" not in proc.stderr  # no value of the file is echoed
