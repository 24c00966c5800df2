"""Configuration files a workspace can carry: ``.checkov.yaml`` (honoured as Checkov does).

Pure: reads files, returns values; a bad file raises :class:`ConfigError` with a location.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

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
    ignored_keys: tuple[str, ...] = field(default=())
    # Options refused because they would run workspace code or reach the network: (0-based line, message)
    refused: tuple[tuple[int, str], ...] = ()


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


def _key_lines(path: str) -> dict[str, int]:
    """0-based line of each top-level key of a YAML mapping file (best effort)."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            node = yaml.compose(f)
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
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


def _refusals(path: str, data: dict[str, Any], dirs: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    lines = _key_lines(path)
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


def load_yaml_file(path: str) -> Any:
    """Load a YAML file; raise ConfigError with the line of a syntax error."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line if mark is not None else 0
        col = mark.column if mark is not None else 0
        raise ConfigError(path, f"invalid YAML: {getattr(e, 'problem', None) or e}", line, col) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(path, f"cannot read: {e}") from None


def compose_yaml(text: str, path: str) -> tuple[Any, yaml.SafeLoader]:
    """Compose ``text`` into YAML nodes (which keep their line marks, for located errors).

    Raises ConfigError at a YAML syntax error. The caller disposes the returned loader.
    """
    loader = yaml.SafeLoader(text)
    try:
        return loader.get_single_node(), loader
    except yaml.YAMLError as e:
        loader.dispose()
        mark = getattr(e, "problem_mark", None)
        raise ConfigError(path, f"invalid YAML: {getattr(e, 'problem', None) or e}",
                          mark.line if mark else 0, mark.column if mark else 0) from None


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
    """Read a ``.checkov.yaml``; relative ``external-checks-dir`` entries are taken from its folder."""
    data = load_yaml_file(path)
    if data is None:
        return CheckovConfig(path=path)
    if not isinstance(data, dict):
        raise ConfigError(path, "expected a mapping of Checkov options at the top level")
    base = os.path.dirname(os.path.abspath(path))
    dirs = tuple(os.path.normpath(os.path.join(base, d)) for d in _as_list(data.get("external-checks-dir")))
    known = {"check", "skip-check", "external-checks-dir", "soft-fail", "soft-fail-on", "hard-fail-on",
             "framework", "compact", "quiet", "output", "directory", "download-external-modules",
             "skip-download", "evaluate-variables"}
    return CheckovConfig(
        path=path,
        checks=tuple(_as_list(data.get("check"))),
        skip_checks=tuple(_as_list(data.get("skip-check"))),
        external_checks_dirs=dirs,
        soft_fail=bool(data.get("soft-fail", False)),
        soft_fail_on=tuple(_as_list(data.get("soft-fail-on"))),
        hard_fail_on=tuple(_as_list(data.get("hard-fail-on"))),
        ignored_keys=tuple(sorted(k for k in data if k not in known)),
        refused=_refusals(path, data, dirs),
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

        return replace(
            cfg,
            checks=cfg.checks if self.checks is None else self.checks,
            skip_checks=cfg.skip_checks if self.skip_checks is None else self.skip_checks,
            external_checks_dirs=cfg.external_checks_dirs if self.external_checks_dirs is None
            else self.external_checks_dirs,
        )

    @property
    def digest(self) -> str:
        """What these overrides change (part of the scan cache key)."""
        return repr((self.config_file, self.checks, self.skip_checks, self.external_checks_dirs))
