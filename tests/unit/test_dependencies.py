"""Tier 1 re-checks only the blocks whose inputs changed value (issue 15).

A block's inputs are its own parsed value and skip comments, and the values of the variables and
locals it references, transitively (local -> local -> resource): Checkov's entity checks see those
substituted (checks.entity.render_conf). A reference to a resource, data source or module output
is not evaluated by tier 1 (the check sees the reference text), so changing that block re-checks
only itself; the dependency graph still records it (Index.dependencies). Every test compares the
incremental result with a from-scratch analysis of the same text: positions included.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from tfguard.checks import entity as entity_mod
from tfguard.checks.entity import CheckSelection, ModuleContext, entity_of
from tfguard.checks.skips import block_skips
from tfguard.engine import Engine, FileAnalysis
from tfguard.wiring import make_engine

MODULE = '''variable "open_cidr" {
  default = "0.0.0.0/0"
}

locals {
  base = "0.0.0.0/0"
}

locals {
  cidr   = local.base
  bucket = "acme-logs"
}

data "aws_iam_policy_document" "p" {
  statement {
    actions   = ["s3:*"]
    resources = ["*"]
  }
}

resource "aws_security_group" "by_local" {
  name = "by-local"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [local.cidr]
  }
}

resource "aws_security_group" "by_var" {
  name = "by-var"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.open_cidr]
  }
}

resource "aws_s3_bucket" "b" {
  bucket = local.bucket
  policy = data.aws_iam_policy_document.p.json
}

resource "aws_s3_bucket" "plain" {
  bucket = "plain"
}
'''


def _view(fa: FileAnalysis) -> list[tuple[object, ...]]:
    return sorted(((f.check_id, f.resource, f.result.value, f.span, f.line_range, f.evaluated_keys, f.message,
                    f.severity.value) for f in fa.findings), key=repr)


def _problems(fa: FileAnalysis) -> list[tuple[object, ...]]:
    return sorted(((p.code, p.span, p.message) for p in fa.problems), key=repr)


def _fresh(root: Path, overlays: dict[Path, str], path: Path, wired: bool) -> FileAnalysis:
    engine = make_engine(str(root)) if wired else Engine(str(root))
    for p, text in overlays.items():
        engine.set_overlay(str(p), text)
    return engine.analyze_file(str(path))


def _failed(fa: FileAnalysis, check_id: str) -> set[str]:
    return {f.resource for f in fa.findings if f.check_id == check_id and f.result.value == "FAILED"}


@pytest.fixture
def module(tmp_path: Path) -> tuple[Engine, Path]:
    path = tmp_path / "main.tf"
    path.write_text(MODULE)
    engine = make_engine(str(tmp_path))
    fa = engine.analyze_file(str(path))
    assert len(fa.rechecked) == 8  # the first analysis checks every block
    # CKV_AWS_24 (port 22 open to the world) fails through the local and through the variable
    assert _failed(fa, "CKV_AWS_24") == {"aws_security_group.by_local", "aws_security_group.by_var"}
    return engine, path


def _edit(engine: Engine, path: Path, text: str) -> FileAnalysis:
    engine.set_overlay(str(path), text)
    fa = engine.analyze_file(str(path))
    fresh = _fresh(path.parent, {path: text}, path, wired=True)
    assert _view(fa) == _view(fresh)
    assert _problems(fa) == _problems(fresh)
    return fa


@pytest.mark.parametrize("edit", [
    lambda t: t.replace('  base = "0.0.0.0/0"', '  base   =   "0.0.0.0/0"   '),  # spaces inside locals
    lambda t: t.replace('  cidr   = local.base', '  cidr   = local.base # why'),  # a comment inside locals
    # lines inside locals: every block below moves
    lambda t: t.replace('locals {\n  base', 'locals {\n\n  # the world\n\n  base'),
    lambda t: t.replace('    actions   = ["s3:*"]', '    actions = [ "s3:*" ]  // x'),  # inside data
    lambda t: t.replace('  statement {', '\n  statement   {\n'),  # lines inside data
    lambda t: t.replace('  default = "0.0.0.0/0"', '  # open\n  default =  "0.0.0.0/0"'),  # inside a variable
], ids=["locals-spaces", "locals-comment", "locals-lines", "data-spaces", "data-lines", "variable-comment"])
def test_whitespace_or_comment_edit_rechecks_no_block(module: tuple[Engine, Path], edit) -> None:
    engine, path = module
    text = edit(MODULE)
    assert text != MODULE
    fa = _edit(engine, path, text)
    assert fa.rechecked == ()
    # and back: still nothing to re-check, everything where it was
    assert _edit(engine, path, MODULE).rechecked == ()


def test_whitespace_edit_inside_a_resource_relocates_its_findings(module: tuple[Engine, Path]) -> None:
    engine, path = module
    text = MODULE.replace('    cidr_blocks = [var.open_cidr]', '\n    cidr_blocks   =   [var.open_cidr]  # ssh')
    fa = _edit(engine, path, text)
    assert fa.rechecked == ()
    by_var = [f for f in fa.findings if f.check_id == "CKV_AWS_24" and f.resource == "aws_security_group.by_var"]
    moved_to = next(i for i, ln in enumerate(text.split("\n")) if "cidr_blocks   =   [var.open_cidr]" in ln)
    assert by_var and by_var[0].span.start.line == moved_to  # at the attribute, one line lower than before


def test_value_edit_of_a_local_rechecks_exactly_its_dependents(module: tuple[Engine, Path]) -> None:
    engine, path = module
    # local.base -> local.cidr -> aws_security_group.by_local; nothing else reads local.base
    fa = _edit(engine, path, MODULE.replace('  base = "0.0.0.0/0"', '  base = "10.0.0.0/8"'))
    assert set(fa.rechecked) == {("locals",), ("locals",), ("resource", "aws_security_group", "by_local")}
    assert len(fa.rechecked) == 2 + 1
    assert _failed(fa, "CKV_AWS_24") == {"aws_security_group.by_var"}  # the user sees it go
    # a local in the second block: only the bucket reads it
    fa = _edit(engine, path, MODULE.replace('"acme-logs"', '"acme-logs-2"'))
    # (local.base is back to its first value: its block and by_local get their first results from the cache)
    assert sorted(fa.rechecked) == [("locals",), ("resource", "aws_s3_bucket", "b")]


def test_value_edit_of_a_variable_rechecks_exactly_its_dependents(module: tuple[Engine, Path]) -> None:
    engine, path = module
    fa = _edit(engine, path, MODULE.replace('  default = "0.0.0.0/0"', '  default = "10.0.0.0/8"'))
    assert sorted(fa.rechecked) == [("resource", "aws_security_group", "by_var"), ("variable", "open_cidr")]
    assert _failed(fa, "CKV_AWS_24") == {"aws_security_group.by_local"}


def test_value_edit_of_a_data_source_rechecks_only_itself(module: tuple[Engine, Path]) -> None:
    engine, path = module
    # the bucket's policy refers to the data source, but tier 1 does not evaluate that reference (the check
    # sees "${data.aws_iam_policy_document.p.json}"), so its result cannot change: it is not re-checked
    fa = _edit(engine, path, MODULE.replace('["s3:*"]', '["s3:GetObject"]'))
    assert fa.rechecked == (("data", "aws_iam_policy_document", "p"),)
    # the graph records the reference all the same (for callers that evaluate it, like Checkov's graph)
    graph = engine.index.dependencies(str(path.parent))
    assert [pb.block.address for _f, pb in graph.dependents(["data.aws_iam_policy_document.p"])] == [
        "aws_s3_bucket.b"]
    chain = [pb.block.address for _f, pb in graph.dependents(["local.base"])]
    assert chain == ["locals", "aws_security_group.by_local"]  # transitively, through local.cidr


def test_variable_in_another_file_is_an_input(tmp_path: Path) -> None:
    main = tmp_path / "main.tf"
    # the security group reading var.open_cidr, the variable in variables.tf
    main.write_text(MODULE[MODULE.index('resource "aws_security_group" "by_var"'):])
    variables = tmp_path / "variables.tf"
    variables.write_text('variable "open_cidr" {\n  default = "0.0.0.0/0"\n}\n')
    engine = make_engine(str(tmp_path))
    assert _failed(engine.analyze_file(str(main)), "CKV_AWS_24") == {"aws_security_group.by_var"}
    engine.set_overlay(str(variables), '# comment\nvariable "open_cidr" {\n  default   = "0.0.0.0/0"\n}\n')
    assert engine.analyze_file(str(main)).rechecked == ()
    engine.set_overlay(str(variables), 'variable "open_cidr" {\n  default = "10.0.0.0/8"\n}\n')
    fa = engine.analyze_file(str(main))
    assert fa.rechecked == (("resource", "aws_security_group", "by_var"),)
    assert _failed(fa, "CKV_AWS_24") == set()


def test_skip_comment_is_an_input(module: tuple[Engine, Path]) -> None:
    engine, path = module
    text = MODULE.replace('  name = "by-var"', '  name = "by-var"\n  #checkov:skip=CKV_AWS_24:bastion')
    fa = _edit(engine, path, text)
    assert fa.rechecked == (("resource", "aws_security_group", "by_var"),)
    assert _failed(fa, "CKV_AWS_24") == {"aws_security_group.by_local"}


# ------------------------------------------------------------------ property: incremental == from scratch
_FILES = [
    ("terraform-aws-vpc", "main.tf", "variables.tf"),
    ("terraform-aws-s3-bucket", "main.tf", "variables.tf"),
    ("terragoat", "terraform/aws/eks.tf", "terraform/aws/consts.tf"),
    ("terragoat", "terraform/aws/db-app.tf", "terraform/aws/consts.tf"),
]


def _random_edit(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    line = lines[i]
    op = rng.randrange(8)
    if op == 0:  # a space somewhere in the line
        col = rng.randrange(len(line) + 1)
        lines[i] = line[:col] + " " + line[col:]
    elif op == 1:  # Enter at the end of the line
        lines.insert(i + 1, "")
    elif op == 2:  # a comment at the end of the line (inside a heredoc it is text: a value edit)
        lines[i] = line + "  # note"
    elif op == 3:  # a character typed into a string literal
        q = line.rfind('"')
        lines[i] = line[:q] + "z" + line[q:] if q > 0 else line + " "
    elif op == 4:  # a line deleted (may break a block: the broken-block path)
        del lines[i]
    elif op == 5:  # a digit changed
        digits = [k for k, c in enumerate(line) if c.isdigit()]
        if digits:
            k = rng.choice(digits)
            lines[i] = line[:k] + str((int(line[k]) + 1) % 10) + line[k + 1:]
    elif op == 6:  # a local or variable default renamed in a reference
        lines[i] = line.replace("local.", "local.x", 1) if "local." in line else line.replace("var.", "var.y", 1)
    else:  # a value others read: a variable's default or a local's literal (its readers change value)
        values = [k for k in _value_lines(lines) if '"' in lines[k] or any(c.isdigit() for c in lines[k])]
        if values:
            k = rng.choice(values)
            q = lines[k].rfind('"')
            lines[k] = lines[k][:q] + "z" + lines[k][q:] if q > 0 else re.sub(r"\d", "7", lines[k], count=1)
    return "\n".join(lines)


def _value_lines(lines: list[str]) -> list[int]:
    """Lines of ``default = ...`` attributes and of the bodies of ``locals`` blocks."""
    out: list[int] = []
    in_locals = False
    for k, line in enumerate(lines):
        if line.startswith("locals"):
            in_locals = True
        elif line.startswith("}"):
            in_locals = False
        elif in_locals or line.strip().startswith("default"):
            out.append(k)
    return out


@pytest.mark.parametrize("corpus,rel,other", _FILES, ids=[f"{c}/{r}" for c, r, _ in _FILES])
def test_incremental_equals_from_scratch_after_random_edits(corpora: Path, corpus: str, rel: str,
                                                            other: str) -> None:
    src = corpora / corpus
    path = src / rel
    other_path = src / other
    engine = make_engine(str(path.parent))
    engine.analyze_file(str(path))
    rng = random.Random(f"{corpus}/{rel}")
    texts = {path: path.read_text(), other_path: other_path.read_text()}
    for step in range(25):
        target = path if rng.random() < 0.75 else other_path  # an edit in the other file changes inputs too
        texts[target] = _random_edit(rng, texts[target])
        engine.set_overlay(str(target), texts[target])
        got = engine.analyze_file(str(path))
        fresh = _fresh(path.parent, texts, path, wired=True)
        assert _view(got) == _view(fresh), f"step {step}: {target.name} edited"
        assert _problems(got) == _problems(fresh), f"step {step}"


# ------------------------------------------------------- checks re-run per changed attribute == a full run
_VALUES: list[object] = ["0.0.0.0/0", True, False, "", 0, 1, 22, "x", ["0.0.0.0/0"], None, "AES256", "aws:kms",
                         "*", ["*"], "TLSv1", {"enabled": True}, "${var.nope}"]


def _perturbed(ctx: ModuleContext, rng: random.Random) -> ModuleContext:
    """``ctx`` with about half its variables and locals given another value (ones checks tell apart)."""
    def change(table: dict[str, object]) -> dict[str, object]:
        return {k: (rng.choice(_VALUES) if rng.random() < 0.5 else v) for k, v in table.items()}
    return ModuleContext(variables=change(dict(ctx.variables)), locals=change(dict(ctx.locals)))


@pytest.mark.parametrize("corpus,rel,other", _FILES, ids=[f"{c}/{r}" for c, r, _ in _FILES])
def test_checks_rerun_per_changed_attribute_equal_a_full_run(corpora: Path, corpus: str, rel: str,
                                                             other: str) -> None:
    """A resource checked again after the module's values changed reuses the result of each check whose
    attributes did not change value (checks.entity): every result equals a run of every check."""
    path = corpora / corpus / rel
    engine = make_engine(str(path.parent))
    engine.analyze_file(str(path))  # Checkov's checks loaded
    module_dir = str(path.parent)
    ctx = engine.index.module_context(module_dir)
    st = engine.index.state(str(path))
    selection = CheckSelection()
    rng = random.Random(f"attrs/{corpus}/{rel}")
    variants = [ctx] + [_perturbed(ctx, rng) for _ in range(8)]
    # other module values, none of them read by the resources: the same rendered conf, every result kept
    variants.append(ModuleContext(variables=dict(variants[-1].variables),
                                  locals={**variants[-1].locals, "zz_read_by_nothing": "0.0.0.0/0"}))
    resources = 0
    reused = 0
    for pb in st.parsed:
        if pb.block.kind != "resource" or pb.conf is None:
            continue
        found = entity_of("resource", pb.conf)
        if found is None:
            continue
        resources += 1
        entity, address = found
        skips = block_skips(pb.block)
        for i, variant in enumerate(variants):
            got = entity_mod.run_entity_checks("resource", entity, address, variant, skips, selection, "/main.tf")
            full = entity_mod._run_uncached("resource", entity, address, variant, skips, selection, "/main.tf")
            assert got == full, f"{address}, values {i}"
        prior = entity_mod._priors.get(("resource", entity_mod._digest(entity),
                                        ";".join(f"{s.check_id}:{s.reason}" for s in skips), selection.digest,
                                        "/main.tf"))
        reused += sum(1 for _c, reads, _r in (prior.checks.values() if prior else ()) if reads is not None)
    assert resources > 5
    assert reused > 0  # some checks' results could be reused (else this compares nothing incremental)


# ------------------------------------------------------------ locals parsed attribute by attribute == whole
def test_locals_parsed_piecewise_equal_the_whole_block(corpora: Path) -> None:
    """Every ``locals`` block of the corpora, as it is and after random edits (spaces, comments, literals,
    deleted lines: broken blocks too), parses to the conf and problem ``hcl2`` gives for the whole block."""
    from tfguard.engine.index import _locals_piecewise, parse_piecewise
    from tfguard.hcl.blocks import split_blocks
    from tfguard.hcl.parse import parse_block

    rng = random.Random("locals-piecewise")
    blocks = 0
    piecewise = 0
    for f in sorted(corpora.rglob("*.tf")):
        text = f.read_text(encoding="utf-8", errors="replace")
        for b in split_blocks(text).blocks:
            if b.kind != "locals":
                continue
            variants = [b.text] + [_random_edit(rng, b.text) for _ in range(6)]
            for v in variants:
                for edited in split_blocks("\n" * b.first_line + v).blocks:
                    if edited.kind != "locals":
                        continue
                    blocks += 1
                    piecewise += _locals_piecewise(edited) is not None
                    got, whole = parse_piecewise(edited, str(f)), parse_block(edited, str(f))
                    assert (got.conf, got.problem) == (whole.conf, whole.problem), f"{f}:{b.first_line + 1}: {v!r}"
    assert blocks > 100 and piecewise > blocks // 2  # most are read piecewise (else this compares little)
