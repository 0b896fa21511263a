"""A driving video for reenactment: decoded, its one face tracked frame by frame (MediaPipe's
478 points with irises), its sound kept."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from companion.audio.io import decode_audio
from companion.errors import FaceError, InputError
from companion.face.landmarks import FaceAnalyzer
from companion.frames import AudioFrame

log = logging.getLogger("companion.reenact")
MAX_BYTES = 500 * 1024 * 1024
MAX_SECONDS = 600.0
MAX_PIXELS = 4096 * 4096
# The face mesh reads a small face poorly: frames whose short side is below this are enlarged
# first (a 176×144 phone-call clip has a face 22 px between the eyes), big ones reduced.
MIN_SIDE, MAX_SIDE = 432, 960
# Frames showing a second face may be a passer-by; a video where many do shows several people.
MAX_CROWDED_SHARE = 0.1


@dataclass(frozen=True)
class DriverTrack:
    """One face's landmarks per frame (NaN where it was lost), in the frame's pixels."""

    landmarks: np.ndarray  # (n, 478, 3) float32
    times: np.ndarray  # (n,) seconds, each frame's presentation time
    fps: float
    size: tuple[int, int]  # (width, height) as tracked
    audio: AudioFrame | None  # the driver's sound at 48 kHz, when it has any

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.landmarks[:, 0, 0])

    @property
    def duration(self) -> float:
        return float(self.times[-1] + 1.0 / self.fps) if len(self.times) else 0.0


def _scaled(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    k = max(MIN_SIDE / min(h, w), 1.0) if min(h, w) < MIN_SIDE else min(MAX_SIDE / max(h, w), 1.0)
    if k == 1.0:
        return rgb
    interp = cv2.INTER_CUBIC if k > 1 else cv2.INTER_AREA
    return cv2.resize(rgb, (round(w * k), round(h * k)), interpolation=interp)


def _pick(faces: list[np.ndarray], last: np.ndarray | None) -> np.ndarray:
    """Of several faces, the one nearest where the tracked face was (else the largest)."""
    if last is None or np.isnan(last[0, 0]):
        return max(faces, key=lambda f: float(np.ptp(f[:, 0])))
    return min(faces, key=lambda f: float(np.abs(f[:, :2].mean(0) - last[:, :2].mean(0)).sum()))


def track(path: str | Path, analyzer: FaceAnalyzer | None = None) -> DriverTrack:
    """Decode and track `path`. Raises InputError for a file that is not a readable video and
    FaceError for one without a face or with several."""
    p = Path(path)
    if not p.is_file() or p.stat().st_size == 0:
        raise InputError(f"driver video not found or empty: {p}")
    if p.stat().st_size > MAX_BYTES:
        raise InputError(f"the driver video is larger than {MAX_BYTES // 2**20} MB")
    fa = analyzer or FaceAnalyzer(tracking=True, max_faces=2)
    lms: list[np.ndarray] = []
    times: list[float] = []
    crowded = 0
    size = (0, 0)
    nan = np.full((478, 3), np.nan, np.float32)
    try:
        with av.open(str(p)) as c:
            if not c.streams.video:
                raise InputError(f"{p.name} has no video track")
            stream = c.streams.video[0]
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            for f in c.decode(stream):
                t = float(f.time) if f.time is not None else len(times) / rate
                if t > MAX_SECONDS:
                    raise InputError(f"the driver video is longer than {MAX_SECONDS / 60:.0f} "
                                     "minutes")
                if f.width * f.height > MAX_PIXELS:
                    raise InputError("the driver video's frames are too large")
                rgb = _scaled(f.to_ndarray(format="rgb24"))
                size = (rgb.shape[1], rgb.shape[0])
                faces = fa.landmarks(rgb)
                crowded += len(faces) > 1
                lms.append(_pick(faces, lms[-1] if lms else None) if faces else nan)
                times.append(t)
    except av.error.FFmpegError as e:
        raise InputError(f"{p.name} is not a readable video ({e.__class__.__name__})") from None
    finally:
        if analyzer is None:
            fa.close()
    if not lms:
        raise InputError(f"{p.name} holds no video frames")
    arr = np.stack(lms).astype(np.float32)
    found = int((~np.isnan(arr[:, 0, 0])).sum())
    if found == 0:
        raise FaceError(f"no face was found in any frame of {p.name}",
                        "the driver video must show one person's face, turned to the camera")
    if crowded > MAX_CROWDED_SHARE * found:
        raise FaceError(f"{p.name} shows several faces in {crowded} of {len(lms)} frames",
                        "reenactment follows one face: crop the video to one person")
    t0 = times[0]
    return DriverTrack(arr, np.asarray(times, np.float64) - t0, rate, size, _sound(p))


def _sound(p: Path) -> AudioFrame | None:
    """The driver's sound, or None when it has none — or none that decodes: the motion is
    what was asked for, so a damaged sound track costs the sound, not the export."""
    with av.open(str(p)) as c:
        if not c.streams.audio:
            return None
    try:
        return decode_audio(p, 48000, max_seconds=MAX_SECONDS + 1)
    except InputError as e:
        log.warning("the driver's sound is left out: %s", e)
        return None


__all__ = ["DriverTrack", "track"]
