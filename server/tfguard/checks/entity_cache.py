"""Tier 1's entity-check results kept on disk between sessions: Checkov's findings before Checkov is imported.

Importing Checkov takes one to two seconds (see :mod:`tfguard.checks.checkov_env`). A language server
reopening an unchanged workspace can show Checkov's per-block findings at once from what the last
session computed, then confirm them once Checkov is in: tier 1 checks every block again (the results
are keyed by whether Checkov's checks were pending), and a result that differs replaces the cached one,
on screen and on disk. Cached results are shown only with the "checks are loading" notice: they are
never taken as the confirmed answer.

What a result is computed from is its key: the block's evaluated value (its entity with the module's
variables and locals substituted, :func:`tfguard.checks.entity.prepare_entity`), its skip comments, the
check selection of the effective configuration (``check``/``skip-check``) and the mirrored file name the
checks see. Everything that could change a result for the same key is in the name of the file it is
stored in (a *shard*, one per module directory): the format, Checkov's version and a fingerprint of its
installation (its RECORD and check directories, read without importing it, :func:`environment_fingerprint`),
tfguard's version and a fingerprint of its check adapters. Results computed with Python custom checks
loaded (``allowPythonChecks``) are never stored.

Data, not code: one JSON value per shard in a :class:`tfguard.scan.cache.ResultCache` (checksummed,
atomic writes, regular files of this user only, least recently used shards evicted beyond the bounds).
A shard that is corrupt or of the wrong shape is ignored with one log line; it is rewritten on the
next flush. Each shard keeps at most :data:`MAX_ENTRIES` results (least recently used dropped).

Off unless :func:`configure` is called (the language server does, with the scan cache's directory:
``$TFGUARD_CACHE_DIR``, else ``$XDG_CACHE_HOME/tfguard``, else ``~/.cache/tfguard``; "", "off" or "0"
disables it). No LSP imports: core.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import json
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from tfguard import __version__
from tfguard.scan.cache import ResultCache, default_cache_dir

log = logging.getLogger(__name__)

FORMAT = 1
KIND = "entity"  # the ResultCache kind the shards are stored under
SUBDIR = "tier1"  # under the cache directory: bounds of its own, apart from the scan's entries
MAX_ENTRIES = 3000  # results per shard (a module directory); about 1-3 KB each
MAX_SHARDS = 512  # module directories kept
MAX_BYTES = 256 * 1024 * 1024
FLUSH_DELAY = 2.0  # seconds after the first result not yet written before the shards are written
_VERSION_LINE = re.compile(r"""version\s*=\s*['"]([^'"]+)['"]""")
_CHECK_TREES = ("terraform/checks/resource", "terraform/checks/data", "terraform/checks/provider",
                "terraform/checks/module")

RawTuple = tuple[str, str, str, tuple[str, ...], str | None, tuple[str, ...], str | None]
"""A :class:`tfguard.checks.entity.RawResult` as stored: (id, name, result, keys, suppress comment, details, error)."""


def default_directory(environ: Mapping[str, str] | None = None) -> str | None:
    """The scan cache's directory (:func:`tfguard.scan.cache.default_cache_dir`) plus ``tier1``; None: off."""
    base = default_cache_dir(environ)
    return os.path.join(base, SUBDIR) if base else None


def _tree_fingerprint(h: Any, top: str, subdirs: tuple[str, ...], files: bool) -> None:
    """Names, sizes and modification times under ``top``/``subdirs``: of the files (``files``), else of the
    directories only (a check added, removed or renamed changes its directory's time)."""
    for sub in subdirs:
        stack = [os.path.join(top, sub)]
        while stack:
            d = stack.pop()
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
                st = os.stat(d)
            except OSError:
                h.update(f"!{os.path.relpath(d, top)}".encode())
                continue
            h.update(f"{os.path.relpath(d, top)}/:{st.st_mtime_ns}\n".encode())
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    if e.name != "__pycache__":
                        stack.append(e.path)
                elif files and e.name.endswith(".py"):
                    try:
                        fst = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    h.update(f"{os.path.relpath(e.path, top)}:{fst.st_size}:{fst.st_mtime_ns}\n".encode())


def _record_digest(top: str, version: str) -> str:
    """The digest of Checkov's installed RECORD (the hash of every file the wheel installed), "" if absent."""
    parent = os.path.dirname(top)
    try:
        names = [n for n in os.listdir(parent) if n.startswith("checkov-") and n.endswith(".dist-info")]
    except OSError:
        return ""
    names.sort(key=lambda n: n != f"checkov-{version}.dist-info")
    for name in names:
        try:
            with open(os.path.join(parent, name, "RECORD"), "rb") as f:
                return hashlib.blake2b(f.read(), digest_size=16).hexdigest()
        except OSError:
            continue
    return ""


def environment_fingerprint() -> tuple[str, str]:
    """(Checkov's version, a digest of what could change a result for the same key), from the installed files
    without importing Checkov (about a millisecond): Checkov's version and RECORD (every installed file's
    hash), the times of its check directories, tfguard's version and its adapters' files (rendering, results,
    skips). A check module edited in place after installation is not seen here: the confirmation once
    Checkov is imported replaces what it changed."""
    spec = importlib.util.find_spec("checkov")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        return "", ""
    top = locations[0]
    version = ""
    try:
        with open(os.path.join(top, "version.py"), encoding="utf-8") as f:
            m = _VERSION_LINE.search(f.read())
            version = m.group(1) if m else ""
    except OSError:
        pass
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{FORMAT}|{version}|{__version__}|{_record_digest(top, version)}\n".encode())
    _tree_fingerprint(h, top, _CHECK_TREES, files=False)
    here = os.path.dirname(os.path.abspath(__file__))  # tfguard's adapters: rendering, results, skips
    _tree_fingerprint(h, os.path.dirname(here), ("checks",), files=True)
    return version, h.hexdigest()


def entry_key(block_type: str, prepared: Any, skips: list[tuple[str, str]], selection: str, scanned_file: str) -> str:
    """The key of one result: what it is computed from (see the module's docstring)."""
    payload = json.dumps([block_type, prepared, skips, selection, scanned_file], sort_keys=True, default=str)
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


class _Shard:
    __slots__ = ("entries", "dirty")

    def __init__(self, entries: OrderedDict[str, list[RawTuple]]) -> None:
        self.entries = entries
        self.dirty = False


class EntityCache:
    """Results per module directory, on disk under ``directory`` (None: never hits, stores nothing)."""

    def __init__(self, directory: str | None, *, max_entries: int = MAX_ENTRIES, max_shards: int = MAX_SHARDS,
                 max_bytes: int = MAX_BYTES, fingerprint: tuple[str, str] | None = None) -> None:
        self.store = ResultCache(directory, max_entries=max_shards, max_bytes=max_bytes)
        self.max_entries = max(1, max_entries)
        self._fingerprint = fingerprint
        self._shards: dict[str, _Shard] = {}
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.disabled = directory is None
        self.hits = 0
        self.wanted = False  # a document was analysed without the results kept for it (before its turn)

    @property
    def directory(self) -> str | None:
        return self.store.directory

    def fingerprint(self) -> tuple[str, str]:
        if self._fingerprint is None:
            self._fingerprint = environment_fingerprint()
        return self._fingerprint

    def _shard_key(self, module_dir: str) -> str:
        version, digest = self.fingerprint()
        payload = json.dumps([FORMAT, os.path.abspath(module_dir), version, digest])
        return hashlib.blake2b(payload.encode(), digest_size=20).hexdigest()

    def _shard(self, module_dir: str) -> _Shard:
        """The shard of ``module_dir``, read from disk the first time (under ``_lock``)."""
        shard = self._shards.get(module_dir)
        if shard is not None:
            return shard
        entries: OrderedDict[str, list[RawTuple]] = OrderedDict()
        if not self.disabled and self.fingerprint()[1]:
            key = self._shard_key(module_dir)
            path = self.store.path(KIND, key)
            if os.path.lexists(path):
                data = self.store.get(KIND, key)
                try:
                    entries = _decode(data, module_dir)
                except (KeyError, TypeError, ValueError):
                    log.warning("tier-1 result cache %s is corrupt or unreadable: ignored (rewritten on the next "
                                "save)", path)
                    entries = OrderedDict()
        shard = _Shard(entries)
        self._shards[module_dir] = shard
        return shard

    def has(self, module_dir: str) -> bool:
        """True when results for ``module_dir`` were kept by an earlier session (reads its shard)."""
        if self.disabled:
            return False
        with self._lock:
            return bool(self._shard(module_dir).entries)

    def lookup(self, module_dir: str, key: str) -> list[RawTuple] | None:
        if self.disabled:
            return None
        with self._lock:
            shard = self._shard(module_dir)
            got = shard.entries.get(key)
            if got is not None:
                shard.entries.move_to_end(key)
                self.hits += 1
            return got

    def record(self, module_dir: str, key: str, results: list[RawTuple]) -> None:
        """A result computed by Checkov's checks (replaces a cached one that differs); written on the next flush."""
        if self.disabled:
            return
        with self._lock:
            shard = self._shard(module_dir)
            old = shard.entries.get(key)
            if old is not None:
                shard.entries.move_to_end(key)
                if old == results:
                    return
                log.info("tier-1 result cache: a cached result differed from Checkov's, replaced")
            shard.entries[key] = results
            while len(shard.entries) > self.max_entries:
                shard.entries.popitem(last=False)
            shard.dirty = True
            self._schedule()

    def _schedule(self) -> None:
        """A flush :data:`FLUSH_DELAY` seconds after the first result not yet written (one timer at a time)."""
        if self._timer is not None and self._timer.is_alive():
            return
        t = threading.Timer(FLUSH_DELAY, self.flush)
        t.daemon = True
        t.name = "tfguard-tier1-cache-flush"
        self._timer = t
        t.start()

    def disable(self, reason: str) -> None:
        """Store and show nothing more in this process (Python custom checks are loaded, …)."""
        with self._lock:
            if not self.disabled:
                log.info("tier-1 result cache off: %s", reason)
            self.disabled = True
            self._shards.clear()
            if self._timer is not None:
                self._timer.cancel()

    def flush(self) -> int:
        """Write the shards that changed; returns how many were written. Thread-safe; never raises."""
        with self._lock:
            self._timer = None  # results recorded from here on schedule the next flush
            if self.disabled:
                return 0
            todo = [(d, s, [[k, v] for k, v in s.entries.items()]) for d, s in self._shards.items() if s.dirty]
            for _d, s, _v in todo:
                s.dirty = False
        if not todo:
            return 0
        if _custom_checks_loaded():
            self.disable("Python custom checks are loaded (allowPythonChecks)")
            return 0
        directory = self.store.directory
        try:
            if directory is not None:
                os.makedirs(directory, mode=0o700, exist_ok=True)
                if not os.access(directory, os.W_OK | os.X_OK):
                    raise PermissionError(f"not writable: {directory}")
        except OSError as e:  # said once, not on every flush
            log.warning("tier-1 result cache off: cannot write %s (%s)", directory, e)
            self.disable("cannot write")
            return 0
        version, digest = self.fingerprint()
        for module_dir, _s, entries in todo:
            value = {"format": FORMAT, "module": os.path.abspath(module_dir), "checkov": version,
                     "fingerprint": digest, "tfguard": __version__, "entries": entries}
            self.store.put(KIND, self._shard_key(module_dir), value)
        self.store.prune()
        return len(todo)


def _decode(data: Any, module_dir: str) -> OrderedDict[str, list[RawTuple]]:
    """A shard's entries; raises KeyError, TypeError or ValueError on a wrong shape."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a tier-1 cache shard")
    if data["module"] != os.path.abspath(module_dir):
        raise ValueError("another module's shard")
    out: OrderedDict[str, list[RawTuple]] = OrderedDict()
    for key, results in data["entries"]:
        if not isinstance(key, str) or not isinstance(results, list):
            raise TypeError("bad entry")
        out[key] = [_raw_tuple(r) for r in results]
    return out


def _raw_tuple(r: Any) -> RawTuple:
    if not isinstance(r, list) or len(r) != 7:
        raise TypeError("bad result")
    check_id, name, result, keys, suppress, details, error = r
    if not (isinstance(check_id, str) and isinstance(name, str) and result in ("FAILED", "PASSED", "SKIPPED", "ERROR")
            and isinstance(keys, list) and all(isinstance(k, str) for k in keys)
            and (suppress is None or isinstance(suppress, str))
            and isinstance(details, list) and all(isinstance(d, str) for d in details)
            and (error is None or isinstance(error, str))):
        raise TypeError("bad result")
    return (check_id, name, result, tuple(keys), suppress, tuple(details), error)


def _custom_checks_loaded() -> bool:
    """True when an entity registry holds a check that is not Checkov's own (Python custom checks)."""
    from tfguard.checks import checkov_env

    modules = checkov_env.loaded_modules()
    if modules is None:
        return False
    for registry in modules.registries.values():
        for checks in list(getattr(registry, "checks", {}).values()):
            for check in list(checks):
                if not type(check).__module__.startswith("checkov."):
                    return True
    return False


_cache: EntityCache | None = None


def configure(directory: str | None) -> EntityCache:
    """Turn the cache on for this process (``directory``: None turns it off); shards are written at exit too."""
    global _cache
    _cache = EntityCache(directory)
    atexit.register(_cache.flush)
    return _cache


def current() -> EntityCache | None:
    """The process's cache, when :func:`configure` was called and it is on."""
    c = _cache
    return c if c is not None and not c.disabled else None
