"""``tfguard scan PLAN.json``: Checkov's plan runner on a Terraform plan, findings mapped to ``.tf`` source.

Each finding keeps the plan's resource address and names the plan (``Finding.plan_file``). When
Checkov's enrichment finds the resource's block under the repository root, the finding's ``file``
and ``line_range`` are that block's (so SARIF, the editor, suppressions and context priority work on
source lines); otherwise they point into the plan JSON. The engine's finding hook (severity,
ranking, ``.tfguard.yaml``) runs on every finding, with the source block as context when mapped.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from tfguard.checks.entity import CheckSelection
from tfguard.checks.errors import check_error_problems
from tfguard.checks.graph import use_policy_dirs
from tfguard.checks.plan import (
    PlanReadError,
    PlanRecord,
    PlanRun,
    decode_plan_bytes,
    raw_id,
    read_plan,
    run_plan_checkov,
)
from tfguard.checks.skips import block_skips
from tfguard.engine import BlockContext, Engine
from tfguard.engine.tier1 import locate
from tfguard.model import Finding, Problem, Result, ScanReport, Span
from tfguard.rules import RULES_BY_ID
from tfguard.rules.plan import plan_violations

PLAN_SOURCE_LABEL = "tfguard (plan)"


@dataclasses.dataclass(frozen=True)
class PlanScan:
    """The findings and problems of one plan."""

    plan: str
    findings: tuple[Finding, ...]
    problems: tuple[Problem, ...]
    checkov_warnings: tuple[tuple[str, int], ...] = ()


def plan_read_problem(plan: str, error: PlanReadError) -> Problem:
    """The located problem of a plan that cannot be read (code ``read``: the gate exits 2)."""
    return Problem(plan, Span.of(0, 0, 0, 1), f"Terraform plan {error}", "read")


def scan_plan(engine: Engine, plan: str, repo_root: str | None) -> PlanScan:
    """Checkov's plan checks on ``plan`` (absolute), mapped to source under ``repo_root`` (None: not mapped)."""
    try:
        doc = read_plan(plan)
    except PlanReadError as e:
        return PlanScan(plan, (), (plan_read_problem(plan, e),))
    cfg = engine.checkov_config(os.path.dirname(plan))
    problems: list[Problem] = []
    for line in use_policy_dirs(cfg.external_checks_dirs + engine.extra_policy_dirs(os.path.dirname(plan))):
        problems.append(Problem(cfg.path or plan, Span.of(0, 0, 0, 0), line, "config"))
    run = run_plan_checkov(plan, repo_root, CheckSelection(cfg.checks, cfg.skip_checks))
    problems.extend(check_error_problems(run.check_errors, lambda _f: ()))
    findings, contexts = records_to_plan_findings(engine, run.records)
    findings.extend(org_findings(engine, plan, doc, run, contexts))
    hooked = engine.pipeline.hook(findings, lambda f: contexts.get((f.file, f.line_range[0])))
    return PlanScan(plan, tuple(hooked), tuple(problems), run.checkov_warnings)


def records_to_plan_findings(engine: Engine, records: tuple[PlanRecord, ...]
                             ) -> tuple[list[Finding], dict[tuple[str, int], BlockContext]]:
    """Findings of plan records (on their source block when mapped) and the block contexts they sit on."""
    contexts: dict[tuple[str, int], BlockContext] = {}
    out: list[Finding] = []
    for rec in records:
        file, lines, span, block_type = rec.plan_file, rec.plan_line_range, _line_span(rec.plan_line_range[0]), \
            "resource"
        if rec.source_file is not None and rec.source_line_range is not None and os.path.isfile(rec.source_file):
            st = engine.state(rec.source_file)
            parsed = next((pb for pb in st.parsed if pb.block.start_line == rec.source_line_range[0]), None)
            block = parsed.block if parsed is not None else None
            file, lines = rec.source_file, rec.source_line_range
            span = locate(block, rec.evaluated_keys, fallback_line=max(0, lines[0] - 1))
            if parsed is not None:
                block_type = parsed.block.kind
                key = (file, lines[0])
                if key not in contexts:
                    contexts[key] = BlockContext(file, parsed.block, parsed.conf,
                                                 engine.module_context(os.path.dirname(file)), engine.root)
        out.append(Finding(
            check_id=rec.check_id, check_name=rec.check_name, result=Result(rec.result), file=file,
            resource=rec.resource, line_range=lines, span=span, evaluated_keys=rec.evaluated_keys,
            source="graph" if rec.is_graph_check else "checkov", block_type=block_type,
            suppress_comment=rec.suppress_comment, details=rec.details, plan_file=rec.plan_file,
        ))
    return out, contexts


def org_findings(engine: Engine, plan: str, doc: dict[str, Any], run: PlanRun,
                 contexts: dict[tuple[str, int], BlockContext]) -> list[Finding]:
    """tfguard's org rules on the plan (:mod:`tfguard.rules.plan`), each on its source block when Checkov's
    enrichment index has it (a skip comment there skips it), else on the plan line naming its address."""
    if engine.configs is None:
        return []
    cfg = engine.configs.config_for(plan)
    violations = plan_violations(doc, cfg, engine.configs.catalogue_for(cfg), raw_id)
    if not violations:
        return []
    plan_lines: list[str] | None = None
    out: list[Finding] = []
    for v in violations:
        rule = RULES_BY_ID[v.rule_id]
        where = run.source_of(v.anchor)
        block = None
        if where is not None and os.path.isfile(where[0]):
            file, lines = where
            st = engine.state(file)
            parsed = next((pb for pb in st.parsed if pb.block.start_line == lines[0]), None)
            block = parsed.block if parsed is not None else None
            span = locate(block, (v.key,) if v.key else (), fallback_line=max(0, lines[0] - 1))
            if parsed is not None and (file, lines[0]) not in contexts:
                contexts[(file, lines[0])] = BlockContext(file, parsed.block, parsed.conf,
                                                          engine.module_context(os.path.dirname(file)), engine.root)
        else:
            if plan_lines is None:
                with open(plan, "rb") as fh:
                    plan_lines = decode_plan_bytes(fh.read()).splitlines()
            needle = json.dumps(v.address)
            row = next((i for i, text in enumerate(plan_lines) if needle in text), 0)
            file, lines, span = plan, (row + 1, row + 1), _line_span(row + 1)
        skip = next((s for s in block_skips(block) if s.check_id.upper() == v.rule_id), None) if block else None
        out.append(Finding(
            check_id=v.rule_id, check_name=rule.name, result=Result.SKIPPED if skip else Result.FAILED, file=file,
            resource=v.address, line_range=lines, span=span, evaluated_keys=(v.key,) if v.key else (),
            source="org", block_type=block.kind if block is not None else "resource",
            suppress_comment=skip.reason if skip else None, guideline=rule.guideline, severity=rule.severity,
            message=v.message, plan_file=plan,
        ))
    return out


def _line_span(line: int) -> Span:
    row = max(0, line - 1)
    return Span.of(row, 0, row, 1)


def add_plan(engine: Engine, report: ScanReport, plan: str, repo_root: str | None) -> None:
    """One plan's findings and problems into ``report`` (it counts as one file scanned)."""
    result = scan_plan(engine, plan, repo_root)
    report.files_scanned += 1
    report.findings.extend(result.findings)
    report.problems.extend(result.problems)
    for kind, n in result.checkov_warnings:
        report.checkov_warnings[kind] = report.checkov_warnings.get(kind, 0) + n
