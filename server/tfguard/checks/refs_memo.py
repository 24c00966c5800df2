"""Reuse Checkov's extraction of vertex references from a value string between calls and runs.

A graph build after a value edit (the graph memo misses: :mod:`tfguard.checks.graph_memo`) asks
``get_referenced_vertices_in_str_value`` (``checkov.terraform.graph_builder.utils``) which
``var.x``, ``local.y``, ``aws_vpc.main`` ... a string mentions, about 170,000 times for
terraform-aws-s3-bucket: once per attribute when edges are built (three times a build, with the
``for_each`` expansion) and once per edge the renderer evaluates. The strings are nearly all the
same from one run to the next (and within a run).

The function is pure in its three arguments: the string (with the module constant
``CHECKOV_RENDER_MAX_LEN``), ``aliases`` (provider aliases: a dict, often empty) and
``resources_types`` (the resource types of the graph: a list, fresh on every renderer call). It
uses the last two only through a few questions: "is ``w`` in ``resources_types``?", "is ``aliases``
empty?", "is ``k`` in ``aliases``?", "what is ``aliases[k]``?". So the memo runs Checkov's own
function once on recording stand-ins for those two, keeps the questions with their answers beside
the result, and a later call with the same string replays the result only when every one of those
questions has the same answer for the arguments it is given now (asked again, of the real
arguments). Otherwise it runs the function again and keeps the new answers. The result is exactly
what the function would return: it is a deterministic function of the string and of the answers.

Every hit returns new reference objects with new ``sub_parts`` lists (callers keep and pass on
those lists). Bounded in bytes like the other memos; strings longer than ``CHECKOV_RENDER_MAX_LEN``
(which Checkov skips with a log line) and other odd inputs go to Checkov's function as they are.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

REFS_CACHE_BYTES = 16 * 1024 * 1024
MAX_INPUT = 4096

# A question and its answer: ("type", word, bool) | ("aliases?", "", bool) | ("alias in", key, bool)
# | ("alias get", key, value)
Probe = tuple[str, str, Any]
Ref = tuple[Any, tuple[str, ...], str]  # (block_type, sub_parts, origin_value) of a TerraformVertexReference

Entry = tuple[tuple[Probe, ...], tuple[Ref, ...], int]  # (questions and answers, result, size in bytes)


class BoundedMemo(dict[tuple[str, int], Entry]):
    """A dict bounded in bytes (each entry's last element): the oldest entries go first.

    Lighter than ``cachetools.LRUCache`` on the hit path, which is most of the calls here (a plain
    ``dict.get``); first in, first out, since a hit does not reorder. Writes take the memo's own lock.
    """

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize
        self.currsize = 0
        self._write = threading.RLock()

    def __setitem__(self, key: tuple[str, int], value: Entry) -> None:
        with self._write:
            self._set(key, value)

    def _set(self, key: tuple[str, int], value: Entry) -> None:
        old = self.get(key)
        if old is not None:
            self.currsize -= old[2]
            super().__delitem__(key)
        if value[2] > self.maxsize:
            return
        while self and self.currsize + value[2] > self.maxsize:
            oldest = next(iter(self))
            self.currsize -= super().pop(oldest)[2]
        super().__setitem__(key, value)
        self.currsize += value[2]

    def clear(self) -> None:
        with self._write:
            super().clear()
            self.currsize = 0


cache = BoundedMemo(REFS_CACHE_BYTES)
stats = {"refs_hits": 0, "refs_misses": 0}


class _Types:
    """``resources_types`` as the function sees it: membership questions are answered and written down."""

    __slots__ = ("_real", "probes")

    def __init__(self, real: Any, probes: list[Probe]) -> None:
        self._real = real
        self.probes = probes

    def __contains__(self, word: object) -> bool:
        answer = word in self._real
        self.probes.append(("type", word if isinstance(word, str) else repr(word), answer))
        return answer

    def __iter__(self) -> Iterator[Any]:  # not used by the function; a use would make the answer unknown
        raise _Unrecorded

    def __len__(self) -> int:
        raise _Unrecorded


class _Aliases:
    """``aliases`` as the function sees it (emptiness, membership, item reads; recorded)."""

    __slots__ = ("_real", "probes")

    def __init__(self, real: Any, probes: list[Probe]) -> None:
        self._real = real
        self.probes = probes

    def __bool__(self) -> bool:
        answer = bool(self._real)
        self.probes.append(("aliases?", "", answer))
        return answer

    def __contains__(self, key: object) -> bool:
        answer = key in self._real
        self.probes.append(("alias in", key if isinstance(key, str) else repr(key), answer))
        return answer

    def __getitem__(self, key: Any) -> Any:
        value = self._real[key]
        if not isinstance(key, str) or not isinstance(value, dict):
            raise _Unrecorded
        self.probes.append(("alias get", key, tuple(sorted(value.items()))))
        return dict(value)

    def __iter__(self) -> Iterator[Any]:
        raise _Unrecorded

    def __len__(self) -> int:
        raise _Unrecorded


class _Unrecorded(Exception):
    """The function used an argument in a way the memo does not record: no memo for this call."""


def _answers_hold(probes: tuple[Probe, ...], aliases: Any, resources_types: Any) -> bool:
    for kind, word, answer in probes:
        if kind == "type":
            if (word in resources_types) is not answer:
                return False
        elif kind == "aliases?":
            if bool(aliases) is not answer:
                return False
        elif kind == "alias in":
            if (word in aliases) is not answer:
                return False
        else:  # alias get
            value = aliases.get(word) if isinstance(aliases, dict) else None
            if not isinstance(value, dict) or tuple(sorted(value.items())) != answer:
                return False
    return True


def memo_str_refs(real: Any, utils: Any) -> Any:
    """``get_referenced_vertices_in_str_value`` (``real``, of the module ``utils``), memoized as described above."""
    from checkov.terraform.graph_builder.variable_rendering.vertex_reference import TerraformVertexReference

    ref_type = TerraformVertexReference

    def rebuild(refs: tuple[Ref, ...]) -> list[Any]:
        out = []
        for block_type, sub_parts, origin_value in refs:
            r = object.__new__(ref_type)  # the constructor maps block type names; these are mapped already
            r.block_type, r.sub_parts, r.origin_value = block_type, list(sub_parts), origin_value
            out.append(r)
        return out

    def get_referenced_vertices_in_str_value(str_value: Any, aliases: Any, resources_types: Any) -> Any:
        max_len = getattr(utils, "CHECKOV_RENDER_MAX_LEN", None)
        if (type(str_value) is not str or len(str_value) > MAX_INPUT or not isinstance(max_len, int)
                or 0 < max_len < len(str_value) or not isinstance(aliases, dict)
                or not isinstance(resources_types, (list, set, frozenset, tuple))):
            return real(str_value=str_value, aliases=aliases, resources_types=resources_types)
        key = (str_value, max_len)
        hit = cache.get(key)  # a dict read: atomic, no lock
        if hit is not None and _answers_hold(hit[0], aliases, resources_types):
            stats["refs_hits"] += 1
            return rebuild(hit[1])
        stats["refs_misses"] += 1
        probes: list[Probe] = []
        try:
            result = real(str_value=str_value, aliases=_Aliases(aliases, probes),
                          resources_types=_Types(resources_types, probes))
        except _Unrecorded:
            return real(str_value=str_value, aliases=aliases, resources_types=resources_types)
        refs: list[Ref] = []
        for r in result:
            if type(r) is not ref_type or not isinstance(r.origin_value, str) \
                    or not all(isinstance(p, str) for p in r.sub_parts):
                return result
            refs.append((r.block_type, tuple(r.sub_parts), r.origin_value))
        size = 2 * len(str_value) + 200 + sum(100 + 2 * len(w) for _, w, _ in probes) \
            + sum(150 + 2 * (len(o) + sum(len(p) for p in s)) for _, s, o in refs)
        if size < REFS_CACHE_BYTES // 64:
            cache[key] = (tuple(probes), tuple(refs), size)
        return result

    get_referenced_vertices_in_str_value.__wrapped__ = real  # type: ignore[attr-defined]
    return get_referenced_vertices_in_str_value
