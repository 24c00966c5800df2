"""The JSON Schema of .tfguard.yaml (server/tfguard/data/tfguard.schema.json, registered for the YAML
extension through package.json contributes.yamlValidation, and run by the server at run time with
jsonschema: tfguard.config.tfguard.schema_error) and the server's hand validator
(parse_config(..., schema=False)) agree: same keys; each alone accepts and refuses the same files, and
locates a refusal on the same line. And the schema really runs: a file only it refuses is refused, located,
in the editor's parse and in the CLI's preflight (exit 2, one located line)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from tfguard.config import tfguard as tfconfig
from tfguard.config.checkov import ConfigError
from tfguard.config.tfguard import KEYS, parse_config, schema_problem

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "server" / "tfguard" / "data" / "tfguard.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)


def _hand_error(text: str, path: str = "/ws/.tfguard.yaml") -> ConfigError | None:
    try:
        parse_config(text, path, schema=False)
    except ConfigError as e:
        return e
    return None


def _server_ok(text: str, path: str = "/ws/.tfguard.yaml") -> bool:
    return _hand_error(text, path) is None


def _schema_ok(text: str) -> bool:
    plain = not list(VALIDATOR.iter_errors(yaml.safe_load(text)))
    assert plain == (schema_problem(text, "/ws/.tfguard.yaml") is None)  # the run-time check is this schema
    return plain


def test_schema_is_valid_and_registered():
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    pkg = json.loads((REPO / "package.json").read_text(encoding="utf-8"))
    urls = [v["url"] for v in pkg["contributes"]["yamlValidation"]]
    assert urls == ["./server/tfguard/data/tfguard.schema.json"]
    assert "!server/tfguard/data/tfguard.schema.json" in (REPO / ".vscodeignore").read_text(encoding="utf-8")


def test_same_top_level_keys():
    assert set(SCHEMA["properties"]) == set(KEYS)


@pytest.mark.parametrize("path", sorted(str(p.relative_to(REPO)) for p in [
    *REPO.glob("examples/**/.tfguard.yaml"), *REPO.glob("tests/fixtures/**/.tfguard.yaml")]))
def test_the_repositorys_files_are_valid_for_both(path):
    text = (REPO / path).read_text(encoding="utf-8")
    assert _server_ok(text, str(REPO / path)) and _schema_ok(text)  # where it is: var_files must exist


VALID = [
    "version: 1\n",
    "",
    "severity_overrides: {CKV_AWS_20: critical, 'CKV_AZURE_*': LOW}\n",
    "environments:\n  - {pattern: '**/prod/**', adjust: +1, label: production}\n  - {pattern: '**/dev/**'}\n",
    "environments: []\n",
    "detect_exposure: false\n",
    "checks: {enable: [CKV_AWS_20], disable: ['CKV2_*']}\n",
    "policy_dirs: [policies]\ncatalogue: approved.yaml\n",
    "minimum_severity: low\n",
    "required_tags: {all: [owner], by_type: {aws_s3_bucket: [data-classification]}}\n",
    "secrets: {enabled: false}\n",
    "suppressions: {ticket_pattern: 'SEC-\\d+', not_suppressible: [CKV_AWS_24]}\n",
    "risk_classes: {order: [secrets, public-exposure], floors: {secrets: CRITICAL, Data_Protection: medium}}\n",
    "risk_classes: {floors: {}}\n",
]
INVALID = [
    "version: 2\n",
    "unknown_key: 1\n",
    "python_checks: [x]\n",
    "severity_overrides: {CKV_AWS_20: URGENT}\n",
    "environments: [{adjust: 1}]\n",
    "environments: [{pattern: x, adjust: 9}]\n",
    "environments: [{pattern: x, colour: red}]\n",
    "detect_exposure: yes please\n",
    "checks: {skip: [x]}\n",
    "checks: {enable: CKV_AWS_20}\n",
    "policy_dirs: policies\n",
    "catalogue: [a, b]\n",
    "minimum_severity: SEVERE\n",
    "required_tags: {some: [owner]}\n",
    "secrets: {enabled: 1}\n",
    "secrets: {on: true}\n",
    "suppressions: {not_suppressible: CKV_AWS_24}\n",
    "suppressions: {owner: me}\n",
    "- a list\n",
    # values YAML reads as numbers, booleans or dates where text is expected
    "environments:\n  - pattern: '**/prod/**'\n    label: 5\n",
    "checks:\n  enable: [CKV_AWS_20, 5]\n",
    "exclude:\n  - legacy/**\n  - 2024-01-01\n",
    "required_tags:\n  all: [owner, true]\n",
    "minimum_severity: 3\n",
    "catalogue: 12\n",
    # located deeper in a longer file
    "version: 1\nchecks:\n  disable: [CKV_AWS_144]\nsecrets:\n  enabled: maybe\n",
    "version: 1\nrequired_tags:\n  all: [owner]\n  by_type:\n    aws_s3_bucket: data-classification\n",
    "version: 1\nenvironments:\n  - {pattern: '**/prod/**', adjust: +1}\n  - {pattern: '**/dev/**', adjust: -7}\n",
    "version: 1\nsuppressions:\n  ticket_pattern: 'SEC-\\d+'\n  owners: [me]\n",
    "risk_classes: {order: [secrets, urgent]}\n",
    "risk_classes: {order: [secrets, secrets]}\n",
    "risk_classes: {order: secrets}\n",
    "risk_classes: {floors: {secrets: SEVERE}}\n",
    "risk_classes: {floors: {cost: HIGH}}\n",
    "risk_classes: {weights: {}}\n",
]


@pytest.mark.parametrize("text", VALID)
def test_both_accept(text):
    assert _server_ok(text), "server refuses"
    assert _schema_ok(text), list(VALIDATOR.iter_errors(yaml.safe_load(text)))


@pytest.mark.parametrize("text", INVALID)
def test_both_refuse(text):
    assert not _server_ok(text), "server accepts"
    assert not _schema_ok(text), "schema accepts"


@pytest.mark.parametrize("text", INVALID)
def test_both_locate_a_refusal_on_the_same_line(text):
    hand, schema = _hand_error(text), schema_problem(text, "/ws/.tfguard.yaml")
    assert hand is not None and schema is not None
    assert hand.line == schema.line, (str(hand), str(schema))


STRICTER = {**SCHEMA, "required": ["version"]}  # a schema that refuses what the hand validator accepts


def test_the_schema_runs_at_run_time_a_refusal_only_it_makes_is_located(monkeypatch, tmp_path):
    monkeypatch.setattr(tfconfig, "_schema_validator", lambda: jsonschema.Draft7Validator(STRICTER))
    text = "minimum_severity: LOW\nchecks:\n  disable: [CKV_AWS_144]\n"
    assert _server_ok(text)  # the hand validator alone accepts it
    with pytest.raises(ConfigError) as got:
        parse_config(text, "/ws/.tfguard.yaml")
    assert (got.value.line, got.value.column) == (0, 0) and "version" in str(got.value)
    monkeypatch.setattr(tfconfig, "_schema_validator", lambda: jsonschema.Draft7Validator(
        {**SCHEMA, "properties": {**SCHEMA["properties"], "checks": {"type": "object", "additionalProperties": False,
                                                                       "properties": {"enable": {}}}}}))
    with pytest.raises(ConfigError) as got:
        parse_config(text, "/ws/.tfguard.yaml")
    assert (got.value.line, got.value.column) == (2, 2)  # the unknown key `disable`, not its mapping
    assert str(got.value) == "/ws/.tfguard.yaml:3: checks: unknown key 'disable' (expected enable)"


def test_a_schema_refusal_fails_the_cli_preflight_with_one_located_line(monkeypatch, tmp_path, capsys):
    from tfguard.cli import main

    monkeypatch.setattr(tfconfig, "_schema_validator", lambda: jsonschema.Draft7Validator(STRICTER))
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    (repo / ".tfguard.yaml").write_text("minimum_severity: LOW\n")
    capsys.readouterr()
    assert main(["scan", "--no-daemon", str(repo)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if ".tfguard.yaml" in line]
    assert len(err) == 1 and ".tfguard.yaml:1" in err[0] and "version" in err[0], err
