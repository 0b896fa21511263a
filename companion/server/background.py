"""A real uvicorn server in a background thread on loopback (tests and `bench serve`)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import uvicorn

from companion.face.live import LiveFace
from companion.server.app import Hub, ServerConfig, create_app
from companion.server.protocol import UVICORN_WS, Hello
from companion.session import VoiceSession


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, make: Callable[[Hello], tuple[VoiceSession, LiveFace]],
                 cfg: ServerConfig | None = None, info: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.hub = Hub(make=make, info=info or {})
        app = create_app(self.hub, cfg or ServerConfig())
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                # uvicorn's own handlers off: its records reach the root
                                # logger, where a test can see every error the server logs
                                log_config=None, **UVICORN_WS)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
