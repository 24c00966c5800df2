"""One module over the time/size budget never holds up the others, says so, and memory stays bounded.

- A 3.7 MB file of 100,000 one-line resources and a 1.1 MB file of 20,000 buckets (the issue's cases):
  over the per-file budget (``tfguard.budget``: counted before anything is parsed), so not analysed by
  either tier: one located ``too-large`` diagnostic "not analysed: over the time/size budget"; a
  one-line edit in another module is published at once; peak RSS near the idle server's.
- Five files of 4,500 resources: each within the file budget, their module over the module budget:
  every file of it is said not analysed, likewise.
- 1,500 buckets (under the budget, a few seconds of tier 1): analysed in the heavy lane; an edit in
  another module made while it runs is published before it (it used to wait for it: 107 s behind the
  20,000 buckets, measured with this suite's server).
- ``tfguard scan``: the over-budget file is a problem, the other module's findings are reported, exit 2.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.hostile.conftest import Planted
from tests.hostile.server import BASELINE_RSS_MB, HostileServer, codes

SMALL = 'resource "aws_s3_bucket" "s" {\n  bucket = "s"\n  acl    = "public-read"\n}\n'
# unsaved text is held ~4 times (pygls' document, the message, the overlay, a read): 4 x 3.7 MB, rounded up
OVER_BUDGET_RSS_MB = BASELINE_RSS_MB + 40
# 1,500 buckets analysed by both tiers: ~300 MB measured (4,000 buckets: 480 MB)
UNDER_BUDGET_RSS_MB = BASELINE_RSS_MB + 200


def _queues(n: int) -> str:
    return "".join(f'resource "aws_sqs_queue" "q{i}" {{}}\n' for i in range(n))


def _buckets(n: int) -> str:
    return "".join(f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "b{i}"\n}}\n\n' for i in range(n))


def _workspace(tmp_path: Path, big: str, siblings: int = 0) -> Path:
    ws = tmp_path / "ws"
    for d in ("big", "small"):
        (ws / d).mkdir(parents=True)
    (ws / "big" / "main.tf").write_text(big)
    for i in range(siblings):  # more files like main.tf: the module is over budget, each file within it
        (ws / "big" / f"more{i}.tf").write_text(big.replace('"q', f'"m{i}q'))
    (ws / "small" / "main.tf").write_text(SMALL)
    return ws


CASES = {  # case: (main.tf's text, how many more files like it in its module)
    "100000 resources": (lambda: _queues(100_000), 0),
    "20000 buckets": (lambda: _buckets(20_000), 0),
    "5 files of 4500 resources": (lambda: _queues(4_500), 4),
}


def _edit_small(server: HostileServer, uri: str, version: int) -> float:
    started = time.monotonic()
    server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                             "contentChanges": [{"text": SMALL + "\n" * version}]})
    server.diagnostics(uri, lambda ds: "CKV_AWS_20" in codes(ds), timeout=60, version=version)
    return time.monotonic() - started


@pytest.mark.timeout(240)
@pytest.mark.parametrize("case", list(CASES))
def test_a_file_over_the_budget_is_said_and_the_others_go_on(tmp_path: Path, case: str) -> None:
    make, siblings = CASES[case]
    big_text = make()
    ws = _workspace(tmp_path, big_text, siblings)
    server = HostileServer(ws, {"idleDelayMs": 100})
    try:
        small = server.open(ws / "small" / "main.tf", SMALL)
        server.diagnostics(small, lambda ds: "CKV2_AWS_6" in codes(ds))  # both tiers ran
        big = server.open(ws / "big" / "main.tf", big_text)
        _edit_small(server, small, 2)
        diags = server.diagnostics(big, lambda ds: "tfguard.too-large" in codes(ds))
        assert len(diags) == 1 and diags[0]["range"]["start"]["line"] == 0, diags
        assert "not analysed: over the time/size budget" in diags[0]["message"]
        _edit_small(server, small, 3)
        time.sleep(1.0)  # tier 2 of both modules (idle delay 0.1 s) has had its chance
        server.assert_hears()
        big_publishes = [n["params"]["diagnostics"] for n in server.notifications
                         if n["method"] == "textDocument/publishDiagnostics" and n["params"]["uri"] == big]
        assert all(codes(d) == {"tfguard.too-large"} for d in big_publishes), "never analysed, by either tier"
        rss = server.peak_rss_mb()
        print(f"peak RSS {rss:.0f} MB (bound {OVER_BUDGET_RSS_MB:.0f})")
        assert rss < OVER_BUDGET_RSS_MB, f"peak RSS {rss:.0f} MB"
    finally:
        server.close()


@pytest.mark.timeout(300)
def test_a_slow_module_does_not_hold_up_an_edit_in_another(tmp_path: Path) -> None:
    big_text = _buckets(1_500)
    ws = _workspace(tmp_path, big_text)
    server = HostileServer(ws, {"idleDelayMs": 100})
    try:
        small = server.open(ws / "small" / "main.tf", SMALL)
        server.diagnostics(small, lambda ds: "CKV_AWS_20" in codes(ds))
        big = server.open(ws / "big" / "main.tf", big_text)
        time.sleep(0.3)  # its tier 1 has started
        _edit_small(server, small, 2)
        # before the small edit's answer, the big module may have published only an empty tier-1 answer
        # (Checkov 3's per-block checks of a bare bucket all pass: its findings are graph checks, tier 2)
        early = [n["params"]["diagnostics"] for n in server.notifications
                 if n["method"] == "textDocument/publishDiagnostics" and n["params"]["uri"] == big]
        assert not any(early), "the other module's edit waited for the slow module's result"
        diags = server.diagnostics(big, lambda ds: len([d for d in ds if d["code"] == "CKV_AWS_21"]) == 1_500,
                                   timeout=240)
        assert "tfguard.too-large" not in codes(diags)
        said = [n["params"] for n in server.notifications if n["method"] == "tfguard/status"
                and n["params"]["folder"].endswith("main.tf") and "per-file check of main.tf" in n["params"]["message"]]
        # its tier 1 (seconds for 1,500 buckets) was past the notice: it said so, then that it ended
        assert [p["state"] for p in said][:1] == ["running"], said
        assert said[-1]["state"] == "idle", said
        server.assert_hears()
        rss = server.peak_rss_mb()
        print(f"peak RSS {rss:.0f} MB (bound {UNDER_BUDGET_RSS_MB:.0f})")
        assert rss < UNDER_BUDGET_RSS_MB, f"peak RSS {rss:.0f} MB"
    finally:
        server.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", ["100000 resources", "5 files of 4500 resources"])
def test_the_cli_reports_the_file_over_the_budget_and_exits_2(planted: Planted, case: str) -> None:
    make, siblings = CASES[case]
    planted.write("big/main.tf", make())
    for i in range(siblings):
        planted.write(f"big/more{i}.tf", make().replace('"q', f'"m{i}q'))
    planted.write("main.tf", SMALL)
    proc = planted.tfguard("scan", ".", "-o", "json", timeout=100)
    assert proc.returncode == 2, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    over = [p for p in data["problems"] if p["file"].endswith("big/main.tf")]
    assert over and "not analysed: over the time/size budget" in over[0]["message"], data["problems"]
    assert over[0]["line"] == 1
    assert "CKV_AWS_20" in {f["check_id"] for f in data["findings"] if f["resource"] == "aws_s3_bucket.s"}
    assert not [f for f in data["findings"] if "aws_sqs_queue" in f["resource"]]
