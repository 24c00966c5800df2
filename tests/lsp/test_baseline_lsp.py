"""A baseline configured in the editor: baselined findings become hints, new ones stay as they are."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
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

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient, workspace: Path):
    baseline = workspace / "baseline.json"
    subprocess.run([sys.executable, "-m", "tfguard", "scan", str(workspace), "--create-baseline", str(baseline)],
                   check=False, capture_output=True)
    assert baseline.is_file()
    serve_client_requests(lsp_client)
    await lsp_client.initialize_session(init_params(
        workspace, client_capabilities("visual_studio_code"),
        {"indexWorkspace": False, "idleDelayMs": 150, "baseline": str(baseline)}))
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_baselined_findings_are_hints_and_new_ones_are_not(client: LanguageClient):
    path = client.ws / "module" / "main.tf"
    text = path.read_text() + (
        '\nresource "aws_security_group" "rdp" {\n  name        = "rdp"\n  description = "rdp"\n\n'
        '  ingress {\n    description = "rdp"\n    from_port   = 3389\n    to_port     = 3389\n'
        '    protocol    = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n')
    uri = open_document(client, path, text)
    diags = await wait_for_diagnostics(client, uri, lambda d: {"CKV_AWS_24", "CKV_AWS_25"} <= codes(d))
    old = next(d for d in diags if d.code == "CKV_AWS_24")
    new = next(d for d in diags if d.code == "CKV_AWS_25")  # the RDP rule was not in the baseline
    assert old.severity == lsp.DiagnosticSeverity.Hint and "(in baseline)" in old.message
    assert "(in baseline)" not in new.message
