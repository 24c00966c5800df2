"""Garbage-collector policy: keep full collections off the keystroke path and out of Checkov's runs.

CPython's full collection walks every tracked object. With Checkov loaded (about a million
long-lived objects) and a big file analysed (hundreds of thousands more: blocks, confs,
findings), one lands on a keystroke every few dozen edits and takes 50–200 ms. Objects that are
going to live long are therefore moved out of the collector's generations (``gc.freeze``) right
after they are made; at idle times, the server unfreezes, collects (so cyclic garbage is never
kept for good) and freezes again (:func:`maintain`).

A Checkov run is the other case (:func:`batch`): building a module repository's graph allocates
millions of objects, many of which live as long as the build, so the collector's default thresholds
start full collections of them again and again. On terraform-aws-s3-bucket's value re-run (in-process,
quiet machine) the collector took 1.0-1.4 s of an 8.4-9.1 s run with Checkov frozen (2.2-3.2 s
without), on terraform-aws-vpc's 2.9-3.5 s of 13-15 s; with no collection at all the s3-bucket run
took 6.2-6.9 s. During a run, a young collection runs every 100,000 allocations (instead of 700:
each walks only what was allocated since the last, and frees the run's short cycles) and no full one.

After the run, a process that collects at idle (the language server, :func:`collect_at_idle`) keeps
that policy until its idle maintenance has collected everything once: otherwise the first allocation
after the run starts the full collection the run put off (0.4-0.5 s on s3-bucket, in the tier-2 thread
before the result is published: seen in-process and with py-spy in the server). Any other process
(``tfguard scan``, the daemon) gets the thresholds back as they were when the run ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# (young, middle, old): a young collection every 100,000 net allocations instead of 700, a middle one
# every 50 young, and an old (full) one practically never while the policy lasts.
BATCH_THRESHOLDS = (100_000, 50, 1_000)

_lock = threading.Lock()
_batches = 0  # Checkov runs going
_saved: tuple[int, int, int] | None = None  # the thresholds to give back; None: they are in force
_idle_collects = False
_as_checkov = 0  # as_checkov() blocks going


def settle() -> None:
    """After a burst of long-lived allocations (Checkov's import, a file's first analysis): O(1)."""
    gc.freeze()


def collect_at_idle() -> None:
    """This process calls :func:`maintain` when its user pauses: what a run puts off is collected then."""
    global _idle_collects
    _idle_collects = True


def maintain() -> None:
    """At idle: a full collection of everything, then freeze what survived; the usual thresholds again
    unless a run is going."""
    global _saved
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    with _lock:
        if _batches == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            _saved = None


@contextmanager
def as_checkov() -> Iterator[None]:
    """For the duration, :func:`batch` leaves the thresholds as they are: a run collects as Checkov's own
    command line does.

    For Checkov's own functions run unmemoized (``memo.disabled()``, the tests' reference runs). Each
    expression evaluation then builds a new asteval interpreter, cyclic garbage that the default young
    collections free while it is fresh; the batch policy lets it pile up: an unmemoized run of
    terraform-aws-s3-bucket took 48-52 s of CPU under it, 28-30 s with the default thresholds (2.3 GB
    and 35 s with no collection at all). Memoized runs evaluate each expression once and are the case
    :func:`batch` was measured on.
    """
    global _as_checkov
    with _lock:
        _as_checkov += 1
    try:
        yield
    finally:
        with _lock:
            _as_checkov -= 1


@contextmanager
def batch() -> Iterator[None]:
    """The collector's policy for the duration of a Checkov run (see the module's text).

    Process-wide and nestable: runs of several threads share one policy. Collection stays enabled
    (young cycles are freed as before), only less often. Within :func:`as_checkov`, nothing changes.
    """
    global _batches, _saved
    if _as_checkov:
        yield
        return
    with _lock:
        if _batches == 0 and _saved is None:
            _saved = gc.get_threshold()
            gc.set_threshold(*BATCH_THRESHOLDS)
        _batches += 1
    try:
        yield
    finally:
        with _lock:
            _batches -= 1
            if _batches == 0 and _saved is not None and not _idle_collects:
                gc.set_threshold(*_saved)
                _saved = None
