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
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tfguard.calls import call_chain
from tfguard.files import is_inside
from tfguard.fixes import aws as _aws  # noqa: F401  (registers the AWS fixes)
from tfguard.fixes import azure as _azure  # noqa: F401
from tfguard.fixes import gcp as _gcp  # noqa: F401
from tfguard.fixes import gcp_tail as _gcp_tail  # noqa: F401
from tfguard.fixes import iam as _iam  # noqa: F401
from tfguard.fixes import replication as _replication  # noqa: F401
from tfguard.fixes import tail as _tail  # noqa: F401
from tfguard.fixes import tail8 as _tail8  # noqa: F401
from tfguard.fixes.call_companions import CallCompanion, companion_text, plan_call_companion
from tfguard.fixes.callers import InputFix, caller_text, calls_outermost, plan_input
from tfguard.fixes.lookups import VariableDefault, evaluated, plan_variable_default, variable_default_text
from tfguard.fixes.modules import (
    entry_for_call,
    module_source,
    plan_pin,
    plan_replacement,
    source_and_version,
)
from tfguard.fixes.pins import describe, is_commit, plan_commit_pin
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
    "edit_path",
    "example_value",
    "fix_all_edits",
    "is_fixable",
    "offers_for",
    "register",
    "registered_check_ids",
]

MODULE_RULE = "TFG_MOD_4"  # raw resource that an approved module replaces
PIN_RULES = frozenset({"TFG_MOD_1", "TFG_MOD_2", "TFG_MOD_3"})  # unapproved source, unpinned, out of range
COMMIT_RULE = "CKV_TF_1"  # module source not pinned to a commit hash
VERSION_RULE = "CKV_TF_2"  # module source without a version tag: a commit pin satisfies it too
COMMIT_PINNED = (COMMIT_RULE, VERSION_RULE)  # the module checks a commit pin fixes
COMMIT_OFFER = "pin:commit"
_SAMPLE_COMMIT = "0123456789abcdef0123456789abcdef01234567"  # an acceptable typed value (tests, benchmark)


def is_fixable(f: Finding) -> bool:
    """Whether a quick fix (other than suppression) may exist for this finding."""
    return f.check_id in REGISTRY or f.check_id in (MODULE_RULE, COMMIT_RULE) or f.check_id in PIN_RULES


@dataclass(frozen=True)
class FixOffer:
    id: str  # stable: "local:CKV_AWS_20", "module:s3-bucket", "pin:s3-bucket", "suppress:CKV_AWS_20"
    title: str  # names the check: "Fix CKV_AWS_20: set acl to \"private\""
    check_id: str
    kind: str  # local | input (at the module call) | module | pin | suppress
    preferred: bool
    safe: bool  # included in source.fixAll.tfguard
    value: str | None = None  # the choice this offer makes (one offer per choice), passed to build_edits
    prompt: str | None = None  # the fix needs a value the user types (build_edits(value=...)); None: it does not
    group: str | None = None  # offers that are choices of one fix share it (VS Code shows one quick pick)
    path: str | None = None  # the file the edits apply to, when not the finding's (a module call's caller)


def example_value(offer: FixOffer) -> str | None:
    """An acceptable typed value for an offer with a prompt (for tests and the coverage benchmark)."""
    if offer.prompt is None:
        return offer.value
    if offer.id == COMMIT_OFFER:
        return _SAMPLE_COMMIT
    fix = REGISTRY.get(offer.check_id)
    return fix.example if fix is not None else None


def edit_path(offer: FixOffer, finding: Finding) -> str:
    """The file ``build_edits`` edits for ``offer``: the finding's file, or the module call's caller."""
    return offer.path or finding.file


def registered_check_ids() -> list[str]:
    """Check ids that have a local fix, sorted."""
    return sorted(REGISTRY)


# ----------------------------------------------------------------------------- helpers

_INDEX = re.compile(r"\[[^\]]*\]$")


def _target(finding: Finding, text: str) -> tuple[str, tuple[str, ...], Block] | None:
    parts = address_parts(finding.resource, finding.block_type) or _in_module_parts(finding)
    if finding.check_id in COMMIT_PINNED and finding.block_type == "module":
        # Checkov names a module call by its label ("vpc"); through a call, module.a.b or
        # module.a.module.b: the call of b is a block of a's file, pinned there for every caller
        name = finding.resource.rsplit(".", 1)[-1]
        parts = ("module", (_INDEX.sub("", name),))
    if parts is None:
        return None
    kind, labels = parts
    blocks = split_blocks(text).blocks
    block = find_block(blocks, kind, labels, finding.line_range[0])
    if block is None and kind == "resource":
        # Checkov's runner names a data source without "data." (aws_availability_zones.available)
        block = find_block(blocks, "data", labels, finding.line_range[0])
        if block is None or block.start_line != finding.line_range[0]:
            return None
        kind = "data"
    if block is None:
        return None
    return kind, labels, block


def _in_module_parts(finding: Finding) -> tuple[str, tuple[str, ...]] | None:
    """Through a module call, for a fix made in the module's file (no caller can change it: ``in_module``)."""
    fix = REGISTRY.get(finding.check_id)
    chain = call_chain(finding.resource) if fix is not None and fix.in_module else None
    return address_parts(chain[1]) if chain is not None else None


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


def _local_text(fix: LocalFix, finding: Finding, text: str, others: list[Block],
                value: str | None = None) -> str | None:
    target = _target(finding, text)
    if target is None:
        return None
    kind, labels, block = target
    if value is not None and fix.plan_value is not None:
        steps = fix.plan_value(block, text, value)
    else:
        steps = fix.plan(block, text)
    if steps is None or not evaluated(finding.resource, block, steps):
        return None
    return run_steps(text, kind, labels, finding.line_range[0], steps, others)


def _choice_offers(fix: LocalFix, finding: Finding, text: str, block: Block,
                   others: list[Block]) -> list[FixOffer] | None:
    """One offer per choice (and one asking for a typed value); None when the fix needs no choice."""
    if fix.plan_value is None:
        return None
    split = split_blocks(text)
    options = fix.options(block, text, [*split.blocks, *others]) if fix.options is not None else []
    group = f"local:{finding.check_id}"
    offers: list[FixOffer] = []
    for label, value in options:
        new = _local_text(fix, finding, text, others, value)
        if new is not None and new != text:
            offers.append(FixOffer(group, f"Fix {finding.check_id}: {fix.summary}: {label}", finding.check_id,
                                   "local", not offers, False, value=value, group=group))
    example = _local_text(fix, finding, text, others, fix.example) if fix.example is not None else None
    if fix.prompt is not None and example is not None and example != text:  # it would change the file
        offers.append(FixOffer(group, f"Fix {finding.check_id}: {fix.summary} (type it)", finding.check_id,
                               "local", not offers, False, prompt=fix.prompt, group=group))
    if not options:
        return None if fix.prompt is None else offers  # the fallback, if any, comes first
    return offers


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
              reason: str | None, value: str | None = None) -> str | None:
    if offer.kind == "input":
        return _input_text(finding, engine, text, offer.path or finding.caller_file, value)
    if offer.id.startswith("default:"):
        default = _variable_default(finding, engine, value)
        return variable_default_text(text, default) if default is not None and default.path == offer.path else None
    if offer.id == COMMIT_OFFER:
        target = _target(finding, text)
        return plan_commit_pin(text, target[2], value or "") if target and value else None
    if offer.kind == "local":
        target = _target(finding, text)
        fix = _local_fix_for(finding, target[0], target[1]) if target else None
        return _local_text(fix, finding, text, _other_blocks(engine, finding.file), value) if fix else None
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


def _read_fn(engine: Engine) -> Callable[[str], str | None]:
    def read(path: str) -> str | None:
        return engine.read(path)[0]

    return read


Site = tuple[str, int, str]  # a module call a finding comes through: caller file, first line, resource address


def _call_sites(finding: Finding, engine: Engine) -> list[Site]:
    """The module calls a finding through a module call comes from, each with the resource's address
    through it (``module.b.aws_x.y`` for a merged caller ``module.b`` of ``module.a.aws_x.y``).

    Checkov's caller, and the merged callers of the editor's module-instance finding. A record that
    names none (graph checks) gets the calls of that name reaching the module
    (:meth:`tfguard.calls.CallIndex.through`); so does one whose call name several directories share:
    Checkov's graph of the whole tree merges those instances, and the caller it names is any of them.
    """
    chain = call_chain(finding.resource)
    rest = chain[1] if chain is not None else ""
    given: dict[Site, None] = {}
    if finding.caller_file is not None:
        line = finding.caller_line_range[0] if finding.caller_line_range else 0
        given[(finding.caller_file, line, finding.resource)] = None
    for file, first, _last, address in finding.callers:
        given[(file, first, f"{address}.{rest}" if address and rest else finding.resource)] = None
    # a nested call's record names its innermost caller: not a call the fix can be made at
    given = {s: None for s in given if calls_outermost(s[0], s[2], _read_fn(engine))}
    calls = getattr(engine, "calls", None)
    found = calls.through(finding.resource, os.path.dirname(os.path.abspath(finding.file))) if calls else ()
    if given and len(found) <= 1:
        return list(given)
    sites = dict(given)
    known = {(f, line) for f, line, _ in sites}
    sites.update(dict.fromkeys((c.caller_file, c.line, finding.resource) for c in found
                               if (c.caller_file, c.line) not in known))
    return sorted(sites)


def _input_fix(finding: Finding, engine: Engine, site: Site) -> InputFix | None:
    chain = call_chain(site[2])
    if chain is None:
        return None
    fix = REGISTRY.get(finding.check_id)
    parts = address_parts(chain[1])
    if fix is None or parts is None or parts[0] != fix.block_kind or parts[1][0] not in fix.resource_types:
        return None
    return plan_input(fix, site[2], finding.file, finding.line_range[0], site[0], _read_fn(engine))


def _input_text(finding: Finding, engine: Engine, caller: str, caller_file: str | None,
                value: str | None) -> str | None:
    """The caller's text with the input set at the call ``value`` names (its first line), or at the
    only call of ``caller_file`` the finding comes through."""
    sites = [s for s in _call_sites(finding, engine) if s[0] == caller_file]
    if value is not None and value.isdigit():
        sites = [s for s in sites if s[1] == int(value)]
    if len(sites) != 1:
        return None
    fix = _input_fix(finding, engine, sites[0])
    if fix is None:  # else a companion next to the call, wired by the module's output (call_companions.py)
        comp = _call_companion(finding, engine, sites[0])
        return companion_text(caller, comp, sites[0][1], _read_fn(engine), sites[0][0]) if comp else None
    return caller_text(caller, fix, sites[0][1])


def _call_companion(finding: Finding, engine: Engine, site: Site) -> CallCompanion | None:
    fix = REGISTRY.get(finding.check_id)
    chain = call_chain(site[2])
    parts = address_parts(chain[1]) if chain is not None else None
    if fix is None or parts is None or parts[0] != fix.block_kind or parts[1][0] not in fix.resource_types:
        return None
    return plan_call_companion(fix, site[2], finding.file, finding.line_range[0], site[0], _read_fn(engine))


def _call_companion_offers(finding: Finding, engine: Engine, site: Site, several: bool,
                           preferred: bool) -> list[FixOffer]:
    """The companion resource added next to the call ``site`` (kind ``input``: edits on the caller)."""
    comp = _call_companion(finding, engine, site)
    caller, _ = engine.read(site[0])
    if comp is None or caller is None:
        return []
    new = companion_text(caller, comp, site[1], _read_fn(engine), site[0])
    if new is None or new == caller:
        return []
    d, root = os.path.dirname(site[0]), engine.root
    where = f" in {os.path.relpath(d, root) if root and is_inside(d, root) else d}" if several else ""
    local = REGISTRY[finding.check_id]
    return [FixOffer(f"input:{finding.check_id}",
                     f'Fix {finding.check_id} at the call of module "{comp.call}"{where}: {local.summary} '
                     f"({_ref_attr(comp)} = {comp.ref})",
                     finding.check_id, "input", preferred, local.safe, value=str(site[1]), path=site[0])]


def _ref_attr(comp: CallCompanion) -> str:
    """The companion's attribute that takes the reference (``bucket``)."""
    return next((line.split("=")[0].strip() for line in comp.body if "{ref}" in line), "ref")


def _input_offers(finding: Finding, engine: Engine) -> list[FixOffer]:
    """A finding reported through module calls: for each call it comes from, the input of that call
    that fixes it, if one does (several calls: one offer each, naming the caller's directory; the
    offer's ``value`` is the call's first line)."""
    sites = _call_sites(finding, engine)
    offers: list[FixOffer] = []
    for site in sites:
        caller_file, line, _resource = site
        fix = _input_fix(finding, engine, site)
        if fix is None:
            offers.extend(_call_companion_offers(finding, engine, site, len(sites) > 1, not offers))
            continue
        caller, _ = engine.read(caller_file)
        if caller is None:
            continue
        new = caller_text(caller, fix, line)
        if new is None or new == caller:
            continue
        local = REGISTRY[finding.check_id]
        where = ""
        if len(sites) > 1:
            d = os.path.dirname(caller_file)
            root = engine.root
            where = f" in {os.path.relpath(d, root) if root and is_inside(d, root) else d}"
        offers.append(FixOffer(f"input:{finding.check_id}",
                               f'Fix {finding.check_id} at the call of module "{fix.call}"{where}: '
                               f"set {fix.what}",
                               finding.check_id, "input", not offers, local.safe, value=str(line),
                               path=caller_file))
    return offers


def _variable_default(finding: Finding, engine: Engine, value: str | None = None) -> VariableDefault | None:
    """The variable whose default decides the fix's attribute in the module's own run (fixes/lookups.py);
    for a fix that needs a typed value, the default the typed ``value`` gives (None without one)."""
    text, _ = engine.read(finding.file)
    target = _target(finding, text) if text is not None else None
    fix = _local_fix_for(finding, target[0], target[1]) if target is not None else None
    if text is None or target is None or fix is None:
        return None
    if fix.plan_value is not None:
        if fix.prompt is None or value is None:
            return None  # choices of the module's own resources are not defaults for every caller
        steps = fix.plan_value(target[2], text, value)
    else:
        steps = fix.plan(target[2], text)
    d = os.path.dirname(os.path.abspath(finding.file))
    files = [f for f in engine.module_files(d) if f.endswith(".tf")]
    files += sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".tfvars"))
    return plan_variable_default(steps, text, target[2], [(f, engine.read(f)[0]) for f in files])


def _default_offers(finding: Finding, engine: Engine) -> list[FixOffer]:
    """The fix as the default of the variable the module's block passes (``x = var.NAME``); a fix that
    needs a typed value (cluster labels, a namespace) asks for it, checked with its example."""
    fix = REGISTRY.get(finding.check_id)
    typed = fix is not None and fix.plan_value is not None
    found = _variable_default(finding, engine, fix.example if fix is not None and typed else None)
    if found is None:
        return []
    text, _ = engine.read(found.path)
    new = variable_default_text(text, found) if text is not None else None
    if new is None or new == text:
        return []
    offer_id = f"default:{finding.check_id}"
    if typed and fix is not None:
        return [FixOffer(offer_id, f"Fix {finding.check_id}: {fix.summary}: type the default of var.{found.name} "
                         "(for every caller that does not set it)", finding.check_id, "local", True, False,
                         prompt=fix.prompt, group=offer_id, path=found.path)]
    return [FixOffer(offer_id,
                     f"Fix {finding.check_id}: set the default of var.{found.name} to {found.value} "
                     "(for every caller that does not set it)",
                     finding.check_id, "local", True, False, path=found.path)]


def _commit_offers(finding: Finding, text: str, block: Block, catalogue: Catalogue | None) -> list[FixOffer]:
    """CKV_TF_1 (and CKV_TF_2): the approved catalogue's commit when it has one, else a commit hash the user
    types."""
    rule = finding.check_id
    offers: list[FixOffer] = []
    if catalogue is not None:
        found = _pin_entry(finding, text, catalogue)
        if found is not None and is_commit(getattr(found[1], "pin", None)):
            new = plan_pin(text, found[0], found[1])  # type: ignore[arg-type]
            if new is not None and new != text:
                src, _ = source_and_version(found[1])  # type: ignore[arg-type]
                offers.append(FixOffer(f"pin:{found[1].name}",  # type: ignore[attr-defined]
                                       f"Fix {rule}: use the approved catalogue's pin {src}",
                                       rule, "pin", True, False))
    what = describe(text, block)
    sample = plan_commit_pin(text, block, _SAMPLE_COMMIT)
    if what is not None and sample is not None and sample != text:
        offers.append(FixOffer(COMMIT_OFFER, f"Fix {rule}: pin to the commit of {what} (type the hash)",
                               rule, "pin", not offers, False,
                               prompt=f"Commit hash (40 hex digits) of {what}", group=COMMIT_OFFER))
    return offers


# ----------------------------------------------------------------------------- API


def offers_for(finding: Finding, engine: Engine, catalogue: Catalogue | None = None) -> list[FixOffer]:
    """The fixes that really change the file for ``finding`` (a FAILED result), best first."""
    if finding.result is not Result.FAILED or finding.source == "engine":
        return []
    text, _ = engine.read(finding.file)
    if text is None:
        return []
    target = _target(finding, text)
    if target is None or (target[0] != "module" and finding.resource.startswith("module.")):
        inputs = _input_offers(finding, engine)  # an input of the call first, else the module's file (in_module)
        if target is None or inputs:
            return inputs
    kind, labels, block = target
    offers: list[FixOffer] = []
    if finding.check_id in COMMIT_PINNED and kind == "module":
        offers.extend(_commit_offers(finding, text, block, catalogue))
    others: list[Block] | None = None
    fix = _local_fix_for(finding, kind, labels)
    if fix is not None:
        others = _other_blocks(engine, finding.file)
        chosen = _choice_offers(fix, finding, text, block, others)
        if chosen is None or fix.options is None or not any(o.value for o in chosen):
            new = _local_text(fix, finding, text, others)
            if new is not None and new != text:
                offers.append(FixOffer(f"local:{finding.check_id}", f"Fix {finding.check_id}: {fix.summary}",
                                       finding.check_id, "local", True, fix.safe))
        offers.extend(o if not offers else replace(o, preferred=False) for o in chosen or [])
        if not offers and fix.in_module and not finding.resource.startswith("module."):
            offers.extend(_default_offers(finding, engine))
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
    if finding.resource.startswith("module.") and kind != "module":  # the module's own file: every caller
        for_all = "restricts the statement" if fix is not None and "statement" in fix.summary else "in the module"
        where = f"Fix {finding.check_id} ({for_all} for every caller):"  # kept in a group's title
        return [replace(o, title=o.title.replace(f"Fix {finding.check_id}:", where, 1))
                for o in offers if o.kind == "local"]
    new = _suppress_text(finding, text, None)
    if new is not None and new != text:
        offers.append(FixOffer(f"suppress:{finding.check_id}",
                               f"Suppress {finding.check_id} for {block.address} (with a justification)",
                               finding.check_id, "suppress", False, False))
    return offers


def build_edits(offer: FixOffer, finding: Finding, engine: Engine, catalogue: Catalogue | None = None,
                reason: str | None = None, value: str | None = None) -> list[TextEdit]:
    """Edits to the current text of ``edit_path(offer, finding)`` (``engine.read``) carrying out ``offer``.

    Empty when the fix no longer applies (the check already holds, the block is gone), or when it
    needs a value (``offer.prompt``) and ``value`` is missing or not acceptable.
    ``reason`` is the justification of a suppression (the placeholder when None); ``value`` the
    user's choice or typed value (``offer.value`` when None).
    """
    text, _ = engine.read(edit_path(offer, finding))
    if text is None:
        return []
    new = _new_text(offer, finding, engine, text, catalogue, clean_reason(reason) if offer.kind == "suppress"
                    else reason, value if value is not None else offer.value)
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
