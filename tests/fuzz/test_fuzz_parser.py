"""Property-based fuzzing (short CI budget): the parser and the engine never crash, hang or lose findings.

The long run is ``python -m tests.fuzz.mutate --inputs 10000`` (figures in docs/reliability.md).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.mutate import MUTATORS, Harness, corpus_files, mutate

CI = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])

TOKENS = ['resource', 'data', 'module', 'locals', 'variable', '"aws_s3_bucket"', '"b"', '{', '}', '[', ']', '(',
          ')', '=', '"', "'", '${', '%{', '<<EOF\n', '\nEOF\n', '<<-X\n', '/*', '*/', '#', '//', '\n', '\r\n', '\r',
          ' ', '\t', ',', ':', '?', '...', 'acl', 'true', '1.5e3', 'var.x', 'for x in y', '\x00', '\ufeff',
          '\u2028', '🔥', 'é', '\\', '"public-read"', 'versioning {\n enabled = false\n}\n']


@pytest.fixture(scope="module")
def harness() -> Harness:
    return Harness(budget=2.0)


def terragoat_s3(files: list[Path]) -> bytes:
    """terragoat's ``s3.tf`` (many buckets, many findings); other corpora have smaller files of that name."""
    return next(p for p in files if p.name == "s3.tf" and "terragoat" in p.parts).read_bytes()


@pytest.fixture(scope="module")
def files() -> list[Path]:
    found = corpus_files()
    if not found:
        pytest.skip("corpora not found (../shared/corpora or $TFGUARD_CORPORA): mutation fuzzing needs real files")
    return found


@CI
@given(st.lists(st.sampled_from(TOKENS) | st.text(max_size=8), max_size=80))
def test_token_soup_never_crashes_and_problems_are_located(harness: Harness, parts: list[str]) -> None:
    text = "".join(parts)
    harness.check(b"", text.encode("utf-8", "surrogatepass"))


@CI
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(harness: Harness, data: bytes) -> None:
    harness.check(b"", data)


@settings(CI, max_examples=100)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), which=st.integers(min_value=0))
def test_mutated_corpus_files(harness: Harness, files: list[Path], seed: int, which: int) -> None:
    rng = random.Random(seed)
    original = files[which % len(files)].read_bytes()
    _, data = mutate(original, rng)
    harness.check(original, data)


@pytest.mark.parametrize("name", sorted(MUTATORS))
def test_each_mutator_on_a_real_file(harness: Harness, files: list[Path], name: str) -> None:
    original = terragoat_s3(files)
    for seed in range(3):
        harness.check(original, MUTATORS[name](original, random.Random(seed)))


def test_truncation_at_every_line_keeps_earlier_blocks(harness: Harness, files: list[Path]) -> None:
    original = terragoat_s3(files)
    cuts = [i for i, c in enumerate(original) if c == 0x0A]
    compared = 0
    for cut in cuts[:: max(1, len(cuts) // 40)]:
        compared += harness.check(original, original[:cut]).compared_blocks
    assert compared > 0, "unchanged blocks before the cut were compared with the unmutated file"


STRINGISH = ['"', "${", "}", "{", "\\", '\\"', "a", " ", "\n", "'", "(", ")", "=", "x =", "%{", "$", "#", "/*", "*/"]


@CI
@given(st.lists(st.sampled_from(STRINGISH), max_size=8))
def test_hardened_hcl2_grammar_accepts_exactly_what_the_original_does(parts: list[str]) -> None:
    """The atomic-group fix (tfguard.hcl.harden) changes speed, never results (inputs kept short:
    the original grammar backtracks exponentially)."""
    from hcl2.transformer import DictTransformer

    from tfguard.hcl import harden

    assert harden.harden_hcl2() and harden.original_parser is not None
    import hcl2.parser as hp

    text = "a = " + "".join(parts) + "\n"

    def run(parser):  # noqa: ANN001
        try:
            return DictTransformer().transform(parser.parse(text))
        except Exception as e:  # noqa: BLE001
            return type(e).__name__

    assert run(hp.Hcl2.lark_parser) == run(harden.original_parser)


def test_unclosed_interpolation_does_not_hang_the_parser() -> None:
    import time

    from tfguard.hcl.parse import _parse_text

    text = ('module "m" {\n  content = "some-con=>,${tent-locked-by-governance-and-more-text"\n'
            '  date = formatdate("YYYY-MM-DD\'T\'hh:00:00Z", timeadd(timestamp(), "1h")) # ("ON" or "OFF")\n}\n')
    t0 = time.thread_time()
    conf, err = _parse_text(text)
    assert time.thread_time() - t0 < 1.0  # the fork's own grammar: practically forever
    assert conf is None and err is not None and err[0] in (2, 3)


@CI
@given(st.text(alphabet='"\\#/*a =', max_size=40))
def test_linear_strip_line_comment_equals_the_original(line: str) -> None:
    import hcl2.parser  # noqa: F401

    from tfguard.hcl import harden

    assert harden.harden_hcl2()
    original = _original_strip_line_comment()
    assert harden.strip_line_comment(line) == original(line)


def _original_strip_line_comment():  # noqa: ANN202
    import importlib.util

    spec = importlib.util.find_spec("hcl2.parser")
    assert spec is not None and spec.origin is not None
    source = open(spec.origin, encoding="utf-8").read()
    start = source.index("def strip_line_comment")
    end = source.index("\nclass Hcl2")
    ns: dict = {}
    exec("from __future__ import annotations\n" + source[start:end], ns)  # noqa: S102  (the fork's own code)
    return ns["strip_line_comment"]


CRASHES = Path(__file__).parent / "crashes"


@pytest.mark.parametrize("path", sorted(CRASHES.glob("*.tf")), ids=lambda p: p.name)
def test_inputs_that_once_failed(harness: Harness, path: Path) -> None:
    """Inputs the long run found (kept as regression cases)."""
    harness.check(b"", path.read_bytes())
