"""The dynamic-block test of Checkov's blocks (checks/dynamic_search.py) answers as ``dpath.search`` does.

Same return value, same exception (type and message), for crafted edge cases, for random trees and
globs, and for every call Checkov makes while it scans a module repository of the shared corpora.
"""

from __future__ import annotations

import random
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Any

import dpath
import pytest

from tfguard.checks import dynamic_search, memo
from tfguard.checks.checkov_env import checkov_modules
from tfguard.checks.graph import run_checkov

fast = dynamic_search.make_search(dpath.search)


def _outcome(fn: Any, obj: Any, glob: Any) -> tuple[str, Any]:
    try:
        return "value", fn(obj, glob)
    except Exception as e:  # noqa: BLE001 (the exception is the outcome compared)
        return type(e).__name__, str(e)


def _same(obj: Any, glob: Any) -> None:
    assert _outcome(fast, obj, glob) == _outcome(dpath.search, obj, glob), (obj, glob)


def _deep(n: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": 1}
    for _ in range(n):
        node = {"dynamic": node}
    return node


CASES = {
    "found": ({"dynamic": {"rule": {"content": {"x": "${rule.value}"}, "for_each": "${var.r}"}}},
              ["dynamic", "rule", "content"]),
    "content is empty": ({"dynamic": {"rule": {"content": {}}}}, ["dynamic", "rule", "content"]),
    "content is a leaf": ({"dynamic": {"rule": {"content": "x"}}}, ["dynamic", "rule", "content"]),
    "absent": ({"dynamic": {"rule": {"for_each": []}}}, ["dynamic", "rule", "content"]),
    "through a list": ({"dynamic": [{"rule": {"content": {}}}]}, ["dynamic", "rule", "content"]),
    "nested": ({"dynamic": {"a": {"content": {"dynamic": {"b": {"content": {"k": 1}}}}}}},
               ["dynamic", "a", "content", "dynamic", "b", "content"]),
    "empty key elsewhere": ({"dynamic": {"rule": {"content": {}}}, "tags": {"": "x"}},
                            ["dynamic", "rule", "content"]),
    "empty key deep in a list": ({"a": [{"b": [{"": 1}]}], "dynamic": {"r": {"content": {}}}},
                                 ["dynamic", "r", "content"]),
    "glob star": ({"dynamic": {"rule": {"content": {}}}}, ["dynamic", "*", "content"]),
    "glob question mark": ({"dynamic": {"rule": {"content": {}}}}, ["dynamic", "rul?", "content"]),
    "glob brackets": ({"dynamic": {"rule": {"content": {}}}}, ["dynamic", "[r]ule", "content"]),
    "star star": ({"dynamic": {"rule": {"content": {}}}}, ["**", "content"]),
    "digit segment into a list": ({"dynamic": [{"content": {}}]}, ["dynamic", "0", "content"]),
    "negative index": ({"dynamic": [{"content": {}}, {"content": {}}]}, ["dynamic", "-1", "content"]),
    "int dict key": ({"dynamic": {5: {"content": {}}}}, ["dynamic", "5", "content"]),
    "bool dict key": ({"dynamic": {True: {"content": {}}}}, ["dynamic", "True", "content"]),
    "tuple node": ({"dynamic": ({"content": {}},)}, ["dynamic", "0", "content"]),
    "ordered dict node": ({"dynamic": OrderedDict(rule={"content": {}})}, ["dynamic", "rule", "content"]),
    "ordered dict root": (OrderedDict(dynamic={"rule": {"content": {}}}), ["dynamic", "rule", "content"]),
    "string glob": ({"dynamic": {"rule": {"content": {}}}}, "dynamic/rule/content"),
    "empty glob": ({"dynamic": {}}, []),
    "empty segment": ({"dynamic": {"": {"content": {}}}}, ["dynamic", "", "content"]),
    "deeper than the fast path goes": (_deep(dynamic_search.MAX_DEPTH + 5), ["dynamic", "dynamic", "dynamic"]),
    "leaf root": ("text", ["dynamic"]),
    "glob longer than the tree": ({"dynamic": {"rule": "x"}}, ["dynamic", "rule", "content", "more"]),
}


@pytest.mark.parametrize("obj,glob", list(CASES.values()), ids=list(CASES))
def test_answers_and_raises_as_dpath_does(obj: Any, glob: Any) -> None:
    _same(obj, glob)


def _random_tree(rnd: random.Random, depth: int) -> Any:
    keys = ["dynamic", "content", "rule", "for_each", "tags", "", "0", "x*", "1"]
    r = rnd.random()
    if depth == 0 or r < 0.25:
        return rnd.choice(["v", 1, None, True, 2.5, "${rule.value}"])
    if r < 0.45:
        return [_random_tree(rnd, depth - 1) for _ in range(rnd.randint(0, 3))]
    return {rnd.choice(keys): _random_tree(rnd, depth - 1) for _ in range(rnd.randint(0, 4))}


def test_random_trees_and_globs_answer_as_dpath_does() -> None:
    rnd = random.Random(20261202)
    names = ["dynamic", "content", "rule", "for_each", "0", "*", "", "x*", "1"]
    for _ in range(3000):
        tree = _random_tree(rnd, 5)
        glob = [rnd.choice(names) for _ in range(rnd.randint(1, 4))]
        _same(tree, glob)


def test_installed_with_the_memos_and_off_with_them() -> None:
    from checkov.terraform.graph_builder.graph_components import blocks

    checkov_modules()
    assert isinstance(blocks.dpath, dynamic_search.DpathView)
    assert blocks.dpath.get is dpath.get
    with memo.disabled():
        assert blocks.dpath is dpath


def test_every_call_of_a_real_scan_answers_as_dpath_does(corpora: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """terraform-aws-s3-bucket has dynamic blocks in most resources; each call is answered both ways."""
    from checkov.terraform.graph_builder.graph_components import blocks

    checkov_modules()
    view = blocks.dpath
    assert isinstance(view, dynamic_search.DpathView)
    installed = view.search
    calls: list[Any] = []

    def both(obj: Any, glob: Any, *args: Any, **kwargs: Any) -> Any:
        expected = _outcome(dpath.search, obj, glob)
        got = _outcome(fast, obj, glob)
        calls.append((got == expected, glob))
        return installed(obj, glob, *args, **kwargs)

    monkeypatch.setattr(view, "search", both)
    root = tmp_path / "s3"
    shutil.copytree(corpora / "terraform-aws-s3-bucket", root)
    run = run_checkov(str(root))
    assert run.records
    assert len(calls) > 100, "the corpus's dynamic blocks should be asked about"
    assert all(ok for ok, _ in calls), [g for ok, g in calls if not ok][:5]
