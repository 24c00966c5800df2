"""A typed value as a module variable's default, over a real LSP session (pytest-lsp, stdio): CKV_GCP_21 on
a cluster whose ``resource_labels`` is ``var.cluster_resource_labels`` (default ``{}`` in ``variables.tf``).
VS Code gets one ``tfguard.chooseFix`` action asking for the labels; ``tfguard.server.applyFix`` with the
typed value edits ``variables.tf`` (not the finding's file) and the diagnostic goes once it is saved.
Other editors cannot ask for a typed value: no action (issue #21, fixes/__init__.py ``_default_offers``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import CHOICE_CLIENTS, SERVER_COMMAND, open_document, start_applying_edits, wait_for_diagnostics
from tests.lsp.test_code_actions import apply_edits, edits_of
from tests.lsp.test_fix_choices_lsp import _actions
from tests.unit.test_fixes_gcp import _LABELS_VARIABLE, _labelled_module

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")


@pytest_lsp.fixture(params=CHOICE_CLIENTS, config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, tmp_path: Path):
    await start_applying_edits(lsp_client, request.param, _labelled_module(tmp_path))
    yield
    await lsp_client.shutdown_session()


async def test_typed_labels_are_written_as_the_variables_default(client: LanguageClient):
    ws: Path = client.ws  # type: ignore[attr-defined]
    uri = open_document(client, ws / "main.tf")
    variables = ws / "variables.tf"
    diags = await wait_for_diagnostics(client, uri, lambda d: any(x.code == "CKV_GCP_21" for x in d), timeout=60)
    diag = next(d for d in diags if d.code == "CKV_GCP_21")
    actions = [a for a in await _actions(client, uri, diag.range.start.line, [diag])
               if a.title.startswith("Fix CKV_GCP_21")]
    if not client.vscode:  # type: ignore[attr-defined]
        assert actions == []  # nothing to type the labels into: never invented ones
        return
    [action] = actions
    assert action.title == ("Fix CKV_GCP_21: label the cluster (resource_labels): type the default of "
                            "var.cluster_resource_labels (for every caller that does not set it)")
    assert action.command is not None and action.command.command == "tfguard.chooseFix"
    args: dict[str, Any] = action.command.arguments[0]  # type: ignore[index]
    assert args["choices"] == [] and args["prompt"].startswith("Labels for the cluster")
    bad = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="tfguard.server.applyFix", arguments=[{**args, "value": "Team=Payments"}]))
    assert bad is False and client.applied == []  # type: ignore[attr-defined]
    ok = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="tfguard.server.applyFix", arguments=[{**args, "value": "team=payments, env=prod"}]))
    assert ok is True
    [params] = client.applied  # type: ignore[attr-defined]
    assert edits_of(params.edit, uri) == []  # the variable's file, not the cluster's
    new = apply_edits(variables.read_text(), edits_of(params.edit, variables.as_uri()))
    assert new == _LABELS_VARIABLE.replace("default     = {}", 'default     = { team = "payments", env = "prod" }')
    variables.write_text(new)
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(changes=[
        lsp.FileEvent(uri=variables.as_uri(), type=lsp.FileChangeType.Changed)]))
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    await wait_for_diagnostics(client, uri, lambda d: not any(x.code == "CKV_GCP_21" for x in d) and len(d) > 0,
                               timeout=60)
