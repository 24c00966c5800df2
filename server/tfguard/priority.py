"""Context-aware priority: the same check matters more in production and on exposed resources.

:func:`assess` gives one finding its final severity, a sortable ``priority`` and the human-readable
reasons (``context``) behind both:

* **Base severity**: a configured override (exact check id, else the longest matching ``fnmatch``
  pattern such as ``CKV_AWS_*``), else the offline table / fallback of :mod:`tfguard.severity` for
  Checkov and graph findings, else the severity the finding already carries (custom policies).
* **Environment**: the file path (relative to the workspace root when given) is matched against
  :attr:`PriorityConfig.environments`, glob patterns where ``**`` spans directories, ``*`` stays
  within one, matched case-insensitively; the first matching pattern wins. Its ``delta`` moves the
  shown severity by that many levels (clamped to INFO..CRITICAL) and the priority by
  ``delta * ENV_STEP`` (half a level: a production HIGH outranks its development twin and a plain
  HIGH, but not a CRITICAL).
* **Risk class** (:mod:`tfguard.risk`): each class has a place in :attr:`PriorityConfig.class_order`
  (``CLASS_STEP`` of priority per place, less than ``ENV_STEP`` in total) and an optional severity
  floor (:data:`DEFAULT_CLASS_FLOORS`: exposure, identity and secrets are at least HIGH).
* **Exposure**: when the resource's parsed configuration (Checkov's shape: values wrapped in lists)
  shows it open to the internet, the severity rises one level (not for hygiene findings), and to at
  least HIGH first when an administrative port (:data:`ADMIN_PORTS`) is open to the world.

``priority = rank(severity before environment) * LEVEL_STEP + delta * ENV_STEP + class bonus``.
``PriorityConfig(ranking="severity")`` is the ranking before risk classes (+``EXPOSURE_BONUS`` when
exposed, no classes or floors), kept for the ranking benchmark's comparison.
Apply :func:`assess` once per raw finding; :func:`rank` sorts by descending priority.

Pure: no LSP, no Checkov import.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from tfguard.files import glob_to_regex
from tfguard.model import Finding, Severity
from tfguard.risk import HYGIENE, IDENTITY_ACCESS, PUBLIC_EXPOSURE, RISK_CLASSES, SECRETS, classify_check
from tfguard.severity import decide_severity

LEVEL_STEP = 100
ENV_STEP = 50
EXPOSURE_BONUS = 30  # the legacy ranking's exposure bonus (ranking="severity")
CLASS_STEP = 8  # priority between two neighbouring risk classes of one severity band (max 5*8 < ENV_STEP)

RANKINGS = ("risk", "severity")

#: Default per-class severity floors: the urgent classes are at least HIGH.
DEFAULT_CLASS_FLOORS: Mapping[str, Severity] = {
    PUBLIC_EXPOSURE: Severity.HIGH,
    IDENTITY_ACCESS: Severity.HIGH,
    SECRETS: Severity.HIGH,
}

#: Administrative ports: open to the world, a finding on the resource is at least HIGH.
ADMIN_PORTS: Mapping[int, str] = {
    22: "SSH", 23: "Telnet", 3389: "RDP", 5985: "WinRM", 5986: "WinRM", 1433: "SQL Server", 1521: "Oracle",
    3306: "MySQL", 5432: "PostgreSQL", 5439: "Redshift", 6379: "Redis", 9200: "Elasticsearch",
    27017: "MongoDB", 11211: "Memcached", 2375: "Docker", 2379: "etcd", 6443: "Kubernetes API",
}

#: (glob pattern, delta in severity levels, label)
EnvironmentPattern = tuple[str, int, str]

DEFAULT_ENVIRONMENTS: tuple[EnvironmentPattern, ...] = (
    ("**/prod/**", 1, "production path"),
    ("**/production/**", 1, "production path"),
    ("**/prd/**", 1, "production path"),
    ("**/sandbox/**", -1, "non-production path"),
    ("**/dev/**", -1, "non-production path"),
    ("**/test/**", -1, "non-production path"),
    ("**/examples/**", -1, "non-production path"),
)

LSP_LEVELS = ("error", "warning", "information", "hint")
DEFAULT_LSP_LEVELS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "information",
    Severity.INFO: "hint",
}

_TABLE_SOURCES = {"checkov", "graph"}


@dataclass(frozen=True)
class PriorityConfig:
    """How findings are prioritised; every field has a sensible default."""

    environments: tuple[EnvironmentPattern, ...] = DEFAULT_ENVIRONMENTS
    overrides: Mapping[str, Severity] = field(default_factory=dict)  # check id or fnmatch pattern
    detect_exposure: bool = True
    #: Risk classes most urgent first (every class once); see :mod:`tfguard.risk`.
    class_order: tuple[str, ...] = RISK_CLASSES
    #: Class -> minimum base severity (not applied to a check with a severity override).
    class_floors: Mapping[str, Severity] = field(default_factory=lambda: dict(DEFAULT_CLASS_FLOORS))
    #: ``risk`` (classes, floors, exposure raises a level) or ``severity`` (the ranking before
    #: risk classes: severity x environment, +EXPOSURE_BONUS; kept for the benchmark's comparison).
    ranking: str = "risk"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> PriorityConfig:
        """Build a config from plain data (e.g. parsed YAML), validating it.

        Accepted keys: ``environments`` (list of ``{pattern, delta, label}`` mappings or
        ``[pattern, delta, label]`` triples; replaces the defaults), ``overrides`` (mapping of check id
        or pattern to a severity name) and ``detect_exposure`` (bool). Raises ValueError on bad input.
        """
        if not data:
            return cls()
        unknown = set(data) - {"environments", "overrides", "detect_exposure", "ranking"}
        if unknown:
            raise ValueError(f"unknown priority settings: {', '.join(sorted(unknown))}")
        environments = DEFAULT_ENVIRONMENTS
        if data.get("environments") is not None:
            environments = tuple(_parse_environment(item) for item in data["environments"])
        overrides = {
            str(key).strip().upper(): value if isinstance(value, Severity) else Severity.parse(str(value))
            for key, value in (data.get("overrides") or {}).items()
        }
        return cls(
            environments=environments,
            overrides=overrides,
            detect_exposure=bool(data.get("detect_exposure", True)),
            ranking=_parse_ranking(data.get("ranking", "risk")),
        )


def _parse_ranking(value: Any) -> str:
    if value not in RANKINGS:
        raise ValueError(f"unknown ranking {value!r} (expected one of {', '.join(RANKINGS)})")
    return str(value)


def _parse_environment(item: Any) -> EnvironmentPattern:
    if isinstance(item, Mapping):
        pattern, delta, label = item.get("pattern"), item.get("delta", 0), item.get("label")
    elif isinstance(item, (list, tuple)) and len(item) in (2, 3):
        pattern, delta = item[0], item[1]
        label = item[2] if len(item) == 3 else None
    else:
        raise ValueError(f"bad environment pattern {item!r}: expected {{pattern, delta, label}}")
    if not isinstance(pattern, str) or not pattern or isinstance(delta, bool) or not isinstance(delta, int):
        raise ValueError(f"bad environment pattern {item!r}: pattern must be text, delta an integer")
    return (pattern, delta, str(label) if label else ("production path" if delta > 0 else "environment"))


# --------------------------------------------------------------------------- environment


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a path glob (:func:`tfguard.files.glob_to_regex`), matched case-insensitively."""
    return re.compile(glob_to_regex(pattern), re.IGNORECASE)


def _relative_path(file: str, workspace_root: str | None) -> str:
    path = file.replace("\\", "/")
    if workspace_root:
        root = workspace_root.replace("\\", "/").rstrip("/")
        try:
            return PurePosixPath(path).relative_to(PurePosixPath(root)).as_posix()
        except ValueError:
            pass
    return path


def match_environment(
    file: str, environments: Iterable[EnvironmentPattern], workspace_root: str | None = None
) -> EnvironmentPattern | None:
    """Return the first environment pattern matching the file's path, or None."""
    path = _relative_path(file, workspace_root)
    bare = path.lstrip("/")
    for env in environments:
        regex = _glob_regex(env[0])
        if regex.fullmatch(path) or regex.fullmatch(bare):
            return env
    return None


def strongest_environment(
    finding: Finding, environments: Iterable[EnvironmentPattern], workspace_root: str | None = None
) -> tuple[EnvironmentPattern | None, str | None]:
    """The environment that weighs most on a finding, and the caller file it comes through (None: the
    finding's own file). A finding reported through module calls (``caller_file``, or the merged
    ``callers`` of the editor's module-instance finding) is as severe as its most severe caller: a
    production caller outranks an example; the module's own path (no pattern: no change) is the floor."""
    envs = tuple(environments)
    best = match_environment(finding.file, envs, workspace_root)
    best_delta = best[1] if best is not None else 0
    via: str | None = None
    callers = ([finding.caller_file] if finding.caller_file else []) + [c[0] for c in finding.callers]
    for caller in dict.fromkeys(callers):
        env = match_environment(caller, envs, workspace_root)
        if env is not None and env[1] > best_delta:
            best, best_delta, via = env, env[1], caller
    return best, via


def _pattern_display(pattern: str) -> str:
    return pattern.removeprefix("**/") or pattern


# --------------------------------------------------------------------------- exposure

_OPEN_CIDRS = {"0.0.0.0/0", "::/0"}
_ANY_PREFIXES = {"*", "internet", "any", "0.0.0.0", "0.0.0.0/0", "::/0"}
_PUBLIC_ACLS = {"public-read", "public-read-write"}
_PUBLIC_FLAGS = ("associate_public_ip_address", "publicly_accessible", "map_public_ip_on_launch")
_SKIP_KEYS = ("egress", "route", "destination")


def _scalars(value: Any) -> list[Any]:
    """Flatten Checkov's list-wrapped values to their scalars (nested dicts are skipped)."""
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _scalars(item)]
    if isinstance(value, dict):
        return []
    return [value]


def _is_true(value: Any) -> bool:
    return any(s is True or (isinstance(s, str) and s.strip().lower() == "true") for s in _scalars(value))


def _is_outbound(conf: Mapping[str, Any]) -> bool:
    for key in ("type", "direction"):
        for s in _scalars(conf.get(key)):
            if isinstance(s, str) and s.strip().lower() in ("egress", "outbound"):
                return True
    return _is_true(conf.get("egress"))


def _cidr_key(key: str) -> bool:
    return "cidr" in key or "source_range" in key or "source_address_prefix" in key or key == "ip_range"


@dataclass(frozen=True)
class Exposure:
    """Why a resource is open to the internet, and on which inbound ports when the configuration says."""

    reason: str  # "ingress from 0.0.0.0/0", "acl public-read", "publicly_accessible = true"
    source: str | None = None  # the open CIDR / prefix
    ports: tuple[tuple[int, int], ...] = ()  # inbound port ranges, when known
    admin_port: int | None = None  # the first administrative port (ADMIN_PORTS) those ranges open
    through: str | None = None  # another block that opens the resource (tfguard.reach): aws_security_group.web

    def describe(self, resource: str) -> str:
        """``aws_security_group.web allows 0.0.0.0/0 on port 22 (SSH)``, ``... has acl public-read``;
        ``reachable: aws_security_group.web allows ...`` when another block opens the resource."""
        if self.through is not None:
            return "reachable: " + dataclasses.replace(self, through=None).describe(self.through)
        if self.source is None:
            verb = "" if self.reason.startswith(("is ", "gives ")) else "has "
            return f"{resource} {verb}{self.reason}"
        if self.admin_port is not None:
            where = f" on port {self.admin_port} ({ADMIN_PORTS[self.admin_port]})"
        elif self.ports == ((0, 65535),):
            where = " on all ports"
        elif self.ports:
            where = " on port " + ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in self.ports)
        else:
            where = ""
        return f"{resource} allows {self.source}{where}"


BLAST_STEP = 3  # priority per root using the module (a prod root counts twice); see BlastRadius
BLAST_MAX = 12  # at most: below a production path's ENV_STEP minus the class order's spread


@dataclass(frozen=True)
class BlastRadius:
    """The roots that use a module (:meth:`tfguard.calls.CallIndex.roots_of`), and how many are prod."""

    roots: int
    prod: int

    @property
    def bonus(self) -> int:
        """Priority added: ``BLAST_STEP`` per root plus per prod root, at most ``BLAST_MAX``."""
        return min(BLAST_MAX, BLAST_STEP * (self.roots + self.prod))

    def describe(self) -> str:
        """``module used by 3 roots (2 prod)``."""
        plural = "" if self.roots == 1 else "s"
        return f"module used by {self.roots} root{plural} ({self.prod} prod): +{self.bonus} priority"


def find_exposure(conf: Mapping[str, Any] | None) -> str | None:
    """Return why a resource's parsed configuration is publicly exposed, or None.

    Looks anywhere in the nested configuration for an inbound CIDR field holding ``0.0.0.0/0`` or
    ``::/0`` (Azure ``source_address_prefix`` also ``*`` / ``Internet``), an ``acl`` of
    ``public-read`` / ``public-read-write`` and ``associate_public_ip_address``,
    ``publicly_accessible`` or ``map_public_ip_on_launch`` set to true. Egress rules, routes and
    destination fields are ignored: open outbound traffic is not exposure.
    """
    found = exposure_of(conf)
    return found.reason if found else None


def exposure_of(conf: Mapping[str, Any] | None) -> Exposure | None:
    """Like :func:`find_exposure`, with the open source and inbound ports (:class:`Exposure`).

    Ports are read beside the open CIDR: AWS ``from_port``/``to_port`` (protocol ``-1``: all ports),
    Azure ``destination_port_range(s)`` (``*``: all), GCP ``allow { ports }`` (none given: all).
    """
    if not conf:
        return None
    return _walk_exposure(conf, "ingress")


def _walk_exposure(conf: Mapping[str, Any], where: str) -> Exposure | None:
    if _is_outbound(conf):
        return None
    for raw_key, value in conf.items():
        key = str(raw_key).lower()
        if any(skip in key for skip in _SKIP_KEYS):
            continue
        if _cidr_key(key):
            allowed = _ANY_PREFIXES if "address_prefix" in key else _OPEN_CIDRS
            for s in _scalars(value):
                if isinstance(s, str) and s.strip().lower() in allowed:
                    ports = tuple(_ports_of(conf))
                    return Exposure(f"{where} from {s.strip()}", s.strip(), ports, _admin_port(ports))
        elif key == "acl":
            for s in _scalars(value):
                if isinstance(s, str) and s.strip().lower() in _PUBLIC_ACLS:
                    return Exposure(f"acl {s.strip()}")
        elif key in _PUBLIC_FLAGS and _is_true(value):
            return Exposure(f"{key} = true")
        for nested in _nested(value):
            found = _walk_exposure(nested, key if key == "ingress" else where)
            if found:
                return found
    return None


_ALL_PORTS = (0, 65535)


def _port_range(text: str) -> tuple[int, int] | None:
    text = text.strip()
    if text in ("*", "-1", "all"):
        return _ALL_PORTS
    a, _, b = text.partition("-")
    try:
        lo, hi = int(a), int(b or a)
    except ValueError:
        return None
    return (lo, hi) if 0 <= lo <= hi <= 65535 else None


def _ports_of(conf: Mapping[str, Any]) -> list[tuple[int, int]]:
    """Inbound port ranges a rule's mapping states (empty when it states none we can read)."""
    out: list[tuple[int, int]] = []
    protocol = [str(p).strip().lower() for p in _scalars(conf.get("protocol")) if p is not None]
    if protocol and protocol[0] in ("-1", "all"):
        return [_ALL_PORTS]
    lo, hi = _scalars(conf.get("from_port")), _scalars(conf.get("to_port"))
    if lo and hi:
        got = _port_range(f"{lo[0]}-{hi[0]}")
        if got is not None:
            out.append(_ALL_PORTS if got == (0, 0) else got)
    for key in ("destination_port_range", "destination_port_ranges"):
        for v in _scalars(conf.get(key)):
            got = _port_range(str(v))
            if got is not None:
                out.append(got)
    for allow in _nested(conf.get("allow")):
        ports = _scalars(allow.get("ports"))
        if not ports:
            out.append(_ALL_PORTS)
        for v in ports:
            got = _port_range(str(v))
            if got is not None:
                out.append(got)
    return out


def _admin_port(ranges: tuple[tuple[int, int], ...]) -> int | None:
    for port in ADMIN_PORTS:
        if any(lo <= port <= hi for lo, hi in ranges):
            return port
    return None


def _nested(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, (list, tuple)):
        return [m for item in value for m in _nested(item)]
    return []


# --------------------------------------------------------------------------- overrides


def match_override(check_id: str, overrides: Mapping[str, Severity]) -> tuple[str, Severity] | None:
    """Return the override for a check: its exact id, else the longest matching pattern."""
    cid = check_id.strip().upper()
    normalised = {key.strip().upper(): sev for key, sev in overrides.items()}
    if cid in normalised:
        return cid, normalised[cid]
    matches = [(key, sev) for key, sev in normalised.items() if fnmatchcase(cid, key)]
    if not matches:
        return None
    return max(matches, key=lambda item: len(item[0].replace("*", "").replace("?", "")))


# --------------------------------------------------------------------------- assessment


def resource_type_of(address: str) -> str | None:
    """Resource type of an address: ``module.a.aws_s3_bucket.b[0]`` -> ``aws_s3_bucket``."""
    parts = [p for p in re.sub(r"\[[^\]]*\]", "", address).split(".") if p]
    while len(parts) >= 2 and parts[0] == "module":
        parts = parts[2:]
    if parts and parts[0] == "data":
        parts = parts[1:]
    return parts[0] if len(parts) >= 2 else None


def assess(
    finding: Finding,
    conf: Mapping[str, Any] | None,
    config: PriorityConfig,
    workspace_root: str | None = None,
    reach: Exposure | None = None,
    blast: BlastRadius | None = None,
) -> Finding:
    """Return the finding with its risk class, final severity, priority and the reasons behind them.

    ``reach``: exposure through another block (:func:`tfguard.reach.reach`), used when the resource's
    own configuration shows none. ``blast``: the roots that use the finding's module; each adds
    ``BLAST_STEP`` priority (capped at ``BLAST_MAX``), a production root ``BLAST_STEP`` more.

    ``conf`` is the resource's configuration as Checkov parses it (values wrapped in lists), or
    None when unknown. ``workspace_root`` makes environment patterns match relative paths.

    ``ranking="risk"`` (the default): base severity (override, else table/fallback, else the
    finding's own), raised to its class's floor (no floor over an override), raised to HIGH when the
    resource is open to the world on an administrative port, raised one more level when the resource
    is exposed (exposure does not touch hygiene findings, nor a check with a severity override: that
    is SecOps' explicit word, the exposure is only said); then the environment moves it. ``priority = base * 100 +
    env delta * 50 + class bonus`` where the class bonus is ``CLASS_STEP`` per class below it in
    ``config.class_order`` (the last class gets 0). ``ranking="severity"``: the ranking before risk
    classes (``base * 100 + delta * 50 + 30 if exposed``), for comparison.
    """
    context: list[str] = []
    risk_class = classify_check(finding.check_id, finding.check_name).risk_class
    override = match_override(finding.check_id, config.overrides)
    if override is not None:
        key, base = override
        how = "check id" if key == finding.check_id.strip().upper() else f"pattern {key}"
        context.append(f"severity {base.value} set by override ({how})")
    elif finding.source in _TABLE_SOURCES:
        decision = decide_severity(
            finding.check_id, resource_type_of(finding.resource), None, finding.check_name or None
        )
        base = decision.severity
        if decision.source == "fallback":
            context.append(f"severity {base.value} by fallback rule: {decision.reason}")
    else:
        base = finding.severity

    legacy = config.ranking == "severity"
    exposure = (exposure_of(conf) or reach) if config.detect_exposure else None
    bonus = 0
    if not legacy:
        order = config.class_order
        position = order.index(risk_class) if risk_class in order else len(order) - 1
        bonus = (len(order) - 1 - position) * CLASS_STEP
        context.append(f"risk class {risk_class} ({position + 1} of {len(order)})")
        floor = config.class_floors.get(risk_class)
        if override is None and floor is not None and floor.rank > base.rank:
            context.append(f"severity raised from {base.value} to {floor.value}: "
                           f"{risk_class} is at least {floor.value}")
            base = floor
        if exposure is not None and risk_class == HYGIENE:
            exposure = None  # a missing description on an open group is still hygiene
        if exposure is not None and override is not None:
            # SecOps' explicit word wins: exposure is said, the severity stays as configured
            context.append(f"publicly exposed: {exposure.describe(_local_address(finding.resource))} "
                           f"(severity kept: set by override)")
            exposure = None
        if exposure is not None and exposure.admin_port is not None and base.rank < Severity.HIGH.rank:
            context.append(f"severity raised from {base.value} to HIGH: administrative port "
                           f"{exposure.admin_port} ({ADMIN_PORTS[exposure.admin_port]}) open to the world")
            base = Severity.HIGH
        base_rank = base.rank
        if exposure is not None:  # past CRITICAL only in the priority
            context.append(f"publicly exposed: {exposure.describe(_local_address(finding.resource))}: +1 level")
            base_rank += 1
            base = Severity.from_rank(base_rank)
    else:
        base_rank = base.rank

    priority = base_rank * LEVEL_STEP + bonus
    severity = base

    env, via = strongest_environment(finding, config.environments, workspace_root)
    if env is not None and env[1] != 0:
        pattern, delta, label = env
        severity = Severity.from_rank(base_rank + delta)
        priority += delta * ENV_STEP
        plural = "" if abs(delta) == 1 else "s"
        through = f" through the call in {_relative_path(via, workspace_root)}" if via else ""
        context.append(f"{label} ({_pattern_display(pattern)}){through}: {delta:+d} level{plural}")

    if legacy and exposure is not None:
        priority += EXPOSURE_BONUS
        context.append(f"publicly exposed: {exposure.reason}")

    if blast is not None and not legacy and blast.roots:
        priority += blast.bonus
        context.append(blast.describe())

    return dataclasses.replace(
        finding,
        severity=severity,
        priority=priority,
        risk_class=risk_class,
        context=finding.context + tuple(context),
    )


def _local_address(address: str) -> str:
    """``module.a.aws_security_group.web[0]`` -> ``aws_security_group.web[0]`` (the block as written)."""
    parts = address.split(".")
    while len(parts) > 2 and parts[0] == "module":
        parts = parts[2:]
    return ".".join(parts)


def rank_key(f: Finding, line_shift: int = 0) -> tuple[int, str, int, int, str, str]:
    """Most urgent first: descending priority, then file, line and check id. ``line_shift``: ``f``
    is ranked as if moved down that many lines (a finding kept unmoved, see FileAnalysis)."""
    return (-f.priority, f.file, f.line_range[0] + line_shift, f.span.start.line + line_shift, f.check_id, f.resource)


def rank(findings: Iterable[Finding]) -> list[Finding]:
    """Sort findings most urgent first (:func:`rank_key`)."""
    return sorted(findings, key=rank_key)


def lsp_level(sev: Severity, overrides: Mapping[Severity | str, str] | None = None) -> str:
    """Map a severity to an LSP diagnostic level: error, warning, information or hint.

    Defaults: CRITICAL/HIGH -> error, MEDIUM -> warning, LOW -> information, INFO -> hint.
    ``overrides`` maps severities (or their names) to levels; an unknown level raises ValueError.
    """
    if overrides:
        for key, level in overrides.items():
            key_sev = key if isinstance(key, Severity) else Severity.parse(key)
            if key_sev is sev:
                normalised = level.strip().lower()
                if normalised not in LSP_LEVELS:
                    raise ValueError(f"unknown diagnostic level {level!r} (expected one of {LSP_LEVELS})")
                return normalised
    return DEFAULT_LSP_LEVELS[sev]


__all__ = [
    "ADMIN_PORTS",
    "BLAST_MAX",
    "BLAST_STEP",
    "BlastRadius",
    "CLASS_STEP",
    "DEFAULT_CLASS_FLOORS",
    "DEFAULT_ENVIRONMENTS",
    "Exposure",
    "RANKINGS",
    "exposure_of",
    "DEFAULT_LSP_LEVELS",
    "ENV_STEP",
    "EXPOSURE_BONUS",
    "LEVEL_STEP",
    "EnvironmentPattern",
    "PriorityConfig",
    "assess",
    "find_exposure",
    "lsp_level",
    "match_environment",
    "match_override",
    "rank",
    "rank_key",
    "resource_type_of",
]
