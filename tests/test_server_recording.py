"""Recording the camera-driven face with the user's own voice, over a real websocket: real
face photographs as camera frames, real speech as the microphone, and the file read back —
the voice on the frames' clock, the label, the watermark, the signed manifest."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from pathlib import Path

import numpy as np
import websockets

from companion.audio.io import decode_audio
from companion.consent.label import label_score
from companion.consent.provenance import read_manifest
from companion.consent.verify import verify_file
from companion.server.background import LiveServer
from companion.server.protocol import MIC
from tests.conftest import video_frames
from tests.test_server import _hello, _ws, server  # noqa: F401  (the module's server fixture)
from tests.test_server_camera import _camera_jpegs, _camera_message, _collect

SECONDS = 3.0
CHUNK = 512  # 32 ms of 16 kHz audio, as the page sends it


async def _act(ws: websockets.ClientConnection, jpegs: list[bytes], voice: np.ndarray) -> None:
    """Camera frames every 40 ms and the microphone in real time, for SECONDS."""
    async def camera() -> None:
        for k in range(int(SECONDS / 0.04)):
            await ws.send(_camera_message(500.0 + k, jpegs[k % len(jpegs)]))
            await asyncio.sleep(0.04)

    async def mic() -> None:
        t0 = time.monotonic()
        for i in range(0, int(SECONDS * 16000) - CHUNK, CHUNK):
            pcm = (voice[i:i + CHUNK] * 32767).astype("<i2").tobytes()
            await ws.send(bytes([MIC]) + pcm)
            await asyncio.sleep(max(0.0, t0 + (i + CHUNK) / 16000 - time.monotonic()))

    await asyncio.gather(camera(), mic())


def _get(srv: LiveServer, url: str) -> tuple[int, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    c.request("GET", url)
    r = c.getresponse()
    return r.status, r.read()


def _offset(recorded: np.ndarray, sent: np.ndarray) -> tuple[float, float]:
    """Where the sent voice's first second starts in the recording (s, within its first
    second), and how well it matches there (normalised correlation)."""
    a = sent[:16000]
    b = recorded[: 16000 * 2]
    n = 1 << (len(a) + len(b)).bit_length()
    xc = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)[:16000]
    lag = int(np.argmax(xc))
    window = b[lag: lag + len(a)]
    return lag / 16000, float(xc[lag] / (np.linalg.norm(a) * np.linalg.norm(window) + 1e-9))


def test_a_recording_carries_the_voice_on_the_faces_clock(server: LiveServer,  # noqa: F811
                                                          data: Path, tmp_path: Path) -> None:
    jpegs = _camera_jpegs(data)
    voice = decode_audio(data / "jfk.flac").samples[16000 * 1: 16000 * 5]
    state: dict[str, object] = {}

    async def run() -> None:
        async with websockets.connect(_ws(server), max_size=2**22) as ws:
            await _hello(ws)
            await ws.send(json.dumps({"type": "record", "on": True}))  # the camera is off
            events, _, _ = await _collect(ws, 0.5)
            assert any(e["type"] == "error" and "camera" in str(e["message"]) for e in events)
            await ws.send(json.dumps({"type": "camera", "on": True}))
            for k in range(12):  # calibration: a relaxed face
                await ws.send(_camera_message(100.0 + k, jpegs[k]))
                await asyncio.sleep(0.04)
            await ws.send(json.dumps({"type": "record", "on": True}))
            await _act(ws, jpegs, voice)
            await ws.send(json.dumps({"type": "record", "on": False}))
            events, _, _ = await _collect(ws, 1.0)
            assert {"type": "recording", "state": "on"} in events, events
            saving = [e for e in events if e.get("state") == "saving"]
            # as long as the frames sent meanwhile (fewer on a machine that cannot keep 25 FPS)
            assert saving and 1.0 < float(str(saving[0]["seconds"])) <= SECONDS + 0.5, saving
            state["seconds"] = float(str(saving[0]["seconds"]))
            ready = [e for e in events if e.get("state") == "ready"]
            for _ in range(60):
                if ready:
                    break
                events, _, _ = await _collect(ws, 1.0)
                ready = [e for e in events if e.get("state") == "ready"]
            assert ready, events
            url = str(ready[0]["url"])
            status, body = _get(server, url)
            assert status == 200 and body[4:8] == b"ftyp"
            (tmp_path / "rec.mp4").write_bytes(body)
            assert _get(server, url.replace("recordings/", "recordings/x"))[0] == 404
            state["url"] = url

    asyncio.run(run())
    rec = tmp_path / "rec.mp4"
    # the voice: the user's own, laid after the tracking delay (never before it was spoken)
    where, match = _offset(decode_audio(rec).samples, voice)
    assert match > 0.6 and 0.0 <= where < 0.8, (where, match)
    # an export like any other
    report = verify_file(rec)
    assert report.watermark and report.consent_id == "bundled:mona-lisa", report
    m = read_manifest(rec)
    assert m.valid and m.ai_generated and "driven live by the user's camera" in m.made, m
    frames = list(video_frames(rec))
    assert abs(len(frames) / 25 - float(str(state["seconds"]))) < 0.2
    assert np.median([label_score(f) for f in frames[::10]]) > 0.6
    # the file lasted as long as its conversation
    assert _get(server, str(state["url"]))[0] == 404


def test_a_recording_stopped_at_once_says_so_and_keeps_nothing() -> None:
    from types import SimpleNamespace

    from companion.server.recording import RecordingLink, Recordings

    store = Recordings()
    heard: list[dict[str, object]] = []
    live = SimpleNamespace(fps=25, rig=SimpleNamespace(size=256, consent_id="bundled:mona-lisa"))

    async def run() -> None:
        link = RecordingLink(store, live, heard.append, lambda tag: None)  # type: ignore[arg-type]
        link.start()
        link.stop()
        await link.close()

    try:
        asyncio.run(run())
        assert [e["state"] for e in heard] == ["on", "failed"], heard
        assert "nothing was recorded" in str(heard[1]["message"])
        assert list(store.root.iterdir()) == []
    finally:
        store.close()


def test_a_recording_keeps_the_wall_clock_when_frames_come_late_or_in_a_burst(
        tmp_path: Path) -> None:
    """A server that falls behind sends frames late and then in a burst: the file still runs
    on the wall clock (the voice's), the last picture held over the gap, the burst thinned."""
    from companion.server.recording import PuppetRecording

    now = [100.0]
    rec = PuppetRecording(tmp_path / "r.mp4", 256, 25, "bundled:mona-lisa", clock=lambda: now[0])
    frame = np.zeros((256, 256, 3), np.uint8)
    for k in range(25):  # 1 s at 12.5 frames a second
        rec.frame(frame + k, None)
        now[0] += 0.08
    for _ in range(10):  # then ten at once (t = 2 s)
        rec.frame(frame, None)
    now[0] += 1.0
    rec.frame(frame, None)  # and one after a second's silence (t = 3 s)
    assert rec.frames == 76  # frames 0 … 75: three seconds at 25 a second
    out = rec.finish()
    assert len(list(video_frames(out))) == 76
