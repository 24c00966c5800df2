"""Real Emacs (eglot + Flymake, --batch) against tfguard serve."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clients.common import EDITORS, check_diagnostics, editor_env, make_workspace, run_editor

# Flymake's types for LSP severities 1..4, as eglot maps them
FLYMAKE_TYPE = {1: "eglot-error", 2: "eglot-warning", 3: "eglot-note", 4: "eglot-note"}


def _eglot_missing() -> str | None:
    if shutil.which("emacs") is None:
        return "emacs not on PATH (install with scripts/install-editors.sh)"
    try:
        proc = subprocess.run(["emacs", "--batch", "--eval", "(require 'eglot)"],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "emacs --batch did not start within 60 s"
    if proc.returncode != 0:
        return ("eglot is not available to emacs (Emacs 29+ has it built in; on Emacs 28 install "
                "elpa-eglot with scripts/install-editors.sh): " + proc.stderr.strip()[-300:])
    return None


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emacs_with_eglot() -> None:
    reason = _eglot_missing()
    if reason:
        pytest.skip(reason)


@pytest.mark.usefixtures("emacs_with_eglot")
def test_emacs_eglot_shows_tfguard_diagnostics(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    out = tmp_path / "emacs-diagnostics.json"
    env = editor_env(tmp_path, root, out, EDITORS / "tfguard-eglot.el")
    # --batch (not -Q): site-start activates Debian's elpa-eglot; HOME is private, so no user init
    result = run_editor(["emacs", "--batch", "-l", str(EDITORS / "eglot_harness.el")],
                        cwd=root / "module", env=env, out=out)
    check_diagnostics(result, root)

    assert result["major_mode"] == "terraform-mode", result["major_mode"]
    assert Path(result["project_root"]).resolve() == root.resolve(), result["project_root"]
    for d in result["diagnostics"]:
        # what the user sees in Flymake
        assert d["flymake_type"] == FLYMAKE_TYPE[d["severity"]], d
        assert d["flymake_text"] == f"tfguard [{d['code']}]: {d['message']}", d
    assert result["stopped"] is True, "server still running after eglot-shutdown"
