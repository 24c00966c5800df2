"""Checkov's graph checks run in the calling thread (checks/serial_checks.py) give the records a pool gives."""

from __future__ import annotations

import concurrent.futures
import shutil
import threading
from pathlib import Path

import pytest

from tfguard.checks import memo, serial_checks
from tfguard.checks.checkov_env import checkov_modules
from tfguard.checks.graph import GraphRun, run_checkov


def test_each_call_runs_at_once_in_the_calling_thread() -> None:
    threads: list[threading.Thread] = []
    with serial_checks.InlineExecutor() as executor:
        done = executor.submit(lambda x: threads.append(threading.current_thread()) or x * 2, 21)
        failed = executor.submit(lambda: 1 / 0)
        assert threads == [threading.current_thread()]
    waited = concurrent.futures.wait([done, failed])
    assert waited.not_done == set()
    assert done.result() == 42
    assert isinstance(failed.exception(), ZeroDivisionError), "kept in the future, as a pool's worker keeps it"


def test_installed_with_the_memos_and_off_with_them() -> None:
    import checkov.common.graph.checks_infra.registry as registry

    checkov_modules()
    assert registry.concurrent.futures.ThreadPoolExecutor is serial_checks.InlineExecutor
    assert registry.concurrent.futures.wait is concurrent.futures.wait
    with memo.disabled():
        assert registry.concurrent.futures.ThreadPoolExecutor is concurrent.futures.ThreadPoolExecutor


def _summary(run: GraphRun) -> tuple[list[str], list[str], list[str]]:
    return (sorted(map(repr, run.records)), sorted(run.parsing_errors), sorted(map(repr, run.check_errors)))


@pytest.mark.parametrize("tree", ["terragoat/terraform"])
def test_the_same_records_as_checkov_with_its_thread_pool(tree: str, corpora: Path, tmp_path: Path) -> None:
    """Every record of a real tree (terragoat: graph checks of three clouds; s3-bucket and vpc are compared
    with a fresh process, every memo off, in test_graph_memo.py)."""
    root = tmp_path / "tree"
    shutil.copytree(corpora / tree, root)
    checkov_modules()
    serial = run_checkov(str(root))
    with memo.disabled():
        pooled = run_checkov(str(root))
    assert sum(r.is_graph_check for r in serial.records) > 50
    assert _summary(serial) == _summary(pooled)
