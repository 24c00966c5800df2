"""The editor's authoritative result: what ``tfguard scan <folder>`` reports, on the current unsaved text.

The same plan as the CLI's scan (:func:`tfguard.scan.runner.plan_dir`: one unit per directory no other
directory calls, or one recursive run where ``checkov -d`` needs it), run in-process through the
engine (:meth:`tfguard.engine.Engine.unit_run`: the scratch mirror holds the unsaved text), with each
unit's run kept in memory keyed by the text of everything it reads. A save re-runs only the units whose
text changed (the units reading the edited folder); the others answer from memory. Checkov's parses and
expression evaluations are memoized across runs too (:mod:`tfguard.checks.memo`).

A file's result is the union over every unit that reads its folder: its own records plus the
module-instance records of every caller, one finding per check and block naming the callers
(:func:`tfguard.engine.tier2.merge_instances`).

Thread use: one :class:`LiveScan` is driven by one thread at a time (the language server's tier-2
executor); ``on_unit`` callbacks run on that thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tfguard.checks.graph import GraphRun
from tfguard.engine import Engine, FileAnalysis
from tfguard.files import TF_SUFFIXES, is_inside, text_digest
from tfguard.model import Problem, Span
from tfguard.scan import pool
from tfguard.scan.runner import DirPlan, plan_dir

log = logging.getLogger(__name__)

UnitKey = tuple[str, bool, tuple[str, ...]]


def unit_key(unit: pool.ScanUnit) -> UnitKey:
    return (unit.root, unit.recursive, unit.dirs)


def unit_label(unit: pool.ScanUnit, folder: str) -> str:
    """A unit as the user knows it: its root folder relative to the workspace folder."""
    rel = os.path.relpath(unit.root, os.path.realpath(folder))
    return "the whole folder" if rel == "." and unit.recursive else (os.path.basename(folder) if rel == "." else rel)


@dataclass
class LiveRun:
    """One authoritative pass: the result of every affected file and what it took."""

    results: dict[str, FileAnalysis]
    ran: list[str]  # labels of the units Checkov ran (the others came from memory)
    reused: int  # units answered from memory
    seconds: float
    failures: list[tuple[str, str]] = field(default_factory=list)  # (unit root, error)


class LiveScan:
    """``tfguard scan <folder>`` kept warm for one engine's workspace folder."""

    def __init__(self, engine: Engine, folder: str) -> None:
        self.engine = engine
        self.folder = os.path.abspath(folder)
        self._runs: dict[UnitKey, tuple[str, GraphRun]] = {}  # unit -> (fingerprint, run)
        self._lock = threading.Lock()

    def plan(self) -> DirPlan:
        """The scan plan of the folder on the current text (module calls of unsaved text included)."""
        return plan_dir(self.engine, self.folder)

    @staticmethod
    def reads(unit: pool.ScanUnit, directory: str) -> bool:
        """Whether the unit's run reads ``directory``."""
        d = os.path.realpath(directory)
        return d in unit.dirs or (unit.recursive and is_inside(d, unit.root))

    def touched(self, plan: DirPlan, dirs: Iterable[str]) -> list[pool.ScanUnit]:
        """The units reading any of ``dirs``: the edited folder's own and every caller's."""
        dirs = list(dirs)
        return [u for u in plan.units if any(self.reads(u, d) for d in dirs)]

    def fingerprint(self, plan: DirPlan, unit: pool.ScanUnit) -> str:
        """Digest of everything the unit's run depends on: the current text of every file it reads
        (unsaved included), its variables files, skip patterns, check selection and policies."""
        h = hashlib.blake2b(digest_size=20)
        var_files = self.var_files(plan, unit)
        h.update(repr((unit.root, unit.recursive, unit.dirs, var_files, plan.skip_paths,
                       sorted(plan.left_out), plan.selection.digest, plan.policy_dirs)).encode())
        files = set(pool.unit_files(unit)) | set(var_files)
        for path in self.engine.overlays():
            if path.endswith(TF_SUFFIXES) and self.reads(unit, os.path.dirname(path)):
                files.add(path)
        for f in sorted(files):
            text, _ = self.engine.read(f)
            h.update(f.encode() + b"\0" + (text_digest(text) if text is not None else "-").encode() + b"\0")
        return h.hexdigest()

    def var_files(self, plan: DirPlan, unit: pool.ScanUnit) -> tuple[str, ...]:
        """The variables files of a unit's run: those in force for its own folder (a ``.tfguard.yaml``
        ``var_files`` there applies to what the user edits there), the scan's for a recursive unit."""
        if unit.recursive:
            return plan.var_files
        try:
            return self.engine.var_files_for(unit.root)
        except Exception:  # an unreadable configuration: the scan's (its problem is reported as data)
            return plan.var_files

    def stale(self, plan: DirPlan, units: Iterable[pool.ScanUnit]) -> list[pool.ScanUnit]:
        """Those of ``units`` whose remembered run is missing or was computed on other text."""
        with self._lock:
            runs = dict(self._runs)
        return [u for u in units if (hit := runs.get(unit_key(u))) is None or hit[0] != self.fingerprint(plan, u)]

    def run(self, dirs: Iterable[str] | None = None, *, plan: DirPlan | None = None,
            on_unit: Callable[[int, int, str], None] | None = None) -> LiveRun:
        """The authoritative result of every file the edit of ``dirs`` affects (None: every file of the folder).

        Runs the units reading ``dirs`` whose text changed, and any unit that also reads an affected
        folder and is not remembered yet; ``on_unit(done, total, label)`` before each Checkov run.
        """
        start = time.monotonic()
        plan = plan or self.plan()
        if not plan.complete:
            return LiveRun(results={}, ran=[], reused=0, seconds=0.0)
        touched = plan.units if dirs is None else self.touched(plan, dirs)
        affected_dirs = {d for u in touched for d in u.dirs}
        affected = [f for f in plan.files if os.path.realpath(os.path.dirname(f)) in affected_dirs
                    or any(u.recursive and is_inside(f, u.root) for u in touched)]
        # every unit reading an affected file contributes to its result (a root module called by many examples)
        needed = [u for u in plan.units if any(self.reads(u, os.path.dirname(f)) for f in affected)]
        todo = self.stale(plan, needed)
        failures: list[tuple[str, str]] = []
        ran: list[str] = []
        for i, unit in enumerate(todo):
            label = unit_label(unit, self.folder)
            if on_unit is not None:
                on_unit(i, len(todo), label)
            fp = self.fingerprint(plan, unit)
            try:
                run = self.engine.unit_run(unit.root, selection=plan.selection, recursive=unit.recursive,
                                           var_files=self.var_files(plan, unit), skip_paths=plan.skip_paths,
                                           left_out=plan.left_out, dirs=unit.dirs, policy_dirs=plan.policy_dirs,
                                           mirrored=pool.unit_has_tofu(unit))
            except Exception as e:  # one unit failing never loses the others
                log.exception("Checkov failed on %s", unit.root)
                failures.append((unit.root, f"{type(e).__name__}: {e}"))
                continue
            ran.append(label)
            with self._lock:
                self._runs[unit_key(unit)] = (fp, run)
        with self._lock:
            keep = {unit_key(u) for u in plan.units}
            for k in [k for k in self._runs if k not in keep]:  # bounded by the folder's units
                del self._runs[k]
            runs = [self._runs[unit_key(u)][1] for u in needed if unit_key(u) in self._runs]
        problems = list(plan.problems)
        for root, error in failures:  # fail closed: a file read by a failed unit says so
            unit = next(u for u in todo if u.root == root)
            problems.extend(Problem(f, Span.of(0, 0, 0, 1), f"Checkov failed on {unit_label(unit, self.folder)}: "
                                    f"{error}; the full check of this file is incomplete", "engine")
                            for f in affected if self.reads(unit, os.path.dirname(f)))
        results = self.engine.adopt_unit_runs(affected, runs, problems)
        return LiveRun(results=results, ran=ran, reused=len(needed) - len(todo), seconds=time.monotonic() - start,
                       failures=failures)
