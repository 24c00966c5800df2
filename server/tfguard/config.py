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
    )
