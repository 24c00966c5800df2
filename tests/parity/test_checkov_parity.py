"""`tfguard scan DIR` reports exactly what `checkov -d DIR` reports, on every corpus root and module directory.

Both run as subprocesses in this environment, offline. Compared: (check id, file, resource, line
range, result) for every failed, passed and skipped check. Each corpus root is scanned first; the
module directories then reuse tfguard's result cache for the units they share with the root (that
reuse is part of what is proven) while Checkov runs cold on each directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.parity.compare import checkov_keys, describe_diff, tfguard_keys

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent
CHECKOV = str(VENV_BIN / "checkov")
SKIP = {".terraform", ".git", "node_modules"}

# No tolerated differences. `checkov -d` builds ONE graph for the whole tree, and module instances
# are identified by their call name: two example directories that both call `module "vpc"` get
# results that depend on each other (Checkov 3.3.30 on the terraform-aws-vpc and
# terraform-aws-s3-bucket roots: 27 and more results differ from scanning each example alone).
# tfguard detects such shared call names and then scans the tree in one run, as `checkov -d` does
# (scanpool.colliding_units); this test proves the result is the same.


def module_dirs(root: Path) -> list[Path]:
    """Every directory under ``root`` holding Terraform files (hidden and vendored directories skipped)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP and not d.startswith("."))
        if any(n.endswith((".tf", ".tf.json")) for n in filenames):
            out.append(Path(dirpath))
    return out


def run_checkov(d: Path) -> str:
    env = dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true", BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR")
    proc = subprocess.run([CHECKOV, "-d", str(d), "--framework", "terraform", "--skip-download", "-o", "json"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return proc.stdout


def run_tfguard(d: Path, cache: Path) -> str:
    env = dict(os.environ, TFGUARD_CACHE_DIR=str(cache))
    proc = subprocess.run([sys.executable, "-m", "tfguard", "scan", str(d), "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.parametrize("corpus", ["terragoat", "terraform-aws-vpc", "terraform-aws-s3-bucket"])
def test_scan_equals_checkov_on_corpus_root_and_every_module_dir(corpora: Path, corpus: str,
                                                                 tmp_path: Path) -> None:
    root = corpora / corpus
    dirs = [root] + [d for d in module_dirs(root) if d != root]
    cache = tmp_path / "cache"
    with ThreadPoolExecutor(max_workers=2) as pool:
        ck_root = pool.submit(run_checkov, root)  # in parallel with tfguard's root scan (which fills the cache)
        tg_root = run_tfguard(root, cache)
        ck = {d: pool.submit(run_checkov, d) for d in dirs[1:]}
        tg = {root: tg_root} | {d: run_tfguard(d, cache) for d in dirs[1:]}
        ck_out = {root: ck_root.result()} | {d: f.result() for d, f in ck.items()}
    diffs = []
    for d in dirs:
        expected, actual = checkov_keys(ck_out[d]), tfguard_keys(tg[d])
        if d == root:
            assert expected, f"checkov found nothing in {root}: is the corpus complete?"
        if expected != actual:
            diffs.append(f"== {d.relative_to(corpora)}\n{describe_diff(expected, actual)}")
    assert not diffs, "\n".join(diffs)
