"""The SecOps policy pack: tfguard's own org rules, each a :data:`~tfguard.engine.BlockRule`.

=========== ========= ======================================================
id          severity  finds
=========== ========= ======================================================
TFG_MOD_1   HIGH      module source not in the approved-module catalogue
TFG_MOD_2   MEDIUM    registry/git module source without a pinned version/ref
TFG_MOD_3   MEDIUM    module version outside the catalogue's approved range
TFG_MOD_4   LOW       raw resource for which an approved module exists
TFG_TAG_1   LOW       required tags missing on a taggable resource
TFG_PROV_1  MEDIUM    required_providers entry without a version constraint
TFG_PROV_2  LOW       module without required_version
TFG_SEC_1   CRITICAL  hard-coded secret (the value is never repeated)
=========== ========= ======================================================

Severities are tfguard's defaults (docs/policies.md explains each); ``severity_overrides`` in
``.tfguard.yaml`` changes them. Every rule honours ``#checkov:skip=TFG_...:reason`` in its block.
"""

from __future__ import annotations

from tfguard.rules import modules, providers, secrets, tags
from tfguard.rules.base import GUIDELINE_BASE, ModuleBlocks, OrgRule, RuleEnv

ALL_RULES: tuple[OrgRule, ...] = modules.RULES + tags.RULES + providers.RULES + secrets.RULES
RULES_BY_ID = {r.id: r for r in ALL_RULES}


def build_rules(env: RuleEnv) -> list[OrgRule]:
    """Every org rule, bound to ``env`` (each checks per file whether its config disables it)."""
    return [r.bind(env) for r in ALL_RULES]


__all__ = ["ALL_RULES", "GUIDELINE_BASE", "RULES_BY_ID", "ModuleBlocks", "OrgRule", "RuleEnv", "build_rules"]
