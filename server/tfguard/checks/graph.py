"""Tier 2: Checkov's full Terraform runner (graph, variable evaluation, graph/YAML checks).

This is the authoritative result: the same code path as ``checkov -d``. Checkov reads files
from disk, so unsaved text is written to a private scratch mirror of the workspace (never
into the user's tree) and paths are mapped back. The mirror is kept between runs and only
files whose content changed are rewritten.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tfguard import gctuning
from tfguard.checks.checkov_env import checkov_modules, checkov_warning_kinds, collect_check_errors, run_lock
from tfguard.checks.entity import CheckSelection, ordered_keys
from tfguard.checks.errors import CheckError, error_text
from tfguard.files import tofu_overridden
from tfguard.safeyaml import policy_dir_problems

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class GraphRecord:
    check_id: str
    check_name: str
    result: str  # FAILED | PASSED | SKIPPED
    file: str  # absolute, real path
    resource: str
    line_range: tuple[int, int]
    evaluated_keys: tuple[str, ...]
    suppress_comment: str | None
    is_graph_check: bool
    details: tuple[str, ...] = ()
    caller_file: str | None = None
    caller_line_range: tuple[int, int] | None = None


@dataclass(frozen=True)
class GraphRun:
    records: tuple[GraphRecord, ...]
    parsing_errors: tuple[str, ...]  # real paths of files Checkov could not parse
    check_errors: tuple[CheckError, ...] = ()  # checks that raised: one per (check, file, resource)
    # Checkov warnings logged during the run, by kind (counted in the process that ran it): ((kind, n), ...)
    checkov_warnings: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class RunSpec:
    """One Checkov run, prepared (the tree it reads already on disk or in the scratch mirror): what
    :func:`run_spec` needs, in this process or in the side process (:mod:`tfguard.scan.sidecar`)."""

    root: str  # the folder Checkov's runner is pointed at (in the mirror when the run reads it)
    selection: CheckSelection = CheckSelection()
    recursive: bool = True
    path_map: tuple[str, str] | None = None  # (mirror prefix, real prefix), see run_checkov
    renamed: tuple[tuple[str, str], ...] = ()  # (scratch path, real path) of the files seen renamed
    var_files: tuple[str, ...] = ()
    skip_paths: tuple[str, ...] = ()
    policy_dirs: tuple[str, ...] = ()  # YAML policy folders the graph registry holds for the run


def run_spec(spec: RunSpec) -> GraphRun:
    """Checkov's run of a prepared spec (its policy folders loaded first: a no-op when they already are)."""
    use_policy_dirs(spec.policy_dirs)
    return run_checkov(spec.root, spec.selection, recursive=spec.recursive, path_map=spec.path_map,
                       renamed=dict(spec.renamed) or None, var_files=spec.var_files, skip_paths=spec.skip_paths)


_policy_lock = threading.Lock()
_builtin_graph_checks: list[Any] | None = None
_loaded_policy_dirs: tuple[str, ...] = ()


def use_policy_dirs(dirs: tuple[str, ...]) -> list[str]:
    """Make the graph registry hold the built-in checks plus the YAML policies of ``dirs``.

    Only YAML/JSON policies are loaded: they are data. Python checks are code and are never
    loaded from here (see ``load_python_checks``). Returns problems found, one line each.
    """
    global _builtin_graph_checks, _loaded_policy_dirs
    ck = checkov_modules()
    reg = ck.graph_registry
    problems: list[str] = []
    with _policy_lock, run_lock:
        reg.load_checks()
        if _builtin_graph_checks is None:
            _builtin_graph_checks = list(reg.checks)
        if dirs == _loaded_policy_dirs:
            return problems
        reg.checks = list(_builtin_graph_checks)
        for d in dirs:
            if not os.path.isdir(d):
                problems.append(f"policy directory not found: {d}")
                continue
            if refused := policy_dir_problems(d):  # a FIFO, symlink out or alias bomb Checkov would open
                problems.extend(refused)
                continue
            try:
                reg.load_external_checks(d)
            except Exception as e:  # a bad policy file must not stop the others
                problems.append(f"could not load policies from {d}: {e}")
        _loaded_policy_dirs = dirs
    return problems


def graph_check_ids() -> frozenset[str]:
    ck = checkov_modules()
    ck.graph_registry.load_checks()
    return frozenset(c.id for c in ck.graph_registry.checks)


def load_python_checks(directory: str) -> None:
    """Load Python custom checks (code!). Call only after an explicit opt-in outside the workspace."""
    ck = checkov_modules()
    with run_lock:
        for reg in ck.registries.values():
            reg.load_external_checks(directory)


def _without_subdirs(orig: Any) -> Any:
    def _no_subdirs(*args: Any, **kwargs: Any) -> Any:
        kwargs["include_sub_dirs"] = False
        return orig(*args, **kwargs)

    return _no_subdirs


def _root_load_excluding(parser: Any) -> Any:
    """``_internal_dir_load`` of a parser whose root directory's files get Checkov's skip-path filter.

    ``checkov -d`` loads every walked directory with ``excluded_paths`` (``TFParser._parse_directory``'s
    recursive branch); its non-recursive branch, which a unit uses, does not pass them. Directories
    loaded as modules get none in both, as in Checkov.
    """
    orig = parser._internal_dir_load

    def _load(*args: Any, **kwargs: Any) -> Any:
        directory = kwargs.get("directory", args[0] if args else None)
        if directory == parser.directory and kwargs.get("excluded_paths") is None and "specified_vars" not in kwargs:
            kwargs["excluded_paths"] = parser.excluded_paths
        return orig(*args, **kwargs)

    return _load


def run_checkov(
    root: str,
    selection: CheckSelection = CheckSelection(),
    recursive: bool = True,
    path_map: tuple[str, str] | None = None,
    renamed: Mapping[str, str] | None = None,
    var_files: tuple[str, ...] = (),
    skip_paths: tuple[str, ...] = (),
) -> GraphRun:
    """Run Checkov's Terraform runner on ``root`` as ``checkov -d root`` would.

    ``recursive=False`` scans only ``root`` itself (and the local modules it calls).
    ``path_map=(mirror_prefix, real_prefix)`` maps scratch paths back to the user's tree;
    ``renamed`` (scratch path -> real path, see :attr:`Mirror.renamed`) first maps the files a mirror
    holds under another name (an OpenTofu ``x.tofu`` presented to Checkov as ``x.tf``).
    ``var_files`` are ``--var-file`` (absolute, in order: a later file wins), ``skip_paths``
    ``--skip-path`` (Checkov's regular expressions, see :mod:`tfguard.config.paths`).
    """
    ck = checkov_modules()
    graph_ids = graph_check_ids()
    runner_filter = ck.RunnerFilter(
        framework=["terraform"],
        checks=list(selection.checks) or None,
        skip_checks=list(selection.skip_checks) or None,
        download_external_modules=False,
        var_files=list(var_files) or None,
        excluded_paths=list(skip_paths) or None,
    )
    with run_lock:
        runner = ck.Runner()  # a new Runner each run: a reused one silently reuses its old parse
        if not recursive:
            # The graph manager has its own parser, and it is the one that walks the tree.
            parsers = {id(p): p for p in (runner.parser, getattr(runner.graph_manager, "parser", None)) if p}
            for parser in parsers.values():
                parser._parse_directory = _without_subdirs(parser._parse_directory)
                if skip_paths:
                    parser._internal_dir_load = _root_load_excluding(parser)
        raised: list[tuple[Any, str, dict[str, Any], str, str, BaseException]] = []
        warnings_before = checkov_warning_kinds()
        with collect_check_errors(lambda *args: raised.append(args)), gctuning.batch():
            report = runner.run(root_folder=root, runner_filter=runner_filter)
        warnings = tuple(sorted((kind, n - warnings_before.get(kind, 0)) for kind, n in checkov_warning_kinds().items()
                                if n > warnings_before.get(kind, 0)))
    if isinstance(report, list):
        report = report[0]

    def real(p: str | None) -> str | None:
        if p is None:
            return None
        p = os.path.normpath(p)
        if renamed and p in renamed:
            return renamed[p]
        if path_map and (p == path_map[0] or p.startswith(path_map[0] + os.sep)):
            return path_map[1] + p[len(path_map[0]):]
        return p

    records: list[GraphRecord] = []
    for status, recs in (("FAILED", report.failed_checks), ("PASSED", report.passed_checks),
                         ("SKIPPED", report.skipped_checks)):
        for r in recs:
            abs_path = r.file_abs_path or os.path.join(root, r.file_path.lstrip("/"))
            caller = None
            if r.caller_file_path:
                caller = real(os.path.normpath(os.path.join(root, r.caller_file_path.lstrip("/"))))
            cres = r.check_result or {}
            records.append(
                GraphRecord(
                    check_id=r.check_id,
                    check_name=r.check_name,
                    result=status,
                    file=real(abs_path) or abs_path,
                    resource=r.resource,
                    line_range=(int(r.file_line_range[0]), int(r.file_line_range[1])),
                    evaluated_keys=_ordered_keys(cres.get("evaluated_keys"), r.check_id in graph_ids),
                    suppress_comment=cres.get("suppress_comment") if status == "SKIPPED" else None,
                    is_graph_check=r.check_id in graph_ids,
                    details=tuple(r.details or []),
                    caller_file=caller,
                    caller_line_range=tuple(r.caller_file_line_range) if r.caller_file_line_range else None,  # type: ignore[arg-type]
                )
            )
    errors = tuple(real(p) or p for p in report.parsing_errors)
    return GraphRun(records=tuple(records), parsing_errors=errors,
                    check_errors=_check_errors(raised, report, root, real), checkov_warnings=warnings)


def _check_errors(raised: list[tuple[Any, str, dict[str, Any], str, str, BaseException]], report: Any, root: str,
                  real: Any) -> tuple[CheckError, ...]:
    """The checks that raised during a run, located as Checkov's records of the same resource are.

    The file and line range come from a record of the same (scanned file, resource) when there is
    one (Checkov's absolute path and context lines), else from the entity's own ``__start_line__``
    / ``__end_line__`` and the scanned file under ``root``. One error per (check, file, resource).
    """
    where: dict[tuple[str, str], tuple[str, tuple[int, int]]] = {}
    for recs in (report.failed_checks, report.passed_checks, report.skipped_checks):
        for r in recs:
            abs_path = r.file_abs_path or os.path.join(root, r.file_path.lstrip("/"))
            where.setdefault((r.file_path, r.resource),
                             (abs_path, (int(r.file_line_range[0]), int(r.file_line_range[1]))))
    out: dict[tuple[str, str, str], CheckError] = {}
    for check, scanned_file, conf, entity_name, entity_type, exc in raised:
        if not scanned_file:  # a graph check: no entity, the whole run
            resource, file, lines = "", os.path.normpath(root), (0, 0)
        else:
            resource = str(conf.get("__address__") or (f"{entity_type}.{entity_name}" if entity_type
                                                       else entity_name))
            hit = where.get((scanned_file, resource))
            if hit is not None:
                file, lines = hit
            else:
                file = scanned_file if os.path.isabs(scanned_file) and os.path.exists(scanned_file) else \
                    os.path.join(root, scanned_file.lstrip("/"))
                lines = (_int(conf.get("__start_line__")), _int(conf.get("__end_line__")))
        file = real(file) or file
        key = (str(check.id), file, resource)
        if key not in out:
            out[key] = CheckError(check_id=str(check.id), check_name=str(check.name), resource=resource, file=file,
                                  line_range=lines, error=error_text(exc))
    return tuple(out.values())


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _ordered_keys(keys: Any, is_graph_check: bool) -> tuple[str, ...]:
    """A record's evaluated keys, in an order every process agrees on (see ``entity.ordered_keys``).

    A graph check with sub-checks gives ``list(set(...))`` throughout (checkov/common/graph/checks_infra/
    base_check.py): its keys are sorted outright.
    """
    out = tuple(str(k) for k in (keys or []))
    return tuple(sorted(out)) if is_graph_check else ordered_keys(out)


MIRROR_PREFIX = "tfguard-mirror-"
_MIRROR_NAME = re.compile(r"^tfguard-mirror-(\d+)-[A-Za-z0-9_]+$")
_LEGACY_MIRROR_NAME = re.compile(r"^tfguard-mirror-[A-Za-z0-9_]+$")  # before the pid was in the name
LEGACY_MIRROR_AGE = 24 * 3600.0  # a pid-less mirror older than this is a leftover
_swept = False
_sweep_lock = threading.Lock()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return False
    return True


def clean_stale_mirrors(tmpdir: str | None = None) -> list[str]:
    """Remove the scratch mirrors left by dead processes of this user; returns the folders removed.

    A mirror is ``<tmp>/tfguard-mirror-<pid>-<random>``; it is removed when it is a real folder (not
    a symlink) owned by this user and no process ``pid`` is alive. Pid-less mirrors of older versions
    are removed when owned by this user and untouched for :data:`LEGACY_MIRROR_AGE`.
    """
    tmpdir = tmpdir or tempfile.gettempdir()
    removed: list[str] = []
    try:
        entries = list(os.scandir(tmpdir))
    except OSError:
        return removed
    me = os.getuid() if hasattr(os, "getuid") else None
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(MIRROR_PREFIX):
            continue
        m = _MIRROR_NAME.match(entry.name)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or (me is not None and st.st_uid != me):
            continue
        if m is not None:
            pid = int(m.group(1))
            if pid == os.getpid() or _pid_alive(pid):
                continue
        elif not _LEGACY_MIRROR_NAME.match(entry.name) or now - st.st_mtime < LEGACY_MIRROR_AGE:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.lexists(entry.path):
            removed.append(entry.path)
            log.debug("removed stale scratch mirror %s", entry.path)
    return removed


def _sweep_once() -> None:
    global _swept
    with _sweep_lock:
        if _swept:
            return
        _swept = True
    clean_stale_mirrors()


def mirror_name(rel: str) -> str:
    """The name Checkov sees for a file of the user's tree: OpenTofu's ``x.tofu`` / ``x.tofu.json``
    become ``x.tf`` / ``x.tf.json`` (Checkov reads no ``.tofu``; the text is the same, so are its lines)."""
    if rel.endswith(".tofu"):
        return rel[:-5] + ".tf"
    if rel.endswith(".tofu.json"):
        return rel[:-10] + ".tf.json"
    return rel


class Mirror:
    """A private scratch copy of a workspace's Terraform files, with unsaved text applied.

    OpenTofu files are presented to Checkov as Terraform: ``x.tofu`` is written as ``x.tf`` (and
    ``x.tofu.json`` as ``x.tf.json``), and an ``x.tf`` that ``x.tofu`` overrides is left out, as
    OpenTofu leaves it out. :attr:`renamed` maps those scratch paths back to the real ones.

    The folder is ``<tmp>/tfguard-mirror-<pid>-<random>``, mode 0700 (files 0600), removed by
    :meth:`close`, when the mirror is collected, and at process exit (a ``weakref.finalize``, which
    runs from ``atexit``). The first mirror of a process removes the leftovers of dead processes
    (:func:`clean_stale_mirrors`: a process killed with SIGKILL cannot clean up after itself).
    """

    def __init__(self, real_root: str) -> None:
        _sweep_once()
        self.real_root = os.path.realpath(real_root)
        self.root = os.path.realpath(tempfile.mkdtemp(prefix=f"{MIRROR_PREFIX}{os.getpid()}-"))
        os.chmod(self.root, 0o700)  # mkdtemp's mode already; said outright
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.root, ignore_errors=True)
        self._digests: dict[str, str] = {}
        self._lock = threading.Lock()
        self.renamed: dict[str, str] = {}  # scratch path -> real path, for files Checkov sees renamed

    def path_for(self, real_path: str) -> str:
        """Where ``real_path`` (a file or directory of the real tree) is in the mirror."""
        rel = os.path.relpath(os.path.realpath(real_path), self.real_root)
        return os.path.join(self.root, rel if os.path.isdir(real_path) else mirror_name(rel))

    @property
    def path_map(self) -> tuple[str, str]:
        """(scratch prefix, real prefix): what :func:`run_checkov` maps back."""
        return self.root, self.real_root

    def sync(self, files: Mapping[str, str | bytes]) -> None:
        """Make the mirror hold exactly ``files`` (real path -> text, or bytes copied as they are);
        rewrite only what changed. An ``x.tf`` overridden by an ``x.tofu`` of ``files`` is left out."""
        with self._lock:
            if not os.path.isdir(self.root):  # removed under us (a sweep by an older version): start over
                os.makedirs(self.root, mode=0o700, exist_ok=True)
                self._digests.clear()
            rels: dict[str, str | bytes] = {}
            for real_path, text in files.items():
                rel = os.path.relpath(os.path.realpath(real_path), self.real_root)
                if rel.startswith(".."):
                    continue
                rels[rel] = text
            overridden = tofu_overridden(rels)
            wanted: dict[str, str | bytes] = {}
            renamed: dict[str, str] = {}
            for rel, text in rels.items():
                if rel in overridden:
                    continue
                name = mirror_name(rel)
                wanted[name] = text
                if name != rel:
                    renamed[os.path.join(self.root, name)] = os.path.join(self.real_root, rel)
            self.renamed = renamed
            for rel in list(self._digests):
                if rel not in wanted:
                    try:
                        os.remove(os.path.join(self.root, rel))
                    except OSError:
                        pass
                    del self._digests[rel]
            for rel, text in wanted.items():
                data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
                d = hashlib.blake2b(data, digest_size=16).hexdigest()
                if self._digests.get(rel) == d:
                    continue
                dest = os.path.join(self.root, rel)
                os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
                with open(fd, "wb") as f:
                    f.write(data)
                self._digests[rel] = d

    def close(self) -> None:
        """Remove the mirror's folder (at once; idempotent)."""
        self._finalizer()
