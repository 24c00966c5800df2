"""Each hostile case of issue #20 against a real language server, with its peak memory.

For every case: a real ``tfguard serve`` (stdio, workspace indexing on) over a planted git repository
whose ``main.tf`` is the normal file. The case plants its hostile thing (beside ``main.tf``, or typed
into it); then the server must answer a hover within ``ANSWER_WITHIN``, ``main.tf`` must carry the
findings a clean repository gives it (tier 2 included), the hostile file must have a located
diagnostic, nothing of the files outside the repository may appear in anything the server sent or
logged, and the server's peak RSS (``VmHWM``) must stay under the case's documented bound.

The cases whose sizes need their own file: ``test_budget.py`` (100,000 resources, 20,000 buckets),
``test_unsaved_too_large_lsp.py`` (12.6 MB unsaved), ``test_line_ends_lsp.py`` (lone ``\\r``),
``test_tcp_hostile.py`` (the protocol over TCP).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.hostile.conftest import MAIN_TF, Planted, assert_nothing_leaked
from tests.hostile.server import BASELINE_RSS_MB, HostileServer, codes
from tests.hostile.test_git import _control, _plant
from tests.hostile.test_yaml_bombs import bomb

# the normal file: a bucket with a public ACL (tier 1: CKV_AWS_20; tier 2: CKV2_AWS_6, a graph check)
NORMAL = MAIN_TF.replace('  bucket = "x"\n', '  bucket = "x"\n  acl    = "public-read"\n')
SECOND = 'resource "aws_sqs_queue" "second" {\n  name = "q"\n}\n'
TIER2 = "CKV2_AWS_6"
OPTIONS = {"indexWorkspace": True, "idleDelayMs": 100}


def _start(planted: Planted) -> HostileServer:
    return HostileServer(planted.repo, OPTIONS, env={"HOME": str(planted.home), "TFGUARD_NO_DAEMON": "1"})


def _uri(planted: Planted, rel: str) -> str:
    return (planted.repo / rel).as_uri()


def _normal(server: HostileServer, planted: Planted, text: str = NORMAL) -> list[dict[str, Any]]:
    """Open main.tf and return its diagnostics once tier 2 has run (its graph check is there)."""
    uri = server.open(planted.repo / "main.tf", text)
    return server.diagnostics(uri, lambda ds: TIER2 in codes(ds))


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """main.tf's diagnostic codes in a clean repository (both tiers)."""
    tmp = tmp_path_factory.mktemp("clean")  # the planted layout without anything planted (nor git)
    planted = Planted(tmp, tmp / "repo", tmp / "outside", tmp / "home")
    for d in (planted.repo, planted.outside, planted.home):
        d.mkdir(parents=True)
    server = _start(planted)
    try:
        return codes(_normal(server, planted))
    finally:
        server.close()


def _finish(server: HostileServer, rss_bound: float) -> None:
    server.assert_hears()
    assert_nothing_leaked(server.output_text())
    rss = server.peak_rss_mb()
    print(f"peak RSS {rss:.0f} MB (bound {rss_bound:.0f})")
    assert rss < rss_bound, f"peak RSS {rss:.0f} MB over the bound {rss_bound:.0f} MB"


# ------------------------------------------------------------------- typing: findings never vanish
TYPED = {
    "unclosed string": '  description = "x',
    "unclosed interpolation": '  description = "x${a',
    "NUL byte": '  description = "x\x00',
    "5000 levels of nesting": "  x = " + "[" * 5000,
}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("case", list(TYPED))
def test_typing_into_one_block_never_drops_the_other_blocks_findings(planted: Planted, expected: set[str],
                                                                     case: str) -> None:
    server = _start(planted)
    try:
        text = NORMAL + "\n" + SECOND
        good = codes(_normal(server, planted, text)) - {"tfguard.syntax"}
        assert expected <= good
        uri = _uri(planted, "main.tf")
        typed = TYPED[case]
        at = text.index('  name = "q"\n') + len('  name = "q"\n')
        steps = [typed[:i] for i in range(1, len(typed) + 1)] if len(typed) < 40 else [typed[:6], typed]
        for version, part in enumerate(steps, start=2):
            server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                     "contentChanges": [{"text": text[:at] + part + "\n" + text[at:]}]})
        last = len(steps) + 1
        server.diagnostics(uri, lambda ds: "tfguard.syntax" in codes(ds), version=last)
        time.sleep(1.5)  # tier 2 of the broken text (idle delay 0.1 s) has run and been re-merged
        server.assert_hears()
        # from the first keystroke on (before it, tier 1 alone lacks the checks only Checkov's runner gives)
        publishes = [n["params"] for n in server.notifications if n["method"] == "textDocument/publishDiagnostics"
                     and n["params"]["uri"] == uri and (n["params"].get("version") or 0) >= 2]
        assert len(publishes) >= 2, "tier 1 and tier 2 of the typed text were published"
        for p in publishes:  # every publish, tier 1 and tier 2, keeps the untouched first block's findings
            first_block = {str(d["code"]) for d in p["diagnostics"] if d["range"]["start"]["line"] <= 3}
            assert expected - {"tfguard.syntax"} <= first_block, (p.get("version"), first_block)
        syntax = [d for d in publishes[-1]["diagnostics"] if d["code"] == "tfguard.syntax"]
        assert syntax and all(d["range"]["start"]["line"] >= 5 for d in syntax), syntax
        _finish(server, BASELINE_RSS_MB)
    finally:
        server.close()


# ------------------------------------------------------------------- files planted beside main.tf
def _outside_catalogue(planted: Planted) -> tuple[str, str]:
    planted.write(".tfguard.yaml", f"catalogue: {planted.outside / 'secret'}\n")
    return ".tfguard.yaml", "outside the repository root"


def _home_catalogue(planted: Planted) -> tuple[str, str]:
    planted.write(".tfguard.yaml", "catalogue: ~/.aws/credentials\n")
    return ".tfguard.yaml", "outside the repository root"


def _symlink_out(planted: Planted) -> tuple[str, str]:
    planted.link("creds.tf", planted.outside / "secret")
    return "creds.tf", "symlink to a file outside the repository"


def _dev_zero(planted: Planted) -> tuple[str, str]:
    planted.link("zero.tf", "/dev/zero")
    return "zero.tf", "not read"


def _fifo_tf(planted: Planted) -> tuple[str, str]:
    os.mkfifo(planted.repo / "fifo.tf")
    return "fifo.tf", "not a regular file (a FIFO)"


def _checkov_bomb(planted: Planted) -> tuple[str, str]:
    planted.write(".checkov.yaml", bomb("skip-check"))
    return ".checkov.yaml", "refused (a YAML alias bomb?)"


def _policy_bomb(planted: Planted) -> tuple[str, str]:
    planted.write(".checkov.yaml", "external-checks-dir:\n  - policies\n")
    planted.write("policies/bomb.yaml", bomb("metadata"))
    return "policies/bomb.yaml", "refused (a YAML alias bomb?)"


def _catalogue_fifo(planted: Planted) -> tuple[str, str]:
    os.mkfifo(planted.repo / "cat.yaml")
    planted.write(".tfguard.yaml", "catalogue: cat.yaml\n")
    return "cat.yaml", "not a regular file (a FIFO)"


def _single_line(planted: Planted) -> tuple[str, str]:
    planted.write("line.tf", "# " + "x" * (5 * 1024 * 1024) + "\n")
    return "line.tf", "not analysed"


PLANTS: dict[str, tuple[Callable[[Planted], tuple[str, str]], float]] = {
    # case: (plant, peak RSS bound in MB)
    "catalogue: outside file": (_outside_catalogue, BASELINE_RSS_MB),
    "catalogue: ~/.aws/credentials": (_home_catalogue, BASELINE_RSS_MB),
    "creds.tf -> outside": (_symlink_out, BASELINE_RSS_MB),
    "zero.tf -> /dev/zero": (_dev_zero, BASELINE_RSS_MB),
    "fifo.tf": (_fifo_tf, BASELINE_RSS_MB),
    ".checkov.yaml billion laughs": (_checkov_bomb, BASELINE_RSS_MB),
    "YAML policy billion laughs": (_policy_bomb, BASELINE_RSS_MB),
    "catalogue: a FIFO": (_catalogue_fifo, BASELINE_RSS_MB),
    "5 MB single line": (_single_line, BASELINE_RSS_MB + 30),  # refused by size, read at most cap + 1
}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("case", list(PLANTS))
def test_a_planted_file_is_located_and_main_tf_keeps_its_findings(planted: Planted, expected: set[str],
                                                                  case: str) -> None:
    plant, bound = PLANTS[case]
    (planted.repo / "main.tf").write_text(NORMAL)
    rel, message = plant(planted)
    server = _start(planted)
    try:
        assert codes(_normal(server, planted)) == expected
        diags = server.diagnostics(_uri(planted, rel), lambda ds: any(message in d["message"] for d in ds))
        located = [d for d in diags if message in d["message"]]
        assert located[0]["range"]["start"]["line"] >= 0 and located[0]["range"]["end"]["line"] >= 0
        _finish(server, bound)
    finally:
        server.close()


@pytest.mark.timeout(240)
def test_indexing_the_workspace_runs_no_repository_program(planted: Planted) -> None:
    markers = _plant(planted)
    _control(planted, markers)
    server = _start(planted)
    try:
        uri = server.open(planted.repo / "main.tf", (planted.repo / "main.tf").read_text())
        server.diagnostics(uri, lambda ds: "CKV_AWS_21" in codes(ds))
        server.wait_notification("textDocument/publishDiagnostics",
                                 lambda n: n["params"]["uri"] == uri and TIER2 in codes(n["params"]["diagnostics"]),
                                 timeout=90)
        _finish(server, BASELINE_RSS_MB)
        assert [m.name for m in markers if m.exists()] == []
    finally:
        server.close()


# ------------------------------------------------------------------- the protocol (stdio)
@pytest.mark.timeout(240)
@pytest.mark.parametrize("frame", ["Content-Length: 10**12", "a real 65 MiB body"])
def test_a_huge_frame_is_refused_with_memory_bounded(planted: Planted, expected: set[str], frame: str) -> None:
    (planted.repo / "main.tf").write_text(NORMAL)
    server = _start(planted)
    try:
        if frame == "a real 65 MiB body":
            junk = b'{"jsonrpc":"2.0","method":"x","params":"' + b"a" * (65 * 1024 * 1024) + b'"}'
            server.write(b"Content-Length: %d\r\n\r\n" % len(junk) + junk)
        else:
            server.write(b"Content-Length: 1000000000000\r\n\r\n{}")
        assert codes(_normal(server, planted)) == expected
        _finish(server, BASELINE_RSS_MB)
    finally:
        server.close()
