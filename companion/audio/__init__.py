"""Audio in: decode any file (PyAV), resample, measure."""

from companion.audio.io import decode_audio, resample

__all__ = ["decode_audio", "resample"]
