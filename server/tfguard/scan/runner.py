"""``tfguard scan``: Checkov's runner over directories on disk, as ``checkov -d`` reports them, plus
tfguard's own problems (unreadable files, syntax errors) and rules.

The whole report is cached (kind ``scans`` of :class:`~tfguard.scan.cache.ResultCache`) by the
content of everything it depends on (:func:`scan_key`): an unchanged tree is reported without
parsing or checking anything. A directory is split into independent units run in parallel, each
cached too (kind ``units``, see :mod:`tfguard.scan.pool`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Sequence

from tfguard.checks.entity import CheckSelection, ModuleContext
from tfguard.checks.errors import CHECK_ERROR, check_error_problems
from tfguard.checks.graph import GraphRecord, use_policy_dirs
from tfguard.config.checkov import CHECKOV_CONFIG_NAMES
from tfguard.engine import BlockContext, Engine, FileState
from tfguard.files import content_key, iter_files, iter_terraform_files
from tfguard.hcl.parse import merge_confs
from tfguard.identity import code_fingerprint
from tfguard.model import Finding, Problem, ScanReport, Span, report_from_json, report_to_json
from tfguard.scan import pool
from tfguard.scan.cache import ResultCache

log = logging.getLogger(__name__)

REPORT_FORMAT = 3  # bump when the report's JSON or what a scan computes changes
_CONFIG_NAMES = (".tfguard.yaml", ".tfguard.yml", *CHECKOV_CONFIG_NAMES)
_SCAN_INPUT_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json", ".hcl", ".yaml", ".yml", ".json")


def resolve_cache_dir(cache_dir: str | None) -> str | None:
    """``cache_dir`` as given ("": no cache), else :func:`~tfguard.scan.pool.default_cache_dir`."""
    if cache_dir is not None:
        return cache_dir or None
    return pool.default_cache_dir()


def scan(engine: Engine, paths: Sequence[str], *, cache_dir: str | None = None,
         workers: int | None = None) -> ScanReport:
    """``tfguard scan paths``: Checkov's runner on each directory (as ``checkov -d``), plus problems.

    ``cache_dir``: None for the default (``$TFGUARD_CACHE_DIR``, ``$XDG_CACHE_HOME/tfguard``), ""
    for none. ``workers``: worker processes for the units (None: one per core).
    """
    paths = list(paths)
    cache = ResultCache(resolve_cache_dir(cache_dir))
    key = scan_key(engine, paths) if cache.directory is not None else None
    if key is not None:
        cached = _cached_report(cache, key)
        if cached is not None:
            return cached
    report = _scan_uncached(engine, paths, cache, workers)
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
    inputs: set[str] = set()
    for p in paths:
        p = os.path.abspath(p)
        walk_root = p if os.path.isdir(p) else os.path.dirname(p)
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
        from tfguard.owners import LOCATIONS as CODEOWNERS_LOCATIONS

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


def _scan_uncached(engine: Engine, paths: list[str], cache: ResultCache, workers: int | None) -> ScanReport:
    report = ScanReport(root=os.path.abspath(paths[0]) if paths else os.getcwd())
    for p in paths:
        p = os.path.abspath(p)
        if os.path.isfile(p):
            _scan_files(engine, report, [p])
        elif os.path.isdir(p):
            _scan_dir(engine, report, p, cache, workers)
        else:
            report.problems.append(Problem(p, Span.of(0, 0, 0, 0), "no such file or directory", "read"))
    return report


def _scan_dir(engine: Engine, report: ScanReport, d: str, cache: ResultCache, workers: int | None) -> None:
    """``checkov -d d``, split into independent units run in parallel and cached (see scan.pool)."""
    files = list(iter_terraform_files(d))
    report.files_scanned += len(files)
    cfg = engine.checkov_config(d)
    policy_dirs = cfg.external_checks_dirs + engine.extra_policy_dirs(d)

    def load_policies() -> None:  # only when Checkov runs: a fully cached scan never imports it
        for line in use_policy_dirs(policy_dirs):
            report.problems.append(Problem(cfg.path or d, Span.of(0, 0, 0, 0), line, "config"))

    states: dict[str, FileState] = {}
    for f in files:
        st = engine.state(f)
        states[os.path.realpath(f)] = st
        if st.read_problem is not None:
            report.problems.append(st.read_problem)
        report.problems.extend(pb.problem for pb in st.parsed if pb.problem is not None)
    if not files:
        return

    module_confs: dict[str, list[dict]] = {}  # a module called by many units is read once

    def confs(module_dir: str) -> list[dict]:
        if module_dir not in module_confs:
            module_confs[module_dir] = [
                (st.json_conf or {}) if st.is_json else merge_confs(st.parsed)
                for st in map(engine.state, engine.module_files(module_dir))]
        return module_confs[module_dir]

    def calls(module_dir: str) -> list[str]:
        return pool.local_module_dirs(module_dir, confs(module_dir))

    def call_names(module_dir: str) -> list[str]:
        return [name for name, _ in pool.module_calls(confs(module_dir))]

    units = pool.plan_units({os.path.dirname(f) for f in files}, calls)
    collisions = pool.colliding_units(units, call_names) if len(units) > 1 else set()
    if collisions:
        log.info("module call names %s are used by several independent directories under %s: scanning it "
                 "in one run, as `checkov -d` does (its results for them depend on each other)",
                 ", ".join(sorted(collisions)[:5]), d)
        units = [pool.whole_tree_unit(d, units)]
    # policy files are not part of the unit key: no unit cache with policy directories
    unit_cache = ResultCache(None) if policy_dirs else cache
    runs, failures = pool.run_units(units, CheckSelection(cfg.checks, cfg.skip_checks), cache=unit_cache,
                               max_workers=workers, prepare=load_policies)
    for root, error in failures:
        report.problems.append(Problem(root, Span.of(0, 0, 0, 1),
                                       f"Checkov failed on this directory: {error}", "engine"))
    by_file: dict[str, list[GraphRecord]] = {}
    parsing_errors: set[str] = set()
    for run in runs:
        parsing_errors.update(run.parsing_errors)
        for kind, n in run.checkov_warnings:
            report.checkov_warnings[kind] = report.checkov_warnings.get(kind, 0) + n
        report.problems.extend(check_error_problems(
            run.check_errors, lambda f: (states.get(os.path.realpath(f)) or engine.state(f)).split.blocks))
        for rec in run.records:
            by_file.setdefault(os.path.realpath(rec.file), []).append(rec)
    for rp, recs in by_file.items():
        st = states.get(rp) or engine.state(rp)
        report.findings.extend(engine.records_to_findings(recs, st))
    # Checkov drops a file it cannot parse whole; tfguard still checks its good blocks.
    for bad in sorted(parsing_errors):
        bad_st = states.get(os.path.realpath(bad))
        if bad_st is not None and not bad_st.is_json and bad_st.read_problem is None:
            fa = engine.analyze_file(bad_st.path, with_rules=False)
            report.findings.extend(x for x in fa.findings if x.source == "checkov")
            report.problems.extend(x for x in fa.problems if x.code == CHECK_ERROR)
    _add_rules(engine, report, files)


def _scan_files(engine: Engine, report: ScanReport, files: list[str]) -> None:
    """Files named on the command line: Checkov's full run (graph checks included) on each file's
    module directory, keeping the named files' results."""
    report.files_scanned += len(files)
    by_dir: dict[str, list[str]] = {}
    for f in files:
        by_dir.setdefault(os.path.dirname(os.path.abspath(f)), []).append(os.path.abspath(f))
    for d, wanted in by_dir.items():
        result = engine.analyze_module(d)
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
