"""Checkov's "does this dynamic block have content?" test, without dpath's walk of the whole block.

``TerraformBlock._extract_dynamic_changed_attributes`` (checkov/terraform/graph_builder/graph_components/
blocks.py) asks ``dpath.search(self.attributes, ["dynamic", name, "content"])`` for its truth value only.
dpath answers by walking every node of the block's attributes and matching each path against the
glob (``dpath.segments.fold``): on terraform-aws-s3-bucket's re-run after a value edit that was 626
folds, 1.3 million walk steps, about 13 % of a CPU profile.

:func:`search` gives the very same answer, and raises the very same exception, as ``dpath.search``
with the default arguments, for the inputs Checkov passes: when the glob is a list of plain names and
the tree is made of plain ``dict``/``list`` nodes with non-empty ``str`` keys, a path matches only
through dict keys equal to the glob's names, so following the names answers. Anything else (a glob
segment with an fnmatch character or one ``int()`` accepts, ``**``, an empty key anywhere in the tree,
which makes dpath raise ``InvalidKeyName``, another node type, a tree deeper than
:data:`MAX_DEPTH`) is handed to ``dpath.search`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_DEPTH = 64
_GLOB_CHARS = frozenset("*?[")


def _plain_name(segment: object) -> bool:
    """A glob segment dpath's ``match`` compares with a key by string equality only."""
    if type(segment) is not str or not segment or _GLOB_CHARS.intersection(segment) or segment == "**":
        return False
    try:
        int(segment)  # dpath compares a list index with int(segment) first
    except ValueError:
        return True
    return False


def _plain_tree(node: dict[Any, Any]) -> bool:
    """Only dicts with non-empty ``str`` keys, lists and dpath's leaves, at most MAX_DEPTH deep."""
    stack: list[tuple[Any, int]] = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        kind = type(current)
        if kind is dict:
            for key, value in current.items():
                if type(key) is not str or not key:
                    return False
                if not isinstance(value, _LEAVES):
                    stack.append((value, depth + 1))
        elif kind is list:
            for value in current:
                if not isinstance(value, _LEAVES):
                    stack.append((value, depth + 1))
        else:
            return False
    return True


_LEAVES = (bytes, str, int, float, bool, type(None))  # dpath.segments.leaf


def make_search(real: Callable[..., Any]) -> Callable[..., Any]:
    """``dpath.search`` with the fast answer described above; ``real`` is dpath's own."""

    def search(obj: Any, glob: Any, *args: Any, **kwargs: Any) -> Any:
        if (args or kwargs or type(obj) is not dict or type(glob) is not list or not glob
                or not all(map(_plain_name, glob)) or not _plain_tree(obj)):
            return real(obj, glob, *args, **kwargs)
        node: Any = obj
        for name in glob:
            if type(node) is not dict or name not in node:
                return {}
            node = node[name]
        found: Any = node
        for name in reversed(glob):  # dpath's result: the one matching path, as nested dicts
            found = {name: found}
        return found

    search.__wrapped__ = real  # type: ignore[attr-defined]
    return search


class DpathView:
    """What Checkov's ``blocks`` module sees as ``dpath`` (installed by :func:`tfguard.checks.memo.install`):
    dpath itself, with ``search`` answered by :func:`make_search`."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.search = make_search(module.search)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)
