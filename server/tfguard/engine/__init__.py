"""The engine: unsaved texts, the per-file index, tier 1, tier 2 and the rule pipeline, behind one facade."""

from tfguard.engine.facade import Engine
from tfguard.engine.index import FileState
from tfguard.engine.pipeline import BlockContext, BlockRule, FindingHook
from tfguard.engine.tier1 import FileAnalysis, block_key, key_path, locate
from tfguard.engine.tier2 import DEFAULT_MODULE_TIME_BUDGET, masked_text

__all__ = ["DEFAULT_MODULE_TIME_BUDGET", "BlockContext", "BlockRule", "Engine", "FileAnalysis", "FileState",
           "FindingHook", "block_key", "key_path", "locate", "masked_text"]
