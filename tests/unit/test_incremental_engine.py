"""Tier 1 after edits that move blocks equals tier 1 on the same text from scratch.

Moved blocks keep their items, parsed conf and findings, shifted lazily (Block.item_shift,
ParsedBlock.moved_to, FileAnalysis.segments); this proves nothing is left at an old position.
"""

from __future__ import annotations

from pathlib import Path

from tfguard.engine import Engine, FileAnalysis
from tfguard.hcl.blocks import split_blocks


def _blocks(n: int) -> list[str]:
    out = []
    for i in range(n):
        out.append(f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "acme-{i}"\n  acl    = "public-read"\n}}\n')
        out.append(f'resource "aws_security_group" "sg{i}" {{\n  name = "sg{i}"\n  ingress {{\n    from_port = 22\n'
                   f'    to_port = 22\n    protocol = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }}\n}}\n')
    return out


def _view(fa: FileAnalysis) -> list[tuple[object, ...]]:
    return sorted((f.check_id, f.resource, f.result.value, f.span, f.line_range, f.evaluated_keys, f.severity.value,
                   f.priority) for f in fa.findings)


def _problems(fa: FileAnalysis) -> list[tuple[object, ...]]:
    return sorted((p.code, p.span, p.message) for p in fa.problems)


def test_edits_that_move_blocks_give_what_a_fresh_analysis_gives(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    blocks = _blocks(15)
    path.write_text("\n".join(blocks))
    engine = Engine(str(tmp_path))
    engine.analyze_file(str(path))
    edits = [
        lambda t: "\n\n" + t,  # Enter twice at the top: everything moves
        lambda t: t.replace('"acme-3"', '"acme-3x"'),  # typing inside a line
        lambda t: t.replace('  acl    = "public-read"\n', "", 1),  # a line deleted: blocks below move up
        lambda t: t.replace('resource "aws_s3_bucket" "b5" {\n', 'resource "aws_s3_bucket" "b5" {\n  acl = \n'),
        lambda t: t.replace('  acl = \n', '  # fixed\n\n'),  # the broken block repaired, one line longer
        lambda t: t[: len(t) // 2] + "\n# note\n" + t[len(t) // 2:],  # a comment in the middle
    ]
    text = path.read_text()
    for i, edit in enumerate(edits):
        text = edit(text)
        engine.set_overlay(str(path), text)
        got = engine.analyze_file(str(path))
        fresh_dir = tmp_path / f"fresh{i}"
        fresh_dir.mkdir()
        (fresh_dir / "main.tf").write_text(text)
        want = Engine(str(fresh_dir)).analyze_file(str(fresh_dir / "main.tf"))
        assert _view(got) == _view(want), i
        assert _problems(got) == _problems(want), i
        # items of moved blocks are where a fresh split puts them
        assert [b.items for b in engine.state(str(path)).split.blocks] == [b.items for b in split_blocks(text).blocks]


def test_moved_findings_are_shifted_only_when_read(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_text("\n".join(_blocks(10)))
    engine = Engine(str(tmp_path))
    first = engine.analyze_file(str(path))
    assert first.findings
    engine.set_overlay(str(path), "\n" + path.read_text())
    moved = engine.analyze_file(str(path))
    segments = moved.segments()
    assert all(shift == 1 for shift, _ in segments)
    assert segments[0][1][0] is first.findings[0]  # not copied
    assert moved.findings[0].span.start.line == first.findings[0].span.start.line + 1
    assert moved.findings[0].origin is first.findings[0]
