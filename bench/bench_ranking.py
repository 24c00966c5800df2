"""Ranking benchmark (issue #18): does the order put what SecOps calls urgent first?

    .venv/bin/python bench/bench_ranking.py [--corpora /work/shared/corpora] [--keep DIR]

Builds a mixed repository from the shared corpora (each corpus copied under ``envs/prod/`` and
``envs/dev/``, a ``.git`` folder at its top), scans it once with the default configuration and
ranks every finding twice, in the same run: with the risk ranking (the default) and with the
severity ranking it replaced (``PriorityConfig(ranking="severity")``). Prints, for prod findings:

* **urgent recall at K** (= precision at K): K is the number of failed prod findings whose risk class
  is urgent (public-exposure, identity-access, secrets; :data:`tfguard.risk.URGENT_CLASSES`), and the
  figure is the share of them ranked within the top K of all failed prod findings; also for the
  narrower set the issue measured (exposure, IAM wildcards / privilege escalation / admin, secrets,
  chosen by check name: :data:`NARROW`);
* **prod over dev**: the share of prod findings that outrank their dev twin (same check, resource and
  path below ``envs/<env>/``);
* **labelled order**: pairwise agreement with the hand-labelled list of ``bench/ranking_labels.py``
  (30 findings, rubric in its docstring); ``tests/unit/test_ranking_labels.py`` runs the same list.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "server"))

from bench.ranking_labels import pairwise_agreement  # noqa: E402

from tfguard import wiring  # noqa: E402
from tfguard.model import Finding, Result  # noqa: E402
from tfguard.priority import PriorityConfig, assess, rank  # noqa: E402
from tfguard.risk import URGENT_CLASSES  # noqa: E402
from tfguard.scan import runner  # noqa: E402

CORPORA = ("terragoat", "terraform-aws-vpc", "terraform-aws-s3-bucket")
#: The issue's narrower urgent set, by Checkov check name.
NARROW = re.compile(r"public|0\.0\.0\.0|::/0|internet|anonymous|unrestricted|open to the world|wildcard|\*"
                    r"|privilege|admin|hard[- ]?coded|secret|credential|password", re.IGNORECASE)
_ENV = re.compile(r"/envs/(prod|dev)/")


def build_repo(corpora: Path, dest: Path) -> None:
    """``dest/envs/{prod,dev}/<corpus>`` copies and a ``.git`` folder (the repository root)."""
    for env in ("prod", "dev"):
        for name in CORPORA:
            shutil.copytree(corpora / name, dest / "envs" / env / name)
    (dest / ".git").mkdir()


def scan_both(root: Path) -> tuple[list[Finding], list[Finding]]:
    """One scan; each finding assessed by the risk ranking (kept) and the severity ranking (returned)."""
    legacy: dict[tuple[Any, ...], Finding] = {}

    def both(f: Finding, conf: Any, config: PriorityConfig, workspace_root: str | None = None,
             reach: Any = None, blast: Any = None) -> Finding:
        old = assess(f, conf, replace(config, ranking="severity"), workspace_root)
        new = assess(f, conf, config, workspace_root, reach=reach, blast=blast)
        legacy[_key(new)] = old
        return new

    original: Callable[..., Finding] = wiring.assess
    wiring.assess = both  # type: ignore[assignment]
    try:
        engine = wiring.make_engine(str(root), repo_root=str(root))
        report = runner.scan(engine, [str(root)], cache_dir="")
    finally:
        wiring.assess = original  # type: ignore[assignment]
    new = [f for f in report.findings if f.result is Result.FAILED]
    return new, [legacy[_key(f)] for f in new]


def _key(f: Finding) -> tuple[Any, ...]:
    return (f.check_id, f.file, f.resource, f.line_range)


def _twin(f: Finding) -> tuple[Any, ...] | None:
    m = _ENV.search(f.file)
    return None if m is None else (f.check_id, f.resource, f.file[m.end():])


def recall_at_k(findings: list[Finding], urgent: Callable[[Finding], bool]) -> tuple[float, int]:
    """Share of the urgent prod findings within the top K (K = their number) of all prod findings."""
    prod = [f for f in findings if "/envs/prod/" in f.file]
    k = sum(1 for f in prod if urgent(f))
    top = rank(prod)[:k]
    return (sum(1 for f in top if urgent(f)) / k if k else 1.0), k


def prod_over_dev(findings: list[Finding]) -> tuple[float, int]:
    """Share of prod findings with a dev twin that outrank it (priority strictly higher)."""
    dev = {_twin(f): f for f in findings if "/envs/dev/" in f.file}
    pairs = [(f, dev[_twin(f)]) for f in findings if "/envs/prod/" in f.file and _twin(f) in dev]
    return (sum(1 for p, d in pairs if p.priority > d.priority) / len(pairs) if pairs else 1.0), len(pairs)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: build, scan, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    parser.add_argument("--keep", type=Path, help="build the mixed repository here and keep it")
    args = parser.parse_args(argv)
    os.environ.setdefault("TFGUARD_NO_DAEMON", "1")

    tmp = None if args.keep else tempfile.mkdtemp(prefix="tfguard-rank-")
    root = (args.keep or Path(tmp or "")).resolve()
    try:
        build_repo(args.corpora, root)
        started = time.monotonic()
        new, old = scan_both(root)
        took = time.monotonic() - started
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    by_class = lambda f: f.risk_class in URGENT_CLASSES  # noqa: E731
    narrow = lambda f: by_class(f) and bool(NARROW.search(f.check_name))  # noqa: E731
    prod = sum(1 for f in new if "/envs/prod/" in f.file)
    print(f"mixed repository: {', '.join(CORPORA)} under envs/prod and envs/dev; {len(new)} failed findings, "
          f"{prod} in prod; one scan in {took:.0f} s")
    print(f"{'':34} {'severity ranking':>17} {'risk ranking':>13}")
    for label, pick in (("urgent recall@K (urgent classes)", by_class), ("urgent recall@K (narrow, by name)", narrow)):
        (r_old, k), (r_new, _) = recall_at_k(old, pick), recall_at_k(new, pick)
        print(f"{label:34} {r_old:>17.1%} {r_new:>13.1%}   K = {k}")
    (p_old, n), (p_new, _) = prod_over_dev(old), prod_over_dev(new)
    print(f"{'prod over dev':34} {p_old:>17.1%} {p_new:>13.1%}   {n} twins")
    a_old, a_new = pairwise_agreement(PriorityConfig(ranking="severity")), pairwise_agreement(PriorityConfig())
    print(f"{'labelled order (pairwise agreement)':34} {a_old:>17.1%} {a_new:>13.1%}   30 findings")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
