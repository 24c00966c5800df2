"""One root for configuration and environment patterns, whichever path or folder a scan starts from."""

from __future__ import annotations

from pathlib import Path

from tfguard.files import repository_root


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "infra" / "prod").mkdir(parents=True)
    (repo / "infra" / "prod" / "main.tf").write_text("")
    return repo


def test_every_path_inside_a_git_work_tree_resolves_to_its_top(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    for p in (repo, repo / "infra", repo / "infra" / "prod", repo / "infra" / "prod" / "main.tf"):
        assert repository_root(str(p), fallback=str(tmp_path)) == str(repo)


def test_a_worktree_or_submodule_has_a_git_file(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    sub = repo / "modules" / "net"
    sub.mkdir(parents=True)
    (sub / ".git").write_text("gitdir: ../../.git/modules/net\n")
    assert repository_root(str(sub / "main.tf")) == str(sub)


def test_outside_git_the_fallback_folder_when_the_path_is_inside_it(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "a" / "b").mkdir(parents=True)
    assert repository_root(str(work / "a" / "b" / "x.tf"), fallback=str(work)) == str(work)
    assert repository_root(str(work), fallback=str(work)) == str(work)


def test_outside_git_and_outside_the_fallback_the_paths_own_folder(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "elsewhere").mkdir()
    assert repository_root(str(tmp_path / "a" / "x.tf"), fallback=str(tmp_path / "elsewhere")) == str(tmp_path / "a")
    assert repository_root(str(tmp_path / "a")) == str(tmp_path / "a")
