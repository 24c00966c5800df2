"""Typed, validated settings: initializationOptions, workspace/configuration, didChangeConfiguration."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
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



# --------------------------------------------------------------------------------------------
# The one description of every `tfguard.*` setting: scripts/sync-settings.py writes it into
# package.json (contributes.configuration), tests/unit/test_settings_manifest.py fails when
# package.json, client/src/settings.ts or the Settings dataclass above drift from it.
# "server": the camelCase key the server reads (a Settings field); client-only settings have none.
# --------------------------------------------------------------------------------------------
_SEVERITY_ENUM = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]

MANIFEST: dict[str, dict[str, Any]] = {
    "tfguard.enable": {
        "scope": "resource", "type": "boolean", "default": True,
        "description": "Run tfguard checks on Terraform files."},
    "tfguard.minimumSeverity": {
        "scope": "resource", "type": "string", "enum": _SEVERITY_ENUM, "default": "INFO",
        "description": "Findings below this severity are not reported. Per workspace folder: each folder of a "
                       "multi-root workspace uses its own value. A `minimum_severity` in `.tfguard.yaml` applies "
                       "on top of it."},
    "tfguard.idleDelayMs": {
        "scope": "resource", "type": "number", "default": 500, "minimum": 0, "maximum": 60000,
        "description": "Milliseconds to wait after the last keystroke before the full (cross-resource) check "
                       "of a module."},
    "tfguard.catalogue": {
        "scope": "resource", "type": "string", "default": "",
        "description": "Approved-module catalogue file (see docs/policies.md). Set, it wins over the `catalogue` "
                       "of `.tfguard.yaml` in this folder. Relative paths are resolved against the workspace "
                       "folder; `${workspaceFolder}` and `~` are expanded. Empty: the `.tfguard.yaml` value. "
                       "Workspace values are ignored in Restricted Mode."},
    "tfguard.policyDirs": {
        "scope": "resource", "type": "array", "items": {"type": "string"}, "default": [],
        "description": "Directories of Checkov YAML custom policies. Set (non-empty), they win over the "
                       "`policy_dirs` of `.tfguard.yaml` in this folder. Relative paths are resolved against the "
                       "workspace folder; `${workspaceFolder}` and `~` are expanded. Workspace values are ignored "
                       "in Restricted Mode."},
    "tfguard.skipReasonPlaceholder": {
        "scope": "resource", "type": "string", "default": "",
        "description": "Placeholder shown when asking for a suppression reason, and the reason the server "
                       "writes when none is given. Empty: \"TODO: justify this suppression\"."},
    "tfguard.baseline": {
        "scope": "resource", "type": "string", "default": "",
        "description": "Baseline file made by `tfguard scan --create-baseline`. Findings it lists are shown as "
                       "hints or hidden (see `tfguard.baselineMode`). Relative paths are resolved against the "
                       "workspace folder; `${workspaceFolder}` and `~` are expanded. Empty: no baseline. "
                       "Workspace values are ignored in Restricted Mode."},
    "tfguard.baselineMode": {
        "scope": "resource", "type": "string", "enum": ["hint", "hide"],
        "enumDescriptions": ["Show baselined findings as hints (marked \"in baseline\").",
                             "Do not show baselined findings."],
        "default": "hint", "description": "How findings listed in `tfguard.baseline` are shown."},
    "tfguard.moduleTimeBudgetMs": {
        "scope": "resource", "type": "number", "default": 20000, "minimum": 0,
        "description": "Time budget in milliseconds for one full (cross-resource) check of a module; past it, "
                       "the per-file results stand in. 0: no limit."},
    "tfguard.maxFileBytes": {
        "scope": "resource", "type": "number", "default": 4194304, "minimum": 0,
        "description": "Files larger than this many bytes are not analysed (one informational diagnostic says "
                       "so)."},
    "tfguard.indexWorkspace": {
        "scope": "resource", "type": "boolean", "default": True,
        "description": "Check every Terraform file of the workspace at start-up (not only the open ones), so the "
                       "Problems panel and the Findings view list the whole workspace."},
    "tfguard.severityLevels": {
        "scope": "resource", "type": "object", "default": {},
        "propertyNames": {"enum": _SEVERITY_ENUM},
        "additionalProperties": {"type": "string", "enum": ["error", "warning", "information", "hint"]},
        "description": "Overrides of how a tfguard severity is shown, e.g. {\"MEDIUM\": \"information\"}. "
                       "Default: CRITICAL and HIGH are errors, MEDIUM warnings, LOW information, INFO hints."},
    "tfguard.allowPythonChecks": {
        "scope": "application", "type": "array", "items": {"type": "string"}, "default": [],
        "description": "Directories of Python custom checks to load. This RUNS the Python code in those "
                       "directories inside the tfguard server. Read from your User settings only (never from "
                       "workspace or folder settings), and only at server start: changing it restarts the "
                       "server. Absolute paths; ~ is expanded, ${workspaceFolder} is not allowed.",
        "markdownDescription": "Directories of Python custom checks to load. **This runs the Python code in those "
                               "directories** inside the tfguard server. Read from your User settings only (never "
                               "from workspace or folder settings), and only at server start: changing it "
                               "restarts the server. Absolute paths; `~` is expanded, `${workspaceFolder}` is not "
                               "allowed."},
    "tfguard.interpreter": {
        "scope": "machine", "type": "string", "default": "",
        "description": "Python interpreter (3.11 or later) that has the `tfguard` package of the extension's "
                       "version installed. Empty: the Python extension's selected interpreter, then tfguard's "
                       "private environment, then `python3` on PATH. Workspace values are ignored in Restricted "
                       "Mode."},
    "tfguard.installSource": {
        "scope": "machine", "type": "string", "default": "",
        "description": "For developers: a tfguard wheel or source folder that \"Install into private environment\" "
                       "installs instead of the server bundled with the extension (its dependencies are then "
                       "resolved by pip, without hashes). Empty (default): the bundled wheel with hash-pinned "
                       "dependencies."},
    "tfguard.wheelhouse": {
        "scope": "machine", "type": "string", "default": "",
        "description": "Offline install: a folder of wheels (`pip download --require-hashes -r "
                       "requirements/server.lock -d DIR`). Set, \"Install into private environment\" reads only "
                       "this folder (`pip --no-index --find-links`) and never contacts a package index."},
    "tfguard.findingsView.groupBy": {
        "scope": "window", "type": "string", "enum": ["severity", "file"], "default": "severity",
        "description": "How the tfguard Findings view groups findings."},
    "tfguard.trace.server": {
        "scope": "window", "type": "string", "enum": ["off", "messages", "verbose"], "default": "off",
        "description": "Traces the communication between VS Code and the tfguard language server."},
}

# Settings only the VS Code client reads (never sent to the server).
CLIENT_ONLY = ("interpreter", "installSource", "wheelhouse", "findingsView.groupBy", "trace.server")

# Settings whose workspace values VS Code ignores in Restricted Mode (package.json
# capabilities.untrustedWorkspaces.restrictedConfigurations): they point at programs or files.
RESTRICTED = ("tfguard.interpreter", "tfguard.catalogue", "tfguard.policyDirs", "tfguard.baseline",
              "tfguard.installSource", "tfguard.wheelhouse")


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
            if key not in ("trace", *CLIENT_ONLY, *(k.split(".")[0] for k in CLIENT_ONLY)):  # client-side settings
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
        if not isinstance(value, str):
            raise ValueError("expected a text")
        return value if value.strip() else Settings.skip_reason_placeholder  # "" (the manifest default)
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


# ------------------------------------------------------------------ per workspace folder
def folder_for(path: str, folders: Iterable[str]) -> str | None:
    """The innermost workspace folder that contains ``path`` (None: outside every folder)."""
    path = os.path.abspath(path)
    best: str | None = None
    for root in folders:
        if (path + os.sep).startswith(root.rstrip(os.sep) + os.sep) and (best is None or len(root) > len(best)):
            best = root
    return best


def resolve_path(value: str, folder: str | None) -> str:
    """A path setting as the server uses it: ``~`` expanded, relative to the workspace folder."""
    p = os.path.expanduser(value.replace("${workspaceFolder}", folder or "."))
    if not os.path.isabs(p) and folder:
        p = os.path.join(folder, p)
    return os.path.normpath(p)


def settings_layer(settings: Settings, folder: str | None) -> Any:
    """A configuration layer above every ``.tfguard.yaml``: ``catalogue`` / ``policyDirs`` win when set.

    None when neither is set. Its nominal source (where a "catalogue not found" error is shown) is the
    folder's ``.vscode/settings.json``.
    """
    values: dict[str, Any] = {}
    if settings.catalogue:
        values["catalogue"] = resolve_path(settings.catalogue, folder)
    if settings.policy_dirs:
        values["policy_dirs"] = tuple(resolve_path(d, folder) for d in settings.policy_dirs)
    if not values:
        return None
    from tfguard.config.tfguard import ConfigLayer

    source = os.path.join(folder, ".vscode", "settings.json") if folder else "tfguard settings"
    return ConfigLayer(source, values)


def install_settings_layer(engine: Any, folder: str | None, current: Callable[[], Settings]) -> None:
    """Make ``engine``'s configuration resolver put the settings layer first (highest precedence).

    The resolver merges layers per top-level key, first wins: a set ``tfguard.catalogue`` replaces the
    ``catalogue`` of ``.tfguard.yaml``, a non-empty ``tfguard.policyDirs`` replaces its ``policy_dirs``.
    """
    resolver = getattr(engine, "configs", None)
    if resolver is None or getattr(resolver, "_tfguard_settings_layer", False):
        return
    original = resolver.layers_for

    def layers_for(path: str) -> list[Any]:
        layers = original(path)
        layer = settings_layer(current(), folder)
        return [layer, *layers] if layer is not None else layers

    resolver.layers_for = layers_for
    resolver._tfguard_settings_layer = True
