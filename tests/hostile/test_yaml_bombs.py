"""Guarantee 5: a YAML alias bomb ("billion laughs") or a deep nest is refused, located, fast, small.

Planted in ``.checkov.yaml`` (``skip-check``), ``.tfguard.yaml``, a catalogue and a YAML policy. Each
expands to 10**9 nodes if walked; the budgeted loader (``tfguard.safeyaml``) refuses it after at most
10,000 aliased nodes.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable

import pytest
import yaml

from tests.hostile.conftest import Planted
from tfguard import safeyaml
from tfguard.catalogue import load_catalogue
from tfguard.config.checkov import ConfigError, load_checkov_config
from tfguard.config.tfguard import load_config_file


def bomb(key: str) -> str:
    """``key`` holds 10**9 strings through nine levels of ten aliases (about 400 bytes)."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + f"\n{key}: *l9\n"


BOMB_REFUSED = "refused (a YAML alias bomb?)"


def _within_budget(call: Callable[[], object], seconds: float = 0.5) -> ConfigError:
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ConfigError) as e:
        call()
    assert time.monotonic() - started < seconds
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB: no blow-up
    return e.value


@pytest.mark.timeout(60)
def test_checkov_yaml_skip_check_bomb(planted: Planted) -> None:
    path = planted.write(".checkov.yaml", bomb("skip-check"))
    err = _within_budget(lambda: load_checkov_config(str(path)))
    assert BOMB_REFUSED in err.message and err.line > 0


@pytest.mark.timeout(60)
def test_tfguard_yaml_bomb(planted: Planted) -> None:
    path = planted.write(".tfguard.yaml", bomb("checks"))
    err = _within_budget(lambda: load_config_file(str(path)))
    assert BOMB_REFUSED in err.message and err.line > 0


@pytest.mark.timeout(60)
def test_catalogue_bomb(planted: Planted) -> None:
    path = planted.write("approved.yaml", bomb("modules"))
    err = _within_budget(lambda: load_catalogue(str(path)))
    assert BOMB_REFUSED in err.message and err.line > 0


@pytest.mark.timeout(60)
def test_deep_nesting_is_refused_not_a_recursion_error(planted: Planted) -> None:
    path = planted.write(".tfguard.yaml", "checks: " + "[" * 5000 + "]" * 5000 + "\n")
    err = _within_budget(lambda: load_config_file(str(path)), 2.0)  # 10,000 flow tokens scanned first
    assert "levels deep: refused" in err.message


@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", [".checkov.yaml", ".tfguard.yaml", "catalogue", "policy"])
def test_a_scan_refuses_the_bomb_with_a_located_problem(planted: Planted, where: str) -> None:
    if where == ".checkov.yaml":
        planted.write(".checkov.yaml", bomb("skip-check"))
    elif where == ".tfguard.yaml":
        planted.write(".tfguard.yaml", bomb("checks"))
    elif where == "catalogue":
        planted.write("approved.yaml", bomb("modules"))
        planted.write(".tfguard.yaml", "catalogue: approved.yaml\n")
    else:
        planted.write("policies/bomb.yaml", "metadata: {id: CKV2_X_1, name: x}\n" + bomb("definition"))
        planted.write(".tfguard.yaml", "policy_dirs: [policies]\n")
    started = time.monotonic()
    scan = planted.scan()
    assert time.monotonic() - started < 40
    assert scan.proc.returncode in (1, 2), scan.everything[-2000:]
    assert BOMB_REFUSED in scan.everything
    if where in (".tfguard.yaml", "catalogue"):
        problem = scan.problem(BOMB_REFUSED)
        assert problem["line"] > 1


def test_ordinary_aliases_still_load() -> None:
    assert safeyaml.safe_load("a: &x [1, 2]\nb: *x\nc: {<<: {k: 1}}\n") == {"a": [1, 2], "b": [1, 2], "c": {"k": 1}}
    with pytest.raises(yaml.YAMLError):
        safeyaml.safe_load("a: " + "&x [" * 3)


@pytest.mark.timeout(60)
def test_a_long_catalogue_reusing_an_anchor_per_entry_still_loads(planted: Planted) -> None:
    entries = "".join(f"  - {{name: m{i}, source: ./m{i}, inputs: *inputs, replaces: *types}}\n"
                      for i in range(1, 300))
    text = ("modules:\n  - {name: m0, source: ./m0, inputs: &inputs {bucket: bucket, tags: tags},"
            " replaces: &types [aws_s3_bucket]}\n" + entries)
    path = planted.write("approved.yaml", text)
    catalogue = load_catalogue(str(path))
    assert len(catalogue.modules) == 300 and catalogue.modules[-1].replaces == ("aws_s3_bucket",)
