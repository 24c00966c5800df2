"""``tfguard plan-review``: the security delta of a plan, with before/after pairs derived from corpus plans.

How the pairs are derived (nothing here is a hand-written plan; each starts from a real corpus plan):

- *opened*: ``plan_change_keys`` (two ``aws_security_group_rule`` updates); the test sets the ``after`` of
  ``aws_security_group_rule.foo`` (and its planned values) to SSH (port 22) from ``0.0.0.0/0``: the rule
  opened to the internet must be introduced on that resource only.
- *closed*: the same pair with ``before`` and ``after`` swapped: the same checks are resolved.
- *create-only*: ``plan_with_hcl_for_enrichment`` as it is (every resource created): introduced are exactly
  the failed checks of ``tfguard scan`` on that plan (itself proven equal to ``checkov -f`` in
  tests/parity/test_plan_parity.py), nothing is resolved, skip comments in the source still skip.
- *destroy*: that plan with every change turned into a delete (``before`` := the planned ``after``, no
  planned values): everything resolves, nothing is introduced, and with the sources under a ``prod/``
  folder the destroys are flagged as production.
- ``--base``: the plan against itself has no delta.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tfguard.cli import main
from tfguard.scan.plan_review import action_of, before_plan, review_plan
from tfguard.wiring import make_engine

pytestmark = pytest.mark.usefixtures("corpora")


def _plans(corpora: Path) -> Path:
    root = corpora / "plans"
    if not root.is_dir():
        pytest.skip(f"plan corpus not found at {root}")
    return root


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _opened(doc: dict[str, Any], address: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    ssh_world = {"cidr_blocks": ["0.0.0.0/0"], "from_port": 22, "to_port": 22}
    for rc in doc["resource_changes"]:
        if rc["address"] == address:
            rc["change"]["after"].update(ssh_world)
    for r in doc["planned_values"]["root_module"]["resources"]:
        if r["address"] == address:
            r["values"].update(ssh_world)
    return doc


def _swapped(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    afters = {}
    for rc in doc["resource_changes"]:
        ch = rc["change"]
        ch["before"], ch["after"] = ch["after"], ch["before"]
        afters[rc["address"]] = ch["after"]
    for r in doc["planned_values"]["root_module"]["resources"]:
        r["values"] = afters.get(r["address"], r["values"])
    return doc


def _destroyed(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for rc in doc["resource_changes"]:
        ch = rc["change"]
        ch.update(actions=["delete"], before=ch["after"], after=None, before_sensitive=ch.get("after_sensitive"))
    doc["planned_values"] = {"root_module": {"resources": []}}
    return doc


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _delta(review: Any) -> dict[str, tuple[str, list[str], list[str]]]:
    return {r.address: (r.action, [f.check_id for f in r.introduced], [f.check_id for f in r.resolved])
            for r in review.resources}


def test_actions_read_as_one_word() -> None:
    assert [action_of(a) for a in (["create"], ["update"], ["delete"], ["delete", "create"], ["create", "delete"],
                                   ["read"], ["no-op"])] == ["create", "update", "destroy", "replace", "replace",
                                                             "read", "no-op"]


def test_before_plan_holds_the_before_values_in_their_modules(corpora: Path) -> None:
    doc = _load(_plans(corpora) / "plan_nested_child_modules" / "tfplan.json")
    doc = _destroyed(doc)
    before = before_plan(doc)

    def addresses(module: dict[str, Any]) -> list[tuple[str, str]]:
        out = [(module.get("address", ""), r["address"]) for r in module.get("resources", [])]
        for child in module.get("child_modules", []):
            out += addresses(child)
        return out

    got = addresses(before["planned_values"]["root_module"])
    assert sorted(a for _, a in got) == sorted(rc["address"] for rc in doc["resource_changes"]
                                               if rc["mode"] == "managed")
    for module_address, address in got:  # each resource sits in the module its address names
        assert address.startswith(module_address)
    assert all(rc["change"]["actions"] == ["no-op"] for rc in before["resource_changes"])


def test_an_ingress_opened_to_the_internet_is_introduced_and_closing_it_resolves_it(corpora: Path,
                                                                                    tmp_path: Path) -> None:
    doc = _load(_plans(corpora) / "plan_change_keys" / "tfplan.json")
    engine = make_engine(str(tmp_path), repo_root=str(tmp_path))
    opened = review_plan(engine, str(_write(tmp_path / "open.json", _opened(doc, "aws_security_group_rule.foo"))),
                         str(tmp_path))
    delta = _delta(opened)
    action, introduced, resolved = delta["aws_security_group_rule.foo"]
    assert action == "update" and introduced and not resolved
    assert "CKV_AWS_24" in introduced  # port 22 from 0.0.0.0/0
    assert delta["aws_security_group_rule.bar"] == ("update", [], [])
    closed_plan = _write(tmp_path / "close.json", _swapped(_opened(doc, "aws_security_group_rule.foo")))
    closed = review_plan(engine, str(closed_plan), str(tmp_path))
    assert _delta(closed)["aws_security_group_rule.foo"] == ("update", [], introduced)


def test_a_create_only_plan_introduces_what_the_plan_scan_fails(corpora: Path, tmp_path: Path) -> None:
    case = _plans(corpora) / "plan_with_hcl_for_enrichment"
    out = tmp_path / "scan.json"
    assert main(["scan", "--no-daemon", str(case / "tfplan.json"), "--repo-root", str(case), "--format", "json",
                 "-o", str(out)]) == 1
    changed = {rc["address"] for rc in _load(case / "tfplan.json")["resource_changes"]}
    failed: dict[str, set[str]] = {}  # on the planned resources (provider-level org findings are not a change)
    for f in json.loads(out.read_text())["findings"]:
        if f["result"] == "FAILED" and f["resource"] in changed:
            failed.setdefault(f["resource"], set()).add(f["check_id"])
    review = review_plan(make_engine(str(case), repo_root=str(case)), str(case / "tfplan.json"), str(case))
    delta = _delta(review)
    assert {a for a, (act, _, _) in delta.items()} == {rc["address"] for rc in _load(case / "tfplan.json")
                                                       ["resource_changes"]}
    assert all(act == "create" and not res for act, _, res in delta.values())
    assert {a: set(i) for a, (_, i, _) in delta.items() if i} == failed
    for r in review.resources:  # mapped to the .tf block Checkov's enrichment finds
        assert r.source_file is not None and r.source_file.endswith(".tf") and r.source_line == 1


def test_destroying_resolves_everything_and_flags_production_paths(corpora: Path, tmp_path: Path) -> None:
    case = _plans(corpora) / "plan_with_hcl_for_enrichment"
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    shutil.copytree(case, repo / "prod")
    plan = _write(repo / "prod" / "destroy.json", _destroyed(_load(case / "tfplan.json")))
    created = review_plan(make_engine(str(repo / "prod"), repo_root=str(repo)), str(repo / "prod" / "tfplan.json"),
                          str(repo))
    review = review_plan(make_engine(str(repo / "prod"), repo_root=str(repo)), str(plan), str(repo))
    delta = _delta(review)
    assert all(act == "destroy" and not intro for act, intro, _ in delta.values())
    assert {a: res for a, (_, _, res) in delta.items()} == {a: intro for a, (_, intro, _) in _delta(created).items()}
    assert all(r.production == "production path" for r in review.resources)
    assert not any(r.production for r in created.resources)  # creating is not flagged


def test_base_plan_comparison_and_the_cli_gate(corpora: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    doc = _load(_plans(corpora) / "plan_change_keys" / "tfplan.json")
    base = _write(tmp_path / "base.json", doc)
    head = _write(tmp_path / "head.json", _opened(doc, "aws_security_group_rule.foo"))
    args = ["plan-review", "--repo-root", str(tmp_path)]
    assert main([*args, str(base), "--base", str(base), "--format", "json", "-o", str(tmp_path / "same.json")]) == 0
    assert json.loads((tmp_path / "same.json").read_text())["resources"] == []
    assert main([*args, str(base), "--base", str(base), "-o", str(tmp_path / "same.md")]) == 0
    assert "No resource changes between the two plans." in (tmp_path / "same.md").read_text()
    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n")
    code = main([*args, str(head), "--base", str(base), "--markdown", str(summary), "--json", str(tmp_path / "r.json")])
    assert code == 1
    md = capsys.readouterr().out
    assert "CKV_AWS_24" in md and "aws_security_group_rule.foo" in md
    assert summary.read_text() == "previous step\n" + md  # appended, as $GITHUB_STEP_SUMMARY wants
    review = json.loads((tmp_path / "r.json").read_text())
    assert review["summary"]["introduced"] >= 1
    assert main([*args, str(head), "--base", str(base), "--fail-on", "CRITICAL", "-o", str(tmp_path / "x.md")]) == 0
    assert main([*args, str(head), "--fail-on", "INFO", "-o", str(tmp_path / "y.md")]) == 1


def test_an_unreadable_plan_is_exit_2_in_plan_review(corpora: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bad = _plans(corpora) / "plan" / "corrupted-tfplan.json"
    assert main(["plan-review", str(bad), "--repo-root", str(tmp_path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "corrupted-tfplan.json" in line and "Terraform plan" in line
