"""The editor's authoritative result: what ``tfguard scan <folder>`` reports, on the current unsaved text.

The same plan as the CLI's scan (:func:`tfguard.scan.runner.plan_dir`: one unit per directory no other
directory calls, or one recursive run where ``checkov -d`` needs it), run in-process through the
engine (:meth:`tfguard.engine.Engine.prepare_units`: the scratch mirror holds the unsaved text), with each
unit's run kept in memory keyed by the text of everything it reads. A save re-runs only the units whose
text changed (the units reading the edited folder); the others answer from memory. Checkov's parses and
expression evaluations are memoized across runs too (:mod:`tfguard.checks.memo`).

A file's result is the union over every unit that reads its folder: its own records plus the
module-instance records of every caller, one finding per check and block naming the callers
(:func:`tfguard.engine.tier2.merge_instances`).

Two cores: the stale units of a pass run in the server's process and, at the same time, in one warm side
process (:mod:`tfguard.scan.sidecar`), each unit on the side that ran it last (its memos stay warm there).
The result is the serial one: a unit the side process cannot run is run here.

Thread use: one :class:`LiveScan` is driven by one thread at a time (the language server's tier-2
executor); ``on_unit`` callbacks run on that thread or on the side process's dispatch thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tfguard.checks.graph import GraphRun, RunSpec, run_spec
from tfguard.engine import Engine, FileAnalysis, UnitArgs
from tfguard.files import TF_SUFFIXES, is_inside, text_digest
from tfguard.model import Problem, Span
from tfguard.scan import pool, sidecar
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
    in_side: int = 0  # of ``ran``, the units the side process ran (:mod:`tfguard.scan.sidecar`)


class LiveScan:
    """``tfguard scan <folder>`` kept warm for one engine's workspace folder."""

    def __init__(self, engine: Engine, folder: str, *, use_side: bool | None = None) -> None:
        self.engine = engine
        self.folder = os.path.abspath(folder)
        self._runs: dict[UnitKey, tuple[str, GraphRun]] = {}  # unit -> (fingerprint, run)
        self._sides: dict[UnitKey, int] = {}  # unit -> the side that ran it last (0: here, 1: the side process)
        self._lock = threading.Lock()
        # whether the side process may run units (None: when sidecar.enabled() and no Python checks are loaded)
        self.use_side = use_side

    def plan(self) -> DirPlan:
        """The scan plan of the folder on the current text (module calls of unsaved text included)."""
        return plan_dir(self.engine, self.folder)

    @staticmethod
    def reads(unit: pool.ScanUnit, directory: str) -> bool:
        """Whether the unit's run reads ``directory``."""
        return unit.reads(directory)

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
        self.engine.scan_config_problems = tuple(p for p in plan.problems if p.code == "config")
        if not plan.complete:
            return LiveRun(results={}, ran=[], reused=0, seconds=0.0)
        touched = plan.units if dirs is None else self.touched(plan, dirs)
        affected_dirs = {d for u in touched for d in u.dirs}
        affected = [f for f in plan.files if os.path.realpath(os.path.dirname(f)) in affected_dirs
                    or any(u.recursive and is_inside(f, u.root) for u in touched)]
        # every unit reading an affected file contributes to its result (a root module called by many examples)
        needed = [u for u in plan.units if any(self.reads(u, os.path.dirname(f)) for f in affected)]
        todo = self.stale(plan, needed)
        ran, failures, in_side = self._execute(plan, todo, on_unit)
        with self._lock:
            keep = {unit_key(u) for u in plan.units}
            for k in [k for k in self._runs if k not in keep]:  # bounded by the folder's units
                del self._runs[k]
            for k in [k for k in self._sides if k not in keep]:
                del self._sides[k]
            runs = [self._runs[unit_key(u)][1] for u in needed if unit_key(u) in self._runs]
        problems = list(plan.problems)
        for root, error in failures:  # fail closed: a file read by a failed unit says so
            unit = next(u for u in todo if u.root == root)
            problems.extend(Problem(f, Span.of(0, 0, 0, 1), f"Checkov failed on {unit_label(unit, self.folder)}: "
                                    f"{error}; the full check of this file is incomplete", "engine")
                            for f in affected if self.reads(unit, os.path.dirname(f)))
        results = self.engine.adopt_unit_runs(affected, runs, problems)
        return LiveRun(results=results, ran=ran, reused=len(needed) - len(todo), seconds=time.monotonic() - start,
                       failures=failures, in_side=in_side)

    def _side_process(self, todo: list[pool.ScanUnit]) -> sidecar.SideProcess | None:
        """The side process for a pass of ``todo`` (None: every unit runs here). Started at the first pass
        with two units or more; a pass of one unit uses it only when that unit ran there last."""
        allowed = self.use_side if self.use_side is not None else (
            sidecar.enabled() and not self.engine.python_checks_loaded)
        if not allowed:
            return None
        if len(todo) < 2 and not any(self._sides.get(unit_key(u)) == 1 for u in todo):
            return None
        return sidecar.shared()

    def _execute(self, plan: DirPlan, todo: list[pool.ScanUnit],
                 on_unit: Callable[[int, int, str], None] | None) -> tuple[list[str], list[tuple[str, str]], int]:
        """Checkov's runs of ``todo``, remembered; returns the labels of the units run, the failures and how
        many of the units the side process ran."""
        ran: list[str] = []
        failures: list[tuple[str, str]] = []
        in_side = 0
        if not todo:
            return ran, failures, in_side
        args = {unit_key(u): UnitArgs(root=u.root, recursive=u.recursive, var_files=self.var_files(plan, u),
                                      skip_paths=plan.skip_paths, left_out=frozenset(plan.left_out), dirs=u.dirs,
                                      mirrored=pool.unit_has_tofu(u)) for u in todo}
        groups: dict[str, list[pool.ScanUnit]] = {}  # by the tree mirrored: one mirror is synced for a group
        for u in todo:
            try:
                groups.setdefault(self.engine.mirror_base(args[unit_key(u)]), []).append(u)
            except Exception as e:  # one unit failing never loses the others
                log.exception("no tree to mirror for %s", u.root)
                failures.append((u.root, f"{type(e).__name__}: {e}"))
        side = self._side_process(todo)
        progress = _Progress(on_unit, len(todo), self.folder)
        for units in groups.values():
            with self.engine.mirror_held():
                fps = {unit_key(u): self.fingerprint(plan, u) for u in units}
                try:
                    specs = self.engine.prepare_units([args[unit_key(u)] for u in units], selection=plan.selection,
                                                      policy_dirs=plan.policy_dirs)
                except Exception as e:  # the mirror could not be written: every unit of the group fails
                    log.exception("could not prepare the full check of %s", self.folder)
                    specs = [e] * len(units)
                got, sides = self._run_specs(list(zip(units, specs, strict=True)), side, progress)
            in_side += sum(1 for s in sides.values() if s == 1)
            for u in units:
                k = unit_key(u)
                result = got[k]
                if isinstance(result, str):
                    failures.append((u.root, result))
                    continue
                ran.append(unit_label(u, self.folder))
                with self._lock:
                    self._runs[k] = (fps[k], result)
        return ran, failures, in_side

    def _run_specs(self, work: list[tuple[pool.ScanUnit, RunSpec | Exception]], side: sidecar.SideProcess | None,
                   progress: _Progress) -> tuple[dict[UnitKey, GraphRun | str], dict[UnitKey, int]]:
        """Run prepared units here and, when ``side`` is given, in the side process at the same time.

        Each side takes first the units it ran last time (its memos are warm for them), longest first,
        then the units new to both, then the other side's shortest: the two finish together. A unit the
        side process could not run is run here (fail closed: the result is the serial one). Returns each
        unit's run (or its error) and the side that ran it."""
        out: dict[UnitKey, GraphRun | str] = {}
        where: dict[UnitKey, int] = {}
        ready: list[tuple[pool.ScanUnit, RunSpec]] = []
        for u, spec in work:
            if isinstance(spec, Exception):
                out[unit_key(u)] = f"{type(spec).__name__}: {spec}"
            else:
                ready.append((u, spec))
        ready.sort(key=lambda w: pool.unit_cost(w[0]), reverse=True)
        queues: tuple[list[tuple[pool.ScanUnit, RunSpec]], ...] = ([], [])
        free: list[tuple[pool.ScanUnit, RunSpec]] = []
        for w in ready:
            last = self._sides.get(unit_key(w[0]))
            if side is None:
                queues[0].append(w)
            else:
                (free if last is None else queues[last]).append(w)
        lock = threading.Lock()
        retry: list[tuple[pool.ScanUnit, RunSpec]] = []

        def take(s: int) -> tuple[pool.ScanUnit, RunSpec] | None:
            with lock:
                if queues[s]:
                    return queues[s].pop(0)
                if free:
                    return free.pop(0)
                if queues[1 - s]:
                    return queues[1 - s].pop()
                return None

        def left() -> bool:
            with lock:
                return bool(queues[0] or queues[1] or free)

        def done(u: pool.ScanUnit, result: GraphRun | str, s: int) -> None:
            with lock:
                out[unit_key(u)] = result
                where[unit_key(u)] = s
                if not isinstance(result, str):
                    self._sides[unit_key(u)] = s

        def side_loop(sp: sidecar.SideProcess) -> None:
            held: tuple[pool.ScanUnit, RunSpec] | None = None
            try:
                while not sp.wait_ready(0.2):
                    if sp.broken or not left():
                        return
                while (held := take(1)) is not None:
                    progress.tick(held[0])
                    try:
                        run = sp.run(held[1])
                    except sidecar.SideFailed as e:
                        log.info("%s: running %s here", e, held[0].root)
                        with lock:
                            retry.append(held)
                        held = None
                        if sp.broken:
                            return
                        continue
                    done(held[0], run, 1)
                    held = None
            except Exception:  # never lose the unit it held: it runs here
                log.exception("the side process's dispatch failed")
                if held is not None:
                    with lock:
                        retry.append(held)

        def here(w: tuple[pool.ScanUnit, RunSpec]) -> None:
            progress.tick(w[0])
            try:
                result: GraphRun | str = run_spec(w[1])
            except Exception as e:  # one unit failing never loses the others
                log.exception("Checkov failed on %s", w[0].root)
                result = f"{type(e).__name__}: {e}"
            done(w[0], result, 0)

        thread = threading.Thread(target=side_loop, args=(side,), name="tfguard-side-dispatch", daemon=True) \
            if side is not None and ready else None
        if thread is not None:
            thread.start()
        while (mine := take(0)) is not None:
            here(mine)
        if thread is not None:
            thread.join()
        for w in retry:
            here(w)
        return out, where


class _Progress:
    """``on_unit(done, total, label)`` before each unit's run, from either side's thread."""

    def __init__(self, on_unit: Callable[[int, int, str], None] | None, total: int, folder: str) -> None:
        self.on_unit = on_unit
        self.total = total
        self.folder = folder
        self.started = 0
        self._lock = threading.Lock()

    def tick(self, unit: pool.ScanUnit) -> None:
        if self.on_unit is None:
            return
        with self._lock:
            n = min(self.started, self.total - 1)
            self.started += 1
        self.on_unit(n, self.total, unit_label(unit, self.folder))
