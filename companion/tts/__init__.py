"""Text-to-speech backends: audio plus per-phone timings. The name → backend table is here."""

from companion.errors import InputError
from companion.tts.base import TTS


def make_tts(name: str = "piper") -> TTS:
    """Backend by name: 'piper' (default voice en_US-joe-medium) or 'espeak'."""
    if name in ("piper", "piper:en_US-joe-medium"):
        from companion.tts.piper import PiperTTS

        return PiperTTS()
    if name in ("espeak", "espeak-ng"):
        from companion.tts.espeak import EspeakTTS

        return EspeakTTS()
    raise InputError(f"unknown TTS backend {name!r}", "choose piper or espeak")


__all__ = ["TTS", "make_tts"]
