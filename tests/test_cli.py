"""The commands as a user runs them: real outputs, and clear errors (never a traceback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from tests.conftest import run_cli, write_wav


def _probe(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        a = c.streams.audio[0]
        n = sum(1 for _ in c.decode(video=0))
        fps = float(v.average_rate or 0)
        vdur = float(v.duration * v.time_base) if v.duration and v.time_base else n / fps
        adur = float(a.duration * a.time_base) if a.duration and a.time_base else 0.0
        return {"w": v.codec_context.width, "h": v.codec_context.height, "fps": fps,
                "frames": n, "vcodec": v.codec_context.name, "acodec": a.codec_context.name,
                "vdur": vdur, "adur": adur}


def test_say_writes_h264_aac_in_sync(tmp_path: Path) -> None:
    out = tmp_path / "say.mp4"
    r = run_cli("say", "Hello! I am a painting, and today I can talk.", "-o", str(out))
    assert r.returncode == 0, r.stderr
    info = _probe(out)
    assert (info["w"], info["h"], info["fps"]) == (512, 512, 25.0)
    assert info["vcodec"] == "h264" and info["acodec"] == "aac"
    assert info["frames"] > 50
    assert abs(info["vdur"] - info["adur"]) < 0.1  # audio and video end together


@pytest.mark.parametrize("fps", ["30", "40"])
def test_say_other_frame_rates(fps: str, tmp_path: Path) -> None:
    out = tmp_path / "say.mp4"
    r = run_cli("say", "One, two.", "--fps", fps, "--voice", "espeak", "--avatar", "toonhead",
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert _probe(out)["fps"] == float(fps)


def test_torch_backend_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "torch.mp4"
    r = run_cli("say", "Hi.", "--backend", "torch", "--voice", "espeak", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert _probe(out)["frames"] > 5


def test_still_frame_with_at(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "still.png"
    r = run_cli("render", "--audio", str(data / "en_vctk_p240_00000_female.mp3"), "--at", "1.5",
                "--transcript", "Please call Stella.", "-o", str(out))
    assert r.returncode == 0, r.stderr
    img = cv2.imread(str(out))
    assert img.shape == (512, 512, 3)


def test_portrait_path_needs_an_attestation(tmp_path: Path, data: Path) -> None:
    portrait = data / "sargent_elizabeth_winthrop_chanler.jpg"
    home = str(tmp_path / "home")  # a registry of its own: other tests register this painting
    r = run_cli("say", "Hi.", "--avatar", str(portrait), "-o", str(tmp_path / "x.mp4"),
                COMPANION_DATA=home)
    assert r.returncode == 2 and "consent" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("say", "Hi.", "--avatar", str(portrait), "--attest",
                "artwork: public-domain painting by Sargent", "--at", "0.2",
                "-o", str(tmp_path / "x.png"), COMPANION_DATA=home)
    assert r.returncode == 0, r.stderr


def _bad(tmp_path: Path, name: str, content: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content)
    return p


def test_broken_inputs_give_clear_errors(tmp_path: Path, data: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "noface.png"), cv2.GaussianBlur(noise, (15, 15), 5))
    attest = "artwork: a test painting"
    cases = [
        (["say", "hi", "--avatar", str(_bad(tmp_path, "empty.jpg", b""))], "empty"),
        (["say", "hi", "--avatar", str(_bad(tmp_path, "text.jpg", b"hello")), "--attest",
          attest], "not a readable image"),
        (["say", "hi", "--avatar", str(tmp_path / "noface.png"), "--attest", attest], "no face"),
        (["say", "hi", "--avatar", str(data / "two_people.jpg"), "--attest", attest], "--face"),
        (["render", "--audio", str(_bad(tmp_path, "a.wav", b"not audio at all"))],
         "not an audio file"),
        (["render", "--audio", str(_bad(tmp_path, "e.wav", b""))], "empty"),
        (["render", "--audio", str(write_wav(tmp_path / "zero.wav", np.zeros(0)))],
         "no samples"),
        (["render", "--audio", str(data / "missing.flac")], "not found"),
        (["say", "   "], "empty"),
        (["say", "hi", "--avatar", "nobody"], "no avatar"),
        (["say", "hi", "--emotion", "furious"], "emotion"),
    ]
    for args, reason in cases:
        r = run_cli(*args, "-o", str(tmp_path / "out.mp4"))
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert reason in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "out.mp4").exists()


def test_ten_minute_audio(tmp_path: Path, data: Path) -> None:
    from companion.audio.io import decode_audio

    speech = decode_audio(data / "jfk.flac", 16000).samples
    ten = np.zeros(16000 * 600, np.float32)
    for start in range(0, 600 - 12, 60):  # a sentence every minute, silence between
        ten[start * 16000: start * 16000 + len(speech)] = speech
    wav = write_wav(tmp_path / "ten.wav", ten)
    out = tmp_path / "late.png"
    r = run_cli("render", "--audio", str(wav), "--at", "543.0", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "15000 frames" in r.stdout
    assert cv2.imread(str(out)).shape == (512, 512, 3)


def test_serve_refuses_to_open_beyond_localhost_without_a_token() -> None:
    r = run_cli("serve", "--host", "0.0.0.0", "--port", "8799")
    assert r.returncode == 2 and "--token" in r.stderr and "Traceback" not in r.stderr
