"""The voice loop's protocol on a scripted timeline: real VAD and real speech in, scripted
STT/LLM/TTS (instant), the face's stream clock as the only clock."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from companion.audio.io import decode_audio
from companion.dialogue.persona import load_persona
from companion.face.engine import RenderOptions
from companion.face.live import LiveFace, TimedFrame
from companion.face.rig import Rig
from companion.frames import Message
from companion.llm.base import LLMOptions
from companion.session import SessionConfig, VoiceSession
from companion.vad import TurnConfig
from tests.fakes import ScriptedLLM, ScriptedSTT, ToneTTS

LONG = ("Well, that is a lovely question, and I have been thinking about it all day long, so "
        "let me tell you a story about a little boat that sailed across the sea to find a home.")


def _session(rig: Rig, llm: ScriptedLLM, tts: ToneTTS, stt: ScriptedSTT,
             fallback: ToneTTS | None = None, timeout: float = 5.0
             ) -> tuple[VoiceSession, LiveFace]:
    live = LiveFace(rig, RenderOptions(label=False))
    # Scripted transcripts go out one per recognition: early recognition starts only after
    # the clips' longest pauses inside a sentence, so each turn takes exactly one of them.
    cfg = SessionConfig(llm=LLMOptions(max_tokens=80, first_token_timeout_s=timeout,
                                       total_timeout_s=timeout),
                        turns=TurnConfig(speculative_ms=160))
    s = VoiceSession(live, stt, llm, tts, load_persona(), cfg, fallback_tts=fallback,
                     clock=lambda: live.position)
    return s, live


async def _drive(s: VoiceSession, live: LiveFace, audio: np.ndarray,
                 frames: list[TimedFrame]) -> None:
    """Feed 32 ms chunks; after each, compute finishes (instant on this timeline) and the face
    renders up to the same time. The microphone clock is the session's fed-audio count."""
    for j in range(0, len(audio) - 511, 512):
        await s.feed(audio[j:j + 512])
        await s.settle()
        s.fed = getattr(s, "fed", 0) + 512  # type: ignore[attr-defined]
        t = s.fed / 16000  # type: ignore[attr-defined]
        while live.position < t:
            f = live.next_frame()
            s.on_frame(f)
            frames.append(f)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), np.float32)


@pytest.fixture(scope="module")
def speech(data: Path) -> tuple[np.ndarray, np.ndarray]:
    jfk = decode_audio(data / "jfk.flac", 16000).samples
    return jfk[int(0.3 * 16000): int(2.3 * 16000)], jfk[int(3.2 * 16000): int(4.6 * 16000)]


def test_barge_in_stops_the_reply_and_keeps_what_was_heard(
        mona: Rig, speech: tuple[np.ndarray, np.ndarray]) -> None:
    first, second = speech
    tts = ToneTTS()
    s, live = _session(mona, ScriptedLLM([LONG, "Of course."]), tts,
                       ScriptedSTT(["And so my fellow Americans", "wait, stop"]))
    frames: list[TimedFrame] = []

    async def run() -> None:
        await s.start()
        await _drive(s, live, np.concatenate([_silence(0.5), first, _silence(0.8)]), frames)
        rec = s.records[0]
        assert rec.user_text == "And so my fellow Americans"
        reply_start = rec.times["first_audio"]
        # let the avatar talk for one second, then the user speaks over it
        await _drive(s, live, _silence(max(0.0, reply_start + 1.0 - live.position)), frames)
        n_before = len(frames)
        await _drive(s, live, second, frames)
        await _drive(s, live, _silence(1.0), frames)
        await s.stop()
        barge = rec.times["barge_in"]
        assert rec.interrupted
        # within one frame of the interruption the face is silent and no longer speaking
        next_reply = s.records[1].times["first_audio"]
        after = [f for f in frames[n_before:] if barge <= f.video.pts < next_reply]
        assert len(after) > 10 and not any(f.speaking for f in after[1:])
        assert not any(f.audio.samples.any() for f in after[1:])
        # heard ≈ 1.3 s of 0.3 s words (barge-in needs 300 ms of speech): a few words, a prefix
        heard = rec.heard_text.split()
        assert 2 <= len(heard) <= 7
        assert LONG.startswith(rec.heard_text)
        assistant = [m.content for m in s.memory.turns if m.role == "assistant"]
        assert assistant[0] == rec.heard_text  # history keeps only what was heard
        # and the conversation goes on: the interruption became the next turn
        assert s.records[1].user_text == "wait, stop"
        assert s.records[1].reply_text == "Of course."

    asyncio.run(run())


def test_short_noise_does_not_interrupt(mona: Rig, speech: tuple[np.ndarray, np.ndarray]
                                        ) -> None:
    first, _ = speech
    s, live = _session(mona, ScriptedLLM(["One two three four five six seven eight."]),
                       ToneTTS(), ScriptedSTT(["hello there"]))
    frames: list[TimedFrame] = []
    rng = np.random.default_rng(0)
    burst = (0.3 * rng.standard_normal(int(0.15 * 16000))).astype(np.float32)

    async def run() -> None:
        await s.start()
        await _drive(s, live, np.concatenate([first, _silence(0.8)]), frames)
        await _drive(s, live, _silence(0.5), frames)
        await _drive(s, live, np.concatenate([burst, _silence(3.0)]), frames)
        await s.stop()

    asyncio.run(run())
    rec = s.records[0]
    assert not rec.interrupted and rec.reply_text.startswith("One two")
    spoken = sum(1 for f in frames if f.speaking) / 25
    assert abs(spoken - 8 * 0.3) < 0.1  # the whole reply was played


@pytest.mark.parametrize("mode", ["raise", "hang"])
def test_failing_llm_gives_a_spoken_apology_and_the_session_continues(
        mona: Rig, speech: tuple[np.ndarray, np.ndarray], mode: str) -> None:
    first, _ = speech
    llm = ScriptedLLM([], mode=mode, hang_s=3.0)
    tts = ToneTTS()
    s, live = _session(mona, llm, tts, ScriptedSTT(["hello", "are you there"]), timeout=0.5)
    frames: list[TimedFrame] = []

    async def run() -> None:
        await s.start()
        await _drive(s, live, np.concatenate([first, _silence(0.8)]), frames)
        await _drive(s, live, _silence(5.0), frames)
        llm.mode = "ok"
        llm.replies = ["Yes, I am here."]
        await _drive(s, live, np.concatenate([first, _silence(0.8)]), frames)
        await _drive(s, live, _silence(2.0), frames)
        await s.stop()

    asyncio.run(run())
    assert s.records[0].failed and s.records[0].errors
    assert any("Sorry" in said for said in tts.said)  # the apology was spoken
    assert s.records[1].reply_text == "Yes, I am here." and not s.records[1].failed


def test_failing_voice_falls_back_and_the_session_continues(
        mona: Rig, speech: tuple[np.ndarray, np.ndarray]) -> None:
    first, _ = speech
    fallback = ToneTTS()
    s, live = _session(mona, ScriptedLLM(["Hello to you too."]), ToneTTS(fail=True),
                       ScriptedSTT(["hello"]), fallback=fallback)
    frames: list[TimedFrame] = []

    async def run() -> None:
        await s.start()
        await _drive(s, live, np.concatenate([first, _silence(0.8)]), frames)
        await _drive(s, live, _silence(2.0), frames)
        await s.stop()

    asyncio.run(run())
    assert fallback.said == ["Hello to you too."]
    assert any(f.speaking for f in frames)
    assert s.records[0].errors and "tts_error" in s.records[0].errors[0]


def test_speech_soon_after_a_turn_ends_continues_that_turn(
        mona: Rig, speech: tuple[np.ndarray, np.ndarray]) -> None:
    first, second = speech
    llm = ScriptedLLM([LONG, "Of course."])
    s, live = _session(mona, llm, ToneTTS(), ScriptedSTT([]))  # every call: "and another thing"
    frames: list[TimedFrame] = []

    async def run() -> None:
        await s.start()
        # the turn ends after 600 ms of silence and the reply starts at once (instant compute);
        # 0.1 s later the user goes on: that is the same turn, not a barge-in
        await _drive(s, live, np.concatenate([_silence(0.5), first, _silence(0.7), second,
                                              _silence(1.5)]), frames)
        await s.stop()
        assert len(s.records) == 1, [r.user_text for r in s.records]
        rec = s.records[0]
        assert rec.user_text == "and another thing and another thing"
        assert not rec.interrupted and rec.reply_text
        users = [m.content for m in s.memory.turns if m.role == "user"]
        assert users == [rec.user_text]  # the first part is not kept as a turn of its own
        assert [m.content for m in llm.seen[-1] if m.role == "user"] == [rec.user_text]
        assert any(e["event"] == "turn_continued" for e in s.events)

    asyncio.run(run())


def test_speech_before_any_of_the_reply_was_heard_continues_the_turn(mona: Rig) -> None:
    """However long the pause, a user who speaks again before hearing a word of the reply is
    still in their turn; once the reply is audible, speaking is a barge-in."""
    from companion.frames import AudioFrame, SpeechSegment
    from companion.vad import TurnEvent

    s, live = _session(mona, ScriptedLLM([]), ToneTTS(), ScriptedSTT([]))
    s._reply_done = False  # a reply is being generated: the session is busy
    s._last_end = 0.0
    s._on_turn_event(TurnEvent("start", 3.0))  # 3 s later, nothing of the reply played yet
    assert [e["event"] for e in s.events][-1] == "turn_continued"
    s._reply_done = False
    seg = SpeechSegment(audio=AudioFrame(samples=np.zeros(2205, np.float32), sample_rate=22050))
    s._first_start = live.push_audio(seg, tag=s._reply_turn)
    live.next_frame()
    live.next_frame()  # the reply's first frames have played
    s._on_turn_event(TurnEvent("start", 3.1))
    assert [e["event"] for e in s.events][-1] == "barge_in"


def test_speech_while_the_last_turn_is_still_being_transcribed_joins_it(mona: Rig) -> None:
    """A slow recogniser: the user goes on before the last turn's transcript is in. Both parts
    become one turn, in the order spoken, answered once."""
    import time

    from companion.frames import AudioFrame, Word
    from companion.vad import TurnEvent

    class SlowSTT(ScriptedSTT):
        def _words(self, audio: AudioFrame) -> list[Word]:
            time.sleep(0.2)
            return super()._words(audio)

    llm = ScriptedLLM(["One answer."])
    s, _live = _session(mona, llm, ToneTTS(), SlowSTT(["and so my fellow Americans",
                                                      "ask not what your country can do"]))

    async def run() -> None:
        await s.start()
        await s.settle()
        speech = np.zeros(16000, np.float32)
        s._on_turn_event(TurnEvent("end", 2.0, speech))
        s._on_turn_event(TurnEvent("start", 2.9))  # > 0.8 s later, transcript not in yet
        s._on_turn_event(TurnEvent("end", 5.0, speech))
        await s.settle()
        await s.stop()

    asyncio.run(run())
    assert [r.user_text for r in s.records] == [
        "and so my fellow Americans ask not what your country can do"]
    assert len(llm.seen) == 1 and s.records[0].reply_text == "One answer."


class _PrefillLLM(ScriptedLLM):
    """A scripted model that keeps its prompt: records the words evaluated ahead."""

    keeps_prompt = True

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies)
        self.ahead: list[str] = []

    def prefill(self, messages: Sequence[Message], options: LLMOptions) -> bool:
        assert messages[-1].role == "user"
        self.ahead.append(messages[-1].content)
        return True


def test_the_users_words_are_evaluated_ahead_while_they_speak(mona: Rig, data: Path) -> None:
    from companion.stt.whisper import FasterWhisperSTT

    sentence = decode_audio(data / "en_vctk_p240_00000_female.mp3", 16000).samples
    llm = _PrefillLLM(["That sounds lovely."])
    live = LiveFace(mona, RenderOptions(label=False))
    s = VoiceSession(live, FasterWhisperSTT("tiny.en"), llm, ToneTTS(), load_persona(),
                     SessionConfig(), clock=lambda: live.position)
    frames: list[TimedFrame] = []

    async def run() -> None:
        await s.start()
        await _drive(s, live, np.concatenate([_silence(0.5), sentence, _silence(1.5)]), frames)
        await s.stop()

    asyncio.run(run())
    rec = s.records[0]
    final = rec.user_text.lower().split()
    assert len(final) >= 8 and rec.reply_text == "That sounds lovely."
    assert len(llm.ahead) >= 2  # about once a second of speech
    for words in llm.ahead:  # the start of what was finally heard, growing
        assert words.lower().split()[:2] == final[:2], (words, rec.user_text)
    assert len(llm.ahead[-1]) > len(llm.ahead[0])
    # the words evaluated ahead keep their form in the turn's text as far as they agree with
    # the final transcript (so the model's prompt agrees), and they cover most of the turn
    ahead, said = llm.ahead[-1].split(), rec.user_text.split()
    norm = [w.strip(".,?!").lower() for w in ahead]
    shared = next(i for i, w in enumerate(said) if i >= len(ahead) or
                  w.strip(".,?!").lower() != norm[i])
    assert shared >= len(said) // 2, (ahead, said)
    assert said[: shared - 1] == ahead[: shared - 1]
    # the reply itself was made from the final transcript, and only that is remembered
    assert llm.seen[0][-1] == Message("user", rec.user_text)
    assert [m.content for m in s.memory.turns if m.role == "user"] == [rec.user_text]
