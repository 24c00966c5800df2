"""Wiring: build an :class:`~tfguard.workspace.Engine` with tfguard's rules and ranking.

Shared by the CLI and the language server so both report the same findings.
"""

from __future__ import annotations

import dataclasses
import os

from tfguard.model import Finding
from tfguard.workspace import BlockContext, Engine


def describe(finding: Finding) -> str:
    """The diagnostic message: what is wrong, on what."""
    return f"{finding.check_name} ({finding.resource})"


def make_engine(root: str, config_file: str | None = None, max_file_bytes: int | None = None) -> Engine:
    """An engine for the workspace or scan root ``root``."""
    if config_file is not None and not os.path.isfile(config_file):
        raise ValueError(f"configuration file not found: {config_file}")

    def hook(f: Finding, ctx: BlockContext | None) -> Finding:
        return dataclasses.replace(f, message=f.message or describe(f))

    kwargs = {} if max_file_bytes is None else {"max_file_bytes": max_file_bytes}
    return Engine(root if os.path.isdir(root) else os.path.dirname(root), finding_hook=hook, **kwargs)
