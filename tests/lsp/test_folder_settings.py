"""Settings per workspace folder (workspace/configuration with a scopeUri each), and the settings
tfguard.catalogue / tfguard.policyDirs taking effect (they win over .tfguard.yaml)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import SERVER_COMMAND, codes, open_document, wait_for_diagnostics

FIXTURES = Path(__file__).parent.parent / "fixtures"
CONFIG = ClientServerConfig(server_command=SERVER_COMMAND)


async def _start(client: LanguageClient, folders: list[Path], per_folder: dict[Path, dict]) -> None:
    @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def _register(params: lsp.RegistrationParams) -> None:
        return None

    client.set_configuration({}, section="tfguard")
    for folder, values in per_folder.items():
        client.set_configuration(values, section="tfguard", scope_uri=folder.as_uri())
    await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual_studio_code"),
        root_uri=folders[0].as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders],
        initialization_options={"indexWorkspace": False, "idleDelayMs": 100},
    ))


@pytest.fixture
def two_folders(tmp_path: Path) -> list[Path]:
    out = []
    for name in ("alpha", "beta"):
        d = tmp_path / name
        d.mkdir()
        shutil.copy(FIXTURES / "e2e" / "prod" / "main.tf", d / "main.tf")
        out.append(d)
    return out


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_a_folder_setting_applies_to_that_folder_only(client: LanguageClient, two_folders: list[Path]):
    alpha, beta = two_folders
    await _start(client, two_folders, {alpha: {"minimumSeverity": "HIGH"}})
    ua = open_document(client, alpha / "main.tf")
    ub = open_document(client, beta / "main.tf")
    low = lsp.DiagnosticSeverity.Information
    beta_d = await wait_for_diagnostics(client, ub, lambda d: any(x.severity == low for x in d))
    alpha_d = await wait_for_diagnostics(client, ua, lambda d: "CKV_AWS_20" in codes(d))
    assert all(x.severity == lsp.DiagnosticSeverity.Error for x in alpha_d), [(x.code, x.severity) for x in alpha_d]
    assert len(beta_d) > len(alpha_d)


@pytest.fixture
def settings_ws(tmp_path: Path) -> Path:
    dest = tmp_path / "ws"
    shutil.copytree(FIXTURES / "e2e-settings", dest)
    return dest


async def test_catalogue_and_policy_dirs_settings_take_effect(client: LanguageClient, settings_ws: Path):
    await _start(client, [settings_ws], {settings_ws: {
        "catalogue": "approved-modules.yaml", "policyDirs": ["${workspaceFolder}/org-policies"]}})
    uri = open_document(client, settings_ws / "infra" / "main.tf")
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    got = await wait_for_diagnostics(client, uri, lambda d: {"TFG_MOD_1", "ACME_AWS_1"} <= codes(d), timeout=60)
    assert "CKV_AWS_57" in codes(got) or "CKV_AWS_18" in codes(got)  # Checkov findings stay alongside


async def test_without_the_settings_neither_applies(client: LanguageClient, settings_ws: Path):
    await _start(client, [settings_ws], {})
    uri = open_document(client, settings_ws / "infra" / "main.tf")
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    got = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_18" in codes(d) and "CKV2_AWS_6" in codes(d),
                                     timeout=60)
    assert not {"TFG_MOD_1", "ACME_AWS_1"} & codes(got)
