"""The real models behind `companion serve`: loaded once, shared by all sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from companion.avatars import bundled, resolve
from companion.consent.gate import is_active
from companion.cpu import budget, limit_render_threads
from companion.dialogue.persona import load_persona
from companion.errors import InputError
from companion.face.engine import RenderOptions
from companion.face.live import LiveFace
from companion.face.rig import build_rig
from companion.llm.base import LLM, LLMOptions, Message, make_llm
from companion.server.protocol import Hello
from companion.server.session import SessionConfig, VoiceSession
from companion.stt import STT, make_stt
from companion.tts import TTS, make_tts
from companion.vad.turns import TurnConfig


def end_of_turn_model(kind: str) -> Callable[[np.ndarray], float] | None:
    """'smart': Smart Turn decides when a turn is finished; 'silence': a fixed silence does."""
    if kind == "silence":
        return None
    if kind != "smart":
        raise InputError(f"unknown turn detection {kind!r}", "use smart or silence")
    from companion.vad.smart_turn import SmartTurn

    return SmartTurn()


def avatar_allowed(name: str) -> bool:
    """May a client ask for this avatar? Bundled ones by name, or portraits with an active
    consent record by id: never a path to a file on the server."""
    if name in bundled():
        return True
    return name.startswith("c_") and name[2:].isalnum() and is_active(name)


@dataclass
class Models:
    stt: STT
    llm: LLM
    tts: TTS
    fallback: TTS | None
    end_of_turn: Callable[[np.ndarray], float] | None = None  # Smart Turn, shared


def load_models(llm: str = "auto", stt: str = "faster-whisper:tiny.en",
                voice: str = "piper", turn: str = "smart") -> Models:
    m = Models(make_stt(stt), make_llm(llm), make_tts(voice),
               make_tts("espeak") if voice != "espeak" else None, end_of_turn_model(turn))
    limit_render_threads(budget())
    m.llm.load()
    # the default persona's prompt, evaluated before the first visitor
    persona = load_persona("companion")
    m.llm.warm([Message("system", persona.prompt)],
               m.llm.options_for_transcript(LLMOptions(speaker=persona.name)))
    m.tts.synthesize("Hello.")  # load the voice before the first visitor
    return m


def session_factory(models: Models, fps: int = 25, max_tokens: int = 48, silence_ms: int = 600,
                    barge_in_ms: int = 300) -> Callable[[Hello], tuple[VoiceSession, LiveFace]]:
    def make(hello: Hello) -> tuple[VoiceSession, LiveFace]:
        if not avatar_allowed(hello.avatar):
            raise InputError(f"unknown avatar {hello.avatar!r}",
                             "choose one of: " + ", ".join(bundled()))
        av = resolve(hello.avatar)
        rig = build_rig(av.image, av.consent)
        live = LiveFace(rig, RenderOptions(fps=fps, label=True))
        persona = load_persona(hello.persona)
        cfg = SessionConfig(turns=TurnConfig(silence_ms=silence_ms, min_speech_ms=barge_in_ms),
                            llm=LLMOptions(max_tokens=max_tokens))
        session = VoiceSession(live, models.stt, models.llm, models.tts, persona, cfg,
                               fallback_tts=models.fallback, end_of_turn=models.end_of_turn)
        return session, live

    return make
