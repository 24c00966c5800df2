"""Wiring: build an :class:`~tfguard.engine.Engine` with tfguard's rules, configuration and ranking.

Shared by the CLI and the language server so both report the same findings. What the language
server calls besides :func:`make_engine`:

- ``engine.configs`` (:class:`~tfguard.config.tfguard.ConfigResolver`): ``problems()`` gives located
  errors of invalid ``.tfguard.yaml`` / catalogue files (publish them as diagnostics on those
  files; the previous valid configuration stays in force); ``set_text(path, text)`` for an unsaved
  ``.tfguard.yaml``, ``invalidate(path)`` when one changes on disk, then re-analyse.
- :func:`config_for` (effective configuration of a file: ``minimum_severity`` etc.).
- :func:`is_config_file` to route ``.tfguard.yaml`` / catalogue edits.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from cachetools import LRUCache

from tfguard.calls import CallIndex
from tfguard.checks.entity import render_conf
from tfguard.config.checkov import CheckovOverrides, ConfigError
from tfguard.config.tfguard import CONFIG_NAMES, ConfigResolver, TfguardConfig, load_config_file
from tfguard.engine import DEFAULT_MODULE_TIME_BUDGET, BlockContext, Engine
from tfguard.explain import Explainer
from tfguard.files import DEFAULT_MAX_FILE_BYTES, repository_root
from tfguard.hcl.blocks import Block
from tfguard.model import Explained, Finding, Result
from tfguard.owners import Owners
from tfguard.priority import BlastRadius, assess, match_environment
from tfguard.reach import SG_KEYS, Resources, reach
from tfguard.rules import build_rules
from tfguard.rules.base import RuleEnv, conf_body
from tfguard.rules.policies import PolicyMeta, read_policy_metadata
from tfguard.severity import guideline_for, severity_for

log = logging.getLogger(__name__)


def describe(finding: Finding) -> str:
    """The diagnostic message: what is wrong, on what."""
    return f"{finding.check_name} ({finding.resource})"


def is_config_file(path: str) -> bool:
    """True for a ``.tfguard.yaml`` (the LSP re-reads configuration when one changes)."""
    return os.path.basename(path) in CONFIG_NAMES


def config_for(engine: Engine, path: str) -> TfguardConfig:
    """The effective ``.tfguard.yaml`` configuration for a file of ``engine``'s workspace."""
    if engine.configs is None:
        return TfguardConfig()
    return engine.configs.config_for(path)


def _resource_body(ctx: BlockContext | None) -> dict[str, Any] | None:
    if ctx is None or ctx.conf is None:
        return None
    got = conf_body(ctx.block.kind, ctx.conf)
    return got[2] if got is not None else None


def _evaluated(body: dict[str, Any], ctx: BlockContext, explained: tuple[Explained, ...]) -> dict[str, Any]:
    """``body`` with variable defaults and locals substituted (tier 1's rendering), then the values
    :mod:`tfguard.explain` found for the keys the check read (variables files, module inputs)."""
    out = render_conf(body, ctx.module)
    for e in explained:
        if "/" not in e.key and e.expression == _expression_of(body.get(e.key)):
            try:
                out = {**out, e.key: [json.loads(e.value)]}
            except ValueError:
                continue
    return out


def _expression_of(raw: Any) -> str | None:
    value = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return value[2:-1]
    return None


def _may_be_reached(rtype: str, body: dict[str, Any] | None) -> bool:
    """Whether another block can open this resource (:mod:`tfguard.reach`): a bucket, an instance, or a
    resource naming security groups."""
    return body is not None and (rtype in ("aws_s3_bucket", "aws_instance") or any(k in body for k in SG_KEYS))


def make_engine(
    root: str,
    config_file: str | None = None,
    max_file_bytes: int | None = None,
    python_check_dirs: Sequence[str] = (),
    module_time_budget: float | None = DEFAULT_MODULE_TIME_BUDGET,
    repo_root: str | None = None,
    var_files: Sequence[str] | None = None,
    skip_paths: Sequence[str] | None = None,
    checkov_overrides: CheckovOverrides | None = None,
) -> Engine:
    """An engine for the workspace or scan root ``root``.

    ``repo_root`` is the root configuration files are found up to and environment patterns are matched
    against (:func:`tfguard.files.repository_root`: the CLI passes its working directory as the fallback);
    by default the git work tree's top above ``root``, else ``root`` itself.

    ``config_file`` is ``--config`` (highest precedence; raises ValueError with its location when it
    is missing or invalid). ``python_check_dirs`` are Python custom-check directories the *user*
    opted into (CLI ``--allow-python-checks`` or a user setting), never read from the workspace.
    ``module_time_budget``: seconds a tier-2 run may take (None: unbounded). ``var_files`` / ``skip_paths``
    are the command line's ``--var-file`` / ``--skip-path`` (None: ``.checkov.yaml``'s, as in Checkov);
    ``checkov_overrides`` its other Checkov options (``--check``, ``--config-file`` …).
    """
    return _build(root, config_file, max_file_bytes, python_check_dirs, module_time_budget, repo_root, ranked=True,
                  var_files=var_files, skip_paths=skip_paths, checkov_overrides=checkov_overrides)


def make_verdict_engine(root: str, config_file: str | None = None, repo_root: str | None = None) -> Engine:
    """An engine like :func:`make_engine`'s without the finding hook: findings as Checkov and the rules
    give them, nothing dropped or ranked (``tfguard suppressions --stale`` judges Checkov's verdict)."""
    return _build(root, config_file, None, (), DEFAULT_MODULE_TIME_BUDGET, repo_root, ranked=False)


def _build(root: str, config_file: str | None, max_file_bytes: int | None, python_check_dirs: Sequence[str],
           module_time_budget: float | None, repo_root: str | None, *, ranked: bool,
           var_files: Sequence[str] | None = None, skip_paths: Sequence[str] | None = None,
           checkov_overrides: CheckovOverrides | None = None) -> Engine:
    if config_file is not None:
        if not os.path.isfile(config_file):
            raise ValueError(f"configuration file not found: {config_file}")
        try:
            load_config_file(config_file)
        except ConfigError as e:
            raise ValueError(f"{e.path}:{e.line + 1}:{e.column + 1}: {e.message}") from None
    for d in python_check_dirs:
        if not os.path.isdir(d):
            raise ValueError(f"Python checks directory not found: {d}")

    base = os.path.abspath(root if os.path.isdir(root) else os.path.dirname(root))
    config_root = os.path.abspath(repo_root) if repo_root else repository_root(base)
    resolver = ConfigResolver(config_root, config_file)
    owners = Owners(config_root)
    engine: Engine | None = None  # the rules read other blocks of the module through it (set below)

    def unsaved() -> dict[str, str]:
        return engine.overlays() if engine is not None else {}

    # who calls a local module: explained inputs, blast radius (unsaved calls too)
    calls = CallIndex(config_root, overlays=unsaved)

    def module_blocks(module_dir: str) -> list[tuple[str, Block, dict[str, Any] | None]]:
        assert engine is not None, "rules run only once the engine exists"
        out: list[tuple[str, Block, dict[str, Any] | None]] = []
        for f in engine.module_files(module_dir):
            st = engine.state(f)
            out.extend((f, pb.block, pb.conf) for pb in st.parsed)
        return out

    # the module's rendered resources, for reach(): the same for every finding of a module until one of its
    # files or its variables and locals change (a 1,500-bucket module: 16,500 findings, each of which read
    # and rendered all 1,500 blocks again before this was kept: 133 s of a 231 s pass)
    resources_memo: LRUCache[tuple[str, str], tuple[tuple[Any, ...], Resources]] = LRUCache(maxsize=16)
    resources_lock = threading.Lock()

    def _module_resources(module_dir: str, ctx: BlockContext) -> Resources:
        assert engine is not None, "rules run only once the engine exists"
        files = engine.module_files(module_dir)
        states = tuple((f, engine.state(f)) for f in files)
        key = (module_dir, ctx.module.digest)
        with resources_lock:
            hit = resources_memo.get(key)
            if hit is not None and len(hit[0]) == len(states) and all(
                    a[0] == b[0] and a[1] is b[1] for a, b in zip(hit[0], states, strict=True)):
                return hit[1]
        out: Resources = []
        for _f, st in states:
            for pb in st.parsed:
                block, conf = pb.block, pb.conf
                if block.kind == "resource" and len(block.labels) >= 2:
                    got = conf_body("resource", conf)
                    if got is not None:
                        out.append((block.labels[0], block.labels[1], render_conf(got[2], ctx.module)))
        with resources_lock:
            resources_memo[key] = (states, out)  # the states are held: an identity compared is never reused
        return out

    env = RuleEnv(config_for=resolver.config_for, catalogue_for=resolver.catalogue_for,
                  module_blocks=module_blocks)

    policy_cache: dict[tuple[str, ...], dict[str, PolicyMeta]] = {}

    def policies(dirs: tuple[str, ...]) -> dict[str, PolicyMeta]:
        if dirs not in policy_cache:
            policy_cache[dirs] = read_policy_metadata(dirs)
        return policy_cache[dirs]

    def hook(f: Finding, ctx: BlockContext | None) -> Finding | None:
        cfg = resolver.config_for(f.file)
        if not cfg.is_enabled(f.check_id):
            return None
        if f.source in ("checkov", "graph") and cfg.policy_dirs:
            meta = policies(cfg.policy_dirs).get(f.check_id)
            if meta is not None:  # an organisation YAML policy: its metadata.severity is the base
                base_severity = meta.severity or severity_for(f.check_id, check_name=f.check_name)
                guideline = f.guideline or meta.guideline
                f = dataclasses.replace(f, source="policy", severity=base_severity, guideline=guideline)
        if f.guideline is None:
            f = dataclasses.replace(f, guideline=guideline_for(f.check_id))
        f = dataclasses.replace(f, message=f.message or describe(f))
        body = _resource_body(ctx)
        pcfg = cfg.priority_config()
        reached = blast = None
        explained: tuple[Explained, ...] = ()
        if f.result is Result.FAILED and body is not None and engine is not None:
            explained = Explainer(engine, config_root, calls).explain(f, body)
        if f.result is Result.FAILED and ctx is not None:
            # exposure reads the values as evaluated: var defaults and locals, then what explained found
            body = _evaluated(body, ctx, explained) if body is not None else None
            module_dir = os.path.dirname(f.file)
            labels = ctx.block.labels
            if ctx.block.kind == "resource" and len(labels) >= 2 and _may_be_reached(labels[0], body):
                reached = reach(labels[0], labels[1], body, _module_resources(module_dir, ctx))
            roots = calls.roots_of(module_dir)
            if roots:
                prod = sum(1 for r in roots
                           if (env := match_environment(os.path.join(r, "main.tf"), pcfg.environments, config_root))
                           and env[1] > 0)
                blast = BlastRadius(len(roots), prod)
        f = assess(f, body, pcfg, config_root, reach=reached, blast=blast)
        if explained:
            f = dataclasses.replace(f, explained=explained)
        who = owners.for_file(f.file)
        if who:
            f = dataclasses.replace(f, owners=who)
        if (cfg.minimum_severity is not None and f.result is Result.FAILED
                and f.severity.rank < cfg.minimum_severity.rank):
            return None
        return f

    if python_check_dirs:
        from tfguard.checks.graph import load_python_checks

        for d in python_check_dirs:
            log.warning("loading Python custom checks from %s (explicitly allowed)", d)
            load_python_checks(os.path.abspath(d))
    engine = Engine(
        base,
        max_file_bytes=DEFAULT_MAX_FILE_BYTES if max_file_bytes is None else max_file_bytes,
        module_time_budget=module_time_budget,
        block_rules=build_rules(env),
        finding_hook=hook if ranked else None,
        extra_policy_dirs=lambda module_dir: resolver.config_for(module_dir).policy_dirs,
        configs=resolver,
        python_checks_loaded=bool(python_check_dirs),
        config_root=config_root,
        var_files=var_files,
        skip_paths=skip_paths,
        checkov_overrides=checkov_overrides,
    )
    return engine
