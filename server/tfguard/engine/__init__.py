"""The engine: unsaved texts, the per-file index, tier 1, tier 2 and the rule pipeline, behind one facade."""

from tfguard.engine.facade import Engine
from tfguard.engine.index import OVERRIDDEN, FileState, overridden_problem
from tfguard.engine.pipeline import BlockContext, BlockRule, FindingHook
from tfguard.engine.tier1 import FileAnalysis, block_key, key_path, locate
from tfguard.engine.tier2 import DEFAULT_MODULE_TIME_BUDGET, UnitArgs, masked_text

__all__ = ["DEFAULT_MODULE_TIME_BUDGET", "OVERRIDDEN", "BlockContext", "BlockRule", "Engine", "FileAnalysis",
           "FileState", "FindingHook", "UnitArgs", "block_key", "key_path", "locate", "masked_text",
           "overridden_problem"]
