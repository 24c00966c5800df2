"""Fixes at the module call: a finding reported through ``module "x"`` is fixed by the input that drives it.

The local fix of the check says which attribute must hold which value (its ``Set`` steps). The
value is traced from the module's resource back to the caller: when the attribute is exactly
``var.NAME`` in the module's block, the caller's ``module`` block sets ``NAME`` to the fixed value.
Through nested calls (``module.a.module.b.aws_x.y``), ``var.NAME`` of ``b`` must itself be passed
as ``var.OTHER`` by ``a``'s call of ``b``, and so on up to the caller.

A node-pool attribute ``lookup(each.value, "key", default)`` over the input ``var.NAME`` (a list of
maps, fixes/lookups.py) is fixed by setting the key in each map of the caller's literal list.

A fix whose attribute needs another one not null (``LocalFix.needs``: CKV_AWS_118's interval needs
``monitoring_role_arn``) also sets the input that makes the module send it, found by following the
module's expression for it (conditions on the call's inputs, locals) to a boolean input no call passes
(terraform-aws-rds: ``create_monitoring_role = true``); nothing more when the call gives it already.

Nothing is offered when the value is computed (``var.x ? 1 : 0``, ``try(...)``, locals), comes
from a ``dynamic`` block, or is not set in the module at all (the module does not expose it):
then the module itself has to change, which is the developer's decision.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tfguard.calls import call_chain
from tfguard.fixes.lookups import DefaultRewrite, dynamic_switch, evaluated, lookup_at, map_input, set_key_in_maps
from tfguard.fixes.registry import LocalFix
from tfguard.fixes.textops import (
    Set,
    Step,
    address_parts,
    find_block,
    is_dynamic,
    is_literal,
    plan_set,
    run_steps,
    value_range,
)
from tfguard.hcl.blocks import Block, split_blocks

ReadFn = Callable[[str], "str | None"]  # a file's current text (the engine's overlay, else the disk)

_VAR = re.compile(r"^var\.([A-Za-z_][\w-]*)$")


@dataclass(frozen=True)
class InputFix:
    """Set ``name`` to ``value`` on the caller's ``module "call"`` block."""

    call: str  # label of the module block in the caller file
    name: str  # the module input
    value: str  # HCL text
    # else ``key = value`` set in each map of the list ``name`` (fixes/lookups.py); ``value`` is unused
    keys: tuple[tuple[str, str], ...] = ()
    # further inputs the module needs with this one (``create_monitoring_role = true``: LocalFix.needs)
    also: tuple[tuple[str, str], ...] = ()

    @property
    def what(self) -> str:
        """What the fix sets, for the offer's title."""
        if self.keys:
            return ", ".join(f"{k} = {v}" for k, v in self.keys) + f" in each map of {self.name}"
        return ", ".join(f"{n} = {v}" for n, v in ((self.name, self.value), *self.also))


def _var_name(text: str, block: Block, path: tuple[str, ...]) -> str | None:
    """``NAME`` when the attribute at ``path`` of ``block`` is exactly ``var.NAME``."""
    for seg in path[:-1]:
        if is_dynamic(block, seg):
            return None
    item = block.item(path)
    if item is None or item.is_block:
        return None
    s, e = value_range(text, item)
    return driving_var(text[s:e].strip())


_CALL = re.compile(r"^(?:try|coalesce)\((?P<args>.*)\)$", re.DOTALL)


def _top_level(expr: str) -> list[tuple[int, str]] | None:
    """The offsets and characters of ``?``, ``:`` and ``,`` outside brackets and strings; None for text
    this scanner cannot follow (a heredoc, unbalanced brackets)."""
    out: list[tuple[int, str]] = []
    depth, i, n = 0, 0, len(expr)
    while i < n:
        c = expr[i]
        if c == '"':
            i += 1
            while i < n and expr[i] != '"':
                i += 2 if expr[i] == "\\" else 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif c == "<" and expr.startswith("<<", i):
            return None
        elif depth == 0 and c in "?:,":
            out.append((i, c))
        i += 1
    return out if depth == 0 else None


def _ternary(expr: str) -> tuple[str, str] | None:
    """The two results of ``cond ? a : b`` (outermost), else None."""
    marks = _top_level(expr)
    if not marks or marks[0][1] != "?":
        return None
    nested = 0
    for at, c in marks[1:]:
        if c == "?":
            nested += 1
        elif c == ":" and nested:
            nested -= 1
        elif c == ":":
            return expr[marks[0][0] + 1:at].strip(), expr[at + 1:].strip()
    return None


def driving_var(expr: str) -> str | None:
    """``NAME`` when the value of ``expr`` is the caller's ``var.NAME`` whenever the caller sets it to a
    literal: ``var.NAME``; ``try(var.NAME, ...)``; ``coalesce(var.NAME, ...)``; ``c ? X : Y`` with X and Y
    both driven by ``NAME`` (terraform-aws-rds: ``var.blue_green_update != null ?
    coalesce(var.backup_retention_period, 1) : var.backup_retention_period``). None otherwise: the
    module computes the value (``var.x * 1``, locals, a condition choosing between values)."""
    expr = expr.strip()
    m = _VAR.match(expr)
    if m is not None:
        return m.group(1)
    branches = _ternary(expr)
    if branches is not None:
        a, b = driving_var(branches[0]), driving_var(branches[1])
        return a if a is not None and a == b else None
    if expr.startswith("(") and expr.endswith(")") and _top_level(expr[1:-1]) is not None:
        return driving_var(expr[1:-1])
    call = _CALL.match(expr)
    if call is None:
        return None
    marks = _top_level(call.group("args"))
    if marks is None or any(c != "," for _, c in marks):
        return None  # ``try(a) + try(b)``: the parentheses are not the call's
    args = call.group("args")
    return driving_var(args[:marks[0][0]] if marks else args)



def _module_dirs(caller_file: str, calls: list[str], read: ReadFn) -> list[str] | None:
    """Directories of the called modules along ``calls`` (local sources only), outermost first."""
    dirs: list[str] = []
    here = os.path.dirname(os.path.abspath(caller_file))
    files = [caller_file]
    for call in calls:
        source = None
        for f in files:
            text = read(f)
            if text is None:
                continue
            for b in split_blocks(text).blocks:
                if b.kind == "module" and b.labels[:1] == (call,):
                    it = b.item(("source",))
                    if it is not None and not it.is_block:
                        s, e = value_range(text, it)
                        source = text[s:e].strip()
        if source is None or not source.startswith(('"./', '"../')):
            return None
        here = os.path.normpath(os.path.join(here, source.strip('"')))
        dirs.append(here)
        files = [os.path.join(here, n) for n in sorted(os.listdir(here)) if n.endswith(".tf")] \
            if os.path.isdir(here) else []
    return dirs


def _module_blocks(read: ReadFn, module_dir: str) -> Iterator[tuple[str, Block]]:
    """Every top-level block of the module's ``.tf`` files (by file name), with its file's text."""
    for fn in sorted(os.listdir(module_dir)) if os.path.isdir(module_dir) else []:
        if not fn.endswith(".tf"):
            continue
        text = read(os.path.join(module_dir, fn))
        if text is None:
            continue
        for b in split_blocks(text).blocks:
            yield text, b


def calls_outermost(caller_file: str, resource: str, read: ReadFn) -> bool:
    """Whether ``caller_file`` has the outermost call of ``resource`` (``module "a"`` of
    ``module.a.module.b.aws_x.y``). Checkov names the innermost caller of a nested call instead
    (terraform-aws-rds: ``module.mysql.module.db_instance...`` with the root module's ``main.tf``,
    which calls ``db_instance``): such a caller cannot take the fix."""
    chain = call_chain(resource)
    text = read(caller_file) if chain is not None else None
    if chain is None or text is None:
        return False
    return any(b.kind == "module" and b.labels[:1] == (chain[0][0],) for b in split_blocks(text).blocks)


def _passes_through(read: ReadFn, module_dir: str, call: str, name: str) -> str | None:
    """The input of the enclosing module that feeds ``name`` of its call ``call`` (``name = var.X``)."""
    for text, b in _module_blocks(read, module_dir):
        if b.kind == "module" and b.labels[:1] == (call,):
            return _var_name(text, b, (name,))
    return None


_COUNT = re.compile(r"^(?P<cond>[^?:()|]+?)\s*\?\s*1\s*:\s*0$", re.DOTALL)
_TERM = re.compile(r"^(?P<not>!?)\s*var\.(?P<name>[A-Za-z_][\w-]*)$")


def _literal_bool(text: str, block: Block, name: str) -> bool | None:
    item = block.item((name,))
    if item is None or item.is_block:
        return None
    s, e = value_range(text, item)
    value = text[s:e].strip()
    return True if value == "true" else False if value == "false" else None


def _input_bool(caller_file: str, call: str, module_dir: str, name: str, read: ReadFn) -> bool | None:
    """The boolean literal the call passes as ``name``, else the variable's literal default; None if unknown."""
    text = read(caller_file)
    if text is None:
        return None
    for b in split_blocks(text).blocks:
        if b.kind == "module" and b.labels[:1] == (call,):
            if b.item((name,)) is not None:
                return _literal_bool(text, b, name)
            break
    for mtext, b in _module_blocks(read, module_dir):
        if b.kind == "variable" and b.labels[:1] == (name,):
            return _literal_bool(mtext, b, "default")
    return None


def _not_created(text: str, block: Block, caller_file: str, call: str, module_dir: str, read: ReadFn) -> bool:
    """True when the block's ``count = A && var.X && ... ? 1 : 0`` is 0 for this call: a term
    ``var.X`` (or ``!var.X``) is false with the call's literal input or the variable's literal default.

    Checkov reports such a resource anyway when it cannot evaluate the whole condition (the
    terraform-aws-lambda function URL behind ``create_lambda_function_url = false``), and once an
    input is set on the call it cannot render the value either: the check is then UNKNOWN and the
    resource leaves the report, so no fix can be proven (and Terraform creates nothing to fix).
    """
    item = block.item(("count",))
    if item is None or item.is_block:
        return False
    s, e = value_range(text, item)
    m = _COUNT.match(text[s:e].strip())
    if m is None:
        return False
    for term in m.group("cond").split("&&"):
        t = _TERM.match(term.strip())
        if t is None:
            continue
        value = _input_bool(caller_file, call, module_dir, t.group("name"), read)
        if value is not None and value == bool(t.group("not")):
            return True
    return False


def _argument(text: str, call: str, name: str) -> str | None | bool:
    """The text of argument ``name`` of ``module "call"`` in ``text``; False when the call has none
    (the variable's default applies); None when there is no such call."""
    for b in split_blocks(text).blocks:
        if b.kind == "module" and b.labels[:1] == (call,):
            item = b.item((name,))
            if item is None or item.is_block:
                return False
            s, e = value_range(text, item)
            return text[s:e].strip()
    return None


def _default(read: ReadFn, module_dir: str, name: str) -> str | None:
    """The literal default of ``variable "name"`` of the module; None when it has none (or no literal)."""
    for mtext, b in _module_blocks(read, module_dir):
        if b.kind == "variable" and b.labels[:1] == (name,):
            item = b.item(("default",))
            if item is None or item.is_block:
                return None
            s, e = value_range(mtext, item)
            value = mtext[s:e].strip()
            return value if is_literal(value) else None
    return None


def _caller_value(caller_file: str, calls: list[str], dirs: list[str], name: str, read: ReadFn) -> str | None:
    """The value input ``name`` of the innermost module gets: followed up through the enclosing calls
    while each passes it straight through (``name = var.X``), the argument's text where one does not
    (the caller's, or an enclosing module's expression), the variable's literal default where a call
    has no such argument; None when it is not known."""
    return _caller_arg(caller_file, calls, dirs, name, read)[0]


def _caller_arg(caller_file: str, calls: list[str], dirs: list[str], name: str,
                read: ReadFn) -> tuple[str | None, bool]:
    """:func:`_caller_value` and whether it is a call's argument (False: a variable's default)."""
    for i in range(len(calls) - 1, -1, -1):
        arg: str | None | bool = None
        if i == 0:
            text = read(caller_file)
            arg = _argument(text, calls[0], name) if text is not None else None
        else:
            for mtext, b in _module_blocks(read, dirs[i - 1]):
                if b.kind == "module" and b.labels[:1] == (calls[i],):
                    arg = _argument(mtext, calls[i], name)
                    break
        if arg is None:
            return None, False
        if arg is False:
            return _default(read, dirs[i], name), False
        outer = driving_var(str(arg)) if i > 0 else None
        if outer is None:
            return str(arg), True
        name = outer
    return None, False


# ----------------------------------------------------------------------------- inputs a fix needs too

_CONDITION = re.compile(r"^(?P<not>!?)\s*var\.(?P<name>[A-Za-z_][\w-]*)\s*(?:(?P<op>>=|<=|==|!=|>|<)\s*"
                        r'(?P<lit>-?\d+(?:\.\d+)?|null|true|false|"[^"\\$%]*"))?$')
_LOCAL = re.compile(r"^local\.([A-Za-z_][\w-]*)$")
# an attribute of a resource or data source of the module: not null once it exists
_RESOURCE_REF = re.compile(r"^(?!(?:var|local|module|each|count|path|self|terraform)\.)(?:data\.)?"
                           r"[a-z][\w-]*\.[\w-]+(?:\[[^\]]+\])?\.[A-Za-z_][\w]*$")


@dataclass
class _Inputs:
    """The inputs of the innermost module as this call gives them, with the fix's own set."""

    caller_file: str
    calls: list[str]
    dirs: list[str]
    read: ReadFn
    fixed: dict[str, str]

    def value(self, name: str) -> str | None:
        if name in self.fixed:
            return self.fixed[name]
        return _caller_value(self.caller_file, self.calls, self.dirs, name, self.read)

    def passed(self, name: str) -> bool:
        """Whether a call (the caller's, or an enclosing module's) passes ``name``: then it is its decision."""
        return name not in self.fixed and _caller_arg(self.caller_file, self.calls, self.dirs, name, self.read)[1]

    def local(self, name: str) -> str | None:
        for text, b in _module_blocks(self.read, self.dirs[-1]):
            if b.kind == "locals":
                item = b.item((name,))
                if item is not None and not item.is_block:
                    s, e = value_range(text, item)
                    return text[s:e].strip()
        return None


def _condition(cond: str, inputs: _Inputs) -> bool | None:
    """The value of ``var.N``, ``!var.N`` or ``var.N <op> literal`` for this call; None when not known."""
    m = _CONDITION.match(cond.strip())
    value = inputs.value(m.group("name")) if m is not None else None
    if m is None or value is None:
        return None
    op, lit = m.group("op"), m.group("lit")
    if op is None:
        return None if value not in ("true", "false") else (value == "true") != bool(m.group("not"))
    if m.group("not"):
        return None
    if op in ("==", "!="):
        return (value == lit) == (op == "==") if is_literal(value) or value == "null" else None
    try:
        a, b = float(value), float(lit)
    except ValueError:
        return None
    return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]


def _non_null(expr: str, inputs: _Inputs, depth: int = 0) -> tuple[tuple[str, str], ...] | None:
    """The inputs (innermost names, with values) to set so that ``expr`` is not null for this call:
    ``()`` when it is not null already, None when no input of a known value makes it so (an ARN only
    the developer has). A boolean input choosing a branch (``var.create_x ? aws_x.y[0].arn :
    var.x_arn``) is set only when no call passes it: an argument is the caller's own decision."""
    expr = expr.strip()
    if depth > 8 or expr == "null":
        return None
    if _VAR.match(expr):
        value = inputs.value(expr[4:])
        return () if value is not None and value != "null" else None
    if _RESOURCE_REF.match(expr):
        return ()
    local = _LOCAL.match(expr)
    if local is not None:
        defined = inputs.local(local.group(1))
        return _non_null(defined, inputs, depth + 1) if defined is not None else None
    marks = _top_level(expr)
    branches = _ternary(expr)
    if not marks or branches is None:
        return None
    cond = expr[:marks[0][0]].strip()
    truth = _condition(cond, inputs)
    if truth is None:
        return None
    taken, other = branches if truth else branches[::-1]
    need = _non_null(taken, inputs, depth + 1)
    if need is not None:
        return need
    flip = _CONDITION.match(cond)
    if flip is None or flip.group("op") is not None or inputs.passed(flip.group("name")):
        return None
    name = flip.group("name")
    value = "false" if inputs.value(name) == "true" else "true"
    rest = _non_null(other, _Inputs(inputs.caller_file, inputs.calls, inputs.dirs, inputs.read,
                                    {**inputs.fixed, name: value}), depth + 1)
    return None if rest is None else ((name, value), *rest)


def _needed(fix: LocalFix, step: Set, text: str, block: Block, name: str, inputs: _Inputs
            ) -> tuple[tuple[str, str], ...] | None:
    """The further inputs the module needs with ``name = step.value`` (``fix.needs``); None if unknown."""
    out: list[tuple[str, str]] = []
    inputs.fixed[name] = step.value
    for sets, needed in fix.needs:
        if sets != step.path:
            continue
        item = block.item(needed)
        if item is None or item.is_block or any(is_dynamic(block, seg) for seg in needed[:-1]):
            return None  # the module does not send it: the module itself has to change
        s, e = value_range(text, item)
        found = _non_null(text[s:e], inputs)
        if found is None:
            return None
        out.extend(n for n in found if n not in out)
    return tuple(out)


def _with_inputs(text: str, block: Block, caller_file: str, calls: list[str], dirs: list[str],
                 read: ReadFn) -> tuple[str, Block] | None:
    """The module's text and block with each attribute the caller decides replaced by what it passes
    (its argument, else the variable's literal default): ``var.NAME`` (as :func:`driving_var`), or
    ``c ? null : var.NAME`` (the value, when there is one). Only read by a fix's planner, never the
    attribute set (terraform-aws-rds: ``engine = local.is_replica ? null : var.engine`` says which log
    types CKV_AWS_129's fix exports; ``replicate_source_db`` whether the instance is a read replica)."""
    edits: list[tuple[int, int, str]] = []
    for item in block.items:
        if item.is_block or len(item.path) != 1:
            continue
        s, e = value_range(text, item)
        expr = text[s:e].strip()
        name = driving_var(expr)
        branches = _ternary(expr) if name is None else None
        if branches is not None and "null" in branches:
            name = driving_var(branches[1] if branches[0] == "null" else branches[0])
        literal = _caller_value(caller_file, calls, dirs, name, read) if name else None
        if literal is not None:
            edits.append((s, s + len(expr), literal))
    if not edits:
        return None
    for s, e, literal in sorted(edits, reverse=True):
        text = text[:s] + literal + text[e:]
    found = find_block(split_blocks(text).blocks, block.kind, block.labels, block.start_line)
    return (text, found) if found is not None else None


def plan_input(fix: LocalFix, resource: str, module_file: str, line: int, caller_file: str,
               read: ReadFn) -> InputFix | None:
    """The module input to set in ``caller_file`` so that ``fix`` holds for ``resource``; None if none."""
    chain = call_chain(resource)
    if chain is None:
        return None
    calls, local = chain
    parts = address_parts(local)
    if parts is None:
        return None
    text = read(module_file)
    if text is None:
        return None
    block = find_block(split_blocks(text).blocks, parts[0], parts[1], line)
    if block is None:
        return None
    dirs = _module_dirs(caller_file, calls, read)
    if dirs is None or os.path.realpath(dirs[-1]) != os.path.realpath(os.path.dirname(module_file)):
        return None
    steps = fix.plan(block, text)
    if not steps:  # the fix may depend on another input of the call (an engine's log types)
        given = _with_inputs(text, block, caller_file, calls, dirs, read)
        steps = fix.plan(given[1], given[0]) if given is not None else None
    keys: list[tuple[str, str]] = []
    through = steps[0] if steps and len(steps) == 1 and isinstance(steps[0], DefaultRewrite) else None
    if through is not None and set(through.maps) == {"each.value"}:
        # node-pool attributes ``lookup(each.value, "key", default)`` over the input's list of maps
        if not evaluated(resource, block, [through], at_call=True):
            return None
        for step in through.sets:
            found = lookup_at(text, block, step.path)
            if found is None:
                return None
            keys.append((found.key, step.value))
        name = map_input(text, block, list(_module_blocks(read, os.path.dirname(module_file))))
        step = through.sets[0]
    else:
        if not steps or len(steps) != 1 or not isinstance(steps[0], Set) or steps[0].container:
            return None  # one attribute, in nested blocks: the shape a module input can drive
        step = steps[0]
        name = _var_name(text, block, step.path)
        if name is None:  # a dynamic block switched on a boolean input (fixes/lookups.py)
            module_dir = os.path.dirname(module_file)
            files = [(os.path.join(module_dir, n), read(os.path.join(module_dir, n)))
                     for n in sorted(os.listdir(module_dir)) if n.endswith(".tf")]
            switch = dynamic_switch(text, block, step, files)
            if switch is not None:
                name, step = switch.name, Set((switch.name,), switch.value)
    if name is None:
        return None
    if len(calls) == 1 and _not_created(text, block, caller_file, calls[0], dirs[0], read):
        return None  # Terraform creates no such resource for this call: nothing to fix there
    also: tuple[tuple[str, str], ...] = ()
    if fix.needs and not keys:
        needed = _needed(fix, step, text, block, name, _Inputs(caller_file, calls, dirs, read, {}))
        if needed is None:
            return None
        also = needed
    # nested calls: each enclosing module must pass the input straight through
    names = [name, *(n for n, _ in also)]
    for i in range(len(calls) - 1, 0, -1):
        names = [_passes_through(read, dirs[i - 1], calls[i], n) or "" for n in names]
        if not all(names):
            return None
    return InputFix(calls[0], names[0], step.value, tuple(keys),
                    tuple((n, v) for n, (_, v) in zip(names[1:], also, strict=True)))


def caller_text(text: str, fix: InputFix, near_line: int) -> str | None:
    """The caller file's text with the input set on the module block; None when it cannot be set."""
    block = find_block(split_blocks(text).blocks, "module", (fix.call,), near_line)
    if block is None:
        return None
    if fix.keys:
        new: str | None = text
        for key, value in fix.keys:
            item = block.item((fix.name,)) if new is not None else None
            if new is None or item is None or item.is_block:
                return None  # no such list on the call: the module's default list, the module's decision
            s, e = value_range(new, item)
            new = set_key_in_maps(new, s, e, key, value)
            block = find_block(split_blocks(new).blocks, "module", (fix.call,), near_line) if new else None
            if block is None:
                return None
        return new
    steps: list[Step] = [Set((n,), v) for n, v in ((fix.name, fix.value), *fix.also)]
    if any(plan_set(text, block, s) is None for s in steps if isinstance(s, Set)):
        return None  # the caller passes an expression: its own decision
    return run_steps(text, "module", (fix.call,), near_line, steps, [])
