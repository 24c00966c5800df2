"""docs/editors.md shows exactly the editor configurations the real-editor tests run."""

from __future__ import annotations

import pytest

from tests.clients.common import EDITORS, REPO


@pytest.mark.parametrize(("name", "lang"), [("tfguard.lua", "lua"), ("tfguard-eglot.el", "elisp")])
def test_docs_show_the_tested_editor_config(name: str, lang: str) -> None:
    doc = (REPO / "docs" / "editors.md").read_text()
    config = (EDITORS / name).read_text()
    assert f"```{lang}\n{config}```\n" in doc, (
        f"docs/editors.md must contain tests/clients/editors/{name} verbatim in a ```{lang} block")
