"""STT base class: the public method owns errors; backends implement only the model call."""

from __future__ import annotations

import abc
from dataclasses import dataclass

from companion.errors import CompanionError
from companion.frames import AudioFrame


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    probability: float = 1.0


class STT(abc.ABC):
    name = "stt"

    def words(self, audio: AudioFrame) -> list[Word]:
        """Words with time stamps (seconds from the start of `audio`, 16 kHz mono)."""
        if audio.sample_rate != 16000:
            raise ValueError("STT expects 16 kHz audio")
        try:
            return self._words(audio)
        except CompanionError:
            raise
        except Exception as e:  # a backend failure is reported, never a traceback
            raise CompanionError(f"speech recognition failed ({self.name}): {e}") from e

    def text(self, audio: AudioFrame) -> str:
        """Just the transcript, as fast as the backend can (a conversation needs no word
        times)."""
        if audio.sample_rate != 16000:
            raise ValueError("STT expects 16 kHz audio")
        try:
            return self._text(audio)
        except CompanionError:
            raise
        except Exception as e:  # a backend failure is reported, never a traceback
            raise CompanionError(f"speech recognition failed ({self.name}): {e}") from e

    def _text(self, audio: AudioFrame) -> str:
        return " ".join(w.text for w in self._words(audio)).strip()

    @abc.abstractmethod
    def _words(self, audio: AudioFrame) -> list[Word]: ...
