"""Four of Checkov's graph helpers, computed without their quadratic or recursive overhead.

Not memos: each replacement computes what Checkov's function computes, from the same inputs, with
the same side effects, in the same order. They are the hottest pure Python of a warm re-run after a
value edit (cProfile of terraform-aws-s3-bucket and terraform-aws-vpc): together about a sixth of an
s3-bucket run.

- ``TerraformBlock.get_origin_attributes`` (every vertex's attributes flattened: ``tags.Name``,
  ``rule.0.id`` ...; called for each edge's destination while rendering, for every vertex by
  ``evaluate_non_rendered_values`` and by the conversion to rustworkx: 807,000 recursive calls of
  ``get_inner_attributes`` per s3-bucket re-run). Checkov builds a dict per nested value and merges
  it into its parent's; here every entry is written straight into the result, in the same order. A
  dict built by a sequence of assignments and then merged (``update``) into another holds what the
  same assignments made directly would leave: each key where it was first written, with the value
  it was last given. The nested containers (``[None] * n`` for a list, ``{}`` for a dict) are built
  and filled as Checkov fills them, ``""`` keys are deleted from the vertex's own dicts as Checkov
  deletes them, and a one-element list below the top is unwrapped as ``TerraformBlock`` unwraps it.
  Only for vertices that are plain ``TerraformBlock`` objects; any other class gets Checkov's.
- ``attribute_has_nested_attributes(key, attributes, is_leaf)``: Checkov lists every attribute that
  starts with ``key`` and runs a regular expression over each, for every attribute of a vertex
  (quadratic in the vertex's attributes), then answers from the value's type. The answer is True
  for a dict and False for anything but a list whatever that list holds, so the scan is made only
  for a list, stops at the first match, and uses ``search`` (``re.findall`` gives a non-empty list
  exactly when ``search`` finds a match). A missing key raises ``KeyError`` as Checkov's does.
- ``VariableRenderer._update_end_vertices_indexes``: for each origin of a round, Checkov builds the
  set of its out-edges and the set of every edge done from it so far (growing every round), each
  element hashed by ``Edge.__hash__`` (Python code), and tests the first for a subset of the second.
  Here both sets are kept per origin between rounds: the out-edges' while the graph's list is the
  same object of the same length, the done edges' extended from where the renderer's own
  append-only list was last read (a list replaced or shorter is read anew). A set's members do not
  depend on the order they were added in, and edges are not changed once made, so the subset test
  is the same test on the same sets. An origin already among the end vertices is not tested again:
  all the test can do is add it, and adding a member a set holds changes nothing.
- ``BaseConnectionSolver.set_vertices`` (each connection check's vertices of its resource types, and
  of its connected types): Checkov calls ``resource_type_pred`` once per vertex and type list, 4.6
  million calls in a vpc run. With ``CKV_SUPPORT_ALL_RESOURCE_TYPE`` unset and the solver's
  ``resource_type_pred`` Checkov's own, that predicate is ``not types or (key in v and v[key] in
  types)``, and it is evaluated inline here, over one listing of the rustworkx graph's nodes (the
  same node data objects Checkov's two listings give). Anything else is Checkov's code.

Installed with the memos (:func:`tfguard.checks.memo.install`) and off with them in
``memo.disabled()``, so the tests' reference runs are Checkov's own code; tests/unit/test_render_fast.py
compares each function with Checkov's on inputs made to reach every branch.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any


def _inner(out: dict[str, Any], key: str, value: Any) -> Any:
    """``TerraformBlock.get_inner_attributes(key, value)`` (``strip_list=True``) written into ``out``;
    returns what Checkov's leaves at ``out[key]``: the new container, or the value itself."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, list):
        items: list[Any] = [None] * len(value)
        out[key] = items
        for i in range(len(value)):
            items[i] = _inner(out, f"{key}.{i}", value[i])
        return items
    if isinstance(value, dict):
        inner: dict[Any, Any] = {}
        out[key] = inner
        for k in list(value.keys()):
            if k != "":
                inner[k] = _inner(out, f"{key}.{k}", value[k])
            else:
                del value[k]
        return inner
    out[key] = value
    return value


def _inner_top(out: dict[str, Any], key: str, value: list[Any] | dict[Any, Any]) -> None:
    """``get_inner_attributes(key, value, strip_list=False)`` of a list or dict, written into ``out``."""
    if isinstance(value, list):
        items: list[Any] = [None] * len(value)
        out[key] = items
        for i in range(len(value)):
            items[i] = _inner(out, f"{key}.{i}", value[i])
        return
    inner: dict[Any, Any] = {}
    out[key] = inner
    for k in list(value.keys()):
        if k != "":
            inner[k] = _inner(out, f"{key}.{k}", value[k])
        else:
            del value[k]


def origin_attributes(real: Callable[[Any, dict[str, Any]], None], block_class: Any) -> Callable[..., None]:
    """``Block.get_origin_attributes`` (``real``) for ``TerraformBlock`` vertices, as described above."""

    def get_origin_attributes(self: Any, base_attributes: dict[str, Any]) -> None:
        if type(self) is not block_class:
            real(self, base_attributes)
            return
        attributes = self.attributes
        for attribute_key in list(attributes.keys()):
            attribute_value = attributes[attribute_key]
            if isinstance(attribute_value, list) and len(attribute_value) == 1 and "." not in attribute_key:
                attribute_value = attribute_value[0]
            if attribute_key == "self":
                base_attributes["self_"] = attribute_value
                continue
            if isinstance(attribute_value, (list, dict)):
                _inner_top(base_attributes, attribute_key, attribute_value)
            base_attributes[attribute_key] = attribute_value

    get_origin_attributes.__wrapped__ = real  # type: ignore[attr-defined]
    return get_origin_attributes


def nested_attributes(real: Callable[..., bool], pattern: Any) -> Callable[..., bool]:
    """``attribute_has_nested_attributes`` (``real``; ``pattern`` is its ``NESTED_ATTRIBUTE_PATTERN``, and
    without one, ``real`` itself)."""
    if pattern is None:
        return real
    search = pattern.search

    def attribute_has_nested_attributes(attribute_key: str, attributes: dict[str, Any],
                                        attribute_is_leaf: dict[str, bool] | None = None) -> bool:
        value = attributes[attribute_key]
        if isinstance(value, dict):
            return True
        if not isinstance(value, list) or (attribute_is_leaf is not None and attribute_is_leaf.get(attribute_key)):
            return False
        for a in attributes:
            if a != attribute_key and a.startswith(attribute_key) and search(a):
                return True
        return False

    attribute_has_nested_attributes.__wrapped__ = real  # type: ignore[attr-defined]
    return attribute_has_nested_attributes


def end_vertices(real: Callable[..., None]) -> Callable[..., None]:
    """``VariableRenderer._update_end_vertices_indexes`` (``real``), as described above."""

    def _update_end_vertices_indexes(self: Any, edges_to_render: list[Any], end_vertices_indexes: set[int]) -> None:
        # origin -> [the renderer's done list, how much of it is in the set, the set]
        done_sets: dict[Any, list[Any]] = self.__dict__.setdefault("_tfguard_done_sets", {})
        # origin -> [the graph's out-edge list, its length then, the set of it]
        out_sets: dict[Any, list[Any]] = self.__dict__.setdefault("_tfguard_out_sets", {})
        out_edges = self.local_graph.out_edges
        done_by_origin = self.done_edges_by_origin_vertex
        already_checked: set[Any] = set()
        for edge in edges_to_render:
            origin = edge.origin
            if origin in already_checked or origin in end_vertices_indexes:  # nothing to add
                continue
            already_checked.add(origin)
            out = out_edges.get(origin, [])
            kept_out = out_sets.get(origin)
            if kept_out is None or kept_out[0] is not out or kept_out[1] != len(out):
                kept_out = out_sets[origin] = [out, len(out), set(out)]
            done = done_by_origin.get(origin, [])
            kept_done = done_sets.get(origin)
            if kept_done is None or kept_done[0] is not done or kept_done[1] > len(done):  # a new list: read anew
                kept_done = done_sets[origin] = [done, 0, set()]
            if kept_done[1] < len(done):
                kept_done[2].update(done[kept_done[1]:])
                kept_done[1] = len(done)
            if kept_out[2].issubset(kept_done[2]):
                end_vertices_indexes.add(origin)

    _update_end_vertices_indexes.__wrapped__ = real  # type: ignore[attr-defined]
    return _update_end_vertices_indexes


def connection_vertices(real: Callable[..., None], base_pred: Any, digraph: type, config: Any,
                        resource_type: str) -> Callable[..., None]:
    """``BaseConnectionSolver.set_vertices`` (``real``), as described above. ``base_pred`` is
    ``BaseSolver.resource_type_pred``, ``digraph`` networkx's ``DiGraph``, ``config`` Checkov's
    ``env_vars_config`` and ``resource_type`` ``CustomAttributes.RESOURCE_TYPE``."""
    chain = itertools.chain

    def set_vertices(self: Any, graph_connector: Any, exclude_vertices: list[dict[str, Any]],
                     unknown_vertices: list[dict[str, Any]]) -> None:
        if config.CKV_SUPPORT_ALL_RESOURCE_TYPE or type(self).resource_type_pred is not base_pred \
                or isinstance(graph_connector, digraph):
            real(self, graph_connector, exclude_vertices, unknown_vertices)
            return
        nodes = graph_connector.nodes()

        def under(types: Any) -> list[dict[str, Any]]:
            if not types:
                return [v for _, v in nodes]
            return [v for _, v in nodes if resource_type in v and v[resource_type] in types]

        self.vertices_under_resource_types = under(self.resource_types)
        self.vertices_under_connected_resources_types = under(self.connected_resources_types)
        self.excluded_vertices = [
            v for v in chain(self.vertices_under_resource_types, self.vertices_under_connected_resources_types)
            if v in exclude_vertices
        ]
        self.unknown_vertices = [
            v for v in chain(self.vertices_under_resource_types, self.vertices_under_connected_resources_types)
            if v in unknown_vertices
        ]

    set_vertices.__wrapped__ = real  # type: ignore[attr-defined]
    return set_vertices
