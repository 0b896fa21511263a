"""`companion serve`: the web app. One websocket per conversation (protocol v1, docs/protocol.md).

Security by default: binds 127.0.0.1, checks the websocket Origin against the Host, optional
access token for use beyond this machine, limits message size and rate, and caps sessions.
Sessions are isolated: each has its own face stream, turn taking, memory and pipeline; a
disconnect cancels its work. Models (STT, LLM, TTS) are loaded once and shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from companion.avatars import bundled
from companion.dialogue.persona import available as personas
from companion.errors import CompanionError
from companion.face.live import LiveFace
from companion.server import protocol as P
from companion.server.consent_api import active_portraits, consent_routes, make_guard
from companion.server.session import VoiceSession

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class ServerConfig:
    token: str | None = None
    allowed_origins: tuple[str, ...] = ()  # extra origins besides the server's own
    max_sessions: int = 8
    max_messages_per_s: float = 150.0  # mic audio arrives ~30 times a second
    max_errors: int = 20
    jpeg_quality: int = 80


@dataclass
class Hub:
    """Builds sessions. `make` gets the hello and returns a ready session and its face."""

    make: Callable[[P.Hello], tuple[VoiceSession, LiveFace]]
    info: dict[str, Any] = field(default_factory=dict)
    active: int = 0


def origin_ok(origin: str | None, host: str | None, cfg: ServerConfig) -> bool:
    if origin is None:
        return True  # not a browser (curl, tests, native clients): the token guards those
    if origin in cfg.allowed_origins:
        return True
    parsed = urlsplit(origin)
    return bool(host) and parsed.netloc == host and parsed.scheme in ("http", "https")


class _RateLimit:
    def __init__(self, per_s: float) -> None:
        self.per_s = per_s
        self.tokens = per_s
        self.last = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.per_s, self.tokens + (now - self.last) * self.per_s)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def create_app(hub: Hub, cfg: ServerConfig | None = None) -> Starlette:
    cfg = cfg or ServerConfig()
    ids = itertools.count(1)

    async def index(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def info(request: Request) -> JSONResponse:
        return JSONResponse({"protocol": P.PROTOCOL, "avatars": bundled(),
                             "portraits": await asyncio.to_thread(active_portraits),
                             "personas": personas(), **hub.info})

    async def ws_endpoint(ws: WebSocket) -> None:
        if not origin_ok(ws.headers.get("origin"), ws.headers.get("host"), cfg):
            await ws.close(code=1008, reason="origin not allowed")
            return
        if cfg.token and not hmac.compare_digest(ws.query_params.get("token", ""), cfg.token):
            await ws.close(code=1008, reason="access token required")
            return
        if hub.active >= cfg.max_sessions:
            await ws.close(code=1013, reason="too many sessions, try again later")
            return
        await ws.accept()
        hub.active += 1
        try:
            await _conversation(ws, next(ids))
        except WebSocketDisconnect:
            pass
        finally:
            hub.active -= 1

    async def _conversation(ws: WebSocket, sid: int) -> None:
        try:
            first = await asyncio.wait_for(ws.receive_text(), timeout=15)
            hello = P.parse_text(first)
            if not isinstance(hello, P.Hello):
                raise P.ProtocolError("the first message must be hello")
        except (TimeoutError, P.ProtocolError, KeyError) as e:
            await ws.send_text(P.event("error", message=f"bad start: {e}", fatal=True))
            await ws.close(code=1008)
            return
        try:
            session, live = await asyncio.to_thread(hub.make, hello)
        except CompanionError as e:
            await ws.send_text(P.event("error", message=str(e), fatal=True))
            await ws.close(code=1011)
            return
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=256)

        def listener(ev: dict[str, Any]) -> None:
            with contextlib.suppress(asyncio.QueueFull):
                outbox.put_nowait(ev)

        session.listener = listener
        await session.start()
        await ws.send_text(P.event("ready", protocol=P.PROTOCOL, session=sid, fps=live.fps,
                                   sample_rate=live.sample_rate, avatar=hello.avatar,
                                   persona=session.persona.key, name=session.persona.name,
                                   llm=session.llm.name, llm_reason=session.llm.reason))
        tasks = [asyncio.create_task(_send_frames(ws, session, live)),
                 asyncio.create_task(_send_events(ws, outbox))]
        try:
            await _receive(ws, session)
        finally:
            live.close()
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            await session.stop()

    async def _send_events(ws: WebSocket, outbox: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            ev = await outbox.get()
            await ws.send_json(ev)

    async def _send_frames(ws: WebSocket, session: VoiceSession, live: LiveFace) -> None:
        try:
            await _stream_frames(ws, session, live)
        except CompanionError as e:
            # e.g. the portrait's consent was revoked mid-conversation: the face stops and the
            # user is told why
            await ws.send_text(P.event("error", message=str(e), fatal=True))
            await ws.close(code=1011)

    async def _stream_frames(ws: WebSocket, session: VoiceSession, live: LiveFace) -> None:
        state = ""
        quality = [int(cv2.IMWRITE_JPEG_QUALITY), cfg.jpeg_quality]
        async for frame in live.frames(realtime=True):
            session.on_frame(frame)
            if live.state != state:
                state = live.state
                await ws.send_text(P.event("state", state=state))
            # ~3-6 ms a frame: off the event loop, which also carries the microphone and events
            jpeg = await asyncio.to_thread(_encode_jpeg, frame.video.image, quality)
            if jpeg is not None:
                await ws.send_bytes(P.video_message(frame.video.pts, jpeg))
            await ws.send_bytes(P.audio_message(frame.audio.pts, frame.audio.samples))

    async def _receive(ws: WebSocket, session: VoiceSession) -> None:
        limit = _RateLimit(cfg.max_messages_per_s)
        errors = 0
        pending = np.zeros(0, np.float32)
        handsfree = True
        talking = False
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            if not limit.allow():
                await ws.send_text(P.event("error", message="too many messages", fatal=True))
                await ws.close(code=1008)
                return
            try:
                if msg.get("bytes") is not None:
                    samples = P.parse_mic(msg["bytes"])
                    if not handsfree and not talking:
                        continue  # push-to-talk: the mic counts only while held
                    pending = np.concatenate([pending, samples])
                    while len(pending) >= 512:
                        await session.feed(pending[:512])
                        pending = pending[512:]
                elif msg.get("text") is not None:
                    m = P.parse_text(msg["text"])
                    if isinstance(m, P.Typed):
                        session.type_text(m.text)
                    elif isinstance(m, P.Mode):
                        handsfree = m.handsfree
                    elif isinstance(m, P.PushToTalk):
                        talking = m.down
                        if not m.down:
                            # releasing the button ends the turn: feed the silence that does
                            silence = np.zeros(512, np.float32)
                            for _ in range(int(session.cfg.turns.silence_ms / 32) + 2):
                                await session.feed(silence)
                    elif isinstance(m, P.Ping):
                        await ws.send_text(P.event("pong", t=m.t, server=time.time()))
                    elif isinstance(m, P.Hello):
                        raise P.ProtocolError("hello was already received")
            except P.ProtocolError as e:
                errors += 1
                await ws.send_text(P.event("error", message=str(e)))
                if errors > cfg.max_errors:
                    await ws.close(code=1008, reason="too many bad messages")
                    return

    guard = make_guard(cfg.token, lambda o, h: origin_ok(o, h, cfg))
    routes = [*consent_routes(guard), Route("/", index), Route("/api/info", info),
              Mount("/static", StaticFiles(directory=STATIC), name="static"),
              WebSocketRoute("/ws", ws_endpoint)]
    return Starlette(routes=routes)


def _encode_jpeg(rgb: np.ndarray, quality: list[int]) -> bytes | None:
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), quality)
    return jpeg.tobytes() if ok else None
