"""Local module calls of a module's parsed configuration: which directories Checkov's runner follows.

Pure functions on parsed confs (``hcl2`` shapes, or ``*.tf.json`` objects): the CLI scan plans its
units with them (:mod:`tfguard.scan.pool`), tier 2 finds the directories one run reads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

_LOCAL_PREFIXES = ("./", "../", "/")


def module_calls(confs: Iterable[dict[str, Any]]) -> Iterable[tuple[str, Any]]:
    """(call name, body) of every ``module`` block in ``confs`` (parsed HCL or ``*.tf.json``)."""
    for conf in confs:
        calls = conf.get("module")
        if isinstance(calls, dict):  # *.tf.json may hold an object instead of a list
            calls = [calls]
        if not isinstance(calls, list):
            continue
        for call in calls:
            if isinstance(call, dict):
                yield from call.items()


def local_module_dirs(module_dir: str, confs: Iterable[dict[str, Any]]) -> list[str]:
    """Directories the ``module`` blocks of ``confs`` call by a local path, resolved as Checkov does."""
    out: list[str] = []
    for _name, body in module_calls(confs):
        if not isinstance(body, dict):
            continue
        source = body.get("source")
        if isinstance(source, list):
            source = source[0] if source else None
        if not isinstance(source, str) or not source.startswith(_LOCAL_PREFIXES):
            continue
        path = os.path.normpath(os.path.join(module_dir, source))
        if os.path.isdir(path):
            out.append(os.path.realpath(path))
    return out
