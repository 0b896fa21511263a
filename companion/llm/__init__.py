"""Language-model backends: streamed replies behind one base class."""

from companion.llm.base import LLM, LLMError, LLMOptions, Message, make_llm

__all__ = ["LLM", "LLMError", "LLMOptions", "Message", "make_llm"]
