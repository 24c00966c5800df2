"""Code actions: quick fixes, approved module, pin source, suppress with justification, guideline, fix all.

Offers come from :mod:`tfguard.fixes` (pure). Edits are built lazily in ``codeAction/resolve``
when the client supports it, eagerly otherwise, always against the text the client has now.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path

from tfguard.engine import Engine
from tfguard.fixes import REGISTRY, FixOffer, build_edits, edit_path, fix_all_edits, offers_for
from tfguard.fixes.callers import calls_outermost
from tfguard.hcl.blocks import split_blocks
from tfguard.lsp.convert import range_to_client, split_lines
from tfguard.lsp.server import TfguardServer
from tfguard.model import Finding, Result, TextEdit

log = logging.getLogger(__name__)

FIX_ALL_KIND = "source.fixAll.tfguard"
SUPPRESS_COMMAND = "tfguard.server.suppress"
OPEN_GUIDELINE_COMMAND = "tfguard.server.openGuideline"
APPLY_FIX_COMMAND = "tfguard.server.applyFix"  # a fix with the user's choice or typed value
CHOOSE_FIX_COMMAND = "tfguard.chooseFix"  # VS Code client: quick pick / input box, then APPLY_FIX_COMMAND
CODE_ACTION_OPTIONS = lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, FIX_ALL_KIND],
                                            resolve_provider=True)


def register(server: TfguardServer) -> None:
    """Register code actions, their resolution and the suppress / open-guideline commands on ``server``."""
    server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, CODE_ACTION_OPTIONS)(code_action)
    server.feature(lsp.CODE_ACTION_RESOLVE)(resolve_code_action)
    server.command(SUPPRESS_COMMAND)(suppress)
    server.command(OPEN_GUIDELINE_COMMAND)(open_guideline)
    server.command(APPLY_FIX_COMMAND)(apply_fix)


def _catalogue(engine: Engine, path: str) -> Any:
    configs = engine.configs
    if configs is None:
        return None
    try:
        return configs.catalogue_for(configs.config_for(path))
    except Exception:
        log.exception("catalogue lookup failed")
        return None


def _finding_for(ls: TfguardServer, uri: str, data: dict[str, Any]) -> Finding | None:
    pub = ls.published.get(uri)
    if pub is None:
        return None
    wanted = data.get("resource")
    for f in pub.analysis.findings:
        # a module call is "vpc" in tier 2's records and "module.vpc" in tier 1's and the diagnostics
        same = f.resource == wanted or (f.block_type == "module" and f"module.{f.resource}" == wanted)
        if (f.result is Result.FAILED and f.check_id == data.get("checkId") and same
                and f.line_range[0] == data.get("blockStartLine")):
            return f
    return None


def _asks_reason(ls: TfguardServer) -> bool:
    """VS Code (our extension) asks the user for the reason before suppressing."""
    return "code" in ls.client_name.lower()


def _workspace_edit(ls: TfguardServer, uri: str, edits: list[TextEdit]) -> lsp.WorkspaceEdit:
    doc = ls.workspace.text_documents.get(uri)
    if doc is not None:
        text = doc.source
    else:  # a file the client has not opened (a module call's caller): its text on disk
        path = to_fs_path(uri)
        try:
            with open(path or "", encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            text = ""
    lines = split_lines(text)
    lsp_edits = [lsp.TextEdit(range=range_to_client(e.span, lines, ls.encoding), new_text=e.new_text) for e in edits]
    caps = ls.client_capabilities.workspace
    if doc is not None and caps and caps.workspace_edit and caps.workspace_edit.document_changes:
        return lsp.WorkspaceEdit(document_changes=[lsp.TextDocumentEdit(
            text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=doc.version),
            edits=lsp_edits)])
    return lsp.WorkspaceEdit(changes={uri: lsp_edits})


def _resolve_support(ls: TfguardServer) -> bool:
    td = ls.client_capabilities.text_document
    ca = td.code_action if td else None
    props = ca.resolve_support.properties if ca and ca.resolve_support else []
    return "edit" in props


def _offer_to_action(ls: TfguardServer, uri: str, offer: FixOffer, finding: Finding,
                     diag: lsp.Diagnostic | None, engine: Engine) -> lsp.CodeAction:
    data = {"uri": uri, "offer": offer.id, "kind": offer.kind, "checkId": finding.check_id,
            "resource": finding.resource, "blockStartLine": finding.line_range[0], "title": offer.title,
            "preferred": offer.preferred, "safe": offer.safe}
    action = lsp.CodeAction(title=offer.title, kind=lsp.CodeActionKind.QuickFix,
                            diagnostics=[diag] if diag else None, is_preferred=offer.preferred or None, data=data)
    if offer.kind == "suppress" and _asks_reason(ls):
        action.data = None
        action.command = lsp.Command(title=offer.title, command="tfguard.suppress", arguments=[{
            "uri": uri, "checkId": finding.check_id, "line": finding.line_range[0], "resource": finding.resource}])
        return action
    if offer.kind == "input" or offer.path is not None or not _resolve_support(ls):
        # a fix at a module call is built now: its finding is not among the published ones; so is
        # a fix in another file of the module (a variable's default): resolve knows only the finding's
        edits = build_edits(offer, finding, engine, _catalogue(engine, finding.file),
                            ls.settings.skip_reason_placeholder if offer.kind == "suppress" else None)
        action.edit = _workspace_edit(ls, _uri_of(uri, offer, finding), edits)
        action.data = None
    return action


def _uri_of(uri: str, offer: FixOffer, finding: Finding) -> str:
    """The document the offer edits: ``uri``, or the module call's caller."""
    path = edit_path(offer, finding)
    return uri if path == finding.file else (from_fs_path(path) or uri)


def _choice_args(uri: str, finding: Finding, offers: list[FixOffer]) -> dict[str, Any]:
    first = offers[0]
    return {"uri": uri, "offer": first.id, "kind": first.kind, "checkId": finding.check_id,
            "resource": finding.resource, "blockStartLine": finding.line_range[0],
            "title": first.title, "prompt": next((o.prompt for o in offers if o.prompt), None),
            "choices": [{"label": o.title, "value": o.value} for o in offers if o.value is not None],
            "path": first.path}  # another file of the module (a variable's default): the fix checks it again


def _actions_for_offers(ls: TfguardServer, uri: str, offers: list[FixOffer], finding: Finding,
                        diag: lsp.Diagnostic | None, engine: Engine) -> list[lsp.CodeAction]:
    """Code actions for ``offers``: fixes that need a choice become one VS Code quick pick (our
    extension's command), or one action per choice in other editors (which cannot ask for typed values)."""
    out: list[lsp.CodeAction] = []
    done: set[str] = set()
    for offer in offers:
        if offer.group is None:
            out.append(_offer_to_action(ls, uri, offer, finding, diag, engine))
            continue
        if offer.group in done:
            continue
        members = [o for o in offers if o.group == offer.group]
        if _asks_reason(ls):
            done.add(offer.group)
            title = members[0].title if len(members) == 1 else \
                f"{members[0].title.rsplit(': ', 1)[0]} (choose from {len(members)})"
            out.append(lsp.CodeAction(title=title, kind=lsp.CodeActionKind.QuickFix,
                                      diagnostics=[diag] if diag else None, is_preferred=offer.preferred or None,
                                      command=lsp.Command(title=title, command=CHOOSE_FIX_COMMAND,
                                                          arguments=[_choice_args(uri, finding, members)])))
        elif offer.prompt is None:
            action = _offer_to_action(ls, uri, offer, finding, diag, engine)
            if offer.value is not None:  # the choice travels with the action
                action.edit = _workspace_edit(ls, uri, build_edits(offer, finding, engine, value=offer.value))
                action.data = None
            out.append(action)
    return out


async def code_action(ls: TfguardServer, params: lsp.CodeActionParams
                      ) -> list[lsp.CodeAction | lsp.Command] | None:
    """Quick fixes for the tfguard diagnostics in the request, and fix-all when asked for a source action."""
    uri = params.text_document.uri
    path = to_fs_path(uri)
    pub = ls.published.get(uri)
    doc = ls.workspace.text_documents.get(uri)
    if not path or pub is None or doc is None or pub.text != doc.source:
        return None  # results are for another text: offer nothing rather than a wrong edit
    engine = ls.engine_for(path)
    engine.set_overlay(path, doc.source)
    only = params.context.only or []
    actions: list[lsp.CodeAction | lsp.Command] = []
    if not only or any(str(k).startswith("quickfix") for k in only):
        for diag in params.context.diagnostics:
            if diag.source != "tfguard" or not isinstance(diag.data, dict) or "checkId" not in diag.data:
                continue
            finding = _finding_for(ls, uri, diag.data)
            if finding is None:
                continue
            try:
                offers = offers_for(finding, engine, _catalogue(engine, path))
            except Exception:
                log.exception("fix offers failed for %s", finding.check_id)
                continue
            actions.extend(_actions_for_offers(ls, uri, offers, finding, diag, engine))
            if finding.guideline:
                actions.append(lsp.CodeAction(
                    title=f"Open guideline for {finding.check_id}", kind=lsp.CodeActionKind.QuickFix,
                    diagnostics=[diag],
                    command=lsp.Command(title="Open guideline", command=OPEN_GUIDELINE_COMMAND,
                                        arguments=[finding.guideline])))
        actions.extend(await _module_call_actions(ls, uri, path, doc.source, params.range, engine))
    if any(str(k) in ("source", "source.fixAll", FIX_ALL_KIND) for k in only):
        failed = [f for f in pub.analysis.findings if f.result is Result.FAILED and f.check_id in REGISTRY]
        edits = fix_all_edits(path, failed, engine)
        if edits:
            actions.append(lsp.CodeAction(title="tfguard: fix all safe findings in this file", kind=FIX_ALL_KIND,
                                          edit=_workspace_edit(ls, uri, edits)))
    return actions


# caller directory -> (the texts it was computed on, FAILED findings reported through its module calls)
_CALL_FINDINGS: dict[str, tuple[tuple[tuple[str, str], ...], list[Finding]]] = {}


def _call_findings_now(engine: Engine, directory: str) -> list[Finding]:
    key = tuple((f, engine.state(f).digest) for f in engine.module_files(directory))
    cached = _CALL_FINDINGS.get(directory)
    if cached is not None and cached[0] == key:
        return cached[1]
    # graph checks' records name no caller: the fixes' call sites are derived (fixes._call_sites)
    recs = [r for r in engine.module_run(directory).records
            if r.result == "FAILED" and r.resource.startswith("module.")]
    found = engine.records_to_findings(recs, None)
    _CALL_FINDINGS[directory] = (key, found)
    return found


async def _module_call_actions(ls: TfguardServer, uri: str, path: str, text: str, rng: lsp.Range,
                               engine: Engine) -> list[lsp.CodeAction]:
    """Fixes at the module calls in ``rng``: the input of the call that fixes a finding of the module."""
    calls = [b for b in split_blocks(text).blocks if b.kind == "module" and b.labels
             and b.span.start.line <= rng.end.line and rng.start.line <= b.span.end.line]
    if not calls:
        return []
    directory = os.path.dirname(path)
    loop = asyncio.get_running_loop()
    try:  # a Checkov run: on the tier-2 thread, never on the event loop, never two at once
        found = await loop.run_in_executor(ls.scheduler.tier2, _call_findings_now, engine, directory)
    except Exception:
        log.exception("module call findings failed for %s", directory)
        return []
    real = os.path.realpath(path)
    out: list[lsp.CodeAction] = []
    seen: set[str] = set()
    for b in calls:
        for f in found:
            if not f.resource.startswith(f"module.{b.labels[0]}.") or (
                    f.caller_file is not None and os.path.realpath(f.caller_file) != real
                    and calls_outermost(f.caller_file, f.resource, lambda p: engine.read(p)[0])):
                continue  # another caller's (a nested call's record names its innermost caller)
            for offer in offers_for(f, engine):
                if offer.kind != "input" or os.path.realpath(offer.path or "") != real:
                    continue  # a fix at another call of that name (another caller file)
                action = _offer_to_action(ls, uri, offer, f, None, engine)
                if action.edit is not None and action.title not in seen:
                    seen.add(action.title)
                    out.append(action)
    return out


async def apply_fix(ls: TfguardServer, *args: Any) -> bool:
    """Apply a fix with the user's choice or typed value (our VS Code extension's quick pick)."""
    arg = args[0] if args else {}
    if isinstance(arg, list):
        arg = arg[0] if arg else {}
    uri, value = arg.get("uri"), arg.get("value")
    if not isinstance(uri, str) or not isinstance(value, str):
        return False
    path = to_fs_path(uri)
    doc = ls.workspace.text_documents.get(uri)
    finding = _finding_for(ls, uri, arg)
    if not path or doc is None or finding is None:
        log.info("applyFix: no current finding %s %s in %s (%s)", arg.get("checkId"), arg.get("resource"), uri,
                 [(f.check_id, f.resource, f.line_range) for f in (ls.published[uri].analysis.findings
                                                                   if uri in ls.published else [])][:20])
        return False
    engine = ls.engine_for(path)
    engine.set_overlay(path, doc.source)
    other = arg.get("path") if str(arg.get("offer")).startswith("default:") else None  # only a default's file
    offer = FixOffer(str(arg.get("offer")), str(arg.get("title", "")), finding.check_id, str(arg.get("kind")),
                     False, False, path=other if isinstance(other, str) else None)
    edits = build_edits(offer, finding, engine, _catalogue(engine, path), value=value.strip())
    if not edits:
        ls.window_show_message(lsp.ShowMessageParams(
            type=lsp.MessageType.Warning, message=f"{finding.check_id}: {value!r} cannot be used for this fix"))
        return False
    result = await ls.workspace_apply_edit_async(lsp.ApplyWorkspaceEditParams(
        edit=_workspace_edit(ls, _uri_of(uri, offer, finding), edits), label=f"Fix {finding.check_id}"))
    return bool(result.applied)


def resolve_code_action(ls: TfguardServer, action: lsp.CodeAction) -> lsp.CodeAction:
    """Build the edit of a quick fix against the document's current text."""
    data = action.data if isinstance(action.data, dict) else None
    if data is None or action.edit is not None:
        return action
    uri = data["uri"]
    path = to_fs_path(uri)
    doc = ls.workspace.text_documents.get(uri)
    finding = _finding_for(ls, uri, data)
    if not path or doc is None or finding is None:
        return action
    engine = ls.engine_for(path)
    engine.set_overlay(path, doc.source)
    offer = FixOffer(data["offer"], data["title"], data["checkId"], data["kind"], bool(data.get("preferred")),
                     bool(data.get("safe")))
    reason = ls.settings.skip_reason_placeholder if offer.kind == "suppress" else None
    edits = build_edits(offer, finding, engine, _catalogue(engine, path), reason)
    action.edit = _workspace_edit(ls, _uri_of(uri, offer, finding), edits)
    return action


async def suppress(ls: TfguardServer, *args: Any) -> bool:
    """Insert ``# checkov:skip=ID:REASON`` in the block, with the reason the user typed."""
    arg = args[0] if args else {}
    if isinstance(arg, list):
        arg = arg[0] if arg else {}
    uri, reason = arg.get("uri"), (arg.get("reason") or "").strip()
    if not isinstance(uri, str):
        return False
    path = to_fs_path(uri)
    doc = ls.workspace.text_documents.get(uri)
    if not path or doc is None:
        return False
    finding = _finding_for(ls, uri, {"checkId": arg.get("checkId"), "resource": arg.get("resource"),
                                     "blockStartLine": arg.get("line")})
    if finding is None:
        return False
    engine = ls.engine_for(path)
    engine.set_overlay(path, doc.source)
    offer = FixOffer(f"suppress:{finding.check_id}", "suppress", finding.check_id, "suppress", False, False)
    edits = build_edits(offer, finding, engine, None, reason or ls.settings.skip_reason_placeholder)
    if not edits:
        return False
    result = await ls.workspace_apply_edit_async(lsp.ApplyWorkspaceEditParams(
        edit=_workspace_edit(ls, uri, edits), label=f"Suppress {finding.check_id}"))
    return bool(result.applied)


async def open_guideline(ls: TfguardServer, *args: Any) -> bool:
    """Open a check's guideline in the browser (or show its address when the client cannot)."""
    url = args[0] if args else None
    if isinstance(url, list):
        url = url[0] if url else None
    if not isinstance(url, str):
        return False
    try:
        res = await ls.window_show_document_async(lsp.ShowDocumentParams(uri=url, external=True))
        return bool(res.success)
    except Exception:
        ls.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Info, message=f"Guideline: {url}"))
        return False

