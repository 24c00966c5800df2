"""pytest-lsp plumbing: a real tfguard server over stdio, driven with real clients' capabilities."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient, client_capabilities

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lsp"
# TFGUARD_TEST_LOG=/tmp/x.log keeps a verbose server log when debugging a test
_LOG = os.environ.get("TFGUARD_TEST_LOG")
SERVER_COMMAND = [sys.executable, "-m", "tfguard", "serve", *(["-vv", "--log-file", _LOG] if _LOG else [])]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A private copy of the LSP fixture workspace (tests may edit it)."""
    dest = tmp_path / "ws"
    shutil.copytree(FIXTURES, dest)
    return dest


def loading(diags: list[lsp.Diagnostic]) -> bool:
    """True for a publish made while Checkov's checks were still loading (server start): it is followed
    by the complete one for the same version. Tests that wait for settled results pass over it."""
    return any(d.code == "tfguard.loading" for d in diags)


async def wait_for_diagnostics(
    client: LanguageClient,
    uri: str,
    predicate: Callable[[list[lsp.Diagnostic]], bool] = lambda d: True,
    timeout: float = 30.0,
) -> list[lsp.Diagnostic]:
    """Wait (bounded) until a publishDiagnostics for ``uri`` satisfies ``predicate`` (one made while
    Checkov's checks were still loading never does: see :func:`loading`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        diags = client.diagnostics.get(uri)
        if diags is not None and not loading(diags) and predicate(diags):
            return diags
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no matching diagnostics for {uri} within {timeout}s; last: "
                                 f"{[(d.code, d.range.start.line) for d in (diags or [])]}")
        try:
            await asyncio.wait_for(
                client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), timeout=remaining
            )
        except asyncio.TimeoutError:
            continue


def open_document(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    """didOpen ``path`` as Terraform with ``text`` (default: its content on disk); returns its URI."""
    uri = path.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="terraform", version=version,
                                           text=path.read_text() if text is None else text)))
    return uri


def codes(diags: list[lsp.Diagnostic]) -> set[str]:
    return {str(d.code) for d in diags}


def init_params(root: Path, caps: lsp.ClientCapabilities, options: dict[str, Any] | None = None
                ) -> lsp.InitializeParams:
    return lsp.InitializeParams(
        capabilities=caps,
        root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options=options or {},
    )


def serve_client_requests(client: LanguageClient, settings: dict[str, Any] | None = None) -> None:
    """Answer the server's requests the way an editor does (registration, configuration, progress)."""

    @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def _register(params: lsp.RegistrationParams) -> None:
        client.registrations = getattr(client, "registrations", []) + list(params.registrations)  # type: ignore[attr-defined]

    client.set_configuration(settings or {}, section="tfguard")


def record_versions(client: LanguageClient) -> dict[str, list[int | None]]:
    """Record the version of every publishDiagnostics, per URI, in arrival order (not those made while
    Checkov's checks were still loading: see :func:`loading`)."""
    seen: dict[str, list[int | None]] = {}
    features = client.protocol.fm.features
    original = features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def wrapper(params: lsp.PublishDiagnosticsParams) -> Any:
        result = original(params)
        if not loading(params.diagnostics):
            seen.setdefault(params.uri, []).append(params.version)
        return result

    features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = wrapper
    return seen


# The clients a fix that needs a choice is tested with, by pytest-lsp's capability name
CHOICE_CLIENTS = ["visual_studio_code", "neovim@v0.9.1"]
CLIENT_NAMES = {"visual_studio_code": "Visual Studio Code", "neovim@v0.9.1": "Neovim"}


async def start_applying_edits(client: LanguageClient, capabilities: str, ws: Path) -> None:
    """Initialise a session rooted at ``ws`` as the editor ``capabilities`` names (its name in clientInfo:
    the server asks VS Code for a choice through a command), applying every ``workspace/applyEdit`` the
    server sends and recording it in ``client.applied``; ``client.ws`` and ``client.vscode`` say where and
    which (no workspace indexing, 150 ms idle delay)."""
    serve_client_requests(client)
    applied: list[lsp.ApplyWorkspaceEditParams] = []

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def _apply(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        applied.append(params)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    params = init_params(ws, client_capabilities(capabilities), {"indexWorkspace": False, "idleDelayMs": 150})
    params.client_info = lsp.ClientInfo(name=CLIENT_NAMES[capabilities])
    await client.initialize_session(params)
    client.ws = ws  # type: ignore[attr-defined]
    client.applied = applied  # type: ignore[attr-defined]
    client.vscode = capabilities == "visual_studio_code"  # type: ignore[attr-defined]


async def start_in_copy(client: LanguageClient, fixture: Path, dest: Path,
                        files: dict[str, str] | None = None) -> Path:
    """Copy ``fixture`` to ``dest`` (a git work tree, plus ``files``), answer the server's requests as
    VS Code does and initialise a session rooted there (no workspace indexing, 150 ms idle delay)."""
    shutil.copytree(fixture, dest)
    (dest / ".git").mkdir()
    for rel, text in (files or {}).items():
        (dest / rel).write_text(text)
    serve_client_requests(client)
    await client.initialize_session(init_params(dest, client_capabilities("visual_studio_code"),
                                                {"indexWorkspace": False, "idleDelayMs": 150}))
    return dest


async def hover_text(client: LanguageClient, uri: str, position: lsp.Position) -> str:
    """The Markdown of the hover at ``position`` (asserting there is one)."""
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=position))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    return hover.contents.value


def record_publishes(client: LanguageClient) -> list[tuple[int | None, list[lsp.Diagnostic]]]:
    """Every publishDiagnostics as (version, diagnostics), in arrival order, those made while Checkov's
    checks were loading included: the list fills as the session goes."""
    seen: list[tuple[int | None, list[lsp.Diagnostic]]] = []
    features = client.protocol.fm.features
    original = features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def wrapper(params: lsp.PublishDiagnosticsParams) -> Any:
        seen.append((params.version, params.diagnostics))
        return original(params)

    features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = wrapper
    return seen


def session_on_copy(fixture: Path, clients: tuple[str, ...] = tuple(CHOICE_CLIENTS)) -> tuple[Any, Any]:
    """The ``ws`` and ``client`` fixtures of a test module: ``ws`` a private copy of ``fixture``, ``client``
    a session rooted there for each of ``clients`` (pytest-lsp capability names; no workspace indexing,
    150 ms idle delay), ``client.ws`` the copy. A module declares them with ``ws, client =
    session_on_copy(FIXTURE)``."""
    import pytest_lsp
    from pytest_lsp import ClientServerConfig

    @pytest.fixture
    def ws(tmp_path: Path) -> Path:
        dst = tmp_path / "ws"
        shutil.copytree(fixture, dst)
        return dst

    @pytest_lsp.fixture(params=list(clients), config=ClientServerConfig(server_command=SERVER_COMMAND))
    async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, ws: Path):
        serve_client_requests(lsp_client)
        await lsp_client.initialize_session(init_params(ws, client_capabilities(request.param),
                                                        {"indexWorkspace": False, "idleDelayMs": 150}))
        lsp_client.ws = ws  # type: ignore[attr-defined]
        yield
        await lsp_client.shutdown_session()

    return ws, client


async def actions_at(client: LanguageClient, uri: str, line: int, title_part: str) -> list[lsp.CodeAction]:
    """The code actions the server offers at the start of ``line`` (no diagnostics in the context: what a
    lightbulb on that line asks) whose title contains ``title_part``."""
    got = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=lsp.Range(start=lsp.Position(line=line, character=0), end=lsp.Position(line=line, character=0)),
        context=lsp.CodeActionContext(diagnostics=[])))
    return [a for a in got or [] if isinstance(a, lsp.CodeAction) and title_part in a.title]
