"""The registry of local fixes, keyed by check id (registering an id twice is an error)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tfguard.fixes.textops import Companion, Set, Step
from tfguard.hcl.blocks import Block

# (block, file text) -> the steps that make the check pass, or None when this block cannot be fixed
Planner = Callable[[Block, str], "list[Step] | None"]
# (block, file text, the user's choice or typed value) -> steps, or None (the value is not acceptable)
ValuePlanner = Callable[[Block, str, str], "list[Step] | None"]
# (block, file text, blocks of the module) -> the choices, as (label, value), best first
Options = Callable[[Block, str, "list[Block]"], "list[tuple[str, str]]"]


class DuplicateFixError(ValueError):
    """A second fix was registered for a check id."""


@dataclass(frozen=True)
class LocalFix:
    check_id: str
    resource_types: tuple[str, ...]  # block's first label (resource or data type)
    summary: str  # what it does, for the title: "set acl to \"private\""
    plan: Planner
    safe: bool = True  # no input needed, nothing replaced or broken: part of fix-all
    block_kind: str = "resource"
    # fixes that need a choice: ``plan_value`` with one of ``options`` (one offer each) or a typed value
    plan_value: ValuePlanner | None = None
    options: Options | None = None
    prompt: str | None = None  # what to ask for a typed value (None: choices only)
    example: str | None = None  # a typed value that is acceptable (tests and the coverage benchmark use it)
    in_module: bool = False  # through a module call with no input driving it: fixed in the module's file
    # (attribute the fix sets, attribute that must then not be null): at a module call the inputs that
    # make the module send the second are set too (fixes/callers.py; CKV_AWS_118: an interval needs a role)
    needs: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()


REGISTRY: dict[str, LocalFix] = {}


def register(fix: LocalFix) -> LocalFix:
    """Add ``fix`` to the registry; a second fix for the same check id raises DuplicateFixError."""
    if fix.check_id in REGISTRY:
        raise DuplicateFixError(f"a fix for {fix.check_id} is already registered")
    REGISTRY[fix.check_id] = fix
    return fix


def _types(types: str | Iterable[str]) -> tuple[str, ...]:
    return (types,) if isinstance(types, str) else tuple(types)


def _fixed(steps: list[Step]) -> Planner:
    def plan(block: Block, text: str) -> list[Step] | None:
        return list(steps)

    return plan


def _value_summary(path: tuple[str, ...], value: str) -> str:
    return f"set {'.'.join(path)} to {value}"


def attr(
    check_id: str,
    types: str | Iterable[str],
    path: str,
    value: str,
    *,
    safe: bool = True,
    summary: str | None = None,
    kind: str = "resource",
    object_path: bool = False,
) -> LocalFix:
    """Register a fix that sets one attribute (``a.b.c``: nested blocks ``a`` and ``b``)."""
    parts = tuple(path.split("."))
    container = tuple("object" for _ in parts[:-1]) if object_path else ()
    return register(LocalFix(
        check_id,
        _types(types),
        summary or _value_summary(parts, value),
        _fixed([Set(parts, value, container)]),
        safe,
        kind,
    ))


def attrs(
    check_id: str,
    types: str | Iterable[str],
    settings: dict[str, str],
    summary: str,
    *,
    safe: bool = True,
    kind: str = "resource",
) -> LocalFix:
    """Register a fix that sets several attributes (applied in order)."""
    steps: list[Step] = [Set(tuple(p.split(".")), v) for p, v in settings.items()]
    return register(LocalFix(
        check_id, _types(types), summary, _fixed(steps), safe, kind,
    ))


def custom(
    check_id: str,
    types: str | Iterable[str],
    summary: str,
    plan: Planner,
    *,
    safe: bool = True,
    kind: str = "resource",
) -> LocalFix:
    """Register a fix whose steps depend on the block."""
    return register(LocalFix(check_id, _types(types), summary, plan, safe, kind))


def companion(check_id: str, types: str | Iterable[str], summary: str, step: Companion, *,
              safe: bool = True) -> LocalFix:
    """Register a fix that appends a companion resource referencing the block."""
    return register(LocalFix(check_id, _types(types), summary,
                             _fixed([step]), safe))


def choice(
    check_id: str,
    types: str | Iterable[str],
    summary: str,
    plan_value: ValuePlanner,
    *,
    options: Options | None = None,
    prompt: str | None = None,
    example: str | None = None,
    fallback: Planner | None = None,
    kind: str = "resource",
    in_module: bool = False,
    needs: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (),
) -> LocalFix:
    """Register a fix that needs the user's choice (never safe: fix-all cannot choose).

    ``options`` lists the choices found in the module (one offer per choice); ``prompt`` asks for a
    typed value instead; ``fallback`` is the fix offered when there is no choice to make.
    """
    def no_plan(block: Block, text: str) -> list[Step] | None:
        return None

    return register(LocalFix(check_id, _types(types), summary, fallback or no_plan, False, kind,
                             plan_value, options, prompt, example, in_module, needs))
