"""The fix-coverage verification of ``fix_coverage.py`` for the IAM wildcard checks only, with shared runs.

Usage: nice .venv/bin/python bench/fix_coverage_iam.py CORPUS_DIR [...]

The findings of terraform-aws-iam's module statements come once per module call (18 calls of one module in
one example), and ``fix_coverage.py`` runs Checkov on the caller's directory twice for every one of them:
hours on a loaded machine. Here the findings of one statement (check, file, line) reported through calls in
one caller directory are verified together, on one before/after pair of runs of that directory, by the same
criteria, per finding: a fix is offered (not a suppression), the file parses after the edit, the check
PASSES for that finding's resource, no new FAILED result appears in the directory, and building the fix
again yields no edit. Findings not through a call go through ``fix_coverage._verify`` as they are.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fix_coverage as fc  # noqa: E402
from tfguard.engine import Engine  # noqa: E402
from tfguard.fixes import FixOffer  # noqa: E402
from tfguard.fixes.textops import apply_text_edits  # noqa: E402
from tfguard.model import Finding, Result  # noqa: E402
from tfguard.scan.runner import scan  # noqa: E402

IAM_CHECKS = ("CKV_AWS_356", "CKV_AWS_111", "CKV_AWS_109", "CKV_AWS_355", "CKV_AWS_40")
Member = tuple[Finding, FixOffer, "str | None"]


def measure(corpus: str) -> dict[str, object]:
    failed: Counter[str] = Counter()
    offered: Counter[str] = Counter()
    verified: Counter[str] = Counter()
    typed: Counter[str] = Counter()  # verified with a typed value (the offer has a prompt)
    notes: list[str] = []
    engine = Engine(corpus)
    report = scan(engine, [corpus], cache_dir="", workers=1)
    groups: dict[tuple[str, str, int, str], list[Member]] = defaultdict(list)
    for f in report.findings:
        if f.result is not Result.FAILED or f.check_id not in IAM_CHECKS or f.source not in ("checkov", "graph"):
            continue
        failed[f.check_id] += 1
        found = fc._fix_offer(f, engine)
        if found is None:
            continue
        offered[f.check_id] += 1
        offer, value = found
        if not f.resource.startswith("module."):
            ok, why = fc._verify(f, offer, value, corpus)
            verified[f.check_id] += ok
            typed[f.check_id] += ok and offer.prompt is not None
            if not ok:
                notes.append(f"{f.check_id} {f.resource}: {why}")
            continue
        groups[(f.check_id, f.file, f.line_range[0], os.path.dirname(f.caller_file or ""))].append((f, offer, value))
    for (check, file, _line, directory), members in groups.items():
        run = Engine(corpus)
        first, offer, value = members[0]
        before = fc._call_results(run, directory)
        text, _ = run.read(fc._edit_file(offer, first))
        edits = fc.build_edits(offer, first, run, value=value)
        if text is None or not edits:
            notes.append(f"{check} {first.resource}: no edit")
            continue
        run.set_overlay(file, apply_text_edits(text, edits))
        if [p for p in run.analyze_file(file).problems if p.code == "syntax"]:
            notes.append(f"{check} {first.resource}: syntax problem after the fix")
            continue
        after = fc._call_results(run, directory)
        new_failed = {r[:3] for r in after if r[3] == "FAILED"} - {r[:3] for r in before if r[3] == "FAILED"}
        real = os.path.realpath(file)
        for f, o, v in members:
            got = {r[3] for r in after if r[:3] == (f.check_id, f.resource, real)}
            ok = got == {"PASSED"} and not new_failed and not fc.build_edits(o, f, run, value=v)
            verified[check] += ok
            typed[check] += ok and o.prompt is not None
            if not ok:
                notes.append(f"{check} {f.resource}: after the fix {sorted(got)}, new {sorted(new_failed)[:2]}")
    return {"failed": dict(failed), "offered": dict(offered), "verified": dict(verified), "typed": dict(typed),
            "not_verified": notes}


def main(argv: list[str]) -> int:
    bad = 0
    for corpus in argv:
        out = measure(os.path.abspath(corpus))
        print(os.path.basename(os.path.normpath(corpus)), json.dumps(out), flush=True)
        bad += sum(out["offered"].values()) - sum(out["verified"].values())  # type: ignore[attr-defined]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
