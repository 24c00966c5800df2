"""Files as tfguard sees them: reading (as Checkov does), newlines, Terraform file kinds, walking.

Imported by every layer; imports nothing of tfguard's but :mod:`tfguard.model`.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterable

from tfguard.model import Problem, Severity, Span

DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024
SKIP_DIRS = frozenset({".terraform", ".git", "node_modules", ".serverless"})
# OpenTofu's own configuration files: Checkov does not read them (tfguard presents them to it as .tf)
TOFU_SUFFIXES = (".tofu", ".tofu.json")
# Files a Terraform/OpenTofu module's scan reads (variables files included): Checkov's, plus OpenTofu's
TF_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json", ".hcl", *TOFU_SUFFIXES)
TERRAFORM_SUFFIXES = (".tf", ".tf.json", *TOFU_SUFFIXES)


def repository_root(path: str, fallback: str | None = None) -> str:
    """The root that configuration files and environment patterns are resolved against.

    The top of the git work tree holding ``path`` (the nearest folder with a ``.git`` folder or file,
    as in a worktree or submodule; git itself is not run); else ``fallback`` (the editor's workspace
    folder, the CLI's working directory) when ``path`` is inside it; else ``path``'s own folder. Every
    entry point calls this, so the same file gets the same configuration from each of them.
    """
    path = os.path.abspath(path)
    start = path if os.path.isdir(path) else os.path.dirname(path)
    d = start
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    if fallback:
        fb = os.path.abspath(fallback)
        if start == fb or start.startswith(fb.rstrip(os.sep) + os.sep):
            return fb
    return start


def is_terraform_file(path: str) -> bool:
    """A Terraform or OpenTofu configuration file (``*.tf``, ``*.tf.json``, ``*.tofu``, ``*.tofu.json``)."""
    return path.endswith(TERRAFORM_SUFFIXES)


def is_tofu_file(path: str) -> bool:
    """An OpenTofu-only configuration file (``*.tofu``, ``*.tofu.json``)."""
    return path.endswith(TOFU_SUFFIXES)


def tofu_alternative(path: str) -> str | None:
    """The OpenTofu file that would override ``path``: ``x.tofu`` for ``x.tf``, ``x.tofu.json`` for
    ``x.tf.json``; None for any other file."""
    if path.endswith(".tf"):
        return path[:-3] + ".tofu"
    if path.endswith(".tf.json"):
        return path[:-8] + ".tofu.json"
    return None


def tofu_overridden(paths: Iterable[str]) -> dict[str, str]:
    """Which of ``paths`` OpenTofu ignores, each with the file overriding it.

    OpenTofu's rule (``filterTfPathsWithTofuAlternatives``, docs "Files and Directories: Extension
    Precedence"): when ``x.tf`` and ``x.tofu`` are in one directory it loads ``x.tofu`` only; likewise
    ``x.tf.json`` and ``x.tofu.json``. Nothing else overrides (``x.tofu.json`` does not hide ``x.tf``).
    """
    present = set(paths)
    return {p: alt for p in sorted(present) if (alt := tofu_alternative(p)) is not None and alt in present}


def dir_has_tofu(directory: str) -> bool:
    """True when ``directory`` holds an OpenTofu-only file (``*.tofu``, ``*.tofu.json``), not recursively."""
    try:
        with os.scandir(directory) as it:
            return any(e.name.endswith(TOFU_SUFFIXES) for e in it)
    except OSError:
        return False


def text_digest(text: str) -> str:
    """Content key of a text (what caches of parses and results are keyed by)."""
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()


def normalize_newlines(text: str) -> str:
    """Lone ``\\r`` become ``\\n`` (LSP counts both as line breaks); ``\\r\\n`` stays."""
    if "\r" not in text:
        return text
    return re.sub(r"\r(?!\n)", "\n", text)


def too_large(path: str, size: int, limit: int) -> Problem:
    """The problem of a file over the size limit (it is not analysed)."""
    return Problem(
        path, Span.of(0, 0, 0, 1),
        f"File not analysed: {size / 1e6:.1f} MB is over the {limit / 1e6:.1f} MB limit (setting maxFileBytes)",
        "too-large", Severity.INFO,
    )


def read_disk(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[str | None, Problem | None]:
    """Read a file as Checkov does (UTF-8, BOM dropped); a problem says why it cannot be used."""
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            return None, too_large(path, size, max_bytes)
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return None, Problem(path, Span.of(0, 0, 0, 1), f"Cannot read file: {e.strerror or e}", "read")
    if b"\x00" in data:
        return None, Problem(path, Span.of(0, 0, 0, 1), "Not a text file (contains NUL bytes): not analysed",
                             "read", Severity.MEDIUM)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n")
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1)
        return None, Problem(path, Span.of(line, col, line, col + 1),
                             f"Not valid UTF-8 at byte {e.start}: Terraform files must be UTF-8; not analysed",
                             "read")
    return normalize_newlines(text), None


def iter_files(root: str, suffixes: tuple[str, ...], names: tuple[str, ...] = ()) -> Iterable[str]:
    """Files under ``root`` ending with one of ``suffixes`` or named one of ``names``, sorted, skipping
    .terraform/, .git/ and other hidden directories."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(suffixes) or name in names:
                yield os.path.join(os.path.abspath(dirpath), name)


def iter_terraform_files(root: str, include_vars: bool = False) -> Iterable[str]:
    """Terraform files under ``root``, skipping .terraform/, .git/ and hidden directories, sorted."""
    if os.path.isfile(root):
        yield os.path.abspath(root)
        return
    yield from iter_files(root, TF_SUFFIXES if include_vars else TERRAFORM_SUFFIXES)


def module_dirs(root: str) -> list[str]:
    """Directories under ``root`` holding Terraform files (skipping .terraform, .git, hidden, ignored)."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        if any(is_terraform_file(n) for n in filenames):
            found.append(os.path.abspath(dirpath))
    ignored = git_ignored(root, found)
    return [d for d in found if d not in ignored]


def git_ignored(root: str, paths: list[str]) -> set[str]:
    """Which of ``paths`` git ignores (``.gitignore``); empty when not a git repository."""
    if not paths or not os.path.isdir(os.path.join(root, ".git")):
        return set()
    try:
        proc = subprocess.run(
            ["git", "-C", root, "check-ignore", "--stdin"], input="\n".join(paths), capture_output=True,
            text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {os.path.abspath(line) for line in proc.stdout.splitlines() if line.strip()}
