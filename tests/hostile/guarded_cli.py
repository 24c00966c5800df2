"""Run tfguard's CLI under an audit hook that kills the process if it opens a forbidden path.

``python guarded_cli.py FORBIDDEN [FORBIDDEN ...] -- tfguard arguments``. Every ``open`` event (``open()``,
``os.open``, in this process and in the scan's forked workers) whose path resolves under a forbidden
path exits with status 99 and prints ``OPENED <path>`` on stderr: "never opened" is then an exit status.
"""

from __future__ import annotations

import os
import sys


def _main() -> int:
    split = sys.argv.index("--")
    forbidden = tuple(os.path.realpath(p) for p in sys.argv[1:split])
    argv = sys.argv[split + 1:]

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event != "open" or not args or not isinstance(args[0], (str, bytes)):
            return
        path = os.path.realpath(os.fsdecode(args[0]))
        if any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in forbidden):
            os.write(2, b"OPENED " + os.fsencode(path) + b"\n")
            os._exit(99)

    sys.addaudithook(hook)
    from tfguard.cli import main

    return main(argv)


if __name__ == "__main__":
    sys.exit(_main())
