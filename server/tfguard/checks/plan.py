"""Checkov's ``terraform_plan`` runner on a ``terraform show -json`` plan, in-process and offline.

The same code path as ``checkov -f PLAN.json --framework terraform_plan``: the plan runner
(resource, data and provider checks, the graph checks and loaded YAML policies), then, with a
repository root, Checkov's own enrichment of the failed records to the ``.tf`` source
(``RunnerRegistry.get_enriched_resources`` / ``Report.enrich_plan_report`` /
``Report.handle_skipped_checks``, exactly what ``RunnerRegistry._handle_report`` applies for
``--repo-root-for-plan-enrichment``).

A plan is read and validated here first (:func:`read_plan`): one that cannot be decoded or is not
a JSON object of a plan is a :class:`PlanReadError` with a one-line reason that never quotes the
plan's content (plans hold secrets).
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from tfguard.checks.checkov_env import checkov_modules, checkov_warning_kinds, collect_check_errors, run_lock
from tfguard.checks.entity import CheckSelection
from tfguard.checks.errors import CheckError, error_text
from tfguard.checks.graph import graph_check_ids


class PlanReadError(Exception):
    """A plan file that cannot be read: the message is one line and quotes no value of the plan."""


@dataclass(frozen=True)
class PlanRecord:
    """One check result on one planned resource."""

    check_id: str
    check_name: str
    result: str  # FAILED | PASSED | SKIPPED
    plan_file: str  # absolute path of the plan
    resource: str  # the resource's plan address, e.g. module.a.aws_s3_bucket.b["x"]
    plan_line_range: tuple[int, int]  # where Checkov found it in the plan JSON (1-based)
    evaluated_keys: tuple[str, ...]
    is_graph_check: bool
    suppress_comment: str | None = None
    details: tuple[str, ...] = ()
    source_file: str | None = None  # enrichment: the .tf file of the resource (absolute), FAILED/SKIPPED only
    source_line_range: tuple[int, int] | None = None


@dataclass(frozen=True)
class PlanRun:
    records: tuple[PlanRecord, ...]
    check_errors: tuple[CheckError, ...] = ()
    checkov_warnings: tuple[tuple[str, int], ...] = ()
    # Checkov's enrichment index: (raw id, absolute .tf file, first line, last line) for every resource,
    # data, provider and module block under the repository root ("type.name", or the module call's name)
    sources: tuple[tuple[str, str, int, int], ...] = ()

    def source_of(self, raw: str) -> tuple[str, tuple[int, int]] | None:
        """The ``.tf`` file and lines of the block whose raw id (:func:`raw_id`) is ``raw``."""
        for rid, file, start, end in self.sources:
            if rid == raw:
                return file, (start, end)
        return None


@functools.cache
def _plan_modules() -> tuple[Any, Any, Any]:
    """Checkov's ``Report``, ``RunnerRegistry`` and plan ``Runner``, imported once.

    Importing ``checkov.common.runners.runner_registry`` configures the root logger (level DEBUG, one more
    handler, a filter: Checkov's CLI logging set-up). tfguard owns its process's logging (see
    ``checkov_env.install_log_capture``): the root logger is restored as it was.
    """
    checkov_modules()
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), list(root.filters))
    try:
        from checkov.common.output.report import Report
        from checkov.common.runners.runner_registry import RunnerRegistry
        from checkov.terraform.plan_runner import Runner as PlanRunner
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        root.filters[:] = saved[2]
    return Report, RunnerRegistry, PlanRunner


def raw_id(address: str) -> str:
    """A plan address without modules and indexes (``module.a["x"].aws_s3_bucket.b[0]`` -> ``aws_s3_bucket.b``),
    the key of Checkov's enrichment (``Report.get_plan_resource_raw_id``)."""
    return str(_plan_modules()[0].get_plan_resource_raw_id(address))


def decode_plan_bytes(data: bytes) -> str:
    """The text of a plan file: UTF-8 (with or without a BOM) or UTF-16 with a BOM (Terraform on Windows),
    or UTF-16 LE without one. Raises :class:`PlanReadError` on anything else."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding)
            except UnicodeDecodeError as e:
                raise PlanReadError(f"is not valid {encoding.upper()} (byte {e.start + len(bom)})") from None
    if len(data) > 1 and data[1:2] == b"\x00" and data[0:1] != b"\x00":
        try:
            return data.decode("utf-16-le")
        except UnicodeDecodeError as e:
            raise PlanReadError(f"is not valid UTF-16 (byte {e.start})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PlanReadError(f"is in an unknown encoding: not UTF-8 (byte {e.start}), no UTF-16 byte-order mark"
                            ) from None


def read_plan(path: str) -> dict[str, Any]:
    """The plan at ``path`` as a JSON object; raises :class:`PlanReadError` (one line, no plan values)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise PlanReadError(f"cannot be read: {e.strerror or type(e).__name__}") from None
    text = decode_plan_bytes(data)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:  # e.msg names the syntax error, never the content
        raise PlanReadError(f"is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    if not isinstance(doc, dict):
        raise PlanReadError("is not a Terraform plan: the JSON is not an object")
    if "planned_values" not in doc and "resource_changes" not in doc:
        kind = " (the shape of a state file: `values`)" if "values" in doc else ""
        raise PlanReadError("has no planned_values or resource_changes" + kind)
    return doc


def run_plan_checkov(plan: str, repo_root: str | None = None,
                     selection: CheckSelection = CheckSelection()) -> PlanRun:
    """``checkov -f plan --framework terraform_plan [--repo-root-for-plan-enrichment repo_root]``, in-process.

    The caller validates the plan first (:func:`read_plan`): Checkov itself reports nothing for a
    plan it cannot parse.
    """
    ck = checkov_modules()
    Report, RunnerRegistry, PlanRunner = _plan_modules()  # noqa: N806

    plan = os.path.abspath(plan)
    if not plan.endswith(".json"):  # Checkov's plan runner reads only *.json files: a private copy so named
        with tempfile.TemporaryDirectory(prefix="tfguard-plan-") as tmp:
            copy = os.path.join(tmp, os.path.basename(plan) + ".json")
            shutil.copyfile(plan, copy)
            run = run_plan_checkov(copy, repo_root, selection)
        return dataclasses.replace(run, records=tuple(dataclasses.replace(r, plan_file=plan) for r in run.records),
                                   check_errors=tuple(dataclasses.replace(e, file=plan) if e.file == copy else e
                                                      for e in run.check_errors))
    graph_ids = graph_check_ids()
    runner_filter = ck.RunnerFilter(
        framework=["terraform_plan"],
        checks=list(selection.checks) or None,
        skip_checks=list(selection.skip_checks) or None,
        download_external_modules=False,
        repo_root_for_plan_enrichment=[repo_root] if repo_root else None,
    )
    raised: list[tuple[Any, str, dict[str, Any], str, str, BaseException]] = []
    with run_lock:
        warnings_before = checkov_warning_kinds()
        runner = PlanRunner()
        with collect_check_errors(lambda *args: raised.append(args)):
            report = runner.run(root_folder=None, files=[plan], runner_filter=runner_filter)
        if isinstance(report, list):
            report = report[0]
        enriched: dict[str, dict[str, Any]] = {}
        if repo_root:  # RunnerRegistry._handle_report, for --repo-root-for-plan-enrichment
            enriched = RunnerRegistry.get_enriched_resources(repo_roots=[repo_root], download_external_modules=False)
            report = Report("terraform_plan").enrich_plan_report(report, enriched)
            report = Report("terraform_plan").handle_skipped_checks(report, enriched)
        warnings = tuple(sorted((kind, n - warnings_before.get(kind, 0)) for kind, n in checkov_warning_kinds().items()
                                if n > warnings_before.get(kind, 0)))
    root = os.path.abspath(repo_root) if repo_root else None
    sources = tuple(sorted(
        (rid, os.path.normpath(os.path.join(root, str(e["scanned_file"]))), int(e["entity_lines_range"][0] or 0),
         int(e["entity_lines_range"][1] or 0))
        for rid, e in enriched.items() if root is not None and e.get("scanned_file")))
    records: list[PlanRecord] = []
    for status, recs in (("FAILED", report.failed_checks), ("PASSED", report.passed_checks),
                         ("SKIPPED", report.skipped_checks)):
        for r in recs:
            cres = r.check_result or {}
            source_file: str | None = None
            source_lines: tuple[int, int] | None = None
            plan_lines = (int(r.file_line_range[0]), int(r.file_line_range[1]))
            if root is not None and status != "PASSED" and not r.file_path.startswith("/"):
                # enriched: file_path is the .tf file relative to the repository root, lines are its lines
                source_file = os.path.normpath(os.path.join(root, r.file_path))
                source_lines = plan_lines
                plan_lines = (0, 0)
            records.append(PlanRecord(
                check_id=r.check_id, check_name=r.check_name, result=status, plan_file=plan,
                resource=r.resource, plan_line_range=plan_lines,
                evaluated_keys=tuple(sorted(str(k) for k in cres.get("evaluated_keys") or [])),
                is_graph_check=r.check_id in graph_ids,
                suppress_comment=cres.get("suppress_comment") if status == "SKIPPED" else None,
                details=tuple(r.details or []), source_file=source_file, source_line_range=source_lines,
            ))
    errors: dict[tuple[str, str], CheckError] = {}
    for check, _scanned, conf, entity_name, entity_type, exc in raised:
        resource = str(conf.get("__address__") or (f"{entity_type}.{entity_name}" if entity_type else entity_name))
        errors.setdefault((str(check.id), resource), CheckError(
            check_id=str(check.id), check_name=str(check.name), resource=resource, file=plan, line_range=(0, 0),
            error=error_text(exc)))
    return PlanRun(records=tuple(records), check_errors=tuple(errors.values()), checkov_warnings=warnings,
                   sources=sources)

