"""``tfguard scan``: Checkov's runner over directories on disk, as ``checkov -d`` reports them, plus
tfguard's own problems (unreadable files, syntax errors) and rules.

The whole report is cached (kind ``scans`` of :class:`~tfguard.scan.cache.ResultCache`) by the
content of everything it depends on (:func:`scan_key`): an unchanged tree is reported without
parsing or checking anything. A directory is split into independent units run in parallel, each
cached too (kind ``units``, see :mod:`tfguard.scan.pool`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
from collections.abc import Sequence

from tfguard.checks.entity import CheckSelection, ModuleContext
from tfguard.checks.errors import CHECK_ERROR, check_error_problems
from tfguard.checks.graph import GraphRecord, use_policy_dirs
from tfguard.checks.selection import config_problems
from tfguard.config.checkov import CHECKOV_CONFIG_NAMES
from tfguard.config.paths import anchored, skipped_by_checkov
from tfguard.engine import BlockContext, Engine, FileState, masked_text, overridden_problem
from tfguard.files import TERRAFORM_SUFFIXES, content_key, is_inside, iter_files, iter_terraform_files, tofu_overridden
from tfguard.hcl.modules import local_module_dirs, module_calls
from tfguard.hcl.parse import merge_confs
from tfguard.identity import code_fingerprint
from tfguard.model import Finding, Problem, ScanReport, Severity, Span, report_from_json, report_to_json
from tfguard.scan import pool
from tfguard.scan.cache import ResultCache, default_cache_dir
from tfguard.scan.inputs import is_plan_file
from tfguard.scan.plan import add_plan
from tfguard.scan.progress import Progress

log = logging.getLogger(__name__)

REPORT_FORMAT = 4  # bump when the report's JSON or what a scan computes changes
_CONFIG_NAMES = (".tfguard.yaml", ".tfguard.yml", *CHECKOV_CONFIG_NAMES)
_SCAN_INPUT_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json", ".hcl", ".tofu", ".yaml", ".yml", ".json")


def resolve_cache_dir(cache_dir: str | None) -> str | None:
    """``cache_dir`` as given ("": no cache), else :func:`~tfguard.scan.cache.default_cache_dir`."""
    if cache_dir is not None:
        return cache_dir or None
    return default_cache_dir()


def scan(engine: Engine, paths: Sequence[str], *, cache_dir: str | None = None,
         workers: int | None = None, plan_repo_root: str | None = None,
         progress: Progress | None = None) -> ScanReport:
    """``tfguard scan paths``: Checkov's runner on each directory (as ``checkov -d``), plus problems.

    ``cache_dir``: None for the default (``$TFGUARD_CACHE_DIR``, ``$XDG_CACHE_HOME/tfguard``), ""
    for none. ``workers``: worker processes for the units (None: one per core). A Terraform plan
    among the paths is scanned by Checkov's plan runner (:mod:`tfguard.scan.plan`), its findings
    mapped to the ``.tf`` source under ``plan_repo_root`` (None: left on the plan); a scan with a
    plan is not cached (its mapping depends on the whole repository). ``progress``: told how many
    units are done as they finish (see :mod:`tfguard.scan.progress`).
    """
    paths = list(paths)
    has_plan = any(os.path.isfile(p) and is_plan_file(p) for p in paths)
    cache = ResultCache(None if has_plan else resolve_cache_dir(cache_dir))
    key = scan_key(engine, paths) if cache.directory is not None else None
    if key is not None:
        cached = _cached_report(cache, key)
        if cached is not None:
            _add_config_problems(engine, paths, cached)
            return cached
    report = _scan_uncached(engine, paths, cache, workers, plan_repo_root, progress)
    try:
        return _finish(engine, report, key, cache)
    finally:
        _add_config_problems(engine, paths, report)


def _add_config_problems(engine: Engine, paths: Sequence[str], report: ScanReport) -> None:
    """The ``.checkov.yaml`` options tfguard refuses or does not apply, located, on every report (cached too)."""
    for p in paths:
        engine.checkov_config(config_dir(engine, p))
    for problem in engine.config_problems:
        if problem not in report.problems:
            report.problems.append(problem)


def _finish(engine: Engine, report: ScanReport, key: str | None, cache: ResultCache) -> ScanReport:
    from tfguard.scan.baseline import evaluated_content

    for f in report.failed:  # fingerprint material, so the cached report needs no file re-read
        try:
            report.evaluated[f] = evaluated_content(f)
        except Exception:  # an unreadable file: fingerprinted later the usual way
            log.debug("no fingerprint material for %s", f.resource, exc_info=True)
    if key is not None:
        cache.put("scans", key, report_to_json(report))
        cache.prune()
    return report


def _cached_report(cache: ResultCache, key: str) -> ScanReport | None:
    return cache.load("scans", key, report_from_json)


def scan_key(engine: Engine, paths: Sequence[str]) -> str | None:
    """Digest of every input of a scan: Terraform and YAML/JSON files under the paths, configuration
    files above them, the explicit configuration, its catalogue and policy directories, versions.
    None when the scan must not be cached (Python checks loaded: they are code)."""
    if engine.python_checks_loaded:
        return None
    from importlib.metadata import version

    from tfguard import __version__

    h = hashlib.blake2b(digest_size=20)
    h.update(f"{REPORT_FORMAT}|{__version__}|{version('checkov')}|{engine.max_file_bytes}|{sorted(paths)}".encode())
    h.update(code_fingerprint().encode())
    h.update(f"|var-file={engine.var_files_override}|skip-path={engine.skip_paths_override}".encode())
    inputs: set[str] = set()
    overrides = engine.index.checkov_overrides  # Checkov's command-line options (--check, --config-file …)
    if overrides is not None:
        h.update(overrides.digest.encode())
        if overrides.config_file:
            inputs.add(overrides.config_file)
        for d in overrides.external_checks_dirs or ():
            inputs.update(iter_files(d, (".yaml", ".yml", ".json")))
    for p in paths:
        p = os.path.abspath(p)
        walk_root = config_dir(engine, p)  # a named file: the repository scan it is part of reads the whole root
        try:
            # every variables file in force, in order (a later file wins), and its content below
            var_files = engine.var_files_for(walk_root)
            h.update(f"|{p}:var-files={list(var_files)}".encode())
            inputs.update(var_files)
        except Exception:
            return None
        inputs.update(iter_files(walk_root, _SCAN_INPUT_SUFFIXES, _CONFIG_NAMES))
        d = walk_root
        while True:
            for name in _CONFIG_NAMES:
                inputs.add(os.path.join(d, name))
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    if engine.config_root:  # CODEOWNERS gives findings their owners
        from tfguard.calls import CallIndex
        from tfguard.owners import LOCATIONS as CODEOWNERS_LOCATIONS

        h.update(f"|calls={CallIndex(engine.config_root).digest()}".encode())  # blast radius, module inputs

        inputs.update(os.path.join(engine.config_root, rel) for rel in CODEOWNERS_LOCATIONS)
    configs = engine.configs
    if configs is not None and configs.explicit:
        inputs.add(configs.explicit)
    if configs is not None and paths:
        try:
            cfg = configs.config_for(os.path.abspath(paths[0]))
            if cfg.catalogue:
                inputs.add(cfg.catalogue)
            for d in cfg.policy_dirs:
                inputs.update(iter_files(d, (".yaml", ".yml", ".json")))
        except Exception:
            return None
    for f in sorted(inputs):
        h.update(f.encode() + b"\0" + content_key(f))  # never opens a FIFO or device, reads at most the cap
    return h.hexdigest()


def config_dir(engine: Engine, path: str) -> str:
    """The folder whose ``.checkov.yaml`` governs the scan of ``path`` (its selection and its gate).

    A folder: itself (as ``checkov -d path``). A Terraform file inside the repository root (the
    pre-commit hook passes the files being committed): the repository root, since a file scan is the
    repository's scan restricted to that file (:func:`_scan_named`): the same verdict from the hook,
    from a subfolder and from CI's ``tfguard scan .``. A plan, or a file outside the repository: its
    own folder.
    """
    p = os.path.abspath(path)
    if os.path.isdir(p):
        return p
    if is_plan_file(p):
        return os.path.dirname(p)
    return file_scan_root(engine, p)


def file_scan_root(engine: Engine, file: str) -> str:
    """The folder whose scan a named Terraform file's scan is part of: the top of the git work tree holding it
    (where pre-commit runs its hooks and CI its scan), else the file's own folder (no repository: tfguard
    never widens a file's scan to the working directory, which may be a home folder)."""
    root = engine.config_root
    if root and is_inside(file, root) and os.path.exists(os.path.join(root, ".git")):
        return root
    return os.path.dirname(os.path.abspath(file))


def _scan_uncached(engine: Engine, paths: list[str], cache: ResultCache, workers: int | None,
                   plan_repo_root: str | None = None, progress: Progress | None = None) -> ScanReport:
    report = ScanReport(root=os.path.abspath(paths[0]) if paths else os.getcwd())
    named: list[str] = []  # Terraform files named on the command line, scanned together (one repository run)
    for p in paths:
        p = os.path.abspath(p)
        if os.path.isfile(p) and is_plan_file(p):
            add_plan(engine, report, p, plan_repo_root)
        elif os.path.isfile(p):
            if p not in named:
                named.append(p)
        elif os.path.isdir(p):
            _scan_dir(engine, report, p, cache, workers, progress)
        else:
            report.problems.append(Problem(p, Span.of(0, 0, 0, 0), "no such file or directory", "read"))
    if named:
        _scan_named(engine, report, named, cache, workers, progress)
    return report


def _scan_named(engine: Engine, report: ScanReport, named: list[str], cache: ResultCache, workers: int | None,
                progress: Progress | None) -> None:
    """Files named on the command line (the pre-commit hook's): what ``tfguard scan <repository root>``
    reports for them, their module-instance findings through every caller included (an example's or an
    environment's call of the module a file belongs to), under the repository root's configuration.

    Outside a git repository the file's own folder stands for the root (:func:`file_scan_root`). Only the
    units reading the files' folders run. A file no unit of that scan reads (left out by skip-path or an
    exclude glob, in a hidden folder, a variables file) gets Checkov's run on its own module folder
    (:func:`_scan_files`), as before."""
    groups: dict[str, list[str]] = {}
    for f in named:
        groups.setdefault(file_scan_root(engine, f), []).append(f)
    rest: list[str] = []
    for root, files in groups.items():
        covered = _scan_dir(engine, report, root, cache, workers, progress, only=files)
        rest += [f for f in files if f not in covered]
    if rest:
        _scan_files(engine, report, rest)


@dataclasses.dataclass
class DirPlan:
    """What ``checkov -d d`` runs, split into units (see :mod:`tfguard.scan.pool`): the one plan the CLI's
    scan and the editor's authoritative result (:mod:`tfguard.scan.live`) share."""

    root: str
    files: list[str]  # the Terraform files scanned (none left out, none overridden by OpenTofu)
    units: list[pool.ScanUnit]
    selection: CheckSelection
    policy_dirs: tuple[str, ...]
    var_files: tuple[str, ...]
    skip_paths: tuple[str, ...]  # Checkov's --skip-path patterns (configuration)
    left_out: list[str]  # files tfguard leaves out that Checkov must not read (anchored per unit run)
    problems: list[Problem]  # overridden files, missing variables files
    config_path: str | None = None
    complete: bool = True  # False: a variables file is missing, nothing may be scanned


def _unsaved_only(engine: Engine, d: str) -> list[str]:
    """Unsaved Terraform documents under ``d`` (outside hidden directories) that are not on disk."""
    out = []
    for p in engine.overlays():
        if not p.endswith(TERRAFORM_SUFFIXES) or os.path.exists(p) or not is_inside(p, d):
            continue
        rel = os.path.relpath(os.path.dirname(os.path.abspath(p)), os.path.abspath(d))
        if rel == "." or not any(part.startswith(".") for part in rel.split(os.sep)):
            out.append(os.path.abspath(p))
    return out


def plan_dir(engine: Engine, d: str) -> DirPlan:
    """The units of ``checkov -d d``: one per directory no other directory calls, or one recursive run
    when module call names collide or variables files meet local modules (as ``checkov -d`` needs)."""
    cfg = engine.checkov_config(d)
    # Checkov's --skip-path / skip-path, tested as `checkov -d d` tests them; .tfguard.yaml exclude globs
    skip_paths, _ = engine.skip_paths_for(d, walk_root=d)
    with engine.configs.batch() if engine.configs is not None else contextlib.nullcontext():
        excluded = [f for f in iter_terraform_files(d, include_vars=True)
                    if skipped_by_checkov(f, skip_paths, d) or engine.excluded_by_config(f)]
    left_out = set(excluded)
    files = [f for f in iter_terraform_files(d) if f not in left_out]
    # documents open in the editor and not on disk yet (a new file): the scan of the current text reads
    # them as if saved (the CLI has none)
    files += sorted(p for p in _unsaved_only(engine, d) if p not in left_out and not engine.excluded_by_config(p))
    problems: list[Problem] = []
    overridden = tofu_overridden(files)
    if overridden:  # OpenTofu reads x.tofu, not the x.tf beside it: neither does the scan
        files = [f for f in files if f not in overridden]
        problems.extend(overridden_problem(f, by) for f, by in overridden.items())
    # Checkov must not read what tfguard leaves out: the globs' files as anchored patterns
    unit_left_out = [f for f in excluded if not skipped_by_checkov(f, skip_paths, d)]
    unit_skip = skip_paths + anchored(unit_left_out)
    var_files = engine.var_files_for(d)
    for vf in var_files:  # fail closed: a variables file that is not there is not "no variables"
        if not os.path.isfile(vf):
            problems.append(Problem(vf, Span.of(0, 0, 0, 1), "variables file (--var-file) not found: "
                                    "not scanned without it", "read"))
    policy_dirs = cfg.external_checks_dirs + engine.extra_policy_dirs(d)
    problems.extend(config_problems(cfg, policy_dirs))  # a check id there that matches no check
    problems.extend(_nested_configs(d, files, cfg.path))
    plan = DirPlan(root=d, files=files, units=[], selection=CheckSelection(cfg.checks, cfg.skip_checks),
                   policy_dirs=policy_dirs, var_files=var_files,
                   skip_paths=skip_paths, left_out=unit_left_out, problems=problems, config_path=cfg.path,
                   complete=all(os.path.isfile(vf) for vf in var_files))
    if not plan.complete or not files:
        return plan

    module_confs: dict[str, list[dict]] = {}  # a module called by many units is read once

    def confs(module_dir: str) -> list[dict]:
        if module_dir not in module_confs:
            module_confs[module_dir] = [
                (st.json_conf or {}) if st.is_json else merge_confs(st.parsed)
                for st in map(engine.state, engine.module_files(module_dir))]
        return module_confs[module_dir]

    def calls(module_dir: str) -> list[str]:
        return local_module_dirs(module_dir, confs(module_dir))

    def call_names(module_dir: str) -> list[str]:
        return [name for name, _ in module_calls(confs(module_dir))]

    units = [dataclasses.replace(u, var_files=var_files, skip_paths=unit_skip)
             for u in pool.plan_units({os.path.dirname(f) for f in files}, calls)]
    collisions = pool.colliding_units(units, call_names) if len(units) > 1 else set()
    if collisions:
        log.info("module call names %s are used by several independent directories under %s: scanning it "
                 "in one run, as `checkov -d` does (its results for them depend on each other)",
                 ", ".join(sorted(collisions)[:5]), d)
        units = [pool.whole_tree_unit(d, units, var_files, unit_skip)]
    elif var_files and _walked_modules(units, d):
        # `checkov -d` applies --var-file to every directory it walks, a called module's too when the walk
        # reaches it before its caller: only the one recursive run reproduces that.
        log.info("variables files and local modules inside %s: scanning it in one run, as `checkov -d` does", d)
        units = [pool.whole_tree_unit(d, units, var_files, unit_skip)]
    plan.units = units
    return plan


def _nested_configs(d: str, files: list[str], in_force: str | None) -> list[Problem]:
    """A ``.checkov.yaml`` in a folder below ``d`` holding scanned files is not read by ``checkov -d d``
    (Checkov reads the scanned folder's, then the working directory's and the home folder's): said, never
    silently ignored, since its author expects its ``soft-fail`` or ``hard-fail-on`` to decide."""
    top = os.path.abspath(d)
    seen: set[str] = set()
    found: list[Problem] = []
    for folder in sorted({os.path.dirname(os.path.abspath(f)) for f in files}):
        while folder != top and is_inside(folder, top) and folder not in seen:
            seen.add(folder)
            for name in CHECKOV_CONFIG_NAMES:
                path = os.path.join(folder, name)
                if os.path.isfile(path) and path != in_force:
                    rel = os.path.relpath(folder, top)
                    reads = os.path.relpath(in_force, top) if in_force else "no .checkov.yaml (there is none)"
                    found.append(Problem(path, Span.of(0, 0, 0, 1), (
                        f"not applied by the scan of {top}, which reads {reads} as `checkov -d` does: this file's "
                        f"check selection and gate options decide nothing in it; scan {rel} on its own to apply "
                        "them"), "config", Severity.MEDIUM))
            folder = os.path.dirname(folder)
    return found


def _scan_dir(engine: Engine, report: ScanReport, d: str, cache: ResultCache, workers: int | None,
              progress: Progress | None = None, only: list[str] | None = None) -> list[str]:
    """``checkov -d d``, split into independent units run in parallel and cached (see scan.pool).

    ``only``: report these files alone (absolute paths), running only the units that read their folders,
    and return those of them the scan covers (a file no unit reads is not: see :func:`_scan_named`).
    Problems of every file those units read stay (an example that does not parse leaves the module's
    instance findings through it unknown); others are about the named files or the configuration."""
    plan = plan_dir(engine, d)
    files, units, policy_dirs = plan.files, plan.units, plan.policy_dirs
    read = files
    wanted: set[str] | None = None
    if only is not None:
        real_files = {os.path.realpath(f) for f in files}
        covered = []
        for f in only:  # x.tf overridden by x.tofu: its INFO problem and the file OpenTofu runs, as `scan DIR`
            by = engine.overriding(f)
            effective = by if by is not None else f
            if os.path.realpath(effective) in real_files and (not plan.complete or any(
                    u.reads(os.path.dirname(effective)) for u in units)):  # incomplete: nothing is scanned, said once
                covered += [x for x in (f, by) if x is not None and x not in covered]
        wanted = {os.path.realpath(f) for f in covered}
        units = [u for u in units if any(u.reads(os.path.dirname(f)) for f in covered)]
        read = [f for f in files if any(u.reads(os.path.dirname(f)) for u in units)]
        real_read = {os.path.realpath(f) for f in read}
        plan_problems = [p for p in plan.problems if _kept(p, wanted, real_files, real_read, covered)]
        files = [f for f in files if os.path.realpath(f) in wanted]
    else:
        covered = list(files)
        plan_problems = plan.problems
    # once: two scanned folders under one .checkov.yaml both find its problems (as _add_config_problems)
    report.problems.extend(p for p in plan_problems if p not in report.problems)
    if not plan.complete:
        if only is not None:  # counted: the missing variables file decides the verdict (2), not "no files"
            report.files_scanned += len(covered)
        return covered
    report.files_scanned += len(files)

    def load_policies() -> None:  # only when Checkov runs: a fully cached scan never imports it
        for line in use_policy_dirs(policy_dirs):
            report.problems.append(Problem(plan.config_path or d, Span.of(0, 0, 0, 0), line, "config"))

    states: dict[str, FileState] = {}
    for f in read:
        st = engine.state(f)
        states[os.path.realpath(f)] = st
        if st.read_problem is not None:
            report.problems.append(st.read_problem)
        report.problems.extend(pb.problem for pb in st.parsed if pb.problem is not None)
    if not files:
        return covered
    var_files = plan.var_files
    # policy files are not part of the unit key: no unit cache with policy directories
    unit_cache = ResultCache(None) if policy_dirs else cache
    runs, failures = pool.run_units(units, plan.selection, cache=unit_cache,
                               max_workers=workers, prepare=load_policies, progress=progress)
    for root, error in failures:
        report.problems.append(Problem(root, Span.of(0, 0, 0, 1),
                                       f"Checkov failed on this directory: {error}", "engine"))
    by_file: dict[str, list[GraphRecord]] = {}
    parsing_errors: set[str] = set()
    for run in runs:
        parsing_errors.update(run.parsing_errors)
        for kind, n in run.checkov_warnings:
            report.checkov_warnings[kind] = report.checkov_warnings.get(kind, 0) + n
        errors = [e for e in run.check_errors if wanted is None or os.path.realpath(e.file) in wanted]
        report.problems.extend(check_error_problems(
            errors, lambda f: (states.get(os.path.realpath(f)) or engine.state(f)).split.blocks))
        for rec in run.records:
            rp = os.path.realpath(rec.file)
            if wanted is None or rp in wanted:
                by_file.setdefault(rp, []).append(rec)
    for rp, recs in by_file.items():
        st = states.get(rp) or engine.state(rp)
        report.findings.extend(engine.records_to_findings(recs, st))
    # Checkov drops a file it cannot parse whole; tfguard still checks its good blocks: Checkov's run
    # again on the file's directory with the blocks that do not parse masked out (as the editor's tier 2
    # does: graph checks included), else tier 1 for what that run still drops.
    real_var_files = {os.path.realpath(vf) for vf in var_files}
    for bad in sorted(parsing_errors):
        if os.path.realpath(bad) in real_var_files:  # an unparsable --var-file: its variables were not applied
            report.problems.append(Problem(bad, Span.of(0, 0, 0, 1), "variables file (--var-file) does not parse:"
                                           " Checkov could not apply it", "syntax"))
    dropped = [bst for bad in sorted(parsing_errors)
               if os.path.realpath(bad) not in real_var_files
               and (wanted is None or os.path.realpath(bad) in wanted)
               and (bst := states.get(os.path.realpath(bad))) is not None
               and not bst.is_json and bst.read_problem is None]
    by_dir: dict[str, list[FileState]] = {}
    for bst in dropped:
        by_dir.setdefault(os.path.dirname(bst.path), []).append(bst)
    for bad_dir, bad_states in by_dir.items():
        masked_run = None
        if any(masked_text(bst) is not None for bst in bad_states):
            try:
                masked_run = engine.module_run(bad_dir)
            except Exception as e:  # noqa: BLE001 - tier 1 stands in
                log.warning("masked Checkov run failed for %s: %s", bad_dir, e)
        still = {os.path.realpath(p) for p in masked_run.parsing_errors} if masked_run is not None else None
        for bst in bad_states:
            rp = os.path.realpath(bst.path)
            if masked_run is not None and still is not None and rp not in still:
                recs = [r for r in masked_run.records if os.path.realpath(r.file) == rp]
                report.findings.extend(engine.records_to_findings(recs, bst))
                report.problems.extend(check_error_problems(
                    [e for e in masked_run.check_errors if os.path.realpath(e.file) == rp],
                    lambda f, s=bst: s.split.blocks))  # type: ignore[misc]
                continue
            fa = engine.analyze_file(bst.path, with_rules=False)
            report.findings.extend(x for x in fa.findings if x.source == "checkov")
            report.problems.extend(x for x in fa.problems if x.code == CHECK_ERROR)
    _add_rules(engine, report, files)
    return covered


def _kept(problem: Problem, wanted: set[str], files: set[str], read: set[str], named: list[str]) -> bool:
    """Whether a plan's problem belongs to the scan of the ``named`` files: one about a named file, about a
    file the units run read, or about the configuration in force (a nested ``.checkov.yaml`` only when a
    named file is under it)."""
    rp = os.path.realpath(problem.file)
    if rp in wanted or rp in read:
        return True
    if rp in files or problem.file.endswith(TERRAFORM_SUFFIXES):
        return False  # a Terraform file of the tree the named files do not depend on
    if problem.code == "config":  # a .checkov.yaml: the one in force, or a nested one (plan_dir)
        return any(is_inside(f, os.path.dirname(problem.file)) for f in named)
    return True


def _walked_modules(units: list[pool.ScanUnit], d: str) -> bool:
    """True when some unit calls a local module inside ``d`` (a directory `checkov -d d` also walks)."""
    real = os.path.realpath(d)
    return any(m == real or m.startswith(real + os.sep) for u in units for m in u.dirs if m != u.root)


def _scan_files(engine: Engine, report: ScanReport, files: list[str]) -> None:
    """Files named on the command line: Checkov's full run (graph checks included) on each file's
    module directory, keeping the named files' results."""
    report.files_scanned += len(files)
    by_dir: dict[str, list[str]] = {}
    for f in files:
        by_dir.setdefault(os.path.dirname(os.path.abspath(f)), []).append(os.path.abspath(f))
    for d, wanted in by_dir.items():
        result = engine.analyze_module(d)
        for f in list(wanted):
            # an x.tf overridden by x.tofu: its INFO problem (in the result) and the file OpenTofu runs
            by = engine.overriding(f)
            if by is not None and by not in wanted:
                wanted.append(by)
        for f in wanted:
            fa = result.get(f)
            if fa is None:  # not a Terraform file of that directory (e.g. .tfvars): tier 1 only
                fa = engine.analyze_file(f)
            report.findings.extend(fa.findings)
            report.problems.extend(fa.problems)


def _add_rules(engine: Engine, report: ScanReport, files: list[str]) -> None:
    """The engine's block rules on every block of ``files`` and its finding hook on every finding."""
    pipeline = engine.pipeline
    if not pipeline.active:
        return
    with engine.configs.batch() if engine.configs is not None else contextlib.nullcontext():
        contexts: dict[str, ModuleContext] = {}
        by_start: dict[tuple[str, int], BlockContext] = {}
        for f in files:
            st = engine.state(f)
            d = os.path.dirname(f)
            if d not in contexts:
                contexts[d] = engine.module_context(d)
            for pb in st.parsed:
                bctx = BlockContext(f, pb.block, pb.conf, contexts[d], engine.root)
                by_start[(os.path.realpath(f), pb.block.start_line)] = bctx
                found, problems = pipeline.rules(bctx)
                report.findings.extend(found)
                report.problems.extend(problems)

        def ctx_of(x: Finding) -> BlockContext | None:
            return by_start.get((os.path.realpath(x.file), x.line_range[0]))

        report.findings = pipeline.hook(report.findings, ctx_of)
