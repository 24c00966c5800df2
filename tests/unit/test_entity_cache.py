"""The tier-1 result cache on disk (tfguard.checks.entity_cache): bounded, corruption-proof, data only."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tfguard.checks import entity_cache
from tfguard.checks.entity_cache import EntityCache

FP = ("3.3.30", "f" * 32)
RESULT = [("CKV_AWS_24", "open ssh", "FAILED", ("ingress",), None, (), None)]


def _cache(d: Path, **kw: int) -> EntityCache:
    return EntityCache(str(d), fingerprint=FP, **kw)


def test_results_survive_a_restart_and_each_shard_keeps_at_most_its_bound(tmp_path: Path):
    c = _cache(tmp_path, max_entries=5)
    for i in range(8):
        c.record("/ws/mod", f"{i:032x}", RESULT)
    assert c.flush() == 1
    again = _cache(tmp_path, max_entries=5)
    assert [again.lookup("/ws/mod", f"{i:032x}") is not None for i in range(8)] == [False] * 3 + [True] * 5
    assert again.lookup("/ws/other", f"{7:032x}") is None  # per module directory


def test_shards_beyond_the_bound_are_evicted(tmp_path: Path):
    c = _cache(tmp_path, max_shards=2)
    for m in ("a", "b", "c", "d"):
        c.record(f"/ws/{m}", "0" * 32, RESULT)
    c.flush()
    assert len(list((tmp_path / "entity").rglob("*.json"))) == 2


def test_another_checkov_is_a_miss(tmp_path: Path):
    c = _cache(tmp_path)
    c.record("/ws/mod", "0" * 32, RESULT)
    c.flush()
    other = EntityCache(str(tmp_path), fingerprint=("3.3.31", "e" * 32))
    assert other.lookup("/ws/mod", "0" * 32) is None
    assert _cache(tmp_path).lookup("/ws/mod", "0" * 32) == RESULT


@pytest.mark.parametrize("damage", ["checksum", "shape", "empty"])
def test_a_corrupt_shard_is_ignored_with_one_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str):
    c = _cache(tmp_path)
    c.record("/ws/mod", "0" * 32, RESULT)
    c.flush()
    (shard,) = list((tmp_path / "entity").rglob("*.json"))
    if damage == "checksum":
        shard.write_bytes(shard.read_bytes()[:-3] + b"]]]")
    elif damage == "shape":
        from tfguard.scan.cache import ResultCache

        key = shard.stem
        ResultCache(str(tmp_path)).put("entity", key, {"format": 1, "module": "/ws/mod", "entries": [["k", [[1]]]]})
    else:
        shard.write_bytes(b"")
    with caplog.at_level(logging.INFO, logger="tfguard.checks.entity_cache"):
        again = _cache(tmp_path)
        assert again.lookup("/ws/mod", "0" * 32) is None
        assert again.lookup("/ws/mod", "1" * 32) is None
        assert not again.has("/ws/mod")
    said = [r for r in caplog.records if "corrupt" in r.getMessage()]
    assert len(said) == 1
    again.record("/ws/mod", "0" * 32, RESULT)  # rewritten on the next flush
    again.flush()
    assert _cache(tmp_path).lookup("/ws/mod", "0" * 32) == RESULT


def test_off_stores_nothing(tmp_path: Path):
    c = EntityCache(None)
    c.record("/ws/mod", "0" * 32, RESULT)
    assert c.flush() == 0 and c.lookup("/ws/mod", "0" * 32) is None
    assert entity_cache.default_directory({"TFGUARD_CACHE_DIR": "off"}) is None
    assert entity_cache.default_directory({"XDG_CACHE_HOME": "/x"}) == "/x/tfguard/tier1"


def test_the_fingerprint_is_read_without_importing_checkov():
    import subprocess
    import sys

    code = ("import sys; from tfguard.checks import entity_cache; v, d = entity_cache.environment_fingerprint(); "
            "print(bool(v), len(d), 'checkov.terraform' in sys.modules, 'checkov' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "32", "False", "False"]


def test_an_unwritable_directory_is_said_once_and_turns_the_cache_off(tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    c = EntityCache(str(blocker / "tier1"), fingerprint=FP)
    with caplog.at_level(logging.INFO, logger="tfguard"):
        c.record("/ws/mod", "0" * 32, RESULT)
        assert c.flush() == 0
        c.record("/ws/mod", "1" * 32, RESULT)
        assert c.flush() == 0
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
    assert c.disabled
