"""A real ``tfguard serve`` over stdio for the hostile cases, with its peak memory.

Each LSP case of this suite starts its own server (:class:`HostileServer`), plants something hostile
beside a normal file, and asserts: the server answers a request within :data:`ANSWER_WITHIN`, the
normal file's findings are intact, the hostile file gets a located diagnostic, and the server's peak
RSS (``VmHWM`` of ``/proc/<pid>/status``: the real server process, not this one) stays under the bound
the case documents (see docs/reliability.md, "Peak memory").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.lsp.rawstdio import RawServer

ANSWER_WITHIN = 15.0  # seconds for a hover to be answered, on a loaded shared machine
# A server that opened one small file and ran both tiers (Checkov imported) peaks at 170-200 MB here.
BASELINE_RSS_MB = 260


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size of process ``pid`` in MB (``VmHWM``)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


class HostileServer(RawServer):
    """:class:`RawServer` with the waits the hostile cases need."""

    def __init__(self, ws: Path, options: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> None:
        super().__init__(ws, env=env, stderr_path=ws.parent / f"{ws.name}-server.err")
        self.ws = ws
        self.initialize(ws, options)

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.proc.pid)

    def diagnostics(self, uri: str, predicate: Any = lambda ds: True, timeout: float = 90.0,
                    version: int | None = None) -> list[dict[str, Any]]:
        """The diagnostics of the newest publish for ``uri`` (of ``version`` when given) satisfying ``predicate``."""
        def ok(n: dict[str, Any]) -> bool:
            p = n["params"]
            return (p["uri"] == uri and (version is None or p.get("version") == version)
                    and predicate(p["diagnostics"]))
        # the newest matching one: publishes replace each other
        self.wait_notification("textDocument/publishDiagnostics", ok, timeout)
        return [n for n in self.notifications if n["method"] == "textDocument/publishDiagnostics"
                and ok(n)][-1]["params"]["diagnostics"]

    def assert_hears(self) -> None:
        """A hover is answered within :data:`ANSWER_WITHIN` and nothing popped up at the user."""
        resp = self.alive_answer(ANSWER_WITHIN)
        assert "result" in resp, resp
        assert self.proc.poll() is None
        pops = [n for n in self.notifications if n["method"] == "window/showMessage"]
        assert not pops, pops

    def output_text(self) -> str:
        """Everything the server sent (notifications as JSON) and logged (stderr), for leak checks."""
        err = (self.ws.parent / f"{self.ws.name}-server.err").read_text(errors="replace")
        return json.dumps(self.notifications) + "\n" + err


def codes(diags: list[dict[str, Any]]) -> set[str]:
    return {str(d.get("code")) for d in diags}


_EOL = re.compile(r"\r\n|\r|\n")


def client_text(text: str, rng: dict[str, Any]) -> str:
    """The text a client holding ``text`` shows for the LSP range ``rng`` (UTF-16 columns, LSP line ends)."""
    lines = _EOL.split(text)
    (l1, c1), (l2, c2) = ((rng[k]["line"], rng[k]["character"]) for k in ("start", "end"))
    assert l1 == l2, f"a one-line range is expected: {rng}"
    assert l1 < len(lines), f"line {l1} is past the client's last line ({len(lines) - 1})"
    units = lines[l1].encode("utf-16-le")
    assert 2 * c2 <= len(units), f"column {c2} is past the end of client line {l1}: {lines[l1]!r}"
    return units[2 * c1:2 * c2].decode("utf-16-le")
