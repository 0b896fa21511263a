"""STT base class: the public method owns errors; backends implement only the model call."""

from __future__ import annotations

import abc
import threading
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from companion.errors import CompanionError
from companion.frames import AudioFrame, Word

T = TypeVar("T")
_BUSY_LOCK = threading.Lock()


class STT(abc.ABC):
    name = "stt"

    def words(self, audio: AudioFrame) -> list[Word]:
        """Words with time stamps (seconds from the start of `audio`, 16 kHz mono)."""
        return self._call(self._words, audio)

    def text(self, audio: AudioFrame, owner: object | None = None) -> str:
        """Just the transcript, as fast as the backend can (a conversation needs no word
        times). `owner` (a conversation) is counted while its call runs: see others_busy."""
        with _BUSY_LOCK:
            self._busy()[id(owner)] += 1
        try:
            return self._call(self._text, audio)
        finally:
            with _BUSY_LOCK:
                busy = self._busy()
                busy[id(owner)] -= 1
                if busy[id(owner)] <= 0:
                    del busy[id(owner)]  # one key per conversation ever would pile up

    def others_busy(self, owner: object) -> bool:
        """Is anyone else's recognition running on this (shared) recogniser now? Guesses —
        speculative transcripts, hearing ahead — are worth their CPU only when it is not: a
        client that speaks without pause kept three calls going and another conversation's
        turn waited 11.6 s for its transcript (bench serve's flood round)."""
        with _BUSY_LOCK:
            return any(k != id(owner) for k in self._busy())

    def _busy(self) -> Counter[int]:
        # made on first use, under _BUSY_LOCK: backends need not call a base __init__
        c: Counter[int] | None = self.__dict__.get("_busy_calls")
        if c is None:
            c = self.__dict__["_busy_calls"] = Counter()
        return c

    def _call(self, fn: Callable[[AudioFrame], T], audio: AudioFrame) -> T:
        if audio.sample_rate != 16000:
            raise ValueError("STT expects 16 kHz audio")
        try:
            return fn(audio)
        except CompanionError:
            raise
        except Exception as e:  # a backend failure is reported, never a traceback
            raise CompanionError(f"speech recognition failed ({self.name}): {e}") from e

    def _text(self, audio: AudioFrame) -> str:
        return " ".join(w.text for w in self._words(audio)).strip()

    @abc.abstractmethod
    def _words(self, audio: AudioFrame) -> list[Word]: ...
