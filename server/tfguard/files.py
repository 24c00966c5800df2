"""Files as tfguard sees them: reading (as Checkov does), newlines, Terraform file kinds, walking.

Imported by every layer; imports nothing of tfguard's but :mod:`tfguard.model`.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
from collections.abc import Iterable, Sequence

from tfguard.model import Problem, Severity, Span

DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024
# .tfguard.yaml, .checkov.yaml, catalogues and YAML/JSON policies (docs/reliability.md)
MAX_CONFIG_BYTES = 1024 * 1024
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


def glob_to_regex(pattern: str) -> str:
    """A path glob as a regular expression (unanchored source): ``**/`` any leading folders, a final
    ``/**`` anything below, ``**`` anything, ``*`` and ``?`` within one path segment."""
    pattern = pattern.replace("\\", "/")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("(?:/.*)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


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


class FileRefused(Exception):
    """A file tfguard will not read: outside the repository, not a regular file, too large, unreadable.

    ``message`` says why, for the user (it never quotes the file); ``size`` is set when it is too large.
    """

    def __init__(self, message: str, size: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.size = size


def is_inside(path: str, root: str) -> bool:
    """True when ``path`` is ``root`` or below it, both with symlinks resolved."""
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def outside_message(path: str) -> str:
    """Why a file that resolves outside the repository is not read."""
    if os.path.islink(path):
        return "symlink to a file outside the repository: not read"
    return "outside the repository root (through a symlinked folder): not read"


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


def read_head(path: str, max_bytes: int, root: str | None = None) -> bytes:
    """At most the first ``max_bytes`` of ``path``, opened as :func:`read_regular` opens (regular files only,
    never blocking, inside ``root`` when given); a longer file is not an error. Raises FileRefused."""
    return read_regular(path, max_bytes, root, _head=True)


def read_regular(path: str, max_bytes: int, root: str | None = None, *, _head: bool = False) -> bytes:
    """The bytes of ``path``: only a regular file, at most ``max_bytes``, never blocking.

    With ``root``, a path that resolves (symlinks followed) outside ``root`` is refused before it is
    opened. The file is opened non-blocking (a FIFO with no writer cannot hang), checked with ``fstat``
    to be a regular file (a FIFO, device such as ``/dev/zero``, socket or folder is refused) and read up
    to ``max_bytes`` + 1 (a file that grows past its stat size is still caught). Raises
    :class:`FileRefused`.
    """
    if root is not None and not is_inside(path, root):
        raise FileRefused(outside_message(path))
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as e:
        raise FileRefused(f"cannot read: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise FileRefused(f"not a regular file ({kind}): not read")
        if st.st_size > max_bytes and not _head:
            raise FileRefused(f"{st.st_size} bytes is over the {max_bytes}-byte limit: not read", st.st_size)
        try:
            os.set_blocking(fd, True)  # a regular file: reads do not block; EAGAIN cannot cut it short
        except OSError:
            pass
        chunks: list[bytes] = []
        got = 0
        while got <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        data = b"".join(chunks)
        if got > max_bytes:
            if _head:
                return data[:max_bytes]
            raise FileRefused(f"over the {max_bytes}-byte limit: not read", got)
        return data
    except OSError as e:
        raise FileRefused(f"cannot read: {e.strerror or e}") from None
    finally:
        os.close(fd)


def content_key(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """A key that changes when ``path``'s content does (cache keys), read as :func:`read_regular` reads.

    A file it will not read (outside its repository, not a regular file, over ``max_bytes``) is keyed by
    its ``stat`` instead (which cannot block); a missing one by ``-``.
    """
    try:
        data = read_regular(path, max_bytes, root=repository_root(path))
        return hashlib.blake2b(data, digest_size=16).digest()
    except FileRefused:
        try:
            st = os.stat(path)
        except OSError:
            return b"-"
        return f"stat:{st.st_mode}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode()


def read_disk(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES, *,
              root: str | None = None) -> tuple[str | None, Problem | None]:
    """Read a file as Checkov does (UTF-8, BOM dropped); a problem says why it cannot be used.

    Only a regular file inside its repository is read: ``repository_root(path, fallback=root)`` (the
    git work tree's top, else ``root`` — the workspace folder — when the file is in it, else the file's
    folder). A symlink resolving outside it, a FIFO, a device or a folder is a problem on the path.
    """
    limit_root = repository_root(path, fallback=root)
    try:
        data = read_regular(path, max_bytes, root=limit_root)
    except FileRefused as e:
        if e.size is not None:
            return None, too_large(path, e.size, max_bytes)
        if e.message.startswith(("symlink", "outside", "not a regular")):
            return None, Problem(path, Span.of(0, 0, 0, 1), f"File not analysed: {e.message}", "read",
                                 Severity.MEDIUM)
        return None, Problem(path, Span.of(0, 0, 0, 1), f"Cannot read file: {e.message.removeprefix('cannot read: ')}",
                             "read")
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
    proc = run_git(root, ["check-ignore", "--stdin"], input="\n".join(paths), timeout=10)
    if proc is None:
        return set()
    return {os.path.abspath(line) for line in proc.stdout.splitlines() if line.strip()}


# Configuration that would make git run a program the repository chose, set to nothing. A workspace can
# carry its own .git/config (a downloaded archive, a shared folder): it must not run code through git.
GIT_SAFE_CONFIG: tuple[str, ...] = (
    "core.fsmonitor=false",  # a hook program run on every index read
    "core.hooksPath=/dev/null",  # hooks (post-index-change, reference-transaction, ...)
    "core.pager=cat",
    "core.editor=true",
    "core.askPass=",
    "core.sshCommand=",
    "core.gitProxy=",
    "core.attributesFile=/dev/null",
    "core.untrackedCache=false",
    "credential.helper=",
    "diff.external=",
    "gpg.program=false",
    "log.showSignature=false",
    "protocol.allow=never",  # no transport at all (a partial clone would fetch missing objects)
    "safe.bareRepository=explicit",  # a bare repository planted in the tree is not discovered
    "uploadpack.packObjectsHook=",
)
_GIT_ENV_DROP = ("GIT_EXTERNAL_DIFF", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_ASKPASS", "SSH_ASKPASS",
                 "GIT_PROXY_COMMAND", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_PAGER", "GIT_CONFIG_PARAMETERS",
                 "GIT_CONFIG_COUNT", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")
_FILTER_KEY = re.compile(r"^filter\.(.+)\.(?:clean|smudge|process|required)$", re.IGNORECASE)


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV_DROP}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", GIT_PAGER="cat", GIT_NO_LAZY_FETCH="1",
               GIT_OPTIONAL_LOCKS="0", GIT_ATTR_NOSYSTEM="1", GIT_NO_REPLACE_OBJECTS="1", LC_ALL="C")
    return env


def _git_argv(cwd: str, args: Sequence[str], extra_config: Sequence[str] = ()) -> list[str]:
    argv = ["git", "--no-pager", "-C", cwd]
    for item in (*GIT_SAFE_CONFIG, *extra_config):
        argv += ["-c", item]
    return argv + list(args)


def _filter_overrides(cwd: str, timeout: float) -> list[str]:
    """``filter.<driver>.*`` emptied for every filter driver the configuration defines.

    Filter drivers are chosen by ``.gitattributes`` (``*.tf filter=x``) and run by ``git blame`` on a
    modified file; their names are arbitrary, so they are read from the configuration (``git config``
    runs no program) and each one's commands are set to nothing.
    """
    try:
        proc = subprocess.run(_git_argv(cwd, ["config", "--list", "--name-only"]), capture_output=True,
                              text=True, timeout=timeout, check=False, env=_git_env(), stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return []
    drivers = sorted({m.group(1) for line in proc.stdout.splitlines() if (m := _FILTER_KEY.match(line.strip()))})
    out: list[str] = []
    for d in drivers[:100]:
        out += [f"filter.{d}.clean=", f"filter.{d}.smudge=", f"filter.{d}.process=", f"filter.{d}.required=false"]
    return out


def run_git(cwd: str, args: Sequence[str], *, input: str | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess[str] | None:
    """Run ``git -C cwd ARGS`` so that the repository cannot make it run a program; None when it fails to run.

    Every git call of tfguard goes through here: no shell; :data:`GIT_SAFE_CONFIG` on the command line
    (command-line configuration wins over the repository's ``.git/config``); every filter driver the
    configuration defines emptied; no system configuration, terminal prompt, pager, lazy fetch or
    external diff from the environment; a ``timeout`` (seconds) after which git is killed.
    """
    env = _git_env()
    extra = _filter_overrides(cwd, timeout)
    try:
        return subprocess.run(_git_argv(cwd, args, extra), input=input, capture_output=True, text=True,
                              timeout=timeout, check=False, env=env,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
