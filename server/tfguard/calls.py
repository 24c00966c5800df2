"""Who calls a local module: the ``module`` blocks of a repository with a local ``source`` (issue #18).

:class:`CallIndex` walks the repository once (re-walked at most once a second, each file re-read only
when its size or modification time changed), splits each Terraform file into blocks (no HCL parse)
and records every ``module "name" { source = "./..." }``. It answers who calls a module directory
(explained values of module inputs when Checkov gives no caller) and which **roots** reach it
(blast radius: a root is a directory with Terraform files that no other directory calls).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tfguard.files import is_inside, is_terraform_file
from tfguard.hcl.blocks import SplitFile, resplit, split_blocks

MAX_FILE_BYTES = 2 * 1024 * 1024  # a larger file is not read for its module calls
MAX_FILES = 5000  # bounded walk: a huge tree is cut there (logged by the caller through a short answer)
_SKIP_DIRS = {".git", ".terraform", "node_modules", ".venv", "__pycache__"}
_SOURCE = re.compile(r'^\s*source\s*=\s*"([^"]+)"', re.MULTILINE)


def _has_module_word(text: str) -> bool:
    """``module`` as an identifier of its own (not inside ``terraform-aws-modules`` or ``submodule``): a
    text without it has no module block and is not split (an unsaved file is read on every keystroke)."""
    i = text.find("module")
    while i >= 0:
        before = text[i - 1] if i else " "
        after = text[i + 6] if i + 6 < len(text) else " "
        if not (before.isalnum() or before in "_-") and not (after.isalnum() or after in "_-"):
            return True
        i = text.find("module", i + 6)
    return False


REFRESH_SECONDS = 1.0


_CALL_NAME = re.compile(r"module\.([^.\[]+)(?:\[[^\]]*\])?\.")


def call_chain(resource: str) -> tuple[list[str], str] | None:
    """``module.a[0].module.b.aws_x.y[0]`` -> (["a", "b"], "aws_x.y[0]"): the module call labels, outermost
    first, and the address inside the innermost module; None for a resource that is not in a module."""
    names: list[str] = []
    at = 0
    while (m := _CALL_NAME.match(resource, at)) is not None:
        names.append(m.group(1))
        at = m.end()
    return (names, resource[at:]) if names else None


def call_names(resource: str) -> list[str]:
    """The module call labels of a resource address, outermost first: ``module.a[0].module.b.aws_x.y``
    -> ``["a", "b"]``; ``[]`` for a resource that is not in a module."""
    chain = call_chain(resource)
    return chain[0] if chain else []


@dataclass(frozen=True)
class Call:
    """One ``module`` block calling a local module."""

    caller_file: str  # absolute
    name: str  # the module block's label
    line: int  # 1-based first line of the block
    module_dir: str  # the called directory, absolute and normalised
    end_line: int = 0  # 1-based last line of the block (0: unknown)


class CallIndex:
    """The local module calls under ``root``."""

    def __init__(self, root: str, overlays: Callable[[], dict[str, str]] | None = None) -> None:
        self.root = os.path.abspath(root)
        # the editor's unsaved texts by absolute path (they win over the disk: a call typed, not saved)
        self.overlays = overlays
        self._lock = threading.Lock()
        self._files: dict[str, tuple[object, tuple[Call, ...]]] = {}
        self._splits: dict[str, SplitFile] = {}  # an unsaved file's last split: the next keystroke re-splits its edit
        self._walked = 0.0
        self._paths: tuple[str, ...] = ()  # the Terraform files of the last walk
        self._seen: tuple[tuple[str, int], ...] = ()  # the overlays the calls were read with
        self._inside: dict[str, bool] = {}  # an unsaved path is a Terraform file under the root
        self._calls: tuple[Call, ...] = ()
        self._tf_dirs: frozenset[str] = frozenset()
        # (the walk's calls, each with its real module dir and real caller dir), for through()
        self._real: tuple[tuple[Call, ...], tuple[tuple[Call, str, str], ...]] | None = None

    def _file_calls(self, path: str, unsaved: str | None = None) -> tuple[Call, ...]:
        stamp: object
        if unsaved is not None:
            if len(unsaved) > MAX_FILE_BYTES:
                return ()
            stamp, text = ("unsaved", unsaved), unsaved
            hit = self._files.get(path)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        else:
            try:
                st = os.lstat(path)  # a FIFO, device or symlink named x.tf is never opened
                stamp = (st.st_mtime_ns, st.st_size)
            except OSError:
                return ()
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
                return ()
            hit = self._files.get(path)
            if hit is not None and hit[0] == stamp:
                return hit[1]
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
            except OSError:
                return ()
        out: list[Call] = []
        if _has_module_word(text):
            if unsaved is not None:
                prev = self._splits.get(path)
                split = resplit(prev, text) if prev is not None else split_blocks(text)
                if len(self._splits) > 1000:
                    self._splits.clear()
                self._splits[path] = split
            else:
                split = split_blocks(text)
            for b in split.blocks:
                if b.kind != "module" or not b.labels:
                    continue
                m = _SOURCE.search(b.text)
                if m is None or not m.group(1).startswith(("./", "../")):
                    continue
                target = os.path.normpath(os.path.join(os.path.dirname(path), m.group(1)))
                out.append(Call(path, b.labels[0], b.start_line, target, b.end_line))
        calls = tuple(out)
        self._files[path] = (stamp, calls)
        return calls

    def _refresh(self) -> None:
        now = time.monotonic()
        unsaved = self._unsaved()
        seen = tuple(sorted((p, hash(t)) for p, t in unsaved.items()))  # a str's hash is computed once
        if self._walked and now - self._walked < REFRESH_SECONDS:
            if seen == self._seen:
                return
        else:
            self._walk()
            self._walked = now
        # the unsaved text of a walked file replaces it; an unsaved file not on disk yet is added
        extra = sorted(p for p in unsaved if p not in set(self._paths))
        calls: list[Call] = []
        for path in (*self._paths, *extra):
            calls.extend(self._file_calls(path, unsaved.get(path)))
        self._calls = tuple(calls)
        self._seen = seen
        for path in extra:
            self._tf_dirs = self._tf_dirs | {os.path.normpath(os.path.dirname(path))}

    def _unsaved(self) -> dict[str, str]:
        """The unsaved Terraform texts under the root (absolute, normalised paths)."""
        if self.overlays is None:
            return {}
        out: dict[str, str] = {}
        for path, text in self.overlays().items():
            p = os.path.normpath(os.path.abspath(path))
            inside = self._inside.get(p)
            if inside is None:
                name = os.path.basename(p)
                inside = is_terraform_file(name) and not name.endswith(".json") and is_inside(p, self.root)
                if len(self._inside) > 10_000:
                    self._inside.clear()
                self._inside[p] = inside
            if inside:
                out[p] = text
        return out

    def _walk(self) -> None:
        paths: list[str] = []
        dirs: set[str] = set()
        for d, subdirs, names in os.walk(self.root):
            subdirs[:] = sorted(s for s in subdirs if s not in _SKIP_DIRS and not s.startswith("."))
            tf = [n for n in sorted(names) if is_terraform_file(n) and not n.endswith(".json")]
            if tf:
                dirs.add(os.path.normpath(d))
            for n in tf:
                if len(paths) >= MAX_FILES:
                    break
                paths.append(os.path.normpath(os.path.join(d, n)))
            if len(paths) >= MAX_FILES:
                break
        self._paths = tuple(paths)
        self._tf_dirs = frozenset(dirs)

    def digest(self) -> str:
        """Content key of every local module call of the repository (a scan cache input: blast radius
        and explained module inputs read callers outside the scanned folders)."""
        with self._lock:
            self._refresh()
            calls = sorted((c.caller_file, c.name, c.line, c.module_dir) for c in self._calls)
        return hashlib.blake2b(repr(calls).encode(), digest_size=16).hexdigest()

    def callers(self, module_dir: str) -> tuple[Call, ...]:
        """The ``module`` blocks that call ``module_dir``."""
        target = os.path.normpath(os.path.abspath(module_dir))
        with self._lock:
            self._refresh()
            return tuple(c for c in self._calls if c.module_dir == target)

    def through(self, resource: str, module_dir: str) -> tuple[Call, ...]:
        """The outermost ``module`` blocks through which ``resource`` of ``module_dir`` is reported
        (``module.a.module.b.aws_x.y``: the calls named ``a`` whose module calls ``b`` =
        ``module_dir``), for a record that names no caller (Checkov's graph checks).

        Several calls may match: the examples of a module repository share call names. All of them
        are returned, sorted by file; only those from directories nothing calls (roots: where a run
        that reports ``module.a....`` starts) when some are; ``()`` when none matches or ``resource``
        is not in a module."""
        names = call_names(resource)
        if not names:
            return ()
        targets = {os.path.realpath(module_dir)}
        with self._lock:
            self._refresh()
            if self._real is None or self._real[0] is not self._calls:  # real paths, once per walk
                self._real = (self._calls, tuple((c, os.path.realpath(c.module_dir),
                                                  os.path.realpath(os.path.dirname(c.caller_file)))
                                                 for c in self._calls))
            calls = self._real[1]
        found: list[tuple[Call, str, str]] = []
        for i in range(len(names) - 1, -1, -1):  # innermost call first, up to the outermost
            found = [x for x in calls if x[0].name == names[i] and x[1] in targets]
            targets = {x[2] for x in found}
            if not found:
                return ()
        called = {x[1] for x in calls}
        roots = [x[0] for x in found if x[2] not in called] or [x[0] for x in found]
        return tuple(sorted(roots, key=lambda c: (c.caller_file, c.line)))

    def roots_of(self, module_dir: str) -> tuple[str, ...]:
        """The root directories (called by no one) whose module tree reaches ``module_dir``; ``()`` when
        nothing calls it (it is a root itself, or unused)."""
        target = os.path.normpath(os.path.abspath(module_dir))
        with self._lock:
            self._refresh()
            by_target: dict[str, set[str]] = {}
            for c in self._calls:
                by_target.setdefault(c.module_dir, set()).add(os.path.dirname(c.caller_file))
        roots: set[str] = set()
        todo, seen = [target], {target}
        while todo:
            d = todo.pop()
            parents = by_target.get(d, set())
            if not parents and d != target:
                roots.add(d)
            for p in parents - seen:
                seen.add(p)
                todo.append(p)
        return tuple(sorted(roots))


__all__ = ["Call", "CallIndex", "call_chain", "call_names"]
