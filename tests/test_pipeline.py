"""The interrupt protocol on a scripted timeline: no sleeps, events decide what happens when."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

from companion.frames import DataFrame, Frame, InterruptFrame, SpeechStarted, TextFrame
from companion.pipeline import Emit, Pipeline, Stage, StageError


class Upper(Stage):
    name = "upper"

    async def process(self, frame: DataFrame, emit: Emit) -> None:
        assert isinstance(frame, TextFrame)
        await emit(TextFrame(text=frame.text.upper()))


class Streamer(Stage):
    """Emits one token each time the test releases it: a long LLM reply under test control."""

    name = "streamer"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.cancelled = 0
        self.interrupted = 0

    async def process(self, frame: DataFrame, emit: Emit) -> None:
        assert isinstance(frame, TextFrame)
        try:
            for word in frame.text.split():
                await self.release.wait()
                self.release.clear()
                await emit(TextFrame(text=word))
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    def interrupt(self) -> None:
        self.interrupted += 1


class Boom(Stage):
    name = "boom"

    async def process(self, frame: DataFrame, emit: Emit) -> None:
        assert isinstance(frame, TextFrame)
        if frame.text == "FAIL":
            raise RuntimeError("backend crashed")
        await emit(frame)


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def _texts_out(script: Callable[[Pipeline], None]) -> list[str]:
    """Run `script` against an Upper → Boom pipeline; the texts that reach the sink."""
    async def run() -> list[str]:
        got: list[str] = []

        async def sink(f: Frame) -> None:
            if isinstance(f, TextFrame):
                got.append(f.text)

        p = Pipeline([Upper(), Boom()], sink=sink)
        await p.start()
        script(p)
        await _settle()
        await p.stop()
        return got

    return asyncio.run(run())


def test_data_flows_in_order() -> None:
    def script(p: Pipeline) -> None:
        for w in ("a", "b", "c"):
            p.push(TextFrame(text=w))

    assert _texts_out(script) == ["A", "B", "C"]


def test_interrupt_cancels_in_flight_work_and_drops_queued_data() -> None:
    async def run() -> None:
        got: list[Frame] = []

        async def sink(f: Frame) -> None:
            got.append(f)

        streamer = Streamer()
        p = Pipeline([Upper(), streamer], sink=sink)
        await p.start()
        p.push(TextFrame(text="one two three four five"))
        p.push(TextFrame(text="queued reply never spoken"))
        await _settle()
        streamer.release.set()
        await _settle()
        streamer.release.set()
        await _settle()
        assert [f.text for f in got if isinstance(f, TextFrame)] == ["ONE", "TWO"]
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        p.interrupt()
        streamer.release.set()  # a token is ready at the very moment of the interrupt
        await _settle()
        assert loop.time() - t0 < 0.1
        assert streamer.cancelled == 1 and streamer.interrupted == 1
        texts = [f.text for f in got if isinstance(f, TextFrame)]
        assert texts == ["ONE", "TWO"]  # nothing after the interrupt, the queued reply dropped
        assert isinstance(got[-1], InterruptFrame)  # the sink is told, to clear its buffers
        assert p.metrics["streamer"].dropped == 1
        # the pipeline keeps working after the interrupt
        p.push(TextFrame(text="next"))
        await _settle()
        streamer.release.set()
        await _settle()
        assert [f.text for f in got if isinstance(f, TextFrame)][-1] == "NEXT"
        await p.stop()

    asyncio.run(run())


def test_system_frames_overtake_data() -> None:
    async def run() -> list[str]:
        order: list[str] = []

        async def sink(f: Frame) -> None:
            order.append(type(f).__name__ if not isinstance(f, TextFrame) else f.text)

        streamer = Streamer()
        p = Pipeline([streamer], sink=sink)
        await p.start()
        p.push(TextFrame(text="x y"))
        await _settle()
        p.push(TextFrame(text="later"))
        p.push(SpeechStarted())
        await _settle()
        streamer.release.set()
        await _settle()
        await p.stop()
        return order

    order = asyncio.run(run())
    assert order[0] == "SpeechStarted"  # it passed while "x y" was still being produced


def test_a_failing_stage_reports_and_the_pipeline_goes_on() -> None:
    async def run() -> list[Frame]:
        got: list[Frame] = []

        async def sink(f: Frame) -> None:
            got.append(f)

        p = Pipeline([Upper(), Boom()], sink=sink)
        await p.start()
        p.push(TextFrame(text="fail"))
        p.push(TextFrame(text="fine"))
        await _settle()
        await p.stop()
        return got

    got = asyncio.run(run())
    assert isinstance(got[0], StageError) and "crashed" in got[0].error
    assert isinstance(got[1], TextFrame) and got[1].text == "FINE"


def test_a_turn_pushed_right_after_an_interrupt_is_kept() -> None:
    """A typed turn interrupts the reply and is pushed in the same moment: the interrupt drops
    what was queued before it, never the turn that caused it."""
    def script(p: Pipeline) -> None:
        p.push(TextFrame(text="old"))  # still queued when the interrupt comes
        p.interrupt()
        p.push(TextFrame(text="new"))

    assert _texts_out(script) == ["NEW"]


def test_the_model_waits_while_the_first_clause_gets_its_voice() -> None:
    """Decoding beside the first clause's synthesis doubled it on two cores: the model pauses
    until that voice is made, then goes on to the end of the reply."""
    from companion.dialogue.memory import Memory
    from companion.dialogue.persona import load_persona
    from companion.frames import Message, ReplyEnd, ReplySpeech, SpeechSegment, UserTurn
    from companion.llm.base import LLMOptions
    from companion.stages import LLMStage, TTSStage
    from tests.fakes import ScriptedLLM, ToneTTS

    class CountingLLM(ScriptedLLM):
        made = 0

        def _generate(self, messages: list[Message], options: LLMOptions,
                      stop: threading.Event) -> Iterator[str]:
            for piece in super()._generate(messages, options, stop):
                time.sleep(0.02)  # a model that takes its time over each token
                self.made += 1
                yield piece

    llm = CountingLLM(["Oh, I see what you mean. That sounds like a long and tiring day for "
                       "anyone, so tell me more."])

    class SlowFirstVoice(ToneTTS):
        during: int | None = None

        def _synthesize(self, text: str) -> SpeechSegment:
            if text.startswith("Oh"):  # the first clause: count what the model made meanwhile
                before = llm.made
                time.sleep(0.3)
                self.during = llm.made - before
            return super()._synthesize(text)

    tts = SlowFirstVoice()
    memory = Memory()
    memory.add("user", "I had a long day.")
    out: list[Frame] = []
    done = asyncio.Event()

    async def sink(frame: Frame) -> None:
        out.append(frame)
        if isinstance(frame, ReplyEnd):
            done.set()

    async def run() -> None:
        p = Pipeline([LLMStage(llm, memory, load_persona(), LLMOptions(max_tokens=80),
                               wait_for_voice=True), TTSStage(tts)], sink=sink)
        await p.start()
        p.push(UserTurn(text="I had a long day.", turn=1))
        await asyncio.wait_for(done.wait(), 10)
        await p.stop()

    asyncio.run(run())
    assert tts.during is not None and tts.during <= 1  # at most the token already in flight
    spoken = [f.segment.text for f in out if isinstance(f, ReplySpeech)]
    assert spoken[0] == "Oh," and len(spoken) >= 2  # then it went on
