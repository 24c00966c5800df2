"""TFG_SEC_1 (hard-coded secrets) on Terraform plans, and no report format ever echoing the secret.

Derived from the corpus plan ``plans/plan/tfplan.json`` (Checkov's own suite): its root module declares
``variable "password" { default = "Aa1234321Bb" }`` and ``aws_db_instance.default`` sets
``password = var.password``. The derivations, made in the tests:

- *hard-coded*: the instance's configuration expression for ``password`` becomes a literal
  (``{"constant_value": SECRET}``, as Terraform writes ``password = "..."``), the planned values and the
  change's ``after`` carry SECRET (as Terraform plans it), and the variable loses its default;
- *passed in*: the variable has no default and is ``sensitive``; the planned values still carry the
  resolved SECRET (a plan always holds resolved values), the expression stays ``references``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tfguard.cli import FORMATS, main

SECRET = "Zq9-hunter2-Plan-Secret-7781"
DB = "aws_db_instance.default"


@pytest.fixture()
def plan_doc(corpora: Path) -> dict[str, Any]:
    plan = corpora / "plans" / "plan" / "tfplan.json"
    if not plan.is_file():
        pytest.skip(f"plan corpus file not found at {plan}")
    return json.loads(plan.read_text(encoding="utf-8"))


def _resource(items: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in items if r["address"] == DB)


def _derive(doc: dict[str, Any], *, hard_coded: bool) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    root = doc["configuration"]["root_module"]
    var = root["variables"]["password"]
    var.pop("default", None)
    if hard_coded:
        _resource(root["resources"])["expressions"]["password"] = {"constant_value": SECRET}
    else:
        var["sensitive"] = True
    _resource(doc["planned_values"]["root_module"]["resources"])["values"]["password"] = SECRET
    change = _resource(doc["resource_changes"])["change"]
    change["after"]["password"] = SECRET
    change.setdefault("after_sensitive", {})["password"] = True
    assert SECRET in json.dumps(doc)
    return doc


def _repo(tmp_path: Path, doc: dict[str, Any], config: str = "version: 1\n") -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".git").mkdir()
    (repo / ".tfguard.yaml").write_text(config)
    plan = repo / "tfplan.json"
    plan.write_text(json.dumps(doc, indent=2))
    return plan


def _org(plan: Path, out: Path) -> list[dict[str, Any]]:
    main(["scan", "--no-daemon", str(plan), "-o", "json", "--output-file-path", str(out)])
    return [f for f in json.loads((out / "results_json.json").read_text())["findings"] if f["check_id"] == "TFG_SEC_1"]


def test_a_hard_coded_secret_in_a_planned_attribute_is_found_and_never_echoed(plan_doc, tmp_path, capsys):
    plan = _repo(tmp_path, _derive(plan_doc, hard_coded=True))
    got = {f["resource"]: f for f in _org(plan, tmp_path / "one")}
    # the planted one, and the corpus' own literal credentials (terragoat's user_data and Lambda environment)
    assert sorted(got) == [DB, "aws_instance.web_host", "aws_lambda_function.analysis_lambda"]
    found = got[DB]
    assert found["resource"] == DB and found["result"] == "FAILED" and found["severity"] == "CRITICAL"
    assert "password" in found["message"] and SECRET not in found["message"]
    assert found["plan_file"] and found["file_abs_path"] == str(plan)  # no sources beside it: on the plan's lines
    # every report format, written to files and printed; the plan review's Markdown and JSON
    out = tmp_path / "formats"
    out.mkdir()
    args = ["scan", "--no-daemon", str(plan)]
    for fmt in FORMATS:
        args += ["-o", fmt]
    main([*args, "--output-file-path", str(out)])
    main(["scan", "--no-daemon", str(plan), "--compact"])
    main(["plan-review", str(plan), "--markdown", str(tmp_path / "review.md"), "--json", str(tmp_path / "review.json")])
    printed = capsys.readouterr()
    written = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}
    assert sorted(written) == sorted(f"results_{f}" + {"json": ".json", "sarif": ".sarif", "junitxml": ".xml",
                                                       "gitlab_sast": ".json", "csv": ".csv", "markdown": ".md"}
                                     .get(f, ".txt") for f in FORMATS)
    written["review.md"] = (tmp_path / "review.md").read_text(encoding="utf-8")
    written["review.json"] = (tmp_path / "review.json").read_text(encoding="utf-8")
    secrets = [SECRET, *_literal_secrets(json.loads(plan.read_text()))]
    assert len(secrets) >= 3
    for name, text in written.items():
        # (plan-review compares the plan with its own `before`: a literal in the configuration is in both, so
        # it is not "introduced" and not listed there; what matters here is that no value is printed)
        assert "TFG_SEC_1" in text or name.startswith("review."), name
        for value in secrets:
            assert value not in text, (name, value[:4])
    assert "TFG_SEC_1" in printed.out
    for value in secrets:
        assert value not in printed.out and value not in printed.err, value[:4]


def _literal_secrets(doc: dict[str, Any]) -> list[str]:
    """The literal values the rule flags in a plan's root module (what must never be printed)."""
    from tfguard.rules.plan import _literal_body
    from tfguard.rules.secrets import find_secrets

    out: list[str] = []
    for r in doc["configuration"]["root_module"]["resources"]:
        body = _literal_body(r.get("expressions"))
        for path, _kind in find_secrets(body):
            value: Any = body
            for key in path:
                value = value[key] if isinstance(value, dict) else next(v[key] for v in value if key in v)
            if isinstance(value, str) and value != SECRET:
                out.append(value)
    return out


def test_a_secret_passed_in_a_sensitive_variable_is_not_a_hard_coded_one(plan_doc, tmp_path):
    plan = _repo(tmp_path, _derive(plan_doc, hard_coded=False))
    resources = sorted(f["resource"] for f in _org(plan, tmp_path / "r"))
    assert resources == ["aws_instance.web_host", "aws_lambda_function.analysis_lambda"]  # the corpus' own, not DB


def test_the_literal_default_of_a_secret_variable_on_the_corpus_plan(plan_doc, tmp_path):
    plan = _repo(tmp_path, plan_doc)
    found = _org(plan, tmp_path / "r")
    var = [f for f in found if f["resource"] == "var.password"]
    assert [f["result"] for f in var] == ["FAILED"]
    assert "default of variable password" in var[0]["message"] and "Aa1234321Bb" not in json.dumps(found)


def test_secrets_disabled_in_tfguard_yaml_is_honoured_on_plans(plan_doc, tmp_path):
    plan = _repo(tmp_path, _derive(plan_doc, hard_coded=True), "version: 1\nsecrets: {enabled: false}\n")
    assert _org(plan, tmp_path / "r") == []


def test_the_rule_sees_nested_blocks_and_module_calls(tmp_path):
    from tfguard.config.tfguard import TfguardConfig
    from tfguard.rules.plan import secret_violations

    doc = {"configuration": {"root_module": {"module_calls": {"db": {"source": "./db", "module": {"resources": [
        {"address": "aws_rds_cluster.c", "type": "aws_rds_cluster", "name": "c", "expressions": {
            "master_password": {"references": ["var.pw"]},
            "settings": [{"auth_token": {"constant_value": SECRET}}]}}]}}}}}}
    (v,) = secret_violations(doc, TfguardConfig())
    assert (v.address, v.anchor, v.key) == ("module.db.aws_rds_cluster.c", "aws_rds_cluster.c", "settings")
    assert "settings.auth_token" in v.message and SECRET not in v.message
