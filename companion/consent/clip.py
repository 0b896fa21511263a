"""Check a consent clip: the person says the issued phrase with its code, is the person in the
portrait, and is alive in front of the camera (not a still photo held up to it).

A clip is any video with sound PyAV decodes (webm from the browser's recorder, mp4, mov).
The checks, each with its score kept in the consent record:

- speech: the clip's transcript (faster-whisper) contains the phrase and the one-time code;
- identity: the median dlib descriptor distance between the clip's face and the portrait's
  face is under identity.THRESHOLD, measured on up to IDENTITY_FRAMES frames;
- liveness: the face changes shape, which a photo cannot do however it is moved: the mouth
  opens and closes while the phrase is said (inner-lip gap over the eye distance, from
  MediaPipe landmarks), or the eyes blink; and it does the action the challenge announced
  with the code (turn left, turn right or blink twice, at random);
- origin: it carries none of what companion puts on its own output (the invisible watermark,
  the visible label, a C2PA manifest of generated media).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from companion.audio.io import decode_audio
from companion.consent import phrase as phrases
from companion.consent import watermark
from companion.consent.identity import THRESHOLD, FaceDescriptor, distance, identity
from companion.consent.label import label_score
from companion.consent.provenance import read_manifest
from companion.consent.tools import FaceTracker
from companion.errors import InputError
from companion.frames import AudioFrame

MAX_BYTES = 60 * 1024 * 1024
MAX_SECONDS = 30.0
MIN_SECONDS = 2.0
SAMPLE_FPS = 15.0  # a blink lasts 100-300 ms: at least one sample falls inside it
FRAME_SIDE = 640  # frames are analysed at most this large
IDENTITY_FRAMES = 6
MARK_PIXELS = 2048 * 2048  # frames larger than this are not ours: no mark is looked for
MARK_FRAMES = 90  # six seconds of samples hold plenty of a mark's evidence (verify reads 75)
LABEL_SCORE_MIN = 0.6  # our label correlates ~0.9-1.0 (after H.264), other frames ~0 ± 0.2
MIN_FACE_SHARE = 0.6  # of sampled frames must show the face
# Inner-lip gap / eye distance (p95 - p5 over the clip). Speech sweeps it by 0.3-0.6 (measured on
# the test clips). A photo moved, tilted and zoomed in front of the camera reads 0.02 with closed
# lips but up to 0.13 with lips parted over teeth, where the landmarks jitter: hence 0.2.
MOUTH_RANGE_MIN = 0.2
# Eye openness below this share of the clip's median is a closed eye; a moved photo's eyes stay
# above 0.9 of it, a rendered blink in a webcam-sized frame reads 0.47-0.57.
BLINK_RATIO = 0.7
# A blink twice on request is two closures within this; people blink on their own every 3-4 s
# (the engine's idle blinks too), so two blinks anywhere in the clip would not show the request.
DOUBLE_BLINK_S = 1.0

# How far the nose tip must move (over the eye distance, see _turn) for the turn the person was
# asked to make: a 34-degree turn rendered by the engine moves it 0.32-0.35 in an mp4, a
# 26-degree one 0.28 in an mp4 and 0.19 after the browser's VP8 recording; talking with idle
# sway, and a photo moved in front of the camera, 0.02-0.06 (tests/consent_clips.py's clips).
TURN_MIN = 0.15

UPPER_LIP, LOWER_LIP = 13, 14
NOSE_TIP = 1
EYES = ((33, 133, 159, 145), (362, 263, 386, 374))  # outer, inner, upper lid, lower lid


@dataclass(frozen=True)
class ClipEvidence:
    frames: list[np.ndarray]  # RGB, sampled at SAMPLE_FPS, at most FRAME_SIDE
    audio: AudioFrame  # 16 kHz mono
    duration: float
    # signs that companion (or another generator) made the clip: each a plain reason
    generated: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClipChecks:
    transcript: str
    phrase_score: float
    code_heard: bool
    face_distance: float | None
    face_share: float
    mouth_range: float
    blinks: int
    action: str
    turn_left: float
    turn_right: float
    reasons: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        d["threshold"] = THRESHOLD
        return d


def read_clip(path: str | Path, mark_ids: Sequence[str] = ()) -> ClipEvidence:
    """The clip's sampled frames and sound, and what marks it as companion's own output
    (`mark_ids`: the consent ids a watermark made here could name)."""
    p = Path(path)
    if not p.is_file() or p.stat().st_size == 0:
        raise InputError("the consent clip is empty or missing")
    if p.stat().st_size > MAX_BYTES:
        raise InputError(f"the consent clip is larger than {MAX_BYTES // (1024 * 1024)} MB")
    frames: list[np.ndarray] = []
    marks = _MarkReader(mark_ids)
    try:
        with av.open(str(p)) as c:
            if not c.streams.video:
                raise InputError("the consent clip has no video")
            if not c.streams.audio:
                raise InputError("the consent clip has no sound: the phrase must be spoken")
            mp4 = any(n in c.format.name.split(",") for n in ("mp4", "mov"))
            last_t = _sample(c, c.streams.video[0], frames, marks)
    except av.error.FFmpegError:
        raise InputError("the consent clip is not a readable video") from None
    audio = decode_audio(p, 16000, max_seconds=MAX_SECONDS + 1)
    duration = max(last_t, audio.duration)
    if duration < MIN_SECONDS or len(frames) < MIN_SECONDS * SAMPLE_FPS / 2:
        raise InputError(f"the consent clip is too short (at least {MIN_SECONDS:.0f} s)")
    return ClipEvidence(frames, audio, duration, marks.reasons(p if mp4 else None))


def _sample(c: Any, stream: Any, frames: list[np.ndarray], marks: _MarkReader) -> float:
    """Decode `stream`, keeping frames at SAMPLE_FPS (downscaled to FRAME_SIDE) and showing
    each kept frame at full size to `marks`; returns the last frame's time."""
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
        marks.add(rgb)  # at full size: the mark is read there and rescaled to our sizes
        scale = FRAME_SIDE / max(rgb.shape[:2])
        if scale < 1:
            rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        frames.append(rgb)
    return last_t


class _MarkReader:
    """Looks for what companion puts on its output — the invisible watermark, the visible
    label, a C2PA manifest declaring generated media — so that a video made with companion
    (from someone's photo, with a synthetic voice reading the phrase) is not taken for a
    webcam recording of that person."""

    def __init__(self, mark_ids: Sequence[str]) -> None:
        self.mark_ids = mark_ids
        self.votes = watermark.Votes()
        self.label_scores: list[float] = []

    def add(self, rgb: np.ndarray) -> None:
        if rgb.shape[0] * rgb.shape[1] > MARK_PIXELS:
            return
        if self.votes.frames < MARK_FRAMES:
            self.votes.add(rgb)
        self.label_scores.append(label_score(rgb))

    def reasons(self, mp4: Path | None) -> tuple[str, ...]:
        out = []
        if self.votes.reading(self.mark_ids).found:
            out.append("the clip carries companion's invisible watermark: it was made by this "
                       "software, not recorded by a camera")
        if self.label_scores and float(np.median(self.label_scores)) > LABEL_SCORE_MIN:
            out.append("the clip shows companion's 'AI-generated' label: it was made by this "
                       "software, not recorded by a camera")
        if mp4 is not None:
            m = read_manifest(mp4, "video/mp4")
            if m.present and (m.ai_generated or "companion" in m.generator.lower()):
                out.append("the clip's C2PA manifest declares it generated media "
                           f"({m.generator or 'unknown generator'}), not a camera recording")
        return tuple(out)


def _openness(lm: np.ndarray) -> tuple[float, float]:
    """(mouth gap, eye openness), both over the distance between the eye centres."""
    centres = [(lm[o, :2] + lm[i, :2]) / 2 for o, i, _, _ in EYES]
    iod = float(np.linalg.norm(centres[0] - centres[1])) or 1.0
    mouth = float(np.linalg.norm(lm[UPPER_LIP, :2] - lm[LOWER_LIP, :2])) / iod
    eyes = [float(np.linalg.norm(lm[u, :2] - lm[d, :2]) / (np.linalg.norm(lm[o, :2] -
                                                                          lm[i, :2]) or 1.0))
            for o, i, u, d in EYES]
    return mouth, float(np.mean(eyes))


@dataclass(frozen=True)
class Motion:
    """What the face did over the clip."""

    mouth_range: float  # inner-lip gap / eye distance, p95 - p5
    blinks: int
    double_blink: bool  # two blinks in quick succession (DOUBLE_BLINK_S), as when asked
    with_face: list[int]  # indices of frames showing exactly one face
    turn_left: float  # how far the head turned to the person's left from its usual pose
    turn_right: float


def _turn(lm: np.ndarray) -> float:
    """Head turn as how far the nose tip sits from the midpoint between the eyes, along the line
    from the person's right eye to their left, over the eye distance: 0 facing the camera, +
    turned to the person's left, - to their right. A flat photo tilted or turned in front of the
    camera keeps this ratio (nose and eyes lie in one plane there); only a turning head, whose
    nose stands out in front of the eyes, changes it."""
    (o1, i1, _, _), (i2, o2, _, _) = EYES
    right, left = (lm[o1, :2] + lm[i1, :2]) / 2, (lm[i2, :2] + lm[o2, :2]) / 2
    axis = left - right
    d2 = float(axis @ axis) or 1.0
    return float((lm[NOSE_TIP, :2] - (left + right) / 2) @ axis) / d2


def liveness(frames: list[np.ndarray], fa: FaceTracker) -> Motion:
    """How the face moved over the clip; `fa` tracks up to two faces and is closed here."""
    mouth, eyes, turns, with_face = [], [], [], []
    try:
        for i, rgb in enumerate(frames):
            faces = fa.landmarks(rgb)
            if len(faces) != 1:
                continue
            m, e = _openness(faces[0])
            mouth.append(m)
            eyes.append(e)
            turns.append(_turn(faces[0]))
            with_face.append(i)
    finally:
        fa.close()
    if len(mouth) < 3:
        return Motion(0.0, 0, False, with_face, 0.0, 0.0)
    rng = float(np.percentile(mouth, 95) - np.percentile(mouth, 5))
    closed = np.asarray(eyes) < BLINK_RATIO * float(np.median(eyes))
    onsets = np.flatnonzero(np.r_[closed[0], closed[1:] & ~closed[:-1]])
    times = np.asarray(with_face)[onsets] / SAMPLE_FPS
    double = bool(len(times) > 1 and np.min(np.diff(times)) <= DOUBLE_BLINK_S)
    usual = float(np.median(turns))  # the person faces the camera while saying the phrase
    return Motion(rng, len(onsets), double, with_face, float(np.percentile(turns, 97)) - usual,
                  usual - float(np.percentile(turns, 3)))


def action_done(motion: Motion, action: str) -> str:
    """"" if the clip shows the action asked for, else why not."""
    if action == "blink-twice":
        return "" if motion.double_blink else (
            f"the eyes did not blink twice in a row (blinks seen: {motion.blinks}, none within "
            f"{DOUBLE_BLINK_S} s of another)")
    asked, other = ((motion.turn_left, motion.turn_right) if action == "turn-left"
                    else (motion.turn_right, motion.turn_left))
    side = "left" if action == "turn-left" else "right"
    if asked < TURN_MIN:
        return (f"the head did not turn to the {side} (turned {asked:.2f}, at least {TURN_MIN} "
                "is a clear turn)")
    if other > asked / 2:
        return f"the head turned both ways (asked for a turn to the {side} only)"
    return ""


def check_clip(clip: ClipEvidence, portrait: FaceDescriptor, name: str, code: str,
               stt: Any, track_faces: Callable[[], FaceTracker],
               action: str = "blink-twice") -> ClipChecks:
    """Run all the checks; every failing one adds a plain reason. `stt` hears the phrase,
    `track_faces` makes the landmark tracker for liveness (both handed in by the wiring);
    `action` is what the challenge asked the person to do (phrase.ACTIONS)."""
    reasons: list[str] = list(clip.generated)
    transcript = " ".join(w.text.strip() for w in stt.words(clip.audio)).strip()
    said = phrases.match(transcript, name, code)
    if not said.ok:
        reasons.append(said.reason)

    motion = liveness(clip.frames, track_faces())
    with_face = motion.with_face
    share = len(with_face) / max(1, len(clip.frames))
    if share < MIN_FACE_SHARE:
        reasons.append(f"one face must be visible through the clip (seen in {share:.0%} of "
                       "it)")
    else:
        if motion.mouth_range < MOUTH_RANGE_MIN and motion.blinks == 0:
            reasons.append("the face in the clip does not move as it speaks (a still photo "
                           "held to the camera is not consent)")
        missing = action_done(motion, action)
        if missing:
            reasons.append(f"asked to {phrases.ACTIONS[action]}: {missing}")

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
                      round(share, 3), round(motion.mouth_range, 3), motion.blinks, action,
                      round(motion.turn_left, 3), round(motion.turn_right, 3), tuple(reasons))
