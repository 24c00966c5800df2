"""The rule pipeline: the one place tfguard's block rules and the finding hook run.

Tier 1, tier 2 and ``tfguard scan`` all go through :class:`Pipeline`, so they share one failure
policy: a rule that raises on a block is logged with its traceback and becomes exactly one
:class:`~tfguard.model.Problem` (code ``engine``, severity INFO, on the block's header); the other
rules and the block's other findings are unaffected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from tfguard.checks.entity import ModuleContext
from tfguard.hcl.blocks import Block
from tfguard.model import Finding, Problem, Severity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlockContext:
    """What a block rule sees: the block, its parsed conf, its module's context."""

    file: str
    block: Block
    conf: dict | None  # the block's parsed conf ({"resource": [...]}) or None when broken
    module: ModuleContext
    workspace_root: str | None


# Hook for per-block rules (org rules, SecOps policies): (context) -> findings
BlockRule = Callable[[BlockContext], list[Finding]]
# The finding to report instead of ``finding`` (ranked, described), or None to drop it (disabled)
FindingHook = Callable[[Finding, "BlockContext | None"], "Finding | None"]


def rule_name(rule: BlockRule) -> str:
    """How a rule is named in problems and logs: its id, else its function name."""
    for attr in ("id", "__name__"):
        name = getattr(rule, attr, None)
        if isinstance(name, str) and name:
            return name
    return type(rule).__name__


def rule_failure(rule: BlockRule, ctx: BlockContext, error: BaseException) -> Problem:
    """The problem reported for ``rule`` raising ``error`` on ``ctx``'s block."""
    return Problem(ctx.file, ctx.block.header_span, f"tfguard rule {rule_name(rule)} failed on this block: {error}",
                   "engine", Severity.INFO)


class Pipeline:
    """Block rules and the finding hook of one engine (both fixed at construction)."""

    def __init__(self, block_rules: Sequence[BlockRule] = (), finding_hook: FindingHook | None = None) -> None:
        self.block_rules: tuple[BlockRule, ...] = tuple(block_rules)
        self.finding_hook = finding_hook

    @property
    def active(self) -> bool:
        """True when there is anything to run (rules or a hook)."""
        return bool(self.block_rules) or self.finding_hook is not None

    def rules(self, ctx: BlockContext) -> tuple[list[Finding], list[Problem]]:
        """Every block rule on ``ctx`` (a broken block, ``conf`` None, gets none): findings and failures."""
        findings: list[Finding] = []
        problems: list[Problem] = []
        if ctx.conf is None:
            return findings, problems
        for rule in self.block_rules:
            try:
                findings.extend(rule(ctx))
            except Exception as e:  # one rule failing never hides the others
                log.exception("tfguard rule %s failed on %s in %s", rule_name(rule), ctx.block.address, ctx.file)
                problems.append(rule_failure(rule, ctx, e))
        return findings, problems

    def hook(self, findings: Iterable[Finding], ctx_of: Callable[[Finding], BlockContext | None]) -> list[Finding]:
        """The finding hook on each finding (``ctx_of`` gives its block's context); dropped ones removed."""
        if self.finding_hook is None:
            return findings if isinstance(findings, list) else list(findings)
        hook = self.finding_hook
        hooked = (hook(f, ctx_of(f)) for f in findings)
        return [f for f in hooked if f is not None]

    def block(self, ctx: BlockContext, findings: list[Finding]) -> tuple[list[Finding], list[Problem]]:
        """Rules on one block plus the hook on all of its findings (``findings``: Checkov's, not mutated)."""
        extra, problems = self.rules(ctx)
        out = findings + extra if extra else findings
        return self.hook(out, lambda _f: ctx), problems
