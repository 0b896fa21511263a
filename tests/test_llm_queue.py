"""A local model shared by several conversations answers one at a time: the others wait their
turn without their timeouts running and hear "one moment" at once (the red team's three
speakers got no replies at all after the first minute)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

from companion.dialogue import Memory, load_persona
from companion.frames import Frame, Message, ReplyClause, ReplyEnd, UserTurn
from companion.llm.base import LLM, LLMOptions
from companion.stages.llm_stage import APOLOGY, HOLD, LLMStage

STORY = "Sure, I can tell you about that. It is a long story."


class SlowLocalLLM(LLM):
    """Like the embedded model: one reply at a time, a word every 0.12 s."""

    name = "slow-local"
    serial = True

    def __init__(self, uninterruptible: bool = False) -> None:
        # a real model notices a stop only between tokens: a token in progress finishes
        self.uninterruptible = uninterruptible
        self.active = 0
        self.most_at_once = 0

    def _generate(self, messages: list[Message], options: LLMOptions,
                  stop: threading.Event) -> Iterator[str]:
        self.active += 1
        self.most_at_once = max(self.most_at_once, self.active)
        try:
            for word in STORY.split(" "):
                if self.uninterruptible:
                    time.sleep(0.12)
                if stop.wait(0 if self.uninterruptible else 0.12):
                    return
                yield word + " "
        finally:
            self.active -= 1


def _stage(llm: LLM) -> LLMStage:
    memory = Memory()
    memory.add("user", "Tell me a story.")
    # a first token is due within 0.8 s of the model starting: each reply takes ~1.4 s, so a
    # turn that waited for other conversations would time out if waiting counted
    return LLMStage(llm, memory, load_persona(), LLMOptions(first_token_timeout_s=0.8))


async def _reply(stage: LLMStage, turn: int, delay: float) -> list[Frame]:
    await asyncio.sleep(delay)
    out: list[Frame] = []

    async def emit(f: Frame) -> None:
        out.append(f)

    await stage.process(UserTurn(text="Tell me a story.", turn=turn), emit)
    return out


def test_three_conversations_share_one_model_and_every_turn_is_answered() -> None:
    llm = SlowLocalLLM()

    async def run() -> list[list[Frame]]:
        return list(await asyncio.gather(*(_reply(_stage(llm), t, 0.1 * t)
                                           for t in range(3))))

    results = asyncio.run(run())
    assert llm.most_at_once == 1
    for turn, frames in enumerate(results):
        clauses = [f for f in frames if isinstance(f, ReplyClause)]
        end = frames[-1]
        assert isinstance(end, ReplyEnd) and not end.failed, frames
        assert APOLOGY not in [c.text for c in clauses]
        held = [c for c in clauses if c.hold]
        # the first turn had the model to itself; the two that waited heard "one moment" first
        assert [c.text for c in held] == ([] if turn == 0 else [HOLD])
        assert clauses[0].hold == (turn > 0)
        assert "long story" in end.text and HOLD not in end.text  # the memory keeps the reply


def test_a_waiting_reply_that_is_cancelled_gives_up_its_place() -> None:
    llm = SlowLocalLLM()

    async def run() -> list[Frame]:
        first = asyncio.create_task(_reply(_stage(llm), 0, 0))
        waiting = asyncio.create_task(_reply(_stage(llm), 1, 0.1))
        await asyncio.sleep(0.5)
        assert llm.busy()
        waiting.cancel()  # the user left, or barged in, while queued
        await first
        return await _reply(_stage(llm), 2, 0)  # the model is free for the next one

    frames = asyncio.run(run())
    assert isinstance(frames[-1], ReplyEnd) and not frames[-1].failed
    assert not any(isinstance(f, ReplyClause) and f.hold for f in frames)


def test_a_reply_just_interrupted_does_not_make_the_next_one_wait() -> None:
    # the same conversation: the user spoke again, the old reply stops at its next token
    llm = SlowLocalLLM(uninterruptible=True)

    async def run() -> list[Frame]:
        old = asyncio.create_task(_reply(_stage(llm), 0, 0))
        await asyncio.sleep(0.4)
        assert llm.busy()
        old.cancel()
        return await _reply(_stage(llm), 1, 0)

    frames = asyncio.run(run())
    assert isinstance(frames[-1], ReplyEnd) and not frames[-1].failed
    assert not any(isinstance(f, ReplyClause) and f.hold for f in frames)
