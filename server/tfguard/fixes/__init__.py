"""Quick fixes: verified local fixes, the approved module, pinned sources, justified suppressions.

Pure: no pygls or lsprotocol here. The language server turns :class:`FixOffer` into code actions
(``offers_for`` when asked for actions, ``build_edits`` in ``codeAction/resolve``) and
``fix_all_edits`` into ``source.fixAll.tfguard``.

Every local fix is registered by check id in :mod:`tfguard.fixes.registry` (a second
registration for an id is an error) and has a fixture in ``tests/fixtures/fixes/<check id>/``
on which a test applies it, re-runs Checkov and asserts the check now passes.

An offer is made only when the fix really changes the file: building a fix on text where the
check already holds yields no edit, so offers disappear once applied.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tfguard.fixes import aws as _aws  # noqa: F401  (registers the AWS fixes)
from tfguard.fixes import azure as _azure  # noqa: F401
from tfguard.fixes import gcp as _gcp  # noqa: F401
from tfguard.fixes.modules import (
    entry_for_call,
    module_source,
    plan_pin,
    plan_replacement,
    source_and_version,
)
from tfguard.fixes.registry import REGISTRY, DuplicateFixError, LocalFix, register
from tfguard.fixes.suppress import SUPPRESS_PLACEHOLDER, clean_reason, plan_suppress
from tfguard.fixes.textops import address_parts, apply, diff_edits, find_block, run_steps
from tfguard.hcl.blocks import Block, split_blocks
from tfguard.model import Finding, Result, TextEdit

if TYPE_CHECKING:
    from tfguard.catalogue import Catalogue
    from tfguard.engine import Engine

__all__ = [
    "MODULE_RULE",
    "PIN_RULES",
    "SUPPRESS_PLACEHOLDER",
    "DuplicateFixError",
    "FixOffer",
    "LocalFix",
    "REGISTRY",
    "build_edits",
    "fix_all_edits",
    "is_fixable",
    "offers_for",
    "register",
    "registered_check_ids",
]

MODULE_RULE = "TFG_MOD_4"  # raw resource that an approved module replaces
PIN_RULES = frozenset({"TFG_MOD_1", "TFG_MOD_2", "TFG_MOD_3"})  # unapproved source, unpinned, out of range


def is_fixable(f: Finding) -> bool:
    """Whether a quick fix (other than suppression) may exist for this finding."""
    return f.check_id in REGISTRY or f.check_id == MODULE_RULE or f.check_id in PIN_RULES


@dataclass(frozen=True)
class FixOffer:
    id: str  # stable: "local:CKV_AWS_20", "module:s3-bucket", "pin:s3-bucket", "suppress:CKV_AWS_20"
    title: str  # names the check: "Fix CKV_AWS_20: set acl to \"private\""
    check_id: str
    kind: str  # local | module | pin | suppress
    preferred: bool
    safe: bool  # included in source.fixAll.tfguard


def registered_check_ids() -> list[str]:
    """Check ids that have a local fix, sorted."""
    return sorted(REGISTRY)


# ----------------------------------------------------------------------------- helpers


def _target(finding: Finding, text: str) -> tuple[str, tuple[str, ...], Block] | None:
    parts = address_parts(finding.resource, finding.block_type)
    if parts is None:
        return None
    kind, labels = parts
    block = find_block(split_blocks(text).blocks, kind, labels, finding.line_range[0])
    if block is None:
        return None
    return kind, labels, block


def _other_blocks(engine: Engine, path: str) -> list[Block]:
    """Blocks of the module's other files (for companions and name clashes)."""
    path = os.path.abspath(path)
    out: list[Block] = []
    for f in engine.module_files(os.path.dirname(path)):
        if os.path.abspath(f) != path and f.endswith((".tf", ".tofu")):
            out.extend(engine.state(f).split.blocks)
    return out


def _local_fix_for(finding: Finding, kind: str, labels: tuple[str, ...]) -> LocalFix | None:
    fix = REGISTRY.get(finding.check_id)
    if fix is None or fix.block_kind != kind or not labels or labels[0] not in fix.resource_types:
        return None
    return fix


def _local_text(fix: LocalFix, finding: Finding, text: str, others: list[Block]) -> str | None:
    target = _target(finding, text)
    if target is None:
        return None
    kind, labels, block = target
    steps = fix.plan(block, text)
    if steps is None:
        return None
    return run_steps(text, kind, labels, finding.line_range[0], steps, others)


def _module_text(entry: object, finding: Finding, text: str, others: list[Block]) -> str | None:
    target = _target(finding, text)
    if target is None:
        return None
    split = split_blocks(text)
    planned = plan_replacement(text, target[2], entry, [*split.blocks, *others])  # type: ignore[arg-type]
    return apply(text, [planned]) if planned is not None else None


def _pin_entry(finding: Finding, text: str, catalogue: Catalogue) -> tuple[Block, object] | None:
    target = _target(finding, text)
    if target is None or target[0] != "module":
        return None
    block = target[2]
    source = module_source(text, block)
    if source is None:
        return None
    entry = entry_for_call(catalogue, source, block.labels[0])
    return (block, entry) if entry is not None else None


def _suppress_text(finding: Finding, text: str, reason: str | None) -> str | None:
    target = _target(finding, text)
    if target is None:
        return None
    planned = plan_suppress(text, target[2], finding.check_id, reason)
    return apply(text, [planned]) if planned is not None else None


def _new_text(offer: FixOffer, finding: Finding, engine: Engine, text: str, catalogue: Catalogue | None,
              reason: str | None) -> str | None:
    if offer.kind == "local":
        target = _target(finding, text)
        fix = _local_fix_for(finding, target[0], target[1]) if target else None
        return _local_text(fix, finding, text, _other_blocks(engine, finding.file)) if fix else None
    if offer.kind == "module" and catalogue is not None:
        name = offer.id.split(":", 1)[1]
        entry = next((m for m in catalogue.modules if m.name == name), None)
        return _module_text(entry, finding, text, _other_blocks(engine, finding.file)) if entry else None
    if offer.kind == "pin" and catalogue is not None:
        found = _pin_entry(finding, text, catalogue)
        return plan_pin(text, found[0], found[1]) if found else None  # type: ignore[arg-type]
    if offer.kind == "suppress":
        return _suppress_text(finding, text, reason)
    return None


# ----------------------------------------------------------------------------- API


def offers_for(finding: Finding, engine: Engine, catalogue: Catalogue | None = None) -> list[FixOffer]:
    """The fixes that really change the file for ``finding`` (a FAILED result), best first."""
    if finding.result is not Result.FAILED or finding.source == "engine":
        return []
    text, _ = engine.read(finding.file)
    if text is None:
        return []
    target = _target(finding, text)
    if target is None:
        return []
    kind, labels, block = target
    offers: list[FixOffer] = []
    others: list[Block] | None = None
    fix = _local_fix_for(finding, kind, labels)
    if fix is not None:
        others = _other_blocks(engine, finding.file)
        new = _local_text(fix, finding, text, others)
        if new is not None and new != text:
            offers.append(FixOffer(f"local:{finding.check_id}", f"Fix {finding.check_id}: {fix.summary}",
                                   finding.check_id, "local", True, fix.safe))
    if catalogue is not None and kind == "resource":
        entry = catalogue.module_replacing(labels[0])
        if entry is not None and (finding.check_id == MODULE_RULE or finding.source != "org"):
            if others is None:
                others = _other_blocks(engine, finding.file)
            new = _module_text(entry, finding, text, others)
            if new is not None and new != text:
                offers.append(FixOffer(
                    f"module:{entry.name}",
                    f"Fix {finding.check_id}: use the approved module {entry.name} ({entry.source})",
                    finding.check_id, "module", finding.check_id == MODULE_RULE or not offers, False))
    if catalogue is not None and kind == "module" and finding.check_id in PIN_RULES:
        found = _pin_entry(finding, text, catalogue)
        if found is not None:
            new = plan_pin(text, found[0], found[1])  # type: ignore[arg-type]
            if new is not None and new != text:
                src, ver = source_and_version(found[1])  # type: ignore[arg-type]
                what = f"{src} {ver}" if ver else src
                offers.append(FixOffer(f"pin:{found[1].name}",  # type: ignore[attr-defined]
                                       f"Fix {finding.check_id}: use the approved source {what}",
                                       finding.check_id, "pin", True, False))
    new = _suppress_text(finding, text, None)
    if new is not None and new != text:
        offers.append(FixOffer(f"suppress:{finding.check_id}",
                               f"Suppress {finding.check_id} for {block.address} (with a justification)",
                               finding.check_id, "suppress", False, False))
    return offers


def build_edits(offer: FixOffer, finding: Finding, engine: Engine, catalogue: Catalogue | None = None,
                reason: str | None = None) -> list[TextEdit]:
    """Edits to the current text of ``finding.file`` (``engine.read``) carrying out ``offer``.

    Empty when the fix no longer applies (the check already holds, the block is gone).
    ``reason`` is the justification of a suppression (the placeholder when None).
    """
    text, _ = engine.read(finding.file)
    if text is None:
        return []
    new = _new_text(offer, finding, engine, text, catalogue, clean_reason(reason) if offer.kind == "suppress"
                    else reason)
    if new is None:
        return []
    return diff_edits(text, new)


def fix_all_edits(path: str, findings: list[Finding], engine: Engine) -> list[TextEdit]:
    """Every safe local fix for the FAILED findings of ``path``, as one list of non-overlapping edits.

    Fixes are applied one after the other to the text (each sees the previous ones, so two
    checks needing the same companion resource add it once), then diffed against the original.
    """
    path = os.path.abspath(path)
    text, _ = engine.read(path)
    if text is None:
        return []
    others = _other_blocks(engine, path)
    current = text
    seen: set[tuple[str, str]] = set()
    for finding in sorted(findings, key=lambda f: (f.line_range[0], f.check_id)):
        if finding.result is not Result.FAILED or os.path.abspath(finding.file) != path:
            continue
        key = (finding.check_id, finding.resource)
        if key in seen:
            continue
        seen.add(key)
        target = _target(finding, current)
        if target is None:
            continue
        fix = _local_fix_for(finding, target[0], target[1])
        if fix is None or not fix.safe:
            continue
        new = _local_text(fix, finding, current, others)
        if new is not None:
            current = new
    return diff_edits(text, current)
