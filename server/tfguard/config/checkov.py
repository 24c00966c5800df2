"""Configuration files a workspace can carry: ``.checkov.yaml`` (honoured as Checkov does).

Pure: reads files, returns values; a bad file raises :class:`ConfigError` with a location.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from tfguard import safeyaml
from tfguard.files import FileRefused, is_inside, repository_root
from tfguard.model import Severity

CHECKOV_CONFIG_NAMES = (".checkov.yaml", ".checkov.yml")


class ConfigError(Exception):
    """A configuration file that cannot be used; ``line`` is 0-based when known."""

    def __init__(self, path: str, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(f"{path}:{line + 1}: {message}")
        self.path = path
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class CheckovConfig:
    """The part of ``.checkov.yaml`` tfguard honours."""

    path: str | None = None
    checks: tuple[str, ...] = ()
    skip_checks: tuple[str, ...] = ()
    external_checks_dirs: tuple[str, ...] = ()  # YAML policies only, unless Python checks are opted in
    soft_fail: bool = False
    soft_fail_on: tuple[str, ...] = ()
    hard_fail_on: tuple[str, ...] = ()
    var_files: tuple[str, ...] = ()  # ``var-file``: absolute (relative entries from this file's folder)
    skip_paths: tuple[str, ...] = ()  # ``skip-path``: Checkov's regular expressions, as written
    ignored_keys: tuple[str, ...] = field(default=())
    # Options refused because they would run workspace code or reach the network: (0-based line, message)
    refused: tuple[tuple[int, str], ...] = ()
    # Every other key tfguard does not apply: (0-based line, message, severity); reported, never dropped
    ignored: tuple[tuple[int, str, Severity], ...] = ()
    # (0-based line, key) of options no Checkov version tfguard knows has: a typo, which Checkov refuses.
    unknown: tuple[tuple[int, str], ...] = ()
    # (key, 0-based line) of the check selection keys this file sets and that are in force (``check``,
    # ``skip-check``): an option given on the command line replaces the file's and drops its entry here
    selection_lines: tuple[tuple[str, int], ...] = ()


# .checkov.yaml options a workspace cannot use: they would reach the network or load code.
# tfguard never honours them (Checkov's own CLI would); the refusal is reported once per file.
NETWORK_OPTIONS = {
    "external-checks-git": "would clone checks from a git repository (network, and code)",
    "download-external-modules": "would download external modules (network)",
    "repo-id": "belongs to the vendor platform (network)",
    "bc-api-key": "would connect to the vendor platform (network)",
    "prisma-api-url": "would connect to the vendor platform (network)",
    "ca-certificate": "only used to reach the vendor platform (network)",
    "policy-metadata-filter": "would query the vendor platform (network)",
    "use-enforcement-rules": "would query the vendor platform (network)",
    "skip-download": "tfguard never downloads anything",
    "support": "would upload logs to the vendor (network)",
    "create-baseline": "would write into the workspace",
}


# Keys tfguard applies as Checkov does.
HONOURED_OPTIONS = frozenset({"check", "skip-check", "external-checks-dir", "soft-fail", "soft-fail-on",
                              "hard-fail-on", "var-file", "skip-path"})

# Keys that only shape Checkov's own output or its command-line mode: harmless to ignore.
OUTPUT_OPTIONS = frozenset({
    "output", "output-file-path", "output-bc-ids", "quiet", "compact", "summary-position",
    "skip-resources-without-violations", "mask", "custom-tool-name", "no-guide", "show-config", "create-config",
    "list", "version", "config-file", "skip-results-upload", "no-cert-verify",
})

# Keys whose value decides what a scan reports, which tfguard does not apply: (why, severity).
UNSUPPORTED_OPTIONS: dict[str, str] = {
    "directory": "tfguard scans the paths given on its command line (the editor: the workspace)",
    "file": "tfguard scans the paths given on its command line (the editor: the workspace)",
    "baseline": "Checkov baselines are not read; use tfguard's own `tfguard scan --baseline FILE`",
    "output-baseline-as-skipped": "Checkov baselines are not read; use `tfguard scan --baseline FILE`",
    "no-fail-on-crash": "the gate still fails on a crash; pass `tfguard scan --no-fail-on-crash` explicitly",
    "framework": "tfguard runs Checkov's terraform framework only",
    "skip-framework": "tfguard runs Checkov's terraform framework only",
    "run-all-external-checks": "tfguard runs every loaded policy as it is",
    "add-check": "it belongs to the vendor platform",
    "include-all-checkov-policies": "it belongs to the vendor platform",
    "policy-metadata-filter-exception": "it belongs to the vendor platform",
    "external-checks-public-key": "tfguard never loads checks from git",
    "evaluate-variables": "tfguard always evaluates variables, as Checkov does by default",
    "external-modules-download-path": "tfguard never downloads modules",
    "branch": "it belongs to the vendor platform",
    "docker-image": "tfguard scans Terraform only",
    "image": "tfguard scans Terraform only",
    "dockerfile-path": "tfguard scans Terraform only",
    "repo-root-for-plan-enrichment": "give it on the command line (`--repo-root-for-plan-enrichment DIR` or"
                                     " `--repo-root DIR`)",
    "skip-cve-package": "tfguard scans Terraform only (no package scanning)",
    "secrets-scan-file-type": "tfguard scans Terraform only (its own secret rule TFG_SEC_1 covers it)",
    "enable-secret-scan-all-files": "tfguard scans Terraform only (its own secret rule TFG_SEC_1 covers it)",
    "block-list-secret-scan": "tfguard scans Terraform only (its own secret rule TFG_SEC_1 covers it)",
    "scan-secrets-history": "tfguard scans Terraform only",
    "secrets-history-timeout": "tfguard scans Terraform only",
    "deep-analysis": "it needs the vendor platform",
}


def _harmless(key: str, value: Any) -> bool:
    """Unsupported keys whose value is what tfguard does anyway (nothing to report)."""
    if key == "framework":
        return bool(set(_as_list(value)) & {"terraform", "all"})
    if key == "skip-framework":
        return "terraform" not in _as_list(value)
    if key == "evaluate-variables":
        return str(value).strip().lower() in ("true", "1", "yes")
    if key in ("no-fail-on-crash", "run-all-external-checks", "output-baseline-as-skipped"):
        return value is False or value is None
    return False


def _ignored(lines: dict[str, int], data: dict[str, Any]) -> tuple[tuple[int, str, Severity], ...]:
    out: list[tuple[int, str, Severity]] = []
    for key in data:
        key = str(key)
        if key in HONOURED_OPTIONS or key in NETWORK_OPTIONS:
            continue
        line = lines.get(key, 0)
        if key in OUTPUT_OPTIONS:
            out.append((line, f".checkov.yaml option '{key}' ignored: it concerns Checkov's own output or command "
                              "line, not what is checked; tfguard reports in its own formats.", Severity.INFO))
        elif key in UNSUPPORTED_OPTIONS:
            if not _harmless(key, data[key]):
                out.append((line, f".checkov.yaml option '{key}' is not applied by tfguard: "
                                  f"{UNSUPPORTED_OPTIONS[key]}. Results may differ from `checkov -d`.",
                            Severity.MEDIUM))
        else:
            out.append((line, f".checkov.yaml option '{key}' is not a Checkov option tfguard knows: ignored "
                              "(Checkov itself refuses unknown options; check the spelling).", Severity.MEDIUM))
    return tuple(out)


def _key_lines(text: str) -> dict[str, int]:
    """0-based line of each top-level key of a YAML mapping text (best effort)."""
    try:
        node = safeyaml.compose(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line for k, _ in node.value if isinstance(k, yaml.ScalarNode)}


def python_files(directory: str, limit: int = 5) -> list[str]:
    """Up to ``limit`` ``.py`` files under ``directory`` (what Checkov would import as checks)."""
    found: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(dirs)
        for name in sorted(files):
            if name.endswith(".py") and not name.startswith("__"):
                found.append(os.path.join(root, name))
                if len(found) >= limit:
                    return found
    return found


def _refusals(path: str, lines: dict[str, int], data: dict[str, Any],
              dirs: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    out: list[tuple[int, str]] = []
    for key, why in NETWORK_OPTIONS.items():
        if key not in data:
            continue
        value = data[key]
        if key == "download-external-modules" and not value:
            continue  # false is what tfguard does anyway
        if key == "skip-download" and value:
            continue
        out.append((lines.get(key, 0), f".checkov.yaml option '{key}' ignored: it {why}. tfguard runs offline "
                                       "and never runs workspace code."))
    for d in dirs:
        py = python_files(d) if os.path.isdir(d) else []
        if py:
            out.append((lines.get("external-checks-dir", 0),
                        f"Python checks in {d} not loaded ({os.path.basename(py[0])}{', ...' if len(py) > 1 else ''}): "
                        "a workspace cannot make tfguard run its code. YAML policies there are loaded. To run them, "
                        "opt in outside the workspace: tfguard scan --allow-python-checks DIR, or the user setting "
                        "tfguard.allowPythonChecks."))
    return tuple(out)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        out: list[str] = []
        for v in value:
            out.extend(_as_list(v) if isinstance(v, str) else [str(v)])
        return out
    return [str(value)]


def _list_items(value: Any) -> list[str]:
    """An ``action=append`` option's values: a list, or one value (not split at commas: paths, regexes)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if str(v).strip()]


def read_config_file(path: str, root: str | None = None) -> str:
    """The text of a configuration file, read safely (see :func:`tfguard.safeyaml.read_config_text`).

    ``root`` defaults to the file's repository root. Raises ConfigError saying why it was not read.
    """
    try:
        return safeyaml.read_config_text(path, root)
    except FileRefused as e:
        raise ConfigError(path, e.message) from None


def _yaml_error(path: str, e: yaml.YAMLError) -> ConfigError:
    mark = getattr(e, "problem_mark", None)
    return ConfigError(path, f"invalid YAML: {safeyaml.yaml_error_message(e)}",
                       mark.line if mark is not None else 0, mark.column if mark is not None else 0)


def load_yaml_text(text: str, path: str) -> Any:
    """Load YAML text (with the alias/depth budget); raise ConfigError with the line of a syntax error."""
    try:
        return safeyaml.safe_load(text)
    except yaml.YAMLError as e:
        raise _yaml_error(path, e) from None


def load_yaml_file(path: str) -> Any:
    """Load a YAML file (read safely, with the budget); raise ConfigError with the line of a syntax error."""
    return load_yaml_text(read_config_file(path), path)


def compose_yaml(text: str, path: str) -> tuple[Any, yaml.SafeLoader]:
    """Compose ``text`` into YAML nodes (which keep their line marks, for located errors).

    Raises ConfigError at a YAML syntax error or past the alias/depth budget. The caller disposes the
    returned loader.
    """
    loader = safeyaml.loader(text)
    try:
        return loader.get_single_node(), loader
    except yaml.YAMLError as e:
        loader.dispose()
        raise _yaml_error(path, e) from None


def find_upwards(start_dir: str, names: tuple[str, ...], stop_at: str | None) -> str | None:
    """The nearest file named one of ``names`` from ``start_dir`` up to ``stop_at`` (inclusive)."""
    d = os.path.abspath(start_dir)
    stop = os.path.abspath(stop_at) if stop_at else None
    while True:
        for name in names:
            p = os.path.join(d, name)
            if os.path.isfile(p):
                return p
        if stop is not None and d == stop:
            return None
        parent = os.path.dirname(d)
        if parent == d:
            return None
        if stop is not None and not (parent + os.sep).startswith(stop + os.sep) and parent != stop:
            return None
        d = parent


def load_checkov_config(path: str) -> CheckovConfig:
    """Read a ``.checkov.yaml``; relative ``external-checks-dir`` and ``var-file`` entries are taken from its folder.

    The file is read only inside its repository root (``repository_root(path)``), and so is every
    ``external-checks-dir`` and ``var-file``: one resolving outside it is a ConfigError at its line, and
    never opened.
    """
    root = repository_root(path)
    text = read_config_file(path, root)
    data = load_yaml_text(text, path)
    if data is None:
        return CheckovConfig(path=path)
    if not isinstance(data, dict):
        raise ConfigError(path, "expected a mapping of Checkov options at the top level")
    lines = _key_lines(text)
    base = os.path.dirname(os.path.abspath(path))
    raw_dirs = _as_list(data.get("external-checks-dir"))
    dirs = tuple(os.path.normpath(os.path.join(base, os.path.expanduser(d))) for d in raw_dirs)
    for raw, d in zip(raw_dirs, dirs, strict=True):
        if not is_inside(d, root):
            raise ConfigError(path, f"external-checks-dir: {safeyaml.quote(raw)} is outside the repository root; "
                                    "not read", lines.get("external-checks-dir", 0))
    var_files: list[str] = []
    for v in _list_items(data.get("var-file")):
        vf = os.path.normpath(os.path.join(base, os.path.expanduser(v)))
        if not is_inside(vf, root):
            raise ConfigError(path, f"var-file: {safeyaml.quote(v)} is outside the repository root; not read",
                              lines.get("var-file", 0))
        if not os.path.isfile(vf):  # fail closed: a variables file that is not there is not "no variables"
            raise ConfigError(path, f"var-file: file not found: {vf}", lines.get("var-file", 0))
        var_files.append(vf)
    return CheckovConfig(
        path=path,
        checks=tuple(_as_list(data.get("check"))),
        skip_checks=tuple(_as_list(data.get("skip-check"))),
        external_checks_dirs=dirs,
        soft_fail=bool(data.get("soft-fail", False)),
        soft_fail_on=tuple(_as_list(data.get("soft-fail-on"))),
        hard_fail_on=tuple(_as_list(data.get("hard-fail-on"))),
        var_files=tuple(var_files),
        skip_paths=tuple(_list_items(data.get("skip-path"))),
        ignored_keys=tuple(sorted({str(k) for k in data} - HONOURED_OPTIONS - set(NETWORK_OPTIONS))),
        refused=_refusals(path, lines, data, dirs),
        ignored=_ignored(lines, data),
        unknown=tuple((lines.get(str(k), 0), str(k)) for k in data
                      if str(k) not in HONOURED_OPTIONS and str(k) not in NETWORK_OPTIONS
                      and str(k) not in OUTPUT_OPTIONS and str(k) not in UNSUPPORTED_OPTIONS),
        selection_lines=tuple((k, lines.get(k, 0)) for k in ("check", "skip-check") if k in data),
    )


@dataclass(frozen=True)
class CheckovOverrides:
    """Checkov's command-line options over ``.checkov.yaml`` (``tfguard scan --check`` …), as Checkov
    applies them: a flag given replaces the file's value; ``config_file`` (``--config-file``) is read
    instead of the ``.checkov.yaml`` files found upwards."""

    config_file: str | None = None
    checks: tuple[str, ...] | None = None
    skip_checks: tuple[str, ...] | None = None
    external_checks_dirs: tuple[str, ...] | None = None

    def apply(self, cfg: CheckovConfig) -> CheckovConfig:
        """``cfg`` with the options given on the command line in its place."""
        from dataclasses import replace

        given = {"check": self.checks, "skip-check": self.skip_checks}
        return replace(
            cfg,
            selection_lines=tuple((k, line) for k, line in cfg.selection_lines if given[k] is None),
            checks=cfg.checks if self.checks is None else self.checks,
            skip_checks=cfg.skip_checks if self.skip_checks is None else self.skip_checks,
            external_checks_dirs=cfg.external_checks_dirs if self.external_checks_dirs is None
            else self.external_checks_dirs,
        )

    @property
    def digest(self) -> str:
        """What these overrides change (part of the scan cache key)."""
        return repr((self.config_file, self.checks, self.skip_checks, self.external_checks_dirs))
