"""Exposure that is real, not a literal (issue #18): a resource reachable through another block.

:func:`tfguard.priority.exposure_of` reads the resource's own configuration. :func:`reach` follows
the module's other blocks (Checkov's parsed confs, the graph's edges by reference):

* an instance, database, cluster, function or load balancer whose ``vpc_security_group_ids`` /
  ``security_groups`` / ``security_group_ids`` name an ``aws_security_group`` with world ingress,
  in its own ``ingress`` blocks or in an ``aws_security_group_rule`` (``type = "ingress"``) /
  ``aws_vpc_security_group_ingress_rule`` attached to it;
* a bucket with an ``aws_s3_bucket_acl`` granting ``public-read(-write)`` or an
  ``aws_s3_bucket_policy`` allowing ``Principal: "*"`` (or ``{"AWS": "*"}``);
* a resource attached (``aws_lb_target_group_attachment``) to a target group that a listener of an
  internet-facing ``aws_lb`` (``internal`` not true, not a gateway LB) forwards to;
* an ``aws_instance`` in an ``aws_subnet`` with ``map_public_ip_on_launch = true`` that does not set
  ``associate_public_ip_address = false`` (a public IP in a public subnet).

The answer is an :class:`~tfguard.priority.Exposure` whose ``through`` names the block that opens the
resource, so the context says ``reachable: aws_security_group.web allows 0.0.0.0/0 on port 22 (SSH)``.
Pure: reads confs only. The lookups over a module's resources are indexed once per resources list (every
finding of a module asks with the same list): a module of 1,500 buckets has 10,500 failed findings, and a
scan of each against every resource took 81 s of a 231 s pass.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from cachetools import LRUCache

from tfguard.priority import Exposure, exposure_of

SG_KEYS = ("vpc_security_group_ids", "security_groups", "security_group_ids", "vpc_security_groups")
_REF = re.compile(r"\b(aws_[a-z0-9_]+)\.([A-Za-z0-9_\-]+)\b")
_LB_TYPES = ("aws_lb", "aws_alb")
_TG_TYPES = ("aws_lb_target_group", "aws_alb_target_group")

_EVERYONE = re.compile(r"""["']Principal["']\s*[:=]\s*(["']\*["']|\{\s*["']AWS["']\s*[:=]\s*["']\*["'])""")

#: (resource type, name, body) of every resource of the module
Resources = list[tuple[str, str, Mapping[str, Any]]]


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _refs(value: Any, rtype: str) -> set[str]:
    """Names of ``rtype`` resources a value refers to (``${aws_security_group.web.id}`` -> ``web``)."""
    return {m.group(2) for s in _strings(value) for m in _REF.finditer(s) if m.group(1) == rtype}


_Resource = tuple[str, str, Mapping[str, Any]]
_SG_RULE_TYPES = ("aws_security_group_rule", "aws_vpc_security_group_ingress_rule")
_BUCKET_GRANT_TYPES = ("aws_s3_bucket_acl", "aws_s3_bucket_policy")


class _Index:
    """One module's resources by type and by what they refer to, each in the resources' own order."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self._of_types: dict[tuple[str, ...], list[_Resource]] = {}
        self._named: dict[tuple[str, str], list[Mapping[str, Any]]] | None = None
        self._referring: dict[tuple[tuple[str, ...], str, str], dict[str, list[_Resource]]] = {}
        # filled lazily; two threads asking at once may each build an entry, the same one (no lock needed)

    def of_types(self, *types: str) -> list[_Resource]:
        """The resources of ``types``, in order."""
        got = self._of_types.get(types)
        if got is None:
            got = self._of_types[types] = [r for r in self.resources if r[0] in types]
        return got

    def named(self, rtype: str, name: str) -> list[Mapping[str, Any]]:
        """The bodies of ``rtype.name``, in order (a name may be declared twice)."""
        named = self._named
        if named is None:
            named = {}
            for t, n, body in self.resources:
                named.setdefault((t, n), []).append(body)
            self._named = named
        return named.get((rtype, name), [])

    def referring(self, types: tuple[str, ...], key: str, target: str, name: str) -> list[_Resource]:
        """The resources of ``types`` whose ``key`` refers to ``target.name``, in order."""
        by_name = self._referring.get((types, key, target))
        if by_name is None:
            by_name = {}
            for r in self.of_types(*types):
                for ref in sorted(_refs(r[2].get(key), target)):
                    by_name.setdefault(ref, []).append(r)
            self._referring[(types, key, target)] = by_name
        return by_name.get(name, [])


_indexes: LRUCache[int, _Index] = LRUCache(maxsize=8)
_indexes_lock = threading.Lock()


def _index(resources: Resources) -> _Index:
    """The index of ``resources`` (kept for the last few lists: it holds the list, so its id is never reused)."""
    with _indexes_lock:
        got = _indexes.get(id(resources))
        if got is not None and got.resources is resources:
            return got
    got = _Index(resources)
    with _indexes_lock:
        _indexes[id(resources)] = got
    return got


def _first(value: Any) -> Any:
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _group_exposure(name: str, index: _Index) -> Exposure | None:
    """World ingress of ``aws_security_group.<name>``: its own blocks, else a rule attached to it."""
    for body in index.named("aws_security_group", name):
        got = exposure_of(body)
        if got is not None:
            return Exposure(got.reason, got.source, got.ports, got.admin_port, f"aws_security_group.{name}")
    for rtype, _rname, body in index.referring(_SG_RULE_TYPES, "security_group_id", "aws_security_group", name):
        if rtype == "aws_security_group_rule" and str(_first(body.get("type"))).lower() != "ingress":
            continue
        got = exposure_of(body)
        if got is not None:
            return Exposure(got.reason, got.source, got.ports, got.admin_port, f"aws_security_group.{name}")
    return None


def _allows_everyone(policy: Any) -> bool:
    doc = _first(policy)
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            # jsonencode({...}) as the parser renders it: Python-style quotes
            return bool(_EVERYONE.search(doc))
    if not isinstance(doc, Mapping):
        return False
    statements = _first(doc.get("Statement"))
    for st in statements if isinstance(statements, list) else [statements]:
        if not isinstance(st, Mapping) or str(_first(st.get("Effect", "Allow"))) != "Allow":
            continue
        principal = _first(st.get("Principal"))
        if principal == "*" or (isinstance(principal, Mapping) and _first(principal.get("AWS")) == "*"):
            return True
    return False


def _bucket_exposure(name: str, index: _Index) -> Exposure | None:
    for rtype, rname, body in index.referring(_BUCKET_GRANT_TYPES, "bucket", "aws_s3_bucket", name):
        if rtype == "aws_s3_bucket_acl":
            acl = str(_first(body.get("acl"))).lower()
            if acl in ("public-read", "public-read-write"):
                return Exposure(f"acl {acl}", through=f"aws_s3_bucket_acl.{rname}")
        elif rtype == "aws_s3_bucket_policy" and _allows_everyone(body.get("policy")):
            return Exposure('a policy allowing Principal "*"', through=f"aws_s3_bucket_policy.{rname}")
    return None


def _is_true(value: Any) -> bool:
    v = _first(value)
    return v is True or (isinstance(v, str) and v.strip().lower() == "true")


def _load_balancer_in_front(rtype: str, name: str, index: _Index) -> Exposure | None:
    """An internet-facing ``aws_lb`` whose listener forwards to a target group this resource is attached to."""
    groups = {tg for _t, _n, body in index.referring(("aws_lb_target_group_attachment",
                                                     "aws_alb_target_group_attachment"), "target_id", rtype, name)
              for tt in _TG_TYPES for tg in _refs(body.get("target_group_arn"), tt)}
    if not groups:
        return None
    for _t, lname, body in index.of_types("aws_lb_listener", "aws_alb_listener"):
        forwards = {tg for tt in _TG_TYPES for tg in _refs(body.get("default_action"), tt)}
        if not forwards & groups:
            continue
        for lt in _LB_TYPES:
            for lb in sorted(_refs(body.get("load_balancer_arn"), lt)):
                lb_body = next(iter(index.named(lt, lb)), None)
                if lb_body is not None and not _is_true(lb_body.get("internal")) and \
                        str(_first(lb_body.get("load_balancer_type", "application"))) != "gateway":
                    tg = sorted(forwards & groups)[0]
                    return Exposure(f"is internet-facing, in front (aws_lb_listener.{lname} -> "
                                    f"aws_lb_target_group.{tg})", through=f"{lt}.{lb}")
    return None


def _public_subnet(body: Mapping[str, Any], index: _Index) -> Exposure | None:
    """A public IP in a public subnet: ``subnet_id`` names an ``aws_subnet`` with
    ``map_public_ip_on_launch = true`` and the resource does not turn the address off."""
    flag = _first(body.get("associate_public_ip_address"))
    if flag is False or (isinstance(flag, str) and flag.strip().lower() == "false"):
        return None
    for subnet in sorted(_refs(body.get("subnet_id"), "aws_subnet")):
        sub = next(iter(index.named("aws_subnet", subnet)), None)
        if sub is not None and _is_true(sub.get("map_public_ip_on_launch")):
            return Exposure("gives a public IP (map_public_ip_on_launch = true)",
                            through=f"aws_subnet.{subnet}")
    return None


def reach(rtype: str, name: str, body: Mapping[str, Any] | None, resources: Resources) -> Exposure | None:
    """Why resource ``rtype.name`` (parsed ``body``) is reachable from the internet through another
    block of its module (``resources``), or None."""
    if body is None:
        return None
    index = _index(resources)
    if rtype == "aws_s3_bucket":
        return _bucket_exposure(name, index)
    for key in SG_KEYS:
        for group in sorted(_refs(body.get(key), "aws_security_group")):
            got = _group_exposure(group, index)
            if got is not None:
                return got
    return _load_balancer_in_front(rtype, name, index) or (
        _public_subnet(body, index) if rtype == "aws_instance" else None)


__all__ = ["SG_KEYS", "Resources", "reach"]
