"""Speech-to-text backends."""

from companion.frames import Word
from companion.stt.base import STT
from companion.stt.whisper import FasterWhisperSTT


def make_stt(spec: str = "faster-whisper:tiny.en") -> STT:
    """Backend by name: 'faster-whisper:tiny.en' (embedded), 'faster-whisper:base' (optional
    packages, multilingual), 'faster-whisper:DIR' (a CTranslate2 model), or
    'openai-whisper:CHECKPOINT.pt'."""
    kind, _, arg = spec.partition(":")
    if kind in ("faster-whisper", "tiny.en", "base") and not arg:
        arg = kind if kind != "faster-whisper" else "tiny.en"
        kind = "faster-whisper"
    if kind == "faster-whisper":
        return FasterWhisperSTT(arg or "tiny.en")
    if kind == "openai-whisper":
        from companion.stt.openai_whisper import OpenAIWhisperSTT

        return OpenAIWhisperSTT(arg)
    from companion.errors import InputError

    raise InputError(f"unknown STT backend {spec!r}",
                     "use faster-whisper:tiny.en, faster-whisper:base or openai-whisper:FILE.pt")


__all__ = ["STT", "FasterWhisperSTT", "Word", "make_stt"]
