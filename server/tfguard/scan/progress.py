"""A progress bar for ``tfguard scan`` on a terminal's stderr: units done / total, the unit running, elapsed.

The scan reports progress through a callable (:data:`Progress`): ``progress(done, total, running)``,
called by :func:`tfguard.scan.pool.run_units` when work starts and as each unit finishes. The bar is
drawn only once the scan has run for ``delay`` seconds (a cached or small scan draws nothing), then
redrawn every ``tick`` seconds by a thread started at the first call (after the worker processes are
forked: a thread never exists across a fork), and erased when the scan ends, so stdout stays clean and
the report on it parseable. It writes to the invocation's stderr: in the daemon, a stream forwarded to
the client as it is written.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TextIO

# progress(done, total, running): units finished, units in all, the unit running now (a directory) or None
Progress = Callable[[int, int, "str | None"], None]

CLEAR = "\r\033[K"


class ProgressBar:
    """Draws ``[#####-----] 3/12 units  2.4 s  modules/vpc`` on ``stream`` (a terminal)."""

    def __init__(self, stream: TextIO, cwd: str, delay: float = 0.5, tick: float = 0.2, width: int = 24,
                 columns: int = 100) -> None:
        self.stream = stream
        self.cwd = cwd
        self.delay = delay
        self.tick = tick
        self.width = width
        self.columns = columns
        self.started = time.monotonic()
        self.state: tuple[int, int, str | None] | None = None
        self.drawn = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, done: int, total: int, running: str | None) -> None:
        with self._lock:
            self.state = (done, total, running)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tfguard-progress", daemon=True)
            self._thread.start()
        self._draw()

    def line(self) -> str | None:
        """The bar as it stands, or None before anything is known."""
        if self.state is None:
            return None
        done, total, running = self.state
        filled = self.width * done // total if total else 0
        bar = "#" * filled + "-" * (self.width - filled)
        where = ""
        if running:
            rel = os.path.relpath(running, self.cwd) if os.path.isabs(running) else running
            where = "  " + (running if rel.startswith("..") else rel)
        text = f"[{bar}] {done}/{total} units  {time.monotonic() - self.started:.1f} s{where}"
        return text[: self.columns - 1]

    def _draw(self) -> None:
        if time.monotonic() - self.started < self.delay:
            return
        with self._lock:
            text = self.line()
            if text is None or self._stop.is_set():
                return
            self.stream.write(CLEAR + text)
            self.stream.flush()
            self.drawn = True

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            self._draw()

    def close(self) -> None:
        """Stop redrawing and erase the bar (the terminal line is left empty)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with self._lock:
            if self.drawn:
                self.stream.write(CLEAR)
                self.stream.flush()
