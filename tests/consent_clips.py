"""Consent clips for the tests, made from real photographs.

No video of a real person ships with the project, so a "webcam recording" is made the only way
available offline: the person's other photo (obama2.jpg for the portrait obama.jpg) is animated
by our own engine while a synthetic voice says the phrase. That exercises the real checks: the
speech is transcribed by Whisper, the face is matched by dlib against a different photo of the
same man, and the lips really move. The "still photo held to the camera" clip is that same photo,
unanimated, moved rigidly the way a hand holding a print moves it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from companion.audio.io import resample
from companion.bench.consent_bench import ACTION_S, perform
from companion.face import engine
from companion.face.engine import RenderOptions
from companion.face.image import load_image
from companion.face.rig import Rig, build_rig
from companion.output.mp4 import Mp4Writer
from tests.conftest import recorded_consent

FPS = 25
WEBCAM = (640, 480)  # the rendered head sits in a webcam-sized frame, as a browser records it
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def spoken_phrase(name: str, code: str) -> str:
    """The phrase as a person reads it: the code's digits as words."""
    return (f"I, {name}, agree that my face may be animated by companion. "
            f"Code {' '.join(NUMBERS[int(d)] for d in code)}.")


def person_rig(photo: Path) -> Rig:
    img = load_image(photo)
    return build_rig(img, recorded_consent(img))


def _in_webcam_frame(face: np.ndarray) -> np.ndarray:
    w, h = WEBCAM
    frame = np.full((h, w, 3), (70, 80, 90), np.uint8)
    small = cv2.resize(face, (h - 40, h - 40), interpolation=cv2.INTER_AREA)
    y, x = 20, (w - small.shape[1]) // 2
    frame[y: y + small.shape[0], x: x + small.shape[1]] = small
    return frame


def _motion(text: str, action: str | None) -> tuple[engine.Speech, np.ndarray]:
    from companion.tts import make_tts

    speech = engine.speech_from_segment(make_tts("piper").synthesize(text))
    params = engine.plan(speech, speech.duration + 0.4 + (ACTION_S if action else 0),
                         RenderOptions(fps=FPS))
    if action:
        perform(params, int((speech.duration + 0.2) * FPS), action, FPS)
    return speech, params


def export_clip(rig: Rig, text: str, out: Path, action: str, label: bool) -> Path:
    """The same performance exported the way `companion say` exports (watermark, C2PA
    manifest, the visible label unless `label=False`): what the red team uploaded as consent."""
    speech, params = _motion(text, action)
    return engine.write_mp4(rig, speech, params, out, RenderOptions(fps=FPS, label=label))


def write_clip(rig: Rig, text: str, out: Path, still: bool = False, seed: int = 3,
               action: str | None = None) -> Path:
    """`rig`'s person saying `text` (piper voice) as an mp4, then doing `action` (a key of
    phrase.ACTIONS); `still=True` holds the photo up instead: the same audio, the unanimated
    portrait shifted, tilted and zoomed a little."""
    speech, params = _motion(text, action)
    render = engine.make_renderer(rig)
    rng = np.random.default_rng(seed)
    drift = np.cumsum(rng.normal(0, 1, (len(params), 3)), axis=0)
    with Mp4Writer(out, WEBCAM[0], FPS) as w:
        w.write_audio(resample(speech.audio, 48000))
        for i, p in enumerate(params):
            if still:
                dx, dy, da = drift[i] * (1.5, 1.5, 0.3)
                zoom = 1.0 + 0.002 * float(dy)
                m = np.asarray(cv2.getRotationMatrix2D((256, 256), float(da), zoom), np.float64)
                m[:, 2] += (dx, dy)
                face = cv2.warpAffine(rig.image, m, (512, 512), borderMode=cv2.BORDER_REFLECT)
            else:
                face = render(p)
            w.write_frame(_in_webcam_frame(face))
    return out
