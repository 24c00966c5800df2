"""Tier 1: Checkov's entity check registries on one block, in milliseconds.

The conf handed to the checks is the block as Checkov's ``hcl2`` parses it, with the
module's variables (defaults) and literal locals substituted where an expression is just a
reference to them, and Checkov's ``__address__`` added. Checkov's graph renders more
(functions, data sources); tier 2 is the authoritative result and replaces tier 1's for a
module as soon as it has run.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache

from tfguard.checks import entity_cache
from tfguard.checks.checkov_env import checkov_checks, entity_policies
from tfguard.checks.errors import error_text
from tfguard.checks.skips import Skip

log = logging.getLogger(__name__)

ENTITY_BLOCK_TYPES = ("resource", "data", "provider", "module")


@dataclass(frozen=True)
class RawResult:
    """A check result independent of where the block sits in the file (cacheable)."""

    check_id: str
    check_name: str
    result: str  # FAILED | PASSED | SKIPPED
    evaluated_keys: tuple[str, ...]
    suppress_comment: str | None
    details: tuple[str, ...] = ()
    error: str | None = None  # set when the check raised: reported, never hides other checks


@dataclass(frozen=True)
class CheckSelection:
    """Which checks run: Checkov's ``--check`` / ``--skip-check`` semantics."""

    checks: tuple[str, ...] = ()
    skip_checks: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        return f"{','.join(self.checks)}|{','.join(self.skip_checks)}"


@dataclass(frozen=True)
class ModuleContext:
    """What a block of a module can refer to: variable defaults and locals (parsed confs)."""

    variables: dict[str, Any] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def digest(self) -> str:
        """Content hash (computed once per context)."""
        payload = json.dumps([self.variables, self.locals], sort_keys=True, default=str)
        return hashlib.blake2b(payload.encode(), digest_size=12).hexdigest()


_REF = re.compile(r"\$\{(var|local)\.([A-Za-z_][A-Za-z0-9_\-]*)\}")


def _lookup(ctx: ModuleContext, kind: str, name: str) -> tuple[bool, Any]:
    table = ctx.variables if kind == "var" else ctx.locals
    if name in table:
        return True, table[name]
    return False, None


def _render_value(value: Any, ctx: ModuleContext, depth: int = 0) -> Any:
    if depth > 8:
        return value
    if isinstance(value, str) and "${" in value:
        m = _REF.fullmatch(value)
        if m:
            found, v = _lookup(ctx, m.group(1), m.group(2))
            return _render_value(v, ctx, depth + 1) if found else value

        def sub(mm: re.Match[str]) -> str:
            found, v = _lookup(ctx, mm.group(1), mm.group(2))
            if found and isinstance(v, (str, int, float, bool)):
                return str(v).lower() if isinstance(v, bool) else str(v)
            return mm.group(0)

        return _REF.sub(sub, value)
    if isinstance(value, list):
        return [_render_value(v, ctx, depth) for v in value]
    if isinstance(value, dict):
        return {k: _render_value(v, ctx, depth) for k, v in value.items()}
    return value


def render_conf(conf: dict[str, Any], ctx: ModuleContext) -> dict[str, Any]:
    """Substitute variable defaults and literal locals in a block conf."""
    if not ctx.variables and not ctx.locals:
        return conf
    return {k: (v if k.startswith("__") else _render_value(v, ctx)) for k, v in conf.items()}


def module_context_from_confs(confs: list[dict[str, list[Any]]]) -> ModuleContext:
    """Collect variable defaults and locals from the merged confs of a module's files."""
    variables: dict[str, Any] = {}
    locals_: dict[str, Any] = {}
    for conf in confs:
        for var in conf.get("variable", []) or []:
            if not isinstance(var, dict):
                continue
            for name, body in var.items():
                if isinstance(body, dict) and "default" in body:
                    default = body["default"]
                    variables[name] = default[0] if isinstance(default, list) and default else default
        for loc in conf.get("locals", []) or []:
            if not isinstance(loc, dict):
                continue
            for name, value in loc.items():
                if name.startswith("__"):
                    continue
                locals_[name] = value[0] if isinstance(value, list) and len(value) == 1 else value
    return ModuleContext(variables=variables, locals=locals_)


def entity_of(block_type: str, conf: dict[str, list[Any]]) -> tuple[dict[str, Any], str] | None:
    """The entity dict Checkov's registries take for a parsed block, and its address."""
    items = conf.get(block_type)
    if not items or not isinstance(items, list) or not isinstance(items[0], dict):
        return None
    entity = items[0]
    try:
        if block_type in ("resource", "data"):
            rtype, objs = next(iter(entity.items()))
            name, body = next(iter(objs.items()))
            address = f"{rtype}.{name}" if block_type == "resource" else f"data.{rtype}.{name}"
            return {rtype: {name: body}}, address
        name, body = next(iter(entity.items()))
        address = f"module.{name}" if block_type == "module" else name
        return {name: body}, address
    except (StopIteration, AttributeError):
        return None


# Results of the entity checks per (block type, entity, module context, selection). Bounded LRU;
# size from $TFGUARD_CHECK_CACHE_SIZE (entries; measured about 0.6 KB each on the corpora), see docs/reliability.md.
DEFAULT_RESULTS_CACHE_SIZE = 50_000


def _env_size(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return max(1, value)


_results_cache: LRUCache[tuple[str, str, str, str], tuple[RawResult, ...]] = LRUCache(
    maxsize=_env_size("TFGUARD_CHECK_CACHE_SIZE", DEFAULT_RESULTS_CACHE_SIZE))
_cache_lock = threading.Lock()


def set_results_cache_size(maxsize: int) -> None:
    """Resize (and empty) the entity-results cache."""
    global _results_cache
    with _cache_lock:
        _results_cache = LRUCache(maxsize=max(1, maxsize))
        _priors.clear()


def results_cache_info() -> tuple[int, int]:
    """(entries, maxsize) of the entity-results cache."""
    return len(_results_cache), int(_results_cache.maxsize)


def _digest(obj: Any) -> str:
    payload = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def run_entity_checks(
    block_type: str,
    entity: dict[str, Any],
    address: str,
    ctx: ModuleContext,
    skips: list[Skip],
    selection: CheckSelection,
    scanned_file: str = "/main.tf",
    module_dir: str | None = None,
) -> tuple[RawResult, ...]:
    """Run Checkov's registry for ``block_type`` on one entity. Cached by content and context (in memory;
    with ``module_dir``, also on disk for the next session when :mod:`tfguard.checks.entity_cache` is on)."""
    if block_type not in ENTITY_BLOCK_TYPES:
        return ()
    skip_key = ";".join(f"{s.check_id}:{s.reason}" for s in skips)
    key = (block_type, _digest(entity), ctx.digest + skip_key, selection.digest)
    with _cache_lock:
        hit = _results_cache.get(key)
    if hit is not None:
        return hit
    # the last run on this block with other module values (a local it reads changed): only the checks
    # whose result can depend on the attributes that changed value run again (see _scan_isolated)
    prior_key = (block_type, key[1], skip_key, selection.digest, scanned_file)
    disk = entity_cache.current() if module_dir is not None else None
    disk_key: list[str] = []

    def keep_key(prepared: dict[str, Any] | None) -> None:  # before any check can change the conf
        disk_key.append(_disk_key(block_type, prepared, skips, selection, scanned_file))

    results = _run_uncached(block_type, entity, address, ctx, skips, selection, scanned_file, prior_key,
                            keep_key if disk is not None else None)
    if disk is not None and module_dir is not None and disk_key:
        disk.record(module_dir, disk_key[0], [_raw_to_tuple(r) for r in results])
    with _cache_lock:
        _results_cache[key] = results
    return results


def cached_entity_checks(
    block_type: str,
    entity: dict[str, Any],
    address: str,
    ctx: ModuleContext,
    skips: list[Skip],
    selection: CheckSelection,
    scanned_file: str,
    module_dir: str,
) -> tuple[RawResult, ...] | None:
    """The results an earlier session computed for this very input (:mod:`tfguard.checks.entity_cache`),
    without importing Checkov; None when there are none. Shown only while Checkov's checks are loading,
    then confirmed by :func:`run_entity_checks`."""
    disk = entity_cache.current()
    if disk is None or block_type not in ENTITY_BLOCK_TYPES:
        return None
    prepared = prepare_entity(block_type, entity, address, ctx)
    got = disk.lookup(module_dir, _disk_key(block_type, prepared, skips, selection, scanned_file))
    if got is None:
        return None
    return tuple(RawResult(*r) for r in got)


def _disk_key(block_type: str, prepared: dict[str, Any] | None, skips: list[Skip], selection: CheckSelection,
              scanned_file: str) -> str:
    return entity_cache.entry_key(block_type, prepared, [(s.check_id, s.reason) for s in skips], selection.digest,
                                  scanned_file)


def _raw_to_tuple(r: RawResult) -> entity_cache.RawTuple:
    return (r.check_id, r.check_name, r.result, r.evaluated_keys, r.suppress_comment, r.details, r.error)


def prepare_entity(block_type: str, entity: dict[str, Any], address: str, ctx: ModuleContext
                   ) -> dict[str, Any] | None:
    """The entity as Checkov's registry is given it: the module's variables and literal locals substituted
    and ``__address__`` added (a copy). None when its body is not a mapping (as ``registry.scan``: no
    results). Needs no Checkov.

    With values to substitute, :func:`render_conf` builds every list and dict anew (the checks may change
    them): only without any is the parsed conf copied first."""
    if not ctx.variables and not ctx.locals:
        entity = copy.deepcopy(entity)
    (name_key,) = list(entity.keys())[:1]
    if block_type in ("resource", "data"):
        (inner,) = list(entity[name_key].keys())[:1]
        body = entity[name_key][inner]
        if not isinstance(body, dict):
            return None
        body = render_conf(body, ctx)
        body["__address__"] = address
        return {name_key: {inner: body}}
    if not isinstance(entity[name_key], dict):
        return None
    body = render_conf(entity[name_key], ctx)
    body["__address__"] = address
    return {name_key: body}


def _run_uncached(
    block_type: str,
    entity: dict[str, Any],
    address: str,
    ctx: ModuleContext,
    skips: list[Skip],
    selection: CheckSelection,
    scanned_file: str,
    prior_key: tuple[str, ...] | None = None,
    keep_key: Callable[[dict[str, Any] | None], None] | None = None,
) -> tuple[RawResult, ...]:
    ck = checkov_checks()
    registry = ck.registries[block_type]
    rendered = prepare_entity(block_type, entity, address, ctx)
    if keep_key is not None:
        keep_key(rendered)
    if rendered is None:
        return ()  # as registry.scan: a body that is not a mapping yields no results
    runner_filter = _runner_filter(selection)
    skipped = [{"id": s.check_id, "suppress_comment": s.reason} for s in skips]
    if prior_key is not None and block_type == "resource":
        got = _scan_isolated(registry, rendered, address, skipped, runner_filter, scanned_file, prior_key)
        if got is not None:
            return tuple(got)
        # a check changed the conf it was given (or would expand dynamic blocks in it): what the next one
        # sees depends on which ran before it, so every check runs, in order, on a fresh copy
        rendered = prepare_entity(block_type, entity, address, ctx)
        assert rendered is not None
    results = _scan_isolated(registry, rendered, address, skipped, runner_filter, scanned_file)
    assert results is not None
    return tuple(results)


@dataclass
class _Prior:
    """The last run of a resource's checks: its rendered attributes (``repr`` by top-level key) and, per
    check (by identity), the check, the top-level attributes its result can depend on (None: any) and its
    result (None: no result, as UNKNOWN)."""

    attributes: dict[str, str]
    checks: dict[int, tuple[Any, frozenset[str] | None, RawResult | None]]


# per (block type, entity digest, skip comments, selection, file): bounded like the results cache
_priors: LRUCache[tuple[str, ...], _Prior] = LRUCache(maxsize=_env_size("TFGUARD_CHECK_CACHE_SIZE",
                                                                        DEFAULT_RESULTS_CACHE_SIZE) // 10 + 1)
_ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


def _reads(check: Any, ran: Any) -> frozenset[str] | None:
    """The top-level attributes a check's result depends on, when that is known exactly; else None.

    Known for Checkov's value checks that keep their base class's logic (``BaseResourceValueCheck`` and
    ``BaseResourceNegativeValueCheck``: neither ``scan_entity_conf`` nor ``scan_resource_conf`` overridden):
    they read ``count`` (``count = 0``: no result), ``dynamic`` blocks and the paths of their inspected (and
    excluded) key, all below the key's first segment (dpath matches segments literally when it has no glob
    character). Asked of ``ran``, the copy that just ran: the key may depend on the resource type.
    """
    from checkov.common.checks.base_check import BaseCheck
    from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
    from checkov.terraform.checks.resource.base_resource_negative_value_check import BaseResourceNegativeValueCheck
    from checkov.terraform.checks.resource.base_resource_value_check import BaseResourceValueCheck

    cls = type(check)
    if cls.run is not BaseCheck.run or cls.scan_entity_conf is not BaseResourceCheck.scan_entity_conf:
        return None
    try:
        if cls.scan_resource_conf is BaseResourceValueCheck.scan_resource_conf:
            keys = [ran.get_inspected_key()]
        elif cls.scan_resource_conf is BaseResourceNegativeValueCheck.scan_resource_conf:
            keys = [ran.get_inspected_key(), ran.get_excluded_key()]
        else:
            return None
    except Exception:
        return None
    out = {"count", "dynamic"}
    for k in keys:
        if k is None and len(out) > 2:  # no excluded key
            continue
        if not isinstance(k, str) or not _ATTRIBUTE.fullmatch(k.split("/", 1)[0]):
            return None
        out.add(k.split("/", 1)[0])
    return frozenset(out)


# Checks that raised, already logged with a traceback (log once per check and error type).
_logged_errors: set[tuple[str, str]] = set()


def _scan_isolated(
    registry: Any, entity: dict[str, Any], address: str, skipped: list[dict[str, str]], runner_filter: Any,
    scanned_file: str, prior_key: tuple[str, ...] | None = None,
) -> list[RawResult] | None:
    """``registry.scan`` for one entity, thread-safe against a concurrent tier-2 run, with errors reported.

    Checkov's check objects keep per-run state (``evaluated_keys``, ``details``, ``graph``) and
    ``registry.run_check`` turns an exception into a silent UNKNOWN. Here each check runs on a
    shallow copy (its own per-run state, ``graph=None`` as on the per-block path), so tier 1 needs
    no lock shared with Checkov's runner; a check that raises becomes an error result (reported as
    a ``check-error`` problem, see errors.py) and every other check still runs.

    ``prior_key``: the checks' results are remembered per check, with the attributes each can depend on
    (:func:`_reads`); the next run on the same block with other rendered values (``prior_key`` the same)
    reuses the result of every check none of whose attributes changed value (of every check that did not
    raise, when no attribute did), and runs the others, in Checkov's order. Returns None (nothing
    remembered) when a check changed the conf it was given, or the resource has ``dynamic`` blocks
    (Checkov expands them in place, once per check): then what a check sees depends on which checks ran
    before it, and the caller runs them all.
    """
    out: list[RawResult] = []
    try:
        entity_type, entity_name, conf = registry.extract_entity_details(entity)
    except Exception:
        return out  # as registry.scan: an entity it cannot read yields no results
    if not isinstance(conf, dict):
        return out
    attributes: dict[str, str] = {}
    prior: _Prior | None = None
    changed: set[str] = set()
    if prior_key is not None:
        attributes = {k: repr(v) for k, v in conf.items()}
        if "dynamic" in attributes or any("'dynamic'" in r for r in attributes.values()):
            return None
        with _cache_lock:
            prior = _priors.get(prior_key)
        if prior is not None:
            old = prior.attributes
            changed = {k for k in old.keys() | attributes.keys() if old.get(k) != attributes.get(k)}
    records: dict[int, tuple[Any, frozenset[str] | None, RawResult | None]] = {}
    with entity_policies():  # the entity's checks share its parsed IAM policy, as in a Checkov run
        for check in registry.get_checks(entity_type):
            if not runner_filter.should_run_check(check, report_type=registry.report_type,
                                                  file_origin_paths=[scanned_file]):
                continue
            if prior is not None:
                rec = prior.checks.get(id(check))
                # the same conf (as rendered): every result stands; else those whose attributes are all unchanged
                if rec is not None and rec[0] is check and (not changed or rec[1] is not None and not rec[1] & changed):
                    records[id(check)] = rec
                    if rec[2] is not None:
                        out.append(rec[2])
                    continue
            skip_info = next((s for s in skipped if s["id"] == check.id), {})
            mine = copy.copy(check)
            mine.graph = None
            mine.log_check_error = _quiet  # Checkov logs every failure; tfguard logs each check's error once
            try:
                res = mine.run(scanned_file=scanned_file, entity_configuration=conf, entity_name=entity_name,
                               entity_type=entity_type, skip_info=skip_info)
            except Exception as e:
                if (check.id, type(e).__name__) not in _logged_errors:
                    _logged_errors.add((check.id, type(e).__name__))
                    log.debug("check %s raised on %s (reported as a check-error problem; the other checks still run)",
                              check.id, address, exc_info=True)
                out.append(RawResult(check.id, check.name, "ERROR", (), None, (), error=error_text(e)))
                continue  # not remembered: run again next time
            raw = _to_raw(check, res, mine)
            if raw is not None:
                out.append(raw)
            if prior_key is not None:
                # a skipped check's result is its skip comment's (in ``prior_key``), whatever the values
                records[id(check)] = (check, frozenset() if skip_info else _reads(check, mine), raw)
    if prior_key is not None:
        if {k: repr(v) for k, v in conf.items()} != attributes:
            with _cache_lock:
                _priors.pop(prior_key, None)
            return None
        with _cache_lock:
            _priors[prior_key] = _Prior(attributes, records)
    return out


def _quiet(*args: Any, **kwargs: Any) -> None:
    return None


def _to_raw(check: Any, res: dict[str, Any], ran: Any = None) -> RawResult | None:
    result = res.get("result")
    value = getattr(result, "value", str(result))
    if value not in ("FAILED", "PASSED", "SKIPPED"):
        return None  # UNKNOWN results: the Runner drops them too
    keys = res.get("evaluated_keys") or []
    return RawResult(
        check_id=check.id,
        check_name=check.name,
        result=value,
        evaluated_keys=ordered_keys(tuple(str(k) for k in keys)),
        suppress_comment=res.get("suppress_comment") if value == "SKIPPED" else None,
        details=tuple(getattr(ran if ran is not None else check, "details", []) or []),
    )


def ordered_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """A Python check's evaluated keys in an order every process agrees on, its main attribute first.

    A finding is shown at its first evaluated key found in the block (``engine.tier1.locate``). Python
    checks list their keys main attribute first, but some build sibling keys from a set (CKV_AWS_45:
    ``environment/[0]/variables/[0]/<name>`` for each name in a ``set``), whose order follows the string
    hash seed: the finding moved between lines from one process to the next. Keys are grouped by their
    parent path in the order the check gave the groups, and siblings are sorted within a group.
    """
    groups: dict[str, list[str]] = {}
    for k in keys:
        groups.setdefault(k.rpartition("/")[0], []).append(k)
    return tuple(k for siblings in groups.values() for k in sorted(siblings))


_filters: dict[str, Any] = {}


def _runner_filter(selection: CheckSelection) -> Any:
    rf = _filters.get(selection.digest)
    if rf is None:
        ck = checkov_checks()
        rf = ck.RunnerFilter(
            framework=["terraform"],
            checks=list(selection.checks) or None,
            skip_checks=list(selection.skip_checks) or None,
            download_external_modules=False,
        )
        _filters[selection.digest] = rf
    return rf
