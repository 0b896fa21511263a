"""Reenactment: a tracked driving video → the portrait's parameter track → an export.

The driver's motion is read relative to its own neutral frame (picked here, or given), mapped
onto the rig by retarget.Retargeter, smoothed, carried over frames where the face was lost and
resampled to the output's frame rate. The export goes through the engine like any other: the
consent gate, the visible label, the watermark and a signed manifest saying what drove it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from companion.errors import InputError
from companion.face import engine
from companion.face import retarget as R
from companion.face.driver import DriverTrack
from companion.face.motion import frame_times
from companion.face.params import NAMES
from companion.face.rig import Rig

# A face found again after being lost eases from the held pose to the tracked one over this.
RECOVER_S = 0.3
DESCRIPTION = ("talking portrait reenacted: its head, face and eye motion transferred from a "
               "driving video of another person, from one still image")


def _openness(lm: np.ndarray) -> tuple[float, float, float]:
    """Mouth gap, eye gap (both over the eye distance) and roll, from raw landmarks."""
    a, b = lm[[33, 133], :2].mean(axis=0), lm[[263, 362], :2].mean(axis=0)
    iod = float(np.linalg.norm(a - b)) or 1.0
    mouth = float(lm[14, 1] - lm[13, 1]) / iod
    eyes = float(lm[145, 1] - lm[159, 1] + lm[374, 1] - lm[386, 1]) / (2 * iod)
    return mouth, eyes, float(np.arctan2(b[1] - a[1], b[0] - a[0]))


def pick_neutral(track: DriverTrack, at: float | None = None) -> int:
    """The driver's rest frame: the one at `at` seconds (must show the face), or the frame whose
    head pose and expression are most typical of the clip, with the mouth closed."""
    if at is not None:
        i = int(np.argmin(np.abs(track.times - at)))
        if not track.found[i]:
            raise InputError(f"--neutral-at {at}: the driver's face is not found at that time")
        return i
    found = np.flatnonzero(track.found)
    ref = track.landmarks[found[_rough_neutral(track, found)]].astype(np.float64)
    scales = R.Scales.of(ref)
    rows = []
    for i in found:
        lm = track.landmarks[i].astype(np.float64)
        pose = R.fit_pose(lm, ref)
        rows.append([*R.measures(R.frontalise(lm, pose), scales), *R.euler(pose.rotation)])
    f = np.array(rows)
    lo, mid, hi = np.percentile(f, [5, 50, 95], axis=0)
    spread = np.maximum(hi - lo, 1e-6)
    z = np.abs(f - mid) / spread
    z[:, 0] = (f[:, 0] - lo[0]) / spread[0]  # the lip gap: closed, not typical
    return int(found[int(np.argmin(z.sum(axis=1)))])


def _rough_neutral(track: DriverTrack, found: np.ndarray) -> int:
    """Which of `found` is a first reference to measure every frame against: mouth closed, eyes
    open, head usual."""
    stats = np.array([_openness(track.landmarks[i]) for i in found])
    nose = track.landmarks[found, 1, :2] - track.landmarks[found][:, [33, 263], :2].mean(axis=1)
    iod = np.linalg.norm(track.landmarks[found, 33, :2] - track.landmarks[found, 263, :2], axis=1)
    turn = np.linalg.norm(nose - np.median(nose, axis=0), axis=1) / np.maximum(iod, 1e-6)
    spread = np.maximum(np.percentile(stats, 90, axis=0) - np.percentile(stats, 10, axis=0), 1e-6)
    mouth = np.clip(stats[:, 0], 0, None) / spread[0]
    shut_eyes = np.clip(np.median(stats[:, 1]) - stats[:, 1], 0, None) / spread[1]
    roll = np.abs(stats[:, 2] - np.median(stats[:, 2])) / spread[2]
    score = mouth + shut_eyes + roll + turn / max(float(np.percentile(turn, 90)), 1e-6)
    return int(np.argmin(score))


def driver_params(track: DriverTrack, rig: Rig, neutral: int,
                  intensity: float = 1.0) -> np.ndarray:
    """(n, len(NAMES)) parameters per driver frame, smoothed; NaN rows where the face was lost."""
    rt = R.Retargeter(rig.vertices[:478], rig.basis, intensity)
    rt.set_neutral(track.landmarks[neutral])
    out = np.full((len(track.landmarks), len(NAMES)), np.nan, np.float32)
    smooth = R.OneEuro(track.fps)
    for i in np.flatnonzero(track.found):
        out[i] = smooth(rt.params(track.landmarks[i]))
    return R.gaze_hold(out)


def fill_lost(params: np.ndarray, fps: float) -> np.ndarray:
    """Rows lost (NaN) hold the last tracked pose (rest before the first); where tracking comes
    back, the pose eases from the held one to the tracked one over RECOVER_S."""
    out = params.copy()
    held = np.zeros(out.shape[1], np.float32)
    n_ease = max(1, round(RECOVER_S * fps))
    since = n_ease  # frames since recovery
    start = held
    for i in range(len(out)):
        if np.isnan(out[i, 0]):
            out[i] = held
            since = 0
            start = held
            continue
        if since < n_ease:
            w = (since + 1) / n_ease
            w = w * w * (3 - 2 * w)
            out[i] = start + (out[i] - start) * w
            since += 1
        held = out[i]
    return out


def resample(params: np.ndarray, times: np.ndarray, n: int, fps: int) -> np.ndarray:
    """Driver frames at `times` → `n` output frames shown at frame_times(n, fps)."""
    t = frame_times(n, fps)
    shown = times + 0.5 * (np.median(np.diff(times)) if len(times) > 1 else 0.0)
    return np.stack([np.interp(t, shown, params[:, k]) for k in range(params.shape[1])],
                    axis=1).astype(np.float32)


def plan(track: DriverTrack, rig: Rig, fps: int, intensity: float = 1.0,
         neutral_at: float | None = None) -> np.ndarray:
    """The portrait's parameters, one row per output frame, for the whole driver."""
    if not 0.0 <= intensity <= 2.0:
        raise InputError("intensity must be between 0 and 2")
    neutral = pick_neutral(track, neutral_at)
    per_frame = fill_lost(driver_params(track, rig, neutral, intensity), track.fps)
    n = max(1, math.ceil(track.duration * fps))
    return resample(per_frame, track.times, n, fps)


def write(rig: Rig, track: DriverTrack, params: np.ndarray, out: str | Path,
          opts: engine.RenderOptions, progress: bool = False) -> Path:
    """The export: label, watermark and a manifest that says a video drove it; the driver's
    own sound, when it has some."""
    speech = None
    if track.audio is not None:
        speech = engine.Speech(track.audio, (), None)
    return engine.write_mp4(rig, speech, params, out, opts, progress=progress,
                            description=DESCRIPTION)


__all__ = ["DESCRIPTION", "driver_params", "fill_lost", "pick_neutral", "plan", "resample",
           "write"]
