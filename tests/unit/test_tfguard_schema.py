"""The JSON Schema of .tfguard.yaml (server/tfguard/data/tfguard.schema.json, registered for the YAML
extension through package.json contributes.yamlValidation) and the server's own validator
(tfguard.config.tfguard.parse_config) agree: same keys, and they accept and refuse the same files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from tfguard.config.checkov import ConfigError
from tfguard.config.tfguard import KEYS, parse_config

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "server" / "tfguard" / "data" / "tfguard.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)


def _server_ok(text: str, path: str = "/ws/.tfguard.yaml") -> bool:
    try:
        parse_config(text, path)
    except ConfigError:
        return False
    return True


def _schema_ok(text: str) -> bool:
    return not list(VALIDATOR.iter_errors(yaml.safe_load(text)))


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
