"""The size budget of one file: what tfguard refuses to analyse before parsing it, and the lanes of tier 1.

Parsing is where time and memory go (a 3.7 MB file of 100,000 one-line resources takes the block
splitter alone 30 s and 240 MB, then a parse and the checks per block; the server reached 2.4 GB).
So the budget is counted *before* anything is split or parsed, in one C-level pass: the number of
``{`` in the text, an upper bound of the blocks, nested blocks and objects the parser would build
(every block has one; a one-line file cannot hide its blocks from it). The largest real files of
the corpora hold under 300 (``terraform-aws-vpc/variables.tf``: 296; the largest module: 666).

- :func:`over_budget`: a file over :data:`MAX_BRACES_PER_FILE` is *not analysed* by either tier: one
  located problem (code ``too-large``, so ``tfguard scan`` fails closed with exit 2), as for a file
  over ``maxFileBytes``. Checkov does not read it either (``checks/readguard.py``).
- :func:`module_over_budget`: likewise for every file of a module whose files add up to more than
  :data:`MAX_BRACES_PER_MODULE` (many files, each under the file budget).
- :func:`is_heavy`: a module whose files add up to more than :data:`HEAVY_MODULE_BYTES` is analysed by
  the language server's second tier-1 lane, so it never holds up the edits of other modules.

``$TFGUARD_MAX_BRACES`` sets the per-file budget (0: none). Imported by the engine (:mod:`tfguard.engine.texts`),
Checkov's read guard (:mod:`tfguard.checks.readguard`) and the language server's scheduler.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Mapping

from tfguard.files import DEFAULT_MAX_FILE_BYTES, FileRefused, is_terraform_file, read_regular
from tfguard.model import Problem, Severity, Span

MAX_BRACES_PER_FILE = 5_000  # ~17 times the largest real file of the corpora
MAX_BRACES_PER_MODULE = 20_000  # ~30 times the largest real module (many files each under the file budget)
HEAVY_MODULE_BYTES = 64 * 1024  # terraform-aws-vpc (144 KB) is heavy: it only shares its lane with other heavy ones
BUDGET_MESSAGE = "not analysed: over the time/size budget"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return max(0, int(raw)) if raw.strip() else default
    except ValueError:
        return default


def max_braces() -> int:
    """The per-file budget in force (``$TFGUARD_MAX_BRACES``, else :data:`MAX_BRACES_PER_FILE`; 0: none)."""
    return _env_int("TFGUARD_MAX_BRACES", MAX_BRACES_PER_FILE)


def braces(text: str | bytes) -> int:
    """The budget's measure of ``text``: its ``{`` (one pass, no allocation)."""
    if isinstance(text, bytes):
        return text.count(b"{")
    return text.count("{")


def over_budget(path: str, text: str | bytes, limit: int | None = None) -> Problem | None:
    """The problem of a file over the budget (it is not analysed), or None when it is within it."""
    limit = max_braces() if limit is None else limit
    if limit <= 0 or len(text) <= limit:  # fewer characters than the budget: within it, not even counted
        return None
    n = braces(text)
    if n <= limit:
        return None
    return Problem(path, Span.of(0, 0, 0, 1),
                   f"File {BUDGET_MESSAGE} ({n:,} blocks or objects, over the {limit:,} a file may hold; "
                   "$TFGUARD_MAX_BRACES): no findings are shown for it", "too-large", Severity.MEDIUM)


_counts: dict[tuple[str, int, int], int] = {}  # (path, size, mtime) -> braces of a file on disk
_counts_lock = threading.Lock()


def _disk_braces(path: str, size: int, mtime: int) -> int:
    key = (path, size, mtime)
    with _counts_lock:
        hit = _counts.get(key)
    if hit is not None:
        return hit
    try:
        n = braces(read_regular(path, DEFAULT_MAX_FILE_BYTES))
    except FileRefused:
        n = 0  # not read by anyone: its own problem says why
    with _counts_lock:
        if len(_counts) > 10_000:
            _counts.clear()
        _counts[key] = n
    return n


def module_over_budget(path: str, overlays: Mapping[str, str] | None = None,
                       limit: int | None = None) -> Problem | None:
    """The problem of ``path`` when its module (the Terraform files of its folder, unsaved text counted
    instead of the disk's) is over :data:`MAX_BRACES_PER_MODULE` (``$TFGUARD_MAX_MODULE_BRACES``), else None.

    Every file of such a module is not analysed: a module of many files, each under the file budget,
    would otherwise still be parsed whole (module context, tier 2). A module with fewer bytes than the
    budget is within it without reading anything; otherwise each file's count is kept by its ``stat``.
    """
    limit = _env_int("TFGUARD_MAX_MODULE_BRACES", MAX_BRACES_PER_MODULE) if limit is None else limit
    if limit <= 0:
        return None
    module_dir = os.path.dirname(os.path.abspath(path))
    unsaved = {p: t for p, t in (overlays or {}).items() if os.path.dirname(p) == module_dir and is_terraform_file(p)}
    disk: list[tuple[str, int, int]] = []
    total_bytes = sum(len(t) for t in unsaved.values())
    try:
        with os.scandir(module_dir) as it:
            for e in it:
                if e.path in unsaved or not is_terraform_file(e.name):
                    continue
                try:
                    st = e.stat()
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    disk.append((e.path, st.st_size, st.st_mtime_ns))
                    total_bytes += st.st_size
    except OSError:
        pass
    if total_bytes <= limit:
        return None
    total = sum(braces(t) for t in unsaved.values()) + sum(_disk_braces(*d) for d in disk)
    if total <= limit:
        return None
    return Problem(path, Span.of(0, 0, 0, 1),
                   f"File {BUDGET_MESSAGE}: its module holds {total:,} blocks or objects, over the {limit:,} a "
                   "module may hold ($TFGUARD_MAX_MODULE_BRACES); no findings are shown for its files",
                   "too-large", Severity.MEDIUM)


def module_bytes(module_dir: str, overlays: dict[str, str] | None = None) -> int:
    """Bytes of the Terraform files directly in ``module_dir`` (unsaved text counted instead of the disk's)."""
    total = 0
    seen: set[str] = set()
    for path, text in (overlays or {}).items():
        if os.path.dirname(path) == module_dir and is_terraform_file(path):
            total += len(text)
            seen.add(path)
    try:
        with os.scandir(module_dir) as it:
            for e in it:
                if e.path not in seen and is_terraform_file(e.name):
                    try:
                        if e.is_file():
                            total += e.stat().st_size
                    except OSError:
                        continue
    except OSError:
        pass
    return total


def is_heavy(module_dir: str, overlays: dict[str, str] | None = None) -> bool:
    """True when tier 1 of ``module_dir`` belongs in the heavy lane (its files are large)."""
    return module_bytes(module_dir, overlays) > HEAVY_MODULE_BYTES


__all__ = ["BUDGET_MESSAGE", "HEAVY_MODULE_BYTES", "MAX_BRACES_PER_FILE", "MAX_BRACES_PER_MODULE", "braces",
           "is_heavy", "max_braces", "module_bytes", "module_over_budget", "over_budget"]
