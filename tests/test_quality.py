"""Quality claims, measured by re-detecting landmarks with MediaPipe on rendered frames."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from companion.bench import quality as Q
from companion.face import engine
from companion.face.motion import MotionControls
from companion.face.rig import Rig
from companion.tts import make_tts
from tests.conftest import run_cli, video_frames, write_wav


@pytest.mark.parametrize("clip", ["jfk.flac", "en_librispeech_198-209-0000_female.ogg"])
def test_lip_sync_on_real_speech_without_transcript(clip: str, data: Path, tmp_path: Path
                                                     ) -> None:
    out = tmp_path / "out.mp4"
    r = run_cli("render", "--avatar", "mona-lisa", "--audio", str(data / clip), "-o", str(out))
    assert r.returncode == 0, r.stderr
    frames = list(video_frames(out))
    track = Q.track(frames)
    assert np.isnan(track.aperture).mean() < 0.02  # the face is found in (almost) every frame
    from companion.audio.io import decode_audio

    env = Q.speech_envelope(decode_audio(data / clip, 16000), len(frames), 25)
    corr = Q.lagged_correlation(track.aperture, env)
    best = max(corr, key=lambda k: corr[k])
    assert corr[best] >= 0.5, corr
    assert -3 <= best <= 1, corr


def test_mouth_closes_on_every_bilabial(mona: Rig) -> None:
    """Piper samples its durations, so three syntheses give three different timings."""
    tts = make_tts("piper")
    rest_ap = float(Q.track([mona.image]).aperture[0])  # the portrait's own closed mouth
    opts = engine.RenderOptions(label=False)
    for _ in range(3):
        seg = tts.synthesize("Bob and Mary pick apples.")
        speech = engine.speech_from_segment(seg)
        params = engine.plan(speech, speech.duration, opts)
        frames = list(engine.frames(mona, params, opts))
        track = Q.track(frames)
        open_ap = np.nanpercentile(track.aperture, 95)
        assert open_ap > rest_ap + 0.05  # the mouth does open on the vowels
        times = (np.arange(len(frames)) + 0.5) / 25
        bilabials = [p for p in seg.phonemes if p.symbol in ("b", "m", "p")]
        assert len(bilabials) == 5
        for p in bilabials:
            # frames whose display interval [i/25, (i+1)/25) overlaps the closure
            idx = np.flatnonzero((times + 0.02 > p.start) & (times - 0.02 < p.end))
            closed = np.nanmin(track.aperture[idx])
            assert closed < max(0.25 * open_ap, rest_ap + 0.01), (p, closed, rest_ap, open_ap)


def test_idle_minute_blinks_naturally_and_never_freezes(tmp_path: Path) -> None:
    silence = write_wav(tmp_path / "silence.wav", np.zeros(16000 * 60, np.float32))
    out = tmp_path / "idle.mp4"
    r = run_cli("render", "--avatar", "difficult-lesson", "--audio", str(silence), "--seed", "3",
                "--no-label", "-o", str(out))
    assert r.returncode == 0, r.stderr
    frames = list(video_frames(out))
    assert len(frames) == 1500
    blinks = Q.count_blinks(Q.track(frames).eye_open, 25)
    assert 10 <= blinks <= 25, blinks
    # never frozen: no run of identical consecutive frames longer than 2 s
    run = longest = 0
    for a, b in itertools.pairwise(frames):
        run = run + 1 if np.array_equal(a, b) else 0
        longest = max(longest, run)
    assert longest < 50


def test_identity_does_not_drift_over_five_minutes(mona: Rig) -> None:
    """A 5-minute render (speech-like motion throughout): the re-detected, pose-normalised shape
    of neutral frames (mouth and eyes near rest) stays close to the source's, and the last
    minute is no further from it than the first."""
    opts = engine.RenderOptions(label=False, controls=MotionControls(seed=11))
    phones = [engine.Phoneme(["m", "ɑ", "i", "s", "o", " "][i % 6], float(t), float(t + 0.15))
              for i, t in enumerate(np.arange(0.5, 299.0, 0.15)) if (t // 6) % 2 == 0]
    params = engine.generate(7500, 25, opts.controls, phones)
    render = engine.make_renderer(mona)
    ref = Q.track([mona.image]).shapes[0]
    errors, minutes = [], []
    step = 10
    picked = [i for i in range(0, 7500, step)]
    neutral = (params[picked, 0] < 0.05) & (params[picked, 5] < 0.1)
    frames = (render(params[i]) for i, ok in zip(picked, neutral, strict=True) if ok)
    shapes = Q.track(frames).shapes
    kept = [i for i, ok in zip(picked, neutral, strict=True) if ok]
    for i, s in zip(kept, shapes, strict=True):
        if np.isnan(s).any():
            continue
        errors.append(float(np.mean(np.linalg.norm(s - ref, axis=1))))
        minutes.append(i // 1500)
    errors_a, minutes_a = np.array(errors), np.array(minutes)
    assert len(errors_a) > 100
    assert np.median(errors_a) < 0.05  # in inter-ocular units
    first, last = np.median(errors_a[minutes_a == 0]), np.median(errors_a[minutes_a == 4])
    assert last < first * 1.25 + 0.005
