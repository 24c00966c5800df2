"""The approved-module catalogue SecOps curates, and Terraform version-constraint matching.

Format (see docs/policies.md and examples/approved-modules.yaml)::

    version: 1
    modules:
      - name: s3-bucket
        source: app.terraform.io/acme/s3-bucket/aws   # registry or git source
        version: "~> 4.2"          # approved constraint (or exact)
        pin: "4.2.1"               # version/ref written when pinning
        replaces: [aws_s3_bucket]  # raw resource types this module replaces
        address: aws_s3_bucket.this   # resource address inside the module (for `moved` blocks)
        inputs: {bucket: bucket, tags: tags}  # resource attr -> module input
        description: "S3 bucket with encryption, versioning and public access block"
    allowed_sources: ["git::https://git.acme.internal/"]   # prefixes allowed without an entry

Pure: reads a file, returns frozen values; a bad file raises :class:`~tfguard.config.ConfigError`
with the line and column of the offending node.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from tfguard import safeyaml
from tfguard.config.checkov import ConfigError, compose_yaml, read_config_file

# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class ModuleSource:
    """A module call's ``source`` taken apart."""

    raw: str
    kind: str  # local | registry | git | other
    base: str  # without ``?ref=`` / query and without a ``//subdir``; lower-cased for registry sources
    ref: str | None = None  # git ``?ref=`` value


_REGISTRY = re.compile(r"^(?:[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?/)?[\w-]+/[\w-]+/[\w-]+$", re.IGNORECASE)
_GIT_PREFIXES = ("git::", "git@", "github.com/", "bitbucket.org/")


def parse_source(source: str) -> ModuleSource:
    """Classify a module source: local path, registry address, git URL or something else."""
    s = source.strip()
    if s.startswith(("./", "../")) or s in (".", ".."):
        return ModuleSource(s, "local", s)
    query = ""
    if "?" in s:
        s, query = s.split("?", 1)
    ref = None
    for part in query.split("&"):
        if part.startswith("ref="):
            ref = part[4:] or None
    # strip a //subdir (but not the // of a scheme)
    scheme_end = s.find("://")
    start = scheme_end + 3 if scheme_end >= 0 else 0
    sub = s.find("//", start)
    if sub >= 0:
        s = s[:sub]
    if s.lower().startswith(_GIT_PREFIXES) or s.endswith(".git"):
        return ModuleSource(source, "git", s, ref)
    if _REGISTRY.match(s):
        return ModuleSource(source, "registry", s.lower(), ref)
    return ModuleSource(source, "other", s, ref)


# --------------------------------------------------------------------------- versions

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_OPS = ("~>", ">=", "<=", "!=", "=", ">", "<")


@dataclass(frozen=True, order=True)
class Version:
    """A semver-ish version; ``specified`` is how many numeric parts were written (1-3)."""

    major: int
    minor: int
    patch: int
    pre: str = ""
    specified: int = field(default=3, compare=False)

    def key(self) -> tuple[int, int, int, int, str]:
        # a pre-release sorts before its release
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, self.pre)


def parse_version(text: str) -> Version | None:
    """``"4.2.1"``, ``"v4.2"``, ``"1.0.0-beta1"`` -> Version; anything else -> None."""
    m = _VERSION.match(text.strip())
    if not m:
        return None
    parts = [m.group(1), m.group(2), m.group(3)]
    specified = sum(1 for p in parts if p is not None)
    return Version(int(parts[0]), int(parts[1] or 0), int(parts[2] or 0), m.group(4) or "", specified)


Constraint = tuple[tuple[str, Version], ...]


def parse_constraint(text: str) -> Constraint:
    """Parse a Terraform version constraint (``">= 1.2, < 2.0"``, ``"~> 4.2"``, ``"4.2.1"``).

    Raises ValueError on a malformed constraint.
    """
    out: list[tuple[str, Version]] = []
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            raise ValueError(f"empty part in version constraint {safeyaml.quote(text)}")
        op = next((o for o in _OPS if part.startswith(o)), "=")
        rest = part[len(op):].strip() if part.startswith(op) else part
        v = parse_version(rest)
        if v is None:
            raise ValueError(f"not a version: {safeyaml.quote(rest)} in constraint {safeyaml.quote(text)}")
        out.append((op, v))
    return tuple(out)


def _pessimistic_upper(v: Version) -> Version:
    if v.specified <= 2:
        return Version(v.major + 1, 0, 0)
    return Version(v.major, v.minor + 1, 0)


def _satisfies(v: Version, op: str, c: Version) -> bool:
    vk, ck = v.key(), c.key()
    if op == "=":
        return vk == ck
    if op == "!=":
        return vk != ck
    if op == ">":
        return vk > ck
    if op == ">=":
        return vk >= ck
    if op == "<":
        return vk < ck
    if op == "<=":
        return vk <= ck
    # ~>: at least c, and below the next release of the second-to-last specified part
    return vk >= ck and vk < _pessimistic_upper(c).key()


def version_matches(version: str | Version, constraint: str | Constraint) -> bool:
    """True when ``version`` satisfies every part of ``constraint`` (Terraform semantics).

    As in Terraform, a pre-release version only matches a constraint naming that exact version.
    Raises ValueError when the version or the constraint is malformed.
    """
    v = version if isinstance(version, Version) else parse_version(version)
    if v is None:
        raise ValueError(f"not a version: {version!r}")
    parts = constraint if isinstance(constraint, tuple) else parse_constraint(constraint)
    if v.pre and not any(op == "=" and c.key() == v.key() for op, c in parts):
        return False
    return all(_satisfies(v, op, c) for op, c in parts)


def exact_version(constraint: str) -> Version | None:
    """The single version an exact constraint (``"4.2.1"`` or ``"= 4.2.1"``) names, else None."""
    try:
        parts = parse_constraint(constraint)
    except ValueError:
        return None
    if len(parts) == 1 and parts[0][0] == "=":
        return parts[0][1]
    return None


def lowest_allowed(constraint: str) -> Version | None:
    """The lowest version a constraint admits when it has a lower bound (``=``, ``>=``, ``~>``)."""
    parts = parse_constraint(constraint)
    lows = [c for op, c in parts if op in ("=", ">=", "~>")]
    return max(lows, key=Version.key) if lows else None


# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class ApprovedModule:
    """One catalogue entry."""

    name: str
    source: str
    version: str | None = None  # approved constraint
    pin: str | None = None  # version (registry) or ref (git) written when pinning
    replaces: tuple[str, ...] = ()
    address: str | None = None
    inputs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    description: str = ""
    line: int = 0  # 0-based line of the entry in the catalogue file

    @property
    def parsed_source(self) -> ModuleSource:
        return parse_source(self.source)


@dataclass(frozen=True)
class Catalogue:
    """The approved modules and the source prefixes allowed without an entry."""

    path: str | None = None
    modules: tuple[ApprovedModule, ...] = ()
    allowed_sources: tuple[str, ...] = ()

    def module_for_source(self, source: str) -> ApprovedModule | None:
        """The entry whose source is ``source`` (ignoring ``?ref=``, ``//subdir`` and registry case)."""
        wanted = parse_source(source).base
        for m in self.modules:
            if m.parsed_source.base == wanted:
                return m
        return None

    def module_replacing(self, resource_type: str) -> ApprovedModule | None:
        """The entry that replaces raw resources of ``resource_type``, if any."""
        for m in self.modules:
            if resource_type in m.replaces:
                return m
        return None

    def is_allowed_prefix(self, source: str) -> bool:
        """True when ``source`` starts with one of ``allowed_sources``."""
        return any(source.strip().startswith(p) for p in self.allowed_sources)

    def is_approved(self, source: str) -> bool:
        """Local paths, catalogue sources and allowed prefixes are approved."""
        return (parse_source(source).kind == "local" or self.module_for_source(source) is not None
                or self.is_allowed_prefix(source))


def _err(path: str, node: yaml.Node, message: str) -> ConfigError:
    return ConfigError(path, message, node.start_mark.line, node.start_mark.column)


def _scalar(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_object(node, deep=True)


def _string(path: str, loader: yaml.SafeLoader, node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _err(path, node, f"{what}: expected text")
    value = _scalar(loader, node)
    if value is None or isinstance(value, (bool, list, dict)):
        raise _err(path, node, f"{what}: expected text")
    return str(value)


def _string_list(path: str, loader: yaml.SafeLoader, node: yaml.Node, what: str) -> tuple[str, ...]:
    if isinstance(node, yaml.ScalarNode):
        return (_string(path, loader, node, what),)
    if not isinstance(node, yaml.SequenceNode):
        raise _err(path, node, f"{what}: expected a list of text")
    return tuple(_string(path, loader, item, f"{what}[{i}]") for i, item in enumerate(node.value))


_MODULE_KEYS = {"name", "source", "version", "pin", "replaces", "address", "inputs", "description"}


def _module(path: str, loader: yaml.SafeLoader, node: yaml.Node, index: int) -> ApprovedModule:
    where = f"modules[{index}]"
    if not isinstance(node, yaml.MappingNode):
        raise _err(path, node, f"{where}: expected a mapping with name, source, version...")
    values: dict[str, Any] = {}
    for knode, vnode in node.value:
        key = _string(path, loader, knode, where)
        if key not in _MODULE_KEYS:
            expected = ", ".join(sorted(_MODULE_KEYS))
            raise _err(path, knode, f"{where}: unknown {safeyaml.key_text(key)} (expected one of {expected})")
        if key == "replaces":
            values[key] = _string_list(path, loader, vnode, f"{where}.replaces")
        elif key == "inputs":
            if not isinstance(vnode, yaml.MappingNode):
                raise _err(path, vnode,
                           f"{where}.inputs: expected a mapping of resource attribute to module input")
            values[key] = MappingProxyType({
                _string(path, loader, k, f"{where}.inputs"): _string(path, loader, v, f"{where}.inputs")
                for k, v in vnode.value
            })
        else:
            values[key] = _string(path, loader, vnode, f"{where}.{key}")
            if key == "version":
                try:
                    parse_constraint(values[key])
                except ValueError as e:
                    raise _err(path, vnode, f"{where}.version: {e}") from None
    for required in ("name", "source"):
        if required not in values:
            raise _err(path, node, f"{where}: missing {required!r}")
    kind = parse_source(values["source"]).kind
    if kind == "registry" and "version" not in values:
        raise _err(path, node, f"{where}: a registry module needs an approved 'version' constraint")
    return ApprovedModule(line=node.start_mark.line, **values)


def parse_catalogue(text: str, path: str = "<catalogue>") -> Catalogue:
    """Parse catalogue text; raise ConfigError with the location of the first problem."""
    root, loader = compose_yaml(text, path)
    loader.dispose()
    if root is None:
        return Catalogue(path=path)
    if not isinstance(root, yaml.MappingNode):
        raise _err(path, root, "expected a mapping with 'version', 'modules' and 'allowed_sources'")
    modules: tuple[ApprovedModule, ...] = ()
    allowed: tuple[str, ...] = ()
    for knode, vnode in root.value:
        key = _string(path, loader, knode, "catalogue")
        if key == "version":
            if _scalar(loader, vnode) != 1:
                raise _err(path, vnode, "version: only catalogue format version 1 is supported")
        elif key == "modules":
            if not isinstance(vnode, yaml.SequenceNode):
                raise _err(path, vnode, "modules: expected a list of approved modules")
            modules = tuple(_module(path, loader, item, i) for i, item in enumerate(vnode.value))
        elif key == "allowed_sources":
            allowed = _string_list(path, loader, vnode, "allowed_sources")
        else:
            raise _err(path, knode,
                       f"unknown {safeyaml.key_text(key)} (expected version, modules, allowed_sources)")
    names: dict[str, int] = {}
    for m in modules:
        if m.name in names:
            raise ConfigError(path, f"duplicate module name {safeyaml.quote(m.name)}", m.line, 0)
        names[m.name] = m.line
    return Catalogue(path=path, modules=modules, allowed_sources=allowed)


def load_catalogue(path: str, root: str | None = None) -> Catalogue:
    """Read and validate a catalogue file; raise ConfigError with a location on any problem.

    Read safely (:func:`tfguard.config.checkov.read_config_file`): a regular file of at most 1 MiB
    inside ``root`` (default: the catalogue's own repository root, symlinks resolved), YAML with the
    alias/depth budget.
    """
    try:
        text = read_config_file(path, root)
    except ConfigError as e:
        raise ConfigError(path, f"module catalogue: {e.message}") from None
    return parse_catalogue(text, path)
