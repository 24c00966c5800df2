"""One run of the command line, as a value: working directory, environment, output streams, terminal.

``tfguard scan`` runs either in its own process or in the warm daemon (``tfguard.scan.daemon``) on
behalf of a client process. Everything that differs between the two is in an :class:`Invocation`,
handed explicitly to :func:`tfguard.cli.main`, so the daemon never swaps process-wide state (no
``os.chdir``, no writes to ``os.environ``, no reassigned ``sys.stdout``) to run a client's scan.

This module imports nothing of tfguard: both the CLI and the daemon import it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TextIO

# The environment a scan reads, the only variables an Invocation carries (and the daemon is sent):
# - TFGUARD_*: TFGUARD_NO_DAEMON (scan here), TFGUARD_CACHE_DIR (result cache, "off" disables it),
#   TFGUARD_DAEMON_SOCKET (which daemon). TFGUARD_PARSE_CACHE_SIZE / TFGUARD_CHECK_CACHE_SIZE are read
#   once at import: in the daemon its own values apply (they size memos, never change results).
# - XDG_CACHE_HOME: the default result cache directory ($XDG_CACHE_HOME/tfguard).
# - XDG_RUNTIME_DIR: the default socket directory (read on the client side only).
# - NO_COLOR, FORCE_COLOR: colour of the report on stdout (https://no-color.org; FORCE_COLOR as Node
#   and many CLIs read it), with ``--no-color`` and ``stdout_isatty`` (see tfguard.cli.use_color).
# HOME is not carried: ``~`` (the cache fallback ~/.cache/tfguard, ``~`` in .tfguard.yaml paths) is the
# daemon's, which is the same user's home. Checkov's import-time variables (CHECKOV_*, BC_*, LOG_LEVEL)
# are not carried either: a client whose values differ from the daemon's is refused (see the daemon).
CLIENT_ENV_PREFIXES: tuple[str, ...] = ("TFGUARD_",)
CLIENT_ENV_NAMES: tuple[str, ...] = ("XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "NO_COLOR", "FORCE_COLOR")


def client_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environ`` a scan reads (see ``CLIENT_ENV_PREFIXES`` / ``CLIENT_ENV_NAMES``)."""
    return {str(k): str(v) for k, v in environ.items()
            if str(k).startswith(CLIENT_ENV_PREFIXES) or k in CLIENT_ENV_NAMES}


@dataclass(frozen=True)
class Invocation:
    """Where and for whom one ``tfguard`` command runs.

    ``cwd`` is absolute; every relative path of the command line is resolved against it (never against
    the process's working directory). ``environ`` holds only the variables of :func:`client_environ`.
    ``stdout_isatty`` / ``stderr_isatty`` are the client's terminal (the daemon writes into a buffer, not
    a terminal): colour follows the first, the progress bar is drawn only on the second.
    """

    cwd: str
    environ: Mapping[str, str]
    stdout: TextIO
    stderr: TextIO
    stdout_isatty: bool
    stderr_isatty: bool = False

    def __post_init__(self) -> None:
        if not os.path.isabs(self.cwd):
            raise ValueError(f"an invocation's working directory must be absolute, not {self.cwd!r}")
        object.__setattr__(self, "environ", MappingProxyType(client_environ(self.environ)))

    @classmethod
    def from_process(cls) -> Invocation:
        """This process's invocation: its working directory, environment and ``sys`` streams (read now)."""
        return cls(cwd=os.getcwd(), environ=os.environ, stdout=sys.stdout, stderr=sys.stderr,
                   stdout_isatty=_isatty(sys.stdout), stderr_isatty=_isatty(sys.stderr))

    def resolve(self, path: str) -> str:
        """``path`` as an absolute, normalised path, a relative one taken from ``cwd`` (as ``os.path.abspath``
        does from the process's)."""
        return os.path.normpath(os.path.join(self.cwd, os.fspath(path)))


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or stand-in stream
        return False
