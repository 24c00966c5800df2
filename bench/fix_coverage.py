"""How many failed checks get a fix offered, and for how many the fix verifiably passes.

Usage: nice .venv/bin/python bench/fix_coverage.py [CORPUS_DIR ...] [--json OUT] [--count-only]
(default: every directory under /work/shared/corpora). Public module repositories are passed by
path (extracted trees, never copied into this repository; docs/fixes.md names them and their commits).

For every FAILED Checkov finding of ``tfguard scan``-equivalent analysis (``scan``), ask
``offers_for`` for a fix that is not a suppression: a local fix on the block, a fix at the module
call (the input that drives the value), or a source pin. For each offered fix, apply
``build_edits`` as an unsaved overlay (with the first choice, or a sample commit hash for a value
the user types), re-run the engine (tier 1 for entity checks on local blocks, tier 2 on the
directory for graph checks and for fixes at a module call) and count the fix as verified when the
check now PASSES for that resource, the file has no syntax problem, no new FAILED finding appeared,
and building the fix again yields no edit.

Reports coverage (verified fixes / failed findings) in total, by provider and by check, and the
ranking of failed checks by frequency (``--count-only`` stops there: no verification).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from tfguard import fixes as _fixes
from tfguard.engine import Engine
from tfguard.fixes import FixOffer, offers_for
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result, TextEdit
from tfguard.scan.runner import scan

DEFAULT_ROOT = "/work/shared/corpora"


def build_edits(offer: FixOffer, f: Finding, engine: Engine, value: str | None = None) -> list[TextEdit]:
    # without a value, the call an older tfguard understands too (--before: PYTHONPATH=<old tree>/server)
    return _fixes.build_edits(offer, f, engine, value=value) if value is not None else \
        _fixes.build_edits(offer, f, engine)


def example_value(offer: FixOffer) -> str | None:
    fn = getattr(_fixes, "example_value", None)
    return fn(offer) if fn is not None else None
FIX_KINDS = ("local", "input", "pin")


def provider(check_id: str) -> str:
    """The provider of a check id: aws, azure, gcp, terraform (module checks), other."""
    for key in ("AWS", "AZURE", "GCP"):
        if f"_{key}_" in check_id:
            return key.lower()
    return "terraform" if "_TF_" in check_id else "other"


@dataclass
class Tally:
    failed: Counter[str] = field(default_factory=Counter)  # by check id
    via_module: Counter[str] = field(default_factory=Counter)
    offered: Counter[str] = field(default_factory=Counter)
    verified: Counter[str] = field(default_factory=Counter)
    offered_kind: Counter[str] = field(default_factory=Counter)
    verified_kind: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("failed", "via_module", "offered", "verified", "offered_kind", "verified_kind"):
            getattr(self, name).update(getattr(other, name))
        self.failures.extend(other.failures)


def _results(engine: Engine, path: str, graph: bool) -> list[Finding]:
    if graph:
        fa = engine.analyze_module(os.path.dirname(path)).get(path)
        return fa.findings if fa is not None else []
    return engine.analyze_file(path).findings


def _call_results(engine: Engine, directory: str) -> set[tuple[str, str, str, str]]:
    """Every result of Checkov's run on ``directory`` (current text), called modules' resources included."""
    return {(r.check_id, r.resource, os.path.realpath(r.file), str(r.result))
            for r in engine.module_run(directory).records}


def _same(x: Finding, f: Finding) -> bool:
    return x.check_id == f.check_id and x.resource == f.resource and x.file == f.file


def _edit_file(offer: FixOffer, f: Finding) -> str:
    return getattr(offer, "path", None) or f.file


def _verify(f: Finding, offer: FixOffer, value: str | None, root: str) -> tuple[bool, str]:
    target = _edit_file(offer, f)
    # rooted where the user's workspace would be: a run with unsaved text mirrors the tree under the
    # root, and the called modules (../../modules/x) must be in it
    engine = Engine(root)
    if offer.kind == "input" or f.resource.startswith("module."):
        return _verify_through_call(f, offer, value, engine, target)
    tier1 = _results(engine, f.file, False)
    # a fix in another file of the module (a variable's default): only the module's run (tier 2, what the
    # editor and the scan report) reads that file
    graph = target != f.file or not any(_same(x, f) for x in tier1)
    before = {(x.check_id, x.resource) for x in (_results(engine, f.file, True) if graph else tier1)
              if x.result is Result.FAILED}
    text, _ = engine.read(target)
    assert text is not None
    edits = build_edits(offer, f, engine, value=value)
    if not edits:
        return False, "no edit"
    engine.set_overlay(target, apply_text_edits(text, edits))
    problems = [p for p in engine.analyze_file(target).problems if p.code == "syntax"]
    if problems:
        return False, f"syntax: {problems[0].message}"
    after = _results(engine, f.file, graph)
    got = {x.result for x in after if _same(x, f)}
    if got != {Result.PASSED}:
        return False, f"check result after fix: {sorted(r.value for r in got)}"
    new_failed = {(x.check_id, x.resource) for x in after if x.result is Result.FAILED} - before
    if new_failed:
        return False, f"new failures: {sorted(new_failed)[:3]}"
    if build_edits(offer, f, engine, value=value):
        return False, "not idempotent"
    return True, ""


def _verify_through_call(f: Finding, offer: FixOffer, value: str | None, engine: Engine,
                         target: str) -> tuple[bool, str]:
    """A finding reported through a module call: the caller directory's whole run (tier 2) decides."""
    directory = os.path.dirname(target)
    if offer.kind == "local" and f.caller_file:  # a fix in the module's own file: the caller's run decides
        directory = os.path.dirname(f.caller_file)
    elif offer.kind == "local":  # a graph check's record names no caller: the call it comes through
        calls = getattr(engine, "calls", None)
        found = calls.through(f.resource, os.path.dirname(os.path.abspath(f.file))) if calls else ()
        if len(found) != 1:
            return False, f"{len(found)} calls to check the fix in"
        directory = os.path.dirname(found[0].caller_file)
    before = _call_results(engine, directory)
    text, _ = engine.read(target)
    assert text is not None
    edits = build_edits(offer, f, engine, value=value)
    if not edits:
        return False, "no edit"
    engine.set_overlay(target, apply_text_edits(text, edits))
    problems = [p for p in engine.analyze_file(target).problems if p.code == "syntax"]
    if problems:
        return False, f"syntax: {problems[0].message}"
    after = _call_results(engine, directory)
    real = os.path.realpath(f.file)
    resource = f.resource
    if offer.kind == "pin":  # a module call inside a module: pinned in, and checked by, that module's own run
        resource = f.resource.rsplit(".", 1)[-1]
    got = {r[3] for r in after if r[:3] == (f.check_id, resource, real)}
    if got != {"PASSED"}:
        return False, f"check result after fix: {sorted(got)}"
    failed = {r[:3] for r in after if r[3] == "FAILED"} - {r[:3] for r in before if r[3] == "FAILED"}
    if failed:
        return False, f"new failures: {sorted(failed)[:3]}"
    if build_edits(offer, f, engine, value=value):
        return False, "not idempotent"
    return True, ""


def _fix_offer(f: Finding, engine: Engine) -> tuple[FixOffer, str | None] | None:
    offers = [o for o in offers_for(f, engine) if o.kind in FIX_KINDS]
    if not offers:
        return None
    o = offers[0]
    return o, example_value(o)


def measure(corpus: str, verify: bool = True) -> Tally:
    t = Tally()
    engine = Engine(corpus)
    report = scan(engine, [corpus], cache_dir="", workers=1)
    for f in report.findings:
        if f.result is not Result.FAILED or f.source not in ("checkov", "graph"):
            continue
        t.failed[f.check_id] += 1
        if f.resource.startswith("module."):
            t.via_module[f.check_id] += 1
        if not verify:
            continue
        found = _fix_offer(f, engine)
        if found is None:
            continue
        offer, value = found
        t.offered[f.check_id] += 1
        t.offered_kind[offer.kind] += 1
        try:
            ok, why = _verify(f, offer, value, corpus)
        except Exception as exc:  # a crash of a fix is a failed verification, reported
            ok, why = False, f"error: {exc!r}"
        if ok:
            t.verified[f.check_id] += 1
            t.verified_kind[offer.kind] += 1
        else:
            t.failures.append(f"{f.check_id} {os.path.relpath(f.file, corpus)} {f.resource} [{offer.id}]: {why}")
    return t


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f} %" if b else "-"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("corpora", nargs="*")
    p.add_argument("--json", metavar="OUT")
    p.add_argument("--count-only", action="store_true", help="rank failed checks, verify nothing")
    p.add_argument("--top", type=int, default=40, help="checks listed in the ranking")
    args = p.parse_args(argv)
    corpora = args.corpora or sorted(
        os.path.join(DEFAULT_ROOT, d) for d in os.listdir(DEFAULT_ROOT) if os.path.isdir(os.path.join(DEFAULT_ROOT, d))
    )
    out: dict[str, object] = {}
    total = Tally()
    print(f"{'corpus':36} {'failed':>7} {'via call':>9} {'offered':>8} {'verified':>9} {'coverage':>9}")
    for c in corpora:
        start = time.monotonic()
        t = measure(os.path.abspath(c), verify=not args.count_only)
        name = os.path.basename(os.path.normpath(c))
        n_failed, n_ver = sum(t.failed.values()), sum(t.verified.values())
        print(f"{name:36} {n_failed:7} {sum(t.via_module.values()):9} {sum(t.offered.values()):8} {n_ver:9}"
              f" {_pct(n_ver, n_failed):>9}   ({time.monotonic() - start:.0f} s)", flush=True)
        for line in t.failures:
            print(f"    not verified: {line}")
        out[name] = {"failed": dict(t.failed), "via_module": dict(t.via_module), "offered": dict(t.offered),
                     "verified": dict(t.verified), "not_verified": t.failures,
                     "offered_kind": dict(t.offered_kind), "verified_kind": dict(t.verified_kind)}
        total.add(t)
        if args.json:  # after every corpus: a long run interrupted keeps what it measured
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(out, fh, indent=2)
    n_failed, n_off, n_ver = sum(total.failed.values()), sum(total.offered.values()), sum(total.verified.values())
    print(f"{'total':36} {n_failed:7} {sum(total.via_module.values()):9} {n_off:8} {n_ver:9}"
          f" {_pct(n_ver, n_failed):>9}")
    print(f"\nverified share of offered fixes: {_pct(n_ver, n_off)}; by kind: "
          + ", ".join(f"{k} {total.verified_kind[k]}/{total.offered_kind[k]}" for k in FIX_KINDS))
    print(f"\n{'provider':12} {'failed':>7} {'verified':>9} {'coverage':>9}")
    for prov in ("aws", "azure", "gcp", "terraform", "other"):
        pf = sum(n for c, n in total.failed.items() if provider(c) == prov)
        pv = sum(n for c, n in total.verified.items() if provider(c) == prov)
        print(f"{prov:12} {pf:7} {pv:9} {_pct(pv, pf):>9}")
    print(f"\n{'rank':>4} {'check':16} {'failed':>7} {'cum.':>6} {'via call':>9} {'verified':>9}")
    cum = 0
    for i, (check, n) in enumerate(total.failed.most_common(args.top), 1):
        cum += n
        print(f"{i:4} {check:16} {n:7} {_pct(cum, n_failed):>6} {total.via_module[check]:9} {total.verified[check]:9}")
    if args.json:
        out["total"] = {"failed": dict(total.failed), "via_module": dict(total.via_module),
                        "offered": dict(total.offered), "verified": dict(total.verified),
                        "offered_kind": dict(total.offered_kind), "verified_kind": dict(total.verified_kind)}
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)
    return 0 if n_off == n_ver else 1


if __name__ == "__main__":
    sys.exit(main())
