"""The engine: unsaved texts, the per-file index, tier 1, tier 2 and the rule pipeline, behind one facade."""

from tfguard.engine.core import Engine, FileAnalysis

__all__ = ["Engine", "FileAnalysis"]
