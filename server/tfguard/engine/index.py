"""The per-file index: parse state of every file, module membership and context, Checkov configuration.

A file is split into top-level blocks and each block parsed on its own; an edit re-splits only
the edited region and re-parses only blocks whose text changed (:meth:`Index.state`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tfguard.checks.entity import ModuleContext, module_context_from_confs
from tfguard.config.checkov import (
    CHECKOV_CONFIG_NAMES,
    CheckovConfig,
    CheckovOverrides,
    ConfigError,
    find_upwards,
    load_checkov_config,
)
from tfguard.engine.texts import Texts
from tfguard.files import is_terraform_file, text_digest, tofu_alternative, tofu_overridden
from tfguard.hcl.blocks import Block, SplitFile, resplit, split_blocks
from tfguard.hcl.parse import ParsedBlock, _parse_text, _shift_lines, load_json_text, parse_block
from tfguard.hcl.refs import definitions, references_in, value_digest
from tfguard.model import Position, Problem, Severity, Span

log = logging.getLogger(__name__)

MAX_CONFIG_PROBLEMS = 200  # bounded: a pathological configuration cannot grow the list forever
OVERRIDDEN = "overridden"  # Problem code: an x.tf that OpenTofu ignores because x.tofu is beside it
# Block kinds whose content rules read from every block of a module (RuleEnv.module_blocks): provider
# (default_tags, TFG_TAG_1) and terraform (required_version, TFG_PROV_2). A change of such a block's value
# re-checks the module's blocks; no other block is read beyond itself.
MODULE_WIDE_KINDS = frozenset(("provider", "terraform"))
_CONTEXT_KINDS = frozenset(("variable", "locals"))  # what the module context is made of


def overridden_problem(path: str, by: str) -> Problem:
    """The INFO problem of an ``x.tf`` (``x.tf.json``) overridden by ``by`` (``x.tofu``, ``x.tofu.json``):
    OpenTofu does not read it, so tfguard checks ``by`` instead (see docs/policies.md, "OpenTofu files")."""
    return Problem(path, Span.of(0, 0, 0, 1),
                   f"overridden by {os.path.basename(by)} (OpenTofu): not what OpenTofu runs; "
                   f"{os.path.basename(by)} is checked instead", OVERRIDDEN, Severity.INFO)


@dataclass(frozen=True)
class FileState:
    """One text of one file, split into blocks and parsed (``parsed`` aligned with ``split.blocks``)."""

    path: str
    text: str
    digest: str
    split: SplitFile
    parsed: list[ParsedBlock]
    read_problem: Problem | None = None
    is_json: bool = False
    json_conf: dict | None = None


@dataclass(frozen=True)
class DependencyGraph:
    """The symbols each block of a module defines and references (one file's blocks or several).

    ``defines``: symbol (``var.x``, ``local.y``, ``data.t.n``, ``t.n``, ``module.m``) -> the blocks
    defining it; ``blocks``: every block, with its file. A block's references are
    :attr:`ParsedBlock.references`.
    """

    defines: dict[str, list[tuple[str, ParsedBlock]]]
    blocks: list[tuple[str, ParsedBlock]]

    def dependents(self, symbols: Iterable[str], transitive: bool = True) -> list[tuple[str, ParsedBlock]]:
        """Blocks referencing any of ``symbols``; ``transitive``: also blocks referencing what those
        define (local -> local -> resource), each once, in module order."""
        wanted = set(symbols)
        found: dict[int, tuple[str, ParsedBlock]] = {}
        while True:
            new = [(f, pb) for f, pb in self.blocks if id(pb) not in found and pb.references & wanted]
            if not new:
                break
            for f, pb in new:
                found[id(pb)] = (f, pb)
            if not transitive:
                break
            # what the found blocks define, per symbol: a local whose own value reads none of ``wanted``
            # does not carry the change on, even if its ``locals`` block has another one that does
            more = {sym for _f, pb in new
                    for sym, value in definitions(pb.block.kind, pb.block.labels, pb.content_conf).items()
                    if pb.block.kind != "locals" or references_in(value) & wanted}
            if more <= wanted:
                break
            wanted |= more
        return [(f, pb) for f, pb in self.blocks if id(pb) in found]


_COMMENT_ONLY = ("#", "//")


def parse_piecewise(block: Block, path: str) -> ParsedBlock:
    """:func:`~tfguard.hcl.parse.parse_block`; a ``locals`` block attribute by attribute.

    Each attribute of a ``locals`` block is parsed on its own (``locals { <its lines> }``, cached by its
    text), so a value edit of one local parses that local, not the block's other ones (a 20-line block
    took ~2 ms of the keystroke). The pieces' values merged in order, with the block's line numbers, are
    what ``hcl2`` gives for the whole block. Only when that is certain: the header and the closing brace on
    lines of their own, every other line inside one attribute or blank or a ``#``/``//`` comment, each
    attribute on lines of its own and parsing alone to exactly its name, no name twice. Anything else
    (a syntax error included: its message and place come from the whole block) is parsed whole.
    """
    if block.kind == "locals" and block.closed:
        conf = _locals_piecewise(block)
        if conf is not None:
            return ParsedBlock(block, conf, None)
    return parse_block(block, path)


def _locals_piecewise(block: Block) -> dict[str, Any] | None:
    lines = block.text.split("\n")
    if len(lines) < 3 or lines[0].strip() != "locals {" or lines[-1].strip() != "}":
        return None
    first = block.first_line
    covered = [False] * len(lines)
    merged: dict[str, Any] = {}
    previous_end = 0
    for it in block.items:
        if len(it.path) != 1:
            continue  # inside a value (an object's keys)
        if it.is_block:
            return None
        start, end = it.span.start.line - first, it.span.end.line - first
        if not previous_end < start <= end < len(lines) - 1:
            return None
        if lines[start][:it.span.start.character].strip():
            return None  # something before the name on its line
        rest = lines[end][it.span.end.character:].strip()
        if rest and not rest.startswith(_COMMENT_ONLY):
            return None  # something after the value on its line
        conf, err = _parse_text("locals {\n" + "\n".join(lines[start:end + 1]) + "\n}")
        if err is not None or conf is None:
            return None
        body = conf.get("locals")
        if not isinstance(body, list) or len(body) != 1 or not isinstance(body[0], dict):
            return None
        names = [k for k in body[0] if k not in ("__start_line__", "__end_line__")]
        name = it.path[0]
        if names != [name] or name in merged:
            return None
        merged[name] = body[0][name]
        for k in range(start, end + 1):
            covered[k] = True
        previous_end = end
    for k in range(1, len(lines) - 1):
        if not covered[k] and lines[k].strip() and not lines[k].strip().startswith(_COMMENT_ONLY):
            return None  # text no attribute accounts for: the whole block says what it is
    merged["__start_line__"] = 1
    merged["__end_line__"] = len(lines)
    shifted: dict[str, Any] = _shift_lines({"locals": [merged]}, block.span.start.line)
    return shifted


def _with_assignments(ctx: ModuleContext, parts: list[dict], assigned: list[dict]) -> ModuleContext:
    """``ctx`` with the variables files' values over the defaults, for the module's declared variables."""
    declared = {name for conf in parts for var in (conf.get("variable") or []) if isinstance(var, dict)
                for name in var}
    variables = dict(ctx.variables)
    for conf in assigned:
        for name, value in conf.items():
            if name in declared:
                variables[name] = value[0] if isinstance(value, list) and len(value) == 1 else value
    return ModuleContext(variables=variables, locals=ctx.locals)


class Index:
    """Parse state of the files of one engine, their modules and the Checkov configuration per folder."""

    def __init__(self, texts: Texts, lock: threading.RLock, root: str | None, *,
                 var_files: Callable[[str], tuple[str, ...]] | None = None,
                 checkov_overrides: CheckovOverrides | None = None) -> None:
        self.texts = texts
        self.root = root
        self._lock = lock
        self._files: dict[str, FileState] = {}
        self._contexts: dict[str, tuple[tuple[int, ...], list[dict], ModuleContext]] = {}
        # file -> (text, split, blocks parsed by (text, column), blocks by kinds asked) for files read only
        # in part (blocks_of)
        self._partial: dict[str, tuple[str, SplitFile, dict[tuple[str, int], ParsedBlock],
                                       dict[frozenset[str], list[ParsedBlock]]]] = {}
        # module dir -> (the context, its symbol inputs, the value digests by id of the value object)
        self._inputs: dict[str, tuple[ModuleContext, dict[str, str], dict[int, tuple[Any, str, frozenset[str]]]]] = {}
        self._config_problems: list[Problem] = []
        # .checkov.yaml path -> the problems its last reading recorded (dropped when the file is read again)
        self._read_problems: dict[str, list[Problem]] = {}
        self._checkov_configs: dict[str, tuple[tuple[int, int], CheckovConfig]] = {}  # by (mtime, size)
        # the variables files (Checkov's --var-file) in force for a module folder (the engine's rule)
        self.var_files: Callable[[str], tuple[str, ...]] = var_files or (lambda _d: ())
        # Checkov's command-line options (tfguard scan --check, --config-file …), None: the files alone
        self.checkov_overrides = checkov_overrides
        self._batch = threading.local()  # .reads / .files: path -> text read, folder -> files, in batch()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Within this block (and this thread), each file is read and each folder listed once.

        One tier-1 analysis asks for the module's other files several times (module context, structure,
        the rules' sibling blocks, once per finding); outside a batch each ask reads the disk again.
        """
        if getattr(self._batch, "reads", None) is not None:
            yield
            return
        self._batch.reads = {}
        self._batch.files = {}
        try:
            yield
        finally:
            self._batch.reads = None
            self._batch.files = None

    def _read(self, path: str) -> tuple[str | None, Problem | None]:
        """``texts.read`` of an absolute path (once per :meth:`batch`)."""
        memo: dict[str, tuple[str | None, Problem | None]] | None = getattr(self._batch, "reads", None)
        if memo is None:
            return self.texts.read(path)
        got = memo.get(path)
        if got is None:
            got = memo[path] = self.texts.read(path)
        return got

    # ------------------------------------------------------------- files
    def forget(self, path: str) -> None:
        """Drop the parse state of ``path`` (it changed or vanished on disk)."""
        p = os.path.abspath(path)
        with self._lock:
            self._files.pop(p, None)
            self._partial.pop(p, None)

    def state(self, path: str) -> FileState:
        """Split and parse ``path`` (only blocks whose text changed are parsed again)."""
        path = os.path.abspath(path)
        text, problem = self._read(path)
        if text is None:
            assert problem is not None
            overlay = self.texts.overlay(path)  # an unsaved text over the size limit: its digest (LSP)
            st = FileState(path, "", text_digest(overlay if overlay is not None else ""), split_blocks(""), [],
                           read_problem=problem)
            with self._lock:
                self._files[path] = st
            return st
        with self._lock:
            old = self._files.get(path)
        if old is not None and old.text is text:  # the very string it was made of (a batch's read): not hashed again
            return old
        digest = text_digest(text)
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
            with self._lock:
                part = self._partial.pop(path, None)
            if part is not None:  # blocks parsed for another file's context (blocks_of): the same confs
                for k, pb in part[2].items():
                    previous.setdefault(k, pb)
            parsed = []
            for b in split.blocks:
                prev = previous.get((b.text, b.base_span.start.character))
                if prev is None:
                    parsed.append(parse_piecewise(b, path))
                else:
                    parsed.append(prev if prev.block is b else prev.moved_to(b))
            st = FileState(path, text, digest, split, parsed)
        with self._lock:
            self._files[path] = st
        return st

    def blocks_of(self, path: str, kinds: frozenset[str]) -> list[ParsedBlock] | None:
        """The parsed blocks of ``kinds`` in ``path``'s current text, parsing no other block (None: a
        ``.json`` file or an unreadable one; use :meth:`state`). From the file's full state when it is
        current; else only those blocks are parsed (module context and structure read a module's other
        files this way: ``outputs.tf``'s blocks are not parsed to find the variables).

        The blocks parsed are kept by text: the full state, when it comes, reuses them (the same
        confs, so the module context does not change identity)."""
        path = os.path.abspath(path)
        if path.endswith(".json"):
            return None
        with self._lock:
            full = self._files.get(path)
            part = self._partial.get(path)
        text, _problem = self._read(path)
        if text is None:
            return None
        # texts are compared, not digested: equal texts compare in C at memory speed
        if full is not None and not full.is_json and (full.text is text or full.text == text):
            return [pb for pb in full.parsed if pb.block.kind in kinds]
        same = part is not None and (part[0] is text or part[0] == text)
        if part is not None and same:
            hit = part[3].get(kinds)
            if hit is not None:
                return hit
            split, known = part[1], part[2]
        else:
            split = resplit(part[1], text) if part is not None else split_blocks(text)
            known = dict(part[2]) if part is not None else {}
        out: list[ParsedBlock] = []
        changed = False
        for b in split.blocks:
            if b.kind not in kinds:
                continue
            k = (b.text, b.base_span.start.character)
            prev = known.get(k)
            if prev is None:
                prev = parse_piecewise(b, path)
                known[k] = prev
                changed = True
            pb = prev if prev.block is b else prev.moved_to(b)
            if pb is not prev:
                known[k] = pb
                changed = True
            out.append(pb)
        outs = dict(part[3]) if part is not None and same and not changed else {}
        outs[kinds] = out
        live = {(b.text, b.base_span.start.character) for b in split.blocks}
        with self._lock:
            self._partial[path] = (text, split, {k: v for k, v in known.items() if k in live}, outs)
        return out

    def cached_state(self, path: str) -> FileState:
        """The last parse state of ``path`` if there is one (not re-read), else :meth:`state`."""
        with self._lock:
            st = self._files.get(os.path.abspath(path))
        return st if st is not None else self.state(path)

    # ----------------------------------------------------------- modules
    def all_module_files(self, module_dir: str) -> list[str]:
        """Every Terraform and OpenTofu file of a module directory, on disk plus unsaved ones, sorted
        (overridden ones included: see :meth:`module_files`)."""
        module_dir = os.path.abspath(module_dir)
        memo: dict[str, list[str]] | None = getattr(self._batch, "files", None)
        if memo is not None and module_dir in memo:
            return list(memo[module_dir])
        files: set[str] = set()
        try:
            for entry in os.scandir(module_dir):
                # a FIFO, device or dangling link named *.tf is a file of the module too: read_disk says
                # why it is not read (a located problem), never a hang (tfguard.files.read_regular)
                if is_terraform_file(entry.name) and not entry.is_dir():
                    files.add(entry.path)
        except OSError:
            pass
        files.update(self.texts.overlaid_in(module_dir))
        out = sorted(files)
        if memo is not None:
            memo[module_dir] = out
        return list(out)

    def module_files(self, module_dir: str) -> list[str]:
        """The files of a module directory that OpenTofu and Terraform read: on disk plus unsaved ones,
        sorted, without an ``x.tf`` that an ``x.tofu`` beside it overrides (:meth:`overridden`)."""
        files = self.all_module_files(module_dir)
        hidden = tofu_overridden(files)
        return [f for f in files if f not in hidden] if hidden else files

    def overridden(self, module_dir: str) -> dict[str, str]:
        """The files of a module directory OpenTofu ignores, each with the ``.tofu`` file overriding it."""
        return tofu_overridden(self.all_module_files(module_dir))

    def overriding(self, path: str) -> str | None:
        """The OpenTofu file (on disk or unsaved) that overrides ``path``, if one does."""
        alt = tofu_alternative(os.path.abspath(path))
        if alt is None:
            return None
        return alt if self.texts.has_overlay(alt) or os.path.isfile(alt) else None

    def module_context(self, module_dir: str) -> ModuleContext:
        """Variable defaults and locals of a module. Only ``variable``/``locals`` blocks matter: while
        those parsed confs are the same objects (no such block changed), the same context is returned,
        so its digest is not recomputed on every keystroke."""
        parts: list[dict] = []
        for f in self.module_files(module_dir):
            got = self.blocks_of(f, _CONTEXT_KINDS)
            if got is None:
                st = self.state(f)
                if st.is_json and st.json_conf:
                    parts.append(st.json_conf)
                continue
            parts.extend(c for pb in got if (c := pb.content_conf))
        assigned: list[dict] = []  # the variables files' assignments, in order (a later file wins)
        for vf in dict.fromkeys((*self.auto_var_files(module_dir), *self.var_files(module_dir))):
            vst = self.state(vf)
            if vst.is_json:
                if isinstance(vst.json_conf, dict):
                    assigned.append(vst.json_conf)
            else:
                assigned.extend(c for pb in vst.parsed if pb.block.kind == "attribute" and (c := pb.content_conf))
        key = tuple(map(id, parts)) + (-1,) + tuple(map(id, assigned))
        with self._lock:
            hit = self._contexts.get(module_dir)
            if hit is not None and hit[0] == key:
                return hit[2]
        ctx = module_context_from_confs(parts)
        if assigned:
            ctx = _with_assignments(ctx, parts, assigned)
        with self._lock:
            self._contexts[module_dir] = (key, parts + assigned, ctx)  # holds the confs: their ids stay unique
        return ctx

    def auto_var_files(self, module_dir: str) -> list[str]:
        """The variables files Terraform and Checkov load by themselves, in their order (a later one
        wins): ``terraform.tfvars``, ``terraform.tfvars.json``, then ``*.auto.tfvars(.json)`` by name."""
        module_dir = os.path.abspath(module_dir)
        names: set[str] = set()
        try:
            names.update(e.name for e in os.scandir(module_dir) if e.is_file())
        except OSError:
            pass
        names.update(os.path.basename(p) for p in self.texts.overlaid_in(module_dir))
        auto = sorted(n for n in names if n.endswith((".auto.tfvars", ".auto.tfvars.json")))
        return [os.path.join(module_dir, n) for n in ("terraform.tfvars", "terraform.tfvars.json", *auto)
                if n in names]

    def symbol_inputs(self, module_dir: str, ctx: ModuleContext) -> dict[str, str]:
        """For every variable and local of the module (``var.x``, ``local.y``), a digest of the value tier 1
        substitutes for it *and of every value that one refers to, transitively* (local -> local -> var).

        A block's tier-1 result depends on its own value and on these for the symbols it references
        (:meth:`ParsedBlock.references`): when none of those digests changed, neither did the result.
        Computed once per module context (``ctx`` is a new object only when a variable, a ``locals``
        block or a variables file changed value or moved), and per value object: an edit of one local
        digests that local again, not the module's other values.
        """
        with self._lock:
            hit = self._inputs.get(module_dir)
        if hit is not None and hit[0] is ctx:
            return hit[1]
        old_values = hit[2] if hit is not None else {}
        values: dict[int, tuple[Any, str, frozenset[str]]] = {}  # id(value) -> (value, digest, references)

        def own(value: Any) -> tuple[str, frozenset[str]]:
            got = values.get(id(value)) or old_values.get(id(value))
            if got is None or got[0] is not value:
                got = (value, value_digest(value), frozenset(r for r in references_in(value)
                                                            if r.startswith(("var.", "local."))))
            values[id(value)] = got
            return got[1], got[2]

        raw: dict[str, tuple[str, frozenset[str]]] = {}
        for name, value in ctx.variables.items():
            raw[f"var.{name}"] = own(value)
        for name, value in ctx.locals.items():
            raw[f"local.{name}"] = own(value)
        tokens: dict[str, str] = {}
        visiting: set[str] = set()

        def token(sym: str) -> str:
            got = tokens.get(sym)
            if got is not None:
                return got
            entry = raw.get(sym)
            if entry is None:
                return "-"  # not defined: rendered as the reference text itself
            if sym in visiting:
                return "cycle:" + entry[0]  # a reference cycle: Terraform refuses it; its own value stands
            visiting.add(sym)
            parts = [entry[0]] + [f"{r}={token(r)}" for r in sorted(entry[1])]
            visiting.discard(sym)
            got = text_digest("|".join(parts)) if entry[1] else entry[0]
            tokens[sym] = got
            return got

        for sym in raw:
            token(sym)
        with self._lock:
            self._inputs[module_dir] = (ctx, tokens, values)
        return tokens

    def module_structure(self, module_dir: str) -> str:
        """Digest of what rules read beyond their own block (:data:`MODULE_WIDE_KINDS` blocks of every file
        of the module, in order, by value): the provider's ``default_tags`` (TFG_TAG_1), the terraform
        block's ``required_version`` (TFG_PROV_2). Whitespace or comments there change nothing."""
        parts = []
        for f in self.module_files(module_dir):
            got = self.blocks_of(f, MODULE_WIDE_KINDS)
            if got is None:
                continue  # JSON: rules read HCL blocks only
            own = [f]
            for pb in got:
                b = pb.block
                own.append("/".join((b.kind, *b.labels)))
                own.append(pb.value or "broken:" + text_digest(b.text))
            parts.append("|".join(own))
        return text_digest("||".join(parts))

    def dependencies(self, module_dir: str) -> DependencyGraph:
        """Which blocks of the module define and reference which symbols (see :class:`DependencyGraph`)."""
        defines: dict[str, list[tuple[str, ParsedBlock]]] = {}
        refs: list[tuple[str, ParsedBlock]] = []
        for f in self.module_files(module_dir):
            st = self.cached_state(f)
            for pb in st.parsed:
                for sym in definitions(pb.block.kind, pb.block.labels, pb.content_conf):
                    defines.setdefault(sym, []).append((f, pb))
                refs.append((f, pb))
        return DependencyGraph(defines, refs)

    # ----------------------------------------------------- configuration
    def checkov_config(self, module_dir: str) -> CheckovConfig:
        """The ``.checkov.yaml`` in force for ``module_dir`` (searched upwards to the root); problems recorded."""
        ov = self.checkov_overrides
        if ov is not None:
            return ov.apply(self._checkov_file_config(module_dir, ov.config_file))
        return self._checkov_file_config(module_dir, None)

    def _checkov_file_config(self, module_dir: str, explicit: str | None) -> CheckovConfig:
        path = explicit or find_upwards(module_dir, CHECKOV_CONFIG_NAMES, self.root)
        if path is None:
            return CheckovConfig()
        try:
            st = os.stat(path)
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        with self._lock:
            hit = self._checkov_configs.get(path)
        if hit is not None and stamp is not None and hit[0] == stamp:
            return hit[1]  # its problems were recorded when it was read
        read: list[Problem] = []  # what this reading finds replaces what the file's earlier text gave
        try:
            cfg = load_checkov_config(path)
        except ConfigError as e:
            read.append(Problem(e.path, Span(Position(e.line, e.column), Position(e.line, e.column + 1)), e.message,
                                "config"))
            self._replace_read_problems(path, read)
            return CheckovConfig()
        for line, message in cfg.refused:  # options that would run workspace code or reach the network
            read.append(Problem(path, Span.of(line, 0, line, 1), message, "config", Severity.INFO))
        for line, message, severity in cfg.ignored:  # every other option tfguard does not apply: never dropped
            read.append(Problem(path, Span.of(line, 0, line, 1), message, "config", severity))
        self._replace_read_problems(path, read)
        if stamp is not None:
            with self._lock:
                if len(self._checkov_configs) >= MAX_CONFIG_PROBLEMS:
                    self._checkov_configs.clear()
                self._checkov_configs[path] = (stamp, cfg)
        return cfg

    @property
    def config_problems(self) -> list[Problem]:
        """Configuration problems seen so far (each once, at most :data:`MAX_CONFIG_PROBLEMS`), a copy; those of
        a ``.checkov.yaml`` that is no longer there are gone."""
        with self._lock:
            gone = [path for path in self._read_problems if not os.path.isfile(path)]
        for path in gone:
            self._replace_read_problems(path, [])
        with self._lock:
            return list(self._config_problems)

    def _replace_read_problems(self, path: str, problems: list[Problem]) -> None:
        """The problems of reading ``path`` now, in place of its earlier reading's (a mended file loses them)."""
        with self._lock:
            for old in self._read_problems.pop(path, []):
                if old not in problems and old in self._config_problems:
                    self._config_problems.remove(old)
            if problems:
                self._read_problems[path] = problems
            if len(self._read_problems) > MAX_CONFIG_PROBLEMS:
                self._read_problems.pop(next(iter(self._read_problems)))
        for problem in problems:
            self._config_problem(problem)

    def record_config_problem(self, problem: Problem) -> None:
        """Record a configuration problem found elsewhere (a policy folder tier 2 refused), once."""
        self._config_problem(problem)

    def _config_problem(self, problem: Problem) -> None:
        """Record a configuration problem once (it is looked up on every analysis)."""
        with self._lock:
            if problem in self._config_problems:
                return
            if len(self._config_problems) >= MAX_CONFIG_PROBLEMS:
                del self._config_problems[0]
            self._config_problems.append(problem)
        log.warning("%s: %s", problem.file, problem.message)
