"""The OpenAI-compatible backend against a real streaming HTTP server on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from companion.frames import Message
from companion.llm import LLMError, LLMOptions
from companion.llm.openai_compat import OpenAICompatLLM


class _Server:
    def __init__(self, pieces: list[str], status: int = 200) -> None:
        self.pieces = pieces
        self.status = status
        self.first_sent = threading.Event()
        self.release = threading.Event()
        self.requests: list[dict[str, object]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"body": body, "auth": self.headers.get("Authorization")})
                if outer.status != 200:
                    self.send_response(outer.status)
                    self.end_headers()
                    self.wfile.write(b'{"error": "overloaded"}')
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for i, p in enumerate(outer.pieces):
                    chunk = {"choices": [{"delta": {"content": p}}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    if i == 0:
                        outer.first_sent.set()
                        # the rest only after the client has passed the first piece on
                        assert outer.release.wait(10)
                self.wfile.write(b"data: [DONE]\n\n")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()


@pytest.fixture
def server() -> Iterator[_Server]:
    # the first piece is longer than the stop string, so it can be passed on at once
    s = _Server(["Hello there", ", friend.", " User: ignored"])
    yield s
    s.close()


def test_tokens_stream_before_the_reply_is_finished(server: _Server) -> None:
    llm = OpenAICompatLLM(model="tiny", base_url=server.url, api_key="sk-test")

    async def run() -> list[str]:
        got: list[str] = []
        async for piece in llm.stream([Message("user", "hi")], LLMOptions(stop=(" User:",))):
            got.append(piece)
            if len(got) == 1:
                assert not server.release.is_set()  # the server is still holding the rest
                server.release.set()
        return got

    got = asyncio.run(run())
    assert "".join(got) == "Hello there, friend."  # cut at the stop string
    req = server.requests[0]
    assert req["auth"] == "Bearer sk-test"
    body = req["body"]
    assert isinstance(body, dict) and body["stream"] is True and body["model"] == "tiny"


def test_http_error_is_an_llm_error() -> None:
    s = _Server([], status=503)
    try:
        llm = OpenAICompatLLM(model="x", base_url=s.url)
        with pytest.raises(LLMError, match="503"):
            asyncio.run(llm.complete([Message("user", "hi")]))
    finally:
        s.close()


def test_unreachable_endpoint_is_an_llm_error() -> None:
    llm = OpenAICompatLLM(model="x", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(LLMError, match="cannot reach"):
        asyncio.run(llm.complete([Message("user", "hi")]))


def test_a_hanging_endpoint_times_out() -> None:
    s = _Server(["first"])
    try:
        llm = OpenAICompatLLM(model="x", base_url=s.url)

        async def run() -> None:
            async for _ in llm.stream([Message("user", "hi")],
                                      LLMOptions(total_timeout_s=0.5)):
                pass

        with pytest.raises(LLMError, match="in time"):
            asyncio.run(run())
    finally:
        s.close()
