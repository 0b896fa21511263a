"""The page's consent flow in headless Chromium: upload a real person's photo, get the phrase,
record it on the (fake) webcam, become the avatar, revoke."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from companion.bench.camera_bench import write_y4m
from companion.consent.registry import ConsentRegistry
from companion.server.background import LiveServer
from tests.consent_clips import person_rig, spoken_phrase, write_clip
from tests.fakes import scripted_session
from tests.test_browser import Page

CODE = "4719"
ACTION = "turn-left"


def _webcam_files(clip: Path, out: Path) -> tuple[Path, Path, float]:
    """Chromium's fake camera and microphone read y4m and wav: split the clip into both."""
    y4m, wav = write_y4m(clip, out / "cam.y4m"), out / "cam.wav"
    from companion.audio.io import decode_audio
    from tests.conftest import write_wav

    # a person pauses before and after: the fake microphone loops, and without the pause the
    # end of one reading runs into the start of the next
    pause = np.zeros(int(1.2 * 48000), np.float32)
    samples = np.concatenate([pause, decode_audio(clip, 48000).samples, pause])
    write_wav(wav, samples, 48000)
    return y4m, wav, len(samples) / 48000


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    # the server issues a known code so that the pre-recorded "webcam" can say it
    monkeypatch.setattr("companion.consent.phrase.new_code", lambda: CODE)
    monkeypatch.setattr("companion.consent.phrase.new_action", lambda: ACTION)

    with LiveServer(scripted_session) as srv:
        yield srv


def test_record_consent_on_the_webcam_then_revoke(server: LiveServer, data: Path,
                                                  tmp_path: Path) -> None:
    clip = write_clip(person_rig(data / "obama2.jpg"), spoken_phrase("Barack", CODE),
                      tmp_path / "clip.mp4", action=ACTION)
    y4m, wav, seconds = _webcam_files(clip, tmp_path)
    page = Page(server.url, wav, camera=y4m)
    p = page.page
    p.on("dialog", lambda d: d.accept())
    try:
        page.wait_for(lambda s: s["connected"], 30)
        p.click("#portrait-panel summary")
        p.set_input_files("#portrait-file", str(data / "obama.jpg"))
        page.wait_for(lambda s: s["consent"]["upload"], 30)
        p.check("input[value=real-person]")
        p.fill("#consent-name", "Barack")
        p.click("#challenge-form button")
        page.wait_for(lambda s: s["consent"]["challenge"], 10)
        assert p.inner_text("#phrase") == \
            "I, Barack, agree that my face may be animated by companion. Code 4 7 1 9."
        assert p.inner_text("#action") == "turn your head to your left, then back"
        p.click("#record")
        page.wait_for(lambda s: s["consent"].get("recording"), 10)
        time.sleep(2 * seconds + 1)  # the fake camera loops: one whole phrase is in there
        p.click("#stop")
        s = page.wait_for(lambda s: s["consent"]["result"] or s["consent"]["errors"], 90)
        assert s["consent"]["result"], s["consent"]["errors"]
        rid = s["consent"]["result"]["consent_id"]
        checks = s["consent"]["result"]["checks"]
        assert checks["code_heard"] and checks["face_distance"] < 0.6
        assert checks["action"] == ACTION and checks["turn_left"] > checks["turn_right"]
        # the page now talks as the consented portrait
        page.wait_for(lambda s: s["connected"] and s.get("avatar") == rid, 60)
        page.wait_for(lambda s: s["framesDrawn"] > 30, 20)
        # revoke from the page: the record is revoked, the page is back on a bundled avatar
        p.click("#revoke")
        page.wait_for(lambda s: s["connected"] and s.get("avatar") == "mona-lisa", 60)
        with ConsentRegistry() as reg:
            assert reg.get(rid).revoked
    finally:
        page.close()
