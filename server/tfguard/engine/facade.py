"""The engine facade: one object per workspace (or CLI run) composed of texts, index, tier 1, tier 2, pipeline.

One engine serves the language server, the CLI and CI. Nothing in :mod:`tfguard.engine` imports
pygls, lsprotocol, the rules, the CLI or the scan package. Text is addressed by absolute path;
unsaved text is an *overlay* that wins over the disk.

Threads. The language server calls an engine from four kinds of threads:

- the **event loop** sets and drops overlays (:meth:`Engine.set_overlay`, :meth:`Engine.drop_overlay`),
  forgets files (:meth:`Engine.forget`), invalidates the configuration, reads texts
  (:meth:`Engine.read`) and configuration problems; code actions also read parse state
  (:meth:`Engine.state`, :meth:`Engine.module_files`), which may parse a file not parsed yet. It
  never runs Checkov;
- the **tier-1 executor thread** runs :meth:`Engine.analyze_file`: parse state, module contexts and
  structure digests, per-block and last results (read and written), tier-2 snapshots and budget
  notices (read);
- the **tier-2 executor thread** runs :meth:`Engine.analyze_module_bounded`: it waits for its
  budget thread, sets or clears budget notices, and past the budget falls back to tier 1 (as
  the tier-1 thread does);
- **budget threads** (one per bounded run, daemon) run :meth:`Engine.analyze_module`: parse state,
  the scratch mirror, Checkov, tier-2 snapshots (written). A run past its budget keeps going there
  while the process-wide busy state (``tier2.BUSY``, its own small lock) makes every other bounded
  run, in any engine, answer with tier 1 at once.

One ``threading.RLock`` per engine (``Engine.lock``, created by the facade and handed to every part)
guards all shared mutable state: overlays, file states, module contexts and structure digests,
configuration problems, graph snapshots and their generations, per-block and last results, budget
notices. Every read or write of that state takes it; it is held only to read or replace an entry,
never while parsing or running Checkov. What is read under it is immutable or replaced whole, never
mutated in place (file states are frozen, a file's last results and snapshot are new objects on each
analysis), so the work done on it needs no lock. The scratch mirror has its own lock (one tier-2 run
writes it at a time); Checkov's run lock (``checks.checkov_env.run_lock``) is only ever taken inside
it, never the other way round, and never while holding the engine lock.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

from tfguard.calls import CallIndex
from tfguard.checks.entity import CheckSelection, ModuleContext
from tfguard.checks.graph import GraphRecord, GraphRun, RunSpec
from tfguard.config.checkov import CheckovConfig, CheckovOverrides
from tfguard.config.paths import excluded_by_glob, skipped_by_checkov
from tfguard.config.tfguard import ConfigResolver
from tfguard.engine.index import FileState, Index
from tfguard.engine.pipeline import BlockRule, FindingHook, Pipeline
from tfguard.engine.texts import Texts
from tfguard.engine.tier1 import FileAnalysis, Tier1
from tfguard.engine.tier2 import BUSY, DEFAULT_MODULE_TIME_BUDGET, Tier2, UnitArgs, records_to_findings
from tfguard.files import DEFAULT_MAX_FILE_BYTES
from tfguard.model import Finding, Problem

log = logging.getLogger(__name__)


def _no_policy_dirs(module_dir: str) -> tuple[str, ...]:
    return ()


class Engine:
    """Incremental analysis state for one workspace (or one CLI run); everything fixed at construction.

    ``extra_policy_dirs(module_dir)`` gives policy directories beyond ``.checkov.yaml``'s
    ``external-checks-dir`` (``.tfguard.yaml``); ``configs`` is the ``.tfguard.yaml`` resolver
    (:class:`~tfguard.config.tfguard.ConfigResolver`; the scan and the language server use it);
    ``python_checks_loaded`` says Python custom checks were loaded into Checkov (they are code: a scan
    is then never answered from the cache).
    """

    def __init__(
        self,
        root: str | None = None,
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        module_time_budget: float | None = DEFAULT_MODULE_TIME_BUDGET,
        block_rules: Sequence[BlockRule] = (),
        finding_hook: FindingHook | None = None,
        extra_policy_dirs: Callable[[str], tuple[str, ...]] | None = None,
        configs: ConfigResolver | None = None,
        python_checks_loaded: bool = False,
        config_root: str | None = None,
        var_files: Sequence[str] | None = None,
        skip_paths: Sequence[str] | None = None,
        checkov_overrides: CheckovOverrides | None = None,
    ) -> None:
        self.root = os.path.abspath(root) if root else None
        # where configuration is looked up to (files.repository_root); the workspace or scan root by default
        self.config_root = os.path.abspath(config_root) if config_root else self.root
        self.lock = threading.RLock()
        self.configs = configs
        self.python_checks_loaded = python_checks_loaded
        self.extra_policy_dirs = extra_policy_dirs or _no_policy_dirs
        # configuration problems of the latest full check's scan plan (a check id of .checkov.yaml that matches
        # no check): replaced by each full check, so a mended file loses them (see scan/live.py)
        self.scan_config_problems: tuple[Problem, ...] = ()
        # the command line's --var-file / --skip-path: when given, they replace .checkov.yaml's (as in Checkov)
        self.var_files_override = tuple(os.path.abspath(f) for f in var_files) if var_files is not None else None
        self.skip_paths_override = tuple(skip_paths) if skip_paths is not None else None
        self.pipeline = Pipeline(block_rules, finding_hook)
        self.texts = Texts(self.lock, max_file_bytes)
        # tier 1's module context applies the var files too
        self.index = Index(self.texts, self.lock, self.config_root, var_files=self.var_files_for,
                           checkov_overrides=checkov_overrides)
        self.tier1 = Tier1(self.index, self.pipeline, self.lock, self.root)
        self.tier2 = Tier2(self.index, self.tier1, self.pipeline, self.lock, self.root, self.extra_policy_dirs,
                           module_time_budget, var_files=self.var_files_for, excluded=self.excluded)
        # who calls a local module: the callers of module-instance records that name none (walked on demand)
        self.calls = CallIndex(self.config_root, overlays=self.texts.overlays) if self.config_root else None
        self.tier2.calls = self.calls

    # ------------------------------------------------------------ settings
    @property
    def max_file_bytes(self) -> int:
        """Files (and unsaved texts) larger than this are not analysed."""
        return self.texts.max_file_bytes

    @property
    def module_time_budget(self) -> float | None:
        """Seconds one tier-2 run may take before tier 1 stands in (None: unbounded)."""
        return self.tier2.budget

    def invalidate_configuration(self) -> None:
        """Configuration changed (``.tfguard.yaml``, catalogue): cached per-block results are stale."""
        self.tier1.invalidate()

    # ---------------------------------------------------------------- text
    def set_overlay(self, path: str, text: str) -> None:
        """Unsaved text of an open document; wins over the disk."""
        self.texts.set_overlay(path, text)

    def drop_overlay(self, path: str) -> None:
        """Forget the unsaved text of ``path``."""
        self.texts.drop_overlay(path)

    def has_overlay(self, path: str) -> bool:
        """True while ``path`` has unsaved text."""
        return self.texts.has_overlay(path)

    def overlays(self) -> dict[str, str]:
        """A copy of every unsaved text."""
        return self.texts.overlays()

    def read(self, path: str) -> tuple[str | None, Problem | None]:
        """Current text of ``path``: the overlay, else the disk; or a problem saying why not."""
        return self.texts.read(path)

    def forget(self, path: str) -> None:
        """Drop what is cached about a file (it changed or vanished on disk)."""
        self.index.forget(path)
        self.tier1.forget(path)

    # --------------------------------------------------------------- index
    def state(self, path: str) -> FileState:
        """Split and parse ``path`` (only blocks whose text changed are parsed again)."""
        return self.index.state(path)

    def module_files(self, module_dir: str) -> list[str]:
        """Terraform and OpenTofu files of a module directory (on disk plus unsaved ones, sorted) that
        OpenTofu reads: without an ``x.tf`` overridden by ``x.tofu``."""
        return self.index.module_files(module_dir)

    def overriding(self, path: str) -> str | None:
        """The OpenTofu file overriding ``path`` (``x.tofu`` beside ``x.tf``), if one does."""
        return self.index.overriding(path)

    def module_context(self, module_dir: str) -> ModuleContext:
        """Variable defaults and locals of a module."""
        return self.index.module_context(module_dir)

    def checkov_config(self, module_dir: str) -> CheckovConfig:
        """The ``.checkov.yaml`` in force for ``module_dir``."""
        return self.index.checkov_config(module_dir)

    def var_files_for(self, module_dir: str) -> tuple[str, ...]:
        """Checkov ``--var-file``s for a run on ``module_dir``, in order (a later file wins on a variable).

        The command line's ``--var-file`` when given (it replaces ``.checkov.yaml``'s, as in Checkov);
        else ``.checkov.yaml``'s ``var-file`` then the ``.tfguard.yaml`` ``var_files`` in force for the folder.
        """
        if self.var_files_override is not None:
            return self.var_files_override
        files = list(self.checkov_config(module_dir).var_files)
        if self.configs is not None:
            files.extend(f for f in self.configs.config_for(module_dir).var_files if f not in files)
        return tuple(files)

    def skip_paths_for(self, directory: str, walk_root: str | None = None) -> tuple[tuple[str, ...], str]:
        """(Checkov ``--skip-path`` patterns, the folder Checkov's walk starts at) for ``directory``.

        The command line's ``--skip-path`` (walk root: ``walk_root``, else the engine's root) when given,
        else the ``skip-path`` of the ``.checkov.yaml`` in force (walk root: ``walk_root``, else that file's
        folder, where ``checkov -d`` finds it).
        """
        if self.skip_paths_override is not None:
            return self.skip_paths_override, walk_root or self.root or directory
        cfg = self.checkov_config(directory)
        if not cfg.skip_paths:
            return (), walk_root or directory
        return cfg.skip_paths, walk_root or (os.path.dirname(cfg.path) if cfg.path else directory)

    def excluded(self, path: str, walk_root: str | None = None) -> bool:
        """True when ``path`` is left out of every analysis: ``.tfguard.yaml`` ``exclude`` globs (relative to
        the repository root) or Checkov's skip-path patterns (see :mod:`tfguard.config.paths`)."""
        p = os.path.abspath(path)
        if self.excluded_by_config(p):
            return True
        skip, root = self.skip_paths_for(os.path.dirname(p), walk_root)
        return skipped_by_checkov(p, skip, root)

    def excluded_by_config(self, path: str) -> bool:
        """True when the ``.tfguard.yaml`` in force for ``path``'s folder excludes it (``exclude`` globs)."""
        if self.configs is None:
            return False
        p = os.path.abspath(path)
        patterns = self.configs.config_for(os.path.dirname(p)).exclude
        return bool(patterns) and excluded_by_glob(p, patterns, self.config_root)

    @property
    def config_problems(self) -> list[Problem]:
        """Problems of ``.checkov.yaml`` files seen so far (each once, bounded)."""
        return self.index.config_problems

    # --------------------------------------------------------------- tiers
    def analyze_file(self, path: str, with_rules: bool = True) -> FileAnalysis:
        """Tier 1 for one file (see :class:`tfguard.engine.tier1.Tier1`); nothing for an excluded file."""
        with self._configs_once():
            return self._analyze_file(path, with_rules)

    def _configs_once(self) -> AbstractContextManager[None]:
        """Each folder's .tfguard.yaml resolved once for the duration, not per rule, block and file."""
        return self.configs.batch() if self.configs is not None else nullcontext()

    def _analyze_file(self, path: str, with_rules: bool) -> FileAnalysis:
        if self.excluded(path):
            return FileAnalysis(path=os.path.abspath(path), digest=self.state(path).digest, tier=1)
        return self.tier1.analyze_file(path, with_rules)

    def analyze_module(self, module_dir: str) -> dict[str, FileAnalysis]:
        """Tier 2, unbounded: Checkov's full runner on the module's current text. Authoritative."""
        return self.tier2.analyze_module(module_dir)

    def analyze_module_bounded(self, module_dir: str, budget: float | None = None) -> dict[str, FileAnalysis]:
        """Tier 2 within the time budget (``budget``, else :attr:`module_time_budget`); past it, tier 1."""
        return self.tier2.analyze_module_bounded(module_dir, budget)

    def module_run(self, module_dir: str) -> GraphRun:
        """Checkov's run on the module's current text, blocks that do not parse masked out (see
        :meth:`tfguard.engine.tier2.Tier2.module_run`): its records, before rules and hook."""
        return self.tier2.module_run(module_dir)

    def mirror_held(self) -> AbstractContextManager[None]:
        """Hold the scratch mirror for a pass of prepared unit runs (:meth:`tfguard.engine.tier2.Tier2.mirror_held`)."""
        return self.tier2.mirror_held()

    def mirror_base(self, unit: UnitArgs) -> str:
        """The tree whose scratch mirror a unit's run reads (:meth:`tfguard.engine.tier2.Tier2.mirror_base`)."""
        return self.tier2.mirror_base(unit)

    def prepare_units(self, units: Sequence[UnitArgs], *, selection: CheckSelection,
                      policy_dirs: tuple[str, ...] = ()) -> list[RunSpec | Exception]:
        """Checkov's runs of ``tfguard scan`` units on the current text, unsaved included, made ready (see
        :meth:`tfguard.engine.tier2.Tier2.prepare_units`); inside :meth:`mirror_held`."""
        return self.tier2.prepare_units(units, selection=selection, policy_dirs=policy_dirs)

    def adopt_unit_runs(self, files: Sequence[str], runs: Sequence[GraphRun],
                        problems: Sequence[Problem] = ()) -> dict[str, FileAnalysis]:
        """Tier 2's result for ``files`` from the unit runs that read them, module-instance findings of every
        caller merged (see :meth:`tfguard.engine.tier2.Tier2.adopt_unit_runs`)."""
        with self._configs_once():
            return self.tier2.adopt_unit_runs(files, runs, problems)

    def close(self) -> None:
        """Release what the engine holds on disk (the scratch mirror). The engine stays usable."""
        self.tier2.close()

    def records_to_findings(self, recs: Sequence[GraphRecord], st: FileState | None) -> list[Finding]:
        """Findings of Checkov's records on one file (see :func:`tfguard.engine.tier2.records_to_findings`)."""
        return records_to_findings(recs, st)

    @staticmethod
    def wait_for_checkov(timeout: float | None = None) -> bool:
        """Wait until no tier-2 run of the process is past its budget; True when none is."""
        return BUSY.wait(timeout)
