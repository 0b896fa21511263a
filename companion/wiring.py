"""The one place that assembles a conversation: models from the settings, then sessions.

`load_models(settings)` loads the shared models once (a server shares them between its sessions);
`new_session(models, settings, avatar, persona)` builds one conversation around a portrait. The
CLI, the server, the local front ends, the benchmarks and the tests all come through here, so a
session is built the same way everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from companion.aac.session import AACSession, CachedTTS
from companion.avatars import resolve
from companion.config import Settings
from companion.consent.tools import ConsentTools
from companion.cpu import apply_budget, budget, release_memory
from companion.dialogue.debrief import Debrief
from companion.dialogue.persona import Persona, load_persona
from companion.dialogue.scenario import load_scenarios
from companion.errors import InputError
from companion.face import raster
from companion.face.engine import RenderOptions
from companion.face.live import LiveFace
from companion.face.rig import build_rig
from companion.frames import AudioFrame, Message
from companion.llm import LLM, Endpoint, LLMOptions, make_llm
from companion.practice import PracticeSession, disclosure
from companion.safety import semantic
from companion.session import SessionConfig, VoiceSession
from companion.stt import STT, make_stt
from companion.tts import TTS, make_tts
from companion.vad.turns import TurnConfig

log = logging.getLogger("companion.safety")
MODES = ("companion", "practice", "aac")
# The aid has no persona: the avatar is the user's voice ("Spoken" heads its captions).
AAC_VOICE = Persona(key="aac", name="Spoken", prompt="")


@dataclass
class Models:
    stt: STT
    llm: LLM
    tts: TTS
    fallback: TTS | None  # espeak, when the main voice fails on a sentence
    end_of_turn: Callable[[np.ndarray], float] | None = None  # Smart Turn, shared

    def release_memory(self) -> None:
        """What a finished conversation leaves behind: the voices' arenas, then the heap's free
        pages (blocking)."""
        for tts in (self.tts, self.fallback):
            if tts is None:
                continue
            try:
                tts.release()
            except Exception as e:  # a voice that cannot shrink still speaks: say so, go on
                logging.getLogger("companion").warning(
                    "the %s voice could not give back its memory: %s", tts.name, e)
        release_memory()


def consent_tools() -> ConsentTools:
    """What consent's checks need from the face engine and the recogniser (consent imports
    neither): the portrait check, a landmark tracker for liveness, Whisper for the phrase,
    and the cached rigs that revoking deletes."""
    from companion.face.landmarks import FaceAnalyzer
    from companion.face.rig import cached_rigs, check_portrait
    from companion.stt.whisper import FasterWhisperSTT

    # Liveness detects every sampled frame afresh: in tracking mode the landmarks lag, a blink
    # read 0.72 of the open eye instead of 0.55 and the head's idle sway doubled
    return ConsentTools(check_portrait, lambda: FaceAnalyzer(tracking=False, max_faces=2),
                        lambda: FasterWhisperSTT("tiny.en"), cached_rigs)


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
    once now (the default persona's prompt evaluated, a word spoken, a second of noise heard),
    before the first visitor: the first turn otherwise paid ~0.4 s for loading Whisper."""
    apply_budget(budget())
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
        raster.warm()  # the renderer's compiled loop: loaded now, not in a first conversation
        semantic.shared()  # the safeguard's encoder (~0.2 s), before the first turn needs it
        noise = np.random.default_rng(0).normal(0, 0.01, 16000).astype(np.float32)
        m.stt.text(AudioFrame(samples=noise, sample_rate=16000))
        if m.end_of_turn is not None:
            m.end_of_turn(noise)
    return m


def session_config(settings: Settings, disclose: str = "") -> SessionConfig:
    return SessionConfig(turns=TurnConfig(silence_ms=settings.silence_ms,
                                          min_speech_ms=settings.barge_in_ms),
                         llm=LLMOptions(max_tokens=settings.max_tokens), disclosure=disclose,
                         crisis_resources=settings.crisis_resources,
                         crisis_hold_s=settings.crisis_hold_s)


def companion_disclosure(persona: Persona) -> str:
    return f"Hello, I'm {persona.name}. I'm an AI, not a person."


def audit_crisis(mode: str) -> Callable[[str], None]:
    """Writes the safeguard's hits to the consent registry's audit chain: the time and the
    category, never the words. A failing write is logged; the safeguard has already acted."""
    def write(category: str) -> None:
        from companion.consent.registry import ConsentRegistry

        try:
            with ConsentRegistry() as reg:
                reg.log_event("crisis-safeguard", {"category": category, "mode": mode})
        except Exception as e:  # the disk or the database: the user was still helped
            log.error("could not write the crisis event to the audit log: %s", e)

    return write


def reflection_allowed(settings: Settings, llm: LLM) -> bool:
    """Is the model good enough to write a debrief reflection? Only a served model by default:
    the embedded ones (0.3–0.5 B parameters) write fluent nonsense about people's skills."""
    if settings.reflection != "auto":
        return settings.reflection == "on"
    return bool(settings.llm_base_url) and llm.name.startswith("openai")


def reflector(llm: LLM) -> Callable[[Debrief], Awaitable[tuple[str, str]]]:
    async def reflect(d: Debrief) -> tuple[str, str]:
        found = ", ".join(s.name for s in d.skills) or "none"
        lines = "\n".join(f"Person: {t['you']}" for t in d.transcript)
        prompt = (f"A person practised: {d.title}. Skills found in their words: {found}. "
                  f"Their words:\n{lines}\nWrite three short, kind, specific sentences of "
                  f"reflection for them: one strength, one thing to try, one encouragement.")
        text = ""
        async for piece in llm.stream([Message("user", prompt)], LLMOptions(max_tokens=120)):
            text += piece
        return " ".join(text.split()), llm.name

    return reflect


def aac_session(models: Models, settings: Settings, live: LiveFace, user: str) -> AACSession:
    """The communication aid for `user`: their quick phrases are synthesised ahead (the page
    asks for the board it shows); what they say goes into their history (the predictor
    learns from it)."""
    from companion.aac.store import AACStore, check_user

    check_user(user)
    with AACStore() as store:
        quick = store.quick(user)

    def remember(text: str) -> None:
        try:
            with AACStore() as s:
                s.add_history(user, text)
        except Exception as e:  # the words were said; only the history missed them
            log.error("could not keep the sentence in the history: %s", e)

    cfg = session_config(settings)
    return AACSession(live, models.stt, models.llm, CachedTTS(models.tts), AAC_VOICE,
                      cfg, fallback_tts=models.fallback, user=user, quick=quick,
                      remember=remember)


def new_session(models: Models, settings: Settings, avatar: str | None = None,
                persona: str | None = None, attest: str | None = None,
                mode: str = "companion", scenario: str = "", difficulty: int = 0,
                user: str = "me") -> tuple[VoiceSession, LiveFace]:
    """One conversation: the portrait's rig (its consent is checked here, in the engine), a live
    face and a voice session — with the persona (`mode` companion), as a scenario's partner
    (`mode` practice), or saying the user's own words (`mode` aac, for `user`). `avatar` and
    `persona` default to the settings'."""
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}", "use " + " or ".join(MODES))
    if mode == "practice" and not settings.practice:
        raise InputError("practice mode is turned off on this server", "ask its administrator")
    practice = load_scenarios().get(scenario) if mode == "practice" else None
    if practice is not None and difficulty:
        practice = practice.at(difficulty)
    av = resolve(avatar or settings.avatar, attest, consent_tools())
    rig = build_rig(av.image, av.consent)
    live = LiveFace(rig, RenderOptions(fps=settings.fps, label=settings.label))
    session: VoiceSession
    if mode == "aac":
        session = aac_session(models, settings, live, user)
    elif practice is not None:
        reflect = reflector(models.llm) if reflection_allowed(settings, models.llm) else None
        session = PracticeSession(live, models.stt, models.llm, models.tts, practice.persona(),
                                  session_config(settings, disclosure(practice)),
                                  scenario=practice, reflect=reflect,
                                  fallback_tts=models.fallback, end_of_turn=models.end_of_turn)
    else:
        who = load_persona(persona or settings.persona)
        session = VoiceSession(live, models.stt, models.llm, models.tts, who,
                               session_config(settings, companion_disclosure(who)),
                               fallback_tts=models.fallback, end_of_turn=models.end_of_turn)
    session.on_crisis = audit_crisis(mode)
    return session, live
