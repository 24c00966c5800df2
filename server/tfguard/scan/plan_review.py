"""``tfguard plan-review PLAN.json``: the security delta of a change.

What the plan does to each resource (``resource_changes``: create, update, replace, destroy, read) and,
for each, the failed checks this plan *introduces* and the ones it *resolves*. Both sides are Checkov's
plan checks through the one engine (:func:`tfguard.scan.plan.scan_plan`):

- *after*: the plan itself;
- *before*: with ``--base OTHER_PLAN.json``, that plan; otherwise the plan's own ``before`` values: a
  plan derived from this one (:func:`before_plan`) whose planned values are each changed resource's
  ``change.before`` (created resources absent, destroyed ones present), scanned the same way.

A check is compared by (check id, resource address): introduced when it fails after and not before,
resolved when it failed before and not after. Destroyed or replaced resources whose source (or, when
unmapped, the plan) sits on a production path (``.tfguard.yaml`` ``environments``, the same patterns
context priority uses) are flagged.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tfguard.checks.plan import PlanReadError, read_plan
from tfguard.engine import Engine
from tfguard.model import Finding, Problem, Result, Severity
from tfguard.priority import match_environment
from tfguard.scan.plan import PlanScan, plan_read_problem, scan_plan

ACTION_ORDER = ("create", "update", "replace", "destroy", "read")


@dataclass(frozen=True)
class ResourceDelta:
    """One planned resource change and its security delta."""

    address: str
    type: str
    action: str  # create | update | replace | destroy | read | no-op
    introduced: tuple[Finding, ...] = ()
    resolved: tuple[Finding, ...] = ()
    production: str | None = None  # the environment label when destroyed/replaced on a production path
    source_file: str | None = None  # where the resource is defined, when known
    source_line: int | None = None  # 1-based


@dataclass(frozen=True)
class PlanReview:
    plan: str
    base: str | None
    resources: tuple[ResourceDelta, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def introduced(self) -> list[Finding]:
        return [f for r in self.resources for f in r.introduced]

    @property
    def resolved(self) -> list[Finding]:
        return [f for r in self.resources for f in r.resolved]

    def count(self, action: str) -> int:
        return sum(1 for r in self.resources if r.action == action)


def action_of(actions: Iterable[str]) -> str:
    """Terraform's ``change.actions`` as one word (``["delete", "create"]`` is a replace)."""
    acts = list(actions)
    if "delete" in acts and "create" in acts:
        return "replace"
    if acts == ["delete"]:
        return "destroy"
    if acts in (["create"], ["update"], ["read"], ["no-op"]):
        return acts[0]
    return "+".join(acts) or "no-op"


def _flatten(module: dict[str, Any] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not isinstance(module, dict):
        return out
    out.extend(r for r in module.get("resources") or [] if isinstance(r, dict))
    for child in module.get("child_modules") or []:
        out.extend(_flatten(child))
    return out


def _module_of(resource: dict[str, Any]) -> str:
    address = str(resource.get("address", ""))
    mode_prefix = "data." if resource.get("mode") == "data" else ""
    tail = f"{mode_prefix}{resource.get('type')}.{resource.get('name')}"
    i = address.rfind(tail)
    return address[:i].rstrip(".") if i > 0 else ""


def _tree(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """``root_module`` with ``child_modules`` nested by module address, as Terraform writes it."""
    modules: dict[str, dict[str, Any]] = {"": {"resources": []}}

    def module(addr: str) -> dict[str, Any]:
        if addr in modules:
            return modules[addr]
        parent_addr = addr[:addr.rfind(".module.")] if ".module." in addr else ""
        node: dict[str, Any] = {"address": addr, "resources": []}
        modules[addr] = node
        module(parent_addr).setdefault("child_modules", []).append(node)
        return node

    for r in resources:
        module(_module_of(r))["resources"].append(r)
    return modules[""]


def before_plan(doc: dict[str, Any]) -> dict[str, Any]:
    """The plan of the state before ``doc``: each changed resource at its ``change.before`` values.

    Planned resources without a change entry are kept as they are; a created resource is absent; a
    destroyed one is present with its ``before`` values. Every change becomes a no-op with
    ``before == after``, so Checkov sees the prior values wherever it looks.
    """
    changes = {rc.get("address"): rc for rc in doc.get("resource_changes") or [] if isinstance(rc, dict)}
    resources: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in _flatten((doc.get("planned_values") or {}).get("root_module")):
        addr = str(r.get("address"))
        seen.add(addr)
        rc = changes.get(addr)
        if rc is None:
            resources.append(r)
            continue
        before = (rc.get("change") or {}).get("before")
        if before is not None:
            resources.append(dict(r, values=before, sensitive_values=(rc.get("change") or {}).get("before_sensitive")
                                  or {}))
    for caddr, rc in changes.items():
        before = (rc.get("change") or {}).get("before")
        if caddr in seen or before is None or rc.get("mode") == "data":
            continue
        entry = {k: rc[k] for k in ("address", "mode", "type", "name", "index", "provider_name", "schema_version")
                 if k in rc}
        entry["values"] = before
        entry["sensitive_values"] = (rc.get("change") or {}).get("before_sensitive") or {}
        resources.append(entry)
    out = copy.deepcopy({k: v for k, v in doc.items() if k not in ("planned_values", "resource_changes",
                                                                    "prior_state")})
    out["planned_values"] = {"root_module": _tree(copy.deepcopy(resources))}
    out["resource_changes"] = [
        dict(rc, change={"actions": ["no-op"], "before": rc["change"]["before"], "after": rc["change"]["before"],
                         "after_unknown": {}, "before_sensitive": rc["change"].get("before_sensitive") or {},
                         "after_sensitive": rc["change"].get("before_sensitive") or {}})
        for rc in copy.deepcopy(list(changes.values())) if (rc.get("change") or {}).get("before") is not None]
    return out


def _failed_by_address(scan: PlanScan) -> dict[str, dict[str, Finding]]:
    out: dict[str, dict[str, Finding]] = {}
    for f in scan.findings:
        if f.result is Result.FAILED:
            out.setdefault(f.resource, {}).setdefault(f.check_id, f)
    return out


def _scan_derived(engine: Engine, doc: dict[str, Any], plan: str, repo_root: str | None) -> PlanScan:
    """``doc`` (derived from ``plan``) scanned from a private temporary file; its findings name ``plan``."""
    fd, path = tempfile.mkstemp(prefix="tfguard-before-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        result = scan_plan(engine, path, repo_root)
    finally:
        os.unlink(path)
    findings = tuple(dataclasses.replace(f, plan_file=plan, file=plan if f.file == path else f.file)
                     for f in result.findings)
    problems = tuple(dataclasses.replace(p, file=plan) if p.file == path else p for p in result.problems)
    return PlanScan(plan, findings, problems, result.checkov_warnings)


def _worst_first(f: Finding) -> tuple[int, str]:
    return -f.severity.rank, f.check_id


def review_plan(engine: Engine, plan: str, repo_root: str | None, base: str | None = None) -> PlanReview:
    """The security delta of ``plan`` (against ``base``, another plan, when given)."""
    try:
        doc = read_plan(plan)
    except PlanReadError as e:
        return PlanReview(plan, base, (), (plan_read_problem(plan, e),))
    base_doc: dict[str, Any] | None = None
    if base is not None:
        try:
            base_doc = read_plan(base)
        except PlanReadError as e:
            return PlanReview(plan, base, (), (plan_read_problem(base, e),))
    after = scan_plan(engine, plan, repo_root)
    before = scan_plan(engine, base, repo_root) if base is not None else _scan_derived(
        engine, before_plan(doc), plan, repo_root)
    problems = list(after.problems) + [p for p in before.problems if p.code != "read"]
    after_failed, before_failed = _failed_by_address(after), _failed_by_address(before)
    changes: dict[str, tuple[str, str]] = {}  # address -> (type, action)
    for rc in doc.get("resource_changes") or []:
        if isinstance(rc, dict) and rc.get("address"):
            changes[str(rc["address"])] = (str(rc.get("type", "")),
                                           action_of((rc.get("change") or {}).get("actions") or []))
    if base_doc is not None:  # two plans: resources only one of them plans are created / destroyed
        head = {str(r.get("address")): str(r.get("type", "")) for r in _flatten(
            (doc.get("planned_values") or {}).get("root_module"))}
        old = {str(r.get("address")): str(r.get("type", "")) for r in _flatten(
            (base_doc.get("planned_values") or {}).get("root_module"))}
        for addr in head.keys() - old.keys():
            changes[addr] = (head[addr], "create")
        for addr in old.keys() - head.keys():
            changes[addr] = (old[addr], "destroy")
        for addr in head.keys() & old.keys():
            changes.setdefault(addr, (head[addr], "update"))
    cfg = engine.configs.config_for(plan).priority_config() if engine.configs is not None else None
    root = repo_root or engine.root
    deltas: list[ResourceDelta] = []
    for addr, (rtype, action) in changes.items():
        if action == "no-op" and base_doc is None:
            continue
        now, then = after_failed.get(addr, {}), before_failed.get(addr, {})
        introduced = tuple(sorted((f for cid, f in now.items() if cid not in then), key=_worst_first))
        resolved = tuple(sorted((f for cid, f in then.items() if cid not in now), key=_worst_first))
        if action in ("no-op", "update") and base_doc is not None and not introduced and not resolved:
            continue
        mapped = next((f for f in (*now.values(), *then.values()) if f.plan_file and f.file != f.plan_file), None)
        source_file = mapped.file if mapped is not None else None
        production = None
        if action in ("destroy", "replace") and cfg is not None:
            env = match_environment(source_file or plan, cfg.environments, root)
            if env is not None and env[1] > 0:
                production = env[2]
        deltas.append(ResourceDelta(addr, rtype, action, introduced, resolved, production, source_file,
                                    mapped.line_range[0] if mapped is not None else None))
    order = {a: i for i, a in enumerate(ACTION_ORDER)}
    deltas.sort(key=lambda d: (order.get(d.action, len(order)), d.address))
    return PlanReview(plan, base, tuple(deltas), tuple(problems))


def gate(review: PlanReview, threshold: Severity | None) -> list[Finding]:
    """The introduced findings at or above ``threshold`` (None: every introduced finding)."""
    return [f for f in review.introduced if threshold is None or f.severity.rank >= threshold.rank]


def _rel(path: str | None, root: str | None) -> str | None:
    if path is None:
        return None
    if root:
        try:
            rel = os.path.relpath(path, root)
            if not rel.startswith(".."):
                return rel.replace(os.sep, "/")
        except ValueError:
            pass
    return path


def review_json(review: PlanReview, root: str | None) -> dict[str, Any]:
    """The review as a JSON value (paths relative to ``root`` when under it)."""
    def finding(f: Finding) -> dict[str, Any]:
        return {"check_id": f.check_id, "check_name": f.check_name, "severity": f.severity.value,
                "file": _rel(f.file, root), "line_range": list(f.line_range), "guideline": f.guideline}

    return {
        "plan": _rel(review.plan, root),
        "base": _rel(review.base, root),
        "summary": {**{a: review.count(a) for a in ACTION_ORDER},
                    "introduced": len(review.introduced), "resolved": len(review.resolved),
                    "production_destroys": sum(1 for r in review.resources if r.production)},
        "resources": [{
            "address": r.address, "type": r.type, "action": r.action, "production": r.production,
            "source": None if r.source_file is None else {"file": _rel(r.source_file, root), "line": r.source_line},
            "introduced": [finding(f) for f in r.introduced],
            "resolved": [finding(f) for f in r.resolved],
        } for r in review.resources],
        "problems": [{"file": _rel(p.file, root), "message": p.message, "code": p.code} for p in review.problems],
    }


_ICON = {"create": "➕", "update": "✏️", "replace": "♻️", "destroy": "🗑️", "read": "📖"}


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def review_markdown(review: PlanReview, root: str | None) -> str:
    """The review as Markdown, for a PR comment or ``$GITHUB_STEP_SUMMARY``."""
    lines = [f"### tfguard plan review: `{_rel(review.plan, root)}`"
             + (f" against `{_rel(review.base, root)}`" if review.base else ""), ""]
    counts = ", ".join(f"{review.count(a)} to {a}" for a in ACTION_ORDER if a != "read")
    lines.append(f"**{counts}** · **{len(review.introduced)} finding(s) introduced**, "
                 f"{len(review.resolved)} resolved")
    prod = [r for r in review.resources if r.production]
    if prod:
        lines += ["", f"> [!WARNING]\n> {len(prod)} resource(s) destroyed or replaced on a production path: "
                  + ", ".join(f"`{r.address}` ({r.action})" for r in prod)]
    if review.problems:
        lines += ["", "> [!CAUTION]\n> The review is incomplete: "
                  + "; ".join(_md(f"{_rel(p.file, root)}: {p.message}") for p in review.problems)]
    if not review.resources:
        lines += ["", "No resource changes" + (" between the two plans." if review.base else ".")]
        return "\n".join(lines) + "\n"
    lines += ["", "| Action | Resource | Introduced | Resolved |", "|---|---|---|---|"]
    for r in review.resources:
        where = f" ({_rel(r.source_file, root)}:{r.source_line})" if r.source_file else ""
        flag = " ⚠️ production" if r.production else ""
        intro = "<br>".join(f"**{f.severity.value}** {f.check_id} {_md(f.check_name)}" for f in r.introduced) or "–"
        res = "<br>".join(f"{f.check_id}" for f in r.resolved) or "–"
        lines.append(f"| {_ICON.get(r.action, '')} {r.action}{flag} | `{r.address}`{_md(where)} | {intro} | {res} |")
    return "\n".join(lines) + "\n"
