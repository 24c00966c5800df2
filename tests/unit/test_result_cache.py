"""The one scan cache (scan/cache.py): JSON entries only, refused when planted, a miss when corrupt."""

from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path

import pytest

from tfguard.model import Result, ScanReport, report_from_json, report_to_json
from tfguard.scan import cache as cache_mod
from tfguard.scan.cache import MAGIC, ResultCache, checksum
from tfguard.scan.runner import scan, scan_key
from tfguard.wiring import make_engine

BUCKET = 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n  acl    = "public-read"\n}\n'
KEY = "ab" * 20


def _entries(cache: Path, kind: str) -> list[Path]:
    return sorted((cache / kind).rglob("*.json"))


def test_round_trip_layout_permissions_and_checksum(tmp_path: Path) -> None:
    c = ResultCache(str(tmp_path / "cache"))
    c.put("scans", KEY, {"a": [1, "x", None]})
    assert c.get("scans", KEY) == {"a": [1, "x", None]}
    path = Path(c.path("scans", KEY))
    assert path == tmp_path / "cache" / "scans" / KEY[:2] / f"{KEY}.json"
    for d in (tmp_path / "cache", path.parent.parent, path.parent):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    head, payload = path.read_bytes().split(b"\n", 1)
    assert head == MAGIC + checksum(payload) and json.loads(payload) == {"a": [1, "x", None]}
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # written atomically
    assert c.get("units", KEY) is None and c.get("scans", "cd" * 20) is None
    with pytest.raises(ValueError):
        c.path("scans", "../../etc/passwd")
    assert ResultCache(None).get("scans", KEY) is None


def test_a_planted_pickle_is_never_unpickled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = ResultCache(str(tmp_path / "cache"))
    path = Path(c.path("scans", KEY))
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps({"root": "/x"}))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    assert c.get("scans", KEY) is None
    # nor with a valid header around it: the payload must be JSON
    blob = pickle.dumps({"root": "/x"})
    path.write_bytes(MAGIC + checksum(blob) + b"\n" + blob)
    assert c.get("scans", KEY) is None


@pytest.mark.timeout(20)
def test_a_planted_fifo_neither_blocks_nor_hits(tmp_path: Path) -> None:
    c = ResultCache(str(tmp_path / "cache"))
    path = Path(c.path("scans", KEY))
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    assert c.get("scans", KEY) is None  # opened O_NONBLOCK, refused by fstat: no writer needed
    c.put("scans", KEY, {"ok": 1})  # replaced atomically by a regular file
    assert c.get("scans", KEY) == {"ok": 1}


def test_a_planted_symlink_is_not_followed(tmp_path: Path) -> None:
    c = ResultCache(str(tmp_path / "cache"))
    good = ResultCache(str(tmp_path / "elsewhere"))
    good.put("scans", KEY, {"planted": True})
    path = Path(c.path("scans", KEY))
    path.parent.mkdir(parents=True)
    path.symlink_to(good.path("scans", KEY))
    assert c.get("scans", KEY) is None


def test_an_entry_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = ResultCache(str(tmp_path / "cache"))
    c.put("scans", KEY, {"x": 1})
    assert c.get("scans", KEY) == {"x": 1}
    real = os.geteuid()
    monkeypatch.setattr(cache_mod.os, "geteuid", lambda: real + 1)  # the file now belongs to "someone else"
    assert c.get("scans", KEY) is None


@pytest.mark.parametrize("damage", ["flip", "truncate", "header", "not-json", "empty"])
def test_a_corrupt_entry_is_a_miss(tmp_path: Path, damage: str) -> None:
    c = ResultCache(str(tmp_path / "cache"))
    c.put("scans", KEY, {"findings": list(range(100))})
    path = Path(c.path("scans", KEY))
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x55
    elif damage == "truncate":
        data = data[: len(data) - 7]
    elif damage == "header":
        data[0:3] = b"xyz"
    elif damage == "not-json":
        payload = b"{not json"
        data = bytearray(MAGIC + checksum(payload) + b"\n" + payload)
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    assert c.get("scans", KEY) is None


def test_entries_are_bounded_oldest_evicted_first(tmp_path: Path) -> None:
    c = ResultCache(str(tmp_path / "cache"), max_entries=3)
    keys = [f"{i:02x}" * 20 for i in range(5)]
    for n, k in enumerate(keys):
        c.put("units", k, {"n": n})
        os.utime(c.path("units", k), (1000 + n, 1000 + n))
    assert c.prune() == 2
    assert [c.get("units", k) for k in keys] == [None, None, {"n": 2}, {"n": 3}, {"n": 4}]
    small = ResultCache(str(tmp_path / "small"), max_bytes=200)
    for n, k in enumerate(keys):
        small.put("scans", k, {"pad": "x" * 60, "n": n})
        os.utime(small.path("scans", k), (1000 + n, 1000 + n))
    small.prune()
    assert sum(os.path.getsize(p) for p in _entries(tmp_path / "small", "scans")) <= 200
    assert small.get("scans", keys[-1]) is not None


def _canon(report: ScanReport) -> str:
    """The report's JSON with findings (and what is aligned with them) and problems in a fixed order."""
    data = report_to_json(report)
    pairs = sorted(zip(data["findings"], data["evaluated"], strict=True), key=lambda p: json.dumps(p, sort_keys=True))
    data["findings"], data["evaluated"] = [f for f, _ in pairs], [e for _, e in pairs]
    data["problems"] = sorted(data["problems"], key=lambda p: json.dumps(p, sort_keys=True))
    return json.dumps(data, sort_keys=True)


def _failed(report) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    return sorted((f.check_id, f.resource, f.line_range[0]) for f in report.findings if f.result is Result.FAILED)


def test_corrupted_cached_report_is_a_miss_and_the_scan_equals_the_uncached_one(tmp_path: Path) -> None:
    ws, cache = tmp_path / "ws", tmp_path / "cache"
    ws.mkdir()
    (ws / "main.tf").write_text(BUCKET)
    (ws / "broken.tf").write_text('resource "aws_s3_bucket" "c" {\n  bucket = \n')
    uncached = scan(make_engine(str(ws)), [str(ws)], cache_dir="")
    first = scan(make_engine(str(ws)), [str(ws)], cache_dir=str(cache))
    assert _canon(first) == _canon(uncached)
    entries = _entries(cache, "scans") + _entries(cache, "units")
    assert entries and not list(cache.rglob("*.pickle"))
    for p in entries:  # every entry damaged: report and units are recomputed
        data = bytearray(p.read_bytes())
        data[-5] ^= 0x01
        p.write_bytes(bytes(data))
    again = scan(make_engine(str(ws)), [str(ws)], cache_dir=str(cache))
    assert _canon(again) == _canon(uncached)
    assert _failed(again) == _failed(uncached) and "CKV_AWS_20" in {c for c, _, _ in _failed(again)}
    assert [p.code for p in again.problems] == [p.code for p in uncached.problems]
    # a wrong shape with a right checksum is a miss too
    key = scan_key(make_engine(str(ws)), [str(ws)])
    assert key is not None
    ResultCache(str(cache)).put("scans", key, {"root": 1, "findings": "no"})
    assert _canon(scan(make_engine(str(ws)), [str(ws)], cache_dir=str(cache))) == _canon(uncached)
    # and the report it stored again is the one a later scan reads
    cached = report_from_json(ResultCache(str(cache)).get("scans", key))
    assert _canon(cached) == _canon(uncached)
    assert cached.evaluated == uncached.evaluated and cached.evaluated
