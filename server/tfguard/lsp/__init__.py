"""The language server: pygls handlers that translate between LSP and the engine."""
