"""Fixes for IAM policies with wildcard resources (CKV_AWS_356, CKV_AWS_111, CKV_AWS_109, CKV_AWS_355).

Checkov hands each policy to cloudsplaining: a statement fails when it allows, without a ``condition``,
actions that can be restricted to resources while its resources are ``"*"``. Which resources a policy is
for only the developer knows, so these are fixes that need a choice (never safe, never in fix-all):

- **the ARN(s) typed by the user** replace the ``"*"`` of every offending statement (other resources
  of the statement stay); statements whose actions cannot be restricted (``ec2:DescribeVpcs``) keep
  their ``"*"``, which is what AWS requires for them;
- for write and permissions-management access (CKV_AWS_111, CKV_AWS_109), a **condition** instead:
  ``aws:ResourceAccount`` equal to the module's ``data.aws_caller_identity`` (one choice each), or to a
  typed 12-digit account ID (the statement then reaches only resources of that account).

Which statements offend is decided as Checkov decides it, with cloudsplaining's own statement model
(installed with Checkov), on the statement's literal text. No offer when that cannot be known from the
text: a ``dynamic "statement"``, an effect, actions or resources that are expressions in a statement
that may offend, a policy that is not a literal (``policy = var.policy``, ``data.….json``, a heredoc
with interpolations).

Policies are found in ``data "aws_iam_policy_document"`` (``statement`` blocks) and in the ``policy``
of ``aws_iam_policy``/``aws_iam_role_policy``/``aws_iam_user_policy``/``aws_iam_group_policy`` written
as ``jsonencode({...})`` or as heredoc JSON. A statement in a module that a caller cannot change (no
input drives it) is fixed in the module's file, for every caller (``in_module``; the offer says so).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tfguard.fixes.registry import choice
from tfguard.fixes.textops import Rewrite, Step, is_literal, value_range
from tfguard.hcl.blocks import Block

DOCUMENT = "aws_iam_policy_document"
POLICY_RESOURCES = ("aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy")

# a check's test on one statement (cloudsplaining's StatementDetail), as Checkov's check applies it
Offends = Callable[[Any], bool]


def _unrestricted(st: Any) -> bool:  # CKV_AWS_355/356: all_allowed_unrestricted_actions
    return bool(st.has_resource_wildcard and not st.has_condition and st.effect_allow and st.restrictable_actions)


def _write(st: Any) -> bool:  # CKV_AWS_111: write_actions_without_constraints
    return st.effect == "Allow" and bool(st.write_actions_without_constraints)


def _permissions(st: Any) -> bool:  # CKV_AWS_109: permissions_management_without_constraints
    return st.effect == "Allow" and bool(st.permissions_management_actions_without_constraints)


def _offends(test: Offends, statement: dict[str, Any]) -> bool | None:
    """Whether the statement fails the check; None when cloudsplaining cannot read it."""
    from cloudsplaining.scan.statement_detail import StatementDetail

    try:
        return test(StatementDetail(statement))
    except Exception:  # an action or shape cloudsplaining does not know: Checkov reports UNKNOWN too
        return None


# ----------------------------------------------------------------------------- typed values

_ARN = re.compile(r"^arn:aws[\w-]*:[\w-]+:[\w-]*:(?:\d{12}|\*)?:\S+$")
_ARN_REF = re.compile(r"^[a-z][\w-]*\.[\w-]+(?:\[\d+\])?\.arn$")
_ACCOUNT = re.compile(r"^\d{12}$")
_IDENTITY = re.compile(r"^data\.aws_caller_identity\.[\w-]+\.account_id$")


def _resources(value: str) -> list[tuple[str, bool]] | None:
    """Typed ARNs (comma/space separated) as (text, is a reference); None unless all are acceptable."""
    parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
    if not parts or len(parts) > 20:
        return None
    out = []
    for p in parts:
        if _ARN.match(p) and "${" not in p and p != "*":
            out.append((p, False))
        elif _ARN_REF.match(p):
            out.append((p, True))
        else:
            return None
    return out


def _account(value: str) -> str | None:
    """A typed account ID or the module's caller identity, as the condition's value (HCL), else None."""
    value = value.strip()
    if _ACCOUNT.match(value):
        return f'"{value}"'
    if _IDENTITY.match(value):
        return value
    return None


# ----------------------------------------------------------------------------- statement blocks


_STRING = r'"(?:[^"\\]|\\.)*"'


def _strings(value: str) -> list[str] | str | None:
    """A literal string or list of strings (HCL or JSON text) as Python; None for anything else."""
    value = value.strip()
    if re.fullmatch(_STRING, value):
        return str(json.loads(value))
    if not value.startswith("[") or not is_literal(value.replace("\n", " ")):
        return None
    found = re.findall(_STRING, value)
    if re.sub(_STRING, "", value).strip("[], \t\r\n"):
        return None  # numbers or bools in the list
    return [str(json.loads(s)) for s in found]


def _statement_items(block: Block) -> list[tuple[int, int]]:
    """Offsets (start, end) of the block's ``statement`` blocks."""
    return [(it.start, it.end) for it in block.items if it.path == ("statement",) and it.is_block]


def _attr(text: str, block: Block, start: int, end: int, name: str) -> tuple[int, int] | None:
    """Offsets of the value of attribute ``statement.name`` inside the statement at [start, end)."""
    for it in block.items:
        if it.path == ("statement", name) and start <= it.start < end and not it.is_block:
            return value_range(text, it)
    return None


def _has_nested(block: Block, start: int, end: int, name: str) -> bool:
    return any(it.path == ("statement", name) and start <= it.start < end for it in block.items)


def _document_statement(text: str, block: Block, start: int, end: int) -> tuple[dict[str, Any], bool] | None:
    """The statement as a policy statement, and whether its resources are a literal; None if unreadable."""
    stmt: dict[str, Any] = {}
    effect = _attr(text, block, start, end, "effect")
    stmt["Effect"] = "Allow"
    if effect is not None:
        got = _strings(text[effect[0]:effect[1]])
        if not isinstance(got, str):
            return None
        stmt["Effect"] = got
    for name, key in (("actions", "Action"), ("not_actions", "NotAction")):
        where = _attr(text, block, start, end, name)
        if where is not None:
            got = _strings(text[where[0]:where[1]])
            if not isinstance(got, list):
                return None
            stmt[key] = got
    if "Action" not in stmt and "NotAction" not in stmt:
        return None
    literal = True
    for name, key in (("resources", "Resource"), ("not_resources", "NotResource")):
        where = _attr(text, block, start, end, name)
        if where is not None:
            got = _strings(text[where[0]:where[1]])
            if isinstance(got, list):
                stmt[key] = got
            else:
                literal = False
                stmt[key] = ["*"]  # an expression may well be "*": assume the worst for the verdict
    if _has_nested(block, start, end, "condition"):
        stmt["Condition"] = {"StringEquals": {"aws:ResourceAccount": "?"}}
    return stmt, literal


def _dynamic_statements_have_conditions(block: Block, text: str) -> bool:
    """True when every ``dynamic "statement"`` of the block has a literal ``condition`` (it cannot offend)."""
    for it in block.items:
        if it.path == ("dynamic",) and it.is_block and re.match(r'dynamic\s+"statement"', text[it.start:it.end]):
            if not re.search(r"(?m)^\s*condition\s*\{", text[it.start:it.end]):
                return False
    return True


def _document_fix(test: Offends, conditions: bool) -> Callable[[Block, str, str], list[Step] | None]:
    def plan(block: Block, text: str, value: str) -> list[Step] | None:
        if not _dynamic_statements_have_conditions(block, text):
            return None  # statements generated by ``dynamic`` that may offend: not in the text
        arns = _resources(value)
        account = _account(value) if conditions and arns is None else None
        if arns is None and account is None:
            return None
        edits: list[tuple[int, int, str]] = []
        for start, end in _statement_items(block):
            read = _document_statement(text, block, start, end)
            if read is None:
                if text.find('"*"', start, end) >= 0:
                    return None  # a statement that may offend and cannot be read
                continue
            stmt, literal = read
            verdict = _offends(test, stmt)
            if verdict is None:
                return None
            if not verdict:
                continue
            if not literal:
                continue  # its resources come from an expression (a module input, most often): not ours to change
            where = _attr(text, block, start, end, "resources")
            if arns is not None:
                if where is None:
                    return None  # not_resources only: left to the developer
                edits.append((*where, _restricted_list(text[where[0]:where[1]], arns)))
            else:
                assert account is not None
                edits.append(_condition_edit(text, block, start, end, account))
        if not edits:
            return None
        new = text
        for s, e, t in sorted(edits, reverse=True):
            new = new[:s] + t + new[e:]
        return [Rewrite(new[block.start:block.end - len(text) + len(new)])]

    return plan


def _restricted_list(current: str, arns: list[tuple[str, bool]]) -> str:
    """``current`` (a literal list holding "*") with "*" replaced by the typed resources."""
    rendered = ", ".join(a if ref else json.dumps(a) for a, ref in arns)
    if re.fullmatch(r'\[\s*"\*"\s*\]', current.strip()):
        return f"[{rendered}]"
    star = current.index('"*"')
    return current[:star] + rendered + current[star + 3:]


def _condition_edit(text: str, block: Block, start: int, end: int, account: str) -> tuple[int, int, str]:
    """Insert a ``condition`` block before the statement's closing brace."""
    close = end - 1
    line_start = text.rfind("\n", 0, start) + 1
    outer = text[line_start:start] if text[line_start:start].strip() == "" else ""
    inner = None
    for it in block.items:
        if len(it.path) == 2 and it.path[0] == "statement" and start < it.start < end:
            ls = text.rfind("\n", 0, it.start) + 1
            if text[ls:it.start].strip() == "":
                inner = text[ls:it.start]
                break
    if inner is None:
        inner = outer + "  "
    unit = inner[len(outer):] or "  "
    lines = [
        "",
        f"{inner}condition {{",
        f'{inner}{unit}test     = "StringEquals"',
        f'{inner}{unit}variable = "aws:ResourceAccount"',
        f"{inner}{unit}values   = [{account}]",
        f"{inner}}}",
    ]
    body = "\n".join(lines) + "\n"
    ls = text.rfind("\n", 0, close) + 1
    if text[ls:close].strip() == "":
        return (ls, ls, body[1:] if text[ls - 2:ls] == "\n\n" else body)
    return (close, close, body + outer)  # ``statement { ... }`` on one line


# ----------------------------------------------------------------------------- policies as JSON text


def _matching(text: str, i: int) -> int:
    """Offset after the bracket closing the one at ``text[i]`` (strings skipped); -1 if unbalanced."""
    pairs = {"{": "}", "[": "]"}
    stack = [pairs[text[i]]]
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == '"':
            j += 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
        elif c in pairs:
            stack.append(pairs[c])
        elif c in "}]":
            if not stack or stack.pop() != c:
                return -1
            if not stack:
                return j + 1
        j += 1
    return -1


def _json_statements(text: str, s: int, e: int) -> list[tuple[int, int]] | None:
    """Offsets of the statement objects of the policy in ``text[s:e]`` (JSON or jsonencode's HCL)."""
    m = re.compile(r'"?Statement"?\s*[:=]\s*').search(text, s, e)
    if m is None:
        return None
    i = m.end()
    if i >= e or text[i] not in "[{":
        return None  # an expression
    if text[i] == "{":
        end = _matching(text, i)
        return [(i, end)] if end > 0 else None
    out = []
    end = _matching(text, i)
    if end < 0:
        return None
    j = i + 1
    while j < end - 1:
        c = text[j]
        if c == "{":
            k = _matching(text, j)
            if k < 0:
                return None
            out.append((j, k))
            j = k
        elif c in " \t\r\n,":
            j += 1
        else:
            return None  # an expression among the statements
    return out


def _key(obj: str, name: str) -> re.Match[str] | None:
    """``name = value`` or ``"name": value`` at the object's top level (value: string or list)."""
    depth = 0
    pat = re.compile(r'"?' + name + r'"?\s*[:=]\s*(' + _STRING + r"|\[[^\[\]]*\])")
    i = 1
    while i < len(obj) - 1:
        c = obj[i]
        if c == '"' and depth == 0:
            m = pat.match(obj, i)
            if m is not None:
                return m
            k = i + 1
            while k < len(obj) and obj[k] != '"':
                k += 2 if obj[k] == "\\" else 1
            i = k + 1
            continue
        if c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
        elif depth == 0 and obj.startswith(name, i) and not (obj[i - 1].isalnum() or obj[i - 1] == "_"):
            m = pat.match(obj, i)
            if m is not None:
                return m
        i += 1
    return None


def _json_statement(obj: str) -> tuple[dict[str, Any], re.Match[str] | None] | None:
    """(the statement, where its Resource is) from its text; None when not a literal statement."""
    stmt: dict[str, Any] = {}
    for key in ("Effect", "Action", "NotAction", "Resource", "NotResource"):
        m = _key(obj, key)
        if m is not None:
            got = _strings(m.group(1))
            if got is None:
                return None
            stmt[key] = got
        elif re.search(r'(?<![\w"])"?' + key + r'"?\s*[:=]', obj):
            return None  # present but an expression
    if "Effect" not in stmt or ("Action" not in stmt and "NotAction" not in stmt):
        return None
    if re.search(r'(?<![\w"])"?Condition"?\s*[:=]', obj):
        stmt["Condition"] = {"StringEquals": {"aws:ResourceAccount": "?"}}
    return stmt, _key(obj, "Resource")


def _policy_fix(test: Offends) -> Callable[[Block, str, str], list[Step] | None]:
    def plan(block: Block, text: str, value: str) -> list[Step] | None:
        arns = _resources(value)
        it = block.item(("policy",))
        if arns is None or it is None or it.is_block:
            return None
        s, e = value_range(text, it)
        head = text[s:e]
        heredoc = re.match(r"<<-?(\w+)\n", head)
        if heredoc is not None:
            if "${" in head or "%{" in head:
                return None
            try:
                json.loads(head[heredoc.end():head.rstrip().rfind("\n")])
            except ValueError:
                return None  # not JSON as it stands
        elif not head.startswith("jsonencode(") or any(x in head for x in ("${", "var.", "local.")):
            return None  # var.policy, data.x.json, file(...), interpolations: not this text's decision
        spans = _json_statements(text, s, e)
        if not spans:
            return None
        edits: list[tuple[int, int, str]] = []
        for a, b in spans:
            read = _json_statement(text[a:b])
            if read is None:
                return None
            stmt, where = read
            verdict = _offends(test, stmt)
            if verdict is None:
                return None
            if not verdict:
                continue
            if where is None:
                return None
            vs, ve = a + where.start(1), a + where.end(1)
            current = text[vs:ve]
            rendered = [json.dumps(x) for x, ref in arns if not ref]
            if len(rendered) != len(arns):
                return None  # a reference cannot go into JSON text
            if current.strip() == '"*"':
                new = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
            else:
                star = current.index('"*"')
                new = current[:star] + ", ".join(rendered) + current[star + 3:]
            edits.append((vs, ve, new))
        if not edits:
            return None
        new_text = text
        for x, y, t in sorted(edits, reverse=True):
            new_text = new_text[:x] + t + new_text[y:]
        return [Rewrite(new_text[block.start:block.end - len(text) + len(new_text)])]

    return plan


# ----------------------------------------------------------------------------- choices and registration


def _identities(block: Block, text: str, blocks: list[Block]) -> list[tuple[str, str]]:
    return [(f"Condition aws:ResourceAccount = data.aws_caller_identity.{b.labels[1]}.account_id",
             f"data.aws_caller_identity.{b.labels[1]}.account_id")
            for b in blocks if b.kind == "data" and b.labels[:1] == ("aws_caller_identity",) and len(b.labels) > 1]


_EXAMPLE = "arn:aws:s3:::example-bucket/*"
_ARNS_PROMPT = ('ARN(s) the statement may act on instead of "*", comma separated '
                "(e.g. arn:aws:s3:::my-bucket/*)")

choice("CKV_AWS_356", DOCUMENT, 'restrict the statements with resources = ["*"] to the ARNs you type',
       _document_fix(_unrestricted, False), prompt=_ARNS_PROMPT, example=_EXAMPLE, kind="data", in_module=True)
for _check, _test, _what in (("CKV_AWS_111", _write, "write"), ("CKV_AWS_109", _permissions,
                                                                  "permissions-management")):
    choice(_check, DOCUMENT, f'restrict the {_what} statements with resources = ["*"]',
           _document_fix(_test, True), options=_identities,
           prompt=_ARNS_PROMPT[:-1] + ", or a 12-digit account ID for a Condition on aws:ResourceAccount)",
           example=_EXAMPLE, kind="data", in_module=True)
choice("CKV_AWS_355", POLICY_RESOURCES, 'restrict the statements with "Resource": "*" to the ARNs you type',
       _policy_fix(_unrestricted), prompt=_ARNS_PROMPT, example=_EXAMPLE, in_module=True)
