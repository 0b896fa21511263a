"""Build a voice session from names (the one place that picks backends for a conversation)."""

from __future__ import annotations

from dataclasses import dataclass

from companion.avatars import resolve
from companion.cpu import budget, limit_render_threads
from companion.dialogue.persona import load_persona
from companion.face.engine import RenderOptions
from companion.face.live import LiveFace
from companion.face.rig import build_rig
from companion.llm.base import LLMOptions, make_llm
from companion.server.hub import end_of_turn_model
from companion.server.session import SessionConfig, VoiceSession
from companion.stt import make_stt
from companion.tts import make_tts
from companion.vad.turns import TurnConfig


@dataclass(frozen=True)
class ChatSpec:
    avatar: str = "mona-lisa"
    attest: str | None = None
    persona: str = "companion"
    llm: str = "auto"
    stt: str = "faster-whisper:tiny.en"
    voice: str = "piper"
    max_tokens: int = 48
    silence_ms: int = 600
    turn: str = "smart"  # smart (Smart Turn decides) | silence (silence_ms decides)
    barge_in_ms: int = 300
    fps: int = 25
    label: bool = True


def build_session(spec: ChatSpec) -> tuple[VoiceSession, LiveFace]:
    limit_render_threads(budget())
    av = resolve(spec.avatar, spec.attest)
    rig = build_rig(av.image, av.consent)
    live = LiveFace(rig, RenderOptions(fps=spec.fps, label=spec.label))
    persona = load_persona(spec.persona)
    llm = make_llm(spec.llm)
    cfg = SessionConfig(turns=TurnConfig(silence_ms=spec.silence_ms,
                                         min_speech_ms=spec.barge_in_ms),
                        llm=LLMOptions(max_tokens=spec.max_tokens))
    fallback = make_tts("espeak") if spec.voice != "espeak" else None
    session = VoiceSession(live, make_stt(spec.stt), llm, make_tts(spec.voice), persona,
                           cfg, fallback_tts=fallback, end_of_turn=end_of_turn_model(spec.turn))
    return session, live
