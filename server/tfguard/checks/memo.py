"""Reuse Checkov's pure work between runs: HCL parses and expression evaluations.

A tier-2 re-check after a one-block edit runs Checkov's whole Terraform runner again. Most of
what that run computes is the same as last time: every file but the edited one parses to the
same dict, and variable rendering evaluates the same expression strings (terraform-aws-vpc's
root module: ~17,000 ``evaluate`` calls, each building a fresh ``asteval`` interpreter, and 77
file parses in module discovery). Both are pure functions of their input text, so they are
memoized here, in-process, bounded by size (and the graph Checkov builds from them, see
:mod:`tfguard.checks.graph_memo`):

- ``hcl2.load`` as Checkov's parser calls it (``checkov.terraform.parser_utils``), keyed by the
  file's text; the result is stored pickled and every hit gets a fresh copy, because Checkov
  mutates what it parsed.
- ``find_brackets_pairs`` of the variable renderer (about 14,000 calls per run there), keyed by
  its arguments; hits get fresh copies of the small dicts it returns.
- ``evaluate_terraform`` (the renderer's whole evaluation of a value string: substitutions, maps,
  conditionals, comparisons, for-expressions around ``evaluate``), keyed by the string and its
  ``keep_interpolations`` flag; only strings, and never stored when an ``evaluate`` inside it was
  left unmemoized as impure. Hits return a copy of mutable results.
- ``get_referenced_vertices_in_str_value`` (which ``var.x``, ``aws_vpc.main`` ... a string names),
  replayed only when the resource types and aliases it asked about give the same answers
  (:mod:`tfguard.checks.refs_memo`); ``Edge.__hash__``/``__eq__`` without formatting a string each
  call (:mod:`tfguard.checks.edge_memo`: the same numbers and answers); ``find_var_blocks`` (the
  ``${...}`` blocks of a string, a scanner of that string alone), keyed by the string; and not a memo
  but installed with them, the dynamic-block test of Checkov's blocks without dpath's walk of the whole
  block (:mod:`tfguard.checks.dynamic_search`: the same answers), four graph helpers computed without
  their recursion and quadratic scans (:mod:`tfguard.checks.render_fast`: the same results), and the
  graph checks run in the calling thread instead of a pool of threads taking turns
  (:mod:`tfguard.checks.serial_checks`).
- ``evaluate`` as the variable renderer calls it (``evaluate_terraform.evaluate``), keyed by the
  expression string. Hits return a copy of mutable results; a ``ValueError`` (how ``evaluate``
  reports an expression it cannot evaluate) is replayed. Expressions whose value is not a
  function of their text are never memoized: ``timestamp()`` and anything that assigns (asteval
  evaluates assignments into Checkov's shared symbol table).

Results stay identical to an un-memoized run; the parity and agreement tests run with this on.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import pickle
import re
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from cachetools import LRUCache

from tfguard import gctuning
from tfguard.checks import dynamic_search, edge_memo, graph_memo, refs_memo, render_fast, serial_checks

log = logging.getLogger(__name__)

PARSE_CACHE_BYTES = 64 * 1024 * 1024
EVAL_CACHE_BYTES = 32 * 1024 * 1024
BRACKETS_CACHE_BYTES = 16 * 1024 * 1024
TF_EVAL_CACHE_BYTES = 32 * 1024 * 1024
TF_EVAL_MAX_INPUT = 8192
VAR_BLOCKS_CACHE_BYTES = 16 * 1024 * 1024

_IMMUTABLE = (str, int, float, bool, type(None), bytes, frozenset)
_ASSIGNS = re.compile(r"(?<![=!<>])=(?!=)")
_IMPURE = ("timestamp",)

_lock = threading.Lock()
_installed = False
_parse_cache: LRUCache[bytes, bytes] = LRUCache(maxsize=PARSE_CACHE_BYTES, getsizeof=len)
_eval_cache: LRUCache[str, tuple[bool, Any, int]] = LRUCache(maxsize=EVAL_CACHE_BYTES, getsizeof=lambda v: v[2])
_brackets_cache: LRUCache[tuple[str, str, str], tuple[tuple[tuple[int, int], ...], int]] = LRUCache(
    maxsize=BRACKETS_CACHE_BYTES, getsizeof=lambda v: v[1])
_tf_eval_cache: LRUCache[tuple[str, bool], tuple[Any, int]] = LRUCache(maxsize=TF_EVAL_CACHE_BYTES,
                                                                       getsizeof=lambda v: v[1])
_var_blocks_cache: LRUCache[str, tuple[tuple[tuple[str, str], ...], int]] = LRUCache(
    maxsize=VAR_BLOCKS_CACHE_BYTES, getsizeof=lambda v: v[1])
_CACHES: tuple[MutableMapping[Any, Any], ...] = (_parse_cache, _eval_cache, _brackets_cache, graph_memo.cache,
                                           _tf_eval_cache, refs_memo.cache, _var_blocks_cache)
_patches: list[tuple[Any, str, Any, Any]] = []  # (module, attribute, original, memoized)
# impure_evals: ``evaluate`` calls left unmemoized because the expression assigns or is impure; an
# ``evaluate_terraform`` during which one happened is not stored either.
stats = {"parse_hits": 0, "parse_misses": 0, "eval_hits": 0, "eval_misses": 0, "impure_evals": 0,
         "tf_eval_hits": 0, "tf_eval_misses": 0, "var_blocks_hits": 0, "var_blocks_misses": 0}


class _MemoHcl2:
    """Stands in for the ``hcl2`` module inside ``checkov.terraform.parser_utils``."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def load(self, file: Any) -> Any:
        return self.loads(file.read())

    def loads(self, text: str) -> Any:
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()
        with _lock:
            blob = _parse_cache.get(key)
        if blob is not None:
            stats["parse_hits"] += 1
            return pickle.loads(blob)
        stats["parse_misses"] += 1
        result = self._real.loads(text)  # errors propagate, uncached: Checkov records them per file
        try:
            blob = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # something unpicklable: just do not cache it
            return result
        with _lock:
            if len(blob) < PARSE_CACHE_BYTES // 4:
                _parse_cache[key] = blob
        return result


def _memo_evaluate(real: Any) -> Any:
    def evaluate(input_str: Any) -> Any:
        if not isinstance(input_str, str):
            return real(input_str)
        if _ASSIGNS.search(input_str) or any(w in input_str for w in _IMPURE):
            stats["impure_evals"] += 1
            return real(input_str)
        with _lock:
            hit = _eval_cache.get(input_str)
        if hit is not None:
            stats["eval_hits"] += 1
            ok, value, _ = hit
            if not ok:
                raise ValueError(value)
            return value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)
        stats["eval_misses"] += 1
        size = 2 * len(input_str) + 200
        try:
            value = real(input_str)
        except ValueError as e:
            if type(e) is ValueError:
                with _lock:
                    _eval_cache[input_str] = (False, str(e), size + len(str(e)))
            raise
        try:
            stored = value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)
        except Exception:
            return value
        if isinstance(stored, str):
            size += 2 * len(stored)
        elif not isinstance(stored, _IMMUTABLE):
            size += 4 * len(repr(stored))
        if size < EVAL_CACHE_BYTES // 64:
            with _lock:
                _eval_cache[input_str] = (True, stored, size)
        return value

    evaluate.__wrapped__ = real  # type: ignore[attr-defined]
    return evaluate


def _stored_size(key_len: int, value: Any) -> int:
    size = 2 * key_len + 200
    if isinstance(value, str):
        size += 2 * len(value)
    elif not isinstance(value, _IMMUTABLE):
        size += 4 * len(repr(value))
    return size


def _memo_evaluate_terraform(real: Any) -> Any:
    def evaluate_terraform(input_str: Any, keep_interpolations: bool = True) -> Any:
        if type(input_str) is not str or len(input_str) > TF_EVAL_MAX_INPUT:
            return real(input_str, keep_interpolations)
        key = (input_str, bool(keep_interpolations))
        with _lock:
            hit = _tf_eval_cache.get(key)
        if hit is not None:
            stats["tf_eval_hits"] += 1
            value = hit[0]
            return value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)
        stats["tf_eval_misses"] += 1
        impure_before = stats["impure_evals"]
        value = real(input_str, keep_interpolations)  # errors propagate, uncached
        if stats["impure_evals"] != impure_before:  # an evaluation in it was not a function of its text
            return value
        try:
            stored = value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)
        except Exception:
            return value
        size = _stored_size(len(input_str), stored)
        if size < TF_EVAL_CACHE_BYTES // 64:
            with _lock:
                _tf_eval_cache[key] = (stored, size)
        return value

    evaluate_terraform.__wrapped__ = real  # type: ignore[attr-defined]
    return evaluate_terraform


def _memo_brackets(real: Any) -> Any:
    def find_brackets_pairs(input_str: Any, starting: Any, closing: Any) -> Any:
        if not isinstance(input_str, str) or len(input_str) > 4096:
            return real(input_str, starting, closing)
        key = (input_str, starting, closing)
        with _lock:
            hit = _brackets_cache.get(key)
        if hit is None:
            result = real(input_str, starting, closing)
            pairs = tuple((m["start"], m["end"]) for m in result)
            with _lock:  # size: about the key string and the pairs (bounded in bytes, like the others)
                _brackets_cache[key] = (pairs, 2 * len(input_str) + 64 * len(pairs) + 200)
            return result
        return [{"start": a, "end": b} for a, b in hit[0]]

    find_brackets_pairs.__wrapped__ = real  # type: ignore[attr-defined]
    return find_brackets_pairs


def _memo_var_blocks(real: Any, match_type: Any) -> Any:
    """``find_var_blocks`` (``checkov.common.util.parser_utils``): the ``${...}`` and call blocks of a string.

    A scanner of its one string argument (no other input, no side effect); keyed by the string, each hit
    gets new ``VarBlockMatch`` objects (they have a mutating ``replace``).
    """
    def find_var_blocks(value: Any) -> Any:
        if type(value) is not str or len(value) > TF_EVAL_MAX_INPUT or "$" not in value:
            return real(value)
        with _lock:
            hit = _var_blocks_cache.get(value)
        if hit is not None:
            stats["var_blocks_hits"] += 1
            return [match_type(full, var) for full, var in hit[0]]
        stats["var_blocks_misses"] += 1
        result = real(value)  # errors propagate, uncached
        pairs = []
        for m in result:
            if type(m) is not match_type or type(m.full_str) is not str or type(m.var_only) is not str:
                return result
            pairs.append((m.full_str, m.var_only))
        size = 2 * len(value) + 200 + sum(100 + 2 * (len(a) + len(b)) for a, b in pairs)
        if size < VAR_BLOCKS_CACHE_BYTES // 64:
            with _lock:
                _var_blocks_cache[value] = (tuple(pairs), size)
        return result

    find_var_blocks.__wrapped__ = real  # type: ignore[attr-defined]
    return find_var_blocks


def install() -> bool:
    """Install the memos into the imported Checkov modules (idempotent)."""
    global _installed
    if _installed:
        return True
    try:
        import checkov.common.checks_infra.solvers.connections_solvers.base_connection_solver as bcs
        import checkov.common.graph.checks_infra.registry as greg
        import checkov.common.graph.checks_infra.solvers.base_solver as bsv
        import checkov.common.util.parser_utils as cpu
        import checkov.common.util.var_utils as cvu
        import checkov.terraform.graph_builder.foreach.abstract_handler as fh
        import checkov.terraform.graph_builder.local_graph as tlg
        import checkov.terraform.graph_builder.utils as gu
        import checkov.terraform.graph_builder.variable_rendering.evaluate_terraform as et
        import checkov.terraform.graph_builder.variable_rendering.renderer as trr
        import checkov.terraform.parser_utils as pu
        from checkov.common.graph.graph_builder.graph_components.edge import Edge
        from checkov.common.graph.graph_builder.variable_rendering.renderer import VariableRenderer
        from checkov.terraform.graph_builder.graph_components import blocks
        from checkov.terraform.graph_builder.local_graph import TerraformLocalGraph
    except ImportError:
        log.warning("Checkov layout not recognised: tier-2 memoization off")
        return False
    for module, name, wrap in ((pu, "hcl2", _MemoHcl2), (et, "evaluate", _memo_evaluate),
                               (et, "find_brackets_pairs", _memo_brackets),
                               (et, "evaluate_terraform", _memo_evaluate_terraform),
                               (TerraformLocalGraph, "build_graph", graph_memo.memo_build_graph),
                               (gu, "get_referenced_vertices_in_str_value",
                                lambda real: refs_memo.memo_str_refs(real, gu)),
                               (Edge, "__hash__", edge_memo.memo_hash), (Edge, "__eq__", edge_memo.memo_eq),
                               (cpu, "find_var_blocks", lambda real: _memo_var_blocks(real, cpu.VarBlockMatch)),
                               (blocks, "dpath", dynamic_search.DpathView),
                               (greg, "concurrent", serial_checks.ConcurrentView),
                               (blocks.TerraformBlock, "get_origin_attributes",
                                lambda real: render_fast.origin_attributes(real, blocks.TerraformBlock)),
                               (gu, "attribute_has_nested_attributes",
                                lambda real: render_fast.nested_attributes(
                                    real, getattr(gu, "NESTED_ATTRIBUTE_PATTERN", None))),
                               (VariableRenderer, "_update_end_vertices_indexes", render_fast.end_vertices),
                               (bcs.BaseConnectionSolver, "set_vertices",
                                lambda real: render_fast.connection_vertices(
                                    real, bsv.BaseSolver.resource_type_pred, bcs.DiGraph, bsv.env_vars_config,
                                    bcs.CustomAttributes.RESOURCE_TYPE))):
        original = getattr(module, name, None)
        if original is None:
            log.warning("Checkov has no %s.%s: that memo is off", getattr(module, "__name__", module), name)
            continue
        memoized = wrap(original)
        setattr(module, name, memoized)
        _patches.append((module, name, original, memoized))
        if name == "evaluate_terraform" and getattr(fh, name, None) is original:  # imported by name there
            setattr(fh, name, memoized)
            _patches.append((fh, name, original, memoized))
        users = {"find_var_blocks": (et, cvu), "attribute_has_nested_attributes": (tlg, trr)}.get(name, ())
        if users:  # imported by name there
            for user in users:
                if getattr(user, name, None) is original:
                    setattr(user, name, memoized)
                    _patches.append((user, name, original, memoized))
    _installed = True
    return True


@contextmanager
def disabled() -> Iterator[None]:
    """Checkov's own functions, unmemoized, and collected as Checkov collects, for the duration (tests
    compare both)."""
    with _lock:
        for module, name, original, _ in _patches:
            setattr(module, name, original)
    try:
        with gctuning.as_checkov():
            yield
    finally:
        with _lock:
            for module, name, _, memoized in _patches:
                setattr(module, name, memoized)


def clear() -> None:
    with _lock:
        for c in _CACHES:
            c.clear()
    edge_memo.clear()


def marks() -> tuple[frozenset[Any], ...]:
    """The keys each memo holds now (a forked scan worker takes these before running Checkov)."""
    with _lock:
        return tuple(frozenset(c.keys()) for c in _CACHES)


def added_since(before: tuple[frozenset[Any], ...]) -> tuple[dict[Any, Any], ...]:
    """What the memos learnt since :func:`marks` gave ``before`` (picklable: the worker returns it)."""
    with _lock:
        return tuple({k: v for k, v in c.items() if k not in seen} for c, seen in zip(_CACHES, before, strict=True))


def absorb(added: tuple[dict[Any, Any], ...]) -> None:
    """Take entries a worker computed, so a long-lived parent (the daemon) is warm for the next run."""
    with _lock:
        for c, entries in zip(_CACHES, added, strict=True):
            for k, v in entries.items():
                c[k] = v  # bounded: the LRU evicts as usual
