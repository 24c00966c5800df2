"""TFG_SEC_1: hard-coded secrets (passwords, secret keys, tokens, private keys) in attribute values.

Two signals, on literal string values only (a value holding an expression, ``var.x`` or
``data.y``, is a reference, not a secret):

* the attribute's *name* says it holds a secret (``password``, ``secret_key``, ``token``...), or a
  ``variable`` whose name says so has a literal ``default``;
* the *value* has the shape of a credential whatever the name (AWS access key id, a PEM private
  key, GitHub / GitLab / Slack tokens).

Placeholders (``changeme``, ``<password>``, ``xxxx``, ``{{ token }}``...) and values shorter than
four characters are ignored. The finding names the attribute, never the value: messages, logs and
reports must not copy a secret around.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tfguard.engine import BlockContext
from tfguard.model import Finding, Severity
from tfguard.rules.base import OrgRule, RuleEnv, body_of, first, is_expression

SECRET_NAME = re.compile(
    r"(?:^|_)(?:password|passwd|passphrase|pwd|secret|token|credentials?|apikey"
    r"|(?:private|secret|access|api|auth|account|shared|master|client|storage|primary|secondary)_?key"
    r"|connection_string|secret_string|sas)$",
    re.IGNORECASE,
)
SECRET_VALUE = (
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
)
PLACEHOLDERS = frozenset({
    "changeme", "change_me", "change-me", "replaceme", "replace_me", "replace-me", "placeholder", "dummy",
    "example", "todo", "tbd", "none", "null", "nil", "n/a", "redacted", "secret", "password", "token",
    "your-password", "your_password", "yourpassword", "your-token", "insert-here", "fixme", "default",
})
_PLACEHOLDER_SHAPE = re.compile(r"^(?:<[^>]*>|\{\{.*\}\}|%\{.*\}|\$\{.*\}|(.)\1*|x+|\*+)$",
                                re.IGNORECASE | re.DOTALL)
# Names that match SECRET_NAME but hold no secret value.
_NOT_SECRET = re.compile(r"^(?:kms_key|key_name|token_url|sas_url)$", re.IGNORECASE)


def is_placeholder(value: str) -> bool:
    v = value.strip()
    return len(v) < 4 or v.lower() in PLACEHOLDERS or bool(_PLACEHOLDER_SHAPE.match(v))


def _strings(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every literal string in a conf value, with its attribute path (list indexes dropped)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, path)
    elif isinstance(value, dict):
        for k, v in value.items():
            if str(k).startswith("__"):
                continue
            yield from _strings(v, (*path, str(k).strip('"')))


def find_secrets(body: dict[str, Any], variable_name: str | None = None) -> list[tuple[tuple[str, ...], str]]:
    """``(attribute path, what kind of secret)`` for each hard-coded secret in a block body."""
    found: list[tuple[tuple[str, ...], str]] = []
    seen: set[tuple[str, ...]] = set()
    for path, value in _strings(body, ()):
        if is_expression(value) or path in seen:
            continue
        kind = next((what for what, rx in SECRET_VALUE if rx.search(value)), None)
        name = path[-1] if path else ""
        if kind is None and not is_placeholder(value):
            if SECRET_NAME.search(name) and not _NOT_SECRET.match(name):
                kind = "a literal secret value"
            elif variable_name and path == ("default",) and SECRET_NAME.search(variable_name):
                kind = "a literal default for a secret variable"
        if kind is not None:
            seen.add(path)
            found.append((path, kind))
    return found


def check_secrets(rule: OrgRule, ctx: BlockContext, env: RuleEnv) -> list[Finding]:
    if ctx.block.kind in ("output",) or not env.config_for(ctx.file).secrets_enabled:
        return []
    got = body_of(ctx)
    if got is None:
        return []
    variable = got[1] if ctx.block.kind == "variable" else None
    if variable is not None and first(got[2].get("ephemeral")) is True:
        return []
    found = find_secrets(got[2], variable)
    if not found:
        return []
    attrs = ", ".join(f"the default of variable {variable}" if variable and p == ("default",) else ".".join(p)
                      for p, _ in found)
    kinds = sorted({k for _, k in found})
    return [rule.finding(
        ctx,
        f"Hard-coded secret in {attrs} ({'; '.join(kinds)}). Do not keep secrets in Terraform code: pass "
        f"them in a sensitive variable, read them from a secret manager, and rotate this one since it is in "
        f"version control.",
        tuple("/".join(p) for p, _ in found),
    )]


RULES = (
    OrgRule("TFG_SEC_1", "Hard-coded secret", Severity.CRITICAL,
            "A literal password, secret key, token or private key in an attribute value (or the default of "
            "a secret variable).", check_secrets),
)
