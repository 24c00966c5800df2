"""Checkov reads Terraform files itself (tier 2): only the ones tfguard itself would read.

Checkov's Terraform parser opens every ``*.tf``/``*.tfvars``/``*.tf.json`` of a folder with a plain
``open()`` and reads it whole (``checkov.terraform.parser_utils.load_or_die_quietly``). A workspace can
make that a symlink to ``/dev/zero`` (an endless read: memory exhausted), to a FIFO (a hang) or to a
file outside the repository (``creds.tf -> ~/.netrc``). :func:`install` wraps that one function, where
Checkov's modules bound it, so such a file is a parsing error instead, with the same rule as
:func:`tfguard.files.read_disk`: a regular file, at most ``DEFAULT_MAX_FILE_BYTES``, inside its
repository root (symlinks resolved). tfguard reports the file's own problem (``read_disk``'s).
"""

from __future__ import annotations

import logging
import os
import stat
from typing import Any

from tfguard.budget import BUDGET_MESSAGE, max_braces, module_over_budget, over_budget
from tfguard.files import DEFAULT_MAX_FILE_BYTES, FileRefused, is_inside, outside_message, read_regular, repository_root

log = logging.getLogger(__name__)
_installed = False


def refusal(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str | None:
    """Why Checkov must not open ``path`` (None: it may). ``stat`` does not open, so it cannot block."""
    try:
        st = os.stat(path)
    except OSError:
        return None  # Checkov's own open() fails and records it
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file: not read"
    if st.st_size > max_bytes:
        return f"{st.st_size} bytes is over the {max_bytes}-byte limit: not read"
    if not is_inside(path, repository_root(path)):
        return outside_message(path)
    limit = max_braces()
    if limit and st.st_size > limit:  # smaller files cannot be over the size budget (tfguard.budget)
        try:
            data = read_regular(path, max_bytes)
        except FileRefused as e:
            return e.message
        if over_budget(path, data, limit) is not None:
            return BUDGET_MESSAGE
    if module_over_budget(path) is not None:
        return BUDGET_MESSAGE
    return None


def _guarded(original: Any) -> Any:
    def load_or_die_quietly(file: Any, parsing_errors: dict[str, Exception], *args: Any, **kwargs: Any) -> Any:
        path = os.fspath(file)
        why = refusal(path)
        if why is not None:
            parsing_errors[path] = OSError(why)
            return None
        return original(file, parsing_errors, *args, **kwargs)

    load_or_die_quietly.__wrapped__ = original  # type: ignore[attr-defined]
    return load_or_die_quietly


def install() -> bool:
    """Wrap Checkov's file loader wherever its modules bound it (idempotent); False when not found."""
    global _installed
    if _installed:
        return True
    try:
        import checkov.terraform.module_loading.module_finder as mf
        import checkov.terraform.parser_utils as pu
        import checkov.terraform.tf_parser as tp
    except ImportError:
        log.warning("Checkov layout not recognised: its file reads are not guarded")
        return False
    original = getattr(pu, "load_or_die_quietly", None)
    if original is None:
        log.warning("Checkov has no parser_utils.load_or_die_quietly: its file reads are not guarded")
        return False
    guarded = _guarded(original)
    for module in (pu, tp, mf):
        if getattr(module, "load_or_die_quietly", None) is original:
            module.load_or_die_quietly = guarded  # type: ignore[attr-defined]
    _installed = True
    return True
