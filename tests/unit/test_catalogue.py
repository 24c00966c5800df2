from __future__ import annotations

from pathlib import Path

import pytest

from tfguard.catalogue import (
    exact_version,
    load_catalogue,
    lowest_allowed,
    parse_catalogue,
    parse_source,
    version_matches,
)
from tfguard.config.checkov import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("version", "constraint", "expected"),
    [
        ("4.2.1", "~> 4.2", True),
        ("4.9.0", "~> 4.2", True),
        ("5.0.0", "~> 4.2", False),
        ("4.1.9", "~> 4.2", False),
        ("4.2.7", "~> 4.2.1", True),
        ("4.3.0", "~> 4.2.1", False),
        ("1.9.0", "~> 1", True),
        ("2.0.0", "~> 1", False),
        ("2.3.0", ">= 2.0, < 3.0", True),
        ("3.0.0", ">= 2.0, < 3.0", False),
        ("1.2.3", "1.2.3", True),
        ("1.2.4", "= 1.2.3", False),
        ("1.2.4", "!= 1.2.3", True),
        ("1.2.3", "!= 1.2.3", False),
        ("1.2.3", "> 1.2.3", False),
        ("1.2.3", "<= 1.2.3", True),
        ("v2.3.0", ">= 2.0", True),
        ("2.0.0-beta1", ">= 1.0", False),
        ("2.0.0-beta1", "= 2.0.0-beta1", True),
    ],
    ids=lambda v: str(v),
)
def test_version_matches_terraform_constraints(version: str, constraint: str, expected: bool) -> None:
    assert version_matches(version, constraint) is expected


def test_malformed_constraint_raises() -> None:
    with pytest.raises(ValueError):
        version_matches("1.0.0", ">= banana")
    with pytest.raises(ValueError):
        version_matches("1.0.0", ">= 1.0,")


def test_exact_and_lowest_versions() -> None:
    assert exact_version("4.2.1") is not None
    assert exact_version("~> 4.2") is None
    low = lowest_allowed(">= 2.1, < 3")
    assert low is not None and (low.major, low.minor) == (2, 1)
    assert lowest_allowed("< 3") is None


@pytest.mark.parametrize(
    ("source", "kind", "base", "ref"),
    [
        ("./modules/x", "local", "./modules/x", None),
        ("app.terraform.io/Acme/s3-bucket/aws", "registry", "app.terraform.io/acme/s3-bucket/aws", None),
        ("terraform-aws-modules/vpc/aws//modules/endpoints", "registry", "terraform-aws-modules/vpc/aws",
         None),
        ("git::https://git.acme.internal/net.git?ref=v1.2.0", "git", "git::https://git.acme.internal/net.git",
         "v1.2.0"),
        ("git::https://git.acme.internal/net.git//sub?ref=abc1234", "git",
         "git::https://git.acme.internal/net.git", "abc1234"),
        ("github.com/acme/net", "git", "github.com/acme/net", None),
        ("https://example.com/module.zip", "other", "https://example.com/module.zip", None),
    ],
)
def test_parse_source(source: str, kind: str, base: str, ref: str | None) -> None:
    s = parse_source(source)
    assert (s.kind, s.base, s.ref) == (kind, base, ref)


def test_example_catalogue_loads_and_answers_lookups() -> None:
    cat = load_catalogue(str(REPO / "examples" / "approved-modules.yaml"))
    s3 = cat.module_replacing("aws_s3_bucket")
    assert s3 is not None and s3.name == "s3-bucket" and s3.pin == "4.2.1"
    assert s3.inputs["bucket"] == "bucket" and s3.address == "aws_s3_bucket.this"
    assert cat.module_for_source("app.terraform.io/acme/s3-bucket/aws") is s3
    net = cat.module_for_source("git::https://git.acme.internal/platform/terraform-network.git?ref=v2.3.0")
    assert net is not None and net.name == "network"
    assert cat.is_approved("git::https://git.acme.internal/other/thing.git")
    assert cat.is_approved("./local")
    assert not cat.is_approved("terraform-aws-modules/s3-bucket/aws")
    assert cat.module_replacing("aws_instance") is None


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("version: 1\nmodules:\n  - name: a\n    version: '1.0'\n", 2, "missing 'source'"),
        ("version: 1\nmodules:\n  - name: a\n    source: x/y/aws\n    version: '>= banana'\n", 4,
         "not a version"),
        ("version: 1\nmodules:\n  - name: a\n    source: ns/a/aws\n", 2, "needs an approved 'version'"),
        ("version: 1\nmodules:\n  - name: a\n    source: ./a\n    colour: red\n", 4, "unknown key 'colour'"),
        ("version: 2\n", 0, "version 1"),
        ("modules: [\n", 1, "invalid YAML"),
        ("modules:\n  - {name: a, source: ./a}\n  - {name: a, source: ./b}\n", 2, "duplicate module name"),
    ],
    ids=["missing-source", "bad-constraint", "registry-needs-version", "unknown-key", "format-version",
         "yaml-syntax", "duplicate"],
)
def test_bad_catalogue_error_is_located(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_catalogue(text, "/ws/approved-modules.yaml")
    assert info.value.line == line
    assert fragment in info.value.message


def test_missing_catalogue_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_catalogue(str(tmp_path / "nope.yaml"))
