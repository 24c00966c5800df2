"""Checkov's graph checks run one after another in the calling thread, not in a pool of six threads.

``BaseRegistry.run_checks`` (checkov/common/graph/checks_infra/registry.py) submits every graph check
(about 200 for Terraform) to a new ``ThreadPoolExecutor`` per run and waits. The checks are Python
code holding the interpreter lock, so the threads only take turns: on the generated tree of 30
examples calling one module (30 small units re-run after a save of the module), starting the threads,
submitting, switching and waiting was about two thirds of each unit's run (1.8 s of which 1.2 s in
``get_graph_checks_report``, cProfile; the lock waits alone 0.84 s).

Checkov's own ``run_checks`` is kept; what it sees as ``concurrent.futures`` runs each submitted call at
once and hands back a finished future (its exception kept in it, as a pool's future keeps it: Checkov
never reads them, tfguard's hook records them, see ``checkov_env.install_check_error_hook``). The
results are those of a pool whose threads happened to finish in submission order, which is one of the
orders a pool gives: the same records, in Checkov's check order.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any


class InlineExecutor:
    """``ThreadPoolExecutor``'s interface, each call run in ``submit`` itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            result = fn(*args, **kwargs)
        except BaseException as e:  # kept in the future, as a pool's worker keeps it
            future.set_exception(e)
        else:
            future.set_result(result)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass

    def __enter__(self) -> InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class _FuturesView:
    """``concurrent.futures`` with ``ThreadPoolExecutor`` replaced by :class:`InlineExecutor`."""

    ThreadPoolExecutor = InlineExecutor

    def __getattr__(self, name: str) -> Any:
        return getattr(concurrent.futures, name)


class ConcurrentView:
    """What Checkov's graph-check registry module sees as ``concurrent`` (installed by
    :func:`tfguard.checks.memo.install`, off with the memos)."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.futures = _FuturesView()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)
