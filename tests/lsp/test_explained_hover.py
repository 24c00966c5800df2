"""Issue #18 over real LSP stdio: the hover of a finding whose check read a variable shows the value
and where it came from (the variable's default; a variables file in .tfguard.yaml over the default)."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import SERVER_COMMAND, codes, hover_text, open_document, start_in_copy, wait_for_diagnostics

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "explained"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    lsp_client.ws = await start_in_copy(lsp_client, FIXTURE, tmp_path / "ws")  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def _hover_of(client: LanguageClient, rel: str, check_id: str) -> str:
    path = client.ws / rel  # type: ignore[attr-defined]
    uri = open_document(client, path)
    diags = await wait_for_diagnostics(client, uri, lambda d: check_id in codes(d), timeout=90)
    diag = next(d for d in diags if d.code == check_id)
    assert diag.range.start.line == 3  # on `acl = var.acl`
    return await hover_text(client, uri, diag.range.start)


async def test_hover_explains_a_value_from_the_variables_default(client: LanguageClient):
    text = await _hover_of(client, "default/main.tf", "CKV_AWS_20")
    assert '- `acl = var.acl` → `"public-read"` (default at `default/variables.tf:3`)' in text


async def test_hover_explains_a_value_from_a_variables_file_over_the_default(client: LanguageClient):
    text = await _hover_of(client, "tfvars/main.tf", "CKV_AWS_20")
    assert '- `acl = var.acl` → `"public-read"` (`tfvars/prod.tfvars:1`)' in text
    assert "private" not in text


async def test_hover_explains_a_value_from_the_callers_module_input(client: LanguageClient):
    # the module alone is private by default: the finding comes through the example's call (#15's full
    # check), on the module's own line, and its hover names the caller's input
    path = client.ws / "modules" / "bucket" / "main.tf"  # type: ignore[attr-defined]
    uri = open_document(client, path)
    diags = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_20" in codes(d), timeout=120)
    diag = next(d for d in diags if d.code == "CKV_AWS_20")
    assert diag.range.start.line == 8  # on `acl = var.acl`
    assert diag.data["resource"] == "module.s3.aws_s3_bucket.this"  # type: ignore[index]
    text = await hover_text(client, uri, diag.range.start)
    assert '- `acl = var.acl` → `"public-read"` (input at `examples/complete/main.tf:8` via `module.s3`)' in text, text
