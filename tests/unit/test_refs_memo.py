"""The memo of Checkov's reference extraction (checks/refs_memo.py) returns what Checkov's function returns."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from tfguard.checks import memo, refs_memo
from tfguard.checks.checkov_env import checkov_modules

STRINGS = [
    "var.name",
    "${var.name}-${local.suffix}",
    "aws_vpc.main.id",
    "${aws_vpc.main[0].cidr_block}",
    'length(aws_subnet.private) > 0 ? aws_subnet.private[0].id : ${var.x}',
    "module.vpc.vpc_id",
    "data.aws_iam_policy_document.this.json",
    "aws.east.region",
    "google_project.p.number, aws_vpc.main.arn",
    "just a plain string",
    "1.2.3",
    "./relative/path.tf",
    '${merge(var.tags, {"Name" = local.name})}',
    "${try(aws_s3_bucket.b[0].id, \"\")}",
]
TYPE_SETS: list[list[str]] = [[], ["aws_vpc"], ["aws_vpc", "aws_subnet", "aws_s3_bucket"], ["google_project"]]
ALIASES: list[dict[str, Any]] = [{}, {"aws": {"block_type_": "provider"}}, {"aws.east": {"block_type_": "provider"}}]


def _as_data(refs: list[Any]) -> list[tuple[Any, list[str], str]]:
    return [(type(r).__name__, r.block_type, list(r.sub_parts), r.origin_value) for r in refs]


@pytest.fixture()
def functions() -> tuple[Any, Any]:
    checkov_modules()
    import checkov.terraform.graph_builder.utils as gu

    memoized = gu.get_referenced_vertices_in_str_value
    assert hasattr(memoized, "__wrapped__"), "reference memo not installed"
    refs_memo.cache.clear()
    return memoized, memoized.__wrapped__


def test_memoized_references_equal_checkovs_for_every_types_and_aliases(functions: tuple[Any, Any]) -> None:
    memoized, real = functions
    combos = list(itertools.product(STRINGS, range(len(TYPE_SETS)), range(len(ALIASES))))
    random.Random(5).shuffle(combos)  # the same string asked with other types/aliases before and after
    hits = refs_memo.stats["refs_hits"]
    for _ in range(2):
        for s, t, a in combos:
            want = _as_data(real(str_value=s, aliases=ALIASES[a], resources_types=list(TYPE_SETS[t])))
            got = _as_data(memoized(str_value=s, aliases=ALIASES[a], resources_types=list(TYPE_SETS[t])))
            assert got == want, (s, TYPE_SETS[t], ALIASES[a])
    assert refs_memo.stats["refs_hits"] > hits, "the second pass must be answered from the memo"


def test_a_caller_changing_its_references_does_not_change_the_next_answer(functions: tuple[Any, Any]) -> None:
    memoized, real = functions
    args = {"str_value": "${aws_vpc.main.id}", "aliases": {}, "resources_types": ["aws_vpc"]}
    first = memoized(**args)
    first[0].sub_parts.append("changed")  # Checkov's renderer keeps and passes these lists on
    first[0].origin_value = "changed"
    assert _as_data(memoized(**args)) == _as_data(real(**args))


def test_the_reference_memo_is_bounded_in_bytes(functions: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    memoized, _ = functions
    assert refs_memo.cache in memo._CACHES  # cleared with the others, handed back by forked scan workers
    small = refs_memo.BoundedMemo(20_000)
    monkeypatch.setattr(refs_memo, "cache", small)
    for i in range(2000):
        memoized(str_value=f"${{var.v{i}}}-${{aws_vpc.n{i}.id}}", aliases={}, resources_types=["aws_vpc"])
        assert small.currsize <= small.maxsize
    assert 0 < len(small) < 2000
    assert small.currsize == sum(v[2] for v in small.values())
    newest = "${var.v1999}-${aws_vpc.n1999.id}"
    assert any(k[0] == newest for k in small), "the oldest entries go first"


def test_memo_disabled_runs_checkovs_own_function(functions: tuple[Any, Any]) -> None:
    import checkov.terraform.graph_builder.utils as gu

    memoized, real = functions
    with memo.disabled():
        assert gu.get_referenced_vertices_in_str_value is real
    assert gu.get_referenced_vertices_in_str_value is memoized


def test_the_realpath_view_lasts_one_build_only() -> None:
    """Checkov's local_graph sees the real ``os`` outside a memoized build (checks/graph_memo.py)."""
    import os

    checkov_modules()
    import checkov.terraform.graph_builder.local_graph as lg

    from tfguard.checks import graph_memo

    seen: list[Any] = []
    graph_memo._build_remembering_realpath(lambda g, r: seen.append(lg.os), None, True)
    assert isinstance(seen[0], graph_memo._OsView) and lg.os is os
    view = seen[0]
    assert view.path.realpath("/") == os.path.realpath("/") and view.getenv is os.getenv


def test_edges_hash_and_compare_as_checkov_defines_them() -> None:
    """checks/edge_memo.py: the same hash numbers (set order) and the same equality as ``str(edge)``'s."""
    checkov_modules()
    from checkov.common.graph.graph_builder.graph_components.edge import Edge

    assert hasattr(Edge.__hash__, "__wrapped__") and hasattr(Edge.__eq__, "__wrapped__"), "edge memo not installed"
    rnd = random.Random(3)
    labels = ["name", "tags", "a)-> 1", "x -(y", "", "count"]
    edges = [Edge(rnd.choice([0, 1, 12, -1, 123]), rnd.choice([0, 1, 2, 21, -1]), rnd.choice(labels))
             for _ in range(300)]
    edges += [Edge("1", 2, "name"), Edge(1, "2", "name"), Edge(True, 2, "name"), Edge(1, 2, "name")]
    for e in edges:
        assert hash(e) == hash(str(e))
        assert hash(e) == hash(e)  # kept: asked again
    for a, b in itertools.product(edges, repeat=2):
        assert (a == b) is (str(a) == str(b)), (str(a), str(b))
        assert (a != b) is (str(a) != str(b))
    assert (Edge(1, 2, "x") == "[1 -(x)-> 2]") is False
    with memo.disabled():
        assert not hasattr(Edge.__hash__, "__wrapped__") and not hasattr(Edge.__eq__, "__wrapped__")


def test_memoized_var_blocks_equal_checkovs_and_are_fresh_objects() -> None:
    """checks/memo.py's ``find_var_blocks`` memo, where the renderer and evaluate_terraform call it."""
    checkov_modules()
    import checkov.common.util.parser_utils as cpu
    import checkov.terraform.graph_builder.variable_rendering.evaluate_terraform as et

    memoized = cpu.find_var_blocks
    assert hasattr(memoized, "__wrapped__") and et.find_var_blocks is memoized, "var-blocks memo not installed"
    real = memoized.__wrapped__
    samples = STRINGS + ["${var.a}${var.b}", "$${not.a.var}", "${lookup(var.m, \"k\", local.d)}", "'${local.q}'",
                         "${{a = var.b}}", "${concat([var.a], [\"${var.b}\"])}", "${", "}${"]
    for _ in range(2):
        for s in samples:
            assert [(m.full_str, m.var_only) for m in memoized(s)] == [(m.full_str, m.var_only) for m in real(s)], s
    first = memoized("${var.a}-${var.b}")
    first[0].replace("var", "changed")  # VarBlockMatch.replace mutates: the next caller must not see it
    assert [(m.full_str, m.var_only) for m in memoized("${var.a}-${var.b}")] == \
        [("${var.a}", "var.a"), ("${var.b}", "var.b")]
    assert memo.stats["var_blocks_hits"] > 0
    with memo.disabled():
        assert cpu.find_var_blocks is real and et.find_var_blocks is real
