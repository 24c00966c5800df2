"""Typed, validated settings: initializationOptions, workspace/configuration, didChangeConfiguration."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from tfguard.model import Severity


@dataclass(frozen=True)
class Settings:
    enable: bool = True
    minimum_severity: Severity = Severity.INFO
    idle_delay_ms: int = 500
    catalogue: str | None = None
    policy_dirs: tuple[str, ...] = ()
    max_file_bytes: int = 4 * 1024 * 1024
    index_workspace: bool = True
    # severity -> LSP level name (error|warning|information|hint), to override the default mapping
    severity_levels: dict[str, str] = field(default_factory=dict)
    skip_reason_placeholder: str = "TODO: justify this suppression"
    # Tier-2 (Checkov's full runner) time budget per module run; past it, tier 1 stands in (0: unbounded)
    module_time_budget_ms: int = 20_000
    # Directories of Python custom checks the *user* opted into. Code: honoured only from
    # initializationOptions (the editor passes the user-level setting), never from
    # workspace/configuration or didChangeConfiguration, which a workspace's settings can feed.
    allow_python_checks: tuple[str, ...] = ()
    # A baseline file (tfguard scan --create-baseline): its findings are shown as hints or hidden
    baseline: str | None = None
    baseline_mode: str = "hint"  # hint | hide


# Settings a workspace must not be able to set (they make tfguard run code).
TRUSTED_ONLY = ("allow_python_checks",)


_ALIASES = {
    "enable": "enable",
    "baseline": "baseline",
    "baselineMode": "baseline_mode",
    "minimumSeverity": "minimum_severity",
    "idleDelayMs": "idle_delay_ms",
    "catalogue": "catalogue",
    "policyDirs": "policy_dirs",
    "maxFileBytes": "max_file_bytes",
    "indexWorkspace": "index_workspace",
    "severityLevels": "severity_levels",
    "skipReasonPlaceholder": "skip_reason_placeholder",
    "moduleTimeBudgetMs": "module_time_budget_ms",
    "allowPythonChecks": "allow_python_checks",
}
_LEVELS = {"error", "warning", "information", "hint"}


def parse_settings(raw: Any, base: Settings | None = None, trusted: bool = True) -> tuple[Settings, list[str]]:
    """Settings from a camelCase mapping; invalid values are replaced by defaults and reported.

    ``trusted=False`` (workspace/configuration, didChangeConfiguration): settings in
    :data:`TRUSTED_ONLY` are kept at their current value and the attempt is reported.
    """
    base = base or Settings()
    errors: list[str] = []
    if raw is None:
        return base, errors
    if not isinstance(raw, dict):
        return base, [f"tfguard settings must be an object, got {type(raw).__name__}"]
    values: dict[str, Any] = {f.name: getattr(base, f.name) for f in fields(Settings)}
    defaults = Settings()
    for key, value in raw.items():
        name = _ALIASES.get(key)
        if name is None:
            if key not in ("trace", "interpreter"):  # client-side settings
                errors.append(f"unknown setting tfguard.{key} (ignored)")
            continue
        if name in TRUSTED_ONLY and not trusted:
            if value:
                errors.append(f"tfguard.{key} is only read from the user's settings at startup "
                              "(initializationOptions); ignored here: a workspace cannot make tfguard run code")
            continue
        try:
            values[name] = _coerce(name, value)
        except (TypeError, ValueError) as e:
            errors.append(f"invalid value for tfguard.{key}: {e}; using the default {getattr(defaults, name)!r}")
            values[name] = getattr(defaults, name)
    return Settings(**values), errors


def _coerce(name: str, value: Any) -> Any:
    if name in ("enable", "index_workspace"):
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, got {value!r}")
        return value
    if name == "minimum_severity":
        if not isinstance(value, str):
            raise TypeError(f"expected a severity name, got {value!r}")
        return Severity.parse(value)
    if name in ("idle_delay_ms", "max_file_bytes", "module_time_budget_ms"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"expected a non-negative integer, got {value!r}")
        return value
    if name == "baseline_mode":
        if value not in ("hint", "hide"):
            raise ValueError(f"expected \"hint\" or \"hide\", got {value!r}")
        return value
    if name in ("catalogue", "baseline"):
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise TypeError(f"expected a path, got {value!r}")
        return value
    if name == "skip_reason_placeholder":
        if not isinstance(value, str) or not value.strip():
            raise ValueError("expected a non-empty text")
        return value
    if name in ("policy_dirs", "allow_python_checks"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"expected a list of paths, got {value!r}")
        return tuple(value)
    if name == "severity_levels":
        if not isinstance(value, dict):
            raise TypeError("expected an object such as {\"HIGH\": \"warning\"}")
        out = {}
        for k, v in value.items():
            Severity.parse(k)
            if v not in _LEVELS:
                raise ValueError(f"level {v!r} is not one of {sorted(_LEVELS)}")
            out[k.upper()] = v
        return out
    return value
