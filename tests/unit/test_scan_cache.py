"""The whole-scan cache: an unchanged tree is reported from the cache; any input change is seen."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfguard.engine import index as workspace
from tfguard.model import Result
from tfguard.scan.runner import scan
from tfguard.wiring import make_engine

BUCKET = 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n  acl    = "public-read"\n}\n'


def _failed(tmp_path: Path, cache: Path) -> set[str]:
    engine = make_engine(str(tmp_path))
    report = scan(engine, [str(tmp_path)], cache_dir=str(cache))
    return {f.check_id for f in report.findings if f.result is Result.FAILED}


def test_unchanged_tree_comes_from_the_cache_and_changes_are_seen(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ws, cache = tmp_path / "ws", tmp_path / "cache"
    ws.mkdir()
    (ws / "main.tf").write_text(BUCKET)
    first = _failed(ws, cache)
    assert "CKV_AWS_20" in first

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged tree must not be parsed again")

    with monkeypatch.context() as m:
        m.setattr(workspace, "parse_block", no_parsing)
        assert _failed(ws, cache) == first
    (ws / "main.tf").write_text(BUCKET.replace("public-read", "private"))
    assert "CKV_AWS_20" not in _failed(ws, cache)
    (ws / ".tfguard.yaml").write_text("version: 1\nchecks:\n  disable: [CKV_AWS_21]\n")
    assert "CKV_AWS_21" not in _failed(ws, cache)


def test_cached_report_renders_the_same_json_and_sarif_without_reading_files(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from tfguard.scan import baseline
    from tfguard.scan.report import render_json, render_sarif

    ws, cache = tmp_path / "ws", tmp_path / "cache"
    ws.mkdir()
    (ws / "main.tf").write_text(BUCKET + '\nresource "aws_s3_bucket" "c" {\n  bucket = "c"\n}\n')
    engine = make_engine(str(ws))
    fresh = scan(engine, [str(ws)], cache_dir=str(cache))
    json_fresh, sarif_fresh = render_json(fresh), render_sarif(fresh)
    assert '"fingerprint"' in json_fresh
    with monkeypatch.context() as m:  # fingerprints of a cached report come with it
        m.setattr(baseline, "evaluated_content", lambda *a, **k: (_ for _ in ()).throw(AssertionError("re-read")))
        engine = make_engine(str(ws))
        cached = scan(engine, [str(ws)], cache_dir=str(cache))
        assert render_json(cached) == json_fresh
        assert render_sarif(cached) == sarif_fresh
