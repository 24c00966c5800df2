"""``tfguard scan`` of a directory tree: independent units, two worker processes, a result cache.

``checkov -d ROOT`` walks every directory under ``ROOT``, expands local module calls
(``source = "../../"``) and finally drops the standalone results of every directory that some
other directory calls as a module. So the result is the union, over the directories that no
other directory of the tree calls (*roots*), of Checkov's runner on that directory alone plus
the local modules it calls. Each such root is an independent :class:`ScanUnit`:

- units run in worker processes forked after Checkov is imported (no second import), as many
  as there are cores (at most ``max_workers``);
- each unit's result is cached on disk, keyed by the content of every Terraform file of the
  unit's directory and of the directories of the local modules it calls (transitively), the
  Checkov and tfguard versions and the check selection. A re-scan re-runs only the units whose
  text changed.

The parity tests (``tests/parity``) prove that the union equals ``checkov -d``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from tfguard import __version__
from tfguard.checks import memo
from tfguard.checks.checkov_env import checkov_modules
from tfguard.checks.entity import CheckSelection
from tfguard.checks.errors import CheckError
from tfguard.checks.graph import GraphRecord, GraphRun, Mirror, graph_check_ids, run_checkov
from tfguard.files import (
    DEFAULT_MAX_FILE_BYTES,
    TF_SUFFIXES,
    FileRefused,
    content_key,
    dir_has_tofu,
    is_inside,
    iter_files,
    read_regular,
)
from tfguard.scan.cache import ResultCache

log = logging.getLogger(__name__)

# 2: graph keys sorted; 3: scan/cache.py entries; 4: check errors, warnings; 5: Python keys ordered;
# 6: var files and skip paths
CACHE_FORMAT = 6


@dataclass(frozen=True)
class ScanUnit:
    """A directory scanned on its own (non-recursively) plus the local modules it calls."""

    root: str  # real path of the directory Checkov's runner is pointed at
    dirs: tuple[str, ...]  # root and every directory it reaches through local module calls (sorted)
    recursive: bool = False  # the whole tree under root in one run (see colliding_units)
    var_files: tuple[str, ...] = ()  # Checkov's --var-file for this run (absolute, in order)
    skip_paths: tuple[str, ...] = ()  # Checkov's --skip-path for this run (regular expressions)

    def reads(self, directory: str) -> bool:
        """Whether this unit's run reads the Terraform files of ``directory``."""
        d = os.path.realpath(directory)
        return d in self.dirs or (self.recursive and is_inside(d, self.root))


def plan_units(tf_dirs: Iterable[str], calls: Callable[[str], list[str]]) -> list[ScanUnit]:
    """Partition the directories holding Terraform files into independent units.

    ``calls(d)`` gives the real paths of the directories ``d`` calls as local modules. A directory
    called by another directory of the tree is not a root (``checkov -d`` drops its standalone
    results); every other directory is the root of one unit.
    """
    dirs = sorted({os.path.realpath(d) for d in tf_dirs})
    memo: dict[str, list[str]] = {}

    def called(d: str) -> list[str]:
        if d not in memo:
            memo[d] = sorted(set(calls(d)))
        return memo[d]

    referenced: set[str] = set()
    for d in dirs:
        referenced.update(c for c in called(d) if c != d)
    units = []
    for d in dirs:
        if d in referenced:
            continue
        closure: set[str] = set()
        todo = [d]
        while todo:
            cur = todo.pop()
            if cur in closure:
                continue
            closure.add(cur)
            todo.extend(called(cur))
        units.append(ScanUnit(root=d, dirs=tuple(sorted(closure))))
    return units


def colliding_units(units: list[ScanUnit], call_names: Callable[[str], Iterable[str]]) -> set[str]:
    """Module call names declared in directories of two or more units.

    ``checkov -d`` builds one graph for the whole tree, and module instances are identified by
    their call name: when two units each call a module ``vpc`` (every example of a module
    repository does), Checkov's results for those instances, and for graph checks connecting to
    them, depend on both units. Scanned apart, they would differ from ``checkov -d``; so a tree
    with such a collision is scanned in one run, exactly as ``checkov -d`` does.
    """
    owners: dict[str, set[str]] = {}
    for u in units:
        for d in u.dirs:
            for name in call_names(d):
                owners.setdefault(name, set()).add(u.root)
    return {name for name, roots in owners.items() if len(roots) > 1}


def whole_tree_unit(root: str, units: list[ScanUnit], var_files: tuple[str, ...] = (),
                    skip_paths: tuple[str, ...] = ()) -> ScanUnit:
    """One recursive run over ``root`` standing for ``units`` (the same files, one graph)."""
    dirs = sorted({d for u in units for d in u.dirs})
    return ScanUnit(root=os.path.realpath(root), dirs=tuple(dirs), recursive=True, var_files=var_files,
                    skip_paths=skip_paths)


def file_fingerprint(path: str) -> str:
    """Content hash of one file ("missing" when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            return hashlib.blake2b(f.read(), digest_size=16).hexdigest()
    except OSError:
        return "missing"


def dir_fingerprint(d: str) -> list[tuple[str, str]]:
    """(name, content hash) of every file Checkov reads in directory ``d`` (not its subdirectories)."""
    out: list[tuple[str, str]] = []
    try:
        entries = sorted(os.scandir(d), key=lambda e: e.name)
    except OSError:
        return out
    for e in entries:
        if not e.name.endswith(TF_SUFFIXES):
            continue
        try:
            if not e.is_file():
                continue
            out.append((e.name, content_key(e.path).hex()))  # a link out of the repository is not read
        except OSError:
            out.append((e.name, "unreadable"))
    return out


def unit_key(unit: ScanUnit, checkov_version: str, config: str) -> str:
    """Cache key of a unit: its files' content, where they are, the tool versions and the config."""
    payload = {
        "format": CACHE_FORMAT,
        "tfguard": __version__,
        "checkov": checkov_version,
        "config": config,
        "root": unit.root,
        "recursive": unit.recursive,
        "dirs": {d: dir_fingerprint(d) for d in unit.dirs},
        "var_files": [(f, file_fingerprint(f)) for f in unit.var_files],  # order matters: a later file wins
        "skip_paths": list(unit.skip_paths),
    }
    return hashlib.blake2b(json.dumps(payload, sort_keys=True).encode(), digest_size=20).hexdigest()


def checkov_version() -> str:
    """Checkov's installed version, without importing Checkov (2 s)."""
    try:
        return importlib.metadata.version("checkov")
    except importlib.metadata.PackageNotFoundError:
        return checkov_modules().version


def run_to_json(run: GraphRun) -> dict[str, Any]:
    """A Checkov run as a JSON value (a ``units`` cache entry)."""
    return {"records": [asdict(r) for r in run.records], "parsing_errors": list(run.parsing_errors),
            "check_errors": [asdict(e) for e in run.check_errors], "checkov_warnings": dict(run.checkov_warnings)}


def run_from_json(data: Any) -> GraphRun:
    """The run :func:`run_to_json` gave; raises KeyError, TypeError or ValueError on a wrong shape."""
    records = []
    for r in data["records"]:
        if not isinstance(r, dict):
            raise TypeError("record is not an object")
        r = dict(r)
        r["line_range"] = tuple(r["line_range"])
        r["evaluated_keys"] = tuple(r["evaluated_keys"])
        r["details"] = tuple(r["details"])
        if r.get("caller_line_range") is not None:
            r["caller_line_range"] = tuple(r["caller_line_range"])
        records.append(GraphRecord(**r))
    errors = data["parsing_errors"]
    if not isinstance(errors, list) or not all(isinstance(e, str) for e in errors):
        raise TypeError("parsing_errors is not a list of strings")
    raw_check_errors, raw_warnings = data["check_errors"], data["checkov_warnings"]
    if not isinstance(raw_check_errors, list) or not isinstance(raw_warnings, dict):
        raise TypeError("check_errors is not a list or checkov_warnings not an object")
    check_errors = tuple(CheckError(**{**e, "line_range": tuple(e["line_range"])}) for e in raw_check_errors)
    warnings = tuple(sorted((str(k), int(n)) for k, n in raw_warnings.items()))
    return GraphRun(records=tuple(records), parsing_errors=tuple(errors), check_errors=check_errors,
                    checkov_warnings=warnings)


def cached_run(cache: ResultCache, key: str) -> GraphRun | None:
    """The unit run cached as ``key``, or None (absent or of a wrong shape)."""
    return cache.load("units", key, run_from_json)


# Set in the parent before forking; read by the workers.
_worker_selection: CheckSelection = CheckSelection()
# A long-lived process (the daemon) sets this: forked workers send back what they added to the
# memos of checks/memo.py, so the next scan in the parent starts warm. One-shot scans skip it.
keep_worker_memos = False

UnitResult = tuple[str, "GraphRun | None", "str | None", "tuple[dict[Any, Any], ...] | None"]


def unit_has_tofu(unit: ScanUnit) -> bool:
    """True when a directory the unit's run reads holds OpenTofu files (Checkov must see them as ``.tf``)."""
    return any(dir_has_tofu(d) for d in unit.dirs)


def unit_files(unit: ScanUnit) -> list[str]:
    """The files Checkov's run of ``unit`` reads: every scanned kind (:data:`TF_SUFFIXES`) in the
    unit's directories, and for a recursive unit everything under its root too."""
    found: set[str] = set(iter_files(unit.root, TF_SUFFIXES)) if unit.recursive else set()
    for d in unit.dirs:
        try:
            with os.scandir(d) as it:
                found.update(e.path for e in it if e.name.endswith(TF_SUFFIXES) and e.is_file())
        except OSError:
            continue
    return sorted(found)


def run_unit_mirrored(unit: ScanUnit, selection: CheckSelection) -> GraphRun:
    """Checkov's run of a unit with OpenTofu files, on a scratch mirror of the files it reads.

    The mirror (:class:`~tfguard.checks.graph.Mirror`) is a byte copy in which ``x.tofu`` is
    ``x.tf`` and an overridden ``x.tf`` is left out; every record is mapped back to the real file
    (same text, so the same lines). What ``checkov -d`` reports on a copy renamed that way.
    """
    base = os.path.commonpath([unit.root, *unit.dirs])
    mirror = Mirror(base)
    try:
        contents: dict[str, bytes] = {}
        for f in unit_files(unit):
            try:
                contents[f] = read_regular(f, DEFAULT_MAX_FILE_BYTES)
            except FileRefused:
                continue  # vanished, unreadable or not a regular file: Checkov would not read it either
        mirror.sync(contents)
        var_files = tuple(mirror.path_for(f) if f in contents else f for f in unit.var_files)
        return run_checkov(mirror.path_for(unit.root), selection, recursive=unit.recursive,
                           path_map=mirror.path_map, renamed=mirror.renamed, var_files=var_files,
                           skip_paths=unit.skip_paths)
    finally:
        mirror.close()


def _run_unit(unit: ScanUnit) -> UnitResult:
    root = unit.root
    try:
        if unit_has_tofu(unit):
            return root, run_unit_mirrored(unit, _worker_selection), None, None
        return root, run_checkov(root, _worker_selection, recursive=unit.recursive, var_files=unit.var_files,
                                 skip_paths=unit.skip_paths), None, None
    except Exception as e:  # one unit failing never loses the others
        log.debug("checkov failed on %s", root, exc_info=True)  # reported as an "engine" problem
        return root, None, f"{type(e).__name__}: {e}", None


def _run_unit_in_worker(unit: ScanUnit) -> UnitResult:
    if not keep_worker_memos:
        return _run_unit(unit)
    before = memo.marks()
    root, run, error, _ = _run_unit(unit)
    return root, run, error, memo.added_since(before)


def unit_cost(unit: ScanUnit) -> int:
    """How long a unit runs, roughly: the bytes of the Terraform files it reads (longest first packs better)."""
    total = 0
    for d in unit.dirs:
        try:
            total += sum(e.stat().st_size for e in os.scandir(d) if e.name.endswith(TF_SUFFIXES))
        except OSError:
            pass
    return total


def run_units(
    units: list[ScanUnit],
    selection: CheckSelection,
    *,
    cache: ResultCache | None = None,
    max_workers: int | None = None,
    prepare: Callable[[], None] | None = None,
    progress: Callable[[int, int, str | None], None] | None = None,
) -> tuple[list[GraphRun], list[tuple[str, str]]]:
    """Checkov's runner on every unit (cached, in parallel). Returns the runs and (root, error) failures.

    Checkov is imported only when some unit is not in the cache; ``prepare`` runs (in this
    process, before any worker starts) only then too. ``progress(done, total, running)`` is called
    once the workers exist and as each unit finishes (see :mod:`tfguard.scan.progress`).
    """
    global _worker_selection
    config = selection.digest
    version = checkov_version()
    keys = {u.root: unit_key(u, version, config) for u in units} if cache is not None and cache.directory else {}
    runs: list[GraphRun] = []
    todo: list[ScanUnit] = []
    for u in units:
        hit = cached_run(cache, keys[u.root]) if cache is not None and u.root in keys else None
        if hit is not None:
            runs.append(hit)
        else:
            todo.append(u)
    if not todo:
        return runs, []
    checkov_modules()
    graph_check_ids()  # load the graph checks once, before forking
    if prepare is not None:
        prepare()
    todo.sort(key=unit_cost, reverse=True)  # longest first: better packing on few cores
    failures: list[tuple[str, str]] = []
    workers = min(max_workers or os.cpu_count() or 1, len(todo))
    _worker_selection = selection
    results: Iterable[UnitResult]
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("fork")
        # Workers inherit checkov_modules()'s memos (checks/memo.py): a module that several units
        # call is parsed once per worker, not once per unit.
        with ctx.Pool(workers) as pool:
            if progress is None:
                results = list(pool.imap_unordered(_run_unit_in_worker, todo, chunksize=1))
            else:
                results = []
                pending = [u.root for u in todo]  # in dispatch order: the first still pending is running
                progress(len(runs), len(units), pending[0])
                for result in pool.imap_unordered(_run_unit_in_worker, todo, chunksize=1):
                    results.append(result)
                    pending.remove(result[0])
                    progress(len(runs) + len(results), len(units), pending[0] if pending else None)
        for *_, added in results:
            if added is not None:
                memo.absorb(added)
    else:
        results = []
        for u in todo:
            if progress is not None:
                progress(len(runs) + len(results), len(units), u.root)
            results.append(_run_unit(u))
        if progress is not None:
            progress(len(units), len(units), None)
    for root, run, error, _ in results:
        if run is None:
            failures.append((root, error or "unknown error"))
            continue
        runs.append(run)
        if cache is not None and root in keys:
            cache.put("units", keys[root], run_to_json(run))
    return runs, failures
