"""Baselines: record today's findings, then report and gate only new ones.

``tfguard scan --create-baseline FILE`` writes the failed findings of a scan; ``tfguard scan
--baseline FILE`` marks every failed finding that the baseline already holds as *unchanged*
(reported as baselined, never gating ``--fail-on``) and the others as *new*. The language server
uses :func:`load_baseline` and :meth:`Baseline.contains` to show baselined findings as hints or
hide them.

Fingerprint (``tfguard/v2``)
----------------------------
SHA-256 (first 32 hex digits) of::

    check id | file path relative to the root (``/`` separators) | resource address | content

where *content* is the text of the **evaluated attribute(s)** of the finding (``cidr_blocks = [..]``
or a nested block such as ``versioning { .. }``) as written in the file, normalised: tokenised
with tfguard's HCL lexer, comments dropped, every token but quoted strings stripped of whitespace
(heredocs included), tokens joined by one space. When Checkov names no attribute, or the attribute
is absent (a *missing* setting), content is empty. Consequences, by design:

- no line numbers: moving a block, inserting lines above it or reformatting it (``terraform
  fmt``, indentation, blank lines, comments) keeps the fingerprint;
- edits to other blocks, and to other attributes of the same block (adding tags), keep it;
- changing the offending value (``10.0.0.0/8`` to ``0.0.0.0/0``) makes a *new* finding: the risk
  that was accepted is not the one that is there now;
- renaming the resource or moving it to another file makes a new finding (new identity).

Several findings can share a fingerprint (the same check reported twice on one resource, e.g.
through several module calls). A baseline stores a count per fingerprint; when a scan has more
findings with a fingerprint than the baseline holds, the surplus (last in file order) is new.
SARIF ``partialFingerprints`` carry the fingerprint with its occurrence number (``<fp>:<n>``).

Paths are relative to the scan root (``tfguard scan PATH``: PATH, or its folder for a file); the
baseline file records that root relative to its own folder, and :meth:`Baseline.contains` also
tries it, so a baseline made with ``tfguard scan .`` at the repository root matches in an editor
opened on that folder or on a subfolder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tfguard import __version__
from tfguard.hcl.blocks import Block, Item, SplitFile, split_blocks
from tfguard.hcl.lexer import Tok, tokenize
from tfguard.model import Finding, Result

BASELINE_VERSION = 1
FINGERPRINT_KIND = "tfguard/v2"
UNCHANGED, NEW = "unchanged", "new"


class BaselineError(ValueError):
    """A baseline file that cannot be read or is not a tfguard baseline."""


def rel_path(path: str, root: str) -> str:
    """``path`` relative to ``root`` with ``/`` separators (``path`` itself when outside ``root``)."""
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        rel = path
    if rel.startswith(".."):
        rel = path
    return rel.replace(os.sep, "/")


def normalize(text: str) -> str:
    """Whitespace- and comment-insensitive form of HCL text (see the module docstring)."""
    parts = []
    for tok in tokenize(text):
        if tok.kind in (Tok.COMMENT, Tok.NEWLINE):
            continue
        raw = tok.text(text)
        parts.append(raw if tok.kind is Tok.STRING else "".join(raw.split()))
    return " ".join(p for p in parts if p)


class _Splits:
    """Block splits of files, cached by content (disk text by mtime and size)."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._cache: dict[tuple[str, Any], SplitFile] = {}
        self._lock = threading.Lock()

    def get(self, path: str, text: str | None) -> SplitFile | None:
        if text is None:
            try:
                st = os.stat(path)
            except OSError:
                return None
            stamp: Any = (st.st_mtime_ns, st.st_size)
        else:
            stamp = hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()
        key = (path, stamp)
        with self._lock:
            got = self._cache.get(key)
        if got is not None:
            return got
        if text is None:
            from tfguard.files import read_disk

            text, _ = read_disk(path)
            if text is None:
                return None
        split = split_blocks(text)
        with self._lock:
            if len(self._cache) >= self._size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = split
        return split


_SPLITS = _Splits()


def _block_at(split: SplitFile, line: int) -> Block | None:
    for b in split.blocks:
        if b.start_line == line:
            return b
    for b in split.blocks:  # a finding whose range starts inside a block (rare: nested entities)
        if b.start_line <= line <= b.end_line:
            return b
    return None


_INDEX = re.compile(r"^\[?(\d+)\]?$")


def _item_for_key(block: Block, key: str) -> Item | None:
    """The attribute or nested block an evaluated key (``ingress/[1]/cidr_blocks``) names, as written.

    Indices pick among repeated nested blocks (the second ``ingress``); ``*`` and absent parts: None.
    """
    path: tuple[str, ...] = ()
    scope: tuple[int, int] = (block.start, block.end)
    found: Item | None = None
    parts = [p for p in key.split("/") if p]
    i = 0
    while i < len(parts):
        part = parts[i]
        if part == "*" or _INDEX.match(part):
            return None  # an index not right after a name, or a wildcard
        path = path + (part,)
        candidates = [it for it in block.items if it.path == path and scope[0] <= it.start and it.end <= scope[1]]
        index = 0
        if i + 1 < len(parts):
            m = _INDEX.match(parts[i + 1])
            if m:
                index = int(m.group(1))
                i += 1
        if index >= len(candidates):
            return None
        found = candidates[index]
        scope = (found.start, found.end)
        i += 1
    return found


def evaluated_content(finding: Finding, text: str | None = None) -> str:
    """Normalised text of the finding's evaluated attribute(s) in its file ("" when none is there).

    ``text`` is the file's current text (an editor's unsaved buffer); None reads the disk.
    """
    if not finding.evaluated_keys:
        return ""
    split = _SPLITS.get(finding.file, text)
    if split is None:
        return ""
    block = _block_at(split, finding.line_range[0])
    if block is None:
        return ""
    seen: list[str] = []
    for k in finding.evaluated_keys:
        item = _item_for_key(block, k)
        if item is None:
            continue
        norm = normalize(split.text[item.start:item.end])
        if norm not in seen:
            seen.append(norm)
    return "\n".join(sorted(seen))


def fingerprint(finding: Finding, root: str, text: str | None = None, content: str | None = None) -> str:
    """The ``tfguard/v2`` fingerprint of ``finding`` (module docstring); ``root`` is the scan root.
    ``content``: its :func:`evaluated_content` when already known (a cached report carries it)."""
    if content is None:
        content = evaluated_content(finding, text)
    key = "|".join((finding.check_id, rel_path(finding.file, root), finding.resource, content))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _file_order(f: Finding) -> tuple[str, int, int, str]:
    return (f.file, f.line_range[0], f.span.start.line, f.check_id)


def fingerprints(findings: Iterable[Finding], root: str,
                 known: Mapping[Finding, str] | None = None) -> dict[int, tuple[str, int]]:
    """``id(finding) -> (fingerprint, occurrence)`` with occurrences numbered from 1 in file order.
    ``known``: evaluated contents already computed (``ScanReport.evaluated``)."""
    out: dict[int, tuple[str, int]] = {}
    seen: Counter[str] = Counter()
    for f in sorted(findings, key=_file_order):
        fp = fingerprint(f, root, content=known.get(f) if known else None)
        seen[fp] += 1
        out[id(f)] = (fp, seen[fp])
    return out


@dataclass(frozen=True)
class BaselineEntry:
    fingerprint: str
    count: int
    check_id: str
    file: str
    resource: str
    severity: str


@dataclass
class Baseline:
    """Recorded findings: fingerprint -> how many (see the module docstring)."""

    counts: dict[str, int] = field(default_factory=dict)
    entries: list[BaselineEntry] = field(default_factory=list)
    root: str | None = None  # absolute scan root recorded in the file, when known
    path: str | None = None

    def contains(self, finding: Finding, root: str, text: str | None = None) -> bool:
        """True when the baseline holds ``finding``'s fingerprint (computed against ``root``).

        ``text``: the current text of the finding's file (unsaved editor buffer); None reads the disk.
        The baseline's own recorded root is tried too, so the editor's workspace root need not be
        the folder the baseline was created from. Counts are not consumed here: use
        :meth:`classify` for a whole scan.
        """
        if finding.result is not Result.FAILED:
            return False
        for r in self._roots(root):
            if fingerprint(finding, r, text) in self.counts:
                return True
        return False

    def _roots(self, root: str) -> list[str]:
        roots = [os.path.abspath(root)]
        if self.root and os.path.abspath(self.root) not in roots:
            roots.append(os.path.abspath(self.root))
        return roots

    def classify(self, findings: Iterable[Finding], root: str) -> dict[int, str]:
        """``id(finding) -> "unchanged" | "new"`` for the failed findings of one scan.

        A fingerprint the baseline holds ``n`` times matches at most ``n`` findings (file order).
        """
        failed = [f for f in findings if f.result is Result.FAILED]
        remaining = dict(self.counts)
        out: dict[int, str] = {}
        fps_by_root = [fingerprints(failed, r) for r in self._roots(root)]
        for f in sorted(failed, key=_file_order):
            state = NEW
            for fps in fps_by_root:
                fp = fps[id(f)][0]
                if remaining.get(fp, 0) > 0:
                    remaining[fp] -= 1
                    state = UNCHANGED
                    break
            out[id(f)] = state
        return out

    def __len__(self) -> int:
        return sum(self.counts.values())


def create_baseline(findings: Iterable[Finding], root: str) -> Baseline:
    """A baseline of the failed findings of a scan rooted at ``root``."""
    failed = [f for f in findings if f.result is Result.FAILED]
    counts: Counter[str] = Counter()
    first: dict[str, Finding] = {}
    for f in sorted(failed, key=_file_order):
        fp = fingerprint(f, root)
        counts[fp] += 1
        first.setdefault(fp, f)
    entries = [
        BaselineEntry(fp, counts[fp], f.check_id, rel_path(f.file, root), f.resource, f.severity.value)
        for fp, f in sorted(first.items(), key=lambda kv: (kv[1].file, kv[1].resource, kv[1].check_id, kv[0]))
    ]
    return Baseline(counts=dict(counts), entries=entries, root=os.path.abspath(root))


def dump_baseline(baseline: Baseline, path: str) -> str:
    """The JSON text of ``baseline`` as written to ``path`` (its root is stored relative to ``path``)."""
    root_rel = None
    if baseline.root is not None:
        root_rel = rel_path(baseline.root, os.path.dirname(os.path.abspath(path)) or ".")
        if root_rel == "":
            root_rel = "."
    doc = {
        "tfguard_baseline": BASELINE_VERSION,
        "fingerprint": FINGERPRINT_KIND,
        "tool_version": __version__,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "root": root_rel,
        "findings": [
            {"fingerprint": e.fingerprint, "count": e.count, "check_id": e.check_id, "file": e.file,
             "resource": e.resource, "severity": e.severity}
            for e in baseline.entries
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def save_baseline(baseline: Baseline, path: str) -> None:
    """Write ``baseline`` to ``path`` (JSON, stable order: review it in pull requests)."""
    text = dump_baseline(baseline, path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    baseline.path = os.path.abspath(path)


def load_baseline(path: str) -> Baseline:
    """Read a baseline file; raise :class:`BaselineError` when it is unreadable or not a baseline."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise BaselineError(f"cannot read baseline {path}: {e.strerror or e}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BaselineError(f"{path}: not a tfguard baseline (invalid JSON: {e})") from None
    if not isinstance(doc, dict) or doc.get("tfguard_baseline") != BASELINE_VERSION:
        raise BaselineError(f"{path}: not a tfguard baseline (version {BASELINE_VERSION} expected)")
    if doc.get("fingerprint", FINGERPRINT_KIND) != FINGERPRINT_KIND:
        raise BaselineError(f"{path}: fingerprints of kind {doc.get('fingerprint')!r}, expected "
                            f"{FINGERPRINT_KIND!r}: create the baseline again")
    items = doc.get("findings")
    if not isinstance(items, list):
        raise BaselineError(f"{path}: 'findings' must be a list")
    counts: dict[str, int] = {}
    entries: list[BaselineEntry] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("fingerprint"), str):
            raise BaselineError(f"{path}: findings[{i}] has no fingerprint")
        count = item.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise BaselineError(f"{path}: findings[{i}].count must be a positive whole number")
        fp = item["fingerprint"]
        counts[fp] = counts.get(fp, 0) + count
        entries.append(BaselineEntry(fp, count, str(item.get("check_id", "")), str(item.get("file", "")),
                                     str(item.get("resource", "")), str(item.get("severity", ""))))
    root = doc.get("root")
    abs_root = None
    if isinstance(root, str):
        abs_root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), root))
    return Baseline(counts=counts, entries=entries, root=abs_root, path=os.path.abspath(path))


__all__ = [
    "NEW",
    "UNCHANGED",
    "Baseline",
    "BaselineEntry",
    "BaselineError",
    "create_baseline",
    "dump_baseline",
    "evaluated_content",
    "fingerprint",
    "fingerprints",
    "load_baseline",
    "normalize",
    "save_baseline",
]
