"""Offline always: a full scan and a tier-2 run never try to open a network connection."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tfguard.engine import Engine
from tfguard.scan.runner import scan

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiers"


@pytest.fixture()
def attempts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Block outbound sockets; every attempt is appended to a file (forked scan workers inherit the patch)."""
    log = tmp_path / "connect-attempts.log"
    log.write_text("")

    def record(what: str, target: Any) -> None:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{what} {target!r}\n")
        raise OSError(f"network blocked by test: {what} {target!r}")

    def connect(self: socket.socket, address: Any) -> None:
        if self.family == socket.AF_UNIX:  # local IPC (multiprocessing) is not the network
            return original_connect(self, address)
        record("socket.connect", address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family == socket.AF_UNIX:
            return original_connect_ex(self, address)
        record("socket.connect_ex", address)
        return 1

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        record("socket.create_connection", address)
        raise AssertionError("unreachable")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        record("socket.getaddrinfo", host)

    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("TFGUARD_CACHE_DIR", "off")  # make Checkov really run
    yield log


def test_full_scan_opens_no_connection(attempts: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURE, ws / "app")
    shutil.copytree(FIXTURE, ws / "app" / "modules" / "net")
    (ws / "app" / "calls.tf").write_text(
        'module "net" {\n  source = "./modules/net"\n}\n'
        'module "remote" {\n  source  = "terraform-aws-modules/vpc/aws"\n  version = "~> 5.0"\n}\n'
    )
    (ws / "other").mkdir()
    shutil.copy(FIXTURE / "main.tf", ws / "other" / "main.tf")
    for workers in (1, 2):
        engine = Engine(str(ws))
        report = scan(engine, [str(ws)], workers=workers)
        assert report.failed, "the scan ran Checkov's checks"
        assert {f.file for f in report.findings} >= {str(ws / "other" / "main.tf"), str(ws / "app" / "main.tf")}
    assert attempts.read_text() == ""


def test_tier2_module_run_opens_no_connection(attempts: Path, tmp_path: Path) -> None:
    module = tmp_path / "module"
    shutil.copytree(FIXTURE, module)
    engine = Engine(str(module))
    engine.set_overlay(str(module / "main.tf"), (module / "main.tf").read_text() + "\n# unsaved\n")
    result = engine.analyze_module(str(module))
    assert result[str(module / "main.tf")].findings
    assert attempts.read_text() == ""
