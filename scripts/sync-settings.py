#!/usr/bin/env python3
"""Write package.json's settings (contributes.configuration.properties) and Restricted Mode list
from the one description in server/tfguard/lsp/settings.py (MANIFEST, RESTRICTED).

    .venv/bin/python scripts/sync-settings.py          # rewrite package.json
    .venv/bin/python scripts/sync-settings.py --check  # exit 1 when package.json differs

tests/unit/test_settings_manifest.py runs the check.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "server"))

from tfguard.lsp.settings import MANIFEST, RESTRICTED  # noqa: E402


def synced(pkg: dict) -> dict:
    out = json.loads(json.dumps(pkg))
    out["contributes"]["configuration"]["properties"] = MANIFEST
    caps = out.setdefault("capabilities", {})
    caps["untrustedWorkspaces"] = {
        "supported": "limited",
        "description": "In Restricted Mode tfguard still checks the Terraform files (it never runs code from "
                       "the workspace), but ignores the workspace's values of settings that point at programs "
                       "or files: " + ", ".join(RESTRICTED) + ".",
        "restrictedConfigurations": list(RESTRICTED),
    }
    return out


def main() -> int:
    path = REPO / "package.json"
    pkg = json.loads(path.read_text(encoding="utf-8"))
    text = json.dumps(synced(pkg), indent=2, ensure_ascii=False) + "\n"
    if "--check" in sys.argv[1:]:
        if path.read_text(encoding="utf-8") != text:
            print("package.json settings differ from server/tfguard/lsp/settings.py MANIFEST: "
                  "run .venv/bin/python scripts/sync-settings.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print("package.json settings written from server/tfguard/lsp/settings.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
