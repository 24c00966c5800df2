"""``.tfguard.yaml``: the workspace configuration SecOps and teams check in. Validated, located errors.

Keys (all optional; see docs/policies.md)::

    version: 1
    severity_overrides: {CKV_AWS_20: CRITICAL, "CKV_AZURE_*": LOW, TFG_TAG_1: INFO}
    environments:                      # replaces the built-in path patterns when given
      - {pattern: "**/prod/**", adjust: +1, label: production}
      - {pattern: "**/sandbox/**", adjust: -1}
    detect_exposure: true
    risk_classes:                      # tfguard.risk; docs/severities.md "Risk classes"
      order: [public-exposure, secrets, identity-access]   # most urgent first; unlisted follow in default order
      floors: {public-exposure: HIGH, secrets: CRITICAL}   # replaces the default floors when given
    checks: {enable: [...], disable: ["CKV_AWS_144", "CKV2_*"]}   # ids or fnmatch patterns
    policy_dirs: [policies/]           # Checkov YAML custom policies (relative to this file)
    catalogue: approved-modules.yaml   # the approved-module catalogue (relative to this file)
    minimum_severity: LOW              # findings below are not reported
    required_tags: {all: [owner, cost-center], by_type: {aws_s3_bucket: [data-classification]}}
    secrets: {enabled: true}
    suppressions: {ticket_pattern: "SEC-\\d+", not_suppressible: [CKV_AWS_24, "CKV_AWS_2*"]}  # audit
    var_files: [prod.tfvars]           # Terraform variables files, as Checkov's --var-file (relative to this file)
    exclude: ["legacy/**"]             # glob patterns relative to the repository root: never scanned

Two validators, one verdict: the hand validator below (:func:`parse_config`: messages in the words of
the keys, paths inside the repository, files that must exist, regular expressions that must compile) and
the configuration's JSON Schema, ``tfguard/data/tfguard.schema.json`` (the one ``package.json`` registers
for the YAML extension), run at run time with ``jsonschema`` on the same composed document after the hand
validator (:func:`schema_error`: the error located at the YAML node its JSON path names). A file one of
them refuses is refused; tests/unit/test_tfguard_schema.py checks on a corpus of good and bad files that
each gives the same verdict alone, at the same line.

``python_checks`` is refused: Python checks are code, and a workspace file must not make the
editor run code. Use ``tfguard scan --allow-python-checks DIR`` or the user setting instead.

Precedence, per top-level key (the first layer that sets a key wins):

1. the file given with ``tfguard scan --config FILE`` (in the editor: the settings ``tfguard.catalogue`` and
   ``tfguard.policyDirs``, a layer of their own, see tfguard.lsp.settings.install_settings_layer);
2. the nearest ``.tfguard.yaml`` from the Terraform file's directory upwards;
3. ... further ``.tfguard.yaml`` files upwards, up to and including the workspace root;
4. the built-in defaults.

A layer that sets a key replaces the value of lower layers for that key; values are not merged
inside a key (a module's ``required_tags`` replaces the root's). Relative paths are taken from the
folder of the file that names them.

Pure apart from reading files. :class:`ConfigResolver` caches parsed files by their modification
time and, when a file becomes invalid, keeps its previous valid content in force and reports the
error (:meth:`ConfigResolver.errors`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import Any

import yaml

from tfguard import safeyaml
from tfguard.catalogue import Catalogue, load_catalogue
from tfguard.config.checkov import ConfigError, compose_yaml, read_config_file
from tfguard.files import is_inside, repository_root
from tfguard.model import Problem, Severity, Span
from tfguard.priority import DEFAULT_CLASS_FLOORS, DEFAULT_ENVIRONMENTS, EnvironmentPattern, PriorityConfig
from tfguard.risk import RISK_CLASSES, parse_class

log = logging.getLogger(__name__)

CONFIG_NAMES = (".tfguard.yaml", ".tfguard.yml")
KEYS = (
    "version", "severity_overrides", "environments", "detect_exposure", "checks", "policy_dirs", "catalogue",
    "minimum_severity", "required_tags", "secrets", "suppressions", "var_files", "exclude", "risk_classes",
)
PYTHON_CHECKS_REFUSED = (
    "python_checks cannot be set in a workspace file: Python checks are code. Load them with "
    "`tfguard scan --allow-python-checks DIR` or the user (not workspace) setting tfguard.allowPythonChecks"
)


@dataclass(frozen=True)
class TfguardConfig:
    """The effective configuration for one directory (layers merged)."""

    sources: tuple[str, ...] = ()  # files that contributed, highest precedence first
    severity_overrides: Mapping[str, Severity] = field(default_factory=lambda: MappingProxyType({}))
    environments: tuple[EnvironmentPattern, ...] = DEFAULT_ENVIRONMENTS
    detect_exposure: bool = True
    class_order: tuple[str, ...] = RISK_CLASSES
    class_floors: Mapping[str, Severity] = field(default_factory=lambda: MappingProxyType(dict(DEFAULT_CLASS_FLOORS)))
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    policy_dirs: tuple[str, ...] = ()  # absolute
    catalogue: str | None = None  # absolute path
    minimum_severity: Severity | None = None
    required_tags_all: tuple[str, ...] = ()
    required_tags_by_type: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    secrets_enabled: bool = True
    # ``tfguard suppressions``: a skip's reason must match this regex; these checks must never be skipped
    ticket_pattern: str | None = None
    not_suppressible: tuple[str, ...] = ()
    var_files: tuple[str, ...] = ()  # absolute; applied as Checkov's --var-file, after .checkov.yaml's var-file
    exclude: tuple[str, ...] = ()  # glob patterns relative to the repository root

    def priority_config(self) -> PriorityConfig:
        """The :class:`~tfguard.priority.PriorityConfig` this configuration describes."""
        return PriorityConfig(environments=self.environments, overrides=dict(self.severity_overrides),
                              detect_exposure=self.detect_exposure, class_order=self.class_order,
                              class_floors=dict(self.class_floors))

    def is_enabled(self, check_id: str) -> bool:
        """Checkov's ``--check``/``--skip-check`` semantics, with fnmatch patterns: disable wins."""
        cid = check_id.upper()
        if any(fnmatchcase(cid, p.upper()) for p in self.disable):
            return False
        return not self.enable or any(fnmatchcase(cid, p.upper()) for p in self.enable)

    def required_tags(self, resource_type: str) -> tuple[str, ...]:
        """Tag keys a resource of ``resource_type`` must carry (``all`` plus ``by_type``)."""
        keys = list(self.required_tags_all)
        for k in self.required_tags_by_type.get(resource_type, ()):
            if k not in keys:
                keys.append(k)
        return tuple(keys)


DEFAULT_CONFIG = TfguardConfig()


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class ConfigLayer:
    """One validated file: only the keys it sets (already converted to TfguardConfig field values)."""

    path: str
    values: Mapping[str, Any]


class _Reader:
    def __init__(self, path: str, loader: yaml.SafeLoader) -> None:
        self.path = path
        self.loader = loader

    def error(self, node: yaml.Node, message: str) -> ConfigError:
        return ConfigError(self.path, message, node.start_mark.line, node.start_mark.column)

    def scalar(self, node: yaml.Node, what: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, f"{what}: expected a single value, not a {_kind(node)}")
        return self.loader.construct_object(node, deep=True)

    def text(self, node: yaml.Node, what: str) -> str:
        value = self.scalar(node, what)
        if not isinstance(value, str) or value.strip() == "":  # 5, true, 2024-01-01: not text (as the schema says)
            raise self.error(node, f"{what}: expected text")
        return value

    def boolean(self, node: yaml.Node, what: str) -> bool:
        value = self.scalar(node, what)
        if not isinstance(value, bool):
            raise self.error(node, f"{what}: expected true or false")
        return value

    def severity(self, node: yaml.Node, what: str) -> Severity:
        value = self.text(node, what)
        try:
            return Severity.parse(value)
        except ValueError:
            names = ", ".join(s.name for s in Severity)
            raise self.error(node, f"{what}: unknown severity {safeyaml.quote(value)} (expected one of {names})"
                             ) from None

    def mapping(self, node: yaml.Node, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what}: expected a mapping, not a {_kind(node)}")
        return list(node.value)

    def texts(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what}: expected a list, not a {_kind(node)}")
        return tuple(self.text(item, f"{what}[{i}]") for i, item in enumerate(node.value))

    def keys(self, pairs: list[tuple[yaml.Node, yaml.Node]], allowed: tuple[str, ...], what: str) -> None:
        for knode, _ in pairs:
            key = self.text(knode, what)
            if key not in allowed:
                raise self.error(knode, f"{what}: unknown {safeyaml.key_text(key)} (expected {', '.join(allowed)})")

    def inside_path(self, node: yaml.Node, raw: str, what: str) -> str:
        """``raw`` (relative to this file's folder, ``~`` expanded) as an absolute path inside the repository.

        A workspace file cannot make tfguard read outside its repository root (``repository_root`` of this
        file, symlinks resolved): such a path is an error at ``node`` and is never opened.
        """
        base = os.path.dirname(os.path.abspath(self.path))
        path = os.path.normpath(os.path.join(base, os.path.expanduser(raw)))
        if not is_inside(path, repository_root(self.path)):
            raise self.error(node, f"{what}: {safeyaml.quote(raw)} is outside the repository root; not read")
        return path


def _named(key: str) -> str:
    """A key as part of a message's path: itself when it looks like a key, else cut and quoted."""
    return key if safeyaml.key_text(key).startswith("key ") else safeyaml.quote(key, 20)


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    if isinstance(node, yaml.SequenceNode):
        return "list"
    return "single value"


def parse_config(text: str, path: str, *, schema: bool = True) -> ConfigLayer:
    """Validate the text of a ``.tfguard.yaml``; raise ConfigError at the offending node.

    The hand validator first, then the JSON Schema (:func:`schema_error`). ``schema=False``: the hand
    validator alone (the drift test compares the two).
    """
    root, loader = compose_yaml(text, path)
    try:
        layer = _parse_root(_Reader(path, loader), root)
        if schema:
            problem = schema_error(root, loader, path)
            if problem is not None:
                raise problem
        return layer
    finally:
        loader.dispose()


def schema_problem(text: str, path: str) -> ConfigError | None:
    """The JSON Schema's verdict alone on the text of a ``.tfguard.yaml`` (a located error, or None)."""
    root, loader = compose_yaml(text, path)
    try:
        return schema_error(root, loader, path)
    finally:
        loader.dispose()


SCHEMA_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                           "tfguard.schema.json")


@functools.cache
def _schema_validator() -> Any:
    import jsonschema  # Checkov's dependency; imported on the first configuration file

    with open(SCHEMA_FILE, encoding="utf-8") as fh:
        schema = json.load(fh)
    return jsonschema.Draft7Validator(schema)


def schema_error(root: yaml.Node | None, loader: yaml.SafeLoader, path: str) -> ConfigError | None:
    """The JSON Schema's first error (in file order) on a composed ``.tfguard.yaml``, at its YAML node; or None."""
    try:
        instance = loader.construct_object(root, deep=True) if root is not None else None
    except yaml.YAMLError as e:  # e.g. a mapping as a key: not a JSON document
        mark = getattr(e, "problem_mark", None)
        return ConfigError(path, "not a JSON-compatible document", mark.line if mark else 0, mark.column if mark else 0)
    errors = list(_schema_validator().iter_errors(instance))
    if not errors or root is None:
        return ConfigError(path, "top level: expected a mapping", 0, 0) if errors else None
    located = [(_schema_node(root, loader, e), e) for e in errors]
    node, error = min(located, key=lambda ne: (ne[0].start_mark.line, ne[0].start_mark.column))
    return ConfigError(path, _schema_message(error), node.start_mark.line, node.start_mark.column)


def _schema_node(root: yaml.Node, loader: yaml.SafeLoader, error: Any) -> yaml.Node:
    """The YAML node a schema error's path names (for an unknown key: that key)."""
    node = root
    parts = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties") or {}
        extra = [k for k in error.instance if k not in known]
        if extra:
            parts.append((extra[0], "key"))
    for part in parts:
        want_key = isinstance(part, tuple)
        name = part[0] if want_key else part
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value
                        if isinstance(k, yaml.ScalarNode) and loader.construct_object(k) == name), None)
            if hit is None:
                return node
            node = hit[0] if want_key else hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(name, int) and 0 <= name < len(node.value):
            node = node.value[name]
        else:
            return node
    return node


def _schema_message(error: Any) -> str:
    where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in error.absolute_path).replace(".[", "[")
    where = where or "top level"
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties") or {})
        extra = next((k for k in error.instance if k not in known), "?")
        expected = f" (expected {', '.join(known)})" if known else ""
        return f"{where}: unknown {safeyaml.key_text(str(extra))}{expected}"
    if kind == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        names: dict[str, str] = {"object": "a mapping", "array": "a list", "string": "text", "boolean": "true or false",
                 "integer": "a whole number", "number": "a number", "null": "nothing"}
        return f"{where}: expected {' or '.join(names.get(str(t), str(t)) for t in types)}"
    if kind == "required":
        return f"{where}: {error.message.split(' is ')[0]} is required"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    value = safeyaml.quote(str(error.instance)) if not isinstance(error.instance, (dict, list)) else "this value"
    return f"{where}: {value} is not allowed here" + (f" ({description})" if description else f" ({kind})")


def _parse_root(r: _Reader, root: yaml.Node | None) -> ConfigLayer:
    values: dict[str, Any] = {}
    if root is None:
        return ConfigLayer(r.path, MappingProxyType(values))
    seen: set[str] = set()
    for knode, vnode in r.mapping(root, "top level"):
        key = r.text(knode, "top level")
        if key in seen:
            raise r.error(knode, f"duplicate {safeyaml.key_text(key)}")
        seen.add(key)
        if key in ("python_checks", "python-checks", "allow_python_checks"):
            raise r.error(knode, PYTHON_CHECKS_REFUSED)
        if key == "version":
            if r.scalar(vnode, "version") != 1:
                raise r.error(vnode, "version: only version 1 is supported")
        elif key == "severity_overrides":
            overrides: dict[str, Severity] = {}
            for k, v in r.mapping(vnode, "severity_overrides"):
                check = r.text(k, "severity_overrides").strip().upper()
                overrides[check] = r.severity(v, f"severity_overrides.{_named(check)}")
            values["severity_overrides"] = MappingProxyType(overrides)
        elif key == "environments":
            values["environments"] = _environments(r, vnode)
        elif key == "detect_exposure":
            values["detect_exposure"] = r.boolean(vnode, "detect_exposure")
        elif key == "risk_classes":
            values.update(_risk_classes(r, vnode))
        elif key == "checks":
            pairs = r.mapping(vnode, "checks")
            r.keys(pairs, ("enable", "disable"), "checks")
            for k, v in pairs:
                values[str(k.value)] = tuple(x.strip().upper() for x in r.texts(v, f"checks.{k.value}"))
        elif key == "policy_dirs":
            if not isinstance(vnode, yaml.SequenceNode):
                raise r.error(vnode, f"policy_dirs: expected a list, not a {_kind(vnode)}")
            values["policy_dirs"] = tuple(
                r.inside_path(item, r.text(item, f"policy_dirs[{i}]"), f"policy_dirs[{i}]")
                for i, item in enumerate(vnode.value))
        elif key == "catalogue":
            values["catalogue"] = r.inside_path(vnode, r.text(vnode, key), key)
        elif key == "minimum_severity":
            values["minimum_severity"] = r.severity(vnode, key)
        elif key == "required_tags":
            pairs = r.mapping(vnode, "required_tags")
            r.keys(pairs, ("all", "by_type"), "required_tags")
            all_keys: tuple[str, ...] = ()
            by_type: dict[str, tuple[str, ...]] = {}
            for k, v in pairs:
                if k.value == "all":
                    all_keys = r.texts(v, "required_tags.all")
                else:
                    for tk, tv in r.mapping(v, "required_tags.by_type"):
                        rtype = r.text(tk, "required_tags.by_type")
                        by_type[rtype] = r.texts(tv, f"required_tags.by_type.{_named(rtype)}")
            values["required_tags_all"] = all_keys
            values["required_tags_by_type"] = MappingProxyType(by_type)
        elif key == "secrets":
            pairs = r.mapping(vnode, "secrets")
            r.keys(pairs, ("enabled",), "secrets")
            for _, v in pairs:
                values["secrets_enabled"] = r.boolean(v, "secrets.enabled")
        elif key == "suppressions":
            pairs = r.mapping(vnode, "suppressions")
            r.keys(pairs, ("ticket_pattern", "not_suppressible"), "suppressions")
            values["ticket_pattern"], values["not_suppressible"] = None, ()  # the key replaces lower layers whole
            for k, v in pairs:
                if k.value == "ticket_pattern":
                    pattern = r.text(v, "suppressions.ticket_pattern")
                    try:
                        re.compile(pattern)
                    except re.error as e:
                        raise r.error(v, f"suppressions.ticket_pattern: invalid regular expression: {e}") from None
                    values["ticket_pattern"] = pattern
                else:
                    values["not_suppressible"] = tuple(
                        x.strip().upper() for x in r.texts(v, "suppressions.not_suppressible"))
        elif key == "var_files":
            files: list[str] = []
            if not isinstance(vnode, yaml.SequenceNode):
                raise r.error(vnode, f"var_files: expected a list, not a {_kind(vnode)}")
            for i, item in enumerate(vnode.value):
                vf = r.inside_path(item, r.text(item, f"var_files[{i}]"), f"var_files[{i}]")
                if not os.path.isfile(vf):  # fail closed: a missing variables file is not "no variables"
                    raise r.error(item, f"var_files[{i}]: file not found: {vf}")
                files.append(vf)
            values["var_files"] = tuple(files)
        elif key == "exclude":
            values["exclude"] = tuple(p.strip() for p in r.texts(vnode, "exclude"))
        else:
            raise r.error(knode, f"unknown {safeyaml.key_text(key)} (expected one of: {', '.join(KEYS)})")
    return ConfigLayer(r.path, MappingProxyType(values))


def _risk_class(r: _Reader, node: yaml.Node, what: str) -> str:
    value = r.text(node, what)
    try:
        return parse_class(value)
    except ValueError:
        raise r.error(node, f"{what}: unknown risk class {safeyaml.quote(value)} "
                            f"(expected one of {', '.join(RISK_CLASSES)})") from None


def _risk_classes(r: _Reader, node: yaml.Node) -> dict[str, Any]:
    """``risk_classes: {order: [...], floors: {class: SEVERITY}}``; a missing part keeps the built-in default."""
    pairs = r.mapping(node, "risk_classes")
    r.keys(pairs, ("order", "floors"), "risk_classes")
    out: dict[str, Any] = {"class_order": RISK_CLASSES,
                           "class_floors": MappingProxyType(dict(DEFAULT_CLASS_FLOORS))}
    for k, v in pairs:
        if k.value == "order":
            if not isinstance(v, yaml.SequenceNode):
                raise r.error(v, f"risk_classes.order: expected a list, not a {_kind(v)}")
            order: list[str] = []
            for i, item in enumerate(v.value):
                cls = _risk_class(r, item, f"risk_classes.order[{i}]")
                if cls in order:
                    raise r.error(item, f"risk_classes.order[{i}]: {cls} is listed twice")
                order.append(cls)
            out["class_order"] = tuple(order) + tuple(c for c in RISK_CLASSES if c not in order)
        else:
            floors: dict[str, Severity] = {}
            for ck, cv in r.mapping(v, "risk_classes.floors"):
                cls = _risk_class(r, ck, "risk_classes.floors")
                floors[cls] = r.severity(cv, f"risk_classes.floors.{cls}")
            out["class_floors"] = MappingProxyType(floors)
    return out


def _environments(r: _Reader, node: yaml.Node) -> tuple[EnvironmentPattern, ...]:
    if not isinstance(node, yaml.SequenceNode):
        raise r.error(node, "environments: expected a list of {pattern, adjust, label}")
    out: list[EnvironmentPattern] = []
    for i, item in enumerate(node.value):
        what = f"environments[{i}]"
        pairs = r.mapping(item, what)
        r.keys(pairs, ("pattern", "adjust", "label"), what)
        got = {str(k.value): v for k, v in pairs}
        if "pattern" not in got:
            raise r.error(item, f"{what}: missing 'pattern'")
        pattern = r.text(got["pattern"], f"{what}.pattern")
        adjust = 0
        if "adjust" in got:
            value = r.scalar(got["adjust"], f"{what}.adjust")
            if isinstance(value, str):
                try:
                    value = int(value.strip())
                except ValueError:
                    value = None
            if isinstance(value, bool) or not isinstance(value, int) or not -4 <= value <= 4:
                raise r.error(got["adjust"], f"{what}.adjust: expected a whole number of levels, -4 to +4")
            adjust = value
        label = r.text(got["label"], f"{what}.label") if "label" in got else (
            "production path" if adjust > 0 else "non-production path" if adjust < 0 else "environment")
        out.append((pattern, adjust, label))
    return tuple(out)


def load_config_file(path: str, text: str | None = None) -> ConfigLayer:
    """Read (or take ``text`` as the unsaved content of) a ``.tfguard.yaml`` and validate it.

    The file is read safely: only a regular file of at most 1 MiB inside its repository root (a symlink
    out of it, a FIFO, a device is a ConfigError), YAML with the alias/depth budget (``tfguard.safeyaml``).
    """
    if text is None:
        text = read_config_file(path)
    elif len(text) > safeyaml.MAX_CONFIG_BYTES:
        raise ConfigError(path, f"over the {safeyaml.MAX_CONFIG_BYTES}-byte limit: not read")
    return parse_config(text, path)


def merge_layers(layers: list[ConfigLayer]) -> TfguardConfig:
    """Merge layers, highest precedence first: per top-level key, the first layer that sets it wins."""
    values: dict[str, Any] = {}
    for layer in reversed(layers):
        values.update(layer.values)
    return TfguardConfig(sources=tuple(layer.path for layer in layers), **values)


def discover(start_dir: str, root: str | None) -> list[str]:
    """``.tfguard.yaml`` files from ``start_dir`` up to ``root`` (inclusive), nearest first.

    Without a root only ``start_dir`` itself is looked at. A directory outside ``root`` yields none.
    """
    d = os.path.abspath(start_dir)
    stop = os.path.abspath(root) if root else d
    if d != stop and not d.startswith(stop.rstrip(os.sep) + os.sep):
        stop = d
    out: list[str] = []
    while True:
        for name in CONFIG_NAMES:
            p = os.path.join(d, name)
            if os.path.isfile(p):
                out.append(p)
                break
        if d == stop:
            return out
        parent = os.path.dirname(d)
        if parent == d:
            return out
        d = parent


# --------------------------------------------------------------------------- resolver


def error_problem(e: ConfigError) -> Problem:
    """A located :class:`~tfguard.model.Problem` (code ``config``) for a configuration error."""
    span = Span.of(e.line, e.column, e.line, e.column + 1)
    return Problem(e.path, span, e.message, "config", Severity.HIGH)


class ConfigResolver:
    """Effective configuration per directory, with caching and last-valid-wins on errors.

    ``explicit`` is the ``--config`` file (or editor setting); it is the highest layer. Call
    :meth:`set_text` with the unsaved content of an open ``.tfguard.yaml``, :meth:`invalidate`
    when one changes on disk. :meth:`errors` lists the files that are currently invalid (their
    previous valid content, if any, is still in force).
    """

    def __init__(self, root: str | None, explicit: str | None = None) -> None:
        self.root = os.path.abspath(root) if root else None
        self.explicit = os.path.abspath(explicit) if explicit else None
        self._lock = threading.RLock()
        self._layers: dict[str, tuple[tuple[int, int] | str, ConfigLayer | None]] = {}
        self._errors: dict[str, ConfigError] = {}
        self._texts: dict[str, str] = {}
        self._catalogues: dict[str, tuple[tuple[int, int], Catalogue]] = {}
        self._catalogue_errors: dict[str, ConfigError] = {}
        self._batch = threading.local()  # .memo: directory -> config, while batch() is active

    # ----------------------------------------------------------------- files
    def set_text(self, path: str, text: str | None) -> ConfigError | None:
        """Use ``text`` as the content of ``path`` (None: back to the disk); return its error, if any."""
        path = os.path.abspath(path)
        with self._lock:
            if text is None:
                self._texts.pop(path, None)
            else:
                self._texts[path] = text
            self._layers.pop(path, None)
            self._layer(path)
            return self._errors.get(path)

    def invalidate(self, path: str | None = None) -> None:
        """Forget what is cached about ``path`` (or everything): it is read again when next needed."""
        with self._lock:
            if path is None:
                self._layers.clear()
                self._catalogues.clear()
                return
            p = os.path.abspath(path)
            self._catalogues.pop(p, None)
            if p in self._layers:
                # keep the last valid layer for the error case: re-read on next use
                stamp, layer = self._layers[p]
                self._layers[p] = ("stale", layer)

    def check(self, path: str) -> ConfigError | None:
        """Validate one configuration file now; return its error (None when valid)."""
        with self._lock:
            self._layer(os.path.abspath(path))
            return self._errors.get(os.path.abspath(path))

    def _stamp(self, path: str) -> tuple[int, int] | str | None:
        if path in self._texts:
            return "text:" + str(hash(self._texts[path]))
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _layer(self, path: str) -> ConfigLayer | None:
        stamp = self._stamp(path)
        cached = self._layers.get(path)
        if stamp is None:
            self._errors.pop(path, None)
            self._layers.pop(path, None)
            return None
        if cached is not None and cached[0] == stamp:
            return cached[1]
        previous = cached[1] if cached is not None else None
        try:
            layer: ConfigLayer | None = load_config_file(path, self._texts.get(path))
            self._errors.pop(path, None)
        except ConfigError as e:
            if path not in self._errors or self._errors[path].message != e.message:
                log.warning("invalid tfguard configuration (%s); %s", e,
                            "keeping its previous valid content" if previous else "ignoring the file")
            self._errors[path] = e
            layer = previous
        self._layers[path] = (stamp, layer)
        return layer

    # --------------------------------------------------------------- queries
    def layers_for(self, path: str) -> list[ConfigLayer]:
        """The layers that apply to a file or directory, highest precedence first."""
        d = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        with self._lock:
            candidates = ([self.explicit] if self.explicit else []) + discover(d, self.root)
            out = []
            for p in candidates:
                layer = self._layer(p)
                if layer is not None:
                    out.append(layer)
            return out

    def config_for(self, path: str) -> TfguardConfig:
        """The effective configuration for a Terraform file (or a directory)."""
        memo: dict[str, TfguardConfig] | None = getattr(self._batch, "memo", None)
        if memo is None:
            return merge_layers(self.layers_for(path))
        got = memo.get(path)
        if got is None:
            got = memo[path] = merge_layers(self.layers_for(path))
        return got

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Within this block (and this thread), each path's configuration is resolved once.

        Outside it every query looks at the disk again (a ``.tfguard.yaml`` may have appeared); a scan
        asks about each of its thousands of findings, and the files do not change under it.
        """
        if getattr(self._batch, "memo", None) is not None:
            yield
            return
        self._batch.memo = {}
        try:
            yield
        finally:
            self._batch.memo = None

    def catalogue_for(self, config: TfguardConfig) -> Catalogue | None:
        """The catalogue a configuration names (cached; an invalid file keeps its last valid content)."""
        path = config.catalogue
        if path is None:
            return None
        with self._lock:
            try:
                st = os.stat(path)
                stamp = (st.st_mtime_ns, st.st_size)
            except OSError:
                self._catalogue_errors[path] = ConfigError(
                    config.sources[0] if config.sources else path, f"catalogue not found: {path}")
                return None
            cached = self._catalogues.get(path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            try:
                cat = load_catalogue(path)
                self._catalogue_errors.pop(path, None)
            except ConfigError as e:
                self._catalogue_errors[path] = e
                log.warning("invalid module catalogue (%s)", e)
                if cached is None:
                    return None
                cat = cached[1]
            self._catalogues[path] = (stamp, cat)
            return cat

    def errors(self) -> list[ConfigError]:
        """Configuration and catalogue files that are currently invalid, with locations."""
        with self._lock:
            return list(self._errors.values()) + list(self._catalogue_errors.values())

    def problems(self) -> list[Problem]:
        """:meth:`errors` as located problems (code ``config``), for diagnostics on those files."""
        return [error_problem(e) for e in self.errors()]


__all__ = [
    "CONFIG_NAMES",
    "DEFAULT_CONFIG",
    "PYTHON_CHECKS_REFUSED",
    "ConfigLayer",
    "ConfigResolver",
    "TfguardConfig",
    "discover",
    "error_problem",
    "load_config_file",
    "merge_layers",
    "parse_config",
]
