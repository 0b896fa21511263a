"""TTS base class: `synthesize` owns validation and errors; backends implement `_synthesize`."""

from __future__ import annotations

import abc

from companion.errors import CompanionError, InputError
from companion.frames import SpeechSegment

MAX_CHARS = 5000


class TTS(abc.ABC):
    name = "tts"

    def synthesize(self, text: str) -> SpeechSegment:
        """Speech for `text` with phone timings relative to the segment start."""
        text = " ".join(text.split())
        if not text:
            raise InputError("nothing to say: the text is empty")
        if len(text) > MAX_CHARS:
            raise InputError(f"text is longer than {MAX_CHARS} characters")
        try:
            return self._synthesize(text)
        except CompanionError:
            raise
        except Exception as e:  # reported as one line; the caller decides how to go on
            raise CompanionError(f"speech synthesis failed ({self.name}): {e}") from e

    def release(self) -> None:
        """Give back memory kept for the largest input seen so far (called when a conversation
        ends). Blocking. Most voices keep none."""
        return None

    @abc.abstractmethod
    def _synthesize(self, text: str) -> SpeechSegment: ...
