"""Garbage-collector policy: keep full collections off the keystroke path.

CPython's full collection walks every tracked object. With Checkov loaded (about a million
long-lived objects) and a big file analysed (hundreds of thousands more: blocks, confs,
findings), one lands on a keystroke every few dozen edits and takes 50–200 ms. Objects that are
going to live long are therefore moved out of the collector's generations (``gc.freeze``) right
after they are made; at idle times, the server unfreezes, collects (so cyclic garbage is never
kept for good) and freezes again.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """After a burst of long-lived allocations (Checkov's import, a file's first analysis): O(1)."""
    gc.freeze()


def maintain() -> None:
    """At idle: a full collection of everything, then freeze what survived."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
