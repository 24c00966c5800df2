"""tfguard.baseline and tfguard.baselineMode are folder settings (scope resource): in a two-folder
workspace each folder uses its own baseline file (a relative path from that folder) and its own mode,
and a folder without one shows its findings as they are."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import SERVER_COMMAND, codes, open_document, wait_for_diagnostics
from tests.lsp.test_folder_settings import _start

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def three_folders(tmp_path: Path) -> list[Path]:
    out = []
    for name in ("alpha", "beta", "gamma"):
        d = tmp_path / name
        d.mkdir()
        (d / ".git").mkdir()  # each its own repository
        shutil.copy(FIXTURES / "e2e" / "prod" / "main.tf", d / "main.tf")
        out.append(d)
    for d in (out[0], out[2]):  # alpha and gamma have a baseline of their findings; beta none
        subprocess.run([sys.executable, "-m", "tfguard", "scan", str(d), "--create-baseline", str(d / "baseline.json")],
                       check=False, capture_output=True, cwd=d)
        assert (d / "baseline.json").is_file()
    # a finding gamma's baseline does not know (an RDP rule added after it was made): shown, while the
    # baselined ones are hidden
    with (out[2] / "main.tf").open("a") as fh:
        fh.write('\nresource "aws_security_group" "rdp" {\n  name        = "rdp"\n  description = "rdp"\n\n'
                 '  ingress {\n    description = "rdp"\n    from_port   = 3389\n    to_port     = 3389\n'
                 '    protocol    = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n')
    return out


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_each_folder_has_its_own_baseline_and_mode(client: LanguageClient, three_folders: list[Path]):
    alpha, beta, gamma = three_folders
    await _start(client, three_folders, {
        alpha: {"baseline": "baseline.json", "baselineMode": "hint"},
        gamma: {"baseline": "${workspaceFolder}/baseline.json", "baselineMode": "hide"},
    })
    ua, ub, ug = (open_document(client, d / "main.tf") for d in three_folders)
    a = await wait_for_diagnostics(client, ua, lambda d: "CKV_AWS_20" in codes(d))
    b = await wait_for_diagnostics(client, ub, lambda d: "CKV_AWS_20" in codes(d))
    hint = lsp.DiagnosticSeverity.Hint
    a20 = next(d for d in a if d.code == "CKV_AWS_20")
    b20 = next(d for d in b if d.code == "CKV_AWS_20")
    assert a20.severity == hint and "(in baseline)" in a20.message  # alpha: its baseline, as hints
    assert b20.severity != hint and "(in baseline)" not in b20.message  # beta: no baseline of its own
    assert not any("(in baseline)" in d.message for d in b)
    # gamma: its own baseline, hidden; the same file's findings shown in beta prove there are some to hide
    g = await wait_for_diagnostics(client, ug, lambda d: "CKV_AWS_25" in codes(d))
    assert "CKV_AWS_20" not in codes(g) and "CKV_AWS_24" not in codes(g), [(d.code, d.message) for d in g]
    assert not any("(in baseline)" in d.message for d in g)
