"""Approved modules: TFG_MOD_1 (unapproved source), TFG_MOD_2 (unpinned), TFG_MOD_3 (version outside
the approved range), TFG_MOD_4 (raw resource that an approved module replaces)."""

from __future__ import annotations

import os
import re

from tfguard.catalogue import (
    ApprovedModule,
    Catalogue,
    exact_version,
    lowest_allowed,
    parse_constraint,
    parse_source,
    parse_version,
    version_matches,
)
from tfguard.engine import BlockContext
from tfguard.model import Finding, Severity
from tfguard.rules.base import OrgRule, RuleEnv, body_of, first

_COMMIT = re.compile(r"^[0-9a-f]{7,40}$", re.IGNORECASE)


def _module_call(ctx: BlockContext) -> tuple[str, str | None] | None:
    """``(source, version)`` of a module block with a literal source."""
    if ctx.block.kind != "module":
        return None
    got = body_of(ctx)
    if got is None:
        return None
    source = first(got[2].get("source"))
    if not isinstance(source, str) or "${" in source:
        return None
    version = first(got[2].get("version"))
    return source, (str(version) if version is not None else None)


def _catalogue(ctx: BlockContext, env: RuleEnv) -> Catalogue | None:
    return env.catalogue_for(env.config_for(ctx.file))


def _cat_name(cat: Catalogue) -> str:
    return os.path.basename(cat.path) if cat.path else "the catalogue"


def unapproved_source(source_text: str, cat: Catalogue | None) -> tuple[str, str] | None:
    """TFG_MOD_1 on a module call's literal source: ``(message, evaluated key)``, or None when approved."""
    if cat is None or cat.is_approved(source_text):
        return None
    source = parse_source(source_text)
    names = ", ".join(m.name for m in cat.modules[:5])
    hint = f" Approved modules include: {names}." if names else ""
    return (f"Module source '{source.base}' is not in the approved-module catalogue ({_cat_name(cat)}): "
            f"use an approved module, or ask SecOps to add this one.{hint}", "source")


def check_unapproved_source(rule: OrgRule, ctx: BlockContext, env: RuleEnv) -> list[Finding]:
    call = _module_call(ctx)
    if call is None:
        return []
    got = unapproved_source(call[0], _catalogue(ctx, env))
    return [] if got is None else [rule.finding(ctx, got[0], (got[1],))]


def _pin_hint(entry: ApprovedModule | None, kind: str) -> str:
    if entry is None or not entry.pin:
        return ""
    return f' (approved pin: {"?ref=" if kind == "git" else "version = "}{entry.pin})'


def unpinned(source_text: str, version: str | None, cat: Catalogue | None) -> tuple[str, str] | None:
    """TFG_MOD_2 on a module call's source and version: ``(message, evaluated key)``, or None when pinned."""
    source = parse_source(source_text)
    entry = cat.module_for_source(source_text) if cat is not None else None
    if source.kind == "registry" and not version:
        return (f"Registry module '{source.base}' has no version: any release would be used. "
                f"Pin it with a version argument{_pin_hint(entry, 'registry')}.", "source")
    if source.kind == "git":
        ref = source.ref
        if not ref:
            return (f"Git module '{source.base}' has no ?ref=: it follows the default branch. "
                    f"Pin it to a release tag or commit{_pin_hint(entry, 'git')}.", "source")
        if parse_version(ref) is None and not _COMMIT.match(ref):
            return (f"Git module '{source.base}' is pinned to ref '{ref}', which is not a release tag or a "
                    f"commit (a branch moves): pin a tag or commit{_pin_hint(entry, 'git')}.", "source")
    return None


def check_unpinned(rule: OrgRule, ctx: BlockContext, env: RuleEnv) -> list[Finding]:
    call = _module_call(ctx)
    if call is None:
        return []
    got = unpinned(call[0], call[1], _catalogue(ctx, env))
    return [] if got is None else [rule.finding(ctx, got[0], (got[1],))]


def outside_range(source_text: str, version: str | None, cat: Catalogue | None) -> tuple[str, str] | None:
    """TFG_MOD_3 on a catalogued module call: ``(message, evaluated key)``, or None when admitted."""
    if cat is None:
        return None
    entry = cat.module_for_source(source_text)
    if entry is None or not entry.version:
        return None
    source = parse_source(source_text)
    if source.kind == "git":
        if not source.ref or parse_version(source.ref) is None:
            return None  # unpinned or a commit: TFG_MOD_2's business, or nothing to compare
        used, key = source.ref, "source"
        ok = version_matches(source.ref, entry.version)
    else:
        if not version:
            return None
        used, key = version, "version"
        try:
            exact = exact_version(version)
            if exact is not None:
                ok = version_matches(exact, entry.version)
            else:
                low = lowest_allowed(version)
                parse_constraint(version)
                ok = low is not None and version_matches(low, entry.version)
        except ValueError:
            ok = False
    if ok:
        return None
    pin = f"; use {entry.pin}" if entry.pin else ""
    return f"Module '{entry.name}' version '{used}' is outside the approved range '{entry.version}'{pin}.", key


def check_version_range(rule: OrgRule, ctx: BlockContext, env: RuleEnv) -> list[Finding]:
    call = _module_call(ctx)
    if call is None:
        return []
    got = outside_range(call[0], call[1], _catalogue(ctx, env))
    return [] if got is None else [rule.finding(ctx, got[0], (got[1],))]


def check_raw_resource(rule: OrgRule, ctx: BlockContext, env: RuleEnv) -> list[Finding]:
    if ctx.block.kind != "resource" or not ctx.block.labels:
        return []
    cat = _catalogue(ctx, env)
    if cat is None:
        return []
    rtype = ctx.block.labels[0]
    entry = cat.module_replacing(rtype)
    if entry is None:
        return []
    version = entry.pin or entry.version or "latest"
    what = f" ({entry.description})" if entry.description else ""
    return [rule.finding(
        ctx,
        f"Use the approved module '{entry.name}'{what} instead of a raw {rtype}: "
        f"source {entry.source}, version {version}.",
    )]


RULES = (
    OrgRule("TFG_MOD_1", "Module source is not in the approved-module catalogue", Severity.HIGH,
            "A module call whose source is neither in the catalogue, nor under an allowed source prefix, "
            "nor a local path.", check_unapproved_source),
    OrgRule("TFG_MOD_2", "Module source is not pinned to a version", Severity.MEDIUM,
            "A registry module without a version argument, or a git module without a ?ref= that names a "
            "release tag or a commit.", check_unpinned),
    OrgRule("TFG_MOD_3", "Module version is outside the approved range", Severity.MEDIUM,
            "A catalogued module called with a version (or git tag) the catalogue's constraint does not "
            "admit.", check_version_range),
    OrgRule("TFG_MOD_4", "Use the approved module instead of a raw resource", Severity.LOW,
            "A raw resource of a type for which the catalogue names an approved module.", check_raw_resource),
)
