"""Providers: TFG_PROV_1 (required_providers entry without a version) and TFG_PROV_2 (no
``required_version`` in the module).

TFG_PROV_2 is reported once per module directory: on the first ``terraform`` block (files in name
order) when no ``terraform`` block of the module sets ``required_version``; when the module has no
``terraform`` block at all, on its first ``provider`` block. A module with neither (a child module
that only declares resources) is not reported: there is no natural place to point at, and its caller's
``terraform`` block constrains the Terraform version used.
"""

from __future__ import annotations

import os
from typing import Any

from tfguard.engine import BlockContext
from tfguard.model import Finding, Severity
from tfguard.rules.base import OrgRule, RuleEnv, body_of, conf_body, first


def _providers(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for rp in body.get("required_providers") or []:
        if isinstance(rp, dict):
            out.update({k: v for k, v in rp.items() if not k.startswith("__")})
    return out


def check_provider_versions(rule: OrgRule, ctx: BlockContext, env: RuleEnv) -> list[Finding]:
    if ctx.block.kind != "terraform":
        return []
    got = body_of(ctx)
    if got is None:
        return []
    missing: list[str] = []
    for name, spec in _providers(got[2]).items():
        spec = first(spec)
        if isinstance(spec, str):
            continue  # legacy `aws = "~> 5.0"`: the string is the version constraint
        if isinstance(spec, dict) and first(spec.get("version")):
            continue
        missing.append(name)
    if not missing:
        return []
    names = ", ".join(missing)
    return [rule.finding(
        ctx,
        f"required_providers entr{'ies' if len(missing) > 1 else 'y'} without a version constraint: {names}. "
        f'Add version = "~> X.Y" so an upgrade of the provider is a reviewed change.',
        tuple(f"required_providers/{n}" for n in missing),
    )]


def check_required_version(rule: OrgRule, ctx: BlockContext, env: RuleEnv) -> list[Finding]:
    if ctx.block.kind not in ("terraform", "provider"):
        return []
    blocks = env.module_blocks(os.path.dirname(ctx.file))
    terraform = [(f, b, c) for f, b, c in blocks if b.kind == "terraform"]
    for _f, _b, conf in terraform:
        got = conf_body("terraform", conf)
        if got is not None and first(got[2].get("required_version")):
            return []
    candidates = terraform or [(f, b, c) for f, b, c in blocks if b.kind == "provider"]
    if not candidates:
        return []
    f0, b0, _ = candidates[0]
    if os.path.abspath(f0) != os.path.abspath(ctx.file) or b0.start_line != ctx.block.start_line:
        return []
    where = "this terraform block" if ctx.block.kind == "terraform" else "a terraform block"
    return [rule.finding(
        ctx,
        f'This module does not set required_version: add required_version = ">= 1.5" (your minimum) to '
        f"{where} so an unsupported Terraform version refuses to run it.",
    )]


RULES = (
    OrgRule("TFG_PROV_1", "Provider requirement without a version constraint", Severity.MEDIUM,
            "An entry of terraform.required_providers without a version.", check_provider_versions),
    OrgRule("TFG_PROV_2", "Module does not set required_version", Severity.LOW,
            "No terraform block of the module directory sets required_version.", check_required_version),
)
