"""requirements/server.lock (what the VS Code extension installs next to its bundled wheel, with
``pip --require-hashes``): every pin has a sha256, every direct dependency is pinned, python-hcl2 never
is, and the extension and the Python package carry the same version (the client refuses another)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[2]
LOCK = (REPO / "requirements" / "server.lock").read_text(encoding="utf-8")


def _pins() -> dict[str, tuple[str, list[str]]]:
    out: dict[str, tuple[str, list[str]]] = {}
    for m in re.finditer(r"^([a-z0-9][a-z0-9.-]*)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}\n?)+)", LOCK, re.M):
        out[m.group(1)] = (m.group(2), re.findall(r"sha256:([0-9a-f]{64})", m.group(3)))
    return out


def test_every_pin_is_exact_and_hashed():
    requirement_lines = [ln for ln in LOCK.splitlines() if ln and not ln.startswith((" ", "#"))]
    pins = _pins()
    assert len(pins) == len(requirement_lines) > 20
    assert all(hashes for _, hashes in pins.values())


def test_direct_dependencies_are_pinned_and_python_hcl2_never():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].lower().replace("_", "-") for d in deps}
    pins = _pins()
    assert names <= set(pins), names - set(pins)
    assert "bc-python-hcl2" in pins
    assert "python-hcl2" not in pins


def test_the_lock_names_its_platform():
    assert re.search(r"^# Target: CPython 3\.11, Linux x86_64", LOCK, re.M)


def test_extension_and_package_versions_agree():
    pkg = json.loads((REPO / "package.json").read_text(encoding="utf-8"))
    py = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert pkg["version"] == py
