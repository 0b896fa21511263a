"""Decode any audio (or the audio track of a video) with PyAV into mono float32."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from companion.errors import InputError
from companion.frames import AudioFrame

# A hard ceiling that protects memory: one hour of 48 kHz mono float32 is ~690 MB.
MAX_SECONDS = 3600.0


def decode_audio(path: str | Path, sample_rate: int = 16000,
                 max_seconds: float = MAX_SECONDS) -> AudioFrame:
    """Decode `path` to mono float32 at `sample_rate`. Raises InputError with a plain reason for
    files that are missing, empty, not audio, or longer than `max_seconds`."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"audio file not found: {p}")
    if p.stat().st_size == 0:
        raise InputError(f"audio file is empty: {p}")
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"not an audio file: {p.name} ({e.__class__.__name__})") from None
    chunks: list[np.ndarray] = []
    total = 0
    limit = int(max_seconds * sample_rate)
    try:
        if not container.streams.audio:
            raise InputError(f"no audio track in {p.name}")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                a = out.to_ndarray().reshape(-1)
                chunks.append(a)
                total += len(a)
            if total > limit:
                raise InputError(f"audio is longer than {max_seconds / 60:.0f} minutes: {p.name}")
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    except av.error.FFmpegError as e:
        raise InputError(f"audio file is damaged: {p.name} ({e.__class__.__name__})") from None
    finally:
        container.close()
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if len(samples) == 0:
        raise InputError(f"audio file holds no samples (0 s): {p.name}")
    np.clip(samples, -1.0, 1.0, out=samples)
    return AudioFrame(samples=samples, sample_rate=sample_rate)


def resample(audio: AudioFrame, sample_rate: int) -> AudioFrame:
    """Band-limited resampling (polyphase) of a mono frame."""
    if audio.sample_rate == sample_rate:
        return audio
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(audio.sample_rate, sample_rate)
    out = resample_poly(audio.samples, sample_rate // g, audio.sample_rate // g)
    return AudioFrame(samples=out.astype(np.float32), sample_rate=sample_rate, pts=audio.pts)


def decode_audio_bytes(data: bytes, name: str, sample_rate: int = 16000,
                       max_seconds: float = MAX_SECONDS) -> AudioFrame:
    """`decode_audio` for bytes held in memory (an upload, a recording kept in a board)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="companion-audio-") as tmp:
        path = Path(tmp) / (Path(name).name or "audio")
        path.write_bytes(data)
        return decode_audio(path, sample_rate, max_seconds)
