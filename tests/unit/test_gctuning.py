"""The collector's policy for Checkov runs (gctuning.batch) and its hand-back (collect_at_idle, maintain)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfguard import gctuning


def _fresh_policy() -> None:
    """The module's state in a process that has run nothing; a policy left in force gives its thresholds back."""
    if gctuning._saved is not None:
        gc.set_threshold(*gctuning._saved)
    gctuning._idle_collects, gctuning._saved, gctuning._batches = False, None, 0


@pytest.fixture(autouse=True)
def _policy() -> Iterator[None]:
    """Each test starts from a fresh policy: an earlier test of the same process (an in-process language
    server collects at idle, so its last run's policy stays in force until maintenance) may have left one."""
    _fresh_policy()
    before = gc.get_threshold()
    yield
    _fresh_policy()
    gc.set_threshold(*before)
    gc.unfreeze()


def test_a_run_collects_rarely_and_gives_the_thresholds_back() -> None:
    gc.set_threshold(700, 10, 10)
    with gctuning.batch():
        assert gc.get_threshold() == gctuning.BATCH_THRESHOLDS
        assert gc.isenabled()
    assert gc.get_threshold() == (700, 10, 10)


def test_nested_and_concurrent_runs_share_one_policy() -> None:
    gc.set_threshold(700, 10, 10)
    inside = threading.Event()
    release = threading.Event()

    def other_run() -> None:
        with gctuning.batch():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=other_run)
    with gctuning.batch():
        t.start()
        assert inside.wait(10)
        with gctuning.batch():
            pass
        assert gc.get_threshold() == gctuning.BATCH_THRESHOLDS
    assert gc.get_threshold() == gctuning.BATCH_THRESHOLDS, "another thread's run is still going"
    release.set()
    t.join(10)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_process_collecting_at_idle_keeps_the_policy_until_its_maintenance() -> None:
    gc.set_threshold(700, 10, 10)
    gctuning.collect_at_idle()
    with gctuning.batch():
        pass
    assert gc.get_threshold() == gctuning.BATCH_THRESHOLDS, "the put-off full collection would start at once"
    with gctuning.batch():  # a second run before the pause: the usual thresholds are still remembered
        pass
    gctuning.maintain()
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() > 0


def test_maintenance_during_a_run_keeps_the_policy() -> None:
    gc.set_threshold(700, 10, 10)
    gctuning.collect_at_idle()
    with gctuning.batch():
        gctuning.maintain()
        assert gc.get_threshold() == gctuning.BATCH_THRESHOLDS
    gctuning.maintain()
    assert gc.get_threshold() == (700, 10, 10)


def test_checkovs_own_unmemoized_functions_run_with_checkovs_collector() -> None:
    """``memo.disabled()`` (Checkov's own functions, the tests' reference) leaves the thresholds as Checkov
    has them: the batch policy made such runs ~1.7x slower (fresh asteval interpreters piling up)."""
    from tfguard.checks import memo
    from tfguard.checks.checkov_env import checkov_modules
    from tfguard.checks.graph import run_checkov

    checkov_modules()
    gc.set_threshold(700, 10, 10)
    seen: list[tuple[int, int, int]] = []

    import checkov.terraform.runner as tr

    real = tr.Runner.run

    def run(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.get_threshold())  # what the run collects under
        return real(self, *args, **kwargs)

    tr.Runner.run = run  # type: ignore[method-assign]
    try:
        example = Path(__file__).resolve().parents[2] / "examples" / "dev"
        run_checkov(str(example), recursive=False)
        with memo.disabled():
            run_checkov(str(example), recursive=False)
        run_checkov(str(example), recursive=False)
    finally:
        tr.Runner.run = real  # type: ignore[method-assign]
    assert seen == [gctuning.BATCH_THRESHOLDS, (700, 10, 10), gctuning.BATCH_THRESHOLDS]
    assert gc.get_threshold() == (700, 10, 10)
