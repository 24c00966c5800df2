"""Tier 2: Checkov's full runner on a module's current text (unsaved included), the authoritative result.

Checkov's runner holds a process-wide lock (:data:`tfguard.checks.checkov_env.run_lock`) and
cannot be interrupted safely in-thread. So the time budget is process-wide too: one
:class:`CheckovBusy` (:data:`BUSY`) runs every bounded tier-2 run. A run over budget keeps going in
its daemon thread; until it ends, *every* module asking for a bounded tier 2, in any engine of
the process, gets tier 1's results at once with an INFO problem (code ``budget``) instead of
queueing behind the lock and blowing its own budget.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from tfguard.checks.entity import CheckSelection
from tfguard.checks.errors import check_error_problems
from tfguard.checks.graph import GraphRecord, GraphRun, Mirror, run_checkov, use_policy_dirs
from tfguard.engine.index import FileState, Index
from tfguard.engine.pipeline import BlockContext, Pipeline
from tfguard.engine.tier1 import FileAnalysis, GraphSnapshot, Tier1, block_key, locate, reposition
from tfguard.files import iter_terraform_files, text_digest
from tfguard.model import Finding, Result

log = logging.getLogger(__name__)

DEFAULT_MODULE_TIME_BUDGET = 20.0  # seconds for one module's tier-2 run before tier 1 stands in

_T = TypeVar("_T")


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
                 busy: CheckovBusy = BUSY) -> None:
        self.index = index
        self.tier1 = tier1
        self.pipeline = pipeline
        self.root = root
        self.extra_policy_dirs = extra_policy_dirs
        self.budget = budget
        self.busy = busy
        self._lock = lock
        self._mirror: Mirror | None = None
        self._mirror_lock = threading.Lock()  # the scratch mirror is written by one run at a time
        self._close_after_run = False  # close() came while a run held the mirror

    def analyze_module(self, module_dir: str) -> dict[str, FileAnalysis]:
        """Tier 2: Checkov's full runner on the module's current text. Authoritative."""
        module_dir = os.path.abspath(module_dir)
        index = self.index
        files = index.module_files(module_dir)
        states = {f: index.state(f) for f in files}
        run = self.module_run(module_dir, states)
        real_dir = os.path.realpath(module_dir)
        dropped = {os.path.realpath(p) for p in run.parsing_errors}
        result: dict[str, FileAnalysis] = {}
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
            st = states.get(f) or index.state(f)
            if os.path.realpath(f) in dropped and not st.is_json and st.read_problem is None:
                # Checkov still dropped the file whole: never "no findings" for its good blocks. Tier 1
                # stands in (unchanged blocks keep the last snapshot's findings); the snapshot is kept.
                log.info("Checkov could not parse %s even with its broken blocks masked; tier 1 stands in", f)
                t1 = self.tier1.analyze_file(f)
                t1.tier = 2
                result[f] = t1
                continue
            snapshot = GraphSnapshot(by_block={}, other=[])
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
                continue
            # org rules / policies that tier 1 adds run here too
            contexts: dict[int, BlockContext] = {}
            for pb in st.parsed:
                bctx = BlockContext(f, pb.block, pb.conf, ctx, self.root)
                contexts[pb.block.start_line] = bctx
                extra, problems = self.pipeline.rules(bctx)
                fa.findings.extend(extra)
                fa.problems.extend(problems)
            fa.findings = self.pipeline.hook(fa.findings, lambda x, c=contexts: c.get(x.line_range[0]))  # type: ignore[misc]
        return result

    def module_run(self, module_dir: str, states: dict[str, FileState] | None = None) -> GraphRun:
        """Checkov's runner on the module's current text (unsaved text and masked files in the mirror).

        A file with blocks that do not parse is given to Checkov with those blocks blanked out
        (:func:`masked_text`), so the blocks that parse keep their findings, graph checks included.
        """
        module_dir = os.path.abspath(module_dir)
        index = self.index
        if states is None:
            states = {f: index.state(f) for f in index.module_files(module_dir)}
        cfg = index.checkov_config(module_dir)
        selection = CheckSelection(cfg.checks, cfg.skip_checks)
        for problem_line in use_policy_dirs(cfg.external_checks_dirs + self.extra_policy_dirs(module_dir)):
            log.warning("%s", problem_line)
        masked = {f: m for f, st in states.items() if (m := masked_text(st)) is not None}
        with self._mirror_lock:
            overlays = index.texts.overlays()
            root, path_map = module_dir, None
            if overlays or masked:
                overlays.update(masked)  # Checkov sees the blocks that parse, at their own lines
                mirror_root = self.root or module_dir
                if self._mirror is None or self._mirror.real_root != os.path.realpath(mirror_root):
                    if self._mirror is not None:
                        self._mirror.close()
                    self._mirror = Mirror(mirror_root)
                self._mirror.sync(self._mirror_files(mirror_root, overlays))
                root = self._mirror.path_for(module_dir)
                path_map = (self._mirror.root, self._mirror.real_root)
            try:
                return run_checkov(root, selection, recursive=False, path_map=path_map)
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

    def _mirror_files(self, root: str, overlays: dict[str, str]) -> dict[str, str]:
        files: dict[str, str] = {}
        for p in iter_terraform_files(root, include_vars=True):
            text, _ = self.index.texts.read(p)
            if text is not None:
                files[p] = text
        files.update(overlays)
        return files
