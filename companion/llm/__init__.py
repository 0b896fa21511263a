"""Language-model backends: streamed replies behind one base class. The name → backend table
is here; each backend module is imported only when it is asked for."""

from companion.errors import InputError
from companion.frames import Message
from companion.llm.base import LLM, Endpoint, LLMError, LLMOptions


def make_llm(spec: str, endpoint: Endpoint | None = None, allow_download: bool = False) -> LLM:
    """Backend by name: 'auto' (default: a served model if one answers, else embedded),
    'embedded', 'embedded:NAME', 'llamacpp:FILE.gguf', 'transformers:DIR|HF_ID|FILE.gguf',
    'openai:MODEL' (at `endpoint`; the settings' llm_base_url / llm_api_key)."""
    endpoint = endpoint or Endpoint()
    kind, _, arg = spec.partition(":")
    if spec == "auto":
        from companion.llm.auto import auto_llm

        return auto_llm(endpoint)
    if kind == "embedded":
        from companion.llm.embedded import embedded_llm

        return embedded_llm(arg or None)
    if kind == "llamacpp":
        from companion.llm.llamacpp import LlamaCppLLM

        return LlamaCppLLM(arg)
    if kind == "transformers":
        from companion.llm.transformers_llm import TransformersLLM

        return TransformersLLM(arg, allow_download=allow_download)
    if kind == "openai":
        from companion.llm.openai_compat import OpenAICompatLLM

        return OpenAICompatLLM(model=arg or endpoint.model, base_url=endpoint.base_url,
                               api_key=endpoint.api_key)
    raise InputError(f"unknown LLM backend {spec!r}",
                     "use auto, embedded, llamacpp:FILE.gguf, transformers:PATH_OR_ID or "
                     "openai:MODEL")


__all__ = ["LLM", "Endpoint", "LLMError", "LLMOptions", "Message", "make_llm"]
