"""Shared fixtures: the real-world corpora, and a private scan cache for the whole test session."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TFGUARD_SHARED", REPO.parent / "shared"))  # the material beside the checkout
CORPORA = Path(os.environ.get("TFGUARD_CORPORA", SHARED / "corpora"))
CORPUS_NAMES = ("terragoat", "terraform-aws-vpc", "terraform-aws-s3-bucket")


@pytest.fixture(scope="session")
def corpora() -> Path:
    """``../shared/corpora`` (or ``$TFGUARD_CORPORA``); skips the test when it is absent."""
    if not all((CORPORA / name).is_dir() for name in CORPUS_NAMES):
        pytest.skip(f"corpora not found at {CORPORA} (set TFGUARD_CORPORA to the folder holding "
                    f"{', '.join(CORPUS_NAMES)})")
    return CORPORA


@pytest.fixture(scope="session", autouse=True)
def _no_user_daemon() -> Iterator[None]:
    """A ``tfguard daemon`` the developer runs must not serve the tests' scans (tests/integration/test_daemon.py
    starts its own, on a private socket)."""
    old = os.environ.get("TFGUARD_NO_DAEMON")
    os.environ["TFGUARD_NO_DAEMON"] = "1"
    yield
    if old is None:
        os.environ.pop("TFGUARD_NO_DAEMON", None)
    else:
        os.environ["TFGUARD_NO_DAEMON"] = old


@pytest.fixture(scope="session", autouse=True)
def _private_scan_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``tfguard scan`` caches results on disk: tests use a fresh directory, never the user's cache."""
    old = os.environ.get("TFGUARD_CACHE_DIR")
    os.environ["TFGUARD_CACHE_DIR"] = str(tmp_path_factory.mktemp("tfguard-cache"))
    yield
    if old is None:
        os.environ.pop("TFGUARD_CACHE_DIR", None)
    else:
        os.environ["TFGUARD_CACHE_DIR"] = old


@pytest.fixture(autouse=True)
def _builtin_graph_checks_after() -> Iterator[None]:
    """A test that loaded YAML policies into this process's Checkov (an in-process ``scan
    --external-checks-dir``) leaves it with the built-in checks only. The product sets the registry before
    each of its runs; tests that call ``run_checkov`` directly see what the test before them left, and the
    order of the tests in a process is not fixed (each xdist worker runs its own share of the files)."""
    yield
    graph = sys.modules.get("tfguard.checks.graph")
    if graph is not None and graph._loaded_policy_dirs:
        graph.use_policy_dirs(())
