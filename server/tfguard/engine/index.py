"""The per-file index: parse state of every file, module membership and context, Checkov configuration.

A file is split into top-level blocks and each block parsed on its own; an edit re-splits only
the edited region and re-parses only blocks whose text changed (:meth:`Index.state`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

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
from tfguard.hcl.blocks import SplitFile, resplit, split_blocks
from tfguard.hcl.parse import ParsedBlock, load_json_text, parse_block
from tfguard.model import Position, Problem, Severity, Span

log = logging.getLogger(__name__)

MAX_CONFIG_PROBLEMS = 200  # bounded: a pathological configuration cannot grow the list forever
OVERRIDDEN = "overridden"  # Problem code: an x.tf that OpenTofu ignores because x.tofu is beside it


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
        self._structures: dict[str, tuple[list[ParsedBlock], str]] = {}  # file -> (its parsed blocks, part)
        self._config_problems: list[Problem] = []
        self._checkov_configs: dict[str, tuple[tuple[int, int], CheckovConfig]] = {}  # by (mtime, size)
        # the variables files (Checkov's --var-file) in force for a module folder (the engine's rule)
        self.var_files: Callable[[str], tuple[str, ...]] = var_files or (lambda _d: ())
        # Checkov's command-line options (tfguard scan --check, --config-file …), None: the files alone
        self.checkov_overrides = checkov_overrides

    # ------------------------------------------------------------- files
    def forget(self, path: str) -> None:
        """Drop the parse state of ``path`` (it changed or vanished on disk)."""
        p = os.path.abspath(path)
        with self._lock:
            self._files.pop(p, None)
            self._structures.pop(p, None)

    def state(self, path: str) -> FileState:
        """Split and parse ``path`` (only blocks whose text changed are parsed again)."""
        path = os.path.abspath(path)
        text, problem = self.texts.read(path)
        if text is None:
            assert problem is not None
            overlay = self.texts.overlay(path)  # an unsaved text over the size limit: its digest (LSP)
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
        files: set[str] = set()
        try:
            for entry in os.scandir(module_dir):
                if entry.is_file() and is_terraform_file(entry.name):
                    files.add(entry.path)
        except OSError:
            pass
        files.update(self.texts.overlaid_in(module_dir))
        return sorted(files)

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
            st = self.state(f)
            if st.is_json:
                if st.json_conf:
                    parts.append(st.json_conf)
            else:
                parts.extend(c for pb in st.parsed
                             if pb.block.kind in ("variable", "locals") and (c := pb.content_conf))
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

    def module_structure(self, module_dir: str, ctx: ModuleContext) -> str:
        """Digest of what rules may read beyond a block: variables/locals, and the module's non-resource blocks."""
        parts = [ctx.digest]
        for f in self.module_files(module_dir):
            st = self.cached_state(f)
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
        for line, message, severity in cfg.ignored:  # every other option tfguard does not apply: never dropped
            self._config_problem(Problem(path, Span.of(line, 0, line, 1), message, "config", severity))
        if stamp is not None:
            with self._lock:
                if len(self._checkov_configs) >= MAX_CONFIG_PROBLEMS:
                    self._checkov_configs.clear()
                self._checkov_configs[path] = (stamp, cfg)
        return cfg

    @property
    def config_problems(self) -> list[Problem]:
        """Configuration problems seen so far (each once, at most :data:`MAX_CONFIG_PROBLEMS`), a copy."""
        with self._lock:
            return list(self._config_problems)

    def _config_problem(self, problem: Problem) -> None:
        """Record a configuration problem once (it is looked up on every analysis)."""
        with self._lock:
            if problem in self._config_problems:
                return
            if len(self._config_problems) >= MAX_CONFIG_PROBLEMS:
                del self._config_problems[0]
            self._config_problems.append(problem)
        log.warning("%s: %s", problem.file, problem.message)
