"""Checkov's graph ``Edge`` hashed and compared without formatting a string on every call.

``checkov.common.graph.graph_builder.graph_components.edge.Edge`` defines ``__hash__`` as
``hash(str(self))`` and ``__eq__`` as ``str(self) == str(other)``, ``str`` being
``f"[{origin} -({label})-> {dest}]"``. The variable renderer puts edges in sets over and over
(every loop of ``_render_variables_from_edges``, ``_update_end_vertices_indexes``): a warm build of
terraform-aws-vpc after a value edit calls them about 2.6 million times each, a sixth of the build.

The replacements give the same answers:

- ``__hash__`` returns the very same number, ``hash(str(self))``, kept per ``(origin, label,
  dest)`` (the number decides where an edge sits in a set, and the renderer iterates sets: it must
  not change). Edges whose fields are not (int, str, int) are formatted as before.
- ``__eq__`` compares the fields when both edges have int ends and str labels: two such strings
  are equal exactly when the fields are (an int's text has no space, so the origin ends at the first
  ``" -("``, and no ``")-> "``, so the destination starts after the last ``")-> "``; the label is
  what lies between). Otherwise it compares the strings, as Checkov does.

The kept numbers are bounded by count (:data:`MAX_KEPT`; all dropped at once when full). Installed
with the other memos (:func:`tfguard.checks.memo.install`), off with them in ``memo.disabled()``.
"""

from __future__ import annotations

from typing import Any

MAX_KEPT = 1_000_000

_hashes: dict[tuple[int, str, int], int] = {}


def memo_hash(real: Any) -> Any:
    """``Edge.__hash__`` (``real``), as described above."""

    def __hash__(self: Any) -> int:
        origin, label, dest = self.origin, self.label, self.dest
        if type(origin) is not int or type(dest) is not int or type(label) is not str:
            return int(real(self))
        key = (origin, label, dest)
        got = _hashes.get(key)
        if got is None:
            if len(_hashes) >= MAX_KEPT:
                _hashes.clear()
            got = _hashes[key] = hash(f"[{origin} -({label})-> {dest}]")
        return got

    __hash__.__wrapped__ = real  # type: ignore[attr-defined]
    return __hash__


def memo_eq(real: Any) -> Any:
    """``Edge.__eq__`` (``real``), as described above."""

    def __eq__(self: Any, other: Any) -> bool:
        edge_type = type(self)
        if type(other) is edge_type:
            a, b, c = self.origin, self.label, self.dest
            x, y, z = other.origin, other.label, other.dest
            if type(a) is int and type(c) is int and type(x) is int and type(z) is int \
                    and type(b) is str and type(y) is str:
                return a == x and c == z and b == y
        return bool(real(self, other))

    __eq__.__wrapped__ = real  # type: ignore[attr-defined]
    return __eq__


def clear() -> None:
    _hashes.clear()
