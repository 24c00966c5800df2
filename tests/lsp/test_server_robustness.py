"""Transport and failure handling: --tcp, a crashing handler is reported once and the server keeps serving."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInternalError
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import (
    SERVER_COMMAND,
    codes,
    init_params,
    open_document,
    serve_client_requests,
    wait_for_diagnostics,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _frame(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _read_message(sock: socket.socket, deadline: float) -> dict:
    buf = b""
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            raise AssertionError("no response over TCP")
        buf += sock.recv(4096)
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
    while len(rest) < length:
        rest += sock.recv(4096)
    return json.loads(rest[:length])


def test_tcp_transport_answers_initialize(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tfguard", "serve", "--tcp", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError as e:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stderr.read().decode() if proc.stderr else "no listener") from e
                time.sleep(0.1)  # waiting for the listener to come up (bounded by the deadline)
        with sock:
            sock.sendall(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}}))
            msg = _read_message(sock, time.monotonic() + 30)
            while msg.get("id") != 1:
                msg = _read_message(sock, time.monotonic() + 30)
        assert msg["result"]["serverInfo"]["name"] == "tfguard"
        assert msg["result"]["capabilities"]["codeActionProvider"]
    finally:
        proc.kill()
        proc.wait(10)
    assert proc.stdout is not None and proc.stdout.read() == b""  # nothing on stdout in server mode


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient, workspace: Path):
    serve_client_requests(lsp_client)
    await lsp_client.initialize_session(init_params(workspace, client_capabilities("visual_studio_code"),
                                                    {"indexWorkspace": False, "idleDelayMs": 150}))
    lsp_client.ws = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_a_failing_handler_is_reported_once_and_the_server_keeps_serving(client: LanguageClient):
    for _ in range(3):  # malformed arguments make the command handler raise
        with pytest.raises(JsonRpcInternalError):
            await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
                command="tfguard.server.suppress", arguments=["not-an-object"]))
    errors = [m for m in client.messages if "internal error" in m.message]
    assert len(errors) == 1  # told once, not three times
    path = client.ws / "module" / "main.tf"
    uri = open_document(client, path)
    diags = await wait_for_diagnostics(client, uri, lambda d: "CKV_AWS_24" in codes(d))
    assert diags
