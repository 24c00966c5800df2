"""What code is running: tfguard's package folder and a fingerprint of its sources and data.

A cache entry or a warm daemon made by other code (an upgrade, an edit) is never reused.
"""

from __future__ import annotations

import hashlib
import os


def package_dir() -> str:
    """The folder of the ``tfguard`` package that is running."""
    return os.path.dirname(os.path.abspath(__file__))


def code_fingerprint() -> str:
    """Digest of every source and data file of the package (path, size, modification time)."""
    h = hashlib.blake2b(digest_size=16)
    for dirpath, dirnames, filenames in os.walk(package_dir()):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".py", ".json", ".yaml")):
                st = os.stat(os.path.join(dirpath, name))
                h.update(f"{dirpath}/{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()
