"""The communication aid: the user types or picks their words and the avatar says them, verbatim.

No recognition and no language model are in the path: `speak` splits the text into clauses and
sends them straight to the voice, so the first clause is heard while the rest is still being
synthesised. Utterances queue in order; `hush` stops everything at once. Quick phrases are
synthesised when the session opens and then start as fast as the face can take them. A button
may carry the user's own recording ("message banking"): it is lip-synced from its sound.

The safeguard runs here too, but differently from the other modes, on purpose: these are the
user's own words to the person beside them, so they are always said — silencing someone's voice
in a crisis is the worst thing a communication aid could do. The page shows the crisis
resources without blocking the board, and the audit log gets the category.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from companion.dialogue.persona import Persona
from companion.dialogue.splitter import ClauseSplitter
from companion.face.live import LiveFace
from companion.frames import AudioFrame, ReplyClause, ReplyEnd, ReplySpeech, SpeechSegment
from companion.llm.base import LLM
from companion.safety import detect
from companion.session import SessionConfig, TurnRecord, VoiceSession
from companion.stt.base import STT
from companion.tts.base import TTS

AAC_NOTICE = ("If you are in danger or thinking of hurting yourself, the people at these "
              "numbers can help now. Your words were said as you wrote them.")
CACHE_SIZE = 256  # synthesised phrases kept per session


class CachedTTS(TTS):
    """A voice that remembers what it said: quick phrases and board buttons are synthesised
    once (ahead of time by `prepare`), then cost nothing."""

    def __init__(self, tts: TTS, size: int = CACHE_SIZE) -> None:
        self.tts = tts
        self.name = tts.name
        self.size = size
        self._done: OrderedDict[str, SpeechSegment] = OrderedDict()
        self._lock = threading.Lock()
        # one preparation at a time: a second (the page opening a board while the quick
        # phrases are still being made) then finds the first one's work in the cache
        self._preparing = threading.Lock()

    def _synthesize(self, text: str) -> SpeechSegment:
        with self._lock:
            if text in self._done:
                self._done.move_to_end(text)
                return self._done[text]
        seg = self.tts.synthesize(text)
        with self._lock:
            self._done[text] = seg
            while len(self._done) > self.size:
                self._done.popitem(last=False)
        return seg

    def cached(self, text: str) -> bool:
        with self._lock:
            return " ".join(text.split()) in self._done

    def prepare(self, texts: list[str]) -> None:
        with self._preparing:
            for clause in dict.fromkeys(c for t in texts for c in clauses(t)):
                self.synthesize(clause)


def banked(user: str, board: str, button: str) -> tuple[str, AudioFrame]:
    """A button's words and the user's own recording of them, decoded."""
    from companion.aac.store import AACStore
    from companion.audio.io import decode_audio_bytes

    with AACStore() as store:
        text, sound = store.recording(user, board, button)
    return text, decode_audio_bytes(sound.data, "recording", 16000)


def clauses(text: str) -> list[str]:
    splitter = ClauseSplitter()
    return [*splitter.push(text), *splitter.flush()]


class AACSession(VoiceSession):
    def __init__(self, live: LiveFace, stt: STT, llm: LLM, tts: CachedTTS, persona: Persona,
                 config: SessionConfig | None = None, *, user: str = "me",
                 quick: list[str] | None = None, remember: Callable[[str], None] | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("vad", lambda chunk: 0.0)  # nobody is listened to
        super().__init__(live, stt, llm, tts, persona, config, **kwargs)
        self.user = user
        self.voice = tts
        self.quick = list(quick or [])
        self._remember = remember  # writes the user's history (the predictor learns from it)
        self._queued: set[int] = set()

    async def start(self) -> None:
        # no language model to load: the aid is ready as soon as its voice is
        await self.pipeline.start()
        self.t0 = self.clock()
        self.live.set_state("idle")
        self.prepare(self.quick)

    def prepare(self, texts: list[str]) -> None:
        """Synthesise these phrases now, in the background (the quick phrases, a board)."""
        self._spawn(asyncio.to_thread(self.voice.prepare, texts))

    async def feed(self, chunk: Any) -> None:
        """The microphone is not part of this mode."""

    def type_text(self, text: str) -> None:
        self.speak(text)

    def _current(self, turn: int) -> bool:
        return turn in self._queued

    def speak(self, text: str, recording: AudioFrame | None = None) -> int:
        """Say the user's words after whatever is still being said; returns the utterance's
        number. With `recording`, the user's own recorded voice says them."""
        text = " ".join(text.split())
        self._turn += 1
        turn = self._turn
        rec = TurnRecord(turn, text, times={"user_end": self.now()})
        self.records.append(rec)
        self._queued.add(turn)
        self._reply_turn = turn
        self._reply_done = False
        self._unremembered.add(turn)
        self._tell("transcript", role="self", text=text, turn=turn)
        if recording is not None:
            seg = self.live.segment_from_audio(recording, text)
            self.pipeline.push(ReplySpeech(segment=seg, turn=turn, index=0))
        else:
            for i, clause in enumerate(clauses(text)):
                self.pipeline.push(ReplyClause(text=clause, turn=turn, index=i))
        self.pipeline.push(ReplyEnd(text=text, turn=turn))
        self._check(text, rec)
        if self._remember is not None:
            self._spawn(asyncio.to_thread(self._remember, text))
        return turn

    def _check(self, text: str, rec: TurnRecord) -> None:
        risk = detect(text)
        if risk is None:
            return
        rec.crisis = risk.category
        self.events.append({"event": "crisis", "category": risk.category,
                            "t": round(self.now(), 3)})
        self._tell("crisis", category=risk.category, message=AAC_NOTICE,
                   resources=list(self.cfg.crisis_resources), hold_s=0, blocking=False)
        if self.on_crisis is not None:
            self.on_crisis(risk.category)

    def hush(self) -> str:
        """The stop key: silence now, and drop everything queued. Returns what was heard of
        the utterance that was cut."""
        self.pipeline.interrupt()
        now = self.live.position
        heard = self.live.clear_buffer()
        text = " ".join(w for w in (h.words() for h in heard) if w).strip()
        for rec in self.records:  # still being made, or queued in the face: not all heard
            if rec.turn in self._queued or rec.plays_until > now:
                rec.interrupted = True
        self._queued.clear()
        self._reply_turn = -1
        self._reply_done = True
        self.events.append({"event": "stopped", "t": round(self.now(), 3), "heard": text})
        self._tell("interrupted", heard=text, at=round(self.live.position, 3))
        return text

    def _ended(self, turn: int) -> None:
        self._queued.discard(turn)
        self._reply_done = not self._queued
