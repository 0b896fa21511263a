"""Speech-to-text backends."""

from companion.stt.base import STT, Word
from companion.stt.whisper import FasterWhisperSTT

__all__ = ["STT", "FasterWhisperSTT", "Word"]
