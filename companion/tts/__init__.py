"""Text-to-speech backends: audio plus per-phone timings."""

from companion.tts.base import TTS, make_tts

__all__ = ["TTS", "make_tts"]
