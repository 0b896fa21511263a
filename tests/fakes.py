"""Scripted backends implementing the real base classes — for protocol and timing tests only."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from companion.frames import AudioFrame, Message, Phoneme, SpeechSegment, Word
from companion.llm.base import LLM, LLMOptions
from companion.stt.base import STT
from companion.tts.base import TTS


class ScriptedSTT(STT):
    name = "scripted-stt"

    def __init__(self, transcripts: list[str]) -> None:
        self.transcripts = list(transcripts)
        self.calls = 0

    def _words(self, audio: AudioFrame) -> list[Word]:
        self.calls += 1
        text = self.transcripts.pop(0) if self.transcripts else "and another thing"
        return [Word(w, 0.0, 0.1) for w in text.split()]


class ScriptedLLM(LLM):
    name = "scripted-llm"

    def __init__(self, replies: list[str], mode: str = "ok", hang_s: float = 5.0) -> None:
        self.replies = list(replies)
        self.mode = mode
        self.hang_s = hang_s
        self.seen: list[list[Message]] = []

    def _generate(self, messages: list[Message], options: LLMOptions,
                  stop: threading.Event) -> Iterator[str]:
        self.seen.append(messages)
        if self.mode == "raise":
            raise RuntimeError("model crashed")
        if self.mode == "hang":
            stop.wait(self.hang_s)
            return
        reply = self.replies.pop(0) if self.replies else "Okay."
        for word in reply.split():
            if stop.is_set():
                return
            yield word + " "


class ToneTTS(TTS):
    """0.3 s of voiced tone per word, with a /m/ + vowel per word as phone timings."""

    name = "tone-tts"

    def __init__(self, fail: bool = False, rate: int = 22050) -> None:
        self.fail = fail
        self.rate = rate
        self.said: list[str] = []

    def _synthesize(self, text: str) -> SpeechSegment:
        if self.fail:
            raise RuntimeError("voice crashed")
        self.said.append(text)
        words = text.split()
        dur = 0.3 * len(words)
        t = np.arange(int(dur * self.rate)) / self.rate
        audio = (0.3 * np.sin(2 * np.pi * 140 * t) * (0.5 + 0.5 * np.abs(np.sin(np.pi * t / 0.3))))
        phones = []
        for i in range(len(words)):
            phones += [Phoneme("m", 0.3 * i, 0.3 * i + 0.08), Phoneme("ɑ", 0.3 * i + 0.08,
                                                                     0.3 * (i + 1))]
        return SpeechSegment(audio=AudioFrame(samples=audio.astype(np.float32),
                                              sample_rate=self.rate),
                             phonemes=tuple(phones), text=text)


def wall_clock_pause(seconds: float) -> None:
    time.sleep(seconds)


def scripted_session(hello: Any) -> tuple[Any, Any]:
    """A conversation on a bundled avatar (the hello's) with scripted recognition, replies and
    voice: for page tests about other things than the models (consent, the camera)."""
    from companion.avatars import resolve
    from companion.dialogue.persona import load_persona
    from companion.errors import InputError
    from companion.face.engine import RenderOptions
    from companion.face.live import LiveFace
    from companion.face.rig import build_rig
    from companion.server.app import avatar_allowed
    from companion.session import VoiceSession

    if not avatar_allowed(hello.avatar):
        raise InputError(f"unknown avatar {hello.avatar!r}")
    a = resolve(hello.avatar)
    live = LiveFace(build_rig(a.image, a.consent), RenderOptions())
    return VoiceSession(live, ScriptedSTT(["hello"] * 20), ScriptedLLM(["Hi."] * 20),
                        ToneTTS(), load_persona()), live
