"""How many failed checks get a local fix offered, and for how many the fix verifiably passes.

Usage: .venv/bin/python bench/fix_coverage.py [CORPUS_DIR ...] [--json OUT]
(default: every directory under /work/shared/corpora).

For every FAILED Checkov finding of ``tfguard scan``-equivalent analysis (Engine.scan), ask
``offers_for`` for a local fix. For each offered fix, apply ``build_edits`` as an unsaved
overlay, re-run the engine (tier 1 when the check is an entity check, else tier 2 on the
module directory) and count the fix as verified when the check now PASSES for that resource,
the file has no syntax problem, and no new FAILED finding appeared in the file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from tfguard.engine import Engine
from tfguard.fixes import build_edits, offers_for
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result
from tfguard.scan.runner import scan

DEFAULT_ROOT = "/work/shared/corpora"


@dataclass
class Tally:
    failed: int = 0
    through_module_call: int = 0  # resource reported through a module call: fixed in the module, not here
    offered: int = 0
    verified: int = 0
    failures: list[str] = field(default_factory=list)
    by_check: Counter[str] = field(default_factory=Counter)
    offered_by_check: Counter[str] = field(default_factory=Counter)


def _results(engine: Engine, f: Finding, graph: bool) -> list[Finding]:
    if graph:
        fa = engine.analyze_module(os.path.dirname(f.file)).get(f.file)
        return fa.findings if fa is not None else []
    return engine.analyze_file(f.file).findings


def _verify(f: Finding) -> tuple[bool, str]:
    engine = Engine(os.path.dirname(f.file))
    tier1 = _results(engine, f, False)
    graph = not any(x.check_id == f.check_id and x.resource == f.resource for x in tier1)
    before = {(x.check_id, x.resource) for x in (_results(engine, f, True) if graph else tier1)
              if x.result is Result.FAILED}
    offer = next(o for o in offers_for(f, engine) if o.kind == "local")
    text, _ = engine.read(f.file)
    assert text is not None
    edits = build_edits(offer, f, engine)
    new = apply_text_edits(text, edits)
    engine.set_overlay(f.file, new)
    problems = [p for p in engine.analyze_file(f.file).problems if p.code == "syntax"]
    if problems:
        return False, f"syntax: {problems[0].message}"
    after = _results(engine, f, graph)
    got = {x.result for x in after if x.check_id == f.check_id and x.resource == f.resource}
    if got != {Result.PASSED}:
        return False, f"check result after fix: {sorted(r.value for r in got)}"
    new_failed = {(x.check_id, x.resource) for x in after if x.result is Result.FAILED} - before
    if new_failed:
        return False, f"new failures: {sorted(new_failed)}"
    if build_edits(offer, f, engine):
        return False, "not idempotent"
    return True, ""


def measure(corpus: str) -> Tally:
    t = Tally()
    engine = Engine(corpus)
    report = scan(engine, [corpus])
    for f in report.findings:
        if f.result is not Result.FAILED or f.source not in ("checkov", "graph"):
            continue
        t.failed += 1
        t.by_check[f.check_id] += 1
        if f.resource.startswith("module."):
            t.through_module_call += 1
            continue
        if not any(o.kind == "local" for o in offers_for(f, engine)):
            continue
        t.offered += 1
        t.offered_by_check[f.check_id] += 1
        ok, why = _verify(f)
        if ok:
            t.verified += 1
        else:
            t.failures.append(f"{f.check_id} {os.path.relpath(f.file, corpus)} {f.resource}: {why}")
    return t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("corpora", nargs="*")
    p.add_argument("--json", metavar="OUT")
    args = p.parse_args(argv)
    corpora = args.corpora or sorted(
        os.path.join(DEFAULT_ROOT, d) for d in os.listdir(DEFAULT_ROOT) if os.path.isdir(os.path.join(DEFAULT_ROOT, d))
    )
    out = {}
    total = Tally()
    print(f"{'corpus':28} {'failed':>7} {'via module call':>16} {'fix offered':>12} {'fix verified':>13}")
    for c in corpora:
        start = time.monotonic()
        t = measure(os.path.abspath(c))
        name = os.path.basename(os.path.normpath(c))
        print(f"{name:28} {t.failed:7} {t.through_module_call:16} {t.offered:12} {t.verified:13}"
              f"   ({time.monotonic() - start:.0f} s)")
        for line in t.failures:
            print(f"    not verified: {line}")
        out[name] = {"failed": t.failed, "through_module_call": t.through_module_call, "offered": t.offered,
                     "verified": t.verified, "not_verified": t.failures,
                     "offered_by_check": dict(t.offered_by_check.most_common())}
        total.failed += t.failed
        total.through_module_call += t.through_module_call
        total.offered += t.offered
        total.verified += t.verified
    print(f"{'total':28} {total.failed:7} {total.through_module_call:16} {total.offered:12} {total.verified:13}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)
    return 0 if total.offered == total.verified else 1


if __name__ == "__main__":
    sys.exit(main())
