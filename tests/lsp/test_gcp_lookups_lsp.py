"""A node-pool finding decided by ``lookup(each.value, "enable_secure_boot", false)`` over the module input
``node_pools`` (a list of maps), fixed at the call over a real LSP session (pytest-lsp, stdio): the code
action on the caller's ``module`` block sets the key in each map of the caller's list, and once applied
(unsaved) the module line's instance diagnostic goes and the fix is no longer offered (issue #21, fixes/lookups.py).

Fixture ``fixes/gke_pools``: ``modules/pools`` (GKE node pools with ``for_each`` over ``var.node_pools``)
called as ``module "gke"`` by ``main.tf`` with two pools, one setting ``enable_secure_boot = false``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import actions_at, open_document, session_on_copy, wait_for_diagnostics
from tests.lsp.test_code_actions import apply_edits, edits_of
from tests.unit.test_fixes_gcp import FIXED_CALL, TITLE

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "fixes" / "gke_pools"


ws, client = session_on_copy(FIXTURE)


async def test_node_pool_lookup_is_fixed_in_each_map_at_the_call(client: LanguageClient):
    ws: Path = client.ws  # type: ignore[attr-defined]
    caller = ws / "main.tf"
    text = caller.read_text()
    uri = open_document(client, caller, text)
    await wait_for_diagnostics(client, uri, timeout=60)
    module_uri = open_document(client, ws / "modules" / "pools" / "main.tf")
    # what the user sees on the module's line: the pools fail through the call
    await wait_for_diagnostics(client, module_uri, lambda d: any(
        x.code == "CKV_GCP_68" and "via module.gke in main.tf" in x.message for x in d), timeout=90)
    actions = await actions_at(client, uri, 4, "at the call of module")  # a line inside the module block
    assert {a.title for a in actions} == {TITLE}  # both pools' findings, one fix: the caller's list
    action = actions[0]
    if action.edit is None:
        action = await client.code_action_resolve_async(action)
    assert action.edit is not None
    assert edits_of(action.edit, (ws / "modules" / "pools" / "main.tf").as_uri()) == []  # the module is not edited
    new = apply_edits(text, edits_of(action.edit, uri))
    assert new == FIXED_CALL

    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new)]))
    # the caller's run on the unsaved text: CKV_GCP_68 passes for both pools, the fix disappears
    left: list[lsp.CodeAction] = [action]
    for _ in range(60):
        left = await actions_at(client, uri, 4, "at the call of module")
        if not left:
            break
        await asyncio.sleep(0.5)
    assert left == []
    after = await wait_for_diagnostics(client, module_uri, lambda d: not [x for x in d if x.code == "CKV_GCP_68"],
                                       timeout=60)
    assert not [x for x in after if "via module.gke" in x.message]  # nothing else fails through the call


async def test_variable_default_fix_edits_the_variables_file(client: LanguageClient):
    # CKV_GCP_61 on a cluster whose enable_intranode_visibility is var.x (default false, in variables.tf):
    # the action's edit is on variables.tf, built with the action (resolve knows only the finding's file)
    ws: Path = client.ws  # type: ignore[attr-defined]
    module = ws / "cluster"
    module.mkdir()
    (module / "main.tf").write_text(
        'resource "google_container_cluster" "primary" {\n  name                        = "primary"\n'
        '  location                    = "europe-west1"\n  initial_node_count          = 1\n'
        "  enable_intranode_visibility = var.enable_intranode_visibility\n}\n")
    variables = module / "variables.tf"
    variables.write_text('variable "enable_intranode_visibility" {\n  type    = bool\n  default = false\n}\n')
    uri = open_document(client, module / "main.tf")
    diags = await wait_for_diagnostics(client, uri, lambda d: any(x.code == "CKV_GCP_61" for x in d), timeout=60)
    diag = next(d for d in diags if d.code == "CKV_GCP_61")
    got = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=diag.range,
        context=lsp.CodeActionContext(diagnostics=[diag])))
    [action] = [a for a in got or [] if isinstance(a, lsp.CodeAction) and a.title.startswith("Fix CKV_GCP_61")]
    assert action.title == ("Fix CKV_GCP_61: set the default of var.enable_intranode_visibility to true "
                            "(for every caller that does not set it)")
    if action.edit is None:
        action = await client.code_action_resolve_async(action)
    assert action.edit is not None
    assert edits_of(action.edit, uri) == []
    new = apply_edits(variables.read_text(), edits_of(action.edit, variables.as_uri()))
    assert new == 'variable "enable_intranode_visibility" {\n  type    = bool\n  default = true\n}\n'
    variables.write_text(new)
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(changes=[
        lsp.FileEvent(uri=variables.as_uri(), type=lsp.FileChangeType.Changed)]))
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    await wait_for_diagnostics(client, uri, lambda d: not any(x.code == "CKV_GCP_61" for x in d) and len(d) > 0,
                               timeout=60)
