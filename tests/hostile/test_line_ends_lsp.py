"""Old-Mac line ends (a lone ``\\r``): every published range is exact in the client's own view of the text.

The LSP counts ``\\n``, ``\\r\\n`` and a lone ``\\r`` as line ends; Checkov reads files with universal
newlines (a lone ``\\r`` ends a line too: ``checkov -d`` reports such a file's resources at those lines),
and so does tfguard's engine. The same file with each kind of line end must get the same diagnostics
(code and range), tier 1 and tier 2 (a graph check), and each range must cover, in the client's text
with UTF-16 columns, what it names: the syntax error's ``]`` after two astral characters, the
finding's ``acl`` attribute.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.server import BASELINE_RSS_MB, HostileServer, client_text, codes

GOOD = ['resource "aws_s3_bucket" "good" {', '  bucket = "my-bucket"', '  acl    = "public-read"', "}", ""]
BROKEN = ['resource "aws_sqs_queue" "q" {', '  name = "\U0001F600\U0001F600" ]', "}", ""]
ENDS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}


def _ranges(diags: list[dict]) -> set[tuple[str, int, int, int, int]]:
    return {(str(d["code"]), d["range"]["start"]["line"], d["range"]["start"]["character"],
             d["range"]["end"]["line"], d["range"]["end"]["character"]) for d in diags}


@pytest.mark.timeout(240)
def test_each_kind_of_line_end_gets_the_same_exact_ranges(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    texts = {}
    for name, eol in ENDS.items():
        (ws / name).mkdir(parents=True)
        texts[name] = eol.join(GOOD + BROKEN)
        (ws / name / "main.tf").write_bytes(texts[name].encode())
    server = HostileServer(ws, {"idleDelayMs": 100})
    try:
        uris = {name: server.open(ws / name / "main.tf", texts[name]) for name in ENDS}
        published = {}
        for name, uri in uris.items():
            # tier 2 has run (CKV2_AWS_6 is a graph check) beside the syntax error
            published[name] = server.diagnostics(uri, lambda ds: {"CKV2_AWS_6", "tfguard.syntax"} <= codes(ds))
        assert _ranges(published["cr"]) == _ranges(published["lf"]) == _ranges(published["crlf"])
        for name, diags in published.items():
            syntax = [d for d in diags if d["code"] == "tfguard.syntax"]
            assert len(syntax) == 1 and syntax[0]["range"]["start"]["line"] == 6, (name, syntax)
            assert client_text(texts[name], syntax[0]["range"]) == "]", name
            acl = [d for d in diags if d["code"] == "CKV_AWS_20"]
            assert acl and acl[0]["range"]["start"]["line"] == 2, (name, acl)
            assert client_text(texts[name], acl[0]["range"]).startswith("acl"), name
        server.assert_hears()
        assert server.peak_rss_mb() < BASELINE_RSS_MB
    finally:
        server.close()
