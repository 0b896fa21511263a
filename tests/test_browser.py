"""The page in headless Chromium with a fake microphone playing real WAV files."""

from __future__ import annotations

import os
import shutil
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from companion.audio.io import resample
from companion.bench.browser import chromium_args
from companion.dialogue.persona import load_persona
from companion.face.engine import RenderOptions
from companion.face.live import LiveFace
from companion.face.rig import Rig
from companion.server.background import LiveServer
from companion.server.protocol import Hello
from companion.session import VoiceSession
from companion.tts import make_tts
from tests.fakes import ScriptedLLM, ScriptedSTT, ToneTTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):  # CI installs it (.ci/run); say so rather than skip there
    if os.environ.get("CI"):
        raise RuntimeError("chromium is not installed (apt-get install chromium)")
    pytest.skip("chromium is not installed", allow_module_level=True)


def _wav(path: Path, parts: list[np.ndarray]) -> Path:
    a = np.concatenate(parts)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes((np.clip(a, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _say(text: str, voice: str = "espeak") -> np.ndarray:
    return resample(make_tts(voice).synthesize(text).audio, 48000).samples


def _silence(s: float) -> np.ndarray:
    return np.zeros(int(s * 48000), np.float32)


class Page:
    def __init__(self, url: str, mic_wav: Path, camera: Path | None = None) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=CHROMIUM,
                                                args=chromium_args(mic_wav, camera))
        self.page = self.browser.new_page(viewport={"width": 1200, "height": 800})
        self.page.goto(url)

    def stats(self) -> dict[str, Any]:
        return dict(self.page.evaluate("window.__companion"))

    def wait_for(self, check: Any, timeout: float) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = self.stats()
            if check(s):
                return s
            time.sleep(0.25)
        raise AssertionError(f"timed out; page state: {self.stats()}")

    def close(self) -> None:
        self.browser.close()
        self._pw.stop()


@pytest.fixture(scope="module")
def real_server() -> Iterator[LiveServer]:
    from companion.config import load_settings
    from companion.server.app import session_maker
    from companion.wiring import load_models

    settings = load_settings(max_tokens=32)
    models = load_models(settings)
    with LiveServer(session_maker(models, settings),
                    info={"llm": getattr(models.llm, "name", "")}) as srv:
        yield srv
    models.llm.close()


def test_spoken_question_gets_a_live_spoken_answer(real_server: LiveServer,
                                                   tmp_path: Path) -> None:
    wav = _wav(tmp_path / "q.wav", [_silence(1.0), _say("Hi Mona! How are you today?"),
                                     _silence(20.0)])
    page = Page(real_server.url, wav)
    try:
        page.wait_for(lambda s: s["connected"] and s["micStarted"], 30)
        # alive before anyone speaks: idle motion keeps drawing frames (how many per second is
        # measured by `companion bench browser`, not asserted here)
        page.wait_for(lambda s: s["framesDrawn"] > 50, 60)
        # "Hi Mona!" may end a turn of its own (a finished sentence); "How are you today?"
        # then continues it, and the reply answers both. The greeting's captions and its
        # "speaking" come before any of that: the answer is a "speaking" after a "thinking".
        def answered(s: dict[str, Any]) -> bool:
            st = s["states"]
            return (any("how are you" in t.lower() for t in s["transcripts"])
                    and "thinking" in st and "speaking" in st[st.index("thinking"):])

        s = page.wait_for(answered, 60)
        assert s["captions"]
        before = page.stats()["framesDrawn"]
        time.sleep(2.0)
        s = page.stats()
        assert s["framesDrawn"] - before >= 5, (before, s)  # frames keep coming while it talks
        assert not s["errors"]
        page.page.screenshot(path=str(tmp_path / "page.png"))
        # the canvas shows the portrait (not a blank or black box)
        mean = page.page.evaluate("""() => { const c = document.getElementById('avatar');
            const d = c.getContext('2d').getImageData(0, 0, 512, 512).data; let m = 0;
            for (let i = 0; i < d.length; i += 4) m += d[i] + d[i+1] + d[i+2];
            return m / (d.length / 4) / 3; }""")
        assert 40 < mean < 220
        assert (tmp_path / "page.png").stat().st_size > 50_000
    finally:
        page.close()


def test_barge_in_from_the_browser(mona: Rig, tmp_path: Path) -> None:
    """Speaking over the avatar stops its voice in the page at once, and the history keeps only
    the words that were heard."""
    long = " ".join(["Let me tell you a long story about the sea and a small boat."] * 4)
    made: list[VoiceSession] = []

    def make(hello: Hello) -> tuple[VoiceSession, LiveFace]:
        live = LiveFace(mona, RenderOptions())
        s = VoiceSession(live, ScriptedSTT(["tell me a story", "wait, stop"]),
                         ScriptedLLM([long, "Okay."]), ToneTTS(), load_persona())
        made.append(s)
        return s, live

    stop = _say("Wait, stop, please stop.")
    wav = _wav(tmp_path / "barge.wav", [_silence(1.0), _say("Tell me a story."), _silence(4.0),
                                        stop, _silence(8.0)])
    with LiveServer(make) as srv:
        page = Page(srv.url, wav)
        try:
            s = page.wait_for(lambda s: s["interrupted"] >= 1, 40)
            assert s["captions"]  # the avatar had started talking
            cut = s["interruptedAt"][0]
            began = max(t for t in s["speechStarts"] if t < cut)  # the user's "Wait, stop"
            played = [end for start, end, stopped in s["voice"] if not stopped and start < cut]
            assert played, "the avatar's voice was heard before the user spoke"
            # barge-in, not turn-taking: the avatar falls silent while the user is still
            # speaking (how quickly is `companion bench latency`'s business, not a test's)
            assert cut - began < len(stop) / 48000, (cut - began, len(stop) / 48000)
            # only the chunk that was already sounding finishes; nothing queued plays on
            chunk = max(end - start for start, end, _ in s["voice"])
            assert max(played) <= cut + chunk + 0.02, (max(played) - cut, chunk)
            # nothing of the interrupted reply plays after it (the next reply, to "wait,
            # stop", can only begin once that turn has ended, seconds later)
            late = [start - cut for start, _, stopped in s["voice"]
                    if not stopped and cut + 0.05 < start < cut + 0.8]
            assert not late, late
            s = page.wait_for(lambda s: len(s["transcripts"]) >= 2, 20)
        finally:
            page.close()
    session = made[0]
    barge = next(e for e in session.events if e["event"] == "barge_in")
    heard = barge["heard"]
    assert heard and len(heard) < len(long) and long.startswith(heard)
    said = [m.content for m in session.memory.messages("") if m.role == "assistant"]
    assert said[0] == heard  # the history keeps what was heard, not what was generated


def test_a_whole_practice_session_with_the_safeguard(real_server: LiveServer,
                                                     tmp_path: Path) -> None:
    """Briefing → a spoken role-play (real recogniser, model and voice) → a negated risk
    sentence and a quoted line that must not stop it → a risk sentence that does: the notice
    with the resources, not closable at first, no going on by itself → end → the debrief."""
    wav = _wav(tmp_path / "practice.wav", [
        _silence(12.0), _say("Mum, I feel upset when you call me at work.", "piper"),
        _silence(9.0), _say("I would never hurt myself.", "piper"), _silence(9.0),
        _say("Honestly, I want to kill myself.", "piper"), _silence(30.0)])
    page = Page(real_server.url, wav)
    p = page.page
    try:
        page.wait_for(lambda s: s["connected"], 30)  # the page opens in conversation mode
        p.select_option("#mode-pick", "practice")
        # the conversation ends while the briefing is read; nothing starts before Start
        page.wait_for(lambda s: not s["connected"], 10)
        p.select_option("#scenario-pick", "boundary-with-a-parent")
        assert "Ruth" in p.inner_text("#brief-partner")
        assert "practice, not therapy" in p.inner_text("#briefing")
        time.sleep(1.0)
        assert not page.stats()["connected"]
        p.click("#practice-start")
        page.wait_for(lambda s: s["connected"] and s["micStarted"], 30)
        assert "practice, not therapy" in p.inner_text("#disclosure")
        page.wait_for(lambda s: any("kill myself" in t.lower() for t in s["transcripts"]), 90)
        s = page.stats()
        assert len(s["crisis"]) == 1, s["transcripts"]  # the negated sentence did not count
        assert p.is_visible("#crisis") and p.is_disabled("#crisis-close")
        assert "988" in p.inner_text("#crisis-resources")
        assert "AI" in p.inner_text("#crisis-message")
        page.wait_for(lambda s: not p.is_disabled("#crisis-close"), 15)
        p.click("#crisis-close")
        # a line quoted from a play, typed: no notice
        p.fill("#text", 'In the play my character says "I want to die".')
        p.press("#text", "Enter")
        page.wait_for(lambda s: any("in the play" in t.lower() for t in s["transcripts"]), 20)
        assert len(page.stats()["crisis"]) == 1
        p.click("#crisis-resume")
        page.wait_for(lambda s: any(c.get("resumed") for c in s["crisis"]), 10)
        p.click("#practice-end")
        d = page.wait_for(lambda s: s["debrief"] is not None, 30)["debrief"]
    finally:
        page.close()
    assert d["scenario"] == "boundary-with-a-parent" and d["safeguard"] is True
    # the role-play's turns (two sentences may be one turn, if the second came while the reply
    # was only beginning); the safeguard's turns are left out of its figures
    said = " ".join(t["you"].lower() for t in d["transcript"])
    assert d["turns"] >= 1 and "i feel" in said and "never hurt myself" in said, said
    assert d["talk_share"] is not None and 0 < d["talk_share"] < 1
    assert d["words_per_minute"] and d["words_per_minute"] > 30
    quotes = {s["key"]: s["quotes"] for s in d["skills"]}
    assert any("i feel" in q.lower() for q in quotes.get("i-statement", [])), quotes
    assert all("kill myself" not in t["you"].lower() for t in d["transcript"])
