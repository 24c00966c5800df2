"""Org rules on a Terraform plan (``terraform show -json``), where Terraform has resolved what the source
leaves open: variables, ``count``/``for_each``, module inputs, provider ``default_tags``.

- TFG_TAG_1 on each planned managed resource's ``tags_all`` (``effective_labels`` on Google Cloud): the
  tags the provider will really set, provider ``default_tags`` included, also for resources in child
  modules whose provider is configured by the caller (which the source rule, reading one module
  directory, cannot see). When ``tags_all`` is unknown until apply, ``tags`` plus the plan's literal
  provider ``default_tags`` are used; when those are not literal either, nothing is reported.
- TFG_MOD_1/2/3 on every module call of the plan's ``configuration`` (nested calls included): source
  and ``version_constraint`` against the catalogue, with the source rules' own logic.
- TFG_PROV_1 on every provider of the plan's ``provider_config`` without a ``version_constraint``.

- TFG_SEC_1 on the plan's ``configuration``: an attribute (or nested block attribute) whose expression
  is a literal ``constant_value`` in the code, of every resource of every module, and the literal
  ``default`` of a variable with a secret's name. The planned values are not read: a plan holds every
  value resolved, and a password passed in a sensitive variable (what the rule asks for) is a
  ``references`` expression there, not a hard-coded secret. The finding names the attribute only.

Rules report tag keys, module sources, provider names and attribute names only: never a value of the plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tfguard.catalogue import Catalogue
from tfguard.config.tfguard import TfguardConfig
from tfguard.rules.modules import outside_range, unapproved_source, unpinned
from tfguard.rules.secrets import find_secrets
from tfguard.rules.tags import TAGGABLE_TYPES, tag_attribute


@dataclass(frozen=True)
class PlanViolation:
    """One org-rule failure on a plan, before it is placed on a source block (or on the plan)."""

    rule_id: str
    address: str  # the plan address: a resource, ``module.a.module.b`` or a provider configuration key
    anchor: str  # the enrichment raw id of the block to show it on: ``type.name``, a module call name, a provider
    message: str
    key: str | None = None  # the attribute to point at in that block


def _flatten(module: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(module, dict):
        return
    for r in module.get("resources") or []:
        if isinstance(r, dict):
            yield r
    for child in module.get("child_modules") or []:
        yield from _flatten(child)


def _literal_default_tags(doc: dict[str, Any]) -> set[str] | None:
    """Keys of every ``aws`` provider configuration's literal ``default_tags`` (None when one is an expression)."""
    keys: set[str] = set()
    for pc in ((doc.get("configuration") or {}).get("provider_config") or {}).values():
        if not isinstance(pc, dict) or pc.get("name") != "aws":
            continue
        for dt in (pc.get("expressions") or {}).get("default_tags") or []:
            tags = (dt or {}).get("tags") if isinstance(dt, dict) else None
            if tags is None:
                continue
            if not isinstance(tags, dict) or not isinstance(tags.get("constant_value"), dict):
                return None
            keys |= set(tags["constant_value"])
    return keys


def _keys(value: Any) -> set[str]:
    return {str(k) for k in value} if isinstance(value, dict) else set()


def tag_violations(doc: dict[str, Any], cfg: TfguardConfig, anchor_of: Any) -> list[PlanViolation]:
    """TFG_TAG_1 on the planned tags of every managed resource. ``anchor_of(address)`` gives the raw id."""
    unknown_after = {rc.get("address"): ((rc.get("change") or {}).get("after_unknown") or {})
                     for rc in doc.get("resource_changes") or [] if isinstance(rc, dict)}
    out: list[PlanViolation] = []
    defaults: set[str] | None | bool = False  # read once, when needed
    for r in _flatten((doc.get("planned_values") or {}).get("root_module")):
        if r.get("mode") != "managed":
            continue
        rtype, address = str(r.get("type", "")), str(r.get("address", ""))
        required = cfg.required_tags(rtype)
        if not required:
            continue
        raw_values = r.get("values")
        values: dict[str, Any] = raw_values if isinstance(raw_values, dict) else {}
        attr = tag_attribute(rtype)
        all_attr = "effective_labels" if attr == "labels" else "tags_all"
        if attr not in values and all_attr not in values and rtype not in TAGGABLE_TYPES:
            continue
        planned = values.get(all_attr)
        got_unknown = unknown_after.get(address)
        unknown: dict[str, Any] = got_unknown if isinstance(got_unknown, dict) else {}
        if isinstance(planned, dict):
            present, where = _keys(planned), all_attr
        elif unknown.get(all_attr) is True:  # known only after apply
            if unknown.get(attr) is True:
                continue
            if defaults is False:
                defaults = _literal_default_tags(doc)
            if defaults is None or isinstance(defaults, bool):
                continue
            present, where = _keys(values.get(attr)) | (defaults if rtype.startswith("aws_") else set()), attr
        else:
            if unknown.get(attr) is True:
                continue
            present, where = _keys(values.get(attr)), attr
        missing = [k for k in required if k not in present]
        if not missing:
            continue
        plural = "s" if len(missing) > 1 else ""
        them = "them" if plural else "it"
        extra = " or the provider's default_tags" if rtype.startswith("aws_") else ""
        out.append(PlanViolation("TFG_TAG_1", address, anchor_of(address),
                                 f"Missing required {attr[:-1]}{plural} in the planned {where}: "
                                 f"{', '.join(missing)}. Add {them} to its {attr}{extra}.", attr))
    return out


def _module_calls(module: Any, prefix: str = "") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(address, call name, call) for every module call of a configuration module, nested ones included."""
    if not isinstance(module, dict):
        return
    for name, call in (module.get("module_calls") or {}).items():
        if not isinstance(call, dict):
            continue
        address = f"{prefix}module.{name}"
        yield address, str(name), call
        yield from _module_calls(call.get("module"), address + ".")


def module_violations(doc: dict[str, Any], cat: Catalogue | None) -> list[PlanViolation]:
    """TFG_MOD_1/2/3 on every module call of the plan's configuration."""
    out: list[PlanViolation] = []
    root = (doc.get("configuration") or {}).get("root_module")
    for address, name, call in _module_calls(root):
        source = call.get("source")
        if not isinstance(source, str) or not source:
            continue
        version = call.get("version_constraint")
        version = str(version) if version else None
        for rule_id, got in (("TFG_MOD_1", unapproved_source(source, cat)),
                             ("TFG_MOD_2", unpinned(source, version, cat)),
                             ("TFG_MOD_3", outside_range(source, version, cat))):
            if got is not None:
                out.append(PlanViolation(rule_id, address, name, got[0], got[1]))
    return out


def provider_violations(doc: dict[str, Any]) -> list[PlanViolation]:
    """TFG_PROV_1 on every provider configuration of the plan without a version constraint."""
    out: list[PlanViolation] = []
    for key, pc in ((doc.get("configuration") or {}).get("provider_config") or {}).items():
        if not isinstance(pc, dict) or pc.get("version_constraint") or pc.get("name") in (None, "terraform"):
            continue
        name = str(pc["name"])
        full = str(pc.get("full_name") or name)
        where = f" (in {pc['module_address']})" if pc.get("module_address") else ""
        if pc.get("module_address"):  # configured in a module: shown on that module's call
            anchor = str(pc["module_address"]).split(".")[-1].split("[")[0]
        else:  # Checkov's enrichment names provider blocks ``name.alias`` (``name.default`` without one)
            anchor = str(key) if "." in str(key) else f"{name}.default"
        out.append(PlanViolation("TFG_PROV_1", str(key), anchor,
                                 f"Provider {full}{where} is planned without a version constraint: add it to"
                                 f' required_providers (version = "~> X.Y") so an upgrade is a reviewed change.'))
    return out


def _literal_body(expressions: Any) -> dict[str, Any]:
    """The literal part of a configuration resource's ``expressions``: ``constant_value`` of each attribute,
    nested blocks (lists of expression maps) as lists of such bodies; references and unknowns left out."""
    body: dict[str, Any] = {}
    if not isinstance(expressions, dict):
        return body
    for key, expr in expressions.items():
        if isinstance(expr, dict) and "constant_value" in expr:
            body[str(key)] = expr["constant_value"]
        elif isinstance(expr, list):
            blocks = [_literal_body(item) for item in expr if isinstance(item, dict)]
            if any(blocks):
                body[str(key)] = blocks
    return body


def _configuration_modules(module: Any, prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(module address prefix, configuration module) for the root module and every module call below it."""
    if not isinstance(module, dict):
        return
    yield prefix, module
    for name, call in (module.get("module_calls") or {}).items():
        if isinstance(call, dict):
            yield from _configuration_modules(call.get("module"), f"{prefix}module.{name}.")


def secret_violations(doc: dict[str, Any], cfg: TfguardConfig) -> list[PlanViolation]:
    """TFG_SEC_1 on the literal expressions of the plan's configuration (see the module docstring)."""
    if not cfg.secrets_enabled:
        return []
    out: list[PlanViolation] = []
    for prefix, module in _configuration_modules((doc.get("configuration") or {}).get("root_module")):
        for r in module.get("resources") or []:
            if not isinstance(r, dict) or not r.get("type") or not r.get("name"):
                continue
            found = find_secrets(_literal_body(r.get("expressions")))
            if not found:
                continue
            raw = f"{r['type']}.{r['name']}"
            attrs = ", ".join(".".join(path) for path, _ in found)
            kinds = "; ".join(sorted({kind for _, kind in found}))
            out.append(PlanViolation(
                "TFG_SEC_1", prefix + str(r.get("address") or raw), raw,
                f"Hard-coded secret in {attrs} ({kinds}), planned from a literal in the code. Do not keep secrets "
                f"in Terraform code: pass them in a sensitive variable, read them from a secret manager, and rotate "
                f"this one since it is in version control (and in this plan file).", found[0][0][0]))
        for name, var in (module.get("variables") or {}).items():
            if not isinstance(var, dict) or "default" not in var or var.get("ephemeral") is True:
                continue
            if find_secrets({"default": var["default"]}, str(name)):
                out.append(PlanViolation(
                    "TFG_SEC_1", f"{prefix}var.{name}", f"variable.{name}",
                    f"Hard-coded secret in the default of variable {name} (a literal default for a secret variable). "
                    f"Do not keep secrets in Terraform code: give no default, pass the value at plan time, and rotate "
                    f"this one since it is in version control (and in this plan file).", "default"))
    return out


def plan_violations(doc: dict[str, Any], cfg: TfguardConfig, cat: Catalogue | None,
                    anchor_of: Any) -> list[PlanViolation]:
    """Every org rule of this module on the plan ``doc``, for rules ``cfg`` enables."""
    found = (tag_violations(doc, cfg, anchor_of) + module_violations(doc, cat) + provider_violations(doc)
             + secret_violations(doc, cfg))
    return [v for v in found if cfg.is_enabled(v.rule_id)]
