"""The web app over real websockets on loopback: protocol, limits, isolation. Scripted
backends (the protocol is under test here; the browser test uses the real models)."""

from __future__ import annotations

import asyncio
import json
import struct
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import websockets
from websockets.typing import Origin

from companion.config import load_settings
from companion.face.live import LiveFace
from companion.face.rig import Rig
from companion.server.app import ServerConfig, session_maker
from companion.server.background import LiveServer
from companion.server.connection import ConnectionLimits
from companion.server.protocol import AUDIO, MIC, VIDEO, Hello
from companion.session import VoiceSession
from companion.wiring import Models
from tests.fakes import ScriptedLLM, ScriptedSTT, ToneTTS

MADE: weakref.WeakSet[VoiceSession] = weakref.WeakSet()  # sessions the server built


@pytest.fixture(scope="module")
def server(mona: Rig) -> Iterator[LiveServer]:
    settings = load_settings(max_sessions=3)

    def make(hello: Hello) -> tuple[VoiceSession, LiveFace]:
        # the server's own check of the hello, then the wiring, with scripted models
        models = Models(ScriptedSTT(["hello"]), ScriptedLLM(["Nice to meet you."] * 5),
                        ToneTTS(), None)
        session, live = session_maker(models, settings)(hello)
        MADE.add(session)
        return session, live

    limits = ConnectionLimits(max_messages_per_s=100)
    with LiveServer(make, ServerConfig(max_sessions=3, limits=limits)) as srv:
        yield srv


def _ws(server: LiveServer) -> str:
    return f"ws://127.0.0.1:{server.port}/ws"


async def _hello(ws: websockets.ClientConnection, avatar: str = "mona-lisa") -> dict[str, object]:
    await ws.send(json.dumps({"type": "hello", "protocol": 1, "avatar": avatar}))
    while True:
        msg = await ws.recv()
        if isinstance(msg, str):
            return dict(json.loads(msg))


async def _receive(ws: websockets.ClientConnection, seconds: float) -> list[str | bytes]:
    """Every message the server sends for `seconds`."""
    out: list[str | bytes] = []
    end = asyncio.get_running_loop().time() + seconds
    while (left := end - asyncio.get_running_loop().time()) > 0:
        try:
            out.append(await asyncio.wait_for(ws.recv(), timeout=left))
        except TimeoutError:
            break
    return out


async def _events(ws: websockets.ClientConnection, seconds: float) -> tuple[list[dict[str, object]],
                                                                         int, int]:
    events: list[dict[str, object]] = []
    video = audio = 0
    for msg in await _receive(ws, seconds):
        if isinstance(msg, str):
            events.append(json.loads(msg))
        elif msg[0] == VIDEO:
            video += 1
            assert msg[9:11] == b"\xff\xd8"  # a JPEG
        elif msg[0] == AUDIO:
            audio += 1
            struct.unpack("<d", msg[1:9])
    return events, video, audio


def test_page_and_info_are_served(server: LiveServer) -> None:
    import urllib.request

    html = urllib.request.urlopen(server.url + "/").read().decode()
    assert "AI-generated" in html and "app.js" in html
    info = json.loads(urllib.request.urlopen(server.url + "/api/info").read())
    assert info["protocol"] == 1 and "mona-lisa" in info["avatars"]


def test_typed_turn_gets_a_spoken_reply_with_frames(server: LiveServer) -> None:
    async def run() -> None:
        async with websockets.connect(_ws(server)) as ws:
            ready = await _hello(ws)
            assert ready["type"] == "ready" and ready["protocol"] == 1
            await ws.send(json.dumps({"type": "text", "text": "Hello there"}))
            events, video, audio = await _events(ws, 3.0)
            kinds = [e["type"] for e in events]
            assert "transcript" in kinds and "caption" in kinds
            # frames keep coming with their audio (their rate is `companion bench`'s claim)
            assert video >= 15 and audio >= 15
            assert any(e.get("type") == "state" and e.get("state") == "speaking" for e in events)

    asyncio.run(run())


def test_wrong_origin_is_refused(server: LiveServer) -> None:
    async def run() -> None:
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with websockets.connect(_ws(server), origin=Origin("http://evil.example")):
                pass
        async with websockets.connect(_ws(server),
                                      origin=Origin(f"http://127.0.0.1:{server.port}")) as ws:
            assert (await _hello(ws))["type"] == "ready"

    asyncio.run(run())


def test_malformed_messages_get_error_events_and_the_session_lives_on(server: LiveServer
                                                                       ) -> None:
    async def run() -> None:
        async with websockets.connect(_ws(server)) as ws:
            await _hello(ws)
            for bad in ["not json", json.dumps({"type": "launch"}), json.dumps([1, 2]),
                        json.dumps({"type": "text"}), json.dumps({"type": "text", "text": ""})]:
                await ws.send(bad)
            await ws.send(b"\x07garbage")
            await ws.send(bytes([MIC]) + b"\x00")  # odd number of PCM bytes
            events, video, _ = await _events(ws, 1.5)
            errors = [e for e in events if e["type"] == "error"]
            assert len(errors) == 7 and all(e["message"] for e in errors)
            assert video > 10  # still streaming
            await ws.send(json.dumps({"type": "ping", "t": 1.0}))
            events, _, _ = await _events(ws, 1.0)
            assert any(e["type"] == "pong" for e in events)

    asyncio.run(run())


def test_oversized_message_and_flood_close_only_that_socket(server: LiveServer) -> None:
    async def run() -> None:
        async with websockets.connect(_ws(server)) as bystander:
            await _hello(bystander)
            async with websockets.connect(_ws(server)) as ws:
                await _hello(ws)
                await ws.send(bytes([MIC]) + b"\x00" * 200_000)
                with pytest.raises(websockets.exceptions.ConnectionClosed) as e:
                    await _events(ws, 5.0)
                    await ws.recv()
                # the server closed it, saying why: too big for the socket (1009)
                assert e.value.rcvd is not None and e.value.rcvd.code == 1009
            async with websockets.connect(_ws(server)) as ws:
                await _hello(ws)
                silence = bytes([MIC]) + np.zeros(64, "<i2").tobytes()
                with pytest.raises(websockets.exceptions.ConnectionClosed) as e:
                    for _ in range(2000):
                        await ws.send(silence)
                    await _events(ws, 5.0)
                    await ws.recv()
                assert e.value.rcvd is not None and e.value.rcvd.code == 1008  # the flood
            # the other session never noticed
            _, video, _ = await _events(bystander, 1.0)
            assert video > 15

    asyncio.run(run())


def test_audio_faster_than_real_time_is_dropped_not_fatal(server: LiveServer) -> None:
    # under the message-rate limit, but each message a second of audio: 40 s of it in well
    # under a second, which the VAD and Whisper would have to work through for this client
    # while every other session waited
    second = bytes([MIC]) + np.zeros(16000, "<i2").tobytes()

    async def run() -> None:
        async with websockets.connect(_ws(server)) as ws:
            await _hello(ws)
            for _ in range(40):
                await ws.send(second)
            events, _, _ = await _events(ws, 2.0)
            told = [e for e in events if e.get("type") == "error"]
            assert len(told) == 1 and "faster than real time" in str(told[0]["message"])
            # the conversation goes on
            await ws.send(json.dumps({"type": "text", "text": "Hello there"}))
            events, _, audio = await _events(ws, 3.0)
            assert any(e.get("type") == "caption" for e in events) and audio > 0

    asyncio.run(run())


async def _all_slots_free(server: LiveServer, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if server.hub.active == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{server.hub.active} session slot(s) still taken")


def test_bad_start_and_session_cap(server: LiveServer) -> None:
    async def run() -> None:
        async with websockets.connect(_ws(server)) as ws:
            await ws.send(json.dumps({"type": "text", "text": "hi"}))
            msg = json.loads(await ws.recv())
            assert msg["type"] == "error" and msg["fatal"]
        async with websockets.connect(_ws(server)) as ws:
            msg = await _hello(ws, avatar="/etc/passwd")
            assert msg["type"] == "error" and "unknown avatar" in str(msg["message"])
        await _all_slots_free(server)  # the sessions above have stopped
        conns = [await websockets.connect(_ws(server)) for _ in range(3)]
        for c in conns:
            await _hello(c)
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with websockets.connect(_ws(server)) as extra:
                await extra.recv()
        for c in conns:
            await c.close()

    asyncio.run(run())


def test_a_fuzzing_run_leaves_no_traceback_and_every_slot_free(
        server: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    """Hostile clients get error events or a close; nothing is logged as an error (no
    traceback, no task destroyed while pending), the session slots all come back, and a
    well-behaved client is still answered."""
    import gc
    import logging
    import time

    from companion.bench.fuzz import fuzz

    caplog.set_level(logging.WARNING)
    result = asyncio.run(fuzz(_ws(server), connections=12, messages=60, parallel=3, seed=7))
    assert result.messages_sent > 300 and result.error_events > 30
    assert result.closed_by_server >= 3  # bad hellos, floods and too many bad messages
    deadline = time.monotonic() + 10
    while server.hub.active and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.hub.active == 0
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not problems, [r.getMessage() for r in problems][:5]
    # every closed conversation is let go (nothing holds on to it); the server's thread may
    # drop its last reference a moment after the slot count reaches zero
    deadline = time.monotonic() + 10
    while len(MADE) and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.1)
    assert len(MADE) == 0
    test_typed_turn_gets_a_spoken_reply_with_frames(server)


def test_the_aid_over_the_socket_and_its_messages_elsewhere(server: LiveServer) -> None:
    """The aid says the words it is sent; a missing recording is an error it survives; the
    aid's messages in a conversation are refused with a reason."""
    async def run() -> None:
        async with websockets.connect(_ws(server)) as ws:
            await ws.send(json.dumps({"type": "hello", "mode": "aac", "user": "sock"}))
            ready = json.loads(await ws.recv())
            assert ready["type"] == "ready" and ready["persona"] == "aac"
            await ws.send(json.dumps({"type": "speak", "text": "Good morning, Sam."}))
            await ws.send(json.dumps({"type": "play", "board": "starter", "button": "s0"}))
            events, _, audio = await _events(ws, 2.5)
            assert audio > 20  # the stream runs (voice and the silence between)
            said = [e for e in events if e["type"] == "transcript"]
            assert said == [{"type": "transcript", "role": "self", "text": "Good morning, Sam.",
                             "turn": 1}]
            assert [e["text"] for e in events if e["type"] == "caption"] == \
                ["Good morning, Sam."]
            assert any("has no recording" in str(e.get("message")) for e in events)
            await ws.send(json.dumps({"type": "speak", "text": "Still here."}))
            events, _, _ = await _events(ws, 1.5)
            assert any(e.get("text") == "Still here." for e in events)
        async with websockets.connect(_ws(server)) as ws:
            await _hello(ws)
            await ws.send(json.dumps({"type": "speak", "text": "Hello"}))
            events, _, _ = await _events(ws, 1.0)
            assert any("communication aid" in str(e.get("message")) for e in events)

    asyncio.run(run())


def test_dns_rebinding_and_a_foreign_host_are_refused(server: LiveServer) -> None:
    """A page on evil.example that resolves to 127.0.0.1 sends Host and Origin both
    evil.example:PORT: every route and the socket refuse it; this server's own names work."""
    import http.client

    evil = f"evil.example:{server.port}"

    def get(path: str, host: str, method: str = "GET", body: bytes = b"") -> int:
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        c.request(method, path, body=body or None,
                  headers={"Host": host, "Origin": f"http://{host}"})
        status = c.getresponse().status
        c.close()
        return status

    for path, method in [("/", "GET"), ("/api/info", "GET"), ("/api/uploads", "POST"),
                         ("/api/consent/revoke", "POST"), ("/api/aac/state", "GET")]:
        assert get(path, evil, method, b"{}") == 400, path
    assert get("/api/info", f"localhost:{server.port}") == 200
    assert get("/api/info", f"[::1]:{server.port}") == 200

    async def run() -> None:
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with websockets.connect(_ws(server), origin=Origin(f"http://{evil}"),
                                          additional_headers={"Host": evil}):
                pass

    asyncio.run(run())


def test_consent_data_and_the_token(data: Path) -> None:
    """With a token, /api/info lists no consent ids or subjects to a page without it; a
    non-ASCII token is a wrong token (403), not a server error."""
    import urllib.error
    import urllib.request

    from companion.server.app import host_name

    assert host_name("[::1]:8000") == "::1" and host_name("LocalHost:80") == "localhost"
    cfg = ServerConfig(token="s3cret")
    with LiveServer(lambda hello: (None, None), cfg) as srv:  # type: ignore[arg-type,return-value]
        from companion.face.image import load_image
        from tests.conftest import recorded_consent

        rec = recorded_consent(load_image(data / "sargent_elizabeth_winthrop_chanler.jpg"))
        shown = json.loads(urllib.request.urlopen(srv.url + "/api/info?token=s3cret").read())
        hidden = json.loads(urllib.request.urlopen(srv.url + "/api/info").read())
        assert hidden["portraits"] == []
        assert rec.consent_id in [p["consent_id"] for p in shown["portraits"]]
        req = urllib.request.Request(srv.url + "/api/aac/state",
                                     headers={"Authorization": "Bearer pässwörd"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        assert e.value.code == 403


def test_silent_clients_lose_their_slot(mona: Rig) -> None:
    """A client that never says hello, and one that goes quiet after it, are closed with the
    reason and their slots come back; a pinging client stays."""
    settings = load_settings()

    def make(hello: Hello) -> tuple[VoiceSession, LiveFace]:
        models = Models(ScriptedSTT([]), ScriptedLLM([]), ToneTTS(), None)
        return session_maker(models, settings)(hello)

    limits = ConnectionLimits(hello_timeout_s=1.0, idle_timeout_s=2.0)
    with LiveServer(make, ServerConfig(max_sessions=3, limits=limits)) as srv:
        async def run() -> None:
            async with websockets.connect(_ws(srv)) as mute:
                msg = json.loads(await asyncio.wait_for(mute.recv(), 5))
                assert msg["fatal"] and "no hello in time" in msg["message"]
            async with websockets.connect(_ws(srv)) as quiet, \
                    websockets.connect(_ws(srv)) as pinging:
                await _hello(quiet)
                await _hello(pinging)
                closed = None
                for _ in range(8):  # 4 s: the quiet one goes, the pinging one stays
                    await pinging.send(json.dumps({"type": "ping", "t": 0}))
                    await asyncio.sleep(0.5)
                try:
                    while True:
                        m = await asyncio.wait_for(quiet.recv(), 2)
                        if isinstance(m, str) and json.loads(m)["type"] == "error":
                            closed = json.loads(m)["message"]
                except websockets.exceptions.ConnectionClosed:
                    pass
                assert closed and "without a message" in closed
                assert srv.hub.active == 1  # the pinging client's
                _, video, _ = await _events(pinging, 1.0)
                assert video > 5  # still streaming

        asyncio.run(run())
