"""The invisible watermark: carries the consent id, survives re-encoding, absent when absent."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from companion.consent import watermark
from companion.face.rig import Rig
from tests.conftest import run_cli


def _reencode(src: Path, dst: Path, crf: int) -> Path:
    with av.open(str(src)) as c, av.open(str(dst), "w") as o:
        v = o.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 512, 512, "yuv420p"
        v.options = {"crf": str(crf)}
        for i, f in enumerate(c.decode(video=0)):
            nf = av.VideoFrame.from_ndarray(f.to_ndarray(format="rgb24"), format="rgb24")
            nf.pts, nf.time_base = i, Fraction(1, 25)
            for p in v.encode(nf):
                o.mux(p)
        for p in v.encode(None):
            o.mux(p)
    return dst


def test_round_trip_is_exact_and_invisible(mona: Rig) -> None:
    marked = watermark.embed(mona.image, "c_0123456789abcdef")
    diff = np.abs(marked.astype(int) - mona.image.astype(int))
    assert diff.mean() < 1.0 and diff.max() <= 8
    r = watermark.read([marked])
    assert r.found and r.matches("c_0123456789abcdef") and not r.matches("c_ffffffffffffffff")
    assert not watermark.read([mona.image]).found


@pytest.fixture(scope="module")
def marked_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wm") / "say.mp4"
    r = run_cli("say", "Hello there. This video is marked as made by companion.", "-o", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_verify_reads_the_mark_after_reencoding(marked_video: Path, tmp_path: Path) -> None:
    r = run_cli("verify", str(marked_video))
    assert r.returncode == 0 and "watermark:  found" in r.stdout
    assert "bundled:mona-lisa (active)" in r.stdout
    again = _reencode(marked_video, tmp_path / "reencoded.mp4", crf=23)
    r = run_cli("verify", str(again))
    assert "watermark:  found" in r.stdout and "bundled:mona-lisa" in r.stdout


def test_verify_on_unmarked_video_says_so(mona: Rig, data: Path, tmp_path: Path) -> None:
    from companion.face import engine
    from companion.frames import AudioFrame
    from companion.output.mp4 import Mp4Writer

    # the same kind of video, rendered without the mark
    opts = engine.RenderOptions()
    plain = tmp_path / "plain.mp4"
    with Mp4Writer(plain, 512, 25) as w:
        w.write_audio(AudioFrame(samples=np.zeros(48000 * 2, np.float32), sample_rate=48000))
        for img in engine.frames(mona, engine.plan(None, 2.0, opts), opts, mark=False):
            w.write_frame(img)
    r = run_cli("verify", str(plain))
    assert r.returncode == 0 and "watermark:  not found" in r.stdout
    r = run_cli("verify", str(data / "obama.jpg"))
    assert r.returncode == 0 and "watermark:  not found" in r.stdout
    r = run_cli("verify", str(tmp_path / "missing.mp4"))
    assert r.returncode == 2 and "nothing to verify" in r.stderr


def test_verify_reports_a_revoked_consent(tmp_path: Path, data: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    image = str(data / "sargent_elizabeth_winthrop_chanler.jpg")
    still = tmp_path / "still.png"
    r = run_cli("say", "Hi.", "--avatar", image, "--attest", "artwork: a Sargent painting",
                "--at", "0.2", "-o", str(still))
    assert r.returncode == 0, r.stderr
    out = run_cli("verify", str(still)).stdout
    rid = next(w for w in out.split() if w.startswith("c_"))
    assert f"{rid} (active)" in out
    assert run_cli("consent", "revoke", rid).returncode == 0
    assert f"{rid} (revoked)" in run_cli("verify", str(still)).stdout
