"""What every org rule shares: metadata, the environment it reads, findings and skip comments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tfguard.catalogue import Catalogue
from tfguard.checks.skips import block_skips
from tfguard.config.tfguard import TfguardConfig
from tfguard.engine import BlockContext, locate
from tfguard.hcl.blocks import Block
from tfguard.model import Finding, Result, Severity

#: Where each rule is explained; the anchor is the lower-cased rule id.
GUIDELINE_BASE = "https://github.com/tfguard/tfguard/blob/main/docs/policies.md"

#: (file, block, parsed conf or None) for every top-level block of a module directory, files sorted.
ModuleBlocks = Callable[[str], list[tuple[str, Block, "dict[str, Any] | None"]]]


@dataclass(frozen=True)
class RuleEnv:
    """What a rule may read besides its block: the effective config, the catalogue, sibling blocks."""

    config_for: Callable[[str], TfguardConfig]
    catalogue_for: Callable[[TfguardConfig], Catalogue | None]
    module_blocks: ModuleBlocks


CheckFn = Callable[["OrgRule", BlockContext, RuleEnv], list[Finding]]


@dataclass(frozen=True)
class OrgRule:
    """One rule of the SecOps policy pack; calling it is a :data:`~tfguard.engine.BlockRule`."""

    id: str
    name: str
    severity: Severity
    summary: str  # one sentence: what it finds and why it matters
    check: CheckFn
    env: RuleEnv | None = None

    @property
    def guideline(self) -> str:
        return f"{GUIDELINE_BASE}#{self.id.lower()}"

    def bind(self, env: RuleEnv) -> OrgRule:
        """This rule reading ``env``."""
        return OrgRule(self.id, self.name, self.severity, self.summary, self.check, env)

    def __call__(self, ctx: BlockContext) -> list[Finding]:
        assert self.env is not None, "bind the rule to an environment first"
        if not self.env.config_for(ctx.file).is_enabled(self.id):
            return []
        return self.check(self, ctx, self.env)

    def finding(self, ctx: BlockContext, message: str, keys: tuple[str, ...] = ()) -> Finding:
        """A FAILED finding on ``ctx``'s block (SKIPPED when a skip comment in the block names this rule)."""
        block = ctx.block
        skip = next((s for s in block_skips(block) if s.check_id.upper() == self.id), None)
        return Finding(
            check_id=self.id,
            check_name=self.name,
            result=Result.SKIPPED if skip else Result.FAILED,
            file=ctx.file,
            resource=block.address,
            line_range=(block.start_line, block.end_line),
            span=locate(block, keys),
            evaluated_keys=keys,
            source="org",
            block_type=block.kind,
            suppress_comment=skip.reason if skip else None,
            guideline=self.guideline,
            severity=self.severity,
            message=message,
        )


def body_of(ctx: BlockContext) -> tuple[str, str, dict[str, Any]] | None:
    """``(type or name, name, body)`` of a block's conf: resource/data -> (type, name, body),
    module/provider/variable/output -> (name, name, body), terraform/locals -> (kind, kind, body)."""
    return conf_body(ctx.block.kind, ctx.conf)


def conf_body(kind: str, conf: dict[str, Any] | None) -> tuple[str, str, dict[str, Any]] | None:
    """See :func:`body_of`."""
    if not conf:
        return None
    items = conf.get(kind)
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return None
    entity = items[0]
    try:
        if kind in ("resource", "data"):
            rtype, objs = next(iter(entity.items()))
            name, body = next(iter(objs.items()))
            return (rtype, name, body) if isinstance(body, dict) else None
        if kind in ("terraform", "locals"):
            return kind, kind, entity
        name, body = next(iter(entity.items()))
        return (name, name, body) if isinstance(body, dict) else None
    except (StopIteration, AttributeError):
        return None


def first(value: Any) -> Any:
    """Unwrap the one-element lists Checkov's parser wraps attribute values in."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def is_expression(value: Any) -> bool:
    """True for a value that is (or contains) a Terraform expression rather than a literal."""
    return isinstance(value, str) and "${" in value
