"""Turn taking from VAD probabilities: when the user starts, pauses, resumes and ends a turn.

Works on a clock of 32 ms chunks, not on wall time, so it behaves the same live, from a file or
in a test. Speech must last `min_speech_ms` before it counts (a cough or "mm-hm" does not start a
turn or interrupt the avatar). Every `partial_ms` of a turn a "partial" event hands over the words
so far, so the reply's prompt can be evaluated while the user still speaks. At `speculative_ms` of
silence a "pause" event lets the recogniser start early; if speech resumes, "resume" cancels it.

When does the turn end? Without an end-of-turn model, after `silence_ms` of silence. With one
(Smart Turn), it is asked once the silence reaches `quick_end_ms`: a turn that sounds finished ends
there, one that sounds unfinished ("I was thinking that…") waits up to `pause_ms` for more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

CHUNK_S = 0.032


@dataclass(frozen=True)
class TurnConfig:
    threshold: float = 0.5
    min_speech_ms: int = 300  # shorter speech is noise: no turn, no barge-in
    silence_ms: int = 600  # silence that ends a turn (without an end-of-turn model)
    # silence after which STT starts early: on the critical path to every reply; a pause that
    # turns out to be inside the turn is not lost (the session hears ahead with it)
    speculative_ms: int = 96
    partial_ms: int = 1000  # the turn so far is handed over this often while it goes on (0: off)
    quick_end_ms: int = 200  # with the model: silence after which a finished turn ends
    pause_ms: int = 1600  # with the model: silence that ends a turn it judged unfinished
    complete_threshold: float = 0.5
    pad_ms: int = 200  # audio kept before speech start and after its end
    max_turn_s: float = 30.0  # a turn longer than this is cut and sent


@dataclass(frozen=True)
class TurnEvent:
    kind: str  # "start" | "partial" | "pause" | "resume" | "end"
    time: float  # seconds on the audio clock
    audio: np.ndarray | None = None  # the turn so far ("partial", "pause") or whole ("end")
    p_complete: float | None = None  # the end-of-turn model's judgement ("end"), if asked
    silence_s: float = 0.0  # ("end") how long the user had been silent: speech ended then


class TurnDetector:
    def __init__(self, config: TurnConfig | None = None,
                 end_of_turn: Callable[[np.ndarray], float] | None = None) -> None:
        self.cfg = config or TurnConfig()
        self.end_of_turn = end_of_turn  # turn audio → P(finished)
        self._t = 0.0
        self.reset()

    def reset(self) -> None:
        """Forget any turn in progress (the clock keeps running)."""
        self._chunks: list[np.ndarray] = []
        self._history: list[np.ndarray] = []  # recent chunks before speech (padding)
        self._speech_run = 0.0
        self._silence_run = 0.0
        self._in_turn = False
        self._paused = False
        self._judged: float | None = None  # the model's answer for the current silence
        self._partial_at = 0  # chunks in the turn when the next "partial" is due
        self._candidate: list[np.ndarray] = []

    @property
    def in_turn(self) -> bool:
        return self._in_turn

    def push(self, chunk: np.ndarray, prob: float) -> list[TurnEvent]:
        """Feed one 32 ms chunk and its speech probability; returns what happened."""
        cfg = self.cfg
        events: list[TurnEvent] = []
        self._t += CHUNK_S
        speech = prob >= cfg.threshold
        pad_chunks = max(1, int(cfg.pad_ms / 1000 / CHUNK_S))
        if not self._in_turn:
            if speech:
                self._speech_run += CHUNK_S
                self._candidate.append(chunk)
                if self._speech_run * 1000 >= cfg.min_speech_ms:
                    self._in_turn = True
                    self._silence_run = 0.0
                    self._chunks = self._history[-pad_chunks:] + self._candidate
                    self._candidate = []
                    self._partial_at = len(self._chunks) + self._partial_every()
                    events.append(TurnEvent("start", self._t - self._speech_run))
            else:
                # speech too short to count: it becomes history (padding) again
                self._history.extend(self._candidate)
                self._candidate = []
                self._speech_run = 0.0
                self._history.append(chunk)
            self._history = self._history[-pad_chunks:]
            return events
        self._chunks.append(chunk)
        if speech:
            if self._paused:
                events.append(TurnEvent("resume", self._t))
                self._paused = False
            self._silence_run = 0.0
            self._judged = None
            if self.cfg.partial_ms and len(self._chunks) >= self._partial_at:
                self._partial_at = len(self._chunks) + self._partial_every()
                events.append(TurnEvent("partial", self._t, self._turn_audio(pad_chunks)))
        else:
            self._silence_run += CHUNK_S
            if not self._paused and self._silence_run * 1000 >= cfg.speculative_ms:
                self._paused = True
                events.append(TurnEvent("pause", self._t, self._turn_audio(pad_chunks)))
        too_long = len(self._chunks) * CHUNK_S >= cfg.max_turn_s
        if self._ends(pad_chunks) or too_long:
            events.append(TurnEvent("end", self._t, self._turn_audio(pad_chunks),
                                    self._judged, self._silence_run))
            self._in_turn = False
            self._paused = False
            self._judged = None
            self._speech_run = 0.0
            self._silence_run = 0.0
            self._history = []
            self._chunks = []
        return events

    def end_now(self) -> list[TurnEvent]:
        """End the turn in progress at once (push-to-talk released); nothing if there is none."""
        if not self._in_turn:
            self.reset()
            return []
        pad_chunks = max(1, int(self.cfg.pad_ms / 1000 / CHUNK_S))
        ev = TurnEvent("end", self._t, self._turn_audio(pad_chunks), None, self._silence_run)
        self.reset()
        return [ev]

    def _partial_every(self) -> int:
        return max(1, round(self.cfg.partial_ms / 1000 / CHUNK_S))

    def _ends(self, pad_chunks: int) -> bool:
        silence_ms = self._silence_run * 1000
        if self.end_of_turn is None:
            return silence_ms >= self.cfg.silence_ms
        if self._judged is None and silence_ms >= self.cfg.quick_end_ms:
            self._judged = self.end_of_turn(self._turn_audio(pad_chunks))
        if self._judged is not None and self._judged >= self.cfg.complete_threshold:
            return True
        return silence_ms >= self.cfg.pause_ms

    def _turn_audio(self, pad_chunks: int) -> np.ndarray:
        # keep `pad_ms` of the trailing silence, drop the rest
        trailing = int(self._silence_run / CHUNK_S)
        keep = len(self._chunks) - max(0, trailing - pad_chunks)
        return np.concatenate(self._chunks[:keep]) if keep > 0 else np.zeros(0, np.float32)
