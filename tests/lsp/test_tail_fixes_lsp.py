"""terragoat's tail over a real LSP session (pytest-lsp, stdio): a companion resource that needs a choice.

CKV2_AZURE_45 (an SQL server without a private endpoint) is a graph check: its diagnostic comes from
tier 2, and the fix appends an ``azurerm_private_endpoint`` wired to the server, in the subnet the user
picks. VS Code gets one action whose command offers the module's subnets (and a typed subnet ID); other
editors get one action per subnet, with its edit, and none for the typed value.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import (
    CHOICE_CLIENTS,
    SERVER_COMMAND,
    codes,
    open_document,
    start_applying_edits,
    wait_for_diagnostics,
)
from tests.lsp.test_code_actions import apply_edits, edits_of
from tests.lsp.test_fix_choices_lsp import _actions, _resolved

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "fixes" / "CKV2_AZURE_45"
ENDPOINT = "    private_connection_resource_id = azurerm_mssql_server.sql.id\n"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(FIXTURE, dst / "sql")
    return dst


@pytest_lsp.fixture(params=CHOICE_CLIENTS,
                    config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, ws: Path):
    await start_applying_edits(lsp_client, request.param, ws)
    yield
    await lsp_client.shutdown_session()


async def test_private_endpoint_in_the_chosen_subnet(client: LanguageClient):
    path = client.ws / "sql" / "main.tf"  # type: ignore[attr-defined]
    text = path.read_text()
    uri = open_document(client, path, text)
    diags = await wait_for_diagnostics(client, uri, lambda d: "CKV2_AZURE_45" in codes(d), timeout=90)
    diag = next(d for d in diags if d.code == "CKV2_AZURE_45")
    assert diag.range.start.line == 0  # on the server's block
    actions = [a for a in await _actions(client, uri, 0, [diag]) if "CKV2_AZURE_45" in a.title
               and not a.title.startswith(("Suppress", "Open guideline"))]
    if client.vscode:  # type: ignore[attr-defined]
        [action] = actions
        assert action.command is not None and action.command.command == "tfguard.chooseFix"
        args: dict[str, Any] = action.command.arguments[0]  # type: ignore[index]
        assert [c["value"] for c in args["choices"]] == ["azurerm_subnet.endpoints.id"]
        assert "subnet" in args["prompt"].lower()
        bad = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
            command="tfguard.server.applyFix", arguments=[{**args, "value": "subnet-1"}]))
        assert bad is False and client.applied == []  # type: ignore[attr-defined]
        ok = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
            command="tfguard.server.applyFix", arguments=[{**args, "value": args["choices"][0]["value"]}]))
        assert ok is True
        [params] = client.applied  # type: ignore[attr-defined]
        edit = params.edit
    else:  # one action per subnet, with its edit; nothing to type a subnet ID into
        assert [a.title for a in actions] == [
            "Fix CKV2_AZURE_45: reach it through a private endpoint (azurerm_private_endpoint): "
            "azurerm_subnet.endpoints"]
        edit = (await _resolved(client, actions[0])).edit  # type: ignore[assignment]
        assert edit is not None
    new = apply_edits(text, edits_of(edit, uri))
    assert ENDPOINT in new and "  subnet_id           = azurerm_subnet.endpoints.id\n" in new
    assert new.startswith(text.split("\nvariable")[0])  # the server's block is untouched
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new)]))
    after = await wait_for_diagnostics(client, uri, lambda d: "CKV2_AZURE_45" not in codes(d), timeout=90)
    assert "tfguard.syntax" not in codes(after)
