"""The communication aid in headless Chromium, driven by the keyboard alone: typed words, Enter,
a quick phrase, an abbreviation expanded with Tab, single-switch scanning, the stop key. The
avatar must say exactly those words: the page's captions, and what the real recogniser hears
in the audio the page received."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from companion.frames import AudioFrame
from companion.server.background import LiveServer
from tests.test_browser import Page, _silence, _wav


@pytest.fixture(scope="module")
def aid_server() -> Iterator[LiveServer]:
    from companion.config import load_settings
    from companion.server.app import session_maker
    from companion.wiring import load_models

    settings = load_settings()  # the real voice (piper); the aid loads no language model
    with LiveServer(session_maker(load_models(settings, warm=False), settings)) as srv:
        yield srv


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def _heard(page: Page) -> str:
    """What the recogniser makes of the voice the page received and played."""
    from companion.audio.io import resample
    from companion.stt import make_stt

    got: dict = {}
    size, deadline = -1, time.monotonic() + 10
    while time.monotonic() < deadline:  # the last words may still be on their way
        got = page.page.evaluate("window.__companionAudio()")
        if len(got["pcm"]) == size:
            break
        size = len(got["pcm"])
        time.sleep(1.0)
    pcm = np.frombuffer(base64.b64decode(got["pcm"]), "<i2").astype(np.float32) / 32768
    # trailing silence: the recogniser drops a short last word that ends right at the edge
    pcm = np.concatenate([pcm, np.zeros(int(got["sampleRate"]), np.float32)])
    audio = resample(AudioFrame(samples=pcm, sample_rate=int(got["sampleRate"])), 16000)
    return make_stt("faster-whisper:tiny.en").text(audio)


def _wait_spoken(page: Page, n: int, timeout: float = 30) -> dict:
    """Until `n` utterances were said (each one its own stretch of speaking: they are sent
    one at a time here) and the avatar is quiet again."""
    return page.wait_for(lambda s: len(s["transcripts"]) >= n
                         and s["states"].count("speaking") >= n
                         and s["states"][-1] != "speaking", timeout)


def test_the_aid_by_keyboard_alone_says_exactly_the_users_words(aid_server: LiveServer,
                                                                 tmp_path: Path) -> None:
    page = Page(aid_server.url + "/?mode=aac&user=kb", _wav(tmp_path / "quiet.wav",
                                                            [_silence(1.0)]))
    p, kb = page.page, page.page.keyboard
    try:
        page.wait_for(lambda s: s["connected"] and s.get("aac", {}).get("loaded"), 60)
        assert not page.stats()["micStarted"]  # the aid listens to no one
        p.evaluate("window.__companionCapture = []")
        time.sleep(3.0)  # the quick phrases are synthesised as the aid opens
        assert p.evaluate("document.activeElement.id") == "aac-text"
        # 1. typed words and Enter
        kb.type("Please open the window.")
        kb.press("Enter")
        _wait_spoken(page, 1)
        # 2. a quick phrase with one key
        kb.press("Alt+1")
        _wait_spoken(page, 2)
        # 3. an abbreviation expanded from the user's own phrases, taken with Tab
        kb.type("hay")
        page.wait_for(lambda s: "How are you?" in s["aac"]["suggestions"], 10)
        kb.press("Tab")
        assert p.input_value("#aac-text") == "How are you?"
        kb.press("Enter")
        _wait_spoken(page, 3)
        # 4. single-switch scanning: the switch (space) picks the first board row, then its
        # first button ("Hello" says "Hello!")
        p.focus("#aac-access summary")
        kb.press("Enter")  # open the access settings
        p.focus("#scan-ms")
        kb.press("Control+A")
        kb.type("700")
        kb.press("Tab")
        p.focus("#scan-on")
        kb.press("Space")
        assert p.is_checked("#scan-on")
        page.wait_for(lambda s: p.evaluate(
            "!!document.querySelector('#aac-board .board-row.scan-row')"), 20)
        kb.press("Space")
        page.wait_for(lambda s: p.evaluate(
            "document.querySelector('.scan-item')?.dataset.id === 's0'"), 5)
        kb.press("Space")
        _wait_spoken(page, 4)
        p.focus("#scan-on")
        kb.press("Space")  # scanning off again (the switch is the space key)
        assert not p.is_checked("#scan-on")
        s = page.stats()
        assert s["transcripts"] == ["Please open the window.", "Yes.", "How are you?", "Hello!"]
        assert " ".join(s["captions"]) == "Please open the window. Yes. How are you? Hello!"
        assert not s["errors"]
        heard = _words(_heard(page))
        for said in ("please open the window", "yes", "how are you", "hello"):
            assert " ".join(_words(said)) in " ".join(heard), (said, heard)
        # 5. the stop key silences a long sentence at once
        p.focus("#aac-text")
        kb.type("Once upon a time there was a very long story that went on and on for ages.")
        kb.press("Enter")
        page.wait_for(lambda s: s["states"][-1] == "speaking", 15)
        time.sleep(0.6)
        kb.press("Escape")
        s = page.wait_for(lambda s: s["interrupted"] >= 1, 5)
        cut = s["interruptedAt"][-1]
        chunk = max(end - start for start, end, _ in s["voice"])
        assert max(end for start, end, stopped in s["voice"] if not stopped) <= cut + chunk + 0.02
        # the controls are labelled for screen readers, the quick phrases name their keys
        assert p.get_attribute("#aac-quick button", "aria-keyshortcuts") == "Alt+1"
        assert p.get_attribute("#aac-board button", "aria-label")
        p.screenshot(path=str(tmp_path / "aac.png"))
    finally:
        page.close()
    # what was said is in the user's history, on the server, and can be deleted there
    from companion.aac.store import AACStore

    with AACStore() as store:
        history = [t for _, t, _ in store.history("kb")]
    assert history[:4] == ["Please open the window.", "Yes.", "How are you?", "Hello!"]


def test_a_button_says_the_users_own_recorded_voice(aid_server: LiveServer,
                                                    tmp_path: Path) -> None:
    """Message banking in the page: record a button's words with the microphone, save, press
    it: the avatar plays that recording (lip-synced), not the synthetic voice. Then dwell
    selection presses a button the pointer rests on."""
    from tests.test_browser import _say

    voice = np.concatenate([_say("I love you, Gran."), _silence(0.3)] * 3)
    page = Page(aid_server.url + "/?mode=aac&user=banker", _wav(tmp_path / "me.wav", [voice]))
    p = page.page
    try:
        page.wait_for(lambda s: s["connected"] and s.get("aac", {}).get("loaded"), 60)
        p.click("#aac-edit")
        p.click("#aac-board button[data-id=s0]")
        p.click("#ed-record")
        time.sleep(2.5)
        p.click("#ed-record")
        page.wait_for(lambda s: "recorded" in p.inner_text("#aac-said"), 10)
        p.click("#ed-save")
        page.wait_for(lambda s: p.evaluate(
            "!!document.querySelector('#aac-board button.banked[data-id=s0]')"), 20)
        p.click("#aac-edit")  # editing off: a press says the button
        p.evaluate("window.__companionCapture = []")
        p.click("#aac-board button[data-id=s0]")
        _wait_spoken(page, 1)
        s = page.stats()
        assert s["transcripts"] == ["Hello!"] and not s["errors"]
        heard = _words(_heard(page))
        assert "love" in heard and "hello" not in heard, heard  # their voice, not piper's
        # dwell selection (eye gaze, head mouse): resting the pointer on a button presses it
        p.click("#aac-access summary")
        p.check("#dwell-on")
        p.fill("#dwell-ms", "500")
        p.hover("#aac-board button[data-id=s1]")
        _wait_spoken(page, 2)
        assert page.stats()["transcripts"] == ["Hello!", "How are you?"]
    finally:
        page.close()
