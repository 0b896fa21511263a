"""Motion: phone timings + speech prosody + idle behaviour → one parameter vector per frame.

Mouth from visemes (co-articulated) scaled by loudness; head from pitch and stress plus slow
idle sway and breathing; blinks with natural timing; gaze with saccades; emotion as an offset.
Everything random comes from one seeded generator, so the same seed gives the same frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from companion.audio.features import Features
from companion.errors import InputError
from companion.face.params import INDEX, NAMES
from companion.face.visemes import MOUTH_COLUMNS, mouth_curves
from companion.frames import Phoneme

EMOTIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"smile": 0.55, "brow_raise": 0.12, "blink_a": 0.08, "blink_b": 0.08},
    "sad": {"smile": -0.45, "brow_inner": 0.75, "blink_a": 0.15, "blink_b": 0.15,
            "pitch": 0.03},
    "surprised": {"brow_raise": 0.9, "blink_a": -0.22, "blink_b": -0.22, "jaw": 0.1},
    "concerned": {"brow_inner": 0.6, "smile": -0.15, "brow_raise": 0.1, "pitch": 0.015},
}


@dataclass(frozen=True)
class MotionControls:
    """VASA-style controls. gaze: direction in iris radii (x right, y down); distance: 1 = as
    framed, >1 farther (smaller head); emotion: one of EMOTIONS; intensity scales head motion
    and expression; seed makes the result reproducible."""

    gaze: tuple[float, float] = (0.0, 0.0)
    distance: float = 1.0
    emotion: str = "neutral"
    intensity: float = 1.0
    seed: int = 0

    def validate(self) -> MotionControls:
        if self.emotion not in EMOTIONS:
            raise InputError(f"unknown emotion {self.emotion!r}",
                             "choose one of: " + ", ".join(EMOTIONS))
        if not 0.5 <= self.distance <= 2.0:
            raise InputError("distance must be between 0.5 and 2.0")
        if not 0.0 <= self.intensity <= 2.0:
            raise InputError("intensity must be between 0 and 2")
        if any(abs(g) > 1.0 for g in self.gaze):
            raise InputError("gaze components must be within -1..1")
        return self


def frame_times(n: int, fps: int) -> np.ndarray:
    """Frame i shows the face at (i + 0.5) / fps: the middle of its display interval."""
    return (np.arange(n) + 0.5) / fps


def _smooth_noise(rng: np.random.Generator, t: np.ndarray, amp: float, f_lo: float,
                  f_hi: float, parts: int = 3) -> np.ndarray:
    out = np.zeros_like(t)
    for _ in range(parts):
        f = rng.uniform(f_lo, f_hi)
        out += np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) / parts
    return amp * out


def _blink_shape(dt: np.ndarray) -> np.ndarray:
    """Lid closure over time since blink onset: fast close, brief hold, slower open."""
    close, hold, open_ = 0.08, 0.07, 0.16
    out = np.zeros_like(dt)
    a = (dt >= 0) & (dt < close)
    out[a] = np.sin(0.5 * np.pi * dt[a] / close)
    b = (dt >= close) & (dt < close + hold)
    out[b] = 1.0
    c = (dt >= close + hold) & (dt < close + hold + open_)
    x = (dt[c] - close - hold) / open_
    out[c] = 1.0 - x * x * (3 - 2 * x)
    return out


def blinks(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Blink closure 0..1 per time: ~16 per minute, gamma-distributed gaps, some doubles."""
    out = np.zeros_like(t)
    if len(t) == 0:
        return out
    onset = rng.uniform(0.5, 2.5)
    end = float(t[-1]) + 1.0
    while onset < end:
        out = np.maximum(out, _blink_shape(t - onset))
        if rng.random() < 0.08:  # a quick double blink now and then
            out = np.maximum(out, _blink_shape(t - onset - 0.35))
            onset += 0.35
        onset += 0.9 + rng.gamma(4.0, 0.72)
    return out


def saccades(rng: np.random.Generator, t: np.ndarray, centre: tuple[float, float]
             ) -> np.ndarray:
    """Gaze (len(t), 2): fixations of 0.6–3 s around `centre`, each reached in ~40 ms."""
    g = np.zeros((len(t), 2))
    if len(t) == 0:
        return g
    start = 0.0
    prev = np.array(centre, np.float64)
    end = float(t[-1]) + 1.0
    while start < end:
        target = np.clip(np.array(centre) + rng.normal(0, [0.18, 0.1]), -0.6, 0.6)
        dur = rng.uniform(0.6, 3.0)
        sel = (t >= start) & (t < start + dur)
        ramp = np.clip((t[sel] - start) / 0.04, 0, 1)[:, None]
        g[sel] = prev + (target - prev) * ramp
        prev = target
        start += dur
    return g


def generate(n_frames: int, fps: int, controls: MotionControls,
             phonemes: Sequence[Phoneme] = (), features: Features | None = None) -> np.ndarray:
    """Parameters (n_frames, len(NAMES)) float32 for a clip that starts at time 0."""
    controls.validate()
    rng = np.random.default_rng(controls.seed)
    t = frame_times(n_frames, fps)
    p = np.zeros((n_frames, len(NAMES)), np.float32)
    k = controls.intensity
    level = features.at(features.level, t) if features is not None else np.zeros_like(t)
    if phonemes:
        mouth = mouth_curves(list(phonemes), t)
        # Loudness scales the jaw's effort (a loud vowel opens wider, a quiet stretch less);
        # the phone sets the shape, and open vowels aim high enough (visemes.TABLE) that a
        # quiet one still parts the lips. Tracking the voice this closely is also what keeps
        # recorded speech, whose phone timings are only estimates, in sync (bench quality).
        gain = 0.15 + 1.15 * level if features is not None else np.ones_like(t)
        p[:, INDEX["jaw"]] = np.clip(mouth[:, 0] * gain, 0.0, 1.0)
        for col, name in enumerate(MOUTH_COLUMNS[1:], start=1):  # (k is the intensity)
            p[:, INDEX[name]] = mouth[:, col]
    speaking = uniform_filter1d((level > 0.05).astype(np.float64), size=int(fps), mode="nearest")
    # Head: idle sway + breathing always; while speaking, more sway, pitch follows F0 and
    # stressed syllables (energy peaks) get small nods.
    active = 1.0 + 0.8 * speaking
    p[:, INDEX["yaw"]] = k * active * _smooth_noise(rng, t, 0.03, 0.05, 0.25)
    p[:, INDEX["pitch"]] = k * active * _smooth_noise(rng, t, 0.022, 0.06, 0.3)
    p[:, INDEX["roll"]] = k * active * _smooth_noise(rng, t, 0.018, 0.04, 0.2)
    p[:, INDEX["tx"]] = k * _smooth_noise(rng, t, 0.012, 0.03, 0.15)
    p[:, INDEX["ty"]] = k * (_smooth_noise(rng, t, 0.008, 0.03, 0.15) +
                             0.006 * np.sin(2 * np.pi * 0.24 * t))
    if features is not None:
        f0 = features.at(features.f0, t)
        voiced = f0 > 0
        if voiced.sum() > 5:
            med = float(np.median(f0[voiced]))
            dev = np.where(voiced, np.log2(np.maximum(f0, 1.0) / med), 0.0)
            dev = uniform_filter1d(dev, size=5, mode="nearest")
            p[:, INDEX["pitch"]] += k * np.clip(-0.05 * dev, -0.03, 0.03)
        nod = np.zeros_like(t)
        lv = uniform_filter1d(level.astype(np.float64), size=3, mode="nearest")
        last = -1.0
        for i in range(1, len(t) - 1):
            if lv[i] > 0.6 and lv[i] >= lv[i - 1] and lv[i] > lv[i + 1] and t[i] - last > 0.45:
                nod += lv[i] * np.exp(-0.5 * ((t - t[i] - 0.05) / 0.12) ** 2)
                last = t[i]
        p[:, INDEX["pitch"]] += k * 0.02 * nod
    b = blinks(rng, t)
    p[:, INDEX["blink_a"]] = b
    p[:, INDEX["blink_b"]] = b
    g = saccades(rng, t, controls.gaze)
    p[:, INDEX["gaze_x"]] = g[:, 0]
    p[:, INDEX["gaze_y"]] = g[:, 1]
    p[:, INDEX["scale"]] = (1.0 / controls.distance - 1.0) + k * 0.003 * np.sin(
        2 * np.pi * 0.24 * t + 1.0)
    for name, value in EMOTIONS[controls.emotion].items():
        p[:, INDEX[name]] += k * value
    # Blinks add to any squint, but a lid never goes past closed.
    for name in ("blink_a", "blink_b"):
        p[:, INDEX[name]] = np.clip(p[:, INDEX[name]], -0.3, 1.0)
    p[:, INDEX["jaw"]] = np.clip(p[:, INDEX["jaw"]], 0.0, 1.0)
    return p.astype(np.float32)


__all__ = ["EMOTIONS", "MotionControls", "blinks", "frame_times", "generate", "saccades"]
