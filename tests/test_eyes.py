"""A cartoon's eyes as drawn: its blinks close over the painted eye, checked on landmarks
re-detected in rendered frames; photographs and paintings keep MediaPipe's own eyelids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from companion.avatars import resolve
from companion.bench.reenact_bench import read
from companion.face import eyes
from companion.face import topology as T
from companion.face.image import load_image
from companion.face.landmarks import FaceAnalyzer
from companion.face.params import INDEX, NAMES
from companion.face.render import CpuRenderer
from companion.face.rig import Rig, build_rig
from tests.conftest import recorded_consent


def _rig(name: str) -> Rig:
    a = resolve(name)
    return build_rig(a.image, a.consent)


def _gap(lm: np.ndarray) -> float:
    return float(np.mean(lm[list(T.EYE_A_LOWER), 1] - lm[list(T.EYE_A_UPPER), 1]))


def test_the_cartoon_blinks_over_its_drawn_eyes() -> None:
    rig = _rig("toonhead")
    assert rig.meta["flat_shaded"]
    detected = FaceAnalyzer().landmarks(rig.image)[0]
    assert _gap(rig.landmarks) > 2.5 * _gap(detected)  # the lid now spans the painted eye
    r = CpuRenderer(rig)
    frames = []
    for b in (0.0, 1.0):
        p = np.zeros(len(NAMES), np.float32)
        p[INDEX["blink_a"]] = p[INDEX["blink_b"]] = b
        frames.append(r.render(p))
    fa = FaceAnalyzer()
    lms = np.stack([fa.landmarks(f)[0] for f in frames])
    # re-detected: the closed frame's lids are at most 55 % open (before: 64 %)
    assert read(lms, 0).eyes[1] < 0.55


@pytest.mark.parametrize("name", ["mona-lisa", "difficult-lesson"])
def test_paintings_keep_their_detected_eyes(name: str) -> None:
    rig = _rig(name)
    assert not rig.meta["flat_shaded"]
    assert np.array_equal(eyes.fit_drawn_eyes(rig.image, rig.landmarks), rig.landmarks)


def test_a_photograph_keeps_its_detected_eyes(data: Path) -> None:
    img = load_image(data / "biden.jpg")
    rig = build_rig(img, recorded_consent(img))
    assert not eyes.flat_shaded(rig.image, rig.landmarks)
