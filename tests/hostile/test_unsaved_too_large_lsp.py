"""Unsaved text over ``maxFileBytes`` is not analysed by either tier: never written to the scratch mirror,
never given to Checkov, and its (small) disk text is not checked in its place.

A buffer of 12.6 MB (the issue's case) beside a normal file of the same module: the buffer gets its
one ``tfguard.too-large`` diagnostic, the normal file keeps its findings (tier 2's graph check
included), the mirror holds no copy of the buffer, and the server's peak RSS stays bounded.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

from tests.hostile.server import BASELINE_RSS_MB, HostileServer, codes

BIG_MB = 12.6
# Measured: 12.6 MB of unsaved text costs the server about 4 copies of it (pygls' document, the JSON
# message, the engine's overlay): peak ~290 MB here (1.7 GB before the fix).
RSS_BOUND_MB = BASELINE_RSS_MB + 6 * BIG_MB + 60
DISK = 'resource "aws_s3_bucket" "diskonly" {\n  bucket = "d"\n  acl    = "public-read"\n}\n'
OTHER = 'resource "aws_s3_bucket" "other" {\n  bucket = "o"\n}\n'


@pytest.mark.timeout(240)
def test_an_oversized_buffer_reaches_neither_tier_nor_the_mirror(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "m").mkdir(parents=True)
    (ws / "m" / "big.tf").write_text(DISK)
    (ws / "m" / "other.tf").write_text(OTHER)
    server = HostileServer(ws, {"idleDelayMs": 100})
    try:
        other = server.open(ws / "m" / "other.tf", OTHER)
        line = '# padding padding padding padding padding padding padding padding padding padding\n'
        big_text = DISK + line * int(BIG_MB * 1e6 / len(line))
        assert len(big_text) > 12_500_000
        big = server.open(ws / "m" / "big.tf", big_text)
        diags = server.diagnostics(big, lambda ds: "tfguard.too-large" in codes(ds))
        assert [d["range"]["start"]["line"] for d in diags] == [0]
        assert "not analysed" in diags[0]["message"] and "maxFileBytes" in diags[0]["message"]
        # tier 2 ran on the module (graph check on the other file) without the buffer
        server.diagnostics(other, lambda ds: "CKV2_AWS_6" in codes(ds))
        server.assert_hears()
        mirrors = glob.glob(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"tfguard-mirror-{server.proc.pid}-*"))
        assert mirrors, "tier 2 ran through the scratch mirror (unsaved text)"
        for root in mirrors:
            for dirpath, _, names in os.walk(root):
                assert not [n for n in names if n.startswith("big")], (dirpath, names)
                for n in names:
                    assert os.path.getsize(os.path.join(dirpath, n)) < 1e6
        published = [n["params"] for n in server.notifications if n["method"] == "textDocument/publishDiagnostics"
                     and n["params"]["uri"] == big]
        assert all(codes(p["diagnostics"]) == {"tfguard.too-large"} for p in published), published
        rss = server.peak_rss_mb()
        assert rss < RSS_BOUND_MB, f"peak RSS {rss:.0f} MB"
        print(f"peak RSS {rss:.0f} MB (bound {RSS_BOUND_MB:.0f})")
    finally:
        server.close()
