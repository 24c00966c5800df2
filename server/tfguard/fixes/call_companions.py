"""Companion resources at the module call: a graph check on a module's resource that wants a companion
the module does not have is fixed next to the call, wired by the module's output of that resource.

``module "s3_bucket"`` (terraform-aws-s3-bucket) creates no ``aws_s3_bucket_notification`` (that is
its ``modules/notification``): CKV2_AWS_62 fails for ``module.s3_bucket.aws_s3_bucket.this``. The
check's local fix is one companion resource (``Companion`` step); the module outputs the bucket's id
(``output "s3_bucket_id" { value = try(aws_s3_bucket.this[0].id, ...) }``). The caller gets, after its
``module`` block, the same companion with ``bucket = module.s3_bucket.s3_bucket_id``; Checkov connects
it to the instance through the output, and the check passes in the caller's run (proven by the
benchmark and the tests, never assumed).

Everything comes from the module's text; nothing is offered when:

- the module has a resource of the companion's type itself (it drives that companion with its
  inputs: a second one would fight it; see docs/fixes.md for why Checkov cannot see those);
- no output of the module is exactly the resource's id (``aws_x.y.id``, ``aws_x.y[0].id`` or the
  first argument of a ``try(...)``);
- the call has ``count`` or ``for_each``, or Terraform creates no such resource for it (a ``count``
  term ``var.X`` or ``local.X = var.A && var.B`` false for the call);
- the caller's directory calls the module more than once: Checkov's one graph of that directory
  resolves ``module.<call>.<output>`` of every call to the output of one of them (measured on
  terraform-aws-s3-bucket's examples: in ``examples/object`` a notification wired to
  ``module.s3_bucket_with_object_lock.s3_bucket_id`` connects to ``module.s3_bucket``'s bucket), so
  the check would pass for another instance, or for none;
- the caller's directory already wires one to the call: a resource of that type, or another local
  module whose inputs refer to ``module.<call>.`` and which has a resource of that type (the
  notification example: a second ``aws_s3_bucket_notification`` would replace the first in AWS).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from tfguard.calls import call_chain
from tfguard.fixes.callers import ReadFn, _input_bool, _module_blocks, _module_dirs
from tfguard.fixes.registry import LocalFix
from tfguard.fixes.textops import (
    Companion,
    InCompanion,
    address_parts,
    find_block,
    indent_unit,
    line_indent,
    value_range,
)
from tfguard.hcl.blocks import Block, split_blocks

_COUNT = re.compile(r"^(?P<cond>[^?:()|]+?)\s*\?\s*1\s*:\s*0$", re.DOTALL)
_VAR_TERM = re.compile(r"^(?P<not>!?)\s*var\.(?P<name>[A-Za-z_][\w-]*)$")
_LOCAL_TERM = re.compile(r"^local\.(?P<name>[A-Za-z_][\w-]*)$")


@dataclass(frozen=True)
class CallCompanion:
    """Append ``resource_type`` after the caller's ``module "call"`` block, ``{ref}`` = ``module.call.output``."""

    call: str
    resource_type: str
    body: tuple[str, ...]
    output: str

    @property
    def ref(self) -> str:
        return f"module.{self.call}.{self.output}"


def _attr(text: str, block: Block, name: str) -> str | None:
    item = block.item((name,))
    if item is None or item.is_block:
        return None
    s, e = value_range(text, item)
    return text[s:e].strip()


def _id_output(module_dir: str, resource_type: str, name: str, read: ReadFn) -> str | None:
    """The output whose value is the resource's id (first by file and position)."""
    own = re.compile(rf"^(?:try\(\s*)?{re.escape(resource_type)}\.{re.escape(name)}(?:\[[^\]]*\])?\.id\s*(?:[,)]|$)")
    for text, b in _module_blocks(read, module_dir):
        if b.kind == "output" and b.labels:
            value = _attr(text, b, "value")
            if value is not None and own.match(value):
                return b.labels[0]
    return None


def _count_terms(module_dir: str, text: str, block: Block, read: ReadFn) -> list[str]:
    """The ``&&`` terms of ``count = A && B ? 1 : 0``, ``local.X`` expanded when it is such a conjunction."""
    value = _attr(text, block, "count")
    m = _COUNT.match(value or "")
    if m is None:
        return []
    terms: list[str] = []
    for term in (t.strip() for t in m.group("cond").split("&&")):
        local = _LOCAL_TERM.match(term)
        if local is None:
            terms.append(term)
            continue
        for mtext, b in _module_blocks(read, module_dir):
            if b.kind == "locals":
                defined = _attr(mtext, b, local.group("name"))
                if defined is not None and re.fullmatch(r"[\w.!&\s]+", defined):
                    terms.extend(t.strip() for t in defined.split("&&"))
    return terms


def _not_created(module_dir: str, text: str, block: Block, caller_file: str, call: str, read: ReadFn) -> bool:
    for term in _count_terms(module_dir, text, block, read):
        t = _VAR_TERM.match(term)
        if t is None:
            continue
        value = _input_bool(caller_file, call, module_dir, t.group("name"), read)
        if value is not None and value == bool(t.group("not")):
            return True
    return False


def _wired_already(caller_file: str, call: str, resource_type: str, read: ReadFn) -> bool:
    """A resource of the type, or a local module having one, in the caller's directory refers to the call."""
    directory = os.path.dirname(os.path.abspath(caller_file))
    ref = re.compile(rf"\bmodule\.{re.escape(call)}\.")
    for text, b in _module_blocks(read, directory):
        if not ref.search(b.text):
            continue
        if b.kind == "resource" and b.labels[:1] == (resource_type,):
            return True
        if b.kind == "module" and b.labels:
            source = (_attr(text, b, "source") or "").strip('"')
            if source.startswith(("./", "../")):
                d = os.path.normpath(os.path.join(directory, source))
                if any(mb.kind == "resource" and mb.labels[:1] == (resource_type,)
                       for _t, mb in _module_blocks(read, d)):
                    return True
    return False


def _calls_of(caller_file: str, module_dir: str, read: ReadFn) -> int:
    """How many ``module`` blocks of the caller's directory call ``module_dir`` (local sources)."""
    directory = os.path.dirname(os.path.abspath(caller_file))
    real = os.path.realpath(module_dir)
    n = 0
    for text, b in _module_blocks(read, directory):
        source = (_attr(text, b, "source") or "").strip('"') if b.kind == "module" else ""
        if source.startswith(("./", "../")) and os.path.realpath(os.path.join(directory, source)) == real:
            n += 1
    return n


def plan_call_companion(fix: LocalFix, resource: str, module_file: str, line: int, caller_file: str,
                        read: ReadFn) -> CallCompanion | None:
    """The companion to add next to the call in ``caller_file`` for ``fix`` on ``resource``; None if none."""
    chain = call_chain(resource)
    if chain is None or len(chain[0]) != 1:
        return None  # a direct call only: a nested module's outputs are not the caller's
    call, local = chain[0][0], chain[1]
    parts = address_parts(local)
    text = read(module_file)
    if parts is None or parts[0] != "resource" or text is None:
        return None
    block = find_block(split_blocks(text).blocks, parts[0], parts[1], line)
    if block is None or len(block.labels) < 2:
        return None
    steps = fix.plan(block, text) or []
    step = steps[0] if steps else None
    if not isinstance(step, Companion) or any(not isinstance(s, InCompanion) or s.resource_type != step.resource_type
                                              for s in steps[1:]):
        return None  # one companion (its body has the values; an InCompanion step only corrects an existing one)
    dirs = _module_dirs(caller_file, [call], read)
    module_dir = os.path.dirname(os.path.abspath(module_file))
    if dirs is None or os.path.realpath(dirs[0]) != os.path.realpath(module_dir):
        return None
    if any(b.kind == "resource" and b.labels[:1] == (step.resource_type,)
           for _t, b in _module_blocks(read, module_dir)):
        return None  # the module drives that companion itself
    output = _id_output(module_dir, block.labels[0], block.labels[1], read)
    if output is None or _not_created(module_dir, text, block, caller_file, call, read):
        return None
    caller = read(caller_file)
    if caller is None:
        return None
    found = [b for b in split_blocks(caller).blocks if b.kind == "module" and b.labels[:1] == (call,)]
    if len(found) != 1 or found[0].item(("count",)) is not None or found[0].item(("for_each",)) is not None:
        return None
    if _wired_already(caller_file, call, step.resource_type, read):
        return None
    if _calls_of(caller_file, module_dir, read) != 1:
        return None  # Checkov's graph of the directory resolves every call's output to one instance
    return CallCompanion(call, step.resource_type, step.body, output)


def companion_text(caller: str, fix: CallCompanion, near_line: int, read: ReadFn, caller_file: str) -> str | None:
    """The caller's text with the companion appended after the ``module`` block; None when it is there."""
    block = find_block(split_blocks(caller).blocks, "module", (fix.call,), near_line)
    if block is None:
        return None
    directory = os.path.dirname(os.path.abspath(caller_file))
    blocks = [b for _t, b in _module_blocks(read, directory)] + list(split_blocks(caller).blocks)
    if any(b.kind == "resource" and b.labels[:1] == (fix.resource_type,) and fix.ref in b.text for b in blocks):
        return None  # applied already
    taken = {b.labels[1] for b in blocks if b.kind == "resource" and b.labels[:1] == (fix.resource_type,)
             and len(b.labels) > 1}
    name = base = re.sub(r"\W", "_", fix.call)
    n = 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    indent, unit = line_indent(caller, block.start), indent_unit(block, caller)
    label = fix.call.lower().replace("_", "-")
    lines = [f'{indent}resource "{fix.resource_type}" "{name}" {{']
    for line in fix.body:
        stripped = line.lstrip(" ")
        level = (len(line) - len(stripped)) // 2
        lines.append((indent + unit * level + stripped.replace("{ref}", fix.ref).replace("{label}", label)).rstrip())
    lines.append(indent + "}")
    return caller[:block.end] + "\n\n" + "\n".join(lines) + caller[block.end:]
