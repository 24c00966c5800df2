"""Tier-2 memoization (checks/memo.py) never changes what Checkov reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tfguard.checks import memo
from tfguard.checks.checkov_env import checkov_modules
from tfguard.checks.graph import GraphRun, run_checkov

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def modules() -> Iterator[tuple[object, object]]:
    checkov_modules()
    import checkov.terraform.graph_builder.variable_rendering.evaluate_terraform as et
    import checkov.terraform.parser_utils as pu

    assert hasattr(et.evaluate, "__wrapped__"), "memo not installed by checkov_modules()"
    assert hasattr(et.find_brackets_pairs, "__wrapped__")
    assert isinstance(pu.hcl2, memo._MemoHcl2)
    yield et, pu


def _plain_run(modules: tuple[object, object], d: Path) -> GraphRun:
    et, pu = modules
    with memo.disabled():
        assert not hasattr(et.evaluate, "__wrapped__") and not isinstance(pu.hcl2, memo._MemoHcl2)  # type: ignore[attr-defined]
        assert not hasattr(et.find_brackets_pairs, "__wrapped__")  # type: ignore[attr-defined]
        return run_checkov(str(d), recursive=False)


def _assert_same(plain: GraphRun, memoized: GraphRun) -> None:
    assert sorted(map(repr, memoized.records)) == sorted(map(repr, plain.records))
    assert memoized.parsing_errors == plain.parsing_errors


def test_example_project_identical_with_and_without_memo(modules: tuple[object, object]) -> None:
    d = REPO / "examples" / "prod"
    plain = _plain_run(modules, d)
    assert any(r.result == "FAILED" for r in plain.records)
    memo.clear()
    before = dict(memo.stats)
    first = run_checkov(str(d), recursive=False)
    second = run_checkov(str(d), recursive=False)
    _assert_same(plain, first)
    _assert_same(plain, second)
    assert memo.stats["parse_hits"] > before["parse_hits"], "the second run did not reuse the first run's parses"


@pytest.mark.parametrize("rel", ["terraform-aws-vpc", "terraform-aws-s3-bucket/examples/complete",
                                 "terragoat/terraform/aws"])
def test_corpus_modules_identical_with_and_without_memo(corpora: Path, modules: tuple[object, object],
                                                        rel: str) -> None:
    d = corpora / rel
    plain = _plain_run(modules, d)
    for _ in range(2):  # cold memo, then warm
        _assert_same(plain, run_checkov(str(d), recursive=False))
    assert memo.stats["eval_hits"] > 0


def test_evaluate_memo_replays_errors_and_copies_mutable_values(modules: tuple[object, object]) -> None:
    et, _ = modules
    evaluate = et.evaluate  # type: ignore[attr-defined]
    memo.clear()
    first = evaluate("[1, 2, 3]")
    first.append(4)  # a caller mutating its result must not change what the next caller gets
    assert evaluate("[1, 2, 3]") == [1, 2, 3]
    for _ in range(2):
        with pytest.raises(ValueError):
            evaluate("undefined_name_xyz + 1")


def test_impure_and_assigning_expressions_are_not_memoized(modules: tuple[object, object]) -> None:
    et, _ = modules
    evaluate = et.evaluate  # type: ignore[attr-defined]
    memo.clear()
    evaluate("timestamp()")
    evaluate("timestamp()")
    assert "timestamp()" not in memo._eval_cache
    assert memo._ASSIGNS.search("a = 1") and not memo._ASSIGNS.search("a == 1 && b != 2 && c <= 3")


def test_a_long_lived_parent_keeps_what_forked_workers_parsed(modules: tuple[object, object],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon sets ``scanpool.keep_worker_memos``: after a scan whose units ran in forked workers,
    the parent's parse memo holds those files, so the next edit's re-run parses only the edited one."""
    from tfguard.checks.entity import CheckSelection
    from tfguard.scan import pool as scanpool

    units = [scanpool.ScanUnit(root=str(REPO / "examples" / d), dirs=(str(REPO / "examples" / d),))
             for d in ("dev", "prod")]
    texts = [p.read_text() for d in ("dev", "prod") for p in sorted((REPO / "examples" / d).glob("*.tf"))]
    pu = modules[1]
    memo.clear()
    monkeypatch.setattr(scanpool, "keep_worker_memos", False)
    runs, failures = scanpool.run_units(units, CheckSelection(), max_workers=2)
    assert len(runs) == 2 and not failures
    hits = memo.stats["parse_hits"]
    for text in texts:
        pu.hcl2.loads(text)  # type: ignore[attr-defined]
    assert memo.stats["parse_hits"] == hits, "without it, the workers' parses are lost with them"

    memo.clear()
    monkeypatch.setattr(scanpool, "keep_worker_memos", True)
    again, failures = scanpool.run_units(units, CheckSelection(), max_workers=2)
    assert not failures
    assert sorted(map(repr, (r for run in again for r in run.records))) == sorted(
        map(repr, (r for run in runs for r in run.records)))
    hits = memo.stats["parse_hits"]
    for text in texts:
        pu.hcl2.loads(text)  # type: ignore[attr-defined]
    assert memo.stats["parse_hits"] == hits + len(texts)
