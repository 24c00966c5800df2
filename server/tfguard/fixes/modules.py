"""Catalogue fixes: replace a raw resource with the approved module, pin or switch a module source.

Entries are read duck-typed (``name``, ``source``, ``version``, ``pin``, ``address``, ``inputs``),
as :class:`tfguard.catalogue.ApprovedModule` has them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from tfguard.fixes.textops import (
    OffsetEdit,
    Set,
    child_indent,
    is_literal,
    line_indent,
    plan_set,
    value_range,
)
from tfguard.hcl.blocks import Block, split_blocks

if TYPE_CHECKING:
    from tfguard.catalogue import Catalogue

UNMAPPED_MARKER = "# tfguard: not mapped to module inputs, finish by hand:"
# meta-arguments a module call accepts as they are
_CARRIED_META = frozenset({"depends_on"})
# meta-arguments that make the replacement a per-instance decision
_REFUSED_META = frozenset({"count", "for_each"})


class Entry(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def version(self) -> str | None: ...
    @property
    def pin(self) -> str | None: ...
    @property
    def address(self) -> str | None: ...
    @property
    def inputs(self) -> Mapping[str, str]: ...


_REGISTRY_SOURCE = re.compile(r"^(?:[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?/)?[\w-]+/[\w-]+/[\w-]+$", re.I)


def is_registry_source(source: str) -> bool:
    """Registry addresses (``ns/name/provider`` with an optional host) take a ``version`` argument."""
    return _REGISTRY_SOURCE.match(source.strip()) is not None


def source_and_version(entry: Entry) -> tuple[str, str | None]:
    """What to write: the source (with ``?ref=`` for git when pinned) and the version (registry only)."""
    if is_registry_source(entry.source):
        return entry.source, entry.pin or entry.version
    if entry.pin and "?ref=" not in entry.source:
        sep = "&" if "?" in entry.source else "?"
        return f"{entry.source}{sep}ref={entry.pin}", None
    return entry.source, None


def _lines_of(text: str, start_line: int, end_line: int) -> list[str]:
    return text.split("\n")[start_line:end_line + 1]


def plan_replacement(text: str, block: Block, entry: Entry, module_blocks: list[Block]) -> OffsetEdit | None:
    """Replace ``block`` by a call of ``entry`` plus a ``moved`` block; None when it cannot be done safely."""
    if block.kind != "resource" or len(block.labels) < 2 or not entry.address:
        return None
    rtype, name = block.labels[0], block.labels[1]
    if any(b.kind == "module" and b.labels[:1] == (name,) for b in module_blocks):
        return None  # a module call of that name exists already
    top = [it for it in block.items if len(it.path) == 1]
    if any(it.path[0] in _REFUSED_META for it in top):
        return None
    if block.span.start.line == block.span.end.line:
        return None  # a one-line resource: nothing worth carrying
    all_lines = text.split("\n")
    indent = _indent_of(all_lines[block.span.start.line])
    body_indent = child_indent(block, text, None)
    owner: dict[int, tuple[str, int]] = {}  # line -> ("mapped"|"carried"|"unmapped", item index)
    for i, it in enumerate(top):
        key = it.path[0]
        if not it.is_block and key in entry.inputs:
            role = "mapped"
        elif not it.is_block and key in _CARRIED_META:
            role = "carried"
        else:
            role = "unmapped"
        for ln in range(it.span.start.line, it.span.end.line + 1):
            owner[ln] = (role, i)
    kept: list[str] = []
    unmapped: list[str] = []
    for ln in range(block.header_span.end.line + 1, block.span.end.line):
        line = all_lines[ln]
        role, i = owner.get(ln, ("other", -1))
        if role == "mapped" and ln == top[i].span.start.line:
            it = top[i]
            col_s, col_e = it.name_span.start.character, it.name_span.end.character
            line = line[:col_s] + entry.inputs[it.path[0]] + line[col_e:]
            kept.append(line)
        elif role in ("mapped", "carried", "other"):
            kept.append(line)
        else:
            stripped = line[len(body_indent):] if line.startswith(body_indent) else line.lstrip()
            unmapped.append(f"{body_indent}# {stripped}".rstrip())
    while kept and not kept[0].strip():
        kept.pop(0)
    while kept and not kept[-1].strip():
        kept.pop()
    source, version = source_and_version(entry)
    out = [f'{indent}module "{name}" {{', f'{body_indent}source  = "{source}"']
    if version:
        out.append(f'{body_indent}version = "{version}"')
    if kept:
        out.append("")
        out.extend(kept)
    if unmapped:
        out.append("")
        out.append(body_indent + UNMAPPED_MARKER)
        out.extend(unmapped)
    out.append(f"{indent}}}")
    out.append("")
    out.append(f"{indent}moved {{")
    out.append(f"{body_indent}from = {rtype}.{name}")
    out.append(f"{body_indent}to   = module.{name}.{entry.address}")
    out.append(f"{indent}}}")
    return OffsetEdit(block.start, block.end, "\n".join(out).lstrip(" \t") if indent else "\n".join(out))


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def module_source(text: str, block: Block) -> str | None:
    """The literal ``source`` of a module call, or None."""
    it = block.item(("source",))
    if it is None or it.is_block:
        return None
    s, e = value_range(text, it)
    value = text[s:e].strip()
    if not is_literal(value) or not value.startswith('"'):
        return None
    return value[1:-1]


def entry_for_call(catalogue: Catalogue, source: str, call_name: str) -> Entry | None:
    """The catalogue entry a module call should use: by its source, else by the module's name."""
    found = catalogue.module_for_source(source)
    if found is not None:
        return found
    base = re.sub(r"\?.*$", "", source).rstrip("/")
    base = re.sub(r"\.git$", "", base)
    parts = [p for p in re.split(r"[/:]", base) if p]
    candidates = {call_name}
    if len(parts) >= 3 and is_registry_source(base):
        candidates.add(parts[-2])  # registry: ns/NAME/provider
    elif parts:
        candidates.add(re.sub(r"^terraform-[a-z0-9]+-", "", parts[-1]))  # git: terraform-aws-NAME
    for m in catalogue.modules:
        if m.name in candidates:
            return m
    return None


def plan_pin(text: str, block: Block, entry: Entry) -> str | None:
    """New text of the file with the module call set to the entry's source and version; None if impossible."""
    source, version = source_and_version(entry)
    new = text
    steps = [Set(("source",), f'"{source}"')]
    if version:
        steps.append(Set(("version",), f'"{version}"'))
        b = _refind(new, block)
        src = b.item(("source",)) if b is not None else None
        if b is not None and src is not None and b.item(("version",)) is None:
            # a new version argument goes right below the source, where readers look for it
            eol = new.find("\n", src.end)
            if eol >= 0:
                new = new[: eol + 1] + f'{line_indent(new, src.start)}version = "{version}"\n' + new[eol + 1:]
    for step in steps:
        b = _refind(new, block)
        if b is None:
            return None
        planned = plan_set(new, b, step)
        if planned is None:
            return None
        if isinstance(planned, OffsetEdit):
            new = new[: planned.start] + planned.text + new[planned.end:]
    if not version:  # a git source takes no version argument
        b = _refind(new, block)
        it = b.item(("version",)) if b is not None else None
        if it is not None:
            s = new.rfind("\n", 0, it.start) + 1
            e = new.find("\n", it.end)
            new = new[:s] + new[(e + 1 if e >= 0 else len(new)):]
    return new


def _refind(text: str, block: Block) -> Block | None:
    for b in split_blocks(text).blocks:
        if b.kind == block.kind and b.labels == block.labels:
            return b
    return None
