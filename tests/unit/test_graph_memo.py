"""Checkov's graph, memoized between runs (checks/graph_memo.py), never changes what Checkov reports.

Each edit is made on a copy of terraform-aws-s3-bucket or terraform-aws-vpc (one scan unit each: the
whole tree in one run, as ``tfguard scan`` and the editor run it); the warm, memoized run of this
process (every memo on: parses, evaluations, references, the graph) must equal a run of Checkov in a
fresh process with no memo at all.

The fresh-process runs (Checkov with every memo off: the slow half of each test) run in the background,
one at a time, on copies edited the same way, while the tests make their memoized runs in this process:
two cores, as CI has. Their records are compared with the copy's root path replaced by the test's.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from cachetools import LRUCache

from tfguard.checks import graph_memo, memo, refs_memo
from tfguard.checks.checkov_env import checkov_modules
from tfguard.checks.graph import GraphRun, run_checkov

REPO = Path(__file__).resolve().parents[2]

FRESH = """
import json, sys
from tfguard.checks import memo
from tfguard.checks.checkov_env import checkov_modules
from tfguard.checks.graph import run_checkov
checkov_modules()
with memo.disabled():
    run = run_checkov(sys.argv[1], recursive=True)
print(json.dumps({"records": sorted(map(repr, run.records)), "parsing_errors": list(run.parsing_errors)}))
"""


def _fresh_process(root: Path) -> dict[str, list[str]]:
    """Checkov's result on ``root`` from a new process, every tfguard memo off."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "server"))
    out = subprocess.run([sys.executable, "-c", FRESH, str(root)], capture_output=True, text=True, env=env,
                         timeout=900, check=True)
    got: dict[str, list[str]] = json.loads(out.stdout.strip().splitlines()[-1])
    return got


class _FreshRuns:
    """Checkov in a fresh process on edited copies of a corpus, one run at a time in a background thread."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fresh-checkov")
        self._runs: dict[tuple[str, str], tuple[Path, str, Future[dict[str, list[str]]]]] = {}

    def submit(self, corpus: Path, edit_id: str, edit: Callable[[Path], str], tmp: Path) -> None:
        root = tmp / corpus.name
        shutil.copytree(corpus, root)
        what = edit(root)
        self._runs[(corpus.name, edit_id)] = (root, what, self._pool.submit(_fresh_process, root))

    def result(self, corpus: str, edit_id: str, root: Path, what: str) -> dict[str, list[str]]:
        """The fresh run of the same edit, as if it had run on ``root``."""
        src, fresh_what, future = self._runs[(corpus, edit_id)]
        assert fresh_what == what, "the fresh copy was not edited the same way"
        got = future.result(timeout=900)
        moved = {k: [v.replace(str(src), str(root)) for v in values] for k, values in got.items()}
        moved["records"].sort()  # sorted as _summary sorts them; the parsing errors keep Checkov's order
        return moved

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _selected(request: pytest.FixtureRequest, test: str) -> list[str]:
    """The ``edit_id`` parameters of ``test`` this session runs."""
    return [item.callspec.params["edit_id"] for item in request.session.items
            if getattr(item, "originalname", None) == test and item.module is request.module
            and hasattr(item, "callspec")]


@pytest.fixture(scope="module")
def fresh_runs(corpora: Path, request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[_FreshRuns]:
    runs = _FreshRuns()
    try:
        for edit_id in _selected(request, "test_an_edit_gives_what_checkov_gives_in_a_fresh_process"):
            runs.submit(corpora / "terraform-aws-s3-bucket", edit_id, EDITS[edit_id][0],
                        tmp_path_factory.mktemp("fresh-s3"))
        vpc_test = "test_a_value_edit_of_terraform_aws_vpc_gives_what_checkov_gives_in_a_fresh_process"
        for edit_id in _selected(request, vpc_test):
            runs.submit(corpora / "terraform-aws-vpc", edit_id, VPC_EDITS[edit_id],
                        tmp_path_factory.mktemp("fresh-vpc"))
        yield runs
    finally:
        runs.close()


def _summary(run: GraphRun) -> dict[str, list[str]]:
    return {"records": sorted(map(repr, run.records)), "parsing_errors": list(run.parsing_errors)}


def _flip_default(var: str) -> Callable[[Path], str]:
    """The root module's ``variable var`` gets the other boolean default (rendered into a checked resource)."""
    def edit(root: Path) -> str:
        f = root / "variables.tf"
        text = f.read_text()
        pat = re.compile(r'(variable "' + var + r'" \{[^}]*?default\s*=\s*)(true|false)')
        m = pat.search(text)
        assert m, f"variable {var} with a boolean default not found"
        f.write_text(text[:m.start(2)] + ("false" if m.group(2) == "true" else "true") + text[m.end(2):])
        return f"variables.tf: {var} default {m.group(2)} flipped"
    return edit


def _comment(root: Path) -> str:
    f = root / "main.tf"
    f.write_text(f.read_text() + "\n# a comment: no parsed value changes\n")
    return "main.tf: comment appended"


def _random_literal(seed: int) -> Callable[[Path], str]:
    """One literal of one ``.tf`` file, chosen by ``seed``: a boolean flipped or a string changed."""
    def edit(root: Path) -> str:
        rnd = random.Random(seed)
        files = sorted(root.rglob("*.tf"))
        literal = re.compile(r'=\s*(true|false|"[A-Za-z0-9_.\-/]+")\s*$', re.M)
        while True:
            f = rnd.choice(files)
            text = f.read_text()
            found = list(literal.finditer(text))
            if found:
                break
        m = rnd.choice(found)
        old = m.group(1)
        new = {"true": "false", "false": "true"}.get(old, old[:-1] + "-edited\"")
        f.write_text(text[:m.start(1)] + new + text[m.end(1):])
        return f"{f.relative_to(root)}:{text.count(chr(10), 0, m.start()) + 1}: {old} -> {new}"
    return edit


def _all_of(*edits: Callable[[Path], str]) -> Callable[[Path], str]:
    """Every edit of ``edits``, one after another, on the same tree: one save that changes several values
    (one fresh-process reference run instead of one per edit: each costs 30-50 s of unmemoized Checkov)."""
    def edit(root: Path) -> str:
        return "; ".join(e(root) for e in edits)
    return edit


def _locals_appended(rel: str) -> Callable[[Path], str]:
    """What bench/bench_lsp.py's ``value`` edit saves: a ``locals`` block with a new value appended to ``rel``."""
    def edit(root: Path) -> str:
        f = root / rel
        f.write_text(f.read_text() + "\nlocals {\n  tfguard_bench_edit = 42\n}\n")
        return f"{rel}: locals block appended"
    return edit


EDITS: dict[str, tuple[Callable[[Path], str], bool]] = {  # id -> (edit, changes the graph's inputs)
    "comment-appended": (_comment, False),
    "variable-default-rendered-into-a-resource": (_flip_default("block_public_acls"), True),
    "locals-block-appended": (_locals_appended("examples/complete/main.tf"), True),
    "random-literals-seeds-1-7-23": (_all_of(_random_literal(1), _random_literal(7), _random_literal(23)), True),
}
VPC_EDITS: dict[str, Callable[[Path], str]] = {  # value edits only: each builds the graph again
    "locals-block-appended-and-random-literals-seeds-3-11": _all_of(
        _locals_appended("main.tf"), _random_literal(3), _random_literal(11)),
}


@pytest.fixture(scope="module")
def warm_tree(corpora: Path, fresh_runs: _FreshRuns,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    """A copy of terraform-aws-s3-bucket, run once here (the memos warm), with that run's result (the
    fresh-process runs have started in the background)."""
    checkov_modules()
    import checkov.terraform.graph_builder.local_graph as lg

    assert hasattr(lg.TerraformLocalGraph.build_graph, "__wrapped__"), "graph memo not installed"
    root = tmp_path_factory.mktemp("s3") / "terraform-aws-s3-bucket"
    shutil.copytree(corpora / "terraform-aws-s3-bucket", root)
    memo.clear()
    first = _summary(run_checkov(str(root), recursive=True))
    assert any("FAILED" in r for r in first["records"])
    return root, first


@contextlib.contextmanager
def _edited(root: Path, edit: Callable[[Path], str]) -> Iterator[str]:
    """``edit`` made on ``root`` (a warm copy, its memos those of the runs before), then undone: the next test
    edits the same tree, as an editor's successive saves do, without a run of its own on a new path."""
    before = {f: f.read_bytes() for f in root.rglob("*.tf")}
    try:
        yield edit(root)
    finally:
        for f, data in before.items():
            if f.read_bytes() != data:
                f.write_bytes(data)
        assert {f: f.read_bytes() for f in root.rglob("*.tf")} == before, "the edit was not undone"


@pytest.mark.parametrize("edit_id", list(EDITS))
def test_an_edit_gives_what_checkov_gives_in_a_fresh_process(warm_tree: tuple[Path, dict[str, list[str]]],
                                                             fresh_runs: _FreshRuns, edit_id: str) -> None:
    root, before = warm_tree
    edit, changes_graph = EDITS[edit_id]
    if not changes_graph:  # the graph in the memo under this test's environment (the memo's key holds it, and
        run_checkov(str(root), recursive=True)  # pytest sets PYTEST_CURRENT_TEST anew in each phase of a test)
    with _edited(root, edit) as what:  # the tree's memos are those of the runs before, as an editor's saves leave them
        hits = graph_memo.stats["graph_hits"]
        warm = _summary(run_checkov(str(root), recursive=True))
    reused = graph_memo.stats["graph_hits"] > hits
    assert reused is not changes_graph, f"{what}: graph {'reused' if reused else 'built again'}"
    assert warm == fresh_runs.result(root.name, edit_id, root, what), what
    if edit_id == "variable-default-rendered-into-a-resource":
        assert warm["records"] != before["records"], "the edit was meant to change a check's result"


@pytest.fixture(scope="module")
def warm_vpc(corpora: Path, fresh_runs: _FreshRuns, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of terraform-aws-vpc, run once here (the memos warm)."""
    checkov_modules()
    root = tmp_path_factory.mktemp("vpc") / "terraform-aws-vpc"
    shutil.copytree(corpora / "terraform-aws-vpc", root)
    assert any("FAILED" in r for r in _summary(run_checkov(str(root), recursive=True))["records"])
    return root


@pytest.mark.parametrize("edit_id", list(VPC_EDITS))
def test_a_value_edit_of_terraform_aws_vpc_gives_what_checkov_gives_in_a_fresh_process(
        warm_vpc: Path, fresh_runs: _FreshRuns, edit_id: str) -> None:
    root = warm_vpc
    with _edited(root, VPC_EDITS[edit_id]) as what:
        hits, ref_hits = graph_memo.stats["graph_hits"], refs_memo.stats["refs_hits"]
        warm = _summary(run_checkov(str(root), recursive=True))
    assert graph_memo.stats["graph_hits"] == hits, f"{what}: the graph was reused"
    assert refs_memo.stats["refs_hits"] > ref_hits, "the reference memo was not used"
    assert warm == fresh_runs.result(root.name, edit_id, root, what), what


def test_a_reused_graph_counts_the_same_checkov_warnings(warm_tree: tuple[Path, dict[str, list[str]]]) -> None:
    root, _ = warm_tree
    built = run_checkov(str(root), recursive=True)
    hits = graph_memo.stats["graph_hits"]
    reused = run_checkov(str(root), recursive=True)
    assert graph_memo.stats["graph_hits"] == hits + 1
    assert reused.checkov_warnings == built.checkov_warnings
    assert _summary(reused) == _summary(built)


def test_the_graph_memo_is_bounded_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A daemon scanning tree after tree keeps at most ``GRAPH_CACHE_BYTES`` of graphs (least recently used out)."""
    checkov_modules()
    assert isinstance(graph_memo.cache, LRUCache) and graph_memo.cache.maxsize == graph_memo.GRAPH_CACHE_BYTES
    assert graph_memo.cache in memo._CACHES  # cleared with the others, handed back by forked scan workers
    dirs = [REPO / "examples" / "dev", REPO / "examples" / "prod"]
    sizes = []
    for d in dirs:
        memo.clear()
        run_checkov(str(d), recursive=False)
        assert len(graph_memo.cache) == 1
        sizes.append(graph_memo.cache.currsize)
    small: LRUCache[bytes, tuple[bytes, tuple[tuple[str, int], ...]]] = LRUCache(
        maxsize=max(sizes) + min(sizes) // 2, getsizeof=graph_memo.cache.getsizeof)
    monkeypatch.setattr(graph_memo, "cache", small)
    for d in dirs * 2:
        run_checkov(str(d), recursive=False)
        assert small.currsize <= small.maxsize
    assert len(small) == 1, "the bound holds one of these graphs, not both"
    hits = graph_memo.stats["graph_hits"]
    run_checkov(str(dirs[-1]), recursive=False)  # the most recent one is the one kept
    assert graph_memo.stats["graph_hits"] == hits + 1


def test_memo_disabled_runs_checkovs_own_build(warm_tree: tuple[Path, dict[str, list[str]]]) -> None:
    import checkov.terraform.graph_builder.local_graph as lg

    root, _ = warm_tree
    with memo.disabled():
        assert not hasattr(lg.TerraformLocalGraph.build_graph, "__wrapped__")
        hits, misses = graph_memo.stats["graph_hits"], graph_memo.stats["graph_misses"]
        run_checkov(str(root / "examples" / "object"), recursive=False)
        assert (graph_memo.stats["graph_hits"], graph_memo.stats["graph_misses"]) == (hits, misses)
    assert hasattr(lg.TerraformLocalGraph.build_graph, "__wrapped__")


def test_evaluate_terraform_memo_copies_results_and_skips_assignments() -> None:
    checkov_modules()
    import checkov.terraform.graph_builder.foreach.abstract_handler as fh
    import checkov.terraform.graph_builder.variable_rendering.evaluate_terraform as et
    from checkov.terraform.graph_builder.variable_rendering import safe_eval_functions as sef

    assert hasattr(et.evaluate_terraform, "__wrapped__") and fh.evaluate_terraform is et.evaluate_terraform
    memo.clear()
    first = et.evaluate_terraform('["a", "b"]')
    first.append("c")  # a caller mutating its result must not change what the next caller gets
    assert et.evaluate_terraform('["a", "b"]') == ["a", "b"]
    assert memo.stats["tf_eval_hits"] > 0
    name = "tfguard_test_assigned"
    try:
        et.evaluate_terraform(f"{name} = 1")
        assert (f"{name} = 1", True) not in memo._tf_eval_cache, "an assignment changes asteval's table: not a memo"
    finally:
        sef.SAFE_EVAL_DICT.pop(name, None)
    with memo.disabled():
        assert not hasattr(et.evaluate_terraform, "__wrapped__") and not hasattr(fh.evaluate_terraform, "__wrapped__")


def test_graph_memo_bound_comes_from_the_environment():
    assert graph_memo._cache_bytes({}) == 256 * 1024 * 1024
    assert graph_memo._cache_bytes({"TFGUARD_GRAPH_CACHE_MB": "64"}) == 64 * 1024 * 1024
    assert graph_memo._cache_bytes({"TFGUARD_GRAPH_CACHE_MB": "lots"}) == 256 * 1024 * 1024  # said in the log
    assert graph_memo._cache_bytes({"TFGUARD_GRAPH_CACHE_MB": "0"}) == 1  # nothing fits: the memo is off
