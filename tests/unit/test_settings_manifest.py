"""Settings drift: one description (server/tfguard/lsp/settings.py MANIFEST) of every tfguard.* setting.

package.json is written from it (scripts/sync-settings.py); client/src/test/manifest.test.ts checks
client/src/settings.ts against package.json. Here: package.json == MANIFEST, MANIFEST's server keys ==
what parse_settings reads, MANIFEST's defaults == the Settings dataclass defaults, and every setting a
diagnostic or a document names exists.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from tfguard.lsp import settings as S

REPO = Path(__file__).resolve().parents[2]


def _package() -> dict:
    return json.loads((REPO / "package.json").read_text(encoding="utf-8"))


def test_package_json_settings_are_written_from_the_manifest():
    pkg = _package()
    assert pkg["contributes"]["configuration"]["properties"] == S.MANIFEST
    caps = pkg["capabilities"]["untrustedWorkspaces"]
    assert caps["supported"] == "limited"
    assert caps["restrictedConfigurations"] == list(S.RESTRICTED)
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "sync-settings.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_server_keys_of_the_manifest_are_exactly_what_the_server_reads():
    keys = {k.removeprefix("tfguard.") for k in S.MANIFEST}
    server_keys = keys - set(S.CLIENT_ONLY)
    assert server_keys == set(S._ALIASES), (server_keys ^ set(S._ALIASES))
    assert set(S._ALIASES.values()) == {f.name for f in fields(S.Settings)}
    # client-only settings are accepted silently (a client may send the whole section)
    _, errors = S.parse_settings({k: S.MANIFEST[f"tfguard.{k}"]["default"] for k in S.CLIENT_ONLY
                                  if "." not in k})
    assert errors == []


def test_manifest_defaults_are_the_dataclass_defaults():
    raw = {k: S.MANIFEST[f"tfguard.{k}"]["default"] for k in S._ALIASES}
    parsed, errors = S.parse_settings(raw)
    assert errors == []
    assert parsed == S.Settings()


def test_manifest_enums_are_what_the_server_accepts():
    from tfguard.model import Severity

    assert S.MANIFEST["tfguard.minimumSeverity"]["enum"] == [s.value for s in sorted(Severity, key=lambda s: s.rank)]
    for value in S.MANIFEST["tfguard.baselineMode"]["enum"]:
        assert S.parse_settings({"baselineMode": value})[1] == []
    _, errors = S.parse_settings({"baselineMode": "nope"})
    assert errors


# Dotted names that are not settings: diagnostic codes, logger names, server commands.
NOT_SETTINGS = {"budget", "checkov", "too-large", "loading",  # diagnostic codes
                "chooseFix"}  # the client command a fix that needs a choice runs (a code action's target)


def _server_commands() -> set[str]:
    """The LSP commands the server really registers (``tfguard.server.*``), named without ``tfguard.``."""
    from tfguard.lsp.app import create_server

    server = create_server()
    try:
        return {c.removeprefix("tfguard.") for c in server.protocol.fm.commands}
    finally:
        server.scheduler.shutdown()


def _is_module(name: str) -> bool:
    first = name.split(".")[0]
    pkg = REPO / "server" / "tfguard"
    return (pkg / f"{first}.py").exists() or (pkg / first).is_dir()


def test_every_setting_named_by_a_diagnostic_or_a_document_exists():
    keys = {k.removeprefix("tfguard.") for k in S.MANIFEST}
    commands = {c["command"].removeprefix("tfguard.") for c in _package()["contributes"]["commands"]}
    commands |= _server_commands()
    texts = {p: p.read_text(encoding="utf-8") for p in
             [*REPO.glob("docs/*.md"), REPO / "client" / "README.md", REPO / "README.md",
              *REPO.glob("server/tfguard/**/*.py")]}
    missing = []
    for path, text in texts.items():
        for m in re.finditer(r"`tfguard\.([a-zA-Z][a-zA-Z.]*[a-zA-Z])`|\btfguard\.([a-z][a-zA-Z]*)\b setting"
                             r"|setting ([a-z][a-zA-Z]+)\)", text):
            name = next(g for g in m.groups() if g)
            if name in keys or name in NOT_SETTINGS or name in commands or _is_module(name):
                continue
            missing.append(f"{path.relative_to(REPO)}: {m.group(0)}")
    assert missing == []
