"""The scan cache: JSON entries on disk, content-keyed, checksummed, bounded. No pickle.

One class (:class:`ResultCache`), one layout, one format for everything ``tfguard scan`` caches:
per-unit Checkov runs (kind ``units``, see :mod:`tfguard.scan.pool`) and whole reports (kind
``scans``, see :mod:`tfguard.scan.runner`).

Layout: ``<dir>/<kind>/<key[:2]>/<key>.json``; directories are created 0700. An entry is one
header line ``tfguard-cache/1 <blake2b-256 hex of the payload>\\n`` followed by the payload (compact
JSON, UTF-8). Entries are written to a temporary file in the same directory and renamed into
place (atomic). An entry is read only when it is a regular file owned by the current user, opened
with ``O_NOFOLLOW|O_NONBLOCK`` and checked with ``fstat`` (a planted symlink or FIFO never
redirects or blocks a scan); a bad header, a checksum mismatch, undecodable JSON or (in the
callers) a wrong shape is a miss, never an error. :meth:`ResultCache.prune` evicts the least
recently used entries beyond ``max_entries`` / ``max_bytes``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import stat
import tempfile
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

MAGIC = b"tfguard-cache/1 "
DEFAULT_MAX_ENTRIES = 4096
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
_KEY = re.compile(r"[0-9a-f]{8,128}")
_KIND = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def checksum(payload: bytes) -> bytes:
    """The checksum of an entry's payload (hex, ASCII)."""
    return hashlib.blake2b(payload, digest_size=32).hexdigest().encode("ascii")


class ResultCache:
    """JSON values on disk under ``directory`` (None: a cache that never hits and stores nothing)."""

    def __init__(self, directory: str | None, *, max_entries: int = DEFAULT_MAX_ENTRIES,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.directory = directory or None
        self.max_entries = max_entries
        self.max_bytes = max_bytes

    def path(self, kind: str, key: str) -> str:
        """Where the entry ``kind``/``key`` lives (``key``: lowercase hex)."""
        if self.directory is None or not _KIND.fullmatch(kind) or not _KEY.fullmatch(key):
            raise ValueError(f"bad cache entry name {kind}/{key}")
        return os.path.join(self.directory, kind, key[:2], key + ".json")

    def get(self, kind: str, key: str) -> Any | None:
        """The value stored as ``kind``/``key``, or None (absent, unsafe, corrupt)."""
        if self.directory is None:
            return None
        try:
            path = self.path(kind, key)
            data = self._read(path)
        except (OSError, ValueError):
            return None
        if data is None:
            return None
        head, sep, payload = data.partition(b"\n")
        if not sep or not head.startswith(MAGIC) or head[len(MAGIC):] != checksum(payload):
            log.debug("scan cache entry %s is corrupt: ignored", path)
            return None
        try:
            return json.loads(payload)
        except ValueError:  # UnicodeDecodeError and JSONDecodeError included
            return None

    def load(self, kind: str, key: str, decode: Callable[[Any], T]) -> T | None:
        """:meth:`get`, turned into a value by ``decode``; an entry of the wrong shape (``decode`` raises
        KeyError, TypeError or ValueError) is a miss like a corrupt one."""
        data = self.get(kind, key)
        if data is None:
            return None
        try:
            return decode(data)
        except (KeyError, TypeError, ValueError):
            log.debug("scan cache entry %s/%s has a wrong shape: ignored", kind, key)
            return None

    def _read(self, path: str) -> bytes | None:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_size > self.max_bytes:
                log.debug("scan cache entry %s is not a regular file of this user: ignored", path)
                return None
            chunks = []
            left = st.st_size + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            try:
                os.utime(fd)  # recently used: evicted last
            except OSError:
                pass
            return b"".join(chunks)
        finally:
            os.close(fd)

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serialisable) as ``kind``/``key``, atomically; failures are logged."""
        if self.directory is None:
            return
        try:
            path = self.path(kind, key)
            payload = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except (ValueError, TypeError) as e:
            log.warning("cannot cache %s/%s: %s", kind, key, e)
            return
        d = os.path.dirname(path)
        try:
            self._makedirs(d)
            fd, tmp = tempfile.mkstemp(dir=d, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(MAGIC + checksum(payload) + b"\n" + payload)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as e:
            log.warning("cannot write scan cache %s: %s", path, e)

    def _makedirs(self, d: str) -> None:
        """``d`` (an entry's directory) and the cache directory above it, each created 0700."""
        assert self.directory is not None
        top = os.path.abspath(self.directory)
        parent = os.path.dirname(top)
        if parent and not os.path.isdir(parent):
            os.makedirs(parent, exist_ok=True)
        rel = os.path.relpath(d, top)
        cur = top
        for part in [""] + rel.split(os.sep):
            cur = os.path.join(cur, part) if part else cur
            try:
                os.mkdir(cur, 0o700)
            except FileExistsError:
                pass

    def prune(self) -> int:
        """Evict the least recently used entries beyond the bounds; returns how many were removed."""
        if self.directory is None:
            return 0
        entries: list[tuple[float, int, str]] = []
        try:
            kinds = list(os.scandir(self.directory))
        except OSError:
            return 0
        for k in kinds:
            if not k.is_dir(follow_symlinks=False):
                continue
            for sub in _scandir(k.path):
                if not sub.is_dir(follow_symlinks=False):
                    continue
                for e in _scandir(sub.path):
                    if not e.name.endswith(".json"):
                        continue
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    entries.append((st.st_mtime, st.st_size, e.path))
        total = sum(size for _, size, _ in entries)
        if len(entries) <= self.max_entries and total <= self.max_bytes:
            return 0
        entries.sort()
        removed = 0
        for _, size, p in entries:
            if len(entries) - removed <= self.max_entries and total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                os.unlink(p)
            removed += 1
            total -= size
        log.info("scan cache: %d old entries evicted", removed)
        return removed


def _scandir(path: str) -> list[os.DirEntry[str]]:
    try:
        return list(os.scandir(path))
    except OSError:
        return []


def default_cache_dir(environ: Mapping[str, str] | None = None) -> str | None:
    """``$TFGUARD_CACHE_DIR``, else ``$XDG_CACHE_HOME/tfguard``, else ``~/.cache/tfguard``.

    ``TFGUARD_CACHE_DIR`` set to "", "off" or "0" disables the cache. ``environ``: the variables to
    read (the CLI passes its invocation's); None: this process's.
    """
    env = os.environ if environ is None else environ
    explicit = env.get("TFGUARD_CACHE_DIR")
    if explicit is not None:
        return None if explicit in ("", "off", "0") else explicit
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tfguard")
