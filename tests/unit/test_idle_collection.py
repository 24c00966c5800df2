"""The server's idle collection (Scheduler.schedule_gc) waits for a running full check.

A full collection holds the interpreter while it walks every object; during a full check that walk
includes the graph Checkov is building, and the check waits for it (seen with py-spy on the language
server during terraform-aws-s3-bucket's saves: gctuning.maintain on the event loop while the tier-2
thread was building the graph).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tfguard import gctuning
from tfguard.lsp.scheduler import Scheduler


def _collections(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    calls: list[float] = []
    monkeypatch.setattr(gctuning, "_idle_collects", gctuning._idle_collects)  # a Scheduler sets it process-wide
    monkeypatch.setattr(gctuning, "maintain", lambda: calls.append(asyncio.get_running_loop().time()))
    return calls


async def _idle_collection_while(busy: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    calls = _collections(monkeypatch)
    scheduler = Scheduler(ls=None, publisher=None)  # type: ignore[arg-type]  (neither is used by schedule_gc)
    try:
        for name, value in busy.items():
            state = getattr(scheduler, name)
            if isinstance(state, dict):
                state.update(value)
            else:
                state.add(value)
        scheduler.schedule_gc(delay=0.02)
        await asyncio.sleep(0.15)
        during = len(calls)
        scheduler._graph_running.clear()
        scheduler._running.clear()
        scheduler._dirty.clear()
        await asyncio.sleep(0.15)
        return during, len(calls)
    finally:
        scheduler.shutdown()


def test_idle_collection_waits_for_a_running_full_check(monkeypatch: pytest.MonkeyPatch) -> None:
    during, after = asyncio.run(_idle_collection_while({"_graph_running": "/work/repo"}, monkeypatch))
    assert during == 0, "collected while the full check ran"
    assert after == 1, "never collected once the full check had ended"


def test_idle_collection_waits_for_typing(monkeypatch: pytest.MonkeyPatch) -> None:
    during, after = asyncio.run(_idle_collection_while({"_dirty": {"file:///a.tf": True}}, monkeypatch))
    assert (during, after) == (0, 1)


def test_idle_collection_runs_when_nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    during, after = asyncio.run(_idle_collection_while({}, monkeypatch))
    assert (during, after) == (1, 1)
