"""Mutation fuzzer over real Terraform files: the parser and the engine never crash, hang or lose findings.

Each input is a real file from ../shared/corpora (or $TFGUARD_CORPORA) with one or more mutations:
truncation, byte flips, deleted/duplicated braces and quotes, deep nesting, very long strings and
lines, NUL bytes, invalid UTF-8, mixed line endings. For every input:

- ``split_blocks``/``parse_block``/``Engine.analyze_file`` (from disk and as unsaved text) return
  within the per-input budget (a watchdog kills a hang with a traceback) and never raise;
- every block that does not parse has a problem located within the file (line < line count);
- every problem is located within the file;
- a block whose text is unchanged, in a module whose variables/locals are unchanged, keeps exactly
  the findings it had in the unmutated file.

Long run (documented in docs/reliability.md)::

    python -m tests.fuzz.mutate --inputs 10000 [--seed N] [--budget 2.0]
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPORA = Path(os.environ.get("TFGUARD_CORPORA", REPO.parent / "shared" / "corpora"))


def corpus_files(root: Path = CORPORA) -> list[Path]:
    """Every ``.tf`` file of the corpora, sorted (empty when the corpora are absent)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.tf") if ".terraform" not in p.parts and p.is_file())


# ----------------------------------------------------------------- mutators
Mutator = Callable[[bytes, random.Random], bytes]


def _pos(data: bytes, rng: random.Random) -> int:
    return rng.randrange(len(data) + 1)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: _pos(data, rng)]


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def _chars_at(data: bytes, chars: bytes) -> list[int]:
    return [i for i, c in enumerate(data) if c in chars]


def delete_brace_or_quote(data: bytes, rng: random.Random) -> bytes:
    idx = _chars_at(data, b'{}[]()"')
    if not idx:
        return data
    for i in sorted(rng.sample(idx, min(len(idx), rng.randint(1, 3))), reverse=True):
        data = data[:i] + data[i + 1:]
    return data


def duplicate_brace_or_quote(data: bytes, rng: random.Random) -> bytes:
    idx = _chars_at(data, b'{}[]()"')
    if not idx:
        return data
    for i in sorted(rng.sample(idx, min(len(idx), rng.randint(1, 3))), reverse=True):
        data = data[:i] + data[i:i + 1] * rng.randint(2, 4) + data[i + 1:]
    return data


def deep_nesting(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice((50, 200, 1000, 5000))
    kind = rng.choice(("block", "list", "map", "paren", "unclosed"))
    if kind == "block":
        inner = b"a {\n" * depth + b"x = 1\n" + b"}\n" * depth
        snippet = b'resource "aws_s3_bucket" "deep" {\n' + inner + b"}\n"
    elif kind == "list":
        snippet = b'locals {\n  deep = ' + b"[" * depth + b"1" + b"]" * depth + b"\n}\n"
    elif kind == "map":
        snippet = b'locals {\n  deep = ' + b"{a = " * depth + b"1" + b"}" * depth + b"\n}\n"
    elif kind == "paren":
        snippet = b'resource "aws_s3_bucket" "p" {\n  bucket = ' + b"(" * depth + b'"x"' + b")" * depth + b"\n}\n"
    else:
        snippet = b'resource "aws_s3_bucket" "u" {\n' + b"a {\n" * depth
    i = _line_start(data, rng)
    return data[:i] + snippet + data[i:]


def _line_start(data: bytes, rng: random.Random) -> int:
    starts = [0] + [i + 1 for i, c in enumerate(data) if c == 0x0A]
    return rng.choice(starts)


def long_string(data: bytes, rng: random.Random) -> bytes:
    n = rng.choice((10_000, 100_000, 500_000))
    body = rng.choice((b"a", b"\\\"", b"${", b"\xc3\xa9", b"%{", b"$${"))
    snippet = b'resource "aws_s3_bucket" "long" {\n  bucket = "' + body * (n // len(body)) + b'"\n}\n'
    i = _line_start(data, rng)
    return data[:i] + snippet + data[i:]


def long_line(data: bytes, rng: random.Random) -> bytes:
    n = rng.choice((10_000, 200_000))
    filler = rng.choice((b" ", b"#", b"x", b"= ", b"/*"))
    i = _pos(data, rng)
    return data[:i] + filler * (n // len(filler)) + data[i:]


def nul_bytes(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 4)):
        i = _pos(data, rng)
        data = data[:i] + b"\x00" * rng.randint(1, 3) + data[i:]
    return data


def invalid_utf8(data: bytes, rng: random.Random) -> bytes:
    seq = rng.choice((b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80\x80",
                      b"\xef\xbb\xbf"))  # the last is a BOM in the middle: valid UTF-8 but odd
    i = _pos(data, rng)
    return data[:i] + seq + data[i:]


def mixed_line_endings(data: bytes, rng: random.Random) -> bytes:
    out = bytearray()
    for line in data.split(b"\n"):
        out += line + rng.choice((b"\n", b"\r\n", b"\r", b"\n\r", b"\r\r\n"))
    return bytes(out[: len(out) - rng.randint(0, 2)])


def delete_lines(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    if len(lines) < 2:
        return data
    i = rng.randrange(len(lines))
    del lines[i: i + rng.randint(1, 3)]
    return b"\n".join(lines)


def random_bytes(data: bytes, rng: random.Random) -> bytes:
    i = _pos(data, rng)
    return data[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 32))) + data[i:]


def hcl_noise(data: bytes, rng: random.Random) -> bytes:
    tokens = (b"${", b"}", b"%{ if x }", b"%{ endif }", b"<<EOF\n", b"\nEOF\n", b"<<-EOT\n", b"/*", b"*/", b"#",
              b"//", b"=", b"=>", b"...", b"?", b":", b",", b"[for x in y : x]", b"{for k, v in m : k => v}",
              b'"', b"'", b"\\", b"\t", b"\xc2\xa0", b"\xe2\x80\xa8", b"\xf0\x9f\x94\xa5")
    i = _pos(data, rng)
    return data[:i] + b"".join(rng.choice(tokens) for _ in range(rng.randint(1, 6))) + data[i:]


MUTATORS: dict[str, Mutator] = {
    "truncate": truncate,
    "flip_bytes": flip_bytes,
    "delete_brace_quote": delete_brace_or_quote,
    "duplicate_brace_quote": duplicate_brace_or_quote,
    "deep_nesting": deep_nesting,
    "long_string": long_string,
    "long_line": long_line,
    "nul_bytes": nul_bytes,
    "invalid_utf8": invalid_utf8,
    "mixed_line_endings": mixed_line_endings,
    "delete_lines": delete_lines,
    "random_bytes": random_bytes,
    "hcl_noise": hcl_noise,
}


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One to three mutations, named ``a+b``."""
    names = [rng.choice(list(MUTATORS)) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
    for n in names:
        data = MUTATORS[n](data, rng)
    return "+".join(names), data


# ------------------------------------------------------------------ checking
class FuzzFailure(AssertionError):
    """A property did not hold for one input."""


@dataclass
class Baseline:
    """The unmutated file's findings per block text, and its module context."""

    ctx_digest: str
    by_text: dict[str, set[tuple[str, str]]]


@dataclass
class Outcome:
    kind: str  # clean | syntax | unreadable | too-large
    seconds: float
    compared_blocks: int = 0
    broken_blocks: int = 0


@dataclass
class Harness:
    """One engine over a private module directory; inputs are written there as ``main.tf``."""

    budget: float = 2.0
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="tfguard-fuzz-"))

    def __post_init__(self) -> None:
        from tfguard.engine import Engine

        self.module = os.path.join(self.workdir, "module")
        os.makedirs(self.module, exist_ok=True)
        self.path = os.path.join(self.module, "main.tf")
        self.engine = Engine(self.workdir)
        self._baselines: dict[bytes, Baseline] = {}

    # -- helpers
    def _write(self, data: bytes) -> None:
        with open(self.path, "wb") as f:
            f.write(data)
        self.engine.forget(self.path)

    def _timed(self, what: str, fn: Callable[[], object]) -> tuple[object, float]:
        """Run ``fn``; its CPU time (this thread) must stay within the budget. CPU, not wall time:
        the test machines are shared and noisy; a hang burns CPU (the watchdog catches a blocked one)."""
        t0 = time.thread_time()
        out = fn()
        dt = time.thread_time() - t0
        if dt > self.budget:
            raise FuzzFailure(f"{what} took {dt:.2f} s CPU (budget {self.budget} s)")
        return out, dt

    def baseline(self, data: bytes) -> Baseline:
        hit = self._baselines.get(data)
        if hit is not None:
            return hit
        self.engine.drop_overlay(self.path)
        self._write(data)
        fa = self.engine.analyze_file(self.path)
        st = self.engine.state(self.path)
        b = Baseline(self.engine.module_context(self.module).digest, self._by_text(st, fa))
        self._baselines[data] = b
        return b

    @staticmethod
    def _by_text(st, fa) -> dict[str, set[tuple[str, str]]]:  # noqa: ANN001
        starts = {pb.block.start_line: pb.block for pb in st.parsed if pb.conf is not None}
        out: dict[str, set[tuple[str, str]]] = {}
        texts = Counter(pb.block.text for pb in st.parsed)
        for pb in st.parsed:
            if pb.conf is not None and texts[pb.block.text] == 1:
                out[pb.block.text] = set()
        for f in fa.findings:
            b = starts.get(f.line_range[0])
            if b is not None and b.text in out:
                out[b.text].add((f.check_id, f.result.value))
        return out

    # -- one input
    def check(self, original: bytes, mutated: bytes) -> Outcome:
        from tfguard.hcl.blocks import split_blocks
        from tfguard.hcl.parse import parse_block

        base = self.baseline(original)
        text = mutated.decode("utf-8", "replace")
        # 1. the parser alone, on the text as an editor would hold it
        split, t_split = self._timed("split_blocks", lambda: split_blocks(text))
        parsed, t_parse = self._timed("parse_block", lambda: [parse_block(b, self.path) for b in split.blocks])
        n_lines = text.count("\n") + text.count("\r") - text.count("\r\n") + 1
        for pb in parsed:
            if pb.conf is None:
                if pb.problem is None:
                    raise FuzzFailure(f"block {pb.block.kind} at line {pb.block.start_line} broken without a problem")
                self._located(pb.problem, n_lines)
        # 2. the engine, from disk (read_disk: NUL, invalid UTF-8, size) ...
        self.engine.drop_overlay(self.path)
        self._write(mutated)
        fa, t_disk = self._timed("analyze_file (disk)", lambda: self.engine.analyze_file(self.path))
        st = self.engine.state(self.path)
        disk_text = st.text
        disk_lines = disk_text.count("\n") + 1 if st.read_problem is None else n_lines
        for p in fa.problems:  # type: ignore[attr-defined]
            self._located(p, disk_lines)
        kind = "clean"
        broken = sum(1 for pb in st.parsed if pb.conf is None)
        if st.read_problem is not None:
            kind = "too-large" if st.read_problem.code == "too-large" else "unreadable"
        elif broken or any(p.code == "syntax" for p in fa.problems):  # type: ignore[attr-defined]
            kind = "syntax"
        for pb in st.parsed:
            if pb.conf is None and pb.problem is None:
                raise FuzzFailure(f"block at line {pb.block.start_line} broken without a problem")
        compared = 0
        if st.read_problem is None and self.engine.module_context(self.module).digest == base.ctx_digest:
            now = self._by_text(st, fa)
            for block_text, findings in now.items():
                if block_text in base.by_text:
                    compared += 1
                    if findings != base.by_text[block_text]:
                        raise FuzzFailure(f"findings of an unchanged block changed: lost "
                                          f"{sorted(base.by_text[block_text] - findings)}, new "
                                          f"{sorted(findings - base.by_text[block_text])}")
        # 3. ... and as unsaved text (the LSP path: NULs and replacement characters reach the parser)
        self.engine.set_overlay(self.path, text)
        fa2, t_overlay = self._timed("analyze_file (unsaved)", lambda: self.engine.analyze_file(self.path))
        from tfguard.files import normalize_newlines

        ov_lines = normalize_newlines(text).count("\n") + 1
        for p in fa2.problems:  # type: ignore[attr-defined]
            self._located(p, ov_lines)
        self.engine.drop_overlay(self.path)
        return Outcome(kind, t_split + t_parse + t_disk + t_overlay, compared, broken)

    @staticmethod
    def _located(problem, n_lines: int) -> None:  # noqa: ANN001
        s, e = problem.span.start, problem.span.end
        if not (0 <= s.line < n_lines and 0 <= e.line < n_lines and s.character >= 0 and e.character >= 0):
            raise FuzzFailure(f"problem outside the file ({n_lines} lines): {problem.code} at "
                              f"{s.line}:{s.character}-{e.line}:{e.character}: {problem.message}")


# ------------------------------------------------------------------ long run
def run(inputs: int, seed: int, budget: float, files: list[Path], hard_limit: float = 60.0,
        out=sys.stdout) -> int:  # noqa: ANN001
    """Fuzz ``inputs`` mutated files; print figures; return the number of failures."""
    rng = random.Random(seed)
    h = Harness(budget=budget)
    datas = [p.read_bytes() for p in files]
    h.check(datas[0], datas[0])  # warm up: import Checkov outside the per-input budget
    kinds: Counter[str] = Counter()
    by_mutator: Counter[str] = Counter()
    failures: list[tuple[str, str, str]] = []
    times: list[float] = []
    compared = broken = 0
    current = Path(h.workdir) / "current-input.tf"
    print(f"fuzz: inputs and failures in {h.workdir}", file=out, flush=True)
    t0 = time.perf_counter()
    for i in range(inputs):
        k = rng.randrange(len(datas))
        name, data = mutate(datas[k], rng)
        for n in name.split("+"):
            by_mutator[n] += 1
        current.write_bytes(data)  # left behind if the watchdog kills a hang
        faulthandler.dump_traceback_later(hard_limit, exit=True)  # a hang is killed with a traceback
        try:
            o = h.check(datas[k], data)
        except Exception as e:  # noqa: BLE001  (every failure is a finding of the fuzzer)
            failures.append((str(files[k]), name, f"{type(e).__name__}: {e}"[:300]))
            crash = Path(h.workdir) / f"failure-{len(failures)}.tf"
            crash.write_bytes(data)
            continue
        finally:
            faulthandler.cancel_dump_traceback_later()
        kinds[o.kind] += 1
        times.append(o.seconds)
        compared += o.compared_blocks
        broken += o.broken_blocks
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1}/{inputs} inputs, {len(failures)} failures, {time.perf_counter() - t0:.0f} s",
                  file=out, flush=True)
    wall = time.perf_counter() - t0
    times.sort()
    print(f"fuzz: {inputs} inputs from {len(files)} corpus files, seed {seed}, budget {budget} s/input", file=out)
    print(f"  wall {wall:.1f} s ({inputs / wall:.0f} inputs/s)", file=out)
    print(f"  outcomes: {dict(kinds)}", file=out)
    print(f"  mutations applied: {dict(by_mutator)}", file=out)
    print(f"  broken blocks located: {broken}; unchanged blocks whose findings were compared: {compared}", file=out)
    if times:
        p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
        print(f"  CPU time per input (split+parse+2 analyses): median {statistics.median(times) * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms", file=out)
    print(f"  failures: {len(failures)} (inputs kept in {h.workdir})", file=out)
    for f in failures[:20]:
        print(f"    {f[0]} [{f[1]}]: {f[2]}", file=out)
    return len(failures)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--budget", type=float, default=2.0, help="seconds allowed per analysis of one input")
    ap.add_argument("--corpora", type=Path, default=CORPORA)
    args = ap.parse_args(argv)
    files = corpus_files(args.corpora)
    if not files:
        print(f"no corpus at {args.corpora} (set TFGUARD_CORPORA)", file=sys.stderr)
        return 2
    return 1 if run(args.inputs, args.seed, args.budget, files) else 0


if __name__ == "__main__":
    sys.exit(main())
