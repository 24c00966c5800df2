"""Tier 1: per-block checks of one file, incremental, reusing tier 2's results where blocks did not change.

:meth:`Tier1.analyze_file` splits the file into blocks (see :mod:`tfguard.engine.index`), runs
Checkov's entity checks only for blocks whose content or module context changed (cached), and
reuses tier 2's result (its *graph snapshot*) for blocks that did not change since tier 2 ran.
It is on the keystroke path: a block that only moved keeps its findings, moved lazily
(:class:`FileAnalysis`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace

from cachetools import LRUCache

from tfguard import gctuning
from tfguard.checks import checkov_env, entity_cache
from tfguard.checks.entity import (
    CheckSelection,
    ModuleContext,
    RawResult,
    cached_entity_checks,
    entity_of,
    run_entity_checks,
)
from tfguard.checks.errors import check_error_problem
from tfguard.checks.graph import mirror_name
from tfguard.checks.skips import block_skips
from tfguard.engine.index import Index, overridden_problem
from tfguard.engine.pipeline import BlockContext, Pipeline
from tfguard.files import text_digest
from tfguard.hcl.blocks import Block
from tfguard.hcl.parse import ParsedBlock
from tfguard.model import Finding, Position, Problem, Result, Severity, Span, shift_finding, shift_problem

log = logging.getLogger(__name__)

_NO_CONTEXT = ModuleContext()  # while Checkov's checks are loading (nothing reads the module's values)
BLOCK_RESULTS_SIZE = 20_000  # per-block final results kept across files (LRU)
LOADING = "loading"  # Problem code: Checkov's checks are not loaded yet (the server just started)
CHECKS_LOADING = ("Checkov's checks are loading (the server just started): syntax and tfguard's rules are "
                  "shown now, Checkov's findings follow in a moment")
CACHED_LOADING = ("Checkov's checks are loading (the server just started): Checkov's findings shown are an earlier "
                  "session's for the same blocks and settings, confirmed in a moment")

BlockResult = tuple[int, str, list[Finding], list[Problem]]  # (first line, text, findings, problems) of one block


class FileAnalysis:
    """Findings and problems of one file, for one text (``digest``).

    The findings of blocks that only moved since they were checked (lines inserted above them)
    are kept as they were, with the line shift (``segments``), and moved when ``findings`` is
    first read: a keystroke that moves a thousand findings does not copy them, and a consumer
    that only needs their lines (the LSP's serialised diagnostics) never has to.

    ``rechecked``: the blocks (kind and labels) whose checks ran for this analysis; the others kept
    their results (tier 1 only; empty for tier 2).
    """

    __slots__ = ("path", "digest", "problems", "tier", "rechecked", "_segments", "_flat")

    def __init__(self, path: str, digest: str, findings: list[Finding] | None = None,
                 problems: list[Problem] | None = None, tier: int = 1) -> None:
        self.path = path
        self.digest = digest
        self.problems: list[Problem] = problems if problems is not None else []
        self.tier = tier
        self.rechecked: tuple[tuple[str, ...], ...] = ()
        self._segments: list[tuple[int, list[Finding]]] = []
        self._flat: list[Finding] | None = findings if findings is not None else None

    def add(self, findings: list[Finding], line_shift: int = 0) -> None:
        """Append ``findings`` (not copied: they may be shared), to be moved down by ``line_shift``."""
        if not findings:
            return
        if self._flat is not None:
            self._segments = [(0, self._flat)]
            self._flat = None
        self._segments.append((line_shift, findings))

    def segments(self) -> list[tuple[int, list[Finding]]]:
        """(line shift, findings) in order, without moving anything. Do not mutate the lists."""
        if self._flat is not None:
            return [(0, self._flat)]
        return self._segments

    @property
    def findings(self) -> list[Finding]:
        if self._flat is None:
            flat: list[Finding] = []
            for shift, fs in self._segments:
                flat.extend(fs if shift == 0 else [shift_finding(f, shift) for f in fs])
            self._flat = flat
            self._segments = []
        return self._flat

    @findings.setter
    def findings(self, value: list[Finding]) -> None:
        self._flat = value
        self._segments = []

    def __repr__(self) -> str:
        return (f"FileAnalysis({self.path!r}, tier={self.tier}, findings={len(self.findings)}, "
                f"problems={len(self.problems)})")


@dataclass(frozen=True)
class GraphSnapshot:
    """Tier 2's findings for one file, keyed by block, with the block text they were computed on."""

    by_block: dict[tuple[str, ...], tuple[str, int, list[Finding]]]  # key -> (block text digest, start line, findings)
    other: list[Finding]  # findings not tied to a block of this file's current split
    # The module's symbol inputs (:meth:`Index.symbol_inputs`) when tier 2 read its text: a block's findings
    # apply while its text *and* the values of the variables and locals it references are those (a local's
    # value edit changes the findings of every block reading it, whose text did not change). None: not
    # known, so a block referencing any variable or local does not reuse them.
    inputs: dict[str, str] | None = None


def block_key(block: Block) -> tuple[str, ...]:
    """Identity of a block across edits: its kind and labels."""
    return (block.kind, *block.labels)


_INDEX = re.compile(r"^\[?\d+\]?$")


def key_path(evaluated_key: str) -> tuple[str, ...]:
    """``versioning/[0]/enabled`` -> ``("versioning", "enabled")``."""
    return tuple(p for p in evaluated_key.split("/") if p and not _INDEX.match(p))


def locate(block: Block | None, evaluated_keys: Iterable[str], fallback_line: int = 0) -> Span:
    """Where to show a finding: the evaluated attribute when the block has it, else the header line."""
    if block is None:
        return Span(Position(fallback_line, 0), Position(fallback_line, 1))
    best = None
    for k in evaluated_keys:
        path = key_path(k)
        if not path:
            continue
        it = block.item(path)
        if it is not None:
            best = it
            break
        if best is None:
            best = block.find_item(path)
    if best is not None:
        if best.is_block:  # a nested block: its header line only
            return Span(best.name_span.start, Position(best.name_span.start.line, best.name_span.end.character))
        if best.span.start.line != best.span.end.line:  # multi-line value: the first line
            return best.name_span
        return best.span
    hs = block.header_span
    return Span(hs.start, hs.end if hs.end.line == hs.start.line else Position(hs.start.line, hs.start.character + 1))


def reposition(findings: list[Finding], block: Block) -> list[Finding]:
    """Findings computed on an earlier text of ``block``, placed where the block (and attribute) is now."""
    return [replace(f, line_range=(block.start_line, block.end_line), span=locate(block, f.evaluated_keys))
            for f in findings]


def finding_from_raw(raw: RawResult, path: str, block: Block, address: str) -> Finding:
    """A finding of Checkov's entity check ``raw`` on ``block`` (a check that raised is a problem instead:
    :func:`~tfguard.checks.errors.check_error_problem`)."""
    return Finding(
        check_id=raw.check_id,
        check_name=raw.check_name,
        result=Result(raw.result),
        file=path,
        resource=address,
        line_range=(block.start_line, block.end_line),
        span=locate(block, raw.evaluated_keys),
        evaluated_keys=raw.evaluated_keys,
        source="checkov",
        block_type=block.kind,
        suppress_comment=raw.suppress_comment,
        details=raw.details,
    )


class Tier1:
    """Per-block analysis of one engine, with its caches, tier 2's snapshots and the budget notices."""

    def __init__(self, index: Index, pipeline: Pipeline, lock: threading.RLock, root: str | None) -> None:
        self.index = index
        self.pipeline = pipeline
        self.root = root
        self._lock = lock
        self._graph: dict[str, GraphSnapshot] = {}
        self._graph_gen: dict[str, int] = {}  # bumped each time tier 2 replaces a file's snapshot
        self._block_results: LRUCache[tuple[object, ...], BlockResult] = LRUCache(maxsize=BLOCK_RESULTS_SIZE)
        self._last_results: dict[str, dict[tuple[object, ...], BlockResult]] = {}
        # tfguard's rules on a block, by its text and place, when they did not read the module's values
        self._rule_results: LRUCache[tuple[object, ...], tuple[list[Finding], list[Problem]]] = LRUCache(
            maxsize=BLOCK_RESULTS_SIZE)
        self._generation = 0  # bumped when configuration changes (invalidates per-block results)
        self._notices: dict[str, str] = {}  # module dir -> why tier 2 is unavailable (a ``budget`` problem)
        self._cache_misses: set[tuple[object, ...]] = set()  # block keys the disk cache had no result for (loading)

    # ------------------------------------------------------------ state
    def invalidate(self) -> None:
        """Configuration changed: every cached per-block result is stale."""
        with self._lock:
            self._generation += 1

    def forget(self, path: str) -> None:
        """Drop the results and tier-2 snapshot kept for ``path``."""
        p = os.path.abspath(path)
        with self._lock:
            self._last_results.pop(p, None)
            self._graph.pop(p, None)

    def snapshot(self, path: str) -> GraphSnapshot | None:
        """Tier 2's last snapshot of ``path``."""
        with self._lock:
            return self._graph.get(path)

    def put_snapshot(self, path: str, snapshot: GraphSnapshot) -> None:
        """Tier 2's new snapshot of ``path`` (per-block results computed on the old one become stale)."""
        with self._lock:
            self._graph[path] = snapshot
            self._graph_gen[path] = self._graph_gen.get(path, 0) + 1

    def module_inputs(self, module_dir: str) -> dict[str, str]:
        """The module's symbol inputs now (what a :class:`GraphSnapshot` records when tier 2 reads the text)."""
        module_dir = os.path.abspath(module_dir)
        return self.index.symbol_inputs(module_dir, self.index.module_context(module_dir))

    def set_notice(self, module_dir: str, message: str | None) -> bool:
        """Show ``message`` as a ``budget`` problem on the module's files (None: clear). True if one was set."""
        with self._lock:
            if message is None:
                return self._notices.pop(module_dir, None) is not None
            self._notices[module_dir] = message
            return True

    def notice(self, module_dir: str) -> str | None:
        """Why tier 2 is unavailable for ``module_dir``, if it is."""
        with self._lock:
            return self._notices.get(module_dir)

    # --------------------------------------------------------- analysis
    def analyze_file(self, path: str, with_rules: bool = True) -> FileAnalysis:
        """Tier 1 for one file (reusing tier 2's results for blocks unchanged since it ran)."""
        with self.index.batch():  # the module's other files read once, however often rules ask
            return self._analyze_file(os.path.abspath(path), with_rules)

    def _analyze_file(self, path: str, with_rules: bool) -> FileAnalysis:
        st = self.index.state(path)
        out = FileAnalysis(path=path, digest=st.digest)
        by = self.index.overriding(path)
        if by is not None:  # OpenTofu reads x.tofu instead: nothing of x.tf runs, so nothing is checked
            out.problems.append(overridden_problem(path, by))
            return out
        if st.read_problem is not None:
            out.problems.append(st.read_problem)
        if st.is_json:
            return out  # *.tf.json: analysed by tier 2 (Checkov's runner reads JSON itself)
        module_dir = os.path.dirname(path)
        with self._lock:
            over = self._notices.get(module_dir)
            snapshot = self._graph.get(path)
            snap_gen = self._graph_gen.get(path, 0)
            generation = self._generation
            # this file's last results first (a plain dict: no LRU bookkeeping per unchanged block)
            last = self._last_results.get(path, {})
        if over is not None:
            out.problems.append(Problem(path, Span.of(0, 0, 0, 1), over, "budget", Severity.INFO))
        # the language server imports Checkov in the background: until it is there, everything else is
        # answered at once (syntax, rules), saying so, and the blocks are checked again once it is
        pending = checkov_env.checks_pending()
        # only Checkov's checks read variables and locals: while they load, the other files are parsed later,
        # unless an earlier session's results are on disk for this module (shown until Checkov confirms them)
        # (not for the very first answer: it comes as fast as it can, the cache's follow at once, see
        # checkov_env.import_in_background)
        disk = entity_cache.current() if pending else None
        from_disk = disk is not None and disk.has(module_dir)
        if from_disk and disk is not None and not checkov_env.cache_turn():
            disk.wanted, from_disk = True, False
        cfg = self.index.checkov_config(module_dir)
        selection = CheckSelection(cfg.checks, cfg.skip_checks)
        if pending and not from_disk:
            ctx, inputs = _NO_CONTEXT, {}
        else:
            ctx = self.index.module_context(module_dir)
            inputs = self.index.symbol_inputs(module_dir, ctx)
        structure = self.index.module_structure(module_dir)
        now: dict[tuple[object, ...], BlockResult] = {}
        context = (structure, snap_gen, generation, selection.digest, with_rules, pending, from_disk)  # every block's
        block_results = self._block_results
        rechecked: list[tuple[str, ...]] = []
        misses: list[tuple[str, ...]] = []  # while pending: blocks with Checkov's checks to run the cache had not
        with self._lock:
            if not pending and self._cache_misses:
                self._cache_misses.clear()
            pending_misses = self._cache_misses
        for pb in st.parsed:
            block = pb.block
            if pb.problem is not None:
                out.problems.append(pb.problem)
            # Incremental: a block keeps its final findings (moved to where the block now is) while what
            # its result is computed from is unchanged: its parsed value and skip comments (not its text:
            # whitespace and comments elsewhere in it change neither), the values of the variables and
            # locals it references, transitively (``inputs``), what rules read beyond it (``structure``),
            # tier 2's snapshot and the configuration. A broken block is keyed by its text.
            key = _block_key(path, pb, inputs, context)
            hit = last.get(key)
            if hit is None:
                with self._lock:
                    hit = block_results.get(key)
            if hit is not None and key not in now:
                if pending and key in pending_misses:
                    misses.append(block_key(block))
                old_line, old_text, old_findings, old_problems = hit
                if old_text is block.text or old_text == block.text:
                    now[key] = hit
                    delta = block.first_line - old_line
                    out.add(old_findings, delta)  # moved lazily (see FileAnalysis)
                    if old_problems:
                        out.problems.extend(shift_problem(p, delta) for p in old_problems)
                    continue
                if not old_problems:  # the same value, other whitespace or comments: findings re-located
                    moved = reposition(old_findings, block)
                    now[key] = (block.first_line, block.text, moved, [])
                    out.add(moved)
                    continue
            missed = len(misses)
            findings, problems = self._check_block(path, pb, ctx, snapshot, selection, with_rules, pending, from_disk,
                                                   misses, inputs, (structure, generation))
            if len(misses) > missed:
                with self._lock:
                    self._cache_misses.add(key)
            rechecked.append(block_key(block))
            now[key] = (block.first_line, block.text, findings, problems)
            with self._lock:
                block_results[key] = now[key]
            out.add(findings)
            out.problems.extend(problems)
        if pending and st.parsed:  # a file with nothing to check (refused, unreadable) is not "loading"
            # the cache's results for every block: said so; some or none: Checkov's findings follow
            whole = from_disk and not misses and any(k in ("resource", "data", "provider", "module")
                                                     for k in (pb.block.kind for pb in st.parsed))
            out.problems.append(Problem(path, Span.of(0, 0, 0, 1), CACHED_LOADING if whole else CHECKS_LOADING,
                                        LOADING, Severity.INFO))
        out.rechecked = tuple(rechecked)
        checkov_env.analysis_done()  # a background import of Checkov waits for the first answers
        if log.isEnabledFor(logging.DEBUG):
            log.debug("tier 1 %s: %d of %d blocks re-checked%s", os.path.basename(path), len(rechecked),
                      len(st.parsed), ": " + ", ".join("/".join(k) for k in rechecked[:20]) if rechecked else "")
        with self._lock:
            first = path not in self._last_results
            self._last_results[path] = now
        if first and len(now) > 200:
            gctuning.settle()  # a big file's blocks, confs and findings live on: out of the collector's way
        return out

    def _check_block(self, path: str, pb: ParsedBlock, ctx: ModuleContext, snapshot: GraphSnapshot | None,
                     selection: CheckSelection, with_rules: bool, pending: bool = False,
                     from_disk: bool = False, misses: list[tuple[str, ...]] | None = None,
                     inputs: dict[str, str] | None = None,
                     rules_context: tuple[object, ...] | None = None) -> tuple[list[Finding], list[Problem]]:
        block = pb.block
        findings: list[Finding] = []
        errors: list[Problem] = []  # checks that raised: problems, never findings
        reused = _reuse_graph(snapshot, pb, inputs or {}) if snapshot is not None else None
        if reused is not None:
            findings.extend(reused)
        elif pending and not from_disk:
            pass  # Checkov is still being imported (see checks_pending): its checks run on the next analysis
        elif pb.conf is not None and block.kind in ("resource", "data", "provider", "module"):
            found = entity_of(block.kind, pb.conf)
            if found is not None:
                entity, address = found
                scanned = "/" + mirror_name(os.path.basename(path))
                module_dir = os.path.dirname(path)
                if pending:  # an earlier session's results for this very input, or nothing until Checkov is in
                    cached = cached_entity_checks(block.kind, entity, address, ctx, block_skips(block), selection,
                                                  scanned, module_dir)
                    if cached is None and misses is not None:
                        misses.append(block_key(block))
                    raws = cached or ()
                else:
                    raws = run_entity_checks(block.kind, entity, address, ctx, block_skips(block), selection,
                                             scanned, module_dir)
                for raw in raws:
                    if raw.error is not None:
                        errors.append(check_error_problem(path, block.header_span, raw.check_id, address, raw.error))
                    else:
                        findings.append(finding_from_raw(raw, path, block, address))
        elif pb.conf is None and snapshot is not None:
            # broken block: keep its last good findings until it parses again
            stale = snapshot.by_block.get(block_key(block))
            if stale is not None:
                findings.extend(reposition(stale[2], block))
        if not with_rules:
            return findings, errors
        bctx = BlockContext(path, block, pb.conf, ctx, self.root)
        extra, problems = self._rules(bctx, rules_context)
        out = findings + extra if extra else findings
        return self.pipeline.hook(out, lambda _f: bctx), errors + problems

    def _rules(self, bctx: BlockContext,
               rules_context: tuple[object, ...] | None) -> tuple[list[Finding], list[Problem]]:
        """tfguard's block rules on one block (:meth:`Pipeline.rules`), kept while the block's text and place,
        the module's structure and the configuration are those, *if the rules did not read the module's
        values* (watched): a block checked again only because a local it reads changed keeps them."""
        block = bctx.block
        key = (bctx.file, block.first_line, block.text, rules_context)
        if rules_context is not None:
            with self._lock:
                hit = self._rule_results.get(key)
            if hit is not None:
                return hit
        watched = _Watched(bctx.module.variables, bctx.module.locals)
        got = self.pipeline.rules(replace(bctx, module=watched))
        if rules_context is not None and not watched.was_read():
            with self._lock:
                self._rule_results[key] = got
        return got


class _Watched(ModuleContext):
    """A module context that notes whether its values were read (tfguard's rules, in :meth:`Tier1._rules`)."""

    def __getattribute__(self, name: str) -> object:
        if name in ("variables", "locals", "digest"):
            object.__setattr__(self, "_read", True)
        return super().__getattribute__(name)

    def was_read(self) -> bool:
        return bool(self.__dict__.get("_read"))


def _skips_key(pb: ParsedBlock) -> tuple[tuple[str, str], ...]:
    """The skip comments of a block as its results depend on them (check id and reason; not the line)."""
    got: tuple[tuple[str, str], ...] | None = pb.memo.get("skips")
    if got is None:
        got = tuple((s.check_id, s.reason) for s in block_skips(pb.block))
        pb.memo["skips"] = got
    return got


def _block_key(path: str, pb: ParsedBlock, inputs: dict[str, str], context: tuple[object, ...]) -> tuple[object, ...]:
    """What a block's tier-1 result is computed from (see :meth:`Tier1.analyze_file`)."""
    block = pb.block
    if pb.broken:
        return (path, block.kind, "text", block.text, context)
    memo = pb.memo
    got = memo.get("inputs")
    if got is None or got[0] is not inputs:
        symbols: tuple[str, ...] | None = memo.get("input_symbols")
        if symbols is None:  # the variables and locals it references, sorted (once per parsed block)
            symbols = memo["input_symbols"] = tuple(sorted(sym for sym in pb.references
                                                           if sym.startswith(("var.", "local."))))
        got = (inputs, tuple((sym, inputs.get(sym, "-")) for sym in symbols))
        memo["inputs"] = got
    # the labels are in the key: two blocks can have one value digest only if they have the same labels
    return (path, block.kind, block.labels, pb.value, _skips_key(pb), got[1], context)


def _reuse_graph(snapshot: GraphSnapshot, pb: ParsedBlock, inputs: dict[str, str]) -> list[Finding] | None:
    """Tier 2's findings of ``pb``'s block, moved to where it is now, if they still apply: the block's text
    is the one tier 2 checked and so are the values of the variables and locals it references (``inputs``
    now against the snapshot's). Else None: the block is checked by tier 1 (as a block whose text changed)."""
    block = pb.block
    entry = snapshot.by_block.get(block_key(block))
    if entry is None:
        return None
    digest, _, findings = entry
    if digest != text_digest(block.text):
        return None
    then = snapshot.inputs
    for sym in pb.references:
        if sym.startswith(("var.", "local.")) and (then is None or then.get(sym, "-") != inputs.get(sym, "-")):
            return None
    return reposition(findings, block)
