"""Values decided by ``lookup(MAP, "key", DEFAULT)``: the GKE node pools over a list of maps.

The GKE modules build their node pools with ``for_each = local.node_pools`` (``{ for np in
var.node_pools : np.name => np }``) and set every attribute as ``lookup(each.value, "image_type",
"COS_CONTAINERD")``: the value is the caller's map entry, else the lookup's default. Two fixes follow
from the text, and each is right in its own place:

- **In the module's own file** (the finding is on the module, no call in between): the lookup's
  literal default is changed (:func:`with_lookup_defaults`), which is the module's behaviour for every
  pool that does not set the key. Offered only when Checkov evaluated the lookup for that resource: a
  ``for_each`` resource reported without an instance key (``pools`` instead of ``pools["default"]``)
  was not expanded, its lookups stay unevaluated and a new default would change nothing Checkov sees
  (:func:`evaluated`).
- **At the call** (:func:`plan_map_input`): when ``for_each`` runs over the module input ``var.NAME``
  (directly or through a local ``{ for x in var.NAME : … => x }``) and the caller passes ``NAME`` as a
  literal list of object literals, the key is set in each map (:func:`set_key_in_maps`); a map that
  gives the key an expression is the caller's own decision (no fix).

The same holds for a plain ``x = var.NAME`` in a module's own run: the variable's literal default decides
(:func:`plan_variable_default`), unless a ``.tfvars`` file of the module sets it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tfguard.fixes.registry import Planner
from tfguard.fixes.textops import Rewrite, Set, Step, is_dynamic, is_literal, line_indent, value_range
from tfguard.hcl.blocks import Block, split_blocks

_NAME = r"[A-Za-z_][\w-]*"
_VAR = re.compile(rf"^var\.({_NAME})$")
_LOCAL = re.compile(rf"^local\.({_NAME})$")
_FOR = re.compile(rf"^\{{\s*for\s+({_NAME})\s+in\s+(?:toset\(\s*)?var\.({_NAME})\s*\)?\s*:.*=>\s*({_NAME})\s*\}}$",
                  re.DOTALL)


@dataclass(frozen=True)
class Lookup:
    """``lookup(map_expr, "key", default)`` with the default's offsets in the file."""

    map_expr: str
    key: str
    default: str
    start: int  # offset of the default
    end: int


@dataclass(frozen=True)
class DefaultRewrite(Rewrite):
    """The block with its lookup defaults changed; ``sets`` are the steps it stands for."""

    sets: tuple[Set, ...] = ()
    maps: tuple[str, ...] = ()  # the lookups' map expressions (``each.value``)


def _scan(text: str, start: int, end: int) -> Iterator[tuple[int, str, int]]:
    """(offset, character, depth) of the characters of ``text[start:end]`` outside strings and comments."""
    depth = 0
    i = start
    while i < end:
        c = text[i]
        if c == '"':
            i += 1
            while i < end and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if c == "#" or text.startswith("//", i):
            nl = text.find("\n", i, end)
            i = end if nl < 0 else nl
            continue
        if c in "([{":
            yield i, c, depth
            depth += 1
        elif c in ")]}":
            depth -= 1
            yield i, c, depth
        else:
            yield i, c, depth
        i += 1


def _split_args(text: str, start: int, end: int) -> list[tuple[int, int]] | None:
    """Offsets of the comma-separated arguments of ``text[start:end]`` (inside the parentheses)."""
    args: list[tuple[int, int]] = []
    s = start
    for i, c, depth in _scan(text, start, end):
        if depth < 0:
            return None
        if c == "," and depth == 0:
            args.append((s, i))
            s = i + 1
    args.append((s, end))
    out = []
    for a, b in args:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        out.append((a, b))
    return out


def parse_lookup(text: str, start: int, end: int) -> Lookup | None:
    """The ``lookup(...)`` that is the whole value ``text[start:end]``, with a quoted key; else None."""
    value = text[start:end].rstrip()
    end = start + len(value)
    if not value.startswith("lookup(") or not value.endswith(")"):
        return None
    inner = start + len("lookup(")
    close = next((i for i, c, d in _scan(text, inner, end) if c == ")" and d == -1), None)
    if close != end - 1:
        return None  # lookup(...) is only part of the value (``lookup(...) ? a : b``)
    args = _split_args(text, inner, end - 1)
    if args is None or len(args) != 3:
        return None
    key = text[args[1][0]:args[1][1]]
    if not re.fullmatch(r'"[\w-]+"', key):
        return None
    return Lookup(text[args[0][0]:args[0][1]], key.strip('"'), text[args[2][0]:args[2][1]], *args[2])


def lookup_at(text: str, block: Block, path: tuple[str, ...]) -> Lookup | None:
    """The lookup that is the attribute at ``path`` of ``block`` (not inside a ``dynamic`` block)."""
    if any(is_dynamic(block, seg) for seg in path[:-1]):
        return None
    item = block.item(path)
    if item is None or item.is_block:
        return None
    s, e = value_range(text, item)
    return parse_lookup(text, s, e)


def _norm(value: str) -> str:
    return re.sub(r"\s+", "", value)


def with_lookup_defaults(plan: Planner) -> Planner:
    """``plan``, where a ``Set`` on an attribute that is ``lookup(m, "k", LITERAL)`` changes the default."""

    def planned(block: Block, text: str) -> list[Step] | None:
        steps = plan(block, text)
        if steps is None:
            return None
        edits: list[tuple[int, int, str]] = []
        sets: list[Set] = []
        maps: list[str] = []
        rest: list[Step] = []
        for step in steps:
            found = lookup_at(text, block, step.path) if isinstance(step, Set) and not step.container else None
            if found is None or not isinstance(step, Set):
                rest.append(step)
                continue
            if not is_literal(found.default):
                return None  # the default is computed: the module's own logic
            sets.append(step)
            maps.append(found.map_expr)
            if _norm(found.default) != _norm(step.value):
                edits.append((found.start - block.start, found.end - block.start, step.value))
        if not sets:
            return steps
        new = block.text
        for s, e, v in sorted(edits, reverse=True):
            new = new[:s] + v + new[e:]
        return [DefaultRewrite(new, tuple(sets), tuple(maps)), *rest]  # unchanged text: nothing to do

    return planned


def evaluated(resource: str, block: Block, steps: list[Step], at_call: bool = False) -> bool:
    """Whether a fix through ``lookup(each.value, …)`` can hold for ``resource``: Checkov evaluated
    ``each.value`` (a ``for_each`` block reported with its instance key, not ``pools`` alone), and,
    through a module call, only at the call (``at_call``): the caller's maps decide there, a default
    changed in the module would not reach a map that sets the key."""
    uses_each = any(m.startswith("each.") for s in steps if isinstance(s, DefaultRewrite) for m in s.maps)
    if not uses_each:
        return True
    if resource.startswith("module.") and not at_call:
        return False
    return block.item(("for_each",)) is not None and resource.endswith("]")


# ----------------------------------------------------------------------------- at the call


def _expr(text: str, block: Block, name: str) -> str | None:
    item = block.item((name,))
    if item is None or item.is_block:
        return None
    s, e = value_range(text, item)
    return text[s:e].strip()


def map_input(text: str, block: Block, locals_of: list[tuple[str, Block]]) -> str | None:
    """``NAME`` when ``block``'s ``for_each`` yields the elements of ``var.NAME`` as ``each.value``:
    ``var.NAME``, ``{ for x in var.NAME : k => x }`` or a local holding that for expression."""
    expr = _expr(text, block, "for_each")
    if expr is None:
        return None
    m = _VAR.match(expr)
    if m:
        return m.group(1)
    loc = _LOCAL.match(expr)
    if loc:
        expr = next((e for t, b in locals_of if b.kind == "locals"
                     for e in [_expr(t, b, loc.group(1))] if e is not None), "")
    f = _FOR.match(expr)
    return f.group(2) if f and f.group(1) == f.group(3) else None


def _objects(text: str, start: int, end: int) -> list[tuple[int, int]] | None:
    """Offsets (``{``, after ``}``) of the object literals of the list literal ``text[start:end]``."""
    value = text[start:end].rstrip()
    end = start + len(value)
    if not value.startswith("[") or not value.endswith("]"):
        return None
    objs: list[tuple[int, int]] = []
    open_at = -1
    for i, c, depth in _scan(text, start + 1, end - 1):
        if depth == 0 and c == "{":
            open_at = i
        elif depth == 0 and c == "}":
            objs.append((open_at, i + 1))
        elif depth == 0 and not c.isspace() and c != ",":
            return None  # an element that is not an object literal (a variable, a function call)
        elif depth < 0:
            return None
    return objs


def _key_value(text: str, start: int, end: int, key: str) -> tuple[int, int] | None | bool:
    """Offsets of ``key``'s value in the object ``text[start:end]``; False when it has no such key."""
    pat = re.compile(rf'(?:"{re.escape(key)}"|\b{re.escape(key)}\b)\s*=(?!=)')
    for i, c, depth in _scan(text, start + 1, end - 1):
        if depth != 0 or c.isspace():
            continue
        m = pat.match(text, i, end)
        if m is None or (i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_-.")):
            continue
        s = m.end()
        while s < end and text[s] in " \t":
            s += 1
        e = end - 1
        for j, cj, dj in _scan(text, s, end - 1):
            if dj == 0 and cj in ",\n":
                e = j
                break
        return s, e
    return False


def set_key_in_maps(text: str, start: int, end: int, key: str, value: str) -> str | None:
    """``text`` with ``key = value`` in every object of the list literal ``text[start:end]``;
    None when it is not such a list or an object gives the key an expression."""
    objs = _objects(text, start, end)
    if not objs:
        return None
    edits: list[tuple[int, int, str]] = []
    for s, e in objs:
        found = _key_value(text, s, e, key)
        if found is None:
            return None
        if found is not False:
            assert not isinstance(found, bool)
            vs, ve = found
            current = text[vs:ve].rstrip()
            if _norm(current) == _norm(value):
                continue
            if not is_literal(current):
                return None  # the caller computes it: its own decision
            edits.append((vs, vs + len(current), value))
            continue
        inner = text[s + 1:e - 1]
        if "\n" in inner:
            first = next((i for i, c, d in _scan(text, s + 1, e - 1) if d == 0 and not c.isspace()), None)
            indent = line_indent(text, first) if first is not None else line_indent(text, s) + "  "
            close_line = text.rfind("\n", s, e - 1) + 1
            if text[close_line:e - 1].strip():
                return None  # the closing brace shares a line with a value
            edits.append((close_line, close_line, f"{indent}{key} = {value}\n"))
        elif inner.strip():
            j = e - 1
            while text[j - 1] in " \t":
                j -= 1
            sep = "" if text[j - 1] == "," else ","
            edits.append((j, j, f"{sep} {key} = {value}"))
        else:
            edits.append((s + 1, e - 1, f" {key} = {value} "))
    for s, e, v in sorted(edits, reverse=True):
        text = text[:s] + v + text[e:]
    return text


# ----------------------------------------------------------------------------- a dynamic block's switch

_DYN_VALUE = r"^{name}\.value(?:\.{key}|\[\s*\"{key}\"\s*\])$"


def _dynamic_block(text: str, block: Block, name: str) -> Block | None:
    """The one ``dynamic "name"`` block directly inside ``block``, parsed on its own."""
    found = [m for m in re.finditer(r'(?m)^[ \t]*dynamic\s+"' + re.escape(name) + r'"\s*\{', block.text)]
    if len(found) != 1:
        return None
    start = block.start + found[0].start()
    open_at = block.start + found[0].end() - 1
    depth_at_open = next((d for i, c, d in _scan(text, block.start, open_at + 1) if i == open_at), None)
    if depth_at_open != 1:
        return None  # not a direct child of the resource (nested deeper: another attribute's block)
    close = next((i for i, c, d in _scan(text, open_at + 1, block.end) if c == "}" and d == -1), None)
    if close is None:
        return None
    parsed = [b for b in split_blocks(text[start:close + 1]).blocks if b.kind == "dynamic"]
    return parsed[0] if len(parsed) == 1 else None


def _local_value(name: str, files: list[tuple[str, str | None]]) -> str | None:
    for path, body in files:
        if body is None or not path.endswith(".tf"):
            continue
        for b in split_blocks(body).blocks:
            if b.kind == "locals":
                found = _expr(body, b, name)
                if found is not None:
                    return found
    return None


def _branches(expr: str) -> tuple[str, str, str] | None:
    """``NAME``, then-branch and else-branch of ``var.NAME ? A : B`` (outermost, no nested conditional)."""
    m = re.match(rf"^var\.({_NAME})\s*\?", expr)
    if m is None:
        return None
    marks = [(i, c) for i, c, d in _scan(expr, m.end(), len(expr)) if d == 0 and c in "?:"]
    if len(marks) != 1 or marks[0][1] != ":":
        return None
    return m.group(1), expr[m.end():marks[0][0]].strip(), expr[marks[0][0] + 1:].strip()


def _only_object_key(expr: str, key: str) -> str | None:
    """The literal value of ``key`` in the one object of the list literal ``[{ … }]``; None otherwise."""
    objs = _objects(expr, 0, len(expr))
    if not objs or len(objs) != 1:
        return None
    found = _key_value(expr, objs[0][0], objs[0][1], key)
    if not isinstance(found, tuple):
        return None
    value = expr[found[0]:found[1]].strip()
    return value if is_literal(value) else None


_OPTIONAL = re.compile(rf"^var\.({_NAME})\s*!=\s*null\s*\?\s*\[\s*var\.({_NAME})\s*\]\s*:\s*\[\s*\]$")


def _others_optional(name: str, key: str, files: list[tuple[str, str | None]]) -> bool:
    """Whether ``variable "name"`` is ``object({ … })`` whose attributes other than ``key`` are all
    ``optional(…)``: then ``{ key = value }`` is a value of its type."""
    for path, body in files:
        if body is None or not path.endswith(".tf"):
            continue
        for b in split_blocks(body).blocks:
            if b.kind != "variable" or b.labels[:1] != (name,):
                continue
            type_expr = _expr(body, b, "type") or ""
            m = re.match(r"^object\(\s*\{(.*)\}\s*\)$", type_expr, re.DOTALL)
            if m is None:
                return False
            inner = m.group(1)
            attrs: list[tuple[str, str]] = []
            starts = [0] + [i + 1 for i, c, d in _scan(inner, 0, len(inner)) if d == 0 and c in ",\n"]
            for st in starts:
                am = re.match(rf"\s*({_NAME})\s*=\s*(\S+)", inner[st:])
                if am is not None:
                    attrs.append((am.group(1), am.group(2)))
            return any(a == key for a, _t in attrs) and all(a == key or t.startswith("optional(") for a, t in attrs)
    return False


@dataclass(frozen=True)
class Switch:
    """The input ``name`` that makes a ``dynamic`` block produce the fix's value."""

    name: str
    value: str  # "true" or "false"; an optional object input: ``{ key = value }``


def dynamic_switch(text: str, block: Block, step: Step, files: list[tuple[str, str | None]]) -> Switch | None:
    """The input that decides ``step`` when its attribute is generated by a dynamic block switched on
    a boolean (the GKE clusters' network policy)::

        dynamic "network_policy" {
          for_each = local.cluster_network_policy   # var.network_policy ? [{ enabled = true, … }]
          content {                                 #                    : [{ enabled = false, … }]
            enabled = network_policy.value.enabled
          }
        }

    ``files``: the module's ``.tf`` files with their text (the local's definition). The branch whose
    object holds the fix's value gives the input's value. An optional object input (``for_each =
    var.V != null ? [var.V] : []``, the gke-standard-cluster module's ``binary_authorization``) gets
    ``{ key = value }`` when its type's other attributes are all ``optional``. None when the shape is
    anything else (a nested dynamic block, a computed value in a branch, both branches alike)."""
    if not isinstance(step, Set) or step.container or len(step.path) != 2:
        return None
    dyn_name, key = step.path
    dyn = _dynamic_block(text, block, dyn_name)
    if dyn is None:
        return None
    item = dyn.item(("content", key))
    if item is None or item.is_block:
        return None
    s, e = value_range(dyn.text, item)
    pattern = _DYN_VALUE.format(name=re.escape(dyn_name), key=re.escape(key))
    if not re.match(pattern, dyn.text[s:e].strip()):
        return None
    for_each = _expr(dyn.text, dyn, "for_each")
    optional = _OPTIONAL.match(for_each or "")
    if optional is not None and optional.group(1) == optional.group(2) and step.value.strip():
        name = optional.group(1)  # an optional object input: the object with the one attribute
        return Switch(name, f"{{ {key} = {step.value} }}") if _others_optional(name, key, files) else None
    loc = _LOCAL.match(for_each or "")
    expr = _local_value(loc.group(1), files) if loc else for_each
    found = _branches(expr or "")
    if found is None:
        return None
    name, then, other = found
    values = (_only_object_key(then, key), _only_object_key(other, key))
    want = _norm(step.value)
    hits = [v is not None and _norm(v) == want for v in values]
    if hits == [True, False] and values[1] is not None:
        return Switch(name, "true")
    if hits == [False, True] and values[0] is not None:
        return Switch(name, "false")
    return None


# ----------------------------------------------------------------------------- a variable's default


@dataclass(frozen=True)
class VariableDefault:
    """Set the default of ``variable "name"`` (in ``path``) to ``value``: what the module's own run evaluates."""

    path: str
    name: str
    value: str


_EMPTY = re.compile(r"^(?:\{\s*\}|\[\s*\]|null)$")


def plan_variable_default(steps: list[Step] | None, text: str, block: Block,
                          module_files: list[tuple[str, str | None]]) -> VariableDefault | None:
    """The variable default that decides the fix's one attribute when the module's block sets it to
    exactly ``var.NAME``, or generates it in a dynamic block switched on ``var.NAME``
    (:func:`dynamic_switch`; ``module_files``: the module's ``.tf`` and ``.tfvars`` files with their text).

    None when the attribute is anything else, the variable has no literal default (a required input,
    an expression), or a ``.tfvars`` file of the module sets it (Checkov's run takes that value).
    """
    if not steps or len(steps) != 1 or not isinstance(steps[0], Set) or steps[0].container:
        return None
    step = steps[0]
    switch = dynamic_switch(text, block, step, module_files)
    if switch is not None:  # a dynamic block switched on a boolean input
        name, value = switch.name, switch.value
    else:
        if any(is_dynamic(block, seg) for seg in step.path[:-1]):
            return None
        item = block.item(step.path)
        if item is None or item.is_block:
            return None
        s, e = value_range(text, item)
        m = _VAR.match(text[s:e].strip())
        if m is None:
            return None
        name, value = m.group(1), step.value
    found: str | None = None
    for path, body in module_files:
        if body is None:
            continue
        if path.endswith(".tfvars") and re.search(rf'(?m)^\s*"?{re.escape(name)}"?\s*=', body):
            return None
        if path.endswith(".tf") and re.search(rf'(?m)^\s*variable\s+"{re.escape(name)}"\s*\{{', body):
            found = path
    return VariableDefault(found, name, value) if found is not None else None


def variable_default_text(text: str, fix: VariableDefault) -> str | None:
    """``text`` (the variable's file) with the default set; None when it is not a literal to replace."""
    block = next((b for b in split_blocks(text).blocks if b.kind == "variable" and b.labels[:1] == (fix.name,)),
                 None)
    item = block.item(("default",)) if block is not None else None
    if item is None or item.is_block:
        return None
    s, e = value_range(text, item)
    current = text[s:e].rstrip()
    if _norm(current) == _norm(fix.value):
        return text
    if not (is_literal(current) or _EMPTY.match(current)):
        return None
    return text[:s] + fix.value + text[s + len(current):]
