"""A `.tfguard.yaml` that the configuration's JSON Schema refuses gets a located diagnostic on that file
in the editor (real LSP stdio), the Terraform files stay analysed, and a fix withdraws it.

The case is a value YAML reads as a number where the schema wants text (`label: 5` of an environment):
the schema refuses it (and so, since this change, does the hand validator; see test_tfguard_schema.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import (
    SERVER_COMMAND,
    codes,
    init_params,
    open_document,
    serve_client_requests,
    wait_for_diagnostics,
)

CONFIG = ClientServerConfig(server_command=SERVER_COMMAND)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, workspace: Path):
    serve_client_requests(lsp_client)
    await lsp_client.initialize_session(init_params(workspace, client_capabilities("visual_studio_code"),
                                                    {"indexWorkspace": False, "idleDelayMs": 150}))
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_a_schema_refusal_is_a_located_diagnostic_on_the_config_file(client: LanguageClient):
    cfg = client.ws / ".tfguard.yaml"  # type: ignore[attr-defined]
    cfg.write_text("version: 1\nenvironments:\n  - pattern: '**/prod/**'\n    label: 5\n")
    path = client.ws / "module" / "main.tf"  # type: ignore[attr-defined]
    uri = open_document(client, path, path.read_text())
    await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_24" in codes(d))  # still analysed
    diags = await wait_for_diagnostics(client, cfg.as_uri(), lambda d: len(d) > 0)
    (d,) = diags
    assert (d.range.start.line, d.range.start.character) == (3, 11)  # the `5`
    assert "environments[0].label: expected text" in d.message
    cfg.write_text("version: 1\nenvironments:\n  - pattern: '**/prod/**'\n    label: production\n")
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
        changes=[lsp.FileEvent(uri=cfg.as_uri(), type=lsp.FileChangeType.Changed)]))
    await wait_for_diagnostics(client, cfg.as_uri(), lambda d: len(d) == 0)
