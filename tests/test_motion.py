"""Motion model behaviour (parameters only; rendered quality is in test_quality.py)."""

from __future__ import annotations

import numpy as np

from companion.face.motion import EMOTIONS, MotionControls, blinks, frame_times, generate
from companion.face.params import INDEX
from companion.face.visemes import mouth_curves
from companion.frames import Phoneme


def test_blink_statistics_over_ten_minutes() -> None:
    t = frame_times(25 * 600, 25)
    for seed in range(5):
        b = blinks(np.random.default_rng(seed), t)
        onsets = np.flatnonzero((b[1:] > 0.5) & (b[:-1] <= 0.5))
        per_minute = len(onsets) / 10.0
        assert 10 <= per_minute <= 25, (seed, per_minute)
        edges = np.diff(np.concatenate([[0], (b > 0.5).astype(int), [0]]))
        closed = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        assert closed.max() <= 6  # no blink keeps the eyes shut beyond ~240 ms at 25 fps


def test_controls_steer_the_parameters() -> None:
    base = generate(250, 25, MotionControls())
    gaze = generate(250, 25, MotionControls(gaze=(0.5, 0.0)))
    assert gaze[:, INDEX["gaze_x"]].mean() > base[:, INDEX["gaze_x"]].mean() + 0.3
    far = generate(250, 25, MotionControls(distance=1.5))
    assert far[:, INDEX["scale"]].mean() < -0.3
    calm = generate(250, 25, MotionControls(intensity=0.0))
    assert np.abs(calm[:, INDEX["yaw"]]).max() == 0.0
    assert np.abs(base[:, INDEX["yaw"]]).max() > 0.005
    happy = generate(250, 25, MotionControls(emotion="happy"))
    sad = generate(250, 25, MotionControls(emotion="sad"))
    assert happy[:, INDEX["smile"]].mean() > 0.4 > -0.3 > sad[:, INDEX["smile"]].mean()
    surprised = generate(250, 25, MotionControls(emotion="surprised"))
    assert surprised[:, INDEX["brow_raise"]].mean() > 0.5
    assert set(EMOTIONS) >= {"neutral", "happy", "sad", "surprised", "concerned"}


def test_coarticulation_closes_bilabials_and_opens_vowels() -> None:
    phones = [Phoneme("ɑ", 0.0, 0.2), Phoneme("b", 0.2, 0.26), Phoneme("ɑ", 0.26, 0.5)]
    t = np.array([0.1, 0.23, 0.4])
    m = mouth_curves(phones, t, lead=0.0)
    assert m[0, 0] > 0.5 and m[2, 0] > 0.5
    assert m[1, 0] < 0.05
    # lips lead the sound: with the default lead the closure is reached just before /b/ starts
    early = mouth_curves(phones, np.array([0.19]))
    late = mouth_curves(phones, np.array([0.19]), lead=0.0)
    assert early[0, 0] < late[0, 0]


def test_idle_motion_never_stops() -> None:
    p = generate(25 * 30, 25, MotionControls(seed=2))
    frozen = np.all(np.abs(np.diff(p, axis=0)) < 1e-6, axis=1)
    assert not frozen.any()
