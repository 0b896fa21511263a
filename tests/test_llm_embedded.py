"""The embedded LLM (Gemma 3 270M from its PyPI parts) through the transformers backend."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from companion.dialogue.persona import load_persona
from companion.llm.base import LLMOptions, Message
from companion.llm.embedded import EMBEDDED, assemble, embedded_llm
from companion.llm.transformers_llm import TransformersLLM


@pytest.fixture(scope="module")
def gemma() -> Iterator[TransformersLLM]:
    llm = embedded_llm(speaker="Mona")
    llm.load()
    yield llm
    llm.close()


def _reply(llm: TransformersLLM, text: str, caching: bool) -> str:
    llm.prefix_caching = caching
    msgs = [Message("system", load_persona().prompt), Message("user", text)]
    opts = llm.options_for_transcript(LLMOptions(max_tokens=24, temperature=0.0))
    return asyncio.run(llm.complete(msgs, opts))


def test_embedded_model_is_assembled_from_verified_parts() -> None:
    path = assemble(EMBEDDED["gemma-3-270m"])
    assert path.stat().st_size > 200_000_000
    assert path.read_bytes()[:4] == b"GGUF"


def test_replies_are_short_spoken_lines(gemma: TransformersLLM) -> None:
    reply = _reply(gemma, "Hi! How are you today?", caching=True)
    assert reply.strip() and "\n" not in reply
    assert "User:" not in reply  # the transcript prompt's stop strings hold
    assert len(reply.split()) <= 30


def test_prefix_cache_gives_the_same_reply(gemma: TransformersLLM) -> None:
    with_cache = _reply(gemma, "I had a stressful day at work.", caching=True)
    again = _reply(gemma, "I had a stressful day at work.", caching=True)
    without = _reply(gemma, "I had a stressful day at work.", caching=False)
    assert with_cache == again == without
