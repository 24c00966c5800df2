"""How `tfguard scan` splits a tree: independent units in parallel, one run when call names collide."""

from __future__ import annotations

import os
from pathlib import Path

from tfguard.scan import pool as scanpool
from tfguard.scan.pool import ScanUnit, colliding_units, whole_tree_unit
from tfguard.scan.runner import scan
from tfguard.wiring import make_engine

MODULE = 'resource "aws_s3_bucket" "this" {\n  bucket = var.name\n}\n\nvariable "name" {\n  default = "x"\n}\n'


def _example(root: Path, name: str, call: str) -> None:
    d = root / "examples" / name
    d.mkdir(parents=True)
    (d / "main.tf").write_text(f'module "{call}" {{\n  source = "../../"\n  name   = "{name}"\n}}\n')


def _tree(tmp_path: Path, calls: list[str]) -> Path:
    root = tmp_path / "repo"
    root.mkdir(parents=True)
    (root / "main.tf").write_text(MODULE)
    for i, call in enumerate(calls):
        _example(root, f"ex{i}", call)
    return root


def test_shared_call_name_across_units_is_a_collision(tmp_path: Path) -> None:
    root = os.path.realpath(_tree(tmp_path, ["bucket", "bucket", "other"]))
    ex = [os.path.join(root, "examples", f"ex{i}") for i in range(3)]
    units = [ScanUnit(root=e, dirs=tuple(sorted((e, root)))) for e in ex]
    names = {e: [n] for e, n in zip(ex, ["bucket", "bucket", "other"], strict=True)}
    assert colliding_units(units, lambda d: names.get(d, [])) == {"bucket"}
    whole = whole_tree_unit(root, units)
    assert whole.recursive and set(whole.dirs) == {root, *ex}
    # the same name twice inside one unit is not a collision between units
    assert colliding_units(units[:1], lambda d: ["bucket", "bucket"]) == set()


def test_scan_runs_a_colliding_tree_in_one_recursive_run(tmp_path: Path, monkeypatch) -> None:
    seen: list[list[ScanUnit]] = []
    real = scanpool.run_units

    def spy(units: list[ScanUnit], *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(list(units))
        return real(units, *args, **kwargs)

    monkeypatch.setattr(scanpool, "run_units", spy)
    colliding = _tree(tmp_path / "a", ["bucket", "bucket"])
    eng = make_engine(str(colliding))
    report = scan(eng, [str(colliding)], cache_dir="")
    assert [u.recursive for u in seen[-1]] == [True]
    # both instances reported, as `checkov -d` reports them
    assert {f.resource for f in report.findings if f.check_id == "CKV_AWS_18"} >= {
        "module.bucket.aws_s3_bucket.this"}
    separate = _tree(tmp_path / "b", ["one", "two"])
    eng = make_engine(str(separate))
    scan(eng, [str(separate)], cache_dir="")
    assert len(seen[-1]) == 2 and not any(u.recursive for u in seen[-1])
