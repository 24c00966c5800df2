"""What the fix tests of one kind share: write a module, find a failed finding, offers, apply, results.

Used by the tests of the tail fixes (test_fixes_tail.py, test_fixes_gcp_tail.py, test_fixes_tail8.py):
each looks at what the user gets from a fix (its text, choices, refused values) and at Checkov's verdict
afterwards, tier 1 for an entity check, the module's run (tier 2) for a graph check.
"""

from __future__ import annotations

from pathlib import Path

from tfguard.engine import Engine
from tfguard.fixes import FixOffer, build_edits, offers_for
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result


def write(tmp_path: Path, text: str, name: str = "main.tf") -> Path:
    """``text`` as ``name`` in the module folder ``tmp_path/mod``."""
    d = tmp_path / "mod"
    d.mkdir(exist_ok=True)
    path = d / name
    path.write_text(text)
    return path


def graph(engine: Engine, path: Path) -> list[Finding]:
    """The findings of the module's run (tier 2: entity and graph checks) for ``path``."""
    fa = engine.analyze_module(str(path.parent)).get(str(path))
    assert fa is not None
    return fa.findings


def failing(engine: Engine, path: Path, check_id: str, resource: str | None = None) -> Finding:
    """The first FAILED finding of ``check_id`` (of ``resource`` when given): tier 1's, else the module run's."""
    for findings in (engine.analyze_file(str(path)).findings, graph(engine, path)):
        for f in findings:
            if f.check_id == check_id and f.result is Result.FAILED and resource in (None, f.resource):
                return f
    raise AssertionError(f"{check_id} does not fail in {path}")


def result(engine: Engine, path: Path, check_id: str, resource: str) -> set[Result]:
    """The check's result for the resource: tier 1 for an entity check, the module's run for a graph one."""
    tier1 = {f.result for f in engine.analyze_file(str(path)).findings
             if f.check_id == check_id and f.resource == resource and f.source == "checkov"}
    return tier1 or {f.result for f in graph(engine, path) if f.check_id == check_id and f.resource == resource}


def failed(engine: Engine, path: Path) -> set[tuple[str, str]]:
    """Every FAILED finding of the module's run."""
    return {(f.check_id, f.resource) for f in graph(engine, path) if f.result is Result.FAILED}


def offers(engine: Engine, f: Finding, kinds: tuple[str, ...] = ("local",)) -> list[FixOffer]:
    """The fixes offered for ``f`` of those kinds (not suppressions, not guidelines)."""
    return [o for o in offers_for(f, engine) if o.kind in kinds]


def apply(engine: Engine, path: Path, offer: FixOffer, f: Finding, value: str | None = None) -> str:
    """Apply ``offer`` (with the typed or chosen ``value``) as the editor would; the new text is the overlay."""
    text = engine.read(str(path))[0]
    if text is None:
        text = path.read_text()
    edits = build_edits(offer, f, engine, value=value)
    assert edits, f"no edit for {offer.id} with {value!r}"
    new = apply_text_edits(text, edits)
    engine.set_overlay(str(path), new)
    return new
