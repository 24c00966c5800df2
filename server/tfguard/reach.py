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
Pure: reads confs only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

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


def _first(value: Any) -> Any:
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _group_exposure(name: str, resources: Resources) -> Exposure | None:
    """World ingress of ``aws_security_group.<name>``: its own blocks, else a rule attached to it."""
    for rtype, rname, body in resources:
        if rtype == "aws_security_group" and rname == name:
            got = exposure_of(body)
            if got is not None:
                return Exposure(got.reason, got.source, got.ports, got.admin_port, f"aws_security_group.{name}")
    for rtype, _rname, body in resources:
        if rtype not in ("aws_security_group_rule", "aws_vpc_security_group_ingress_rule"):
            continue
        if name not in _refs(body.get("security_group_id"), "aws_security_group"):
            continue
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


def _bucket_exposure(name: str, resources: Resources) -> Exposure | None:
    for rtype, rname, body in resources:
        if name not in _refs(body.get("bucket"), "aws_s3_bucket"):
            continue
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


def _load_balancer_in_front(rtype: str, name: str, resources: Resources) -> Exposure | None:
    """An internet-facing ``aws_lb`` whose listener forwards to a target group this resource is attached to."""
    groups = {tg for t, _n, body in resources
              if t in ("aws_lb_target_group_attachment", "aws_alb_target_group_attachment")
              and name in _refs(body.get("target_id"), rtype)
              for tt in _TG_TYPES for tg in _refs(body.get("target_group_arn"), tt)}
    if not groups:
        return None
    for t, lname, body in resources:
        if t not in ("aws_lb_listener", "aws_alb_listener"):
            continue
        forwards = {tg for tt in _TG_TYPES for tg in _refs(body.get("default_action"), tt)}
        if not forwards & groups:
            continue
        for lt in _LB_TYPES:
            for lb in sorted(_refs(body.get("load_balancer_arn"), lt)):
                lb_body = next((b for t2, n2, b in resources if t2 == lt and n2 == lb), None)
                if lb_body is not None and not _is_true(lb_body.get("internal")) and \
                        str(_first(lb_body.get("load_balancer_type", "application"))) != "gateway":
                    tg = sorted(forwards & groups)[0]
                    return Exposure(f"is internet-facing, in front (aws_lb_listener.{lname} -> "
                                    f"aws_lb_target_group.{tg})", through=f"{lt}.{lb}")
    return None


def _public_subnet(body: Mapping[str, Any], resources: Resources) -> Exposure | None:
    """A public IP in a public subnet: ``subnet_id`` names an ``aws_subnet`` with
    ``map_public_ip_on_launch = true`` and the resource does not turn the address off."""
    flag = _first(body.get("associate_public_ip_address"))
    if flag is False or (isinstance(flag, str) and flag.strip().lower() == "false"):
        return None
    for subnet in sorted(_refs(body.get("subnet_id"), "aws_subnet")):
        sub = next((b for t, n, b in resources if t == "aws_subnet" and n == subnet), None)
        if sub is not None and _is_true(sub.get("map_public_ip_on_launch")):
            return Exposure("gives a public IP (map_public_ip_on_launch = true)",
                            through=f"aws_subnet.{subnet}")
    return None


def reach(rtype: str, name: str, body: Mapping[str, Any] | None, resources: Resources) -> Exposure | None:
    """Why resource ``rtype.name`` (parsed ``body``) is reachable from the internet through another
    block of its module (``resources``), or None."""
    if body is None:
        return None
    if rtype == "aws_s3_bucket":
        return _bucket_exposure(name, resources)
    for key in SG_KEYS:
        for group in sorted(_refs(body.get(key), "aws_security_group")):
            got = _group_exposure(group, resources)
            if got is not None:
                return got
    return _load_balancer_in_front(rtype, name, resources) or (
        _public_subnet(body, resources) if rtype == "aws_instance" else None)


__all__ = ["SG_KEYS", "Resources", "reach"]
