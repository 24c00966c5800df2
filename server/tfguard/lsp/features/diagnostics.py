"""Pull diagnostics (LSP 3.17): textDocument/diagnostic and workspace/diagnostic."""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types as lsp
from pygls.uris import to_fs_path

from tfguard.lsp.features.documents import is_tf
from tfguard.lsp.publish import Published
from tfguard.lsp.server import TfguardServer

log = logging.getLogger(__name__)

DIAGNOSTIC_OPTIONS = lsp.DiagnosticOptions(identifier="tfguard", inter_file_dependencies=True,
                                           workspace_diagnostics=True)


def register(server: TfguardServer) -> None:
    """Register textDocument/diagnostic and workspace/diagnostic on ``server``."""
    server.feature(lsp.TEXT_DOCUMENT_DIAGNOSTIC, DIAGNOSTIC_OPTIONS)(document_diagnostic)
    server.feature(lsp.WORKSPACE_DIAGNOSTIC)(workspace_diagnostic)


async def document_diagnostic(ls: TfguardServer, params: lsp.DocumentDiagnosticParams) -> lsp.DocumentDiagnosticReport:
    """The open document's diagnostics, for its current text (analysed now when nothing matches it)."""
    uri = params.text_document.uri
    doc = ls.workspace.text_documents.get(uri)
    path = to_fs_path(uri)
    if doc is None or not path or not is_tf(uri) or not ls.settings.enable:
        return lsp.RelatedFullDocumentDiagnosticReport(items=[])
    pub = ls.published.get(uri)
    if pub is None or pub.version != doc.version or pub.text != doc.source:
        text = doc.source
        engine = ls.engine_for(path)
        engine.set_overlay(path, text)
        fa = await asyncio.get_running_loop().run_in_executor(ls.scheduler.tier1, engine.analyze_file, path)
        pub = Published(uri, doc.version, text, fa)
        ls.published[uri] = pub
    return lsp.RelatedFullDocumentDiagnosticReport(items=ls.publisher.diagnostics_for(pub.text, pub.analysis))


def workspace_diagnostic(ls: TfguardServer, params: lsp.WorkspaceDiagnosticParams) -> lsp.WorkspaceDiagnosticReport:
    """Diagnostics of the files that are not open (indexing and tier 2 found them)."""
    items: list[lsp.WorkspaceDocumentDiagnosticReport] = []
    for uri, pub in list(ls.published.items()):
        if uri in ls.workspace.text_documents:
            continue
        items.append(lsp.WorkspaceFullDocumentDiagnosticReport(
            uri=uri, version=None, items=ls.publisher.diagnostics_for(pub.text, pub.analysis)))
    return lsp.WorkspaceDiagnosticReport(items=items)
