"""The one place that assembles a conversation: models from the settings, then sessions.

`load_models(settings)` loads the shared models once (a server shares them between its sessions);
`new_session(models, settings, avatar, persona)` builds one conversation around a portrait. The
CLI, the server, the local front ends, the benchmarks and the tests all come through here, so a
session is built the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from companion.avatars import resolve
from companion.config import Settings
from companion.cpu import budget, limit_render_threads
from companion.dialogue.persona import load_persona
from companion.errors import InputError
from companion.face.engine import RenderOptions
from companion.face.live import LiveFace
from companion.face.rig import build_rig
from companion.frames import Message
from companion.llm import LLM, Endpoint, LLMOptions, make_llm
from companion.session import SessionConfig, VoiceSession
from companion.stt import STT, make_stt
from companion.tts import TTS, make_tts
from companion.vad.turns import TurnConfig


@dataclass
class Models:
    stt: STT
    llm: LLM
    tts: TTS
    fallback: TTS | None  # espeak, when the main voice fails on a sentence
    end_of_turn: Callable[[np.ndarray], float] | None = None  # Smart Turn, shared


def end_of_turn_model(kind: str) -> Callable[[np.ndarray], float] | None:
    """'smart': Smart Turn decides when a turn is finished; 'silence': a fixed silence does."""
    if kind == "silence":
        return None
    if kind != "smart":
        raise InputError(f"unknown turn detection {kind!r}", "use smart or silence")
    from companion.vad.smart_turn import SmartTurn

    return SmartTurn()


def endpoint(settings: Settings) -> Endpoint:
    return Endpoint(settings.llm_base_url, settings.llm_model, settings.llm_api_key)


def load_models(settings: Settings, warm: bool = True) -> Models:
    """The models every session of this process shares. With `warm`, each is loaded and run
    once now (the default persona's prompt evaluated, a word spoken), before the first visitor."""
    limit_render_threads(budget())
    m = Models(make_stt(settings.stt),
               make_llm(settings.llm, endpoint(settings), settings.allow_download),
               make_tts(settings.voice),
               make_tts("espeak") if settings.voice != "espeak" else None,
               end_of_turn_model(settings.turn))
    if warm:
        m.llm.load()
        persona = load_persona(settings.persona)
        m.llm.warm([Message("system", persona.prompt)],
                   m.llm.options_for_transcript(LLMOptions(speaker=persona.name)))
        m.tts.synthesize("Hello.")
    return m


def session_config(settings: Settings) -> SessionConfig:
    return SessionConfig(turns=TurnConfig(silence_ms=settings.silence_ms,
                                          min_speech_ms=settings.barge_in_ms),
                         llm=LLMOptions(max_tokens=settings.max_tokens))


def new_session(models: Models, settings: Settings, avatar: str | None = None,
                persona: str | None = None, attest: str | None = None
                ) -> tuple[VoiceSession, LiveFace]:
    """One conversation: the portrait's rig (its consent is checked here, in the engine), a live
    face and a voice session with the persona. `avatar` and `persona` default to the settings'."""
    av = resolve(avatar or settings.avatar, attest)
    rig = build_rig(av.image, av.consent)
    live = LiveFace(rig, RenderOptions(fps=settings.fps, label=settings.label))
    session = VoiceSession(live, models.stt, models.llm, models.tts,
                           load_persona(persona or settings.persona), session_config(settings),
                           fallback_tts=models.fallback, end_of_turn=models.end_of_turn)
    return session, live
