"""`companion serve`: the web app's routes. One websocket per conversation (protocol v1,
docs/protocol.md), each handled by a `Connection`.

Security by default: binds 127.0.0.1, checks the websocket Origin against the Host, optional
access token for use beyond this machine, limits message size and rate, and caps sessions.
Sessions are isolated: each has its own face stream, turn taking, memory and pipeline; a
disconnect cancels its work. Models (STT, LLM, TTS) are loaded once and shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from companion.avatars import bundled
from companion.config import LOCAL_HOSTS, Settings
from companion.consent.gate import is_active
from companion.cpu import release_memory
from companion.dialogue.persona import available as personas
from companion.dialogue.scenario import load_scenarios
from companion.errors import InputError
from companion.face.live import LiveFace
from companion.server import protocol as P
from companion.server.aac_api import aac_routes
from companion.server.connection import Connection, ConnectionLimits
from companion.server.consent_api import (
    active_portraits,
    consent_routes,
    guarded,
    make_guard,
    request_token,
    token_ok,
)
from companion.server.recording import Recordings
from companion.session import VoiceSession
from companion.wiring import Models, new_session

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class ServerConfig:
    token: str | None = None
    allowed_origins: tuple[str, ...] = ()  # extra origins besides the server's own
    max_sessions: int = 8
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    attestation_allowed: bool = True  # may the page attest artwork/synthetic faces in writing
    practice: bool = True
    crisis_resources: tuple[str, ...] = ()
    # Host names a request may carry: a page on another name (DNS rebinding: evil.example
    # resolving to 127.0.0.1) is refused even when its Origin matches that Host. A server
    # bound to every interface takes any name, behind its access token.
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS
    any_host: bool = False

    @classmethod
    def from_settings(cls, s: Settings) -> ServerConfig:
        every = s.host in ("0.0.0.0", "::", "")
        hosts = LOCAL_HOSTS if every or s.host in LOCAL_HOSTS else (*LOCAL_HOSTS, s.host)
        return cls(token=s.token or None, allowed_origins=s.allowed_origins,
                   allowed_hosts=hosts, any_host=every and bool(s.token),
                   max_sessions=s.max_sessions,
                   limits=ConnectionLimits(jpeg_quality=s.jpeg_quality,
                                           max_session_s=60.0 * s.max_session_minutes),
                   attestation_allowed=s.attestation_allowed, practice=s.practice,
                   crisis_resources=s.crisis_resources)


@dataclass
class Hub:
    """Builds sessions. `make` gets the hello and returns a ready session and its face."""

    make: Callable[[P.Hello], tuple[VoiceSession, LiveFace]]
    info: dict[str, Any] = field(default_factory=dict)
    active: int = 0
    # run (in a thread) after each conversation: give back what it made the process hold
    release: Callable[[], None] = release_memory


def avatar_allowed(name: str) -> bool:
    """May a client ask for this avatar? Bundled ones by name, or portraits with an active
    consent record by id: never a path to a file on the server."""
    if name in bundled():
        return True
    return name.startswith("c_") and name[2:].isalnum() and is_active(name)


def session_maker(models: Models, settings: Settings
                  ) -> Callable[[P.Hello], tuple[VoiceSession, LiveFace]]:
    """What a hello asks for, checked, then built by the wiring."""
    def make(hello: P.Hello) -> tuple[VoiceSession, LiveFace]:
        if not avatar_allowed(hello.avatar):
            raise InputError(f"unknown avatar {hello.avatar!r}",
                             "choose one of: " + ", ".join(bundled()))
        return new_session(models, settings, hello.avatar, hello.persona, mode=hello.mode,
                           scenario=hello.scenario, difficulty=hello.difficulty,
                           user=hello.user)

    return make


def scenario_briefs(enabled: bool) -> dict[str, Any]:
    """The practice scenarios the page can offer, and any file that did not load (by name)."""
    if not enabled:
        return {"found": [], "problems": []}
    found = load_scenarios()
    return {"found": [s.brief() for s in found.found.values()], "problems": found.problems}


def host_name(header: str) -> str:
    """The name in a Host header, without its port ("[::1]:8000" → "::1")."""
    h = header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def host_ok(host: str | None, cfg: ServerConfig) -> bool:
    return cfg.any_host or (host is not None and host_name(host) in cfg.allowed_hosts)


class HostCheck:
    """Refuses every HTTP request and websocket whose Host is not this server's."""

    def __init__(self, app: Any, cfg: ServerConfig) -> None:
        self.app = app
        self.cfg = cfg

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            if not host_ok(host, self.cfg):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008,
                                "reason": "host not allowed"})
                    return
                response = JSONResponse({"error": "host not allowed"}, status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def origin_ok(origin: str | None, host: str | None, cfg: ServerConfig) -> bool:
    if origin is None:
        return True  # not a browser (curl, tests, native clients): the token guards those
    if origin in cfg.allowed_origins:
        return True
    parsed = urlsplit(origin)
    return bool(host) and parsed.netloc == host and parsed.scheme in ("http", "https")


def create_app(hub: Hub, cfg: ServerConfig | None = None) -> Starlette:
    cfg = cfg or ServerConfig()
    ids = itertools.count(1)
    recordings = Recordings()

    async def index(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def info(request: Request) -> JSONResponse:
        # consent ids and subjects only for a page that holds the token (when there is one)
        shown = token_ok(request_token(request), cfg.token)
        return JSONResponse({"protocol": P.PROTOCOL, "avatars": bundled(),
                             "portraits": await asyncio.to_thread(active_portraits)
                             if shown else [],
                             "personas": personas(),
                             "scenarios": await asyncio.to_thread(scenario_briefs, cfg.practice),
                             "practice": cfg.practice, "crisis_resources": cfg.crisis_resources,
                             "max_session_s": cfg.limits.max_session_s,
                             "sessions_active": hub.active, "max_sessions": cfg.max_sessions,
                             "attestation": cfg.attestation_allowed, **hub.info})

    async def ws_endpoint(ws: WebSocket) -> None:
        if not origin_ok(ws.headers.get("origin"), ws.headers.get("host"), cfg):
            await ws.close(code=1008, reason="origin not allowed")
            return
        if not token_ok(ws.query_params.get("token", ""), cfg.token):
            await ws.close(code=1008, reason="access token required")
            return
        if hub.active >= cfg.max_sessions:
            await ws.close(code=1013, reason="too many sessions, try again later")
            return
        await ws.accept()
        hub.active += 1
        try:
            await Connection(ws, next(ids), cfg.limits, hub.make, recordings).run()
        finally:
            hub.active -= 1  # the slot is free once the session has stopped
        await asyncio.to_thread(hub.release)

    @contextlib.asynccontextmanager
    async def more_workers(app: Starlette) -> AsyncIterator[None]:
        # Every session runs its blocking work (rendering, JPEG, VAD, STT, TTS, LLM streaming)
        # through asyncio.to_thread. The default pool has min(32, cores + 4) threads: on two
        # cores six, so a few sessions waiting on the shared LLM's lock would leave no thread to
        # render anyone's next frame. Waiting threads cost no CPU; give each session its share.
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=max(16, 6 * cfg.max_sessions),
                                                     thread_name_prefix="companion"))
        try:
            yield
        finally:
            recordings.close()

    async def recording(request: Request) -> Response:
        """A finished puppet recording, while the conversation that made it lasts."""
        path = recordings.get(request.path_params["name"])
        if path is None:
            return JSONResponse({"error": "no such recording (they last as long as the "
                                          "conversation that made them)"}, status_code=404)
        return FileResponse(path, media_type="video/mp4", filename="companion-puppet.mp4")

    guard = make_guard(cfg.token, lambda o, h: origin_ok(o, h, cfg))
    routes = [*consent_routes(guard, cfg.attestation_allowed), *aac_routes(guard),
              Route("/", index),
              Route("/api/info", info),
              Route("/api/recordings/{name}", guarded(guard, recording)),
              Mount("/static", StaticFiles(directory=STATIC), name="static"),
              WebSocketRoute("/ws", ws_endpoint)]
    app = Starlette(routes=routes, lifespan=more_workers)
    app.add_middleware(HostCheck, cfg=cfg)
    return app
