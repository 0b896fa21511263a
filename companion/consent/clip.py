"""Check a consent clip: the person says the issued phrase with its code, is the person in the
portrait, and is alive in front of the camera (not a still photo held up to it).

A clip is any video with sound PyAV decodes (webm from the browser's recorder, mp4, mov).
Three independent checks, each with its score kept in the consent record:

- speech: the clip's transcript (faster-whisper) contains the phrase and the one-time code;
- identity: the median dlib descriptor distance between the clip's face and the portrait's
  face is under identity.THRESHOLD, measured on up to IDENTITY_FRAMES frames;
- liveness: the face changes shape, which a photo cannot do however it is moved: the mouth
  opens and closes while the phrase is said (inner-lip gap over the eye distance, from
  MediaPipe landmarks), or the eyes blink.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from companion.audio.io import decode_audio
from companion.consent import phrase as phrases
from companion.consent.identity import THRESHOLD, FaceDescriptor, distance, identity
from companion.consent.tools import FaceTracker
from companion.errors import InputError
from companion.frames import AudioFrame

MAX_BYTES = 60 * 1024 * 1024
MAX_SECONDS = 30.0
MIN_SECONDS = 2.0
SAMPLE_FPS = 15.0  # a blink lasts 100-300 ms: at least one sample falls inside it
FRAME_SIDE = 640  # frames are analysed at most this large
IDENTITY_FRAMES = 6
MIN_FACE_SHARE = 0.6  # of sampled frames must show the face
# Inner-lip gap / eye distance (p95 - p5 over the clip). Speech sweeps it by 0.3-0.6 (measured on
# the test clips). A photo moved, tilted and zoomed in front of the camera reads 0.02 with closed
# lips but up to 0.13 with lips parted over teeth, where the landmarks jitter: hence 0.2.
MOUTH_RANGE_MIN = 0.2
# Eye openness below this share of the clip's median is a closed eye; a moved photo's eyes stay
# above 0.9 of it.
BLINK_RATIO = 0.6

UPPER_LIP, LOWER_LIP = 13, 14
EYES = ((33, 133, 159, 145), (362, 263, 386, 374))  # outer, inner, upper lid, lower lid


@dataclass(frozen=True)
class ClipEvidence:
    frames: list[np.ndarray]  # RGB, sampled at SAMPLE_FPS, at most FRAME_SIDE
    audio: AudioFrame  # 16 kHz mono
    duration: float


@dataclass(frozen=True)
class ClipChecks:
    transcript: str
    phrase_score: float
    code_heard: bool
    face_distance: float | None
    face_share: float
    mouth_range: float
    blinks: int
    reasons: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        d["threshold"] = THRESHOLD
        return d


def read_clip(path: str | Path) -> ClipEvidence:
    p = Path(path)
    if not p.is_file() or p.stat().st_size == 0:
        raise InputError("the consent clip is empty or missing")
    if p.stat().st_size > MAX_BYTES:
        raise InputError(f"the consent clip is larger than {MAX_BYTES // (1024 * 1024)} MB")
    frames: list[np.ndarray] = []
    try:
        with av.open(str(p)) as c:
            if not c.streams.video:
                raise InputError("the consent clip has no video")
            if not c.streams.audio:
                raise InputError("the consent clip has no sound: the phrase must be spoken")
            stream = c.streams.video[0]
            next_t = 0.0
            last_t = 0.0
            for f in c.decode(stream):
                t = float(f.time) if f.time is not None else last_t + 1 / 30
                last_t = t
                if t > MAX_SECONDS + 1:
                    raise InputError(f"the consent clip is longer than {MAX_SECONDS:.0f} s")
                if t + 1e-6 < next_t:
                    continue
                next_t = t + 1 / SAMPLE_FPS
                if f.width * f.height > 4096 * 4096:
                    raise InputError("the consent clip's frames are too large")
                rgb: np.ndarray = f.to_ndarray(format="rgb24")
                scale = FRAME_SIDE / max(rgb.shape[:2])
                if scale < 1:
                    rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                frames.append(rgb)
    except av.error.FFmpegError:
        raise InputError("the consent clip is not a readable video") from None
    audio = decode_audio(p, 16000, max_seconds=MAX_SECONDS + 1)
    duration = max(last_t, audio.duration)
    if duration < MIN_SECONDS or len(frames) < MIN_SECONDS * SAMPLE_FPS / 2:
        raise InputError(f"the consent clip is too short (at least {MIN_SECONDS:.0f} s)")
    return ClipEvidence(frames, audio, duration)


def _openness(lm: np.ndarray) -> tuple[float, float]:
    """(mouth gap, eye openness), both over the distance between the eye centres."""
    centres = [(lm[o, :2] + lm[i, :2]) / 2 for o, i, _, _ in EYES]
    iod = float(np.linalg.norm(centres[0] - centres[1])) or 1.0
    mouth = float(np.linalg.norm(lm[UPPER_LIP, :2] - lm[LOWER_LIP, :2])) / iod
    eyes = [float(np.linalg.norm(lm[u, :2] - lm[d, :2]) / (np.linalg.norm(lm[o, :2] -
                                                                          lm[i, :2]) or 1.0))
            for o, i, u, d in EYES]
    return mouth, float(np.mean(eyes))


def liveness(frames: list[np.ndarray], fa: FaceTracker) -> tuple[float, int, list[int]]:
    """(mouth range p95-p5, blinks, indices of frames with one face) over the clip; `fa`
    tracks up to two faces and is closed here."""
    mouth, eyes, with_face = [], [], []
    try:
        for i, rgb in enumerate(frames):
            faces = fa.landmarks(rgb)
            if len(faces) != 1:
                continue
            m, e = _openness(faces[0])
            mouth.append(m)
            eyes.append(e)
            with_face.append(i)
    finally:
        fa.close()
    if len(mouth) < 3:
        return 0.0, 0, with_face
    rng = float(np.percentile(mouth, 95) - np.percentile(mouth, 5))
    closed = np.asarray(eyes) < BLINK_RATIO * float(np.median(eyes))
    blinks = int(np.sum(closed[1:] & ~closed[:-1]) + closed[0])
    return rng, blinks, with_face


def check_clip(clip: ClipEvidence, portrait: FaceDescriptor, name: str, code: str,
               stt: Any, track_faces: Callable[[], FaceTracker]) -> ClipChecks:
    """Run all three checks; every failing one adds a plain reason. `stt` hears the phrase,
    `track_faces` makes the landmark tracker for liveness (both handed in by the wiring)."""
    reasons: list[str] = []
    transcript = " ".join(w.text.strip() for w in stt.words(clip.audio)).strip()
    said = phrases.match(transcript, name, code)
    if not said.ok:
        reasons.append(said.reason)

    mouth_range, blinks, with_face = liveness(clip.frames, track_faces())
    share = len(with_face) / max(1, len(clip.frames))
    if share < MIN_FACE_SHARE:
        reasons.append(f"one face must be visible through the clip (seen in {share:.0%} of "
                       "it)")
    elif mouth_range < MOUTH_RANGE_MIN and blinks == 0:
        reasons.append("the face in the clip does not move as it speaks (a still photo "
                       "held to the camera is not consent)")

    dists = []
    picks = [with_face[int(k)] for k in np.linspace(0, len(with_face) - 1,
                                                      min(IDENTITY_FRAMES, len(with_face)))]
    for i in dict.fromkeys(picks):
        faces = identity().describe(clip.frames[i])
        if faces:
            dists.append(distance(faces[0], portrait))
    face_distance = float(np.median(dists)) if dists else None
    if face_distance is None:
        reasons.append("no face clear enough for an identity check was found in the clip")
    elif face_distance >= THRESHOLD:
        reasons.append(f"the face in the clip is not the face in the portrait (distance "
                       f"{face_distance:.2f}, same person is under {THRESHOLD})")
    return ClipChecks(transcript, round(said.phrase_score, 3), said.code_heard,
                      None if face_distance is None else round(face_distance, 3),
                      round(share, 3), round(mouth_range, 3), blinks, tuple(reasons))
