"""Fixtures shared by the CI integration tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def python_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``actions/setup-python`` leaves: a Python on PATH with pip, tfguard not installed. Its
    dependencies (Checkov ...) are visible from the test's environment, tfguard itself is not."""
    env = tmp_path_factory.mktemp("hostedtoolcache") / "python"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    purelib = subprocess.run([str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
    ours = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "zz-test-dependencies.pth").write_text(ours + "\n")
    probe = subprocess.run([str(env / "bin" / "python"), "-c", "import checkov, tfguard"], capture_output=True,
                           text=True, check=False)
    assert "No module named 'tfguard'" in probe.stderr, "tfguard must come from the action's install step"
    return env
