"""The editor's full check (scan/live.py) re-runs only the scan units an edit touches, on the unsaved text,
and merges a module's instance findings of every caller into one finding naming them."""

from __future__ import annotations

from pathlib import Path

from tfguard.engine.tier2 import merge_instances, module_address
from tfguard.model import Finding, Result, Span
from tfguard.scan.live import LiveScan
from tfguard.wiring import make_engine

MODULE = ('variable "cidr" {\n  default = "10.0.0.0/8"\n}\n\nresource "aws_security_group" "sg" {\n'
          '  name        = "x"\n  description = "x"\n  ingress {\n    description = "ssh"\n    from_port   = 22\n'
          '    to_port     = 22\n    protocol    = "tcp"\n    cidr_blocks = [var.cidr]\n  }\n}\n')


def _tree(root: Path, n: int = 3) -> None:
    (root / "modules" / "sg").mkdir(parents=True)
    (root / "modules" / "sg" / "main.tf").write_text(MODULE)
    for i in range(1, n + 1):
        d = root / "examples" / f"ex{i}"
        d.mkdir(parents=True)
        (d / "main.tf").write_text(f'module "sg_{i}" {{\n  source = "../../modules/sg"\n'
                                   f'  cidr   = "10.{i}.0.0/16"\n}}\n')


def _failed(run_results: dict, path: Path) -> list[Finding]:
    return [f for f in run_results[str(path)].findings if f.result is Result.FAILED]


def test_only_the_touched_units_run_again_and_unsaved_inputs_count(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _tree(root)
    engine = make_engine(str(root))
    live = LiveScan(engine, str(root))
    first = live.run()
    assert sorted(first.ran) == ["examples/ex1", "examples/ex2", "examples/ex3"] and first.reused == 0
    module = root / "modules" / "sg" / "main.tf"
    assert not [f for f in _failed(first.results, module) if f.check_id == "CKV_AWS_24"]

    ex2 = root / "examples" / "ex2" / "main.tf"
    engine.set_overlay(str(ex2), ex2.read_text().replace("10.2.0.0/16", "0.0.0.0/0"))  # unsaved
    second = live.run([str(ex2.parent)])
    assert second.ran == ["examples/ex2"]  # the module file is read by all three: the others answer from memory
    assert second.reused == 2
    hits = [f for f in _failed(second.results, module) if f.check_id == "CKV_AWS_24"]
    assert len(hits) == 1 and "via module.sg_2 in examples/ex2" in hits[0].message
    assert [c[0] for c in hits[0].callers] == [str(ex2)]

    third = live.run([str(ex2.parent)])  # nothing changed since: nothing runs
    assert third.ran == [] and third.reused == 3
    engine.set_overlay(str(module), MODULE.replace('"10.0.0.0/8"', '"0.0.0.0/0"'))
    fourth = live.run([str(module.parent)])  # the module every example calls: every unit
    assert sorted(fourth.ran) == ["examples/ex1", "examples/ex2", "examples/ex3"]


def test_instances_of_one_check_and_block_merge_naming_every_caller(tmp_path: Path) -> None:
    mod = str(tmp_path / "modules" / "sg" / "main.tf")

    def finding(caller: str | None, address: str, result: Result = Result.FAILED) -> Finding:
        return Finding("CKV_AWS_24", "No SSH from 0.0.0.0/0", result, mod, address, (5, 15), Span.of(4, 0, 4, 10),
                       caller_file=caller, caller_line_range=(1, 4) if caller else None)

    a, b = str(tmp_path / "examples" / "a" / "main.tf"), str(tmp_path / "examples" / "b" / "main.tf")
    merged = merge_instances([finding(b, "module.sg_b.aws_security_group.sg"),
                              finding(a, "module.sg_a.aws_security_group.sg"),
                              finding(a, "module.sg_a.aws_security_group.sg", Result.PASSED),
                              finding(None, "aws_security_group.sg")], str(tmp_path))
    failed = [f for f in merged if f.result is Result.FAILED]
    assert len(failed) == 1  # once per check and block
    assert failed[0].message == "No SSH from 0.0.0.0/0 via module.sg_a in examples/a, module.sg_b in examples/b"
    assert [c[3] for c in failed[0].callers] == ["module.sg_a", "module.sg_b"]
    assert len([f for f in merged if f.result is Result.PASSED]) == 1
    assert module_address("module.a.module.b[0].aws_s3_bucket.x") == "module.a.module.b[0]"
    assert module_address("aws_s3_bucket.x") == ""
