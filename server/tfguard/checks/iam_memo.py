"""Reuse cloudsplaining's answer to "which of these actions can be restricted to an ARN".

Checkov's IAM checks on policies (CKV_AWS_107/108/109/110/111/356 on ``aws_iam_policy_document``,
CKV_AWS_355/287/288/289/290 on policy resources) build a cloudsplaining ``PolicyDocument`` per check.
Every ``Allow`` statement asks ``remove_wildcard_only_actions`` of its actions with their wildcards
expanded: for ``actions = ["*"]`` that is every IAM action (about 17,700), each looked up in
policy_sentry's database through an ``lru_cache`` of 1,024 entries that such a list evicts from start to
end. Measured on terraform-aws-vpc's ``examples/complete/main.tf``: typing one character into the
``effect = "Deny"`` of a policy whose actions are ``["*"]`` (the statement becomes an Allow as far as
cloudsplaining is concerned) took 2.4–3.0 s in tier 1, 97% of it in this function, six times over (one
per check: tier 1 gives each check a fresh policy, see ``checkov_env.install_policy_cache``).

The function is pure: its result depends on the list and on policy_sentry's bundled database, which
does not change in a process. It is memoized here by the exact list (a tuple of its strings), so the
same input gives the same output, in the same order (the function iterates over a set built from the
list: the same strings inserted in the same order iterate alike within a process). Hits return a new
list. Memory is bounded by the number of strings held (keys and results).

:func:`prewarm` computes the answer for ``"*"`` once, on the thread that imports Checkov, after the
rest is warm: the first wildcard policy a developer types then costs what any other does.
"""

from __future__ import annotations

import logging
import pickle
import threading
from collections.abc import Callable
from typing import Any

from cachetools import LRUCache

log = logging.getLogger(__name__)

# strings held by keys and results together (a full expansion of "*" is about 35,000: key and result)
MAX_STRINGS = 400_000

_lock = threading.Lock()
_cache: LRUCache[tuple[str, ...], tuple[str, ...]] = LRUCache(
    maxsize=MAX_STRINGS, getsizeof=lambda v: len(v) + 1)
POLICY_CACHE_BYTES = 64 * 1024 * 1024
_policies: LRUCache[str, bytes] = LRUCache(maxsize=POLICY_CACHE_BYTES, getsizeof=len)
_PLAIN = (str, int, float, bool, type(None))
_original: Callable[[list[str]], list[str]] | None = None
_policy_patches: list[tuple[Any, Any]] = []  # (module, cloudsplaining's PolicyDocument)
stats = {"hits": 0, "misses": 0, "policy_hits": 0, "policy_misses": 0}


def _plain(value: Any, depth: int = 0) -> bool:
    """JSON-like data only (its ``repr`` is then a faithful key)."""
    if isinstance(value, _PLAIN):
        return True
    if depth > 32:
        return False
    if type(value) is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    if type(value) is list:
        return all(_plain(v, depth + 1) for v in value)
    return False


def _memoized(real: Callable[[list[str]], list[str]]) -> Callable[[list[str]], list[str]]:
    def remove_wildcard_only_actions(actions_list: list[str]) -> list[str]:
        if type(actions_list) is not list:
            return real(actions_list)  # whatever cloudsplaining does with it, uncached
        key = tuple(actions_list)
        try:
            with _lock:
                hit = _cache.get(key)
        except TypeError:  # something unhashable in it
            return real(actions_list)
        if hit is not None:
            stats["hits"] += 1
            return list(hit)
        stats["misses"] += 1
        result = real(actions_list)  # errors (a malformed action) propagate, uncached
        if len(key) + len(result) < MAX_STRINGS // 4:
            with _lock:
                # the size counts the result; the key's strings are about as many (bounded alike)
                _cache[key] = tuple(result)
        return result

    remove_wildcard_only_actions.__wrapped__ = real  # type: ignore[attr-defined]
    remove_wildcard_only_actions._tfguard_memo = True  # type: ignore[attr-defined]
    return remove_wildcard_only_actions


def _memo_policy_document(real: Any) -> Any:
    def policy_document(policy: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not _plain(policy):  # Checkov passes the policy alone
            return real(policy, *args, **kwargs)
        key = repr(policy)
        with _lock:
            blob = _policies.get(key)
        if blob is not None:
            stats["policy_hits"] += 1
            return pickle.loads(blob)  # a copy of its own: nothing one check does reaches another
        stats["policy_misses"] += 1
        doc = real(policy)  # errors propagate, uncached (the check answers UNKNOWN, as in Checkov)
        try:
            blob = pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            return doc
        if len(blob) < POLICY_CACHE_BYTES // 8:
            with _lock:
                _policies[key] = blob
        return doc

    policy_document.__wrapped__ = real  # type: ignore[attr-defined]
    policy_document._tfguard_memo = True  # type: ignore[attr-defined]
    return policy_document


def _install_policy_documents() -> None:
    """Memoize ``PolicyDocument(policy)`` where Checkov's Terraform IAM checks build one: by the policy's
    text (``repr`` of its JSON-like data), each hit a fresh unpickled copy (the statements' expansions
    are computed when it is built, so a copy has them)."""
    if _policy_patches:
        return
    import importlib

    for name in ("checkov.terraform.checks.data.base_cloudsplaining_data_iam_check",
                 "checkov.terraform.checks.resource.base_cloudsplaining_resource_iam_check"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            log.debug("no %s: its IAM policy memo is off", name)
            continue
        real = getattr(module, "PolicyDocument", None)
        if real is None or getattr(real, "_tfguard_memo", False):
            continue
        setattr(module, "PolicyDocument", _memo_policy_document(real))  # noqa: B010
        _policy_patches.append((module, real))


def install() -> bool:
    """Memoize ``remove_wildcard_only_actions`` where cloudsplaining's statements call it (idempotent)."""
    global _original
    try:
        import cloudsplaining.scan.statement_detail as sd
    except ImportError:
        log.debug("cloudsplaining not importable: the IAM action memo is off")
        return False
    current: Any = getattr(sd, "remove_wildcard_only_actions", None)
    if current is None:
        log.warning("cloudsplaining has no remove_wildcard_only_actions: the IAM action memo is off")
        return False
    if not getattr(current, "_tfguard_memo", False):
        _original = current
        setattr(sd, "remove_wildcard_only_actions", _memoized(current))  # noqa: B010
    _install_policy_documents()
    return True


def uninstall() -> None:
    """cloudsplaining's own function again (tests compare both)."""
    global _original
    for module, real in _policy_patches:
        setattr(module, "PolicyDocument", real)  # noqa: B010
    _policy_patches.clear()
    if _original is None:
        return
    import cloudsplaining.scan.statement_detail as sd

    setattr(sd, "remove_wildcard_only_actions", _original)  # noqa: B010
    _original = None


def clear() -> None:
    with _lock:
        _cache.clear()
        _policies.clear()


def prewarm() -> None:
    """Compute the answer for a statement whose actions are ``"*"`` (about 0.5 s of CPU, once)."""
    if not install():
        return
    try:
        from cloudsplaining.scan.statement_detail import StatementDetail

        StatementDetail({"Effect": "Allow", "Action": "*", "Resource": "*"})
    except Exception:  # cloudsplaining changed: the memo still works, only not ahead of time
        log.debug("prewarming the IAM action memo failed", exc_info=True)
