"""Issue #18 over real LSP stdio: the hover shows the risk class, why the finding was raised and its owners."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import SERVER_COMMAND, codes, hover_text, open_document, start_in_copy, wait_for_diagnostics

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ranking"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    lsp_client.ws = await start_in_copy(lsp_client, FIXTURE, tmp_path / "ws",
                                        {"CODEOWNERS": "* @acme/platform\n/infra/*.tf @acme/secops\n"})  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def _hover(client: LanguageClient, uri: str, diag: lsp.Diagnostic) -> str:
    return await hover_text(client, uri, diag.range.start)


async def test_hover_shows_class_floor_and_exposure(client: LanguageClient):
    path = client.ws / "infra" / "main.tf"  # type: ignore[attr-defined]
    uri = open_document(client, path)
    diags = await wait_for_diagnostics(client, uri, lambda d: {"CKV_AWS_24", "CKV_AWS_16"} <= codes(d), timeout=60)
    ssh = next(d for d in diags if d.code == "CKV_AWS_24")
    assert ssh.severity == lsp.DiagnosticSeverity.Error  # INFO in the vendor table: it used to be a hint
    text = await _hover(client, uri, ssh)
    assert "**CRITICAL · CKV_AWS_24**" in text
    assert "Risk class: public-exposure" in text
    assert "Owners: @acme/secops" in text and "@acme/platform" not in text  # the last match wins
    assert "publicly exposed: aws_security_group.web allows 0.0.0.0/0 on port 22 (SSH): +1 level" in text

    lines = path.read_text().splitlines()
    private_db = next(i for i, line in enumerate(lines) if '"private"' in line and "aws_db_instance" in line)
    enc = [d for d in diags if d.code == "CKV_AWS_16"]
    private = next(d for d in enc if d.range.start.line >= private_db)
    public = next(d for d in enc if d.range.start.line < private_db)
    assert "publicly_accessible = true: +1 level" in await _hover(client, uri, public)
    assert "exposed" not in await _hover(client, uri, private)
