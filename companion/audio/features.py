"""Frame-level speech features: speech-band energy, voicing, pitch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from companion.frames import AudioFrame

HOP = 0.01  # seconds per feature frame


@dataclass(frozen=True)
class Features:
    hop: float
    energy_db: np.ndarray  # speech-band (300–3000 Hz) RMS in dB per hop
    level: np.ndarray  # energy mapped to 0..1 between the noise floor and speech peaks
    voiced: np.ndarray  # bool: speech present
    f0: np.ndarray  # Hz, 0 where unvoiced

    def at(self, arr: np.ndarray, times: np.ndarray) -> np.ndarray:
        idx = np.clip((np.asarray(times) / self.hop).astype(int), 0, len(arr) - 1)
        return arr[idx]


def speech_band(audio: AudioFrame) -> np.ndarray:
    sr = audio.sample_rate
    hi = min(3000.0, 0.45 * sr)
    sos = butter(4, [300.0, hi], btype="bandpass", fs=sr, output="sos")
    x = audio.samples.astype(np.float64)
    if len(x) < 64:
        return x
    return sosfiltfilt(sos, x)


def _frames(x: np.ndarray, n: int, hop: int) -> np.ndarray:
    count = max(1, 1 + (len(x) - n) // hop) if len(x) >= n else 1
    pad = np.pad(x, (0, max(0, (count - 1) * hop + n - len(x))))
    idx = np.arange(n)[None, :] + hop * np.arange(count)[:, None]
    return pad[idx]


def _close_gaps(mask: np.ndarray, max_gap: int, min_run: int) -> np.ndarray:
    m = mask.copy()
    idx = np.flatnonzero(m)
    if len(idx) > 1:
        gaps = np.diff(idx)
        for i in np.flatnonzero((gaps > 1) & (gaps <= max_gap + 1)):
            m[idx[i]:idx[i + 1]] = True
    # remove short islands
    edges = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for s, e in zip(starts, ends, strict=True):
        if e - s < min_run:
            m[s:e] = False
    return m


def pitch(audio: AudioFrame, hop_s: float, voiced: np.ndarray) -> np.ndarray:
    """Rough F0 by normalised autocorrelation (60–400 Hz) on voiced frames; enough for prosody."""
    sr = audio.sample_rate
    n = int(0.04 * sr)
    hop = int(hop_s * sr)
    frames = _frames(audio.samples.astype(np.float64), n, hop)[: len(voiced)]
    f0 = np.zeros(len(voiced))
    lo, hi = int(sr / 400), int(sr / 60)
    sel = np.flatnonzero(voiced[: len(frames)])
    if len(sel) == 0 or hi >= n:
        return f0
    x = frames[sel] - frames[sel].mean(axis=1, keepdims=True)
    spec = np.fft.rfft(x, 2 * n, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :n]
    ac /= np.maximum(ac[:, :1], 1e-12)
    lag = lo + np.argmax(ac[:, lo:hi], axis=1)
    strength = ac[np.arange(len(sel)), lag]
    f0[sel] = np.where(strength > 0.35, sr / lag, 0.0)
    return f0


def analyse(audio: AudioFrame, hop: float = HOP) -> Features:
    sr = audio.sample_rate
    band = speech_band(audio)
    n = max(1, int(0.025 * sr))
    h = max(1, int(hop * sr))
    count = int(np.ceil(len(audio.samples) / h))
    fr = _frames(band, n, h)[:count]
    if len(fr) < count:
        fr = np.pad(fr, ((0, count - len(fr)), (0, 0)))
    rms = np.sqrt((fr ** 2).mean(axis=1) + 1e-12)
    db = 20 * np.log10(rms + 1e-9)
    floor = float(np.percentile(db, 10))
    peak = float(np.percentile(db, 97))
    if peak - floor < 6.0:
        # Flat signal (silence or steady noise): no speech.
        floor = peak - 6.0 if peak > -60 else peak
        level = np.zeros(count)
        voiced = np.zeros(count, bool)
    else:
        thr = floor + 0.3 * (peak - floor)
        voiced = _close_gaps(db > thr, max_gap=6, min_run=4)
        # Loudness on a linear amplitude scale (relative to speech peaks): the jaw opens roughly
        # in proportion to it.
        ref = float(np.percentile(rms[voiced], 95)) if voiced.any() else float(rms.max())
        level = np.clip(rms / max(ref, 1e-9), 0.0, 1.0)
        level[~voiced] = 0.0
    # Absolute silence never counts as speech, whatever its relative level.
    voiced &= db > -65.0
    return Features(hop=hop, energy_db=db.astype(np.float32), level=level.astype(np.float32),
                    voiced=voiced, f0=pitch(audio, hop, voiced).astype(np.float32))
