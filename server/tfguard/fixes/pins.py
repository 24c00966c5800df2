"""CKV_TF_1: pin a module source to a commit hash.

The commit of a tag cannot be looked up offline, so tfguard never invents one: the fix is offered
with a value the user types (``prompt``), and refused unless it is a full 40-digit commit hash.
Without a typed value, the approved catalogue's entry is used when its pin is a commit.

- git sources (``git::https://…/x.git?ref=v1.2.3``, ``github.com/o/r``): ``?ref=`` is set to the hash.
- public registry sources (``ns/name/provider`` with ``version``): the module's GitHub repository by the
  registry's naming convention, ``git::https://github.com/ns/terraform-provider-name.git?ref=HASH``;
  ``//subdir`` is kept and the ``version`` argument goes (git sources take none).
- local paths are not checked by CKV_TF_1; private registry hosts have no known repository: no offer.
"""

from __future__ import annotations

import re

from tfguard.fixes.modules import module_source
from tfguard.fixes.textops import Set, is_literal, plan_set, value_range
from tfguard.hcl.blocks import Block, split_blocks

COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REGISTRY = re.compile(r"^(?:registry\.terraform\.io/)?([\w-]+)/([\w-]+)/([\w-]+)(//[^?]*)?$")


def is_commit(value: str | None) -> bool:
    return value is not None and COMMIT.match(value.strip()) is not None


def _version(text: str, block: Block) -> str | None:
    it = block.item(("version",))
    if it is None or it.is_block:
        return None
    s, e = value_range(text, it)
    value = text[s:e].strip()
    return value[1:-1] if value.startswith('"') and is_literal(value) else None


def pinned_source(source: str, commit: str) -> str | None:
    """``source`` pinned to ``commit``; None when tfguard does not know the module's git repository."""
    if source.startswith(("./", "../")):
        return None
    m = _REGISTRY.match(source)
    if m is not None:
        ns, name, prov, sub = m.groups()
        return f"git::https://github.com/{ns}/terraform-{prov}-{name}.git{sub or ''}?ref={commit}"
    if "::" in source or source.startswith(("github.com/", "bitbucket.org/", "git@")):
        base, _, query = source.partition("?")
        params = [p for p in query.split("&") if p and not p.startswith("ref=")]
        return f"{base}?{'&'.join([*params, f'ref={commit}'])}"
    return None


def describe(text: str, block: Block) -> str | None:
    """What the pin refers to, for the title and the prompt: ``v5.0.0 of github.com/o/r`` and the like."""
    source = module_source(text, block)
    if source is None:
        return None
    if pinned_source(source, "0" * 40) is None:
        return None
    version = _version(text, block)
    m = _REGISTRY.match(source)
    if m is not None:
        ns, name, prov, _ = m.groups()
        where = f"github.com/{ns}/terraform-{prov}-{name}"
        if version and re.match(r"^v?\d+(\.\d+)*$", version):
            return f"tag v{version.lstrip('v')} of {where}"
        return f"the release you use of {where}"
    ref = re.search(r"[?&]ref=([^&]+)", source)
    base = source.split("?")[0]
    return f"{ref.group(1)} of {base}" if ref else f"the revision you use of {base}"


def plan_commit_pin(text: str, block: Block, commit: str) -> str | None:
    """The file's text with the module call pinned to ``commit``; None when impossible or not a commit."""
    if not is_commit(commit):
        return None
    source = module_source(text, block)
    if source is None:
        return None
    new_source = pinned_source(source, commit.strip())
    if new_source is None:
        return None
    planned = plan_set(text, block, Set(("source",), f'"{new_source}"'))
    if planned is None:
        return None
    new = text if isinstance(planned, bool) else text[: planned.start] + planned.text + text[planned.end:]
    if _REGISTRY.match(source) is not None:  # a git source takes no version argument
        for b in split_blocks(new).blocks:
            if b.kind == block.kind and b.labels == block.labels and abs(b.start - block.start) < 2:
                it = b.item(("version",))
                if it is not None:
                    s = new.rfind("\n", 0, it.start) + 1
                    e = new.find("\n", it.end)
                    new = new[:s] + new[(e + 1 if e >= 0 else len(new)):]
                break
    return new
