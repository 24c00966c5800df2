"""The engine: files (on disk or unsaved), module directories, incremental checks, caches.

One engine serves the language server, the CLI and CI. Nothing here imports pygls or
lsprotocol. Text is addressed by absolute path; unsaved text is an *overlay* that wins
over the disk.

- :meth:`Engine.analyze_file` is tier 1: split the file into blocks, parse only blocks
  whose text changed (cached by content), run Checkov's entity checks only for blocks whose
  content or module context changed (cached), and reuse tier 2's result for blocks that did
  not change since tier 2 ran.
- :meth:`Engine.analyze_module` is tier 2: Checkov's full runner on the module's current
  text (unsaved included, through a scratch mirror), the authoritative result.
- :meth:`Engine.scan` is ``tfguard scan``: Checkov's runner over directories on disk, as
  ``checkov -d`` reports them, plus tfguard's own problems (unreadable files, syntax errors).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from cachetools import LRUCache

from tfguard import gctuning
from tfguard.checks.entity import (
    CheckSelection,
    ModuleContext,
    RawResult,
    entity_of,
    module_context_from_confs,
    run_entity_checks,
)
from tfguard.checks.graph import GraphRecord, Mirror, run_checkov, use_policy_dirs
from tfguard.checks.skips import block_skips
from tfguard.config.checkov import (
    CHECKOV_CONFIG_NAMES,
    CheckovConfig,
    ConfigError,
    find_upwards,
    load_checkov_config,
)
from tfguard.config.tfguard import ConfigResolver
from tfguard.files import (
    DEFAULT_MAX_FILE_BYTES,
    content_key,
    is_terraform_file,
    iter_files,
    iter_terraform_files,
    normalize_newlines,
    read_disk,
    text_digest,
    too_large,
)
from tfguard.hcl.blocks import Block, SplitFile, resplit, split_blocks
from tfguard.hcl.parse import ParsedBlock, load_json_text, merge_confs, parse_block
from tfguard.identity import code_fingerprint
from tfguard.model import (
    Finding,
    Position,
    Problem,
    Result,
    ScanReport,
    Severity,
    Span,
    shift_finding,
    shift_problem,
)

log = logging.getLogger(__name__)

DEFAULT_MODULE_TIME_BUDGET = 20.0  # seconds for one module's tier-2 run before tier 1 stands in

# Hook for per-block rules (org rules, SecOps policies): (context) -> findings
BlockRule = Callable[["BlockContext"], list[Finding]]


@dataclass(frozen=True)
class BlockContext:
    file: str
    block: Block
    conf: dict | None  # the block's parsed conf ({"resource": [...]}) or None when broken
    module: ModuleContext
    workspace_root: str | None


@dataclass
class FileState:
    path: str
    text: str
    digest: str
    split: SplitFile
    parsed: list[ParsedBlock]
    read_problem: Problem | None = None
    is_json: bool = False
    json_conf: dict | None = None


class FileAnalysis:
    """Findings and problems of one file, for one text (``digest``).

    The findings of blocks that only moved since they were checked (lines inserted above them)
    are kept as they were, with the line shift (``segments``), and moved when ``findings`` is
    first read: a keystroke that moves a thousand findings does not copy them, and a consumer
    that only needs their lines (the LSP's serialised diagnostics) never has to.
    """

    __slots__ = ("path", "digest", "problems", "tier", "_segments", "_flat")

    def __init__(self, path: str, digest: str, findings: list[Finding] | None = None,
                 problems: list[Problem] | None = None, tier: int = 1) -> None:
        self.path = path
        self.digest = digest
        self.problems: list[Problem] = problems if problems is not None else []
        self.tier = tier
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


@dataclass
class _GraphSnapshot:
    """Tier 2's findings for one file, keyed by block, with the block text they were computed on."""

    by_block: dict[tuple[str, ...], tuple[str, int, list[Finding]]]  # key -> (block text digest, start line, findings)
    other: list[Finding]  # findings not tied to a block of this file's current split


def block_key(block: Block) -> tuple[str, ...]:
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


class Engine:
    """Incremental analysis state for one workspace (or one CLI run)."""

    def __init__(
        self,
        root: str | None = None,
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        block_rules: list[BlockRule] | None = None,
        finding_hook: Callable[[Finding, BlockContext | None], Finding | None] | None = None,
    ) -> None:
        self.root = os.path.abspath(root) if root else None
        self.max_file_bytes = max_file_bytes
        self.block_rules: list[BlockRule] = list(block_rules or [])
        self.finding_hook = finding_hook  # returns the finding to report, or None to drop it (disabled)
        # Policy directories beyond .checkov.yaml's external-checks-dir, per module dir (.tfguard.yaml)
        self.extra_policy_dirs: Callable[[str], tuple[str, ...]] = lambda module_dir: ()
        self.configs: ConfigResolver | None = None  # .tfguard.yaml resolution (set by session.make_engine)
        self._overlays: dict[str, str] = {}
        self._files: dict[str, FileState] = {}
        self._graph: dict[str, _GraphSnapshot] = {}
        self._graph_gen: dict[str, int] = {}  # bumped each time tier 2 replaces a file's snapshot
        # per-block final results of tier 1 (see analyze_file), bounded
        self._block_results: LRUCache[tuple[object, ...], tuple[int, list[Finding], list[Problem]]] = LRUCache(
            maxsize=20_000)
        self._last_results: dict[str, dict[tuple[object, ...], tuple[int, list[Finding], list[Problem]]]] = {}
        self.generation = 0  # bump when configuration changes (invalidates per-block results)
        self._mirror: Mirror | None = None
        self._contexts: dict[str, tuple[tuple[int, ...], list[dict], ModuleContext]] = {}
        self._structures: dict[str, tuple[list[ParsedBlock], str]] = {}  # file -> (its parsed blocks, structure part)
        self._lock = threading.RLock()
        self.config_problems: list[Problem] = []
        # Tier-2 time budget (seconds; None: unbounded), see analyze_module_bounded
        self.module_time_budget: float | None = DEFAULT_MODULE_TIME_BUDGET
        self._over_budget: dict[str, str] = {}  # module dir -> message while its tier 2 is over budget
        self._runaway: dict[str, threading.Thread] = {}  # module dir -> tier-2 run still going past its budget

    # ----------------------------------------------------------------- text
    def set_overlay(self, path: str, text: str) -> None:
        """Unsaved text of an open document; wins over the disk."""
        with self._lock:
            self._overlays[os.path.abspath(path)] = normalize_newlines(text)

    def drop_overlay(self, path: str) -> None:
        with self._lock:
            self._overlays.pop(os.path.abspath(path), None)

    def forget(self, path: str) -> None:
        """Drop what is cached about a file (it changed or vanished on disk)."""
        with self._lock:
            p = os.path.abspath(path)
            self._files.pop(p, None)
            self._last_results.pop(p, None)
            self._structures.pop(p, None)
            self._graph.pop(p, None)

    def has_overlay(self, path: str) -> bool:
        return os.path.abspath(path) in self._overlays

    def overlays(self) -> dict[str, str]:
        with self._lock:
            return dict(self._overlays)

    def read(self, path: str) -> tuple[str | None, Problem | None]:
        """Current text of ``path``: the overlay, else the disk; or a problem saying why not."""
        path = os.path.abspath(path)
        with self._lock:
            if path in self._overlays:
                text = self._overlays[path]
                if len(text) > self.max_file_bytes:
                    return None, too_large(path, len(text), self.max_file_bytes)
                return text, None
        return read_disk(path, self.max_file_bytes)

    def state(self, path: str) -> FileState:
        """Split and parse ``path`` (only blocks whose text changed are parsed again)."""
        path = os.path.abspath(path)
        text, problem = self.read(path)
        if text is None:
            assert problem is not None
            with self._lock:  # an unsaved text over the size limit: its digest, so the LSP publishes it
                overlay = self._overlays.get(path)
            st = FileState(path, "", text_digest(overlay if overlay is not None else ""), split_blocks(""), [],
                           read_problem=problem)
            with self._lock:
                self._files[path] = st
            return st
        digest = text_digest(text)
        with self._lock:
            old = self._files.get(path)
            if old is not None and old.digest == digest:
                return old
        if path.endswith(".json"):
            conf, jproblem = load_json_text(text, path)
            st = FileState(path, text, digest, split_blocks(""), [], read_problem=jproblem, is_json=True,
                           json_conf=conf)
        else:
            # incremental: re-split only the edited region, re-parse only blocks that changed
            split = resplit(old.split, text) if old is not None and not old.is_json and old.text else split_blocks(text)
            # A block the re-split kept is reused as it is; a moved one by its text (its conf's line
            # numbers are shifted when first read); only new text is parsed.
            previous = {(pb.block.text, pb.block.base_span.start.character): pb
                        for pb in (old.parsed if old is not None else ())}
            parsed = []
            for b in split.blocks:
                prev = previous.get((b.text, b.base_span.start.character))
                if prev is None:
                    parsed.append(parse_block(b, path))
                else:
                    parsed.append(prev if prev.block is b else prev.moved_to(b))
            st = FileState(path, text, digest, split, parsed)
        with self._lock:
            self._files[path] = st
        return st

    # ------------------------------------------------------------- modules
    def module_files(self, module_dir: str) -> list[str]:
        """Terraform files of a module directory: on disk plus unsaved ones, sorted."""
        module_dir = os.path.abspath(module_dir)
        files: set[str] = set()
        try:
            for entry in os.scandir(module_dir):
                if entry.is_file() and is_terraform_file(entry.name):
                    files.add(entry.path)
        except OSError:
            pass
        with self._lock:
            for p in self._overlays:
                if os.path.dirname(p) == module_dir and is_terraform_file(p):
                    files.add(p)
        return sorted(files)

    def module_context(self, module_dir: str) -> ModuleContext:
        """Variable defaults and locals of a module. Only ``variable``/``locals`` blocks matter: while
        those parsed confs are the same objects (no such block changed), the same context is returned,
        so its digest is not recomputed on every keystroke."""
        parts: list[dict] = []
        for f in self.module_files(module_dir):
            st = self.state(f)
            if st.is_json:
                if st.json_conf:
                    parts.append(st.json_conf)
            else:
                parts.extend(c for pb in st.parsed
                             if pb.block.kind in ("variable", "locals") and (c := pb.content_conf))
        key = tuple(map(id, parts))
        with self._lock:
            hit = self._contexts.get(module_dir)
            if hit is not None and hit[0] == key:
                return hit[2]
        ctx = module_context_from_confs(parts)
        with self._lock:
            self._contexts[module_dir] = (key, parts, ctx)  # holds the confs: their ids stay unique
        return ctx

    def checkov_config(self, module_dir: str) -> CheckovConfig:
        path = find_upwards(module_dir, CHECKOV_CONFIG_NAMES, self.root)
        if path is None:
            return CheckovConfig()
        try:
            cfg = load_checkov_config(path)
        except ConfigError as e:
            self._config_problem(
                Problem(e.path, Span(Position(e.line, e.column), Position(e.line, e.column + 1)), e.message,
                        "config")
            )
            return CheckovConfig()
        for line, message in cfg.refused:  # options that would run workspace code or reach the network
            self._config_problem(Problem(path, Span.of(line, 0, line, 1), message, "config", Severity.INFO))
        return cfg

    def _config_problem(self, problem: Problem) -> None:
        """Record a configuration problem once (it is looked up on every analysis)."""
        with self._lock:
            if problem not in self.config_problems:
                if len(self.config_problems) >= 200:  # bounded: a pathological config cannot grow it forever
                    del self.config_problems[0]
                self.config_problems.append(problem)
                log.warning("%s: %s", problem.file, problem.message)

    # --------------------------------------------------------------- tier 1
    def analyze_file(self, path: str, with_rules: bool = True) -> FileAnalysis:
        """Tier 1 for one file (reusing tier 2's results for blocks unchanged since it ran)."""
        path = os.path.abspath(path)
        st = self.state(path)
        out = FileAnalysis(path=path, digest=st.digest)
        if st.read_problem is not None:
            out.problems.append(st.read_problem)
            if st.is_json:
                return out
        if st.is_json:
            return out  # *.tf.json: analysed by tier 2 (Checkov's runner reads JSON itself)
        module_dir = os.path.dirname(path)
        over = self._over_budget.get(module_dir)
        if over is not None:
            out.problems.append(Problem(path, Span.of(0, 0, 0, 1), over, "budget", Severity.INFO))
        cfg = self.checkov_config(module_dir)
        selection = CheckSelection(cfg.checks, cfg.skip_checks)
        ctx = self.module_context(module_dir)
        snapshot = self._graph.get(path)
        snap_gen = self._graph_gen.get(path, 0)
        structure = self._module_structure(module_dir, ctx)
        # this file's last results first (a plain dict: no LRU bookkeeping per unchanged block)
        last = self._last_results.get(path, {})
        now: dict[tuple[object, ...], tuple[int, list[Finding], list[Problem]]] = {}
        context = (structure, snap_gen, self.generation, selection.digest, with_rules)  # the same for every block
        for pb in st.parsed:
            block = pb.block
            if pb.problem is not None:
                out.problems.append(pb.problem)
            # Incremental: a block whose text, module context, tier-2 snapshot and configuration are
            # unchanged keeps its final findings (moved to where the block now is).
            # The block's text itself is in the key: its hash is cached on the str object, which
            # re-splitting keeps for unchanged blocks, so a hit costs no hashing of the text.
            key = (path, block.text, block.kind, context, pb.broken)
            hit = last.get(key)
            if hit is None:
                hit = self._block_results.get(key)
            if hit is not None:
                now[key] = hit
                old_line, old_findings, old_problems = hit
                delta = block.first_line - old_line
                out.add(old_findings, delta)  # moved lazily (see FileAnalysis)
                if old_problems:
                    out.problems.extend(shift_problem(p, delta) for p in old_problems)
                continue
            findings, problems = self._check_block(path, pb, ctx, snapshot, selection, with_rules)
            now[key] = self._block_results[key] = (block.first_line, findings, problems)
            out.add(findings)
            out.problems.extend(problems)
        with self._lock:
            first = path not in self._last_results
            self._last_results[path] = now
        if first and len(now) > 200:
            gctuning.settle()  # a big file's blocks, confs and findings live on: out of the collector's way
        return out

    def _module_structure(self, module_dir: str, ctx: ModuleContext) -> str:
        """What rules may read beyond a block: variables/locals, and the module's non-resource blocks."""
        parts = [ctx.digest]
        for f in self.module_files(module_dir):
            st = self._files.get(os.path.abspath(f))
            if st is None:
                st = self.state(f)
            with self._lock:
                hit = self._structures.get(st.path)
            if hit is not None and hit[0] is st.parsed:
                parts.append(hit[1])
                continue
            own = []
            for pb in st.parsed:
                b = pb.block
                own.append("/".join((b.kind, *b.labels)))
                if b.kind not in ("resource", "data", "output", "locals", "variable"):
                    own.append(text_digest(b.text))
            part = text_digest("|".join(own))
            with self._lock:
                self._structures[st.path] = (st.parsed, part)
            parts.append(part)
        return text_digest("|".join(parts))

    def _check_block(self, path: str, pb: ParsedBlock, ctx: ModuleContext, snapshot: _GraphSnapshot | None,
                     selection: CheckSelection, with_rules: bool) -> tuple[list[Finding], list[Problem]]:
        block = pb.block
        findings: list[Finding] = []
        problems: list[Problem] = []
        bctx = BlockContext(path, block, pb.conf, ctx, self.root)
        reused = self._reuse_graph(snapshot, block) if snapshot is not None else None
        if reused is not None:
            findings.extend(reused)
        elif pb.conf is not None and block.kind in ("resource", "data", "provider", "module"):
            found = entity_of(block.kind, pb.conf)
            if found is not None:
                entity, address = found
                raws = run_entity_checks(block.kind, entity, address, ctx, block_skips(block), selection,
                                         "/" + os.path.basename(path))
                for raw in raws:
                    findings.append(self._from_raw(raw, path, block, address))
        elif pb.conf is None and snapshot is not None:
            # broken block: keep its last good findings until it parses again
            stale = snapshot.by_block.get(block_key(block))
            if stale is not None:
                findings.extend(self._reposition(stale[2], block))
        if pb.conf is not None and with_rules:
            for rule in self.block_rules:
                try:
                    findings.extend(rule(bctx))
                except Exception as e:  # one rule failing never hides the others
                    log.exception("rule %s failed on %s", getattr(rule, "__name__", rule), block.address)
                    problems.append(Problem(path, block.header_span, f"tfguard rule failed on this block: {e}",
                                            "engine", Severity.INFO))
        if self.finding_hook is not None and with_rules:
            hooked = (self.finding_hook(f, bctx) for f in findings)
            findings = [f for f in hooked if f is not None]
        return findings, problems

    def _ctx_for(self, path: str, block: Block | None, st: FileState, ctx: ModuleContext) -> BlockContext | None:
        if block is None:
            return None
        pb = next((p for p in st.parsed if p.block is block), None)
        return BlockContext(path, block, pb.conf if pb else None, ctx, self.root)

    def _from_raw(self, raw: RawResult, path: str, block: Block, address: str) -> Finding:
        if raw.error is not None:
            return Finding(
                check_id=raw.check_id, check_name=raw.check_name, result=Result.FAILED, file=path,
                resource=address, line_range=(block.start_line, block.end_line), span=locate(block, ()),
                source="engine", block_type=block.kind, severity=Severity.INFO,
                message=f"Check {raw.check_id} could not run on this block: {raw.error}",
            )
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

    def _reuse_graph(self, snapshot: _GraphSnapshot, block: Block) -> list[Finding] | None:
        entry = snapshot.by_block.get(block_key(block))
        if entry is None:
            return None
        digest, _, findings = entry
        if digest != text_digest(block.text):
            return None
        return self._reposition(findings, block)

    @staticmethod
    def _reposition(findings: list[Finding], block: Block) -> list[Finding]:
        """Findings computed on an earlier text of ``block``, placed where the block (and attribute) is now."""
        return [replace(f, line_range=(block.start_line, block.end_line), span=locate(block, f.evaluated_keys))
                for f in findings]

    # --------------------------------------------------------------- tier 2
    def analyze_module(self, module_dir: str) -> dict[str, FileAnalysis]:
        """Tier 2: Checkov's full runner on the module's current text. Authoritative."""
        module_dir = os.path.abspath(module_dir)
        files = self.module_files(module_dir)
        states = {f: self.state(f) for f in files}
        cfg = self.checkov_config(module_dir)
        selection = CheckSelection(cfg.checks, cfg.skip_checks)
        for problem_line in use_policy_dirs(cfg.external_checks_dirs + self.extra_policy_dirs(module_dir)):
            log.warning("%s", problem_line)
        overlays = self.overlays()
        root, path_map = module_dir, None
        if overlays:
            mirror_root = self.root or module_dir
            if self._mirror is None or self._mirror.real_root != os.path.realpath(mirror_root):
                self._mirror = Mirror(mirror_root)
            self._mirror.sync(self._mirror_files(mirror_root))
            root = self._mirror.path_for(module_dir)
            path_map = (self._mirror.root, self._mirror.real_root)
        run = run_checkov(root, selection, recursive=False, path_map=path_map)
        real_dir = os.path.realpath(module_dir)
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
            st = states.get(f) or self.state(f)
            fa = result.setdefault(f, FileAnalysis(path=f, digest=st.digest, tier=2))
            fa.findings.extend(self.records_to_findings(recs, st))
        ctx = self.module_context(module_dir)
        for f, fa in result.items():
            st = states.get(f) or self.state(f)
            snapshot = _GraphSnapshot(by_block={}, other=[])
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
            old = self._graph.get(f)
            for pb in st.parsed:
                if pb.conf is None and old is not None and block_key(pb.block) in old.by_block:
                    snapshot.by_block[block_key(pb.block)] = old.by_block[block_key(pb.block)]
            with self._lock:
                self._graph[f] = snapshot
                self._graph_gen[f] = self._graph_gen.get(f, 0) + 1
            # org rules / policies that tier 1 adds run here too
            for pb in st.parsed:
                if pb.conf is None:
                    continue
                bctx = BlockContext(f, pb.block, pb.conf, ctx, self.root)
                for rule in self.block_rules:
                    try:
                        fa.findings.extend(rule(bctx))
                    except Exception:
                        log.exception("rule failed on %s", pb.block.address)
            if self.finding_hook is not None:
                hooked = (self.finding_hook(x, self._ctx_for(f, blocks.get(x.line_range[0]), st, ctx))
                          for x in fa.findings)
                fa.findings = [x for x in hooked if x is not None]
        return result

    def analyze_module_bounded(self, module_dir: str, budget: float | None = None) -> dict[str, FileAnalysis]:
        """Tier 2 within a time budget; past it, tier 1's results for the module's files, saying so.

        Checkov's runner cannot be interrupted safely in-thread: a run over budget keeps going in its
        (daemon) thread and its result is dropped; until it ends, the module gets tier 1 at once
        (no second run is started for it). Every file of the module carries an INFO problem
        (code ``budget``) while tier 2 is unavailable; the next run within budget clears it.
        """
        module_dir = os.path.abspath(module_dir)
        budget = self.module_time_budget if budget is None else budget
        if budget is None or budget <= 0:
            return self.analyze_module(module_dir)
        runaway = self._runaway.get(module_dir)
        if runaway is not None and runaway.is_alive():
            return self._tier1_module(module_dir)
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = self.analyze_module(module_dir)
            except BaseException as e:  # re-raised in the caller
                box["error"] = e

        t = threading.Thread(target=work, name=f"tfguard-tier2:{os.path.basename(module_dir)}", daemon=True)
        t.start()
        t.join(budget)
        if t.is_alive():
            self._runaway[module_dir] = t
            self._over_budget[module_dir] = (
                f"Module analysis (Checkov's full runner, graph checks) took longer than {budget:g} s: showing "
                "per-block results only; graph checks are missing for this module (setting moduleTimeBudgetMs)")
            log.warning("tier 2 over budget (%.1f s) for %s; tier 1 stands in", budget, module_dir)
            return self._tier1_module(module_dir)
        self._runaway.pop(module_dir, None)
        if "error" in box:
            raise box["error"]
        if self._over_budget.pop(module_dir, None) is not None:
            log.info("tier 2 back within budget for %s", module_dir)
        return box["result"]

    def _tier1_module(self, module_dir: str) -> dict[str, FileAnalysis]:
        return {f: self.analyze_file(f) for f in self.module_files(module_dir)}

    def _mirror_files(self, root: str) -> dict[str, str]:
        files: dict[str, str] = {}
        for p in iter_terraform_files(root, include_vars=True):
            text, _ = self.read(p)
            if text is not None:
                files[p] = text
        for p, text in self.overlays().items():
            files[p] = text
        return files

    def records_to_findings(self, recs: Iterable[GraphRecord], st: FileState | None) -> list[Finding]:
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

    # ----------------------------------------------------------------- scan
    def scan(self, paths: list[str]) -> ScanReport:
        """``tfguard scan``: Checkov's runner on each directory (as ``checkov -d``), plus problems.

        The whole report is cached on disk by the content of everything it depends on (see
        :meth:`_scan_key`): an unchanged tree is reported without parsing or checking anything.
        """
        key = self._scan_key(paths)
        cached = _load_scan(key)
        if cached is not None:
            return cached
        report = self._scan_uncached(paths)
        from tfguard.scan.baseline import evaluated_content

        for f in report.failed:  # fingerprint material, so the cached report needs no file re-read
            try:
                report.evaluated[f] = evaluated_content(f)
            except Exception:  # an unreadable file: fingerprinted later the usual way
                log.debug("no fingerprint material for %s", f.resource, exc_info=True)
        _store_scan(key, report)
        return report

    python_checks_loaded = False  # set by session.make_engine: Python checks are code, never cached

    def _scan_key(self, paths: list[str]) -> str | None:
        """Digest of every input of a scan: Terraform and YAML/JSON files under the paths, configuration
        files above them, the explicit configuration, its catalogue and policy directories, versions."""
        if self.python_checks_loaded or _scan_cache_dir(self.scan_cache_dir) is None:
            return None
        from importlib.metadata import version

        from tfguard import __version__

        h = hashlib.blake2b(digest_size=20)
        h.update(f"{__version__}|{version('checkov')}|{self.max_file_bytes}|{sorted(paths)}".encode())
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
        configs = self.configs
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
        return os.path.join(_scan_cache_dir(self.scan_cache_dir) or "", "scans", h.hexdigest() + ".pickle")

    def _scan_uncached(self, paths: list[str]) -> ScanReport:
        report = ScanReport(root=os.path.abspath(paths[0]) if paths else os.getcwd())
        for p in paths:
            p = os.path.abspath(p)
            if os.path.isfile(p):
                self._scan_files(report, [p], os.path.dirname(p))
            elif os.path.isdir(p):
                self._scan_dir(report, p)
            else:
                report.problems.append(Problem(p, Span.of(0, 0, 0, 0), "no such file or directory", "read"))
        return report

    # Scan settings: worker processes (None: one per core) and the result cache directory
    # (None: $TFGUARD_CACHE_DIR, else $XDG_CACHE_HOME/tfguard; "" disables the cache).
    scan_workers: int | None = None
    scan_cache_dir: str | None = None

    def _scan_dir(self, report: ScanReport, d: str) -> None:
        """``checkov -d d``, split into independent units run in parallel and cached (see scanpool)."""
        from tfguard.scan.pool import (
            ResultCache,
            colliding_units,
            default_cache_dir,
            local_module_dirs,
            module_calls,
            plan_units,
            run_units,
            whole_tree_unit,
        )

        files = list(iter_terraform_files(d))
        report.files_scanned += len(files)
        cfg = self.checkov_config(d)
        policy_dirs = cfg.external_checks_dirs + self.extra_policy_dirs(d)

        def load_policies() -> None:  # only when Checkov runs: a fully cached scan never imports it
            for line in use_policy_dirs(policy_dirs):
                report.problems.append(Problem(cfg.path or d, Span.of(0, 0, 0, 0), line, "config"))

        states: dict[str, FileState] = {}
        for f in files:
            st = self.state(f)
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
                    for st in map(self.state, self.module_files(module_dir))]
            return module_confs[module_dir]

        def calls(module_dir: str) -> list[str]:
            return local_module_dirs(module_dir, confs(module_dir))

        def call_names(module_dir: str) -> list[str]:
            return [name for name, _ in module_calls(confs(module_dir))]

        units = plan_units({os.path.dirname(f) for f in files}, calls)
        collisions = colliding_units(units, call_names) if len(units) > 1 else set()
        if collisions:
            log.info("module call names %s are used by several independent directories under %s: scanning it "
                     "in one run, as `checkov -d` does (its results for them depend on each other)",
                     ", ".join(sorted(collisions)[:5]), d)
            units = [whole_tree_unit(d, units)]
        cache_dir = self.scan_cache_dir if self.scan_cache_dir is not None else default_cache_dir()
        if policy_dirs:
            cache_dir = None  # policy files are not part of the cache key
        runs, failures = run_units(units, CheckSelection(cfg.checks, cfg.skip_checks),
                                   cache=ResultCache(cache_dir or None), max_workers=self.scan_workers,
                                   prepare=load_policies)
        for root, error in failures:
            report.problems.append(Problem(root, Span.of(0, 0, 0, 1),
                                           f"Checkov failed on this directory: {error}", "engine"))
        by_file: dict[str, list[GraphRecord]] = {}
        parsing_errors: set[str] = set()
        for run in runs:
            parsing_errors.update(run.parsing_errors)
            for rec in run.records:
                by_file.setdefault(os.path.realpath(rec.file), []).append(rec)
        for rp, recs in by_file.items():
            st = states.get(rp) or self.state(rp)
            report.findings.extend(self.records_to_findings(recs, st))
        # Checkov drops a file it cannot parse whole; tfguard still checks its good blocks.
        for bad in sorted(parsing_errors):
            bad_st = states.get(os.path.realpath(bad))
            if bad_st is not None and not bad_st.is_json and bad_st.read_problem is None:
                fa = self.analyze_file(bad_st.path, with_rules=False)
                report.findings.extend(x for x in fa.findings if x.source == "checkov")
        self._add_rules(report, files)

    def _scan_files(self, report: ScanReport, files: list[str], root: str) -> None:
        """Files named on the command line: Checkov's full run (graph checks included) on each file's
        module directory, keeping the named files' results."""
        report.files_scanned += len(files)
        by_dir: dict[str, list[str]] = {}
        for f in files:
            by_dir.setdefault(os.path.dirname(os.path.abspath(f)), []).append(os.path.abspath(f))
        for d, wanted in by_dir.items():
            result = self.analyze_module(d)
            for f in wanted:
                fa = result.get(f)
                if fa is None:  # not a Terraform file of that directory (e.g. .tfvars): tier 1 only
                    fa = self.analyze_file(f)
                report.findings.extend(fa.findings)
                report.problems.extend(fa.problems)

    def _add_rules(self, report: ScanReport, files: list[str]) -> None:
        if not self.block_rules and self.finding_hook is None:
            return
        with self.configs.batch() if self.configs is not None else contextlib.nullcontext():
            self._add_rules_batched(report, files)

    def _add_rules_batched(self, report: ScanReport, files: list[str]) -> None:
        contexts: dict[str, ModuleContext] = {}
        by_start: dict[tuple[str, int], BlockContext] = {}
        for f in files:
            st = self.state(f)
            d = os.path.dirname(f)
            if d not in contexts:
                contexts[d] = self.module_context(d)
            for pb in st.parsed:
                bctx = BlockContext(f, pb.block, pb.conf, contexts[d], self.root)
                by_start[(os.path.realpath(f), pb.block.start_line)] = bctx
                if pb.conf is None:
                    continue
                for rule in self.block_rules:
                    try:
                        report.findings.extend(rule(bctx))
                    except Exception:
                        log.exception("rule failed on %s", pb.block.address)
        if self.finding_hook is not None:
            hooked = (self.finding_hook(x, by_start.get((os.path.realpath(x.file), x.line_range[0])))
                      for x in report.findings)
            report.findings = [x for x in hooked if x is not None]


_CONFIG_NAMES = (".tfguard.yaml", ".tfguard.yml", *CHECKOV_CONFIG_NAMES)
_SCAN_INPUT_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json", ".hcl", ".yaml", ".yml", ".json")


def _scan_cache_dir(explicit: str | None) -> str | None:
    if explicit is not None:
        return explicit or None
    from tfguard.scan.pool import default_cache_dir

    return default_cache_dir()


def _load_scan(path: str | None) -> ScanReport | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            report = pickle.load(f)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None
    return report if isinstance(report, ScanReport) else None


def _store_scan(path: str | None, report: ScanReport) -> None:
    if path is None:
        return
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            pickle.dump(report, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except (OSError, pickle.PickleError) as e:
        log.warning("cannot write scan cache %s: %s", path, e)
