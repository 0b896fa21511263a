"""Pipeline stages of the voice loop, one per module, each wrapping one backend."""

from companion.stages.llm_stage import LLMStage
from companion.stages.tts_stage import TTSStage

__all__ = ["LLMStage", "TTSStage"]
