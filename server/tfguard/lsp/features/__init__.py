"""The language server's handlers, one module per feature, each with ``register(server)``.

:func:`tfguard.lsp.app.create_server` calls every module's ``register``; nothing registers on import.
"""

from __future__ import annotations

from tfguard.lsp.features import (
    code_actions,
    configuration,
    diagnostics,
    documents,
    findings,
    hover,
    lifecycle,
    plan,
)

# every feature module, in registration order (lifecycle first: it handles initialize)
ALL = (lifecycle, documents, configuration, diagnostics, hover, findings, code_actions, plan)

__all__ = ["ALL"]
