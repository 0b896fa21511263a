"""STT base class: the public method owns errors; backends implement only the model call."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TypeVar

from companion.errors import CompanionError
from companion.frames import AudioFrame, Word

T = TypeVar("T")


class STT(abc.ABC):
    name = "stt"

    def words(self, audio: AudioFrame) -> list[Word]:
        """Words with time stamps (seconds from the start of `audio`, 16 kHz mono)."""
        return self._call(self._words, audio)

    def text(self, audio: AudioFrame) -> str:
        """Just the transcript, as fast as the backend can (a conversation needs no word
        times)."""
        return self._call(self._text, audio)

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
