"""LLM stage: a user turn → the reply, streamed as speakable clauses.

A failing or silent model becomes a spoken apology, so the conversation goes on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import replace

from companion.dialogue.memory import Memory
from companion.dialogue.persona import Persona
from companion.dialogue.splitter import ClauseSplitter
from companion.frames import (
    DataFrame,
    FirstToken,
    ReplyClause,
    ReplyEnd,
    StageFailed,
    StageReport,
    UserTurn,
)
from companion.llm.base import LLM, LLMError, LLMOptions
from companion.pipeline import Emit, Stage

APOLOGY = "Sorry, I lost my train of thought. Could you say that again?"
EMPTY = "Hmm, I'm not sure what to say to that. Tell me more?"
# Said when the shared model is answering another conversation, so that a turn is never met
# with silence while it waits (it is not part of the reply the memory keeps).
HOLD = "One moment."
# A reply that was just interrupted holds the model until its next token; only a model still
# busy after this long is answering someone else.
HOLD_AFTER_S = 0.5


class LLMStage(Stage):
    name = "llm"

    def __init__(self, llm: LLM, memory: Memory, persona: Persona,
                 options: LLMOptions | None = None,
                 on_event: Callable[[StageReport], None] | None = None,
                 max_sentences: int = 2, wait_for_voice: bool = False) -> None:
        self.llm = llm
        self.memory = memory
        self.persona = persona
        self.options = replace(llm.options_for_transcript(options or LLMOptions()),
                               speaker=persona.name)
        self._on_event = on_event or (lambda report: None)
        # Spoken replies stay short: after this many sentences the generation is stopped.
        self.max_sentences = max_sentences
        # A voice stage follows: the model pauses while the first clause is synthesised.
        self.wait_for_voice = wait_for_voice

    async def prefill(self, words: str) -> bool:
        """The user's words so far, evaluated into the model's prompt while they still speak
        (backends that keep evaluated tokens; the others do nothing). Blocking work, off the
        event loop; skipped while the model is answering."""
        messages = self.memory.messages_with("user", words, self.persona.prompt)
        return await asyncio.to_thread(self.llm.prefill, messages, self.options)

    async def _still_busy(self) -> bool:
        waited = 0.0
        while self.llm.busy() and waited < HOLD_AFTER_S:
            await asyncio.sleep(0.02)
            waited += 0.02
        return self.llm.busy()

    async def process(self, frame: DataFrame, emit: Emit) -> None:
        if not isinstance(frame, UserTurn):
            await emit(frame)
            return
        # The user's words are already in memory (the session adds them when the turn ends).
        messages = self.memory.messages(self.persona.prompt)
        splitter = ClauseSplitter()
        full = ""
        index = 0
        sentences = 0
        first = True
        said: list[str] = []
        if await self._still_busy():
            await emit(ReplyClause(text=HOLD, turn=frame.turn, index=index, hold=True))
            index += 1
        # The model waits while the first clause is given its voice (the TTS stage sets this).
        go = threading.Event()
        go.set()
        try:
            async for piece in self.llm.stream(messages, self.options, go):
                if first:
                    self._on_event(FirstToken(frame.turn))
                    first = False
                full += piece
                for clause in splitter.push(piece):
                    wait = self.wait_for_voice and not said
                    if wait:
                        go.clear()
                    await emit(ReplyClause(text=clause, turn=frame.turn, index=index,
                                           voiced=go if wait else None))
                    said.append(clause)
                    index += 1
                    sentences += clause.rstrip("\"')]").endswith((".", "!", "?", "…"))
                if sentences >= self.max_sentences:
                    break  # leaving the stream stops the generation
            else:
                for clause in splitter.flush():
                    await emit(ReplyClause(text=clause, turn=frame.turn, index=index))
                    said.append(clause)
                    index += 1
            full = " ".join(said) if said else full
        except LLMError as e:
            self._on_event(StageFailed("llm", frame.turn, str(e)))
            await emit(ReplyClause(text=APOLOGY, turn=frame.turn, index=index, apology=True))
            await emit(ReplyEnd(text="", turn=frame.turn, failed=True))
            return
        if not said:
            await emit(ReplyClause(text=EMPTY, turn=frame.turn, index=index))
            full = EMPTY
        await emit(ReplyEnd(text=" ".join(full.split()), turn=frame.turn))
