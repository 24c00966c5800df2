"""CODEOWNERS (issue #18): GitHub and GitLab syntax, last match wins, where the file is looked up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfguard.owners import Owners, matches, owners_of, parse

GITHUB = """\
# default owners
*                 @acme/platform
/envs/prod/       @acme/secops @alice
*.tfvars          ops@example.com
modules/**/iam.tf @acme/iam
envs/prod/legacy/
"""


@pytest.mark.parametrize(("path", "owners"), [
    ("main.tf", ("@acme/platform",)),
    ("envs/prod/net/main.tf", ("@acme/secops", "@alice")),
    ("envs/prod/prod.tfvars", ("ops@example.com",)),  # a later line wins over /envs/prod/
    ("modules/a/b/iam.tf", ("@acme/iam",)),
    ("envs/prod/legacy/main.tf", ()),  # a pattern without owners: unowned
    ("envs/dev/net/main.tf", ("@acme/platform",)),
])
def test_github_last_match_wins(path: str, owners: tuple[str, ...]) -> None:
    assert owners_of(parse(GITHUB), path) == owners


def test_precedence_is_the_file_order_not_specificity() -> None:
    rules = parse("/envs/prod/net/main.tf @specific\n/envs/ @broad\n")
    assert owners_of(rules, "envs/prod/net/main.tf") == ("@broad",)


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("docs/*", "docs/a.md", True),
    ("docs/*", "docs/sub/a.md", False),
    ("apps/", "x/apps/main.tf", True),
    ("/apps/", "x/apps/main.tf", False),
    ("**/logs", "a/b/logs/x.tf", True),
    ("main.tf", "deep/er/main.tf", True),
    ("/main.tf", "deep/main.tf", False),
])
def test_gitignore_style_patterns(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected


def test_gitlab_sections_combine_and_default_owners() -> None:
    text = """\
[Security] @sec-team
envs/prod/
[Platform][2] @platform
*.tf
^[Optional]
docs/ @writers
envs/ @env-owners
"""
    rules = parse(text)
    assert owners_of(rules, "envs/prod/main.tf") == ("@sec-team", "@platform", "@env-owners")
    assert owners_of(rules, "modules/x.tf") == ("@platform",)


def test_lookup_order_and_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tfguard.owners.RECHECK_SECONDS", 0.0)  # look at the disk on every call
    owners = Owners(str(tmp_path))
    assert owners.for_file(str(tmp_path / "main.tf")) == ()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "CODEOWNERS").write_text("* @docs\n")
    assert owners.for_file(str(tmp_path / "main.tf")) == ("@docs",)
    (tmp_path / "CODEOWNERS").write_text("* @root\n")
    assert owners.for_file(str(tmp_path / "main.tf")) == ("@root",)
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("* @github  # comment\n")
    assert owners.for_file(str(tmp_path / "main.tf")) == ("@github",)
    assert owners.for_file(str(tmp_path.parent / "elsewhere.tf")) == ()
