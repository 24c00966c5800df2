"""Engine benchmark: tier 1, tier 2 and `tfguard scan` against the Checkov CLI, in the same run.

    .venv/bin/python bench/bench_engine.py [--corpora DIR] [--checkov-files N] [--no-docs]

Prints a table and rewrites the "engine" section of docs/benchmarks.md. Not a test: the
numbers depend on the machine (and on whatever else runs on it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHECKOV = str(BIN / "checkov")
DOCS = REPO / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:engine:begin -->", "<!-- bench:engine:end -->"
ENV = dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true", BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR")


def timed_run(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env or ENV, check=False)
    return time.perf_counter() - t


def checkov_f(path: Path) -> float:
    return timed_run([CHECKOV, "-f", str(path), "--framework", "terraform", "--skip-download", "-o", "json"])


def checkov_d(path: Path) -> float:
    return timed_run([CHECKOV, "-d", str(path), "--framework", "terraform", "--skip-download", "-o", "json"])


def tfguard_scan(path: Path, cache: Path, daemon: Path | None = None) -> float:
    """A new ``tfguard scan`` process; with ``daemon`` (a socket) it runs in that warm daemon."""
    env = dict(ENV, TFGUARD_CACHE_DIR=str(cache))
    if daemon is None:
        env["TFGUARD_NO_DAEMON"] = "1"
    else:
        env["TFGUARD_DAEMON_SOCKET"] = str(daemon)
    return timed_run([sys.executable, "-m", "tfguard", "scan", str(path), "-o", "json", "--quiet"], env)


def start_daemon(sock: Path) -> None:
    subprocess.run([sys.executable, "-m", "tfguard", "daemon", "start"], check=True,
                   env=dict(ENV, TFGUARD_DAEMON_SOCKET=str(sock)))


def stop_daemon(sock: Path) -> None:
    subprocess.run([sys.executable, "-m", "tfguard", "daemon", "stop"], env=dict(ENV, TFGUARD_DAEMON_SOCKET=str(sock)))


def edit_file(path: Path, i: int) -> None:
    """A real edit: one more (non-compliant) bucket at the end of the file."""
    path.write_text(path.read_text() + f'\nresource "aws_s3_bucket" "bench_edit_{i}" {{\n  bucket = "edit-{i}"\n}}\n')


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def generated_file(dest: Path, lines: int = 10_000) -> Path:
    """A big, realistic file: security groups and buckets, about ``lines`` lines."""
    parts, n = [], 0
    i = 0
    while n < lines:
        block = (
            f'resource "aws_security_group" "sg{i}" {{\n  name = "sg{i}"\n  description = "generated"\n'
            f"  ingress {{\n    description = \"ssh\"\n    from_port = 22\n    to_port = 22\n"
            f'    protocol = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }}\n}}\n\n'
            f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "bucket-{i}"\n  acl = "private"\n'
            f'  tags = {{\n    Name = "b{i}"\n  }}\n}}\n\n'
        )
        parts.append(block)
        n += block.count("\n")
        i += 1
    path = dest / "generated" / "big.tf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts))
    return path


LARGE_MODULE = "generated: one module of 1,500 buckets"


def large_module(dest: Path, buckets: int = 1_500) -> None:
    """One module of many buckets, each with an ACL and one made public: every failed finding asks for the
    module's other resources (exposure through another block), the case that once grew as findings x blocks."""
    dest.mkdir(parents=True)
    (dest / "main.tf").write_text("".join(
        f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "b{i}"\n}}\n\n'
        f'resource "aws_s3_bucket_acl" "a{i}" {{\n  bucket = aws_s3_bucket.b{i}.id\n'
        f'  acl    = "{"public-read" if i == 7 else "private"}"\n}}\n\n' for i in range(buckets)))


def edit_block(text: str, k: int) -> str:
    """One edit inside the first resource block: a new attribute line after its header."""
    m = re.search(r'^resource\s+"[^"]+"\s+"[^"]+"\s*\{[^\n]*\n', text, re.M)
    if m is None:
        return text + f"\n# edit {k}\n"
    return text[: m.end()] + f'  # edit {k}\n  tags_all_{k % 3} = "e{k}"\n' + text[m.end():]


def bench_tier1(files: list[Path], checkov_sample: set[Path], repeats: int = 5) -> tuple[list[list[str]], list[float]]:
    from tfguard.engine import Engine

    rows, all_ms = [], []
    for f in files:
        engine = Engine(str(f.parent))
        base = f.read_text(encoding="utf-8-sig")
        engine.analyze_file(str(f))  # open: everything parsed and checked once
        times = []
        for k in range(repeats):
            engine.set_overlay(str(f), edit_block(base, k))
            t = time.perf_counter()
            engine.analyze_file(str(f))
            times.append((time.perf_counter() - t) * 1000)
        med = statistics.median(times)
        all_ms.extend(times)
        ck = checkov_f(f) if f in checkov_sample else None
        rows.append([f.name if f.parent.name == "generated" else str(f.relative_to(f.parents[2])),
                     str(base.count("\n")), f"{med:.1f}", f"{max(times):.1f}",
                     f"{ck:.2f}" if ck else "", f"{ck * 1000 / med:.0f}×" if ck else ""])
    return rows, all_ms


def bench_tier2(module: Path) -> tuple[float, float, float]:
    """(first analyze_module s, re-check after one-block edit s, checkov -d s)."""
    from tfguard.engine import Engine

    engine = Engine(str(module))
    t = time.perf_counter()
    engine.analyze_module(str(module))
    first = time.perf_counter() - t
    main = next(p for p in sorted(module.glob("*.tf")) if "resource" in p.read_text())
    engine.set_overlay(str(main), edit_block(main.read_text(), 1))
    t = time.perf_counter()
    engine.analyze_module(str(module))
    again = time.perf_counter() - t
    # `checkov -d` is recursive: compare with a copy holding only the module's own files
    only = Path(tempfile.mkdtemp(prefix="tfguard-bench-module-")) / module.name
    only.mkdir()
    for p in module.iterdir():
        if p.is_file():
            shutil.copy(p, only / p.name)
    try:
        return first, again, checkov_d(only)
    finally:
        shutil.rmtree(only.parent, ignore_errors=True)


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def section_tier1(corpora: Path, tmp: Path, checkov_files: int) -> str:
    # ---------------------------------------------------------------- tier 1
    files = sorted(p for p in corpora.rglob("*.tf") if "resource" in p.read_text(encoding="utf-8-sig"))
    big = generated_file(tmp)
    by_size = sorted(files, key=lambda p: p.stat().st_size)
    step = max(1, len(by_size) // max(1, checkov_files - 1))
    sample = set(by_size[::step][: checkov_files - 1]) | {by_size[-1], big}
    t1_rows, t1_ms = bench_tier1(files + [big], sample)
    shown = [r for r in t1_rows if r[4]]  # files with a checkov -f comparison
    ratios = [float(r[5].rstrip("×")) for r in shown]
    summary = (f"tier 1 over {len(t1_rows)} files ({len(t1_ms)} edits): p50 {pct(t1_ms, 0.5):.1f} ms, "
               f"p95 {pct(t1_ms, 0.95):.1f} ms, max {max(t1_ms):.1f} ms; vs cold `checkov -f` on "
               f"{len(shown)} files: ratio min {min(ratios):.0f}×, median {statistics.median(ratios):.0f}×")
    out = ("### Tier 1: one edited block, re-checked (Engine.set_overlay + analyze_file)\n\n"
                    + table(["file", "lines", "median ms", "max ms", "checkov -f s", "ratio"], shown)
                    + f"\n\n{summary}\n")
    print(out)
    return out


def section_tier2(corpora: Path) -> str:
    # ---------------------------------------------------------------- tier 2
    t2_rows = []
    for module in (corpora / "terragoat" / "terraform" / "aws", corpora / "terraform-aws-vpc"):
        first, again, ck = bench_tier2(module)
        t2_rows.append([str(module.relative_to(corpora)), f"{first:.2f}", f"{again:.2f}", f"{ck:.2f}",
                        f"{ck / again:.1f}×"])
    out = ("### Tier 2: module re-check after a one-block edit (Engine.analyze_module)\n\n"
                    + table(["module", "first run s", "after edit s", "checkov -d s", "ratio"], t2_rows) + "\n")
    print(out)
    return out


def section_scan(corpora: Path, tmp: Path) -> str:
    # ---------------------------------------------------------------- scan
    scan_rows = []
    for name in ("terragoat", "terraform-aws-vpc", LARGE_MODULE):
        src = tmp / "scan" / name
        if name == LARGE_MODULE:
            large_module(src)
        else:
            shutil.copytree(corpora / name, src)
        cache = tmp / f"cache-{name}"
        ck = checkov_d(src)
        cold = tfguard_scan(src, cache)
        unchanged = tfguard_scan(src, cache)
        edited = next(p for p in sorted(src.rglob("*.tf")) if "resource" in p.read_text())
        os.utime(edited)  # `touch`: a new mtime, the same content
        touched = tfguard_scan(src, cache)
        edit_file(edited, 0)
        after_edit = tfguard_scan(src, cache)
        sock = Path(tempfile.mkdtemp(prefix="tfgd-")) / "d.sock"
        try:
            start_daemon(sock)
            daemon_times = []
            for i in range(1, 5):
                edit_file(edited, i)
                daemon_times.append(tfguard_scan(src, cache, daemon=sock))
        finally:
            stop_daemon(sock)
        daemon_first, in_daemon = daemon_times[0], statistics.median(daemon_times[1:])
        scan_rows.append([name, f"{ck:.1f}", f"{cold:.1f}", f"{cold / ck:.2f}",
                          f"{unchanged:.2f} ({ck / unchanged:.0f}×)", f"{touched:.2f} ({ck / touched:.0f}×)",
                          f"{after_edit:.2f} ({ck / after_edit:.1f}×)",
                          f"{daemon_first:.2f} ({ck / daemon_first:.1f}×)",
                          f"{in_daemon:.2f} ({ck / in_daemon:.1f}×)"])
    out = (
        f"### `tfguard scan` vs `checkov -d` ({os.cpu_count()} cores; seconds, and in brackets how many"
        " times faster than `checkov -d`)\n\n"
        + table(["repository", "checkov -d", "tfguard cold", "cold / checkov", "re-scan, unchanged",
                 "re-scan, one file touched", "re-scan, one file edited", "in the daemon: first edit",
                 "in the daemon: next edits (median of 3)"], scan_rows) + "\n")
    print(out)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", default=str(REPO.parent / "shared" / "corpora"))
    ap.add_argument("--checkov-files", type=int, default=6, help="how many files also get a cold `checkov -f`")
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--only", choices=("tier1", "tier2", "scan"), action="append",
                    help="run only these sections (then docs/benchmarks.md is left as it is)")
    args = ap.parse_args()
    corpora = Path(args.corpora)
    if not corpora.is_dir():
        print(f"corpora not found: {corpora}", file=sys.stderr)
        return 2
    only = set(args.only or ("tier1", "tier2", "scan"))
    tmp = Path(tempfile.mkdtemp(prefix="tfguard-bench-"))
    sections: list[str] = []
    try:
        if "tier1" in only:
            sections.append(section_tier1(corpora, tmp, args.checkov_files))
        if "tier2" in only:
            sections.append(section_tier2(corpora))
        if "scan" in only:
            sections.append(section_scan(corpora, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.no_docs and only == {"tier1", "tier2", "scan"}:
        write_docs("\n".join(sections))
    return 0


def write_docs(body: str) -> None:
    stamp = time.strftime("%Y-%m-%d")
    block = (f"{BEGIN}\n## Engine (measured {stamp} by `bench/bench_engine.py`, {os.cpu_count()} cores)\n\n"
             f"{body}\n{END}")
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
