"""Guarantee 3: no message quotes more than the wrong token (cut at 40 characters), and configuration
messages never echo the content of a file that is not configuration ("an unknown key")."""

from __future__ import annotations

import pytest

from tests.hostile.conftest import SECRET_LINES, Planted, assert_nothing_leaked
from tfguard.catalogue import load_catalogue
from tfguard.config.checkov import ConfigError
from tfguard.config.tfguard import load_config_file
from tfguard.hcl.blocks import split_blocks
from tfguard.hcl.parse import parse_block

SHADOW = "\n".join(f"{u}:$6$saltsalt$" + "h" * 80 + ":20228:0:99999:7:::" for u in ("root", "admin")) + "\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", [SHADOW, "\n".join(SECRET_LINES) + "\n",
                                  "root:*:20228:0:99999:7:::\nTOPSECRET key: hunter2\n"])
def test_a_password_file_as_catalogue_is_not_echoed(planted: Planted, text: str) -> None:
    path = planted.write("approved.yaml", text)
    with pytest.raises(ConfigError) as e:
        load_catalogue(str(path))
    assert_nothing_leaked(e.value.message)
    assert "hhhhhhhh" not in e.value.message and "saltsalt" not in e.value.message
    planted.write(".tfguard.yaml", "catalogue: approved.yaml\n")
    scan = planted.scan()
    assert_nothing_leaked(scan.everything)
    assert "saltsalt" not in scan.everything


@pytest.mark.timeout(60)
def test_unknown_keys_are_quoted_only_when_they_look_like_keys(planted: Planted) -> None:
    path = planted.write(".tfguard.yaml", "severity_overides: {}\n")
    with pytest.raises(ConfigError, match="unknown key 'severity_overides'"):
        load_config_file(str(path))
    path = planted.write(".tfguard.yaml", "TOPSECRET aws_secret_access_key = hunter2: 1\n")
    with pytest.raises(ConfigError) as e:
        load_config_file(str(path))
    assert e.value.message.startswith("top level: unknown key") or "an unknown key" in e.value.message
    assert_nothing_leaked(e.value.message)
    cat = planted.write("approved.yaml", "modules:\n  - {name: a, source: ./a, 'hunter2 TOPSECRET': 1}\n")
    with pytest.raises(ConfigError) as e2:
        load_catalogue(str(cat))
    assert "an unknown key" in e2.value.message
    assert_nothing_leaked(e2.value.message)


@pytest.mark.timeout(60)
def test_a_syntax_error_quotes_at_most_40_characters_of_the_token(planted: Planted) -> None:
    secret = "TOPSECRET" + "x" * 200
    text = f'resource "aws_s3_bucket" "b" {{\n  bucket = "x"\n  {secret} {secret}\n}}\n'
    block = split_blocks(text).blocks[0]
    problem = parse_block(block, "main.tf").problem
    assert problem is not None and problem.code == "syntax"
    assert "x" * 41 not in problem.message
    junk = split_blocks(f"{secret} = = =\n").blocks[0]
    jp = parse_block(junk, "main.tf").problem
    assert jp is not None and "x" * 41 not in jp.message
    planted.write("main.tf", text)
    scan = planted.scan()
    messages = [p["message"] for p in scan.problems() if p["code"] == "syntax"]
    assert messages and all("x" * 41 not in m and len(m) < 160 for m in messages), messages


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", [
    "TOPSECRET" + "A" * 200 + " {\n  x = 1\n",  # unclosed block of an unknown kind
    'x = "TOPSECRET' + "C" * 300 + "\n",  # hcl2's "Line has unclosed quote marks: <the line>"
    "TOPSECRET" + "B" * 200 + " = = =\n",  # junk outside any block
])
def test_every_syntax_message_cuts_what_it_quotes(text: str) -> None:
    for block in split_blocks(text).blocks:
        problem = parse_block(block, "main.tf").problem
        assert problem is not None
        assert len(problem.message) < 160, problem.message
        for ch in "ABC":
            assert ch * 41 not in problem.message


@pytest.mark.timeout(60)
def test_yaml_errors_give_the_problem_not_a_snippet_of_the_file(planted: Planted) -> None:
    for text in ("checks: *" + "TOPSECRET" * 20 + "\n", "a: b: TOPSECRET hunter2\n", "k: [TOPSECRET hunter2\n"):
        path = planted.write(".tfguard.yaml", text)
        with pytest.raises(ConfigError) as e:
            load_config_file(str(path))
        assert e.value.message.startswith("invalid YAML: ")
        assert "TOPSECRET" * 5 not in e.value.message and "hunter2" not in e.value.message
