"""The communication aid's session: the user's words said verbatim (no LLM), in order, stopped
at once by the stop key, quick phrases ready ahead, their own recordings lip-synced, and the
safeguard that shows help without silencing them. Scripted voice (timing and protocol); the
real voice and recognition are in test_aac_browser.py."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from companion.aac.session import AACSession, CachedTTS
from companion.dialogue.persona import Persona
from companion.face.engine import RenderOptions
from companion.face.live import LiveFace
from companion.face.rig import Rig
from companion.frames import AudioFrame
from companion.session import SessionConfig
from tests.fakes import ScriptedLLM, ScriptedSTT, ToneTTS


class Aid:
    """A session with its face rendering as fast as it can, and what it told the page."""

    def __init__(self, rig: Rig, quick: list[str] | None = None) -> None:
        self.tts = ToneTTS()
        self.llm = ScriptedLLM(["this must never be said"])
        self.live = LiveFace(rig, RenderOptions(label=False))
        self.remembered: list[str] = []
        self.crises: list[str] = []
        self.s = AACSession(self.live, ScriptedSTT([]), self.llm, CachedTTS(self.tts),
                            Persona("aac", "Spoken", ""), SessionConfig(), quick=quick,
                            remember=self.remembered.append)
        self.s.on_crisis = self.crises.append
        self.told: list[dict[str, Any]] = []
        self.s.listener = self.told.append
        self.spoken_frames = 0

    async def start(self) -> None:
        await self.s.start()
        self.tts.said.clear()  # the voice's warm-up word (the pipeline says it as it starts)

    async def run(self, seconds: float) -> None:
        """Render `seconds` of the stream (faster than real time), letting the pipeline run."""
        end = self.live.position + seconds
        while self.live.position < end:
            await asyncio.sleep(0)
            f = self.live.next_frame()
            self.spoken_frames += f.speaking
            await asyncio.sleep(0.001)

    def captions(self) -> list[str]:
        return [e["text"] for e in self.told if e["type"] == "caption"]


def test_the_users_words_are_said_verbatim_in_order_with_no_model(mona: Rig) -> None:
    aid = Aid(mona)
    words = "I would like some water, please. And then a short walk!"

    async def go() -> None:
        await aid.start()
        aid.s.speak(words)
        aid.s.speak("Thank you.")  # queued behind the first, not replacing it
        await aid.run(8.0)
        await aid.s.stop()

    asyncio.run(go())
    assert aid.llm.seen == []  # no language model in the path
    assert " ".join(aid.captions()) == f"{words} Thank you."
    assert " ".join(aid.tts.said) == f"{words} Thank you."
    assert aid.spoken_frames > 0.3 * 25 * len((words + " Thank you.").split())
    assert aid.remembered == [words, "Thank you."]  # the history learns them
    assert not aid.s.busy and not any(r.interrupted for r in aid.s.records)


def test_the_stop_key_silences_at_once_and_drops_what_is_queued(mona: Rig) -> None:
    aid = Aid(mona)
    long = "one two three four five six seven eight nine ten eleven twelve"

    async def go() -> None:
        await aid.start()
        aid.s.speak(long)
        aid.s.speak("This is queued and must not be said.")
        await aid.run(1.0)
        assert aid.live.speaking
        heard = aid.s.hush()
        assert heard and long.startswith(heard) and len(heard) < len(long)
        assert not aid.live.speaking
        before = aid.spoken_frames
        await aid.run(4.0)
        assert aid.spoken_frames == before  # nothing more was said
        aid.s.speak("After the stop.")  # and the aid goes on
        await aid.run(2.0)
        await aid.s.stop()

    asyncio.run(go())
    assert [r.interrupted for r in aid.s.records] == [True, True, False]
    assert aid.captions()[-1] == "After the stop."
    assert any(e["type"] == "interrupted" for e in aid.told)


def test_quick_phrases_are_synthesised_ahead(mona: Rig) -> None:
    aid = Aid(mona, quick=["Yes.", "Wait, I'm typing."])

    async def go() -> None:
        await aid.start()
        for _ in range(200):
            if aid.s.voice.cached("Wait, I'm typing."):
                break
            await asyncio.sleep(0.01)
        assert sorted(aid.tts.said) == ["Wait, I'm typing.", "Yes."]
        aid.s.speak("Wait, I'm typing.")
        await aid.run(2.0)
        await aid.s.stop()

    asyncio.run(go())
    assert aid.tts.said.count("Wait, I'm typing.") == 1  # said from the cache
    assert aid.captions() == ["Wait, I'm typing."]


def test_a_banked_recording_is_lip_synced_in_the_users_own_voice(mona: Rig) -> None:
    aid = Aid(mona)
    t = np.arange(int(1.2 * 16000)) / 16000
    voice = (0.4 * np.sin(2 * np.pi * 160 * t) * (np.sin(np.pi * t * 4) > 0)).astype(np.float32)

    async def go() -> None:
        await aid.start()
        aid.s.speak("Love you, Gran.", recording=AudioFrame(samples=voice, sample_rate=16000))
        await aid.run(2.0)
        await aid.s.stop()

    asyncio.run(go())
    assert aid.tts.said == []  # their recording, not the synthetic voice
    assert aid.captions() == ["Love you, Gran."]
    assert aid.spoken_frames >= 25  # about 1.2 s of speaking frames


def test_the_safeguard_shows_help_but_never_silences_the_user(mona: Rig) -> None:
    aid = Aid(mona)
    words = "I want to kill myself."

    async def go() -> None:
        await aid.start()
        aid.s.speak(words)
        await aid.run(3.0)
        aid.s.speak("Yes.")  # the board goes on working
        await aid.run(2.0)
        await aid.s.stop()

    asyncio.run(go())
    assert aid.captions() == [words, "Yes."]  # their words, said as written
    crisis = [e for e in aid.told if e["type"] == "crisis"]
    assert len(crisis) == 1 and crisis[0]["blocking"] is False
    assert crisis[0]["category"] == "suicide" and crisis[0]["resources"]
    assert aid.crises == ["suicide"]  # the audit hook: the category, not the words
    assert aid.s.crisis is None  # nothing waits for a "go on"


def test_the_terminal_aid_says_typed_lines_on_the_speaker(mona: Rig,
                                                          monkeypatch: Any) -> None:
    """`companion aac`: lines on stdin → the avatar's voice on the speaker (a fake sound card:
    this machine has none), `/1` a quick phrase, Ctrl+D ends."""
    import sys
    import threading
    import time

    from companion.local import aac_local

    written: list[np.ndarray] = []

    class Speaker:
        def write(self, data: bytes) -> None:
            written.append(np.frombuffer(data, np.float32))
            time.sleep(0.002)

        def close(self) -> None:
            pass

    class PyAudio:
        paFloat32 = 1

        def PyAudio(self) -> PyAudio:
            return self

        def open(self, **kw: Any) -> Speaker:
            return Speaker()

        def terminate(self) -> None:
            pass

    def voiced_s() -> float:
        return sum(len(w) for w in written if np.abs(w).max() > 0.01) / 22050

    class Stdin:
        def __init__(self) -> None:
            self.lines = ["Good morning.\n", "/1\n"]

        def readline(self) -> str:
            time.sleep(0.2)
            if self.lines:
                return self.lines.pop(0)
            end = time.monotonic() + 20
            while voiced_s() < 0.8 and time.monotonic() < end:
                time.sleep(0.05)
            return ""  # Ctrl+D

    monkeypatch.setattr(aac_local, "pyaudio_module", lambda what: PyAudio())
    monkeypatch.setattr(sys, "stdin", Stdin())
    aid = Aid(mona)
    done = threading.Event()

    async def go() -> None:
        await asyncio.wait_for(aac_local.run_aac_local(aid.s, aid.live, ["Yes."]), 40)
        done.set()

    asyncio.run(go())
    assert done.is_set()
    assert [r.user_text for r in aid.s.records] == ["Good morning.", "Yes."]
    assert voiced_s() >= 0.8  # their words reached the speaker (0.9 s of them)
