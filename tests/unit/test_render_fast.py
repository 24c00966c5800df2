"""The graph-building helpers of checks/render_fast.py compute what Checkov's functions compute.

Each is compared with Checkov's own function: the same result (keys in the same order, nested
containers the same), the same changes to its inputs, the same exception, on inputs made to reach
every branch, on random ones, and on every call Checkov makes while it scans a module repository of
the shared corpora (each call answered both ways, on copies of its inputs).
"""

from __future__ import annotations

import copy
import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from tfguard.checks import memo, render_fast
from tfguard.checks.checkov_env import checkov_modules
from tfguard.checks.graph import run_checkov

checkov_modules()

from checkov.common.graph.graph_builder.graph_components.blocks import Block  # noqa: E402
from checkov.common.graph.graph_builder.graph_components.edge import Edge  # noqa: E402
from checkov.common.graph.graph_builder.variable_rendering.renderer import VariableRenderer  # noqa: E402
from checkov.terraform.graph_builder import utils as gu  # noqa: E402
from checkov.terraform.graph_builder.graph_components.blocks import TerraformBlock  # noqa: E402

REAL_ORIGIN = Block.get_origin_attributes
REAL_NESTED = getattr(gu.attribute_has_nested_attributes, "__wrapped__", gu.attribute_has_nested_attributes)
REAL_END = getattr(VariableRenderer._update_end_vertices_indexes, "__wrapped__",
                   VariableRenderer._update_end_vertices_indexes)
fast_origin = render_fast.origin_attributes(REAL_ORIGIN, TerraformBlock)
fast_nested = render_fast.nested_attributes(REAL_NESTED, gu.NESTED_ATTRIBUTE_PATTERN)
fast_end = render_fast.end_vertices(REAL_END)


def _block(attributes: dict[str, Any]) -> TerraformBlock:
    return TerraformBlock(name="aws_s3_bucket.b", config={}, path="/m/main.tf", block_type="resource",
                          attributes=attributes)


def _shape(value: Any, seen: dict[int, int]) -> Any:
    """``value`` with every list and dict numbered by identity: two results alike in repr and in which of
    their containers are one object."""
    if isinstance(value, (list, dict)):
        n = seen.setdefault(id(value), len(seen))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        return (type(value).__name__, n, [(k, _shape(v, seen)) for k, v in items])
    return repr(value)


def _origin_both_ways(attributes: dict[str, Any], base: dict[str, Any] | None = None) -> None:
    outcomes = []
    for fn in (REAL_ORIGIN, fast_origin):
        block = _block(copy.deepcopy(attributes))
        out = copy.deepcopy(base or {})
        fn(block, out)
        seen: dict[int, int] = {}
        # the block's attributes first: the result's containers numbered as the ones it shares with them
        outcomes.append((_shape(block.attributes, seen), _shape(out, seen)))
    assert outcomes[0] == outcomes[1], attributes


@pytest.mark.parametrize("attributes", [
    {},
    {"bucket": ["b"], "acl": "private"},
    {"tags": [{"Name": "x", "Env": ["prod"]}]},
    {"tags": [{"": "dropped", "kept": "y"}]},                   # Checkov deletes a "" key from the vertex
    {"rule": [[{"id": "a"}, {"id": "b", "": 1}]]},              # a list in a one-element list: unwrapped below the top
    {"rule": [{"id": "a"}, {"id": "b"}]},
    {"self": ["s"], "x": [1]},                                  # "self" becomes "self_"
    {"a.b": [{"c": 1}], "a": [{"b": {"c": 2}}]},                # dotted keys that collide: the last write wins
    {"list.0": ["v"], "list": [["p", "q"]]},
    {"n": [[[]]], "m": [{}], "e": [[]]},
    {"ints": [{1: "one", 2: ["two"]}]},
    {"deep": [{"a": [{"b": [{"c": [1, 2, {"d": ""}]}]}]}]},
])
def test_origin_attributes_as_checkov_flattens_them(attributes: dict[str, Any]) -> None:
    _origin_both_ways(attributes)


def test_origin_attributes_keep_what_the_dict_held_before() -> None:
    _origin_both_ways({"tags": [{"Name": "x"}], "name": ["n"]},
                      base={"tags.Name": "earlier", "block_name_": "b", "name": "old"})


def _random_value(rng: random.Random, depth: int) -> Any:
    kind = rng.random()
    if depth <= 0 or kind < 0.35:
        return rng.choice(["s", "", 0, 1, None, True, "${var.x}", 2.5])
    if kind < 0.65:
        return [_random_value(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    keys = ["a", "b", "", "0", "a.b", "x.1", "self"]
    return {rng.choice(keys): _random_value(rng, depth - 1) for _ in range(rng.randint(0, 4))}


def test_origin_attributes_of_random_vertices_as_checkov() -> None:
    rng = random.Random(15)
    for _ in range(400):
        keys = ["a", "a.b", "a.0", "b", "self", "c.d.e", "0"]
        _origin_both_ways({rng.choice(keys): _random_value(rng, 4) for _ in range(rng.randint(1, 5))})


def test_origin_attributes_of_other_block_classes_are_checkovs() -> None:
    class Other(TerraformBlock):
        pass

    block = Other(name="x", config={}, path="/m.tf", block_type="resource", attributes={"tags": [{"": 1}]})
    calls: list[Any] = []
    render_fast.origin_attributes(lambda self, out: calls.append(self), TerraformBlock)(block, {})
    assert calls == [block]


def _nested_outcome(fn: Any, key: str, attributes: dict[str, Any], leaf: Any) -> tuple[str, Any]:
    try:
        return "value", fn(key, attributes, leaf)
    except Exception as e:  # noqa: BLE001 (the exception is the outcome compared)
        return type(e).__name__, str(e)


def _nested_both_ways(attributes: dict[str, Any]) -> None:
    block = _block(attributes)
    for leaf in (None, {}, gu.get_attribute_is_leaf(block), {k: True for k in attributes}):
        for key in [*attributes, "missing", ""]:
            assert _nested_outcome(fast_nested, key, attributes, leaf) == \
                _nested_outcome(REAL_NESTED, key, attributes, leaf), (key, attributes, leaf)


@pytest.mark.parametrize("attributes", [
    {"ingress": [[{"from": 1}]], "ingress.0": [{"from": 1}], "ingress.0.from": 1},
    {"tags": {"a": 1}, "tags.a": 1},
    {"tags": [{"a": 1}], "tags_all.0": "x"},                   # a prefix in the string, not in the path
    {"name": "n", "name.0": "x"},
    {"list": [1, 2], "list.x": 1},
    {"list": [1, 2], "list.1x": 1},
    {"l": [], "l.10": 2},
])
def test_nested_attributes_as_checkov_answers(attributes: dict[str, Any]) -> None:
    _nested_both_ways(attributes)


def test_nested_attributes_of_random_vertices_as_checkov() -> None:
    rng = random.Random(7)
    parts = ["a", "b", "0", "1", "12", "x1", "ab"]
    for _ in range(300):
        attributes: dict[str, Any] = {}
        for _ in range(rng.randint(1, 8)):
            key = ".".join(rng.choice(parts) for _ in range(rng.randint(1, 3)))
            attributes[key] = _random_value(rng, 2)
        _nested_both_ways(attributes)


class _Graph:
    def __init__(self, out_edges: dict[int, list[Any]]) -> None:
        self.out_edges = out_edges


class _Renderer:
    def __init__(self, out_edges: dict[int, list[Any]]) -> None:
        self.local_graph = _Graph(out_edges)
        self.done_edges_by_origin_vertex: dict[int, list[Any]] = {}


def test_end_vertices_round_by_round_as_checkov() -> None:
    rng = random.Random(3)
    for trial in range(60):
        n = rng.randint(2, 12)
        edges = [Edge(rng.randrange(n), rng.randrange(n), rng.choice(["a", "b", "tags.Name"])) for _ in range(3 * n)]
        if trial % 5 == 0:  # an edge Checkov would compare as strings: that origin gets Checkov's test
            edges.append(Edge(str(rng.randrange(n)), 1, "a"))
        out: dict[Any, list[Any]] = {}
        for e in edges:
            out.setdefault(e.origin, []).append(e)
        assert sum(map(render_fast._plain, edges)) >= 3 * n
        real, fast = _Renderer(out), _Renderer(out)
        real_ends: set[int] = set()
        fast_ends: set[int] = set()
        for _ in range(8):
            batch = rng.sample(edges, rng.randint(1, len(edges)))
            for r in (real, fast):
                for e in batch:  # what _update_done_edges_by_origin_vertex does before each call
                    r.done_edges_by_origin_vertex.setdefault(e.origin, []).append(e)
            if rng.random() < 0.2:  # the renderer's other writer (output -> output edges)
                e = rng.choice(edges)
                for r in (real, fast):
                    r.done_edges_by_origin_vertex.setdefault(e.origin, []).append(e)
            if rng.random() < 0.1:  # a list replaced outright is read anew
                o = rng.choice(edges).origin
                for r in (real, fast):
                    r.done_edges_by_origin_vertex[o] = [e for e in edges if e.origin == o]
            REAL_END(real, batch, real_ends)
            fast_end(fast, batch, fast_ends)
            assert fast_ends == real_ends, trial


def test_installed_with_the_memos_and_off_with_them() -> None:
    assert getattr(TerraformBlock.get_origin_attributes, "__wrapped__", None) is REAL_ORIGIN
    assert getattr(gu.attribute_has_nested_attributes, "__wrapped__", None) is REAL_NESTED
    import checkov.terraform.graph_builder.local_graph as lg
    import checkov.terraform.graph_builder.variable_rendering.renderer as tr
    assert lg.attribute_has_nested_attributes is gu.attribute_has_nested_attributes  # imported by name there
    assert tr.attribute_has_nested_attributes is gu.attribute_has_nested_attributes
    assert getattr(VariableRenderer._update_end_vertices_indexes, "__wrapped__", None) is REAL_END
    with memo.disabled():
        assert TerraformBlock.get_origin_attributes is REAL_ORIGIN
        assert lg.attribute_has_nested_attributes is REAL_NESTED
        assert VariableRenderer._update_end_vertices_indexes is REAL_END
    assert lg.attribute_has_nested_attributes is not REAL_NESTED


def test_every_call_of_a_real_scan_answers_as_checkov(corpora: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """terraform-aws-s3-bucket: every call of the three during a run is made both ways on copies."""
    import checkov.terraform.graph_builder.local_graph as lg
    import checkov.terraform.graph_builder.variable_rendering.renderer as tr

    wrong: list[str] = []
    counts = {"origin": 0, "nested": 0, "end": 0}
    installed_origin = TerraformBlock.get_origin_attributes
    installed_nested = gu.attribute_has_nested_attributes
    installed_end = VariableRenderer._update_end_vertices_indexes

    def origin(self: Any, base: dict[str, Any]) -> None:
        if type(self) is TerraformBlock:
            counts["origin"] += 1
            shapes = []
            for fn in (REAL_ORIGIN, fast_origin):
                twin = copy.copy(self)
                twin.attributes = pickle.loads(pickle.dumps(self.attributes))
                out = pickle.loads(pickle.dumps(base))
                fn(twin, out)
                seen: dict[int, int] = {}
                shapes.append((_shape(twin.attributes, seen), _shape(out, seen)))
            if shapes[0] != shapes[1]:
                wrong.append(f"origin attributes of {self.name}")
        installed_origin(self, base)

    def nested(key: str, attributes: dict[str, Any], leaf: Any = None) -> bool:
        counts["nested"] += 1
        if _nested_outcome(fast_nested, key, attributes, leaf) != _nested_outcome(REAL_NESTED, key, attributes, leaf):
            wrong.append(f"nested {key}")
        return bool(installed_nested(key, attributes, leaf))

    def end(self: Any, edges: list[Any], ends: set[int]) -> None:
        counts["end"] += 1
        expected = set(ends)
        REAL_END(self, edges, expected)
        installed_end(self, edges, ends)
        if ends != expected:
            wrong.append(f"end vertices after {len(edges)} edges")

    monkeypatch.setattr(TerraformBlock, "get_origin_attributes", origin)
    for module in (gu, lg, tr):
        monkeypatch.setattr(module, "attribute_has_nested_attributes", nested)
    monkeypatch.setattr(VariableRenderer, "_update_end_vertices_indexes", end)
    root = tmp_path / "s3"
    shutil.copytree(corpora / "terraform-aws-s3-bucket", root)
    with (root / "main.tf").open("a") as f:  # a value edit: the graph is built, not taken from the memo
        f.write('\nlocals {\n  tfguard_render_fast_test = "x"\n}\n')
    assert run_checkov(str(root)).records
    assert min(counts.values()) > 30, counts
    assert not wrong, wrong[:5]
