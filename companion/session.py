"""One conversation: microphone audio in, a talking face out.

Wires the stages of the voice loop around a LiveFace: VAD and turn taking on 32 ms chunks,
speech recognition (started speculatively during the pause that may end a turn), then the
LLM → TTS pipeline whose speech goes to the face. Barge-in: user speech while the avatar talks
interrupts the pipeline, clears the face's buffer, and the history keeps only what was heard.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from companion.config import Settings
from companion.dialogue.memory import Memory
from companion.dialogue.persona import Persona
from companion.dialogue.splitter import ClauseSplitter
from companion.face.live import LiveFace, TimedFrame
from companion.frames import (
    AudioFrame,
    FirstToken,
    Frame,
    InterruptFrame,
    ReplyClause,
    ReplyEnd,
    ReplySpeech,
    StageReport,
    UserTurn,
)
from companion.llm.base import LLM, LLMOptions
from companion.pipeline import Pipeline, StageError, cancel_all
from companion.safety import STILL_HERE, CrisisNotice, Risk, detect, notice
from companion.stages import LLMStage, TTSStage
from companion.stt.agree import keep_agreed
from companion.stt.base import STT
from companion.tts.base import TTS
from companion.vad import SileroVAD, TurnConfig, TurnDetector, TurnEvent

# Recognisers hallucinate these on breath and noise; alone they are not a turn.
NOISE_TRANSCRIPTS = {"", "you", "thank you.", "thanks for watching!", ".", "uh", "um", "mm"}


@dataclass(frozen=True)
class SessionConfig:
    turns: TurnConfig = field(default_factory=TurnConfig)
    llm: LLMOptions = field(default_factory=lambda: LLMOptions(max_tokens=60))
    speculative_stt: bool = True
    # Speech that starts this soon after a turn ended while the reply is only beginning, or
    # before any of the reply was heard, is the same turn going on ("Hi Mona! … How are you?"
    # with a pause between): the reply is dropped and the two parts are answered as one.
    continue_s: float = 0.8
    # Said (and shown) when the session opens: that the partner is an AI. The wiring always
    # sets it; scripted tests that time every turn may leave it out.
    disclosure: str = ""
    crisis_resources: tuple[str, ...] = field(
        default_factory=lambda: Settings().crisis_resources)
    crisis_hold_s: int = 5


@dataclass
class TurnRecord:
    turn: int
    user_text: str
    reply_text: str = ""
    heard_text: str = ""
    interrupted: bool = False
    failed: bool = False
    errors: list[str] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=dict)  # event → seconds on the session clock
    crisis: str = ""  # the safeguard answered this turn (the category it found, or "hold")
    user_s: float | None = None  # how long the user spoke (None: typed)
    partner_s: float = 0.0  # how much of the reply was heard, in seconds
    plays_until: float = 0.0  # the stream time its speech queued so far ends

    def as_dict(self) -> dict[str, Any]:
        t = self.times
        lat = {}
        if "user_end" in t:
            for key in ("stt_done", "llm_first_token", "first_audio", "first_frame"):
                if key in t:
                    lat[key] = round(t[key] - t["user_end"], 3)
        return {"turn": self.turn, "user": self.user_text, "reply": self.reply_text,
                "heard": self.heard_text, "interrupted": self.interrupted,
                "failed": self.failed, "errors": self.errors, "crisis": self.crisis,
                "times": {k: round(v, 3) for k, v in t.items()}, "latency_s": lat}


class VoiceSession:
    def __init__(self, live: LiveFace, stt: STT, llm: LLM, tts: TTS, persona: Persona,
                 config: SessionConfig | None = None, fallback_tts: TTS | None = None,
                 vad: Callable[[np.ndarray], float] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 end_of_turn: Callable[[np.ndarray], float] | None = None) -> None:
        self.cfg = config or SessionConfig()
        self.live = live
        self.stt = stt
        self.llm = llm
        self.persona = persona
        self.memory = Memory()
        self.vad = vad or SileroVAD()
        self.turns = TurnDetector(self.cfg.turns, end_of_turn)
        self.clock = clock
        self.t0 = clock()
        self.records: list[TurnRecord] = []
        self.events: list[dict[str, Any]] = []
        self._turn = 0
        self._reply_turn = 0  # the turn whose reply may still reach the face
        self._first_start: float | None = None  # when this reply's first speech plays
        self._reply_done = True
        self._spec: asyncio.Task[str] | None = None
        self._ahead: asyncio.Task[None] | None = None  # the turn so far, heard ahead (one)
        self._ahead_words = ""  # the words of this turn the model has evaluated ahead
        self._last_end = -1e9  # when the last turn ended, on the audio clock
        # The words of a turn the user went on with, said again at the start of the next one.
        self._carry = ""
        self._hold = False  # the user spoke again meanwhile: that transcript is carried
        # The last ended turn still being transcribed; each waits for the one before it, so
        # while this one runs, some turn's transcript is not in yet.
        self._last_finish: asyncio.Task[Any] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # Whoever shows the conversation (the web page) hears about it here.
        self.listener: Callable[[dict[str, Any]], None] | None = None
        # The safeguard: set once a risk was found, until the user chooses to go on. The audit
        # hook gets the category only, never the words.
        self.crisis: CrisisNotice | None = None
        self._crisis_t = 0.0
        self.on_crisis: Callable[[str], None] | None = None
        self._unremembered: set[int] = set()  # turns whose words stay out of the LLM's memory
        self._llm_stage = LLMStage(llm, self.memory, persona, self.cfg.llm,
                                   on_event=self._stage_event, wait_for_voice=True)
        self.pipeline = Pipeline(
            [self._llm_stage, TTSStage(tts, fallback_tts, on_event=self._stage_event)],
            sink=self._sink)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await asyncio.to_thread(self.llm.load)
        # The persona's prompt is evaluated while the avatar already idles: the first turn then
        # only evaluates its own words (it waits for this if it comes sooner).
        self._spawn(asyncio.to_thread(self.llm.warm, self.memory.messages(self.persona.prompt),
                                      self._llm_stage.options))
        await self.pipeline.start()
        self.t0 = self.clock()
        self.live.set_state("listening")
        self.open()

    def open(self) -> None:
        """The first thing said: that the partner is an AI."""
        if self.cfg.disclosure:
            self._tell("disclosure", text=self.cfg.disclosure)
            self.say(self.cfg.disclosure, turn=0, remember=False)

    async def stop(self) -> None:
        await cancel_all(list(self._tasks))
        await self.pipeline.stop()
        # Cancelled generations stop at their next token; wait for them so no native thread
        # is still running when the process exits.
        await asyncio.to_thread(self.llm.close, 5.0)

    def now(self) -> float:
        return self.clock() - self.t0

    def _tell(self, kind: str, **fields: Any) -> None:
        if self.listener is not None:
            self.listener({"type": kind, **fields})

    @property
    def idle(self) -> bool:
        """Nobody is talking and nothing is being recognised or answered."""
        return not self.busy and not self.turns.in_turn and not self._tasks

    @property
    def busy(self) -> bool:
        """The avatar is answering: generating, or still speaking."""
        return not self._reply_done or self.live.speaking

    async def settle(self, timeout: float = 120.0) -> None:
        """Wait until recognition and the reply pipeline have nothing left to do (for scripted
        timelines where compute counts as instant)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            await asyncio.sleep(0.005)
            queued = sum(len(q) for q in self.pipeline.queues)
            if not self._tasks and queued == 0 and self._reply_done:
                return
        raise TimeoutError("session did not settle")

    # ------------------------------------------------------------------ input
    async def feed(self, chunk: np.ndarray) -> None:
        """One 32 ms chunk of 16 kHz microphone audio. VAD and turn taking run in a worker
        thread: the end-of-turn model takes tens of milliseconds, which the event loop (frames,
        events, other sessions) must not wait for. Chunks are fed in order, one at a time."""
        arrived = self.now()  # the end-of-turn model's time counts in the user's wait
        for ev in await asyncio.to_thread(self._hear, chunk):
            self._on_turn_event(ev, arrived)

    def _hear(self, chunk: np.ndarray) -> list[TurnEvent]:
        return self.turns.push(chunk, self.vad(chunk))

    def type_text(self, text: str) -> None:
        """A typed turn: straight to the reply, no recognition."""
        if self.busy:
            self.barge_in("typed")
        self._begin_turn(text, {"user_end": self.now()})

    def say(self, text: str, turn: int, remember: bool = True) -> None:
        """Speak `text` as it is, no LLM in the path (the safeguard, the disclosure, a
        scenario's opening line). `remember`: the LLM sees it as said by the avatar."""
        splitter = ClauseSplitter()
        clauses = [*splitter.push(text), *splitter.flush()]
        if not remember:
            self._unremembered.add(turn)
        self._reply_turn = turn
        self._first_start = None
        self._reply_done = False
        for i, clause in enumerate(clauses):
            self.pipeline.push(ReplyClause(text=clause, turn=turn, index=i))
        self.pipeline.push(ReplyEnd(text=text, turn=turn))

    def resume(self) -> bool:
        """The user chose to go on after the crisis notice (never before its hold time)."""
        if self.crisis is None or self.now() - self._crisis_t < self.crisis.hold_s:
            return False
        self.crisis = None
        self.events.append({"event": "resumed", "t": round(self.now(), 3)})
        self._tell("resumed")
        return True

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_turn_event(self, ev: TurnEvent, arrived: float | None = None) -> None:
        """`arrived`: when the chunk that caused `ev` reached the session (now if None)."""
        self.events.append({"event": f"user_{ev.kind}", "t": round(self.now(), 3),
                            **({"p_complete": round(ev.p_complete, 3)}
                               if ev.p_complete is not None else {})})
        if ev.kind == "start":
            self._ahead_words = ""
            if self.busy and (ev.time - self._last_end <= self.cfg.continue_s
                              or not self._reply_heard()):
                self._continue_turn()
            elif self.busy:
                self.barge_in("speech")
            elif self._last_finish is not None and not self._last_finish.done():
                self._hold = True  # still transcribing the last turn: it goes on in this one
            self.live.set_state("listening")
        elif ev.kind == "partial" and ev.audio is not None and self._ahead_free() \
                and not self.stt.others_busy(self):
            self._ahead = self._spawn(self._hear_ahead(self._transcribe(ev.audio)))
        elif (ev.kind == "pause" and self.cfg.speculative_stt and ev.audio is not None
              and not self.stt.others_busy(self)):
            self._spec = self._spawn(self._transcribe(ev.audio))
        elif ev.kind == "resume" and self._spec is not None:
            # the user went on: what was recognised so far still serves to hear ahead
            if self._ahead_free():
                self._ahead = self._spawn(self._hear_ahead(self._spec))
            else:
                self._spec.cancel()
            self._spec = None
        elif ev.kind == "end" and ev.audio is not None:
            self._last_end = ev.time
            self.live.set_state("thinking")
            spec, self._spec = self._spec, None
            # latencies count from the end of the user's speech, not from when the silence
            # that followed it was long enough to end the turn (nor from when the end-of-turn
            # model, 0.1-0.4 s on an AVX2-only EPYC, had judged it)
            ended = (self.now() if arrived is None else arrived) - ev.silence_s
            self._last_finish = self._spawn(self._finish_turn(
                ev.audio, spec, ended, self._last_finish, ev.silence_s))

    def _ahead_free(self) -> bool:
        """May the words so far be heard ahead now? Only for a model that keeps its prompt,
        and one at a time (the next partial brings more words anyway)."""
        return self.llm.keeps_prompt and (self._ahead is None or self._ahead.done())

    async def _hear_ahead(self, heard: Awaitable[str]) -> None:
        """While the user speaks: recognise the turn so far and evaluate it into the reply's
        prompt, so that when the turn ends only its last words are left for the model (on two
        slow cores the prompt was the largest part of the wait). A guess only: the reply is
        always made from the final transcript, and a prefill the model skipped costs nothing."""
        try:
            text = await heard
            # Audio cut mid-word ends in guesses ("...to their homies. The Norse" for "...to
            # their home in the sky"). They are evaluated all the same: the final transcript
            # reuses the prompt up to the first word that differs, and when the guess was
            # right, those last words are the ones the reply would otherwise wait for.
            words = f"{self._carry} {text}".strip()
            # not once the turn may be ending: the final recognition has the cores then
            # (nor what the safeguard's rules would take: the whole detector, with its model,
            # judges the final words once; here, every second of a turn, a guess is not worth
            # a sentence embedding on the event loop)
            if (not self.turns.in_turn or self._spec is not None or not text.strip()
                    or detect(text, opinion=None) is not None):
                return
            if await self._llm_stage.prefill(words):
                self._ahead_words = words
        except asyncio.CancelledError:
            raise
        except Exception as e:
            # a guess that failed changes nothing: the turn's own recognition and reply
            # report their errors to the user
            self.events.append({"event": "ahead_error", "t": round(self.now(), 3),
                                "error": str(e)})

    async def _transcribe(self, audio: np.ndarray) -> str:
        return await asyncio.to_thread(self.stt.text, AudioFrame(samples=audio,
                                                                 sample_rate=16000), self)

    async def _finish_turn(self, audio: np.ndarray, spec: asyncio.Task[str] | None,
                           t_end: float, after: asyncio.Task[Any] | None,
                           silence_s: float = 0.0) -> None:
        times = {"user_end": t_end}
        try:
            if after is not None and not after.done():  # turns are taken in the order spoken
                await asyncio.wait({after})
            # The speculative result covers the same speech: the turn only added silence.
            text = await spec if spec is not None else await self._transcribe(audio)
            speech_s = max(0.0, len(audio) / 16000 - silence_s)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # recognition failed: say so, keep listening
            self.events.append({"event": "stt_error", "t": round(self.now(), 3),
                                "error": str(e)})
            self._tell("error", message="Sorry, I could not make out what you said.")
            self.live.set_state("listening")
            return
        times["stt_done"] = self.now()
        noise = text.lower().strip() in NOISE_TRANSCRIPTS
        if self._hold:
            self._hold = False
            self._carry_on("" if noise else text)
            return
        if noise and not self._carry:
            self.live.set_state("listening")
            return
        self._begin_turn("" if noise else text, times, speech_s)

    def _carry_on(self, text: str) -> None:
        """Keep `text` for the start of the next turn (the user has not finished)."""
        self._carry = f"{self._carry} {text}".strip()

    def _reply_heard(self) -> bool:
        """Has any of the current reply been played yet?"""
        return self._first_start is not None and self.live.position > self._first_start

    def _continue_turn(self) -> None:
        """The user went on speaking: drop the reply just begun, and keep their words for the
        turn that follows (nothing of the reply goes into the history)."""
        self.pipeline.interrupt()
        self.live.clear_buffer()
        rec = self._record(self._reply_turn)
        if rec is not None:
            self.records.remove(rec)
            self.memory.take_last_user()
            self._carry_on(rec.user_text)
        self._reply_turn = -1
        self._reply_done = True
        self.events.append({"event": "turn_continued", "t": round(self.now(), 3)})
        self._tell("interrupted", heard="", at=round(self.live.position, 3))

    def _begin_turn(self, text: str, times: dict[str, float],
                    speech_s: float | None = None) -> None:
        if self._carry:
            text, self._carry = f"{self._carry} {text}".strip(), ""
        # the words the model evaluated ahead keep their form where the final ones agree
        text, self._ahead_words = keep_agreed(self._ahead_words, text), ""
        self._turn += 1
        rec = TurnRecord(self._turn, text, times=times, user_s=speech_s)
        self.records.append(rec)
        self._tell("transcript", role="user", text=text, turn=self._turn)
        # Every user turn is checked before the LLM sees it, in every mode; nothing a persona,
        # a scenario or a model says can skip this.
        risk = detect(text)
        if risk is not None or self.crisis is not None:
            self._safeguard(rec, risk)
            return
        self.on_user_turn(text)
        self.memory.add("user", text)
        self._reply_turn = self._turn
        self._first_start = None
        self._reply_done = False
        self.pipeline.push(UserTurn(text=text, turn=self._turn))

    def on_user_turn(self, text: str) -> None:
        """A turn the LLM will answer (practice counts the skills in it)."""

    def _safeguard(self, rec: TurnRecord, risk: Risk | None) -> None:
        """Leave the role at once: the fixed words, the notice, the audit row. While the notice
        stands every turn gets the same plain answer; the role-play waits for `resume`."""
        if self.busy:
            self.barge_in("safeguard")
        self._unremembered.add(rec.turn)
        if risk is not None:
            self.crisis = notice(risk, self.cfg.crisis_resources, self.cfg.crisis_hold_s)
            self._crisis_t = self.now()
            rec.crisis = risk.category
            self.events.append({"event": "crisis", "category": risk.category,
                                "t": round(self.now(), 3)})
            self._tell("crisis", **self.crisis.event())
            if self.on_crisis is not None:
                self.on_crisis(risk.category)
            message = self.crisis.message
        else:
            rec.crisis = "hold"
            message = STILL_HERE
        self.say(message, rec.turn, remember=False)

    # ------------------------------------------------------------------ output
    def _current(self, turn: int) -> bool:
        """May speech of this turn still reach the face? (The communication aid queues
        several utterances; a conversation has one reply at a time.)"""
        return turn == self._reply_turn

    def _ended(self, turn: int) -> None:
        """All of this turn's speech is with the face."""
        self._reply_done = True

    def _record(self, turn: int) -> TurnRecord | None:
        for r in reversed(self.records):
            if r.turn == turn:
                return r
        return None

    def _stage_event(self, report: StageReport) -> None:
        rec = self._record(report.turn)
        if rec is None:
            return
        if isinstance(report, FirstToken):
            rec.times.setdefault("llm_first_token", self.now())
            return
        rec.errors.append(f"{report.stage}_error: {report.error}")
        rec.failed = rec.failed or report.stage == "llm"
        what = "language model" if report.stage == "llm" else "voice"
        self._tell("error", message=f"The {what} had a problem; the conversation goes on.")

    async def _sink(self, frame: Frame) -> None:
        if isinstance(frame, ReplySpeech):
            if not self._current(frame.turn):
                return  # a reply that was interrupted
            start = self.live.push_audio(frame.segment, tag=frame.turn)
            if start is not None:
                self._first_start = start if self._first_start is None else self._first_start
                self._tell("caption", role="assistant", text=frame.segment.text,
                           turn=frame.turn, at=round(start, 3))
            rec = self._record(frame.turn)
            if rec is not None:
                rec.times.setdefault("first_audio", self.now())
                rec.partner_s += frame.segment.audio.duration
                if start is not None:  # when its speech so far ends, on the stream's clock
                    rec.plays_until = start + frame.segment.audio.duration
        elif isinstance(frame, ReplyEnd):
            if not self._current(frame.turn):
                return
            rec = self._record(frame.turn)
            if rec is not None:
                rec.reply_text = frame.text
                rec.failed = rec.failed or frame.failed
            if frame.text and not frame.failed and frame.turn not in self._unremembered:
                self.memory.add("assistant", frame.text)
            self._ended(frame.turn)
        elif isinstance(frame, StageError):
            self.events.append({"event": "stage_error", "stage": frame.stage,
                                "error": frame.error, "t": round(self.now(), 3)})
            self._reply_done = True
        elif isinstance(frame, InterruptFrame):
            pass  # the face was cleared by barge_in()

    async def frames(self, realtime: bool = True) -> AsyncIterator[TimedFrame]:
        """The face's frames, each noted by the session (when a reply first became visible)
        before whoever shows them (the page, a window, a file) gets it."""
        async for frame in self.live.frames(realtime=realtime):
            self.on_frame(frame)
            yield frame

    async def release_talk(self) -> None:
        """Push-to-talk released: the turn ends now, whatever the silence so far."""
        for ev in await asyncio.to_thread(self.turns.end_now):
            self._on_turn_event(ev)

    def on_frame(self, frame: TimedFrame) -> None:
        """Called by whoever shows the frames: marks when a reply first became visible."""
        if frame.speaking:
            rec = self._record(self._reply_turn)
            if rec is not None and "first_audio" in rec.times and "first_frame" not in rec.times:
                rec.times["first_frame"] = self.now()
                self._tell("latency", turn=rec.turn, **rec.as_dict()["latency_s"])

    def barge_in(self, why: str) -> None:
        """The user took the turn: stop the reply now and keep only what was heard."""
        self.pipeline.interrupt()
        # the face's own report of what played of this reply, whole segments and the cut one
        heard = self.live.clear_buffer(tag=self._reply_turn)
        text = " ".join(w for w in (h.words() for h in heard) if w).strip()
        rec = self._record(self._reply_turn)
        if rec is not None:
            rec.interrupted = True
            rec.heard_text = text
            rec.partner_s = sum(h.seconds for h in heard)
            rec.times["barge_in"] = self.now()
            generated_all = self._reply_done
            if rec.turn in self._unremembered:
                pass
            elif generated_all and rec.reply_text:
                self.memory.replace_last_assistant(text)
            elif text:
                self.memory.add("assistant", text)
        self._reply_turn = -1  # anything still in flight for that reply is dropped
        self._reply_done = True
        self.events.append({"event": "barge_in", "why": why, "t": round(self.now(), 3),
                            "heard": text})
        # `at`: the stream time from which nothing of this reply plays; a frame rendered just
        # before the clear may still be on its way, and the page drops its audio
        self._tell("interrupted", heard=text, at=round(self.live.position, 3))
