"""Findings never vanish while typing: a block that does not parse never costs the others their findings.

Checkov drops a file it cannot parse whole. Tier 2 (and ``tfguard scan``) give it Checkov with the
broken blocks blanked out (their line breaks kept), so the blocks that parse keep their findings,
graph checks included, at their own lines; a broken block keeps its last good findings beside its
syntax error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfguard.cli import main
from tfguard.engine import Engine, FileAnalysis
from tfguard.engine.tier2 import masked_text

GOOD = 'resource "aws_s3_bucket" "good" {\n  bucket = "my-bucket"\n  acl    = "public-read"\n}\n'
SECOND = 'resource "aws_sqs_queue" "second" {\n  name = "q"\n}\n'
CLEAN = GOOD + "\n" + SECOND

# what a user types into the second block (each leaves it unparseable)
BROKEN = {
    "unclosed string": CLEAN.replace('name = "q"', 'name = "x'),
    "NUL byte": CLEAN.replace('name = "q"', 'name = "q"\0 x'),
    "unclosed interpolation": CLEAN.replace('name = "q"', 'name = "${'),
    "unclosed interpolation, more quotes": CLEAN.replace('name = "q"', 'name = "${"a" "b" "c" "d" "e"'),
    "deep nesting": CLEAN.replace('name = "q"', "name = " + "[" * 3000),
    "deep nesting, closed": CLEAN.replace('name = "q"', "name = " + "[" * 3000 + "]" * 3000 + " ]"),
}


def _of(fa: FileAnalysis, resource: str) -> list[tuple[str, str, tuple[int, int], int, str]]:
    return sorted((f.check_id, f.result.value, f.line_range, f.span.start.line, f.source)
                  for f in fa.findings if f.resource == resource)


@pytest.fixture
def module(tmp_path: Path) -> Path:
    d = tmp_path / "ws" / "m"
    d.mkdir(parents=True)
    (d / "main.tf").write_text(CLEAN)
    return d


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_tier2_keeps_the_good_blocks_findings_and_the_broken_blocks_last_ones(module: Path, name: str) -> None:
    path = str(module / "main.tf")
    engine = Engine(str(module.parent))
    clean = engine.analyze_module(str(module))[path]
    good, second = _of(clean, "aws_s3_bucket.good"), _of(clean, "aws_sqs_queue.second")
    assert len(good) > 5 and any(f[4] == "graph" for f in good) and second
    engine.set_overlay(path, BROKEN[name])
    t1 = engine.analyze_file(path)
    t2 = engine.analyze_module(str(module))[path]
    after = engine.analyze_file(path)  # the editor re-merges open documents through tier 1
    for fa in (t1, t2, after):
        assert _of(fa, "aws_s3_bucket.good") == good, name
        assert _of(fa, "aws_sqs_queue.second") == second, name  # last good findings of the broken block
        assert any(p.code == "syntax" and p.span.start.line >= 4 for p in fa.problems), name


@pytest.mark.parametrize("name", ["unclosed string", "unclosed interpolation", "deep nesting"])
def test_a_broken_file_on_disk_is_checked_without_its_broken_blocks(module: Path, name: str) -> None:
    path = str(module / "main.tf")
    clean = _of(Engine(str(module.parent)).analyze_module(str(module))[path], "aws_s3_bucket.good")
    (module / "main.tf").write_text(BROKEN[name])
    fa = Engine(str(module.parent)).analyze_module(str(module))[path]
    assert _of(fa, "aws_s3_bucket.good") == clean
    assert any(p.code == "syntax" for p in fa.problems)


def test_masking_keeps_lines_and_every_good_block() -> None:
    import threading

    from tfguard.engine.index import Index
    from tfguard.engine.texts import Texts

    lock = threading.RLock()
    texts = Texts(lock, 1 << 22)
    index = Index(texts, lock, None)
    texts.set_overlay("/nonexistent/m/main.tf", BROKEN["unclosed string"])
    st = index.state("/nonexistent/m/main.tf")
    masked = masked_text(st)
    assert masked is not None
    assert masked.count("\n") == BROKEN["unclosed string"].count("\n")
    assert masked.startswith(GOOD) and "aws_sqs_queue" not in masked
    texts.set_overlay("/nonexistent/m/main.tf", CLEAN)
    assert masked_text(index.state("/nonexistent/m/main.tf")) is None


# (a NUL byte *on disk* makes the file unreadable, one located problem, as Checkov does not read it either)
@pytest.mark.parametrize("name", ["unclosed string", "unclosed interpolation", "deep nesting"])
def test_scan_reports_the_good_blocks_as_the_masked_run_does(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("TFGUARD_CACHE_DIR", str(tmp_path / "cache"))
    d = tmp_path / "repo"
    d.mkdir()
    (d / "main.tf").write_text(CLEAN)
    assert main(["scan", str(d), "--format", "json", "--no-daemon"]) in (0, 1)
    clean = {(f["check_id"], f["result"] if "result" in f else "", tuple(f["line_range"]))
             for f in json.loads(capsys.readouterr().out)["findings"] if f["resource"] == "aws_s3_bucket.good"}
    assert any(c.startswith("CKV2_") for c, _, _ in clean)  # graph checks are part of it
    (d / "main.tf").write_bytes(BROKEN[name].encode())
    main(["scan", str(d), "--format", "json", "--no-daemon"])
    doc = json.loads(capsys.readouterr().out)
    broken = {(f["check_id"], f["result"] if "result" in f else "", tuple(f["line_range"]))
              for f in doc["findings"] if f["resource"] == "aws_s3_bucket.good"}
    assert broken == clean, name
    assert doc["problems"]
