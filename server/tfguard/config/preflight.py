"""Fail closed on configuration: every configuration file a scan would use, validated before it runs.

The editor keeps the last valid configuration in force beside a located error; a CI gate cannot (a typo
such as ``severity_overides:`` would silently drop every override and let findings pass). So the CLI asks
:func:`configuration_errors` first and exits 2 on any error, before a cached report could hide it.

The files looked at are the ones :class:`~tfguard.config.tfguard.ConfigResolver` and the engine's
``.checkov.yaml`` lookup can reach from the scanned paths: every ``.tfguard.yaml``/``.checkov.yaml`` under
each scanned folder, those in the folders from each scanned path up to the repository root, the
``--config`` file, and the catalogues they name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from tfguard.catalogue import load_catalogue
from tfguard.config.checkov import CHECKOV_CONFIG_NAMES, ConfigError, load_checkov_config
from tfguard.config.tfguard import CONFIG_NAMES, error_problem, load_config_file
from tfguard.files import SKIP_DIRS
from tfguard.model import Problem


def _upwards(start: str, root: str) -> Iterable[str]:
    """``start`` and its parents up to ``root`` (inclusive), when ``start`` is inside ``root``."""
    d = start
    inside = d == root or d.startswith(root.rstrip(os.sep) + os.sep)
    while True:
        yield d
        if not inside or d == root:
            return
        parent = os.path.dirname(d)
        if parent == d:
            return
        d = parent


def _below(folder: str, names: tuple[str, ...]) -> Iterable[str]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name in names:
                yield os.path.join(dirpath, name)


def configuration_files(paths: Sequence[str], root: str) -> list[str]:
    """The configuration files a scan of ``paths`` (absolute) under the repository ``root`` can use."""
    names = CONFIG_NAMES + CHECKOV_CONFIG_NAMES
    found: dict[str, None] = {}
    for p in paths:
        start = p if os.path.isdir(p) else os.path.dirname(p)
        for d in _upwards(start, root):
            for name in names:
                candidate = os.path.join(d, name)
                if os.path.isfile(candidate):
                    found[candidate] = None
        if os.path.isdir(p):
            found.update(dict.fromkeys(_below(p, names)))
    return sorted(found)


def configuration_errors(paths: Sequence[str], root: str, explicit: str | None = None) -> list[Problem]:
    """Located problems (code ``config``) of every invalid configuration file a scan of ``paths`` uses.

    ``explicit`` is ``--config``; a missing explicit file is an error too. Options a workspace file may not
    use (code, network) are not errors here: they are refused and reported by the scan itself.
    """
    problems: list[Problem] = []
    files = configuration_files(paths, root)
    if explicit is not None:
        if not os.path.isfile(explicit):
            return [error_problem(ConfigError(explicit, "configuration file not found"))]
        files.insert(0, explicit)
    for path in files:
        try:
            if os.path.basename(path) in CHECKOV_CONFIG_NAMES and path != explicit:
                # Checkov refuses an option it does not know (a typo such as ``skip_check:``); a gate that
                # ignored it would check more or less than the team configured, so it is an error here too.
                for line, key in load_checkov_config(path).unknown:
                    problems.append(error_problem(ConfigError(
                        path, f"'{key}' is not a Checkov option (check the spelling; Checkov itself refuses it)",
                        line)))
                continue
            layer = load_config_file(path)
        except ConfigError as e:
            problems.append(error_problem(e))
            continue
        for folder in layer.values.get("policy_dirs", ()):
            if not os.path.isdir(folder):
                problems.append(error_problem(ConfigError(path, f"policy_dirs: folder not found: {folder}")))
        catalogue = layer.values.get("catalogue")
        if isinstance(catalogue, str):
            try:
                load_catalogue(catalogue)
            except ConfigError as e:
                problems.append(error_problem(e))
    return problems
