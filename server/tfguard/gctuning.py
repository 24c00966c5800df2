"""Garbage-collector policy: keep full collections off the keystroke path.

CPython's full collection walks every tracked object. With Checkov loaded (about a million
long-lived objects) and a big file analysed (hundreds of thousands more: blocks, confs,
findings), one lands on a keystroke every few dozen edits and takes 50–200 ms. Objects that are
going to live long are therefore moved out of the collector's generations (``gc.freeze``) right
after they are made; at idle times, the server unfreezes, collects (so cyclic garbage is never
kept for good) and freezes again.

A Checkov run is the other case (:func:`batch`): building a module repository's graph allocates
millions of objects, most of which survive into the old generation while the build lasts, so the
collector's default thresholds start a full collection of them every few hundred thousand
allocations. On terraform-aws-s3-bucket's value re-run (measured in-process, quiet machine) that
was 1.0-1.4 s of an 8.4-9.1 s run with Checkov frozen, 2.2-3.2 s without; on terraform-aws-vpc's,
2.9-3.5 s of 13-15 s. During a run, young collections are rarer and full ones do not happen: the
cyclic garbage of the run is freed by the young collections that still run (each one cheap: it
walks only what was allocated since the last), and whatever reaches the old generation by the next
full collection after the run (or the idle maintenance, see :func:`maintain`).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# (young, middle, old): a young collection every 100,000 net allocations instead of 700, a middle one
# every 50 young, and an old (full) one practically never while a run lasts.
BATCH_THRESHOLDS = (100_000, 50, 1_000)

_batch_lock = threading.Lock()
_batches = 0
_saved_thresholds: tuple[int, int, int] = gc.get_threshold()


def settle() -> None:
    """After a burst of long-lived allocations (Checkov's import, a file's first analysis): O(1)."""
    gc.freeze()


def maintain() -> None:
    """At idle: a full collection of everything, then freeze what survived."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@contextmanager
def batch() -> Iterator[None]:
    """The collector's policy for the duration of a Checkov run (see the module's text).

    Process-wide and nestable: runs of several threads share one policy, and the thresholds in force
    before the first are restored when the last ends. Collection stays enabled (memory stays bounded:
    young cycles are freed as before), only less often.
    """
    global _batches, _saved_thresholds
    with _batch_lock:
        if _batches == 0:
            _saved_thresholds = gc.get_threshold()
            gc.set_threshold(*BATCH_THRESHOLDS)
        _batches += 1
    try:
        yield
    finally:
        with _batch_lock:
            _batches -= 1
            if _batches == 0:
                gc.set_threshold(*_saved_thresholds)
