"""Real Neovim (built-in LSP client, 0.7-style start_client) against tfguard serve."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.clients.common import EDITORS, check_diagnostics, editor_env, make_workspace, run_editor

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("nvim") is None,
                       reason="nvim not on PATH (install with scripts/install-editors.sh)"),
]


def test_neovim_shows_tfguard_diagnostics(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    out = tmp_path / "nvim-diagnostics.json"
    env = editor_env(tmp_path, root, out, EDITORS / "tfguard.lua")
    harness = EDITORS / "nvim_harness.lua"
    result = run_editor(["nvim", "--headless", "-u", "NONE", "-c", f"luafile {harness}"],
                        cwd=root, env=env, out=out)
    by_code = check_diagnostics(result, root)

    # the config's FileType autocmd attached exactly one tfguard client, rooted at the git repo
    assert [c["name"] for c in result["clients"]] == ["tfguard"], result["clients"]
    # root_dir: the enclosing git repository, or (without git) the cwd -- the workspace copy either way
    assert Path(result["clients"][0]["root_dir"]).resolve() == root.resolve(), result["clients"]
    assert result["clients"][0]["stopped"] is True, "server did not exit after shutdown/exit"
    assert by_code["CKV_AWS_20"]["severity"] == 1
