"""Tier 2: Checkov's full runner on a module's current text (unsaved included), the authoritative result.

Checkov's runner holds a process-wide lock (:data:`tfguard.checks.checkov_env.run_lock`) and
cannot be interrupted safely in-thread. So the time budget is process-wide too: one
:class:`CheckovBusy` (:data:`BUSY`) runs every bounded tier-2 run. A run over budget keeps going in
its daemon thread; until it ends, *every* module asking for a bounded tier 2, in any engine of
the process, gets tier 1's results at once with an INFO problem (code ``budget``) instead of
queueing behind the lock and blowing its own budget.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from tfguard.calls import Call, CallIndex
from tfguard.checks.entity import CheckSelection, ModuleContext
from tfguard.checks.errors import check_error_problems
from tfguard.checks.graph import GraphRecord, GraphRun, Mirror, RunSpec, run_checkov, use_policy_dirs
from tfguard.config.paths import anchored
from tfguard.engine.index import FileState, Index, overridden_problem
from tfguard.engine.pipeline import BlockContext, Pipeline
from tfguard.engine.tier1 import FileAnalysis, GraphSnapshot, Tier1, block_key, locate, reposition
from tfguard.files import TF_SUFFIXES, dir_has_tofu, is_inside, iter_terraform_files, text_digest
from tfguard.hcl.modules import local_module_dirs
from tfguard.model import Finding, Problem, Result, Span

log = logging.getLogger(__name__)

DEFAULT_MODULE_TIME_BUDGET = 20.0  # seconds for one module's tier-2 run before tier 1 stands in

_T = TypeVar("_T")


@dataclass(frozen=True)
class UnitArgs:
    """One scan unit's run as :meth:`Tier2.prepare_units` takes it (see :class:`tfguard.scan.pool.ScanUnit`)."""

    root: str
    recursive: bool = False
    var_files: tuple[str, ...] = ()
    skip_paths: tuple[str, ...] = ()
    left_out: frozenset[str] = frozenset()  # files tfguard leaves out
    dirs: tuple[str, ...] = ()  # the directories the run reads (the mirror must hold them)
    mirrored: bool = False  # the run reads OpenTofu files: through the mirror even with nothing unsaved


def records_to_findings(recs: Iterable[GraphRecord], st: FileState | None) -> list[Finding]:
    """Findings of Checkov's records on one file, located on the blocks of its state ``st``."""
    blocks = {b.start_line: b for b in st.split.blocks} if st is not None else {}
    out = []
    for rec in recs:
        block = blocks.get(rec.line_range[0])
        out.append(
            Finding(
                check_id=rec.check_id,
                check_name=rec.check_name,
                result=Result(rec.result),
                file=rec.file,
                resource=rec.resource,
                line_range=rec.line_range,
                span=locate(block, rec.evaluated_keys, fallback_line=max(0, rec.line_range[0] - 1)),
                evaluated_keys=rec.evaluated_keys,
                source="graph" if rec.is_graph_check else "checkov",
                block_type=block.kind if block is not None else "resource",
                suppress_comment=rec.suppress_comment,
                details=rec.details,
                caller_file=rec.caller_file,
                caller_line_range=rec.caller_line_range,
            )
        )
    return out


_MODULE_PREFIX = re.compile(r"^((?:module\.[^.\[]+(?:\[[^\]]*\])?\.)+)")


def module_address(resource: str) -> str:
    """The module instance a resource address is in (``module.vpc`` of ``module.vpc.aws_vpc.this[0]``), or ""."""
    m = _MODULE_PREFIX.match(resource)
    return m.group(1)[:-1] if m else ""


Through = Callable[[Finding], "tuple[Call, ...]"]  # the candidate calls of a record that names no caller


def merge_instances(findings: Iterable[Finding], root: str | None, through: Through | None = None) -> list[Finding]:
    """One finding per (check, result, block) of a file: the module-instance findings of every caller
    of the file's module merged into one that names the callers (``via module.vpc in examples/complete``),
    each caller kept in :attr:`Finding.callers` (file, call lines, module address). A finding of the file
    itself (no caller) is kept as it is when it is alone.

    A module-instance record without a caller (Checkov's graph checks give none) gets its callers from
    ``through`` (:meth:`tfguard.calls.CallIndex.through`: the calls of that name reaching the module).
    When several match (examples sharing a call name), all are named, and the message says they are
    the candidates rather than guessing one."""
    groups: dict[tuple[str, str, tuple[int, int]], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.check_id, f.result.value, f.line_range), []).append(f)
    out: list[Finding] = []
    for group in groups.values():
        derived: dict[tuple[str, int, int, str], None] = {}
        if through is not None:
            for x in group:
                address = module_address(x.resource)
                if x.caller_file is None and not x.callers and address:
                    for c in through(x):
                        derived[(c.caller_file, c.line, c.end_line or c.line, address)] = None
        if len(group) == 1 and group[0].caller_file is None and not derived:
            out.append(group[0])
            continue
        group.sort(key=lambda x: (x.caller_file or "", x.caller_line_range or (0, 0), x.resource))
        callers: dict[tuple[str, int, int, str], None] = {}
        for x in group:
            if x.caller_file is not None:
                lines = x.caller_line_range or (1, 1)
                callers[(x.caller_file, lines[0], lines[1], module_address(x.resource))] = None
        guessed = [c for c in derived if c not in callers]
        callers.update(dict.fromkeys(guessed))
        first = group[0]
        if not callers:
            out.append(first)
            continue

        def where(c: tuple[str, int, int, str]) -> str:
            d = os.path.dirname(c[0])
            rel = os.path.relpath(d, root) if root and is_inside(d, root) else d
            return f"{c[3] or 'module'} in {rel if rel != '.' else os.path.basename(c[0])}"

        named = [where(c) for c in callers]
        shown = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
        if len(guessed) > 1 and len(guessed) == len(callers):
            shown = (", ".join(named[:-1]) + f" or {named[-1]}") if len(named) <= 3 else \
                (", ".join(named[:2]) + f" or {len(named) - 2} more")
            shown += " (Checkov names no caller: the calls of that name)"
        out.append(dataclasses.replace(
            first, message=f"{first.check_name} via {shown}", callers=tuple(callers),
            details=tuple(dict.fromkeys(d for x in group for d in x.details))))
    return out


_NOT_NEWLINE = re.compile(r"[^\r\n]")


def masked_text(st: FileState) -> str | None:
    """The file's text with every block that does not parse blanked out (its line breaks kept), or
    None when every block parses.

    Checkov drops a file it cannot parse whole; on the masked text its runner checks the blocks
    that parse, graph checks included, at their own line numbers.
    """
    if st.is_json or st.read_problem is not None or not any(pb.broken for pb in st.parsed):
        return None
    text = st.text
    out: list[str] = []
    cursor = 0
    for pb in st.parsed:
        btext = pb.block.text
        at = text.find(btext, cursor) if btext else -1
        if at < 0:
            continue
        if pb.broken:
            out.append(text[cursor:at])
            out.append(_NOT_NEWLINE.sub("", btext))
            cursor = at + len(btext)
        else:
            out.append(text[cursor:at + len(btext)])
            cursor = at + len(btext)
    out.append(text[cursor:])
    return "".join(out)


_POLICY_AT = re.compile(r"^policy (?P<path>/.+?)(?::(?P<line>\d+))?: ")


def policy_problem(line: str, fallback: str) -> Problem:
    """A policy folder's problem line (:func:`~tfguard.checks.graph.use_policy_dirs`) as a located
    configuration problem: on the policy file and line it names, else on ``fallback`` (the
    ``.checkov.yaml`` or the module folder), as ``tfguard scan`` reports it."""
    m = _POLICY_AT.match(line)
    if m is None:
        return Problem(fallback, Span.of(0, 0, 0, 1), line, "config")
    at = max(0, int(m.group("line") or 1) - 1)
    return Problem(m.group("path"), Span.of(at, 0, at, 1), line, "config")


class CheckovBusy:
    """The process-wide "Checkov is busy" state: which bounded run, if any, is past its budget."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runaway: threading.Thread | None = None
        self._module = ""  # module dir of the runaway run

    def runaway(self) -> str | None:
        """The module directory whose tier-2 run is over budget and still running, if any."""
        with self._lock:
            t = self._runaway
            if t is not None and not t.is_alive():
                self._runaway = None
            return self._module if self._runaway is not None else None

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the runaway run (if any) to end; True when none is left."""
        with self._lock:
            t = self._runaway
        if t is not None:
            t.join(timeout)
        return self.runaway() is None

    def run(self, module_dir: str, fn: Callable[[], _T], budget: float) -> tuple[bool, _T | None]:
        """``fn()`` in a daemon thread, waiting at most ``budget`` seconds: (True, result) or (False, None).

        (False, None) without starting anything while another run is over budget. ``fn``'s
        exception is re-raised here when it ends within budget.
        """
        if self.runaway() is not None:
            return False, None
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = fn()
            except BaseException as e:  # re-raised in the caller
                box["error"] = e

        t = threading.Thread(target=work, name=f"tfguard-tier2:{os.path.basename(module_dir)}", daemon=True)
        t.start()
        t.join(budget)
        if t.is_alive():
            with self._lock:
                if self._runaway is None or not self._runaway.is_alive():
                    self._runaway, self._module = t, module_dir
            return False, None
        if "error" in box:
            raise box["error"]
        return True, box["result"]


BUSY = CheckovBusy()  # one per process: Checkov's run lock is one per process


def over_budget_message(budget: float) -> str:
    """The ``budget`` problem of a module whose own tier-2 run went over ``budget`` seconds."""
    return (f"Module analysis (Checkov's full runner, graph checks) took longer than {budget:g} s: showing "
            "per-block results only; graph checks are missing for this module (setting moduleTimeBudgetMs)")


def busy_message(other: str) -> str:
    """The ``budget`` problem of a module refused tier 2 while ``other``'s run is over budget."""
    return (f"Checkov is busy: the module analysis of {other} is over its time budget and still running; "
            "showing per-block results only; graph checks are missing for this module until it ends "
            "(setting moduleTimeBudgetMs)")


class Tier2:
    """Checkov's runner on the modules of one engine; results feed tier 1's graph snapshots."""

    def __init__(self, index: Index, tier1: Tier1, pipeline: Pipeline, lock: threading.RLock, root: str | None,
                 extra_policy_dirs: Callable[[str], tuple[str, ...]], budget: float | None,
                 busy: CheckovBusy = BUSY, *, var_files: Callable[[str], tuple[str, ...]] | None = None,
                 excluded: Callable[[str], bool] | None = None) -> None:
        self.index = index
        self.tier1 = tier1
        self.pipeline = pipeline
        self.root = root
        self.extra_policy_dirs = extra_policy_dirs
        self.budget = budget
        self.busy = busy
        self.var_files = var_files or (lambda _d: ())
        self.excluded = excluded or (lambda _p: False)
        self.calls: CallIndex | None = None  # who calls a local module (callers of graph records); set by the engine
        self._lock = lock
        self._mirror: Mirror | None = None
        self._mirror_lock = threading.Lock()  # the scratch mirror is written by one run at a time
        self._close_after_run = False  # close() came while a run held the mirror

    def analyze_module(self, module_dir: str) -> dict[str, FileAnalysis]:
        """Tier 2: Checkov's full runner on the module's current text. Authoritative."""
        module_dir = os.path.abspath(module_dir)
        index = self.index
        all_files = index.module_files(module_dir)
        left_out = [f for f in all_files if self.excluded(f)]  # Checkov must not read them either
        files = [f for f in all_files if f not in left_out]
        if not files:  # an excluded module: nothing to run, nothing to show
            return {f: FileAnalysis(path=f, digest=index.state(f).digest, tier=2) for f in left_out}
        states = {f: index.state(f) for f in files}
        inputs = self.tier1.module_inputs(module_dir)  # the values of the text Checkov reads (graph snapshots)
        run = self.module_run(module_dir, states, left_out)
        real_dir = os.path.realpath(module_dir)
        dropped = {os.path.realpath(p) for p in run.parsing_errors}
        result: dict[str, FileAnalysis] = {f: FileAnalysis(path=f, digest=index.state(f).digest, tier=2)
                                           for f in left_out}
        for f, st in states.items():
            result[f] = FileAnalysis(path=f, digest=st.digest, tier=2)
            if st.read_problem is not None:
                result[f].problems.append(st.read_problem)
            for pb in st.parsed:
                if pb.problem is not None:
                    result[f].problems.append(pb.problem)
        by_file: dict[str, list[GraphRecord]] = {}
        for rec in run.records:
            rp = os.path.realpath(rec.file)
            if os.path.dirname(rp) != real_dir:
                continue  # resources of called modules belong to those modules' own analysis
            by_file.setdefault(rp, []).append(rec)
        real_to_path = {os.path.realpath(f): f for f in files}
        for rp, recs in by_file.items():
            f = real_to_path.get(rp, rp)
            st = states.get(f) or index.state(f)
            fa = result.setdefault(f, FileAnalysis(path=f, digest=st.digest, tier=2))
            fa.findings.extend(records_to_findings(recs, st))
        for problem in check_error_problems(run.check_errors, lambda f: index.state(f).split.blocks):
            if os.path.dirname(os.path.realpath(problem.file)) == real_dir:  # as records: this module's files
                f = real_to_path.get(os.path.realpath(problem.file), problem.file)
                fa = result.setdefault(f, FileAnalysis(path=f, digest=index.state(f).digest, tier=2))
                fa.problems.append(problem)
        ctx = index.module_context(module_dir)
        for f, fa in list(result.items()):
            result[f] = self._finish_file(f, states.get(f) or index.state(f), fa, ctx, dropped, inputs)
        for f, by in index.overridden(module_dir).items():  # what OpenTofu does not read: said, not checked
            result[f] = FileAnalysis(path=f, digest=index.state(f).digest, tier=2,
                                     problems=[overridden_problem(f, by)])
        return result

    def _finish_file(self, f: str, st: FileState, fa: FileAnalysis, ctx: ModuleContext,
                     dropped: set[str], inputs: dict[str, str] | None = None) -> FileAnalysis:
        """One file's tier-2 result: its graph snapshot for tier 1, then the org rules and the finding hook.

        A file Checkov dropped whole (``dropped``: real paths) gets tier 1's result, its snapshot kept.
        """
        if os.path.realpath(f) in dropped and not st.is_json and st.read_problem is None:
            # Checkov still dropped the file whole: never "no findings" for its good blocks. Tier 1
            # stands in (unchanged blocks keep the last snapshot's findings); the snapshot is kept.
            log.info("Checkov could not parse %s even with its broken blocks masked; tier 1 stands in", f)
            t1 = self.tier1.analyze_file(f)
            t1.tier = 2
            return t1
        snapshot = GraphSnapshot(by_block={}, other=[], inputs=inputs)
        blocks = {b.start_line: b for b in st.split.blocks}
        for finding in fa.findings:
            b = blocks.get(finding.line_range[0])
            if b is None:
                snapshot.other.append(finding)
                continue
            entry = snapshot.by_block.setdefault(block_key(b), (text_digest(b.text), b.start_line, []))
            entry[2].append(finding)
        for b in st.split.blocks:
            snapshot.by_block.setdefault(block_key(b), (text_digest(b.text), b.start_line, []))
        # graph snapshot only for blocks that parsed: a broken block keeps its older findings
        old = self.tier1.snapshot(f)
        for pb in st.parsed:
            if pb.broken and old is not None and block_key(pb.block) in old.by_block:
                snapshot.by_block[block_key(pb.block)] = old.by_block[block_key(pb.block)]
                fa.findings.extend(reposition(old.by_block[block_key(pb.block)][2], pb.block))
        self.tier1.put_snapshot(f, snapshot)
        if not self.pipeline.active:
            return fa
        # org rules / policies that tier 1 adds run here too
        contexts: dict[int, BlockContext] = {}
        for pb in st.parsed:
            bctx = BlockContext(f, pb.block, pb.conf, ctx, self.root)
            contexts[pb.block.start_line] = bctx
            extra, problems = self.pipeline.rules(bctx)
            fa.findings.extend(extra)
            fa.problems.extend(problems)
        fa.findings = self.pipeline.hook(fa.findings, lambda x, c=contexts: c.get(x.line_range[0]))  # type: ignore[misc]
        return fa

    # ------------------------------------------------------- scan units
    @contextmanager
    def mirror_held(self) -> Iterator[None]:
        """Hold the scratch mirror for a pass of prepared runs (:meth:`prepare_units`): no other run
        re-writes it until the block ends, so every run of the pass (some read by the side process)
        sees the text it was prepared on. A :meth:`close` that came meanwhile happens at the end."""
        with self._mirror_lock:
            try:
                yield
            finally:
                if self._close_after_run:
                    self._close_mirror()

    def mirror_base(self, unit: UnitArgs) -> str:
        """The tree whose scratch mirror a unit's run reads: the workspace, or what holds all it reads."""
        dirs = (unit.root, *unit.dirs)
        if self.root and all(is_inside(d, self.root) for d in dirs):
            return self.root
        return os.path.commonpath([os.path.realpath(d) for d in dirs])

    def prepare_units(self, units: Sequence[UnitArgs], *, selection: CheckSelection,
                      policy_dirs: tuple[str, ...] = ()) -> list[RunSpec | Exception]:
        """Checkov's runs of scan units of ``tfguard scan`` (:class:`tfguard.scan.pool.ScanUnit`) on the
        current text, unsaved included, made ready: one :class:`RunSpec` per unit (or the exception that
        unit raised), run by :func:`tfguard.checks.graph.run_spec` here or in the side process.

        Call it inside :meth:`mirror_held`, with units of one :meth:`mirror_base`. A unit runs on the disk
        itself when nothing it reads is unsaved or broken and it reads no OpenTofu file (``mirrored``),
        else on the scratch mirror, synced once for all the units: the unsaved text, and a file with
        blocks that do not parse read with them blanked out, as module_run does (Checkov drops a file it
        cannot parse whole). ``skip_paths`` are Checkov's --skip-path patterns of the configuration,
        ``left_out`` the files tfguard leaves out (anchored in whatever tree Checkov reads).
        """
        if not units:
            return []
        index = self.index
        for problem_line in use_policy_dirs(policy_dirs):
            log.warning("%s", problem_line)
            # a refused policy folder is a located problem on the policy file, as tfguard scan reports it
            index.record_config_problem(policy_problem(problem_line, index.checkov_config(units[0].root).path
                                                       or units[0].root))
        masks: list[dict[str, str] | Exception] = []
        for u in units:
            try:
                masked: dict[str, str] = {}
                for d in dict.fromkeys(u.dirs or (u.root,)):
                    for f in index.module_files(d):
                        if f not in u.left_out and (m := masked_text(index.state(f))) is not None:
                            masked[f] = m
                masks.append(masked)
            except Exception as e:  # one unit failing never loses the others
                masks.append(e)
        overlays = index.texts.overlays()
        # unsaved text tfguard does not analyse (over maxFileBytes or the size budget) is never handed to
        # Checkov: left out of the mirror, and the mirror used so its disk text is not read
        refused = [p for p in overlays if index.texts.read(p)[0] is None]
        for p in refused:
            del overlays[p]
        needs = [not isinstance(got, Exception) and bool(overlays or got or refused or u.mirrored)
                 for u, got in zip(units, masks, strict=True)]
        mirror: Mirror | None = None
        if any(needs):
            for unit_masks in masks:
                if not isinstance(unit_masks, Exception):
                    overlays.update(unit_masks)  # Checkov sees the blocks that parse, at their own lines
            base = self.mirror_base(units[0])
            mirror = self._mirror_at(base)
            mirror.sync(self._mirror_files(base, overlays))
        specs: list[RunSpec | Exception] = []
        for u, got, need in zip(units, masks, needs, strict=True):
            if isinstance(got, Exception):
                specs.append(got)
            elif not need or mirror is None:
                specs.append(RunSpec(u.root, selection, u.recursive, var_files=u.var_files,
                                     skip_paths=u.skip_paths + anchored(sorted(u.left_out)), policy_dirs=policy_dirs))
            else:
                mapped_vars = tuple(mirror.path_for(f) if is_inside(f, mirror.real_root) and os.path.isfile(
                    mirror.path_for(f)) else f for f in u.var_files)
                specs.append(RunSpec(mirror.path_for(u.root), selection, u.recursive, path_map=mirror.path_map,
                                     renamed=tuple(sorted(mirror.renamed.items())), var_files=mapped_vars,
                                     skip_paths=u.skip_paths + anchored(mirror.path_for(f) for f in sorted(u.left_out)),
                                     policy_dirs=policy_dirs))
        return specs

    def through(self, finding: Finding) -> tuple[Call, ...]:
        """The candidate calls of a module-instance finding that names no caller (:meth:`CallIndex.through`)."""
        if self.calls is None:
            return ()
        return self.calls.through(finding.resource, os.path.dirname(os.path.abspath(finding.file)))

    def adopt_unit_runs(self, files: Iterable[str], runs: Iterable[GraphRun],
                        problems: Iterable[Problem] = ()) -> dict[str, FileAnalysis]:
        """Tier 2's result for ``files`` from the runs of every scan unit that reads them: each file's own
        records plus the module-instance records of every caller, one finding per check and block
        (:func:`merge_instances`). Installs the graph snapshots tier 1 merges open documents with.

        ``problems``: the scan plan's own (an overridden file, a missing variables file), by file.
        """
        with self.index.batch():  # each file read once, however many findings ask for their module's blocks
            return self._adopt_unit_runs(files, runs, problems)

    def _adopt_unit_runs(self, files: Iterable[str], runs: Iterable[GraphRun],
                         problems: Iterable[Problem]) -> dict[str, FileAnalysis]:
        index = self.index
        wanted = {os.path.realpath(f): os.path.abspath(f) for f in files}
        by_file: dict[str, list[GraphRecord]] = {rp: [] for rp in wanted}
        dropped: set[str] = set()
        errors: list[Any] = []
        for run in runs:
            dropped.update(os.path.realpath(p) for p in run.parsing_errors)
            errors.extend(e for e in run.check_errors if os.path.realpath(e.file) in wanted)
            for rec in run.records:
                recs = by_file.get(os.path.realpath(rec.file))
                if recs is not None:
                    recs.append(rec)
        result: dict[str, FileAnalysis] = {}
        contexts: dict[str, ModuleContext] = {}
        inputs: dict[str, dict[str, str]] = {}
        plan_problems: dict[str, list[Problem]] = {}
        for p in problems:
            plan_problems.setdefault(os.path.realpath(p.file), []).append(p)
        for rp, f in wanted.items():
            st = index.state(f)
            fa = FileAnalysis(path=f, digest=st.digest, tier=2)
            if st.read_problem is not None:
                fa.problems.append(st.read_problem)
            fa.problems.extend(pb.problem for pb in st.parsed if pb.problem is not None)
            fa.problems.extend(plan_problems.get(rp, ()))
            fa.findings.extend(merge_instances(records_to_findings(by_file[rp], st), self.root, self.through))
            d = os.path.dirname(f)
            if d not in contexts:
                contexts[d] = index.module_context(d)
                inputs[d] = self.tier1.module_inputs(d)  # read with ``st``: the snapshot's texts and values agree
            result[f] = self._finish_file(f, st, fa, contexts[d], dropped, inputs[d])
        for problem in check_error_problems(errors, lambda p: index.state(p).split.blocks):
            hit = result.get(wanted.get(os.path.realpath(problem.file), ""))
            if hit is not None:
                hit.problems.append(problem)
        return result

    def module_run(self, module_dir: str, states: dict[str, FileState] | None = None,
                   left_out: list[str] | None = None) -> GraphRun:
        """Checkov's runner on the module's current text: unsaved text, masked files, OpenTofu files and
        the var files in force, through the scratch mirror when any of those needs it.

        A file with blocks that do not parse is given to Checkov with those blocks blanked out
        (:func:`masked_text`), so the blocks that parse keep their findings, graph checks included.
        ``left_out``: files Checkov must not read (excluded by configuration).
        """
        module_dir = os.path.abspath(module_dir)
        index = self.index
        if left_out is None:
            left_out = [f for f in index.module_files(module_dir) if self.excluded(f)]
        if states is None:
            states = {f: index.state(f) for f in index.module_files(module_dir) if f not in left_out}
        skip_paths = anchored(left_out)  # Checkov must not read them either
        cfg = index.checkov_config(module_dir)
        selection = CheckSelection(cfg.checks, cfg.skip_checks)
        var_files = self.var_files(module_dir)
        for problem_line in use_policy_dirs(cfg.external_checks_dirs + self.extra_policy_dirs(module_dir)):
            log.warning("%s", problem_line)
            index.record_config_problem(policy_problem(problem_line, cfg.path or module_dir))
        masked = {f: m for f, st in states.items() if (m := masked_text(st)) is not None}
        with self._mirror_lock:
            overlays = index.texts.overlays()
            # unsaved text tfguard does not analyse (over maxFileBytes or the size budget) is never
            # handed to Checkov: left out of the mirror, and the mirror used so its disk text is not read
            refused = [p for p in overlays if index.texts.read(p)[0] is None]
            for p in refused:
                del overlays[p]
            root, path_map, renamed = module_dir, None, None
            mirror: Mirror | None = None
            if overlays or masked or refused:
                overlays.update(masked)  # Checkov sees the blocks that parse, at their own lines
                mirror_root = self.root or module_dir
                mirror = self._mirror_at(mirror_root)
                mirror.sync(self._mirror_files(mirror_root, overlays))
            elif (tofu_dirs := self._tofu_closure(module_dir)) is not None:
                # OpenTofu files: Checkov reads them only as .tf, in a mirror of the directories this run reads
                base = self.root if self.root and os.path.isdir(self.root) and all(
                    is_inside(d, self.root) for d in tofu_dirs) else os.path.commonpath(tofu_dirs)
                mirror = self._mirror_at(base)
                mirror.sync(_dir_contents(tofu_dirs))
            if mirror is not None:
                root = mirror.path_for(module_dir)
                os.makedirs(root, mode=0o700, exist_ok=True)  # every file refused: Checkov runs on nothing
                path_map, renamed = mirror.path_map, mirror.renamed
                # a variables file inside the mirrored tree is read from the mirror (its unsaved text)
                var_files = tuple(mirror.path_for(f) if is_inside(f, mirror.real_root) and os.path.isfile(
                    mirror.path_for(f)) else f for f in var_files)
                skip_paths = anchored(mirror.path_for(f) for f in left_out)
            try:
                return run_checkov(root, selection, recursive=False, path_map=path_map, renamed=renamed,
                                   var_files=var_files, skip_paths=skip_paths)
            finally:
                if self._close_after_run:
                    self._close_mirror()

    def close(self) -> None:
        """Remove the scratch mirror (made again by the next run that needs it). Never waits: while a
        run (maybe one past its budget) holds the mirror, it is removed when that run ends."""
        if not self._mirror_lock.acquire(blocking=False):
            self._close_after_run = True
            return
        try:
            self._close_mirror()
        finally:
            self._mirror_lock.release()

    def _close_mirror(self) -> None:
        self._close_after_run = False
        if self._mirror is not None:
            self._mirror.close()
            self._mirror = None

    def analyze_module_bounded(self, module_dir: str, budget: float | None = None) -> dict[str, FileAnalysis]:
        """Tier 2 within a time budget (``budget``, else the engine's); past it, tier 1's results, saying so.

        Checkov's runner cannot be interrupted safely in-thread: a run over budget keeps going in its
        (daemon) thread and its result is dropped; until it ends, this module and every other one
        asking for bounded tier 2 (process-wide, :data:`BUSY`) get tier 1 at once (no second run is
        started). Every file of such a module carries an INFO problem (code ``budget``) while tier 2
        is unavailable; the next run within budget clears it.
        """
        module_dir = os.path.abspath(module_dir)
        budget = self.budget if budget is None else budget
        if budget is None or budget <= 0:
            return self.analyze_module(module_dir)
        other = self.busy.runaway()
        if other is not None:
            if other != module_dir or self.tier1.notice(module_dir) is None:
                self.tier1.set_notice(module_dir, busy_message(other))
            log.info("tier 2 of %s not started: Checkov is busy with %s past its budget", module_dir, other)
            return self.tier1_module(module_dir)
        done, result = self.busy.run(module_dir, lambda: self.analyze_module(module_dir), budget)
        if not done or result is None:
            self.tier1.set_notice(module_dir, over_budget_message(budget))
            log.warning("tier 2 over budget (%.1f s) for %s; tier 1 stands in", budget, module_dir)
            return self.tier1_module(module_dir)
        if self.tier1.set_notice(module_dir, None):
            log.info("tier 2 back within budget for %s", module_dir)
        return result

    def tier1_module(self, module_dir: str) -> dict[str, FileAnalysis]:
        """Tier 1's results for every file of ``module_dir``."""
        return {f: self.tier1.analyze_file(f) for f in self.index.module_files(module_dir)}

    def _mirror_at(self, real_root: str) -> Mirror:
        """The scratch mirror of ``real_root`` (a new one, the old removed, when the root changes)."""
        if self._mirror is None or self._mirror.real_root != os.path.realpath(real_root):
            if self._mirror is not None:
                self._mirror.close()
            self._mirror = Mirror(real_root)
        return self._mirror

    def _tofu_closure(self, module_dir: str) -> list[str] | None:
        """The directories a run on ``module_dir`` reads (it and the local modules it calls, real
        paths), when one of them holds OpenTofu files; else None (Checkov runs on the tree itself)."""
        todo, seen, tofu = [os.path.realpath(module_dir)], [], False
        while todo:
            d = todo.pop()
            if d in seen:
                continue
            seen.append(d)
            tofu = tofu or dir_has_tofu(d)
            confs: list[dict] = []
            for f in self.index.module_files(d):
                st = self.index.state(f)
                if st.is_json:
                    confs.append(st.json_conf or {})
                else:
                    confs.extend(pb.conf for pb in st.parsed if pb.block.kind == "module" and pb.conf)
            todo.extend(local_module_dirs(d, confs))
        return sorted(seen) if tofu else None

    def _mirror_files(self, root: str, overlays: dict[str, str]) -> dict[str, str]:
        files: dict[str, str] = {}
        for p in iter_terraform_files(root, include_vars=True):
            text, _ = self.index.texts.read(p)
            if text is not None:
                files[p] = text
        files.update(overlays)
        return files


def _dir_contents(dirs: list[str]) -> dict[str, str | bytes]:
    """The bytes of every file Checkov reads in ``dirs`` (not their subdirectories)."""
    out: dict[str, str | bytes] = {}
    for d in dirs:
        try:
            with os.scandir(d) as it:
                paths = [e.path for e in it if e.name.endswith(TF_SUFFIXES) and e.is_file()]
        except OSError:
            continue
        for p in paths:
            try:
                with open(p, "rb") as fh:
                    out[p] = fh.read()
            except OSError:
                continue
    return out
