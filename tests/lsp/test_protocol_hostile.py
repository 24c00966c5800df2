"""The protocol layer cannot be knocked deaf: raw bytes to a real ``tfguard serve`` over stdio.

Each case writes something hostile or broken, then asserts the server answers a normal request
within a bound (and is still the same process), and that nothing popped up at the user.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lsp.rawstdio import RawServer
from tfguard.lsp.transport import FrameReader

ANSWER_WITHIN = 15.0  # seconds, on a loaded shared machine


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawServer]:
    ws = tmp_path_factory.mktemp("ws")
    s = RawServer(ws, stderr_path=ws.parent / "hostile-server.err")
    s.initialize(ws)
    s.ws = ws  # type: ignore[attr-defined]
    yield s
    s.close()


def _body(method: str, params: object, req_id: int | None = None) -> bytes:
    msg: dict[str, object] = {"jsonrpc": "2.0", "method": method, "params": params}
    if req_id is not None:
        msg["id"] = req_id
    return json.dumps(msg).encode()


def _hover(uri: str = "file:///nonexistent/x.tf", line: object = 0) -> dict[str, object]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": 0}}


def _assert_hears(server: RawServer) -> None:
    resp = server.alive_answer(ANSWER_WITHIN)
    assert "result" in resp, resp
    assert server.proc.poll() is None
    pops = [n for n in server.notifications if n["method"] == "window/showMessage"]
    assert not pops, pops


BODY = _body("textDocument/hover", _hover(), 900)
FRAMES = {
    "10 bytes short": b"Content-Length: %d\r\n\r\n" % (len(BODY) - 10) + BODY,
    "10 bytes long": b"Content-Length: %d\r\n\r\n" % (len(BODY) + 10) + BODY,
    "abc": b"Content-Length: abc\r\n\r\n" + BODY,
    "-5": b"Content-Length: -5\r\n\r\n" + BODY,
    "missing": b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + BODY,
    "10**12": b"Content-Length: 1000000000000\r\n\r\n" + BODY,
    "garbage": b"\x00\xff hello\r\n\r\n{{{{",
    "not JSON": b"Content-Length: 5\r\n\r\n{{{{{",
    "not an object": b"Content-Length: 2\r\n\r\n[]",
}


@pytest.mark.parametrize("name", list(FRAMES))
def test_a_broken_frame_does_not_make_the_server_deaf(server: RawServer, name: str) -> None:
    server.write(FRAMES[name])
    _assert_hears(server)


def test_an_oversized_body_is_refused_without_buffering_it(server: RawServer) -> None:
    """A real 65 MiB body: refused (not parsed), the stream resynchronised, memory bounded."""
    junk = b'{"jsonrpc":"2.0","method":"x","params":"' + b"a" * (65 * 1024 * 1024) + b'"}'
    server.write(b"Content-Length: %d\r\n\r\n" % len(junk) + junk)
    _assert_hears(server)


@pytest.mark.parametrize("params", [
    _hover(line=-1), _hover(line=2**32), _hover(line=None), _hover(line="zero"), None, [1, 2],
    {"textDocument": {"uri": 5}, "position": "x"},
], ids=["line -1", "line 2**32", "line null", "line str", "params null", "params list", "wrong types"])
def test_invalid_params_get_invalid_params(server: RawServer, params: object) -> None:
    rid = server.request("textDocument/hover", params)
    resp = server.wait_response(rid, ANSWER_WITHIN)
    assert resp.get("error", {}).get("code") == -32602, resp
    _assert_hears(server)


def test_unknown_requests_get_method_not_found_and_unknown_notifications_are_ignored(server: RawServer) -> None:
    rid = server.request("tfguard/noSuchThing", {})
    resp = server.wait_response(rid, ANSWER_WITHIN)
    assert resp.get("error", {}).get("code") == -32601, resp
    server.notify("tfguard/noSuchNotification", {"x": 1})
    server.notify("$/noSuchNotification", {})
    _assert_hears(server)


def test_changes_to_unopened_documents_are_ignored_quietly(server: RawServer) -> None:
    server.notify("textDocument/didChange", {"textDocument": {"uri": "file:///nope/a.tf", "version": 2},
                                             "contentChanges": [{"text": "x"}]})
    server.notify("textDocument/didClose", {"textDocument": {"uri": "file:///nope/a.tf"}})
    server.notify("textDocument/didSave", {"textDocument": {"uri": "file:///nope/a.tf"}})
    _assert_hears(server)


def test_a_version_going_backwards_is_published_for(server: RawServer) -> None:
    ws: Path = server.ws  # type: ignore[attr-defined]
    path = ws / "back.tf"
    path.write_text("")
    uri = server.open(path, 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n', version=10)

    def published(version: int, want: str | None = None) -> dict[str, object]:
        def ok(n: dict) -> bool:  # type: ignore[type-arg]
            p = n["params"]
            return p["uri"] == uri and p.get("version") == version and (
                want is None or any(want in json.dumps(d) for d in p["diagnostics"]))
        return server.wait_notification("textDocument/publishDiagnostics", ok, timeout=90)

    published(10, "CKV_AWS_")
    server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [
        {"text": 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n  acl = "public-read"\n}\n'}]})
    published(3, "CKV_AWS_20")  # the new text's own finding (public-read ACL)
    _assert_hears(server)


def test_the_frame_reader_recovers_each_neighbour() -> None:
    """Unit level: a short or long Content-Length loses no other message."""
    good = _body("a", {}, 1)
    for bad in (FRAMES["10 bytes short"], FRAMES["10 bytes long"]):
        r = FrameReader()
        r.feed(bad + b"Content-Length: %d\r\n\r\n" % len(good) + good)
        got = []
        while (b := r.next_body()) is not None:
            got.extend(r.take_recovered())
            got.append(b)
        got.extend(r.take_recovered())
        assert [json.loads(x)["id"] for x in got] == [900, 1], bad[:30]
