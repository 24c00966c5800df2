"""Texts of files: unsaved text (an *overlay*) wins over the disk; reads honour the size limit."""

from __future__ import annotations

import logging
import os
import threading

from tfguard.budget import module_over_budget, over_budget
from tfguard.files import is_terraform_file, normalize_newlines, read_disk, too_large
from tfguard.model import Problem

log = logging.getLogger(__name__)


class Texts:
    """The current text of every file: the editor's unsaved text where there is one, else the disk.

    Paths are made absolute. ``lock`` is the engine's lock (shared by every part of one engine).
    """

    def __init__(self, lock: threading.RLock, max_file_bytes: int) -> None:
        self._lock = lock
        self.max_file_bytes = max_file_bytes
        self._overlays: dict[str, str] = {}

    def set_overlay(self, path: str, text: str) -> None:
        """Unsaved text of an open document; wins over the disk."""
        with self._lock:
            self._overlays[os.path.abspath(path)] = normalize_newlines(text)

    def drop_overlay(self, path: str) -> None:
        """Forget the unsaved text of ``path`` (closed or saved): the disk counts again."""
        with self._lock:
            self._overlays.pop(os.path.abspath(path), None)

    def has_overlay(self, path: str) -> bool:
        """True while ``path`` has unsaved text."""
        with self._lock:
            return os.path.abspath(path) in self._overlays

    def overlay(self, path: str) -> str | None:
        """The unsaved text of ``path``, if any (over the size limit too)."""
        with self._lock:
            return self._overlays.get(os.path.abspath(path))

    def overlays(self) -> dict[str, str]:
        """A copy of every unsaved text, by absolute path."""
        with self._lock:
            return dict(self._overlays)

    def overlaid_in(self, directory: str) -> list[str]:
        """Terraform files directly in ``directory`` (absolute) that have unsaved text."""
        with self._lock:
            return [p for p in self._overlays if os.path.dirname(p) == directory and is_terraform_file(p)]

    def read(self, path: str) -> tuple[str | None, Problem | None]:
        """Current text of ``path``: the overlay, else the disk; or a problem saying why not."""
        path = os.path.abspath(path)
        with self._lock:
            text = self._overlays.get(path)
        if text is not None:
            if len(text) > self.max_file_bytes:
                return None, too_large(path, len(text), self.max_file_bytes)
        else:
            text, problem = read_disk(path, self.max_file_bytes)
            if text is None:
                return None, problem
        # counted before anything is split or parsed (tfguard.budget): the file, then its module
        over = over_budget(path, text)
        if over is None and is_terraform_file(path):
            with self._lock:
                unsaved = {p: t for p, t in self._overlays.items() if os.path.dirname(p) == os.path.dirname(path)}
            over = module_over_budget(path, unsaved)
        if over is not None:
            return None, over
        return text, None
