"""Explained values (issue #18): the value a check read and where it came from.

When an attribute a check evaluated is an expression (``acl = var.acl``), the finding says what the
expression was, the value it took and the place that value was written:

* a **caller's input** when the resource was reported through a module call (Checkov's
  ``caller_file``/``caller_line_range``): the argument of that ``module`` block, ``via module.s3``;
  when that argument is itself ``var.x`` of the caller, the caller's variable is resolved in turn;
* in a root module, Terraform's order (a later source wins): the variable's ``default``,
  ``terraform.tfvars``, ``terraform.tfvars.json``, ``*.auto.tfvars(.json)`` in name order, then the
  variables files in force (``--var-file``, ``.checkov.yaml`` ``var-file``, ``.tfguard.yaml``
  ``var_files``), as Checkov applies them;
* ``local.x``: the ``locals`` entry (resolved further when it is itself a reference).

Only whole references are explained (``"${var.acl}"``); an interpolation inside a longer string is
shown with the value of each reference it holds. A reference nothing assigns is not explained (the
check read the expression itself). Reads the engine's parse state only (no Checkov, no LSP).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tfguard.calls import CallIndex
from tfguard.model import Explained, Finding

_WHOLE_REF = re.compile(r"\$\{(var|local)\.([A-Za-z_][A-Za-z0-9_\-]*)\}")
_MAX_DEPTH = 4
_SKIP_KEYS = {"resource_type"}


class Sources(Protocol):
    """What explaining reads: the engine's parse state, module files and variables files."""

    def state(self, path: str) -> Any: ...

    def module_files(self, module_dir: str) -> list[str]: ...

    def var_files_for(self, module_dir: str) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class _Value:
    value: Any
    kind: str
    file: str
    line: int | None
    via: str | None = None


def _unwrap(value: Any) -> Any:
    """Checkov wraps attribute values in a one-element list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _text(value: Any) -> str:
    """A value as HCL/JSON text: ``"public-read"``, ``true``, ``["0.0.0.0/0"]``."""
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _expression(raw: str) -> str:
    """``${var.acl}`` -> ``var.acl``; a longer template stays as written."""
    m = _WHOLE_REF.fullmatch(raw)
    if m:
        return f"{m.group(1)}.{m.group(2)}"
    if raw.startswith("${") and raw.endswith("}") and raw.count("${") == 1:
        return raw[2:-1]
    return raw


def _line_of(block: Any, name: str) -> int | None:
    """1-based line of the attribute ``name`` of a block (the block's first line when not found)."""
    item = block.item((name,)) if hasattr(block, "item") else None
    if item is not None:
        return int(item.span.start.line) + 1
    return int(block.start_line) if hasattr(block, "start_line") else None


def _relative(path: str, root: str | None) -> str:
    if root:
        try:
            rel = os.path.relpath(path, root)
        except ValueError:
            return path
        if not rel.startswith(".."):
            return rel.replace(os.sep, "/")
    return path


class Explainer:
    """Explains the evaluated values of findings, reading ``sources`` (an :class:`~tfguard.engine.Engine`)."""

    def __init__(self, sources: Sources, root: str | None, calls: CallIndex | None = None) -> None:
        self.sources = sources
        self.root = root
        self.calls = calls

    def _caller(self, finding: Finding, module_dir: str) -> tuple[str, int] | None:
        """The module block that called the finding's module: Checkov's caller, else the one call of
        that name to ``module_dir`` in the repository (``module.s3.aws_s3_bucket.this``: ``s3``)."""
        if finding.caller_file and finding.caller_line_range:
            return finding.caller_file, finding.caller_line_range[0]
        parts = finding.resource.split(".")
        names = [parts[i + 1].split("[")[0] for i, p in enumerate(parts[:-1]) if p == "module"]
        if not names or self.calls is None:
            return None
        found = [c for c in self.calls.callers(module_dir) if c.name == names[-1]]
        return (found[0].caller_file, found[0].line) if len(found) == 1 else None

    # ------------------------------------------------------------ lookups
    def _blocks(self, module_dir: str) -> Iterable[tuple[str, Any]]:
        for f in self.sources.module_files(module_dir):
            st = self.sources.state(f)
            if st.is_json:
                continue
            for pb in st.parsed:
                yield f, pb

    def _default(self, module_dir: str, name: str) -> _Value | None:
        for f, pb in self._blocks(module_dir):
            if pb.block.kind == "variable" and pb.block.labels[:1] == (name,):
                conf = pb.content_conf or {}
                for var in conf.get("variable") or []:
                    body = var.get(name) if isinstance(var, dict) else None
                    if isinstance(body, dict) and "default" in body:
                        return _Value(_unwrap(body["default"]), "default", f, _line_of(pb.block, "default"))
                return None
        return None

    def _assignments(self, path: str, name: str, kind: str) -> _Value | None:
        """``name``'s value in a variables file, if it assigns it."""
        if not os.path.isfile(path):
            return None
        st = self.sources.state(path)
        if st.is_json:
            conf = st.json_conf
            if isinstance(conf, dict) and name in conf:
                return _Value(conf[name], kind, path, None)
            return None
        found = None
        for pb in st.parsed:
            if pb.block.kind == "attribute" and pb.block.labels[:1] == (name,):
                conf = pb.content_conf or {}
                if name in conf:
                    found = _Value(_unwrap(conf[name]), kind, path, int(pb.block.start_line))
        return found

    def _root_variable(self, module_dir: str, name: str) -> _Value | None:
        """Terraform's precedence for a root module: default < terraform.tfvars < *.auto.tfvars < var files."""
        got = self._default(module_dir, name)
        auto: list[str] = []
        try:
            auto = sorted(e for e in os.listdir(module_dir)
                          if e.endswith((".auto.tfvars", ".auto.tfvars.json")))
        except OSError:
            pass
        candidates = [(os.path.join(module_dir, n), "tfvars")
                      for n in ("terraform.tfvars", "terraform.tfvars.json", *auto)]
        candidates += [(vf, "var-file") for vf in self.sources.var_files_for(module_dir)]
        seen: set[str] = set()
        for path, kind in candidates:
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            assigned = self._assignments(path, name, kind)
            if assigned is not None:
                got = assigned
        return got

    def _module_input(self, caller_file: str, caller_line: int, module_dir: str, name: str,
                      depth: int) -> _Value | None:
        """The argument ``name`` of the ``module`` block at ``caller_line`` of ``caller_file``."""
        if not os.path.isfile(caller_file):
            return None
        for pb in self.sources.state(caller_file).parsed:
            block = pb.block
            if block.kind != "module" or block.start_line != caller_line:
                continue
            conf = pb.content_conf or {}
            for entry in conf.get("module") or []:
                body = entry.get(block.labels[0]) if isinstance(entry, dict) and block.labels else None
                if not isinstance(body, dict) or name not in body:
                    continue
                raw = _unwrap(body[name])
                via = f"module.{block.labels[0]}"
                line = _line_of(block, name)
                if isinstance(raw, str) and _WHOLE_REF.fullmatch(raw) and depth < _MAX_DEPTH:
                    inner = self._reference(raw, os.path.dirname(caller_file), None, depth + 1)
                    if inner is not None:
                        return _Value(inner.value, inner.kind, inner.file, inner.line,
                                      f"{via} ({_relative(caller_file, self.root)}:{line})")
                return _Value(raw, "module-input", caller_file, line, via)
            return self._default(module_dir, name)
        return None

    def _local(self, module_dir: str, name: str, depth: int) -> _Value | None:
        for f, pb in self._blocks(module_dir):
            if pb.block.kind != "locals":
                continue
            conf = pb.content_conf or {}
            for entry in conf.get("locals") or []:
                if isinstance(entry, dict) and name in entry:
                    raw = _unwrap(entry[name])
                    if isinstance(raw, str) and _WHOLE_REF.fullmatch(raw) and depth < _MAX_DEPTH:
                        inner = self._reference(raw, module_dir, None, depth + 1)
                        if inner is not None:
                            return inner
                    return _Value(raw, "local", f, _line_of(pb.block, name))
        return None

    def _reference(self, raw: str, module_dir: str, caller: tuple[str, int] | None, depth: int) -> _Value | None:
        m = _WHOLE_REF.fullmatch(raw)
        if m is None:
            return None
        kind, name = m.group(1), m.group(2)
        if kind == "local":
            return self._local(module_dir, name, depth)
        if caller is not None:
            return self._module_input(caller[0], caller[1], module_dir, name, depth)
        return self._root_variable(module_dir, name)

    # ------------------------------------------------------------ public
    def explain(self, finding: Finding, body: Mapping[str, Any] | None) -> tuple[Explained, ...]:
        """The explained values of ``finding`` (its block's parsed ``body``, values as written)."""
        if not body or not finding.evaluated_keys:
            return ()
        module_dir = os.path.dirname(finding.file)
        caller = self._caller(finding, module_dir)
        out: list[Explained] = []
        seen: set[str] = set()
        for key in finding.evaluated_keys:
            if key in _SKIP_KEYS or key in seen:
                continue
            raw = _at(body, key)
            if not isinstance(raw, str) or "${" not in raw:
                continue
            seen.add(key)
            refs = [mm.group(0) for mm in _WHOLE_REF.finditer(raw)]
            if not refs:
                continue
            whole = _WHOLE_REF.fullmatch(raw) is not None
            for ref in refs if not whole else [raw]:
                got = self._reference(ref, module_dir, caller, 0)
                if got is None or (isinstance(got.value, str) and "${" in got.value):
                    continue
                origin = _relative(got.file, self.root) + (f":{got.line}" if got.line else "")
                out.append(Explained(key=key, expression=_expression(raw if whole else ref), value=_text(got.value),
                                     origin=origin, kind=got.kind, file=got.file, line=got.line, via=got.via))
        return tuple(out)


def _at(body: Mapping[str, Any], key: str) -> Any:
    """The raw value at Checkov's evaluated-key path (``versioning/enabled``, ``ingress/[0]/cidr_blocks``)."""
    node: Any = body
    for part in key.split("/"):
        node = _unwrap(node) if isinstance(node, list) and part not in ("*",) and not part.startswith("[") else node
        if part == "*":
            return None
        if part.startswith("[") and part.endswith("]") and isinstance(node, list):
            try:
                node = node[int(part[1:-1])]
            except (ValueError, IndexError):
                return None
            continue
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return _unwrap(node)


__all__ = ["Explainer", "Sources"]
