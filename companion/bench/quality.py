"""Quality measured on rendered frames: landmarks are re-detected with MediaPipe, never read back
from the motion parameters, so the renderer's actual output is what gets judged."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from companion.face import topology as T
from companion.face.landmarks import FaceAnalyzer
from companion.frames import AudioFrame

INNER_PAIRS = ((82, 87), (13, 14), (312, 317))
EYE_PAIRS_A = ((160, 144), (159, 145), (158, 153))
EYE_PAIRS_B = ((387, 373), (386, 374), (385, 380))


@dataclass(frozen=True)
class Track:
    """Per-frame measures from re-detected landmarks (NaN where no face was found)."""

    aperture: np.ndarray  # inner-lip opening / inter-ocular distance
    eye_open: np.ndarray  # mean lid opening / eye width, both eyes
    shapes: np.ndarray  # (n, 478, 2) landmarks normalised for position, scale and rotation
    points: np.ndarray  # (n, 478, 2) the landmarks in the frame's pixels


def inter_ocular(lm: np.ndarray) -> float:
    """The distance between the eyes' centres, in the landmarks' units."""
    return float(np.linalg.norm(lm[list(T.EYE_A_CONTOUR), :2].mean(0) -
                                lm[list(T.EYE_B_CONTOUR), :2].mean(0)))


def _normalise(lm: np.ndarray) -> np.ndarray:
    a = lm[list(T.EYE_A_CONTOUR), :2].mean(axis=0)
    b = lm[list(T.EYE_B_CONTOUR), :2].mean(axis=0)
    c = 0.5 * (a + b)
    d = b - a
    s = float(np.linalg.norm(d))
    ang = np.arctan2(d[1], d[0])
    r = np.array([[np.cos(-ang), -np.sin(-ang)], [np.sin(-ang), np.cos(-ang)]])
    return ((lm[:, :2] - c) @ r.T) / s


def track(frames: Iterable[np.ndarray]) -> Track:
    fa = FaceAnalyzer(tracking=True, max_faces=1)
    ap, eo, shapes, points = [], [], [], []
    try:
        for img in frames:
            found = fa.landmarks(img)
            if not found:
                ap.append(np.nan)
                eo.append(np.nan)
                shapes.append(np.full((478, 2), np.nan))
                points.append(np.full((478, 2), np.nan))
                continue
            lm = found[0]
            iod = inter_ocular(lm)
            ap.append(np.mean([np.linalg.norm(lm[u, :2] - lm[v, :2])
                               for u, v in INNER_PAIRS]) / iod)
            opens = []
            for pairs, (c0, c1) in ((EYE_PAIRS_A, T.EYE_A_CORNERS), (EYE_PAIRS_B, T.EYE_B_CORNERS)):
                w = float(np.linalg.norm(lm[c0, :2] - lm[c1, :2]))
                opens.append(np.mean([np.linalg.norm(lm[u, :2] - lm[v, :2]) for u, v in pairs]) / w)
            eo.append(float(np.mean(opens)))
            shapes.append(_normalise(lm))
            points.append(lm[:, :2])
    finally:
        fa.close()
    return Track(np.array(ap), np.array(eo), np.array(shapes), np.array(points))


def speech_envelope(audio: AudioFrame, n_frames: int, fps: int) -> np.ndarray:
    """Speech-band (300–3000 Hz) RMS over each frame's display interval."""
    sr = audio.sample_rate
    sos = butter(4, [300, min(3000, 0.45 * sr)], btype="bandpass", fs=sr, output="sos")
    x = sosfiltfilt(sos, audio.samples.astype(np.float64))
    hop = sr / fps
    out = np.zeros(n_frames)
    for i in range(n_frames):
        seg = x[int(i * hop): int((i + 1) * hop)]
        out[i] = np.sqrt(np.mean(seg ** 2)) if len(seg) else 0.0
    return out


def lagged_correlation(aperture: np.ndarray, envelope: np.ndarray, max_lag: int = 6
                       ) -> dict[int, float]:
    """Pearson r of aperture[i + lag] against envelope[i]; negative lag = lips lead the sound."""
    out: dict[int, float] = {}
    n = min(len(aperture), len(envelope))
    for lag in range(-max_lag, max_lag + 1):
        i0, i1 = max(0, -lag), min(n, n - lag)
        a = aperture[i0 + lag: i1 + lag]
        e = envelope[i0:i1]
        ok = ~np.isnan(a)
        if ok.sum() < 10:
            continue
        out[lag] = float(np.corrcoef(a[ok], e[ok])[0, 1])
    return out


def blink_onsets(eye_open: np.ndarray, times: np.ndarray) -> np.ndarray:
    """When blinks begin: the lid opening dips below 55 % of its median, at least 150 ms after
    the last blink counted (`times`: each frame's time in seconds)."""
    med = float(np.nanmedian(eye_open))
    closed = np.nan_to_num(eye_open, nan=med) < 0.55 * med
    out: list[float] = []
    for i in np.flatnonzero(closed[1:] & ~closed[:-1]) + 1:
        if not out or times[i] - out[-1] > 0.15:
            out.append(float(times[i]))
    return np.array(out)


def count_blinks(eye_open: np.ndarray, fps: int) -> int:
    return len(blink_onsets(eye_open, np.arange(len(eye_open)) / fps))
