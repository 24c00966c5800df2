"""What a parsed block defines and references, and the value it has (without its line numbers).

A block *defines* symbols others refer to (``var.x``, ``local.y`` for each name of a ``locals``
block, ``data.t.n``, ``t.n`` for a resource, ``module.m``) and *references* symbols in its
expressions (the ``${...}`` strings of Checkov's ``hcl2`` conf). Its *value* is its conf without
``__start_line__``/``__end_line__``: whitespace and comments do not change it (``hcl2`` renders
expressions in a normal form), a changed literal, expression or attribute does.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

_LINE_KEYS = frozenset(("__start_line__", "__end_line__"))

# Terraform's reserved first segments that are not resources (``count.index``, ``each.key``, ``path.module``…)
_NOT_RESOURCE = frozenset(("var", "local", "module", "data", "count", "each", "path", "self", "terraform"))
_SYMBOL = re.compile(
    r"(?<![\w.\-])(?:"
    r"(var|local|module)\.([A-Za-z_][\w-]*)"
    r"|data\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)"
    r"|([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)"
    r")"
)


def strip_lines(obj: Any) -> Any:
    """``obj`` without Checkov's line-number keys (at any depth)."""
    if isinstance(obj, dict):
        return {k: strip_lines(v) for k, v in obj.items() if k not in _LINE_KEYS}
    if isinstance(obj, list):
        return [strip_lines(v) for v in obj]
    return obj


def value_digest(obj: Any) -> str:
    """A digest of ``obj`` without its line numbers. Equal values give equal digests (dict order is
    source order, so a reordered map may give another digest: conservative, never wrong)."""
    return hashlib.blake2b(repr(strip_lines(obj)).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _strings(obj: Any, out: list[str]) -> None:
    if isinstance(obj, str):
        if "${" in obj:
            out.append(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str) and "${" in k:
                out.append(k)
            _strings(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _strings(v, out)


def references_in(obj: Any) -> frozenset[str]:
    """Symbols referenced by the expressions in ``obj`` (a conf or a value): ``var.x``, ``local.y``,
    ``module.m``, ``data.t.n``, ``t.n`` (a resource). A superset: a name that only looks like a
    reference (inside a string literal of an expression) is counted too."""
    found: set[str] = set()
    texts: list[str] = []
    _strings(obj, texts)
    for text in texts:
        for m in _SYMBOL.finditer(text):
            if m.group(1):
                found.add(f"{m.group(1)}.{m.group(2)}")
            elif m.group(3):
                found.add(f"data.{m.group(3)}.{m.group(4)}")
            elif m.group(5) not in _NOT_RESOURCE and "_" in m.group(5):  # resource types are provider_thing
                found.add(f"{m.group(5)}.{m.group(6)}")
    return frozenset(found)


def definitions(kind: str, labels: tuple[str, ...], conf: dict[str, Any] | None) -> dict[str, Any]:
    """The symbols a block defines, each with its value (the part of the conf others read)."""
    if conf is None:
        return {}
    if kind == "locals":
        out: dict[str, Any] = {}
        for loc in conf.get("locals") or []:
            if isinstance(loc, dict):
                out.update((f"local.{k}", v) for k, v in loc.items() if k not in _LINE_KEYS)
        return out
    if kind == "variable" and labels:
        return {f"var.{labels[0]}": conf}
    if kind == "data" and len(labels) >= 2:
        return {f"data.{labels[0]}.{labels[1]}": conf}
    if kind == "resource" and len(labels) >= 2:
        return {f"{labels[0]}.{labels[1]}": conf}
    if kind == "module" and labels:
        return {f"module.{labels[0]}": conf}
    return {}
