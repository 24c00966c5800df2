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

from checkov.common.checks_infra.solvers.connections_solvers import base_connection_solver as bcs  # noqa: E402
from checkov.common.checks_infra.solvers.connections_solvers.connection_exists_solver import (  # noqa: E402
    ConnectionExistsSolver,
)
from checkov.common.graph.checks_infra.solvers.base_solver import BaseSolver  # noqa: E402
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
REAL_SET_VERTICES = getattr(bcs.BaseConnectionSolver.set_vertices, "__wrapped__", bcs.BaseConnectionSolver.set_vertices)
fast_set_vertices = render_fast.connection_vertices(REAL_SET_VERTICES, BaseSolver.resource_type_pred, bcs.DiGraph,
                                                    bcs.env_vars_config if hasattr(bcs, "env_vars_config") else
                                                    __import__("checkov.common.util.env_vars_config",
                                                               fromlist=["env_vars_config"]).env_vars_config,
                                                    bcs.CustomAttributes.RESOURCE_TYPE)
SOLVER_LISTS = ("vertices_under_resource_types", "vertices_under_connected_resources_types", "excluded_vertices",
                "unknown_vertices")


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
        if trial % 5 == 0:  # an edge Checkov would compare as strings
            edges.append(Edge(str(rng.randrange(n)), 1, "a"))
        out: dict[Any, list[Any]] = {}
        for e in edges:
            out.setdefault(e.origin, []).append(e)
        real, fast = _Renderer(out), _Renderer(out)
        real_ends: set[int] = set()
        fast_ends: set[int] = set()
        for _ in range(8):
            batch = [copy.copy(e) if rng.random() < 0.3 else e  # equal edges, other objects
                     for e in rng.sample(edges, rng.randint(1, len(edges)))]
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


def _solver_lists(fn: Any, solver: Any, graph: Any, exclude: list[Any], unknown: list[Any]) -> list[list[int]]:
    fn(solver, graph, exclude, unknown)
    return [[id(v) for v in getattr(solver, name)] for name in SOLVER_LISTS]  # the very node data objects


def test_connection_solver_vertices_as_checkov_lists_them() -> None:
    import rustworkx

    graph = rustworkx.PyDiGraph()
    nodes = [{"resource_type": "aws_s3_bucket", "block_name_": "b"}, {"resource_type": "aws_s3_bucket_acl"},
             {"block_type_": "output"}, {"resource_type": "module"}, {"resource_type": ["aws_s3_bucket"]},
             {"resource_type": "aws_iam_role"}, {"resource_type": None}]
    for i, n in enumerate(nodes):
        graph.add_node((i, n))  # Checkov's rustworkx graph holds (index, data) pairs
    cases = [(["aws_s3_bucket"], ["aws_s3_bucket_acl"]), ([], ["aws_iam_role"]), (["aws_iam_role"], []),
             (["nothing"], ["aws_s3_bucket", "module"])]
    for resource_types, connected in cases:
        for exclude, unknown in (([], []), ([nodes[0]], [{"resource_type": "aws_iam_role"}])):
            real = ConnectionExistsSolver(resource_types, connected)
            fast = ConnectionExistsSolver(resource_types, connected)
            assert _solver_lists(fast_set_vertices, fast, graph, exclude, unknown) == \
                _solver_lists(REAL_SET_VERTICES, real, graph, exclude, unknown), (resource_types, connected)


def test_connection_solver_vertices_with_checkovs_all_types_setting_are_checkovs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import rustworkx
    from checkov.common.util.env_vars_config import env_vars_config

    monkeypatch.setattr(env_vars_config, "CKV_SUPPORT_ALL_RESOURCE_TYPE", "True")
    calls: list[Any] = []
    fn = render_fast.connection_vertices(lambda *args: calls.append(args), BaseSolver.resource_type_pred, bcs.DiGraph,
                                         env_vars_config, bcs.CustomAttributes.RESOURCE_TYPE)
    solver = ConnectionExistsSolver(["all"], ["aws_s3_bucket"])
    fn(solver, rustworkx.PyDiGraph(), [], [])
    assert len(calls) == 1


def test_installed_with_the_memos_and_off_with_them() -> None:
    assert getattr(TerraformBlock.get_origin_attributes, "__wrapped__", None) is REAL_ORIGIN
    assert getattr(gu.attribute_has_nested_attributes, "__wrapped__", None) is REAL_NESTED
    import checkov.terraform.graph_builder.local_graph as lg
    import checkov.terraform.graph_builder.variable_rendering.renderer as tr
    assert lg.attribute_has_nested_attributes is gu.attribute_has_nested_attributes  # imported by name there
    assert tr.attribute_has_nested_attributes is gu.attribute_has_nested_attributes
    assert getattr(VariableRenderer._update_end_vertices_indexes, "__wrapped__", None) is REAL_END
    assert getattr(bcs.BaseConnectionSolver.set_vertices, "__wrapped__", None) is REAL_SET_VERTICES
    with memo.disabled():
        assert bcs.BaseConnectionSolver.set_vertices is REAL_SET_VERTICES
        assert TerraformBlock.get_origin_attributes is REAL_ORIGIN
        assert lg.attribute_has_nested_attributes is REAL_NESTED
        assert VariableRenderer._update_end_vertices_indexes is REAL_END
    assert lg.attribute_has_nested_attributes is not REAL_NESTED


def test_every_call_of_a_real_scan_answers_as_checkov(corpora: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """terraform-aws-s3-bucket: every call of the four during a run is made both ways (on copies where they write)."""
    import checkov.terraform.graph_builder.local_graph as lg
    import checkov.terraform.graph_builder.variable_rendering.renderer as tr

    wrong: list[str] = []
    counts = {"origin": 0, "nested": 0, "end": 0, "solver": 0}
    installed_origin = TerraformBlock.get_origin_attributes
    installed_nested = gu.attribute_has_nested_attributes
    installed_end = VariableRenderer._update_end_vertices_indexes
    installed_set_vertices = bcs.BaseConnectionSolver.set_vertices

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

    def set_vertices(self: Any, graph: Any, exclude: list[Any], unknown: list[Any]) -> None:
        counts["solver"] += 1
        twin = copy.copy(self)
        expected = _solver_lists(REAL_SET_VERTICES, twin, graph, exclude, unknown)
        if _solver_lists(installed_set_vertices, self, graph, exclude, unknown) != expected:
            wrong.append(f"connection vertices of {self.resource_types} / {self.connected_resources_types}")

    monkeypatch.setattr(bcs.BaseConnectionSolver, "set_vertices", set_vertices)
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
