"""Reuse Checkov's built Terraform graph between runs whose graph inputs are the same.

A warm tier-2 re-run of a module repository (terraform-aws-s3-bucket: one unit, the whole tree)
spends about 85% of its time in ``TerraformLocalGraph.build_graph``: creating vertices and edges,
expanding ``for_each``/``count`` and modules, rendering variables. That method is a function of
the graph object's state when it starts (the ``Module`` the parser built from the parsed files:
its blocks, their attributes and line numbers, the paths, ``temp_tf_definition``), of its argument,
of the environment Checkov reads, and of how the files' paths resolve on disk (it calls
``os.path.realpath``). Checkov keeps no other state between graphs (no module-level caches in
``graph_builder``), with one exception handled below.

So the build is memoized, keyed by a digest of all of that:

- the key is a BLAKE2b digest of the pickled starting state, the ``render_variables`` flag, the
  whole ``os.environ`` and the real paths of every block's file and folder. Any edit that changes
  a parsed value, a line number, a path or a module's inputs changes the pickle, hence the key.
  An edit that changes no parsed value (a comment, trailing whitespace, text after the last block)
  leaves it the same: the graph Checkov would build is the one already built. What is not part of
  the graph (suppression comments, code lines of records) Checkov reads from the files after the
  build, on every run, so such edits still show.
- the value is the pickled state after the build; a hit unpickles a fresh copy into the new graph
  object (Checkov mutates it afterwards), so no two runs share an object.
- Checkov warnings the build logged are counted again on a hit (``GraphRun.checkov_warnings``
  stays the same; the DEBUG log lines are not repeated).
- Checkov's expression evaluator (asteval) shares one symbol table between all evaluations, and
  an expression that assigns changes it for the next ones. A build after which that table holds
  other names or values than before is not stored: replaying it would skip that change. (The
  table holds only pure functions otherwise; ``timestamp()`` is not among them.)
- A build that misses runs with ``os.path.realpath`` remembered for its duration inside
  Checkov's ``local_graph`` module (:class:`_OsView`): Checkov resolves the same few file paths
  about 28,000 times a build of terraform-aws-s3-bucket when it matches references to vertices
  (``_find_vertex_with_best_match``, which caches the vertex side itself but not the origin side).
  The files do not move during a build (the key above holds their real paths); outside the build
  the module sees the real ``os`` again.
- Bounded in bytes (an LRU of the pickled graphs), so a long-lived daemon cannot grow without
  limit; a graph larger than a quarter of the bound is never stored.

:func:`tfguard.checks.memo.install` installs it with the other memos, and ``memo.disabled()``
turns it off with them; the tests compare memoized runs with fresh-process ``checkov``-equivalent
runs after random edits.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import threading
from collections.abc import Callable
from typing import Any

from cachetools import LRUCache

log = logging.getLogger(__name__)



def _cache_bytes(environ: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """The graph memo's bound: ``$TFGUARD_GRAPH_CACHE_MB`` megabytes of pickled graphs (default 256; 0 turns
    the memo off in effect: nothing fits)."""
    try:
        mb = int(environ.get("TFGUARD_GRAPH_CACHE_MB", "256"))
    except ValueError:
        log.warning("TFGUARD_GRAPH_CACHE_MB=%r is not a whole number: the default, 256, is used",
                    environ.get("TFGUARD_GRAPH_CACHE_MB"))
        mb = 256
    return max(1, mb * 1024 * 1024)


GRAPH_CACHE_BYTES = _cache_bytes()

_lock = threading.Lock()
cache: LRUCache[bytes, tuple[bytes, tuple[tuple[str, int], ...]]] = LRUCache(
    maxsize=GRAPH_CACHE_BYTES, getsizeof=lambda v: len(v[0]) + 64)
stats = {"graph_hits": 0, "graph_misses": 0, "graph_unstored": 0}


def _no_warning_kinds() -> dict[str, int]:
    return {}


def _no_warnings_added(kinds: tuple[tuple[str, int], ...]) -> None:
    return None


# Checkov's warning counter (checkov_env.checkov_warning_kinds / add_checkov_warnings), set by checkov_env
# before it installs the memos (set here, not imported: checkov_env imports this module).
warning_kinds: Callable[[], dict[str, int]] = _no_warning_kinds
add_warnings: Callable[[tuple[tuple[str, int], ...]], None] = _no_warnings_added


def _paths(state: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """How every block's file and folder resolves on disk (``build_graph`` compares real paths)."""
    module = state.get("module")
    seen: set[str] = set()
    for block in getattr(module, "blocks", ()) or ():
        p = getattr(block, "path", None)
        if isinstance(p, str) and p not in seen:
            seen.add(p)
            seen.add(os.path.dirname(p))
    return tuple((p, os.path.realpath(p)) for p in sorted(seen))


def graph_key(graph: Any, render_variables: bool) -> bytes | None:
    """The digest of everything ``build_graph`` reads, or None when it cannot be computed."""
    try:
        state = pickle.dumps((graph.__dict__, bool(render_variables), sorted(os.environ.items()),
                              _paths(graph.__dict__)), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # something unpicklable: no memo for this graph
        log.debug("graph state not picklable: build not memoized", exc_info=True)
        return None
    return hashlib.blake2b(state, digest_size=32).digest()


def _symtable_probe() -> tuple[dict[str, Any], frozenset[str]]:
    """Checkov's shared asteval symbol table, and the names every new interpreter sets again."""
    from checkov.terraform.graph_builder.variable_rendering import safe_eval_functions as sef

    table = sef.SAFE_EVAL_DICT
    before = {k: id(v) for k, v in table.items()}
    sef.get_asteval()
    reset = frozenset(k for k, v in table.items() if before.get(k) != id(v))
    return table, reset


class _PathView:
    """``os.path`` with ``realpath`` of a string remembered (one build's lifetime: see the module docstring)."""

    def __init__(self) -> None:
        self._real: dict[str, str] = {}

    def realpath(self, path: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or type(path) is not str:
            return os.path.realpath(path, *args, **kwargs)
        got = self._real.get(path)
        if got is None:
            got = self._real[path] = os.path.realpath(path)
        return got

    def __getattr__(self, name: str) -> Any:
        return getattr(os.path, name)


class _OsView:
    """``os`` as ``local_graph`` sees it during one memoized build: ``path`` is a :class:`_PathView`."""

    def __init__(self) -> None:
        self.path = _PathView()

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


def _build_remembering_realpath(real: Any, graph: Any, render_variables: bool) -> None:
    import checkov.terraform.graph_builder.local_graph as lg

    if getattr(lg, "os", None) is not os:  # not the layout this was written for: Checkov's own calls
        real(graph, render_variables)
        return
    lg.os = _OsView()  # type: ignore[assignment]
    try:
        real(graph, render_variables)
    finally:
        lg.os = os


def memo_build_graph(real: Any) -> Any:
    """``TerraformLocalGraph.build_graph`` (``real``), memoized as described in the module docstring."""
    from checkov.terraform.graph_builder.local_graph import TerraformLocalGraph

    owner = TerraformLocalGraph
    table, reset = _symtable_probe()

    def symbols() -> frozenset[tuple[str, int]]:
        return frozenset((k, id(v)) for k, v in table.items() if k not in reset)

    def build_graph(self: Any, render_variables: bool) -> None:
        if type(self) is not owner:  # a subclass may build differently
            return real(self, render_variables)
        key = graph_key(self, render_variables)
        if key is None:
            return real(self, render_variables)
        with _lock:
            hit = cache.get(key)
        if hit is not None:
            blob, warned = hit
            stats["graph_hits"] += 1
            self.__dict__.clear()
            self.__dict__.update(pickle.loads(blob))
            add_warnings(warned)
            return None
        stats["graph_misses"] += 1
        symbols_before = symbols()
        warnings_before = warning_kinds()
        _build_remembering_realpath(real, self, render_variables)
        if symbols() != symbols_before:  # an expression assigned into the shared symbol table
            stats["graph_unstored"] += 1
            return None
        warned = tuple(sorted((k, n - warnings_before.get(k, 0)) for k, n in warning_kinds().items()
                              if n > warnings_before.get(k, 0)))
        try:
            blob = pickle.dumps(self.__dict__, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            stats["graph_unstored"] += 1
            return None
        if len(blob) > GRAPH_CACHE_BYTES // 4:
            stats["graph_unstored"] += 1
            return None
        with _lock:
            cache[key] = (blob, warned)
        return None

    build_graph.__wrapped__ = real  # type: ignore[attr-defined]
    return build_graph
