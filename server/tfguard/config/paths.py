"""Paths a scan leaves out: Checkov's ``--skip-path`` / ``skip-path`` and ``.tfguard.yaml``'s ``exclude``.

Checkov's semantics (``checkov/common/runners/base_runner.py::filter_ignored_paths``, called by
``checkov/terraform/tf_parser.py::TFParser._parse_directory`` on the sub-directories of every directory
it walks, and by ``_internal_dir_load`` on the files of each walked directory): an entry is left out when
its *absolute* path (the walked directory joined with its name) is matched by ``re.search`` with one of
the patterns, or contains one of them as a plain substring. A pattern starting with one dot and then a
non-dot (``.terraform``) is taken literally (``re.escape``); a pattern that is not a valid regular
expression only counts as a substring. The directory Checkov is pointed at is always walked (only its
entries are tested), a left-out directory takes its whole subtree with it, and the directories of local
modules a walked directory calls are loaded whatever their path.

``exclude`` is tfguard's: glob patterns (``**`` any directories, ``*`` one segment) relative to the
repository root (:func:`tfguard.files.repository_root`), matched against a file's path and the path of
each folder above it. Pure: no Checkov import (a fully cached scan never imports Checkov).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache

from tfguard.files import glob_to_regex


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    out: list[re.Pattern[str]] = []
    for p in patterns:
        try:
            out.append(re.compile(re.escape(p) if re.match(r"^\.[^\.]", p) else p))
        except re.error:
            continue  # as Checkov: not a regular expression, only a substring
    return tuple(out)


def skip_path_matches(full_path: str, patterns: tuple[str, ...]) -> bool:
    """Checkov's test of one entry's absolute path against ``--skip-path`` patterns."""
    if not patterns:
        return False
    return any(c.search(full_path) for c in _compiled(patterns)) or any(p in full_path for p in patterns)


def _chain(path: str, walk_root: str) -> Iterable[str]:
    """``path`` and each folder above it strictly below ``walk_root`` (each an entry Checkov tests)."""
    root = walk_root.rstrip(os.sep) or os.sep
    p = path
    while p != root and (p.startswith(root + os.sep) or root == os.sep):
        yield p
        parent = os.path.dirname(p)
        if parent == p:
            return
        p = parent


def skipped_by_checkov(path: str, patterns: tuple[str, ...], walk_root: str) -> bool:
    """True when ``checkov -d walk_root --skip-path …`` leaves ``path`` (absolute) out of its walk."""
    if not patterns:
        return False
    path, walk_root = os.path.abspath(path), os.path.abspath(walk_root)
    return any(skip_path_matches(p, patterns) for p in _chain(path, walk_root))


@lru_cache(maxsize=256)
def _exclude_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(glob_to_regex(pattern), re.IGNORECASE)  # as environment patterns match


def excluded_by_glob(path: str, patterns: tuple[str, ...], repo_root: str | None) -> bool:
    """True when ``path`` or a folder above it (up to ``repo_root``) matches an ``exclude`` glob."""
    if not patterns or not repo_root:
        return False
    path, root = os.path.abspath(path), os.path.abspath(repo_root)
    if not path.startswith(root.rstrip(os.sep) + os.sep):
        return False
    regexes = [_exclude_regex(p.strip("/")) for p in patterns]
    for p in _chain(path, root):
        rel = os.path.relpath(p, root).replace(os.sep, "/")
        if any(r.fullmatch(rel) for r in regexes):
            return True
    return False


def anchored(paths: Iterable[str]) -> tuple[str, ...]:
    """Checkov ``excluded_paths`` leaving out exactly ``paths`` (absolute): one anchored regex each.

    Such a pattern never occurs as a plain substring of a path (it starts with ``^``), so Checkov's
    substring test cannot widen it.
    """
    out: set[str] = set()
    for p in paths:
        out.update({os.path.abspath(p), os.path.realpath(p)})  # Checkov joins the path it was given
    return tuple(f"^{re.escape(p)}$" for p in sorted(out))
