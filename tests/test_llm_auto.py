"""`--llm auto`: a served model on loopback is found and used; none → the embedded model; a
served model that fails mid-conversation → a spoken notice and the embedded model from then on."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from companion.config import load_settings
from companion.frames import Message
from companion.llm import Endpoint, LLMOptions
from companion.llm.auto import NOTICE, FallbackLLM, auto_llm, probe
from companion.llm.embedded import embedded_llm
from companion.wiring import endpoint


class _Served:
    """A tiny OpenAI-compatible server: /v1/models lists one model, chat streams one reply,
    until `down` is set (then every request gets a 503)."""

    def __init__(self) -> None:
        self.down = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _fail(self) -> bool:
                if outer.down:
                    self.send_response(503)
                    self.end_headers()
                return outer.down

            def do_GET(self) -> None:
                if self._fail():
                    return
                body = json.dumps({"data": [{"id": "served-model"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                if self._fail():
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                chunk = {"choices": [{"delta": {"content": "Hello from the server."}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def served() -> Iterator[_Served]:
    s = _Served()
    yield s
    s.httpd.shutdown()


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _ask(llm: FallbackLLM, text: str) -> str:
    msgs = [Message("system", "You are Mona."), Message("user", text)]
    return asyncio.run(llm.complete(msgs, LLMOptions(max_tokens=16, temperature=0.0)))


def test_nothing_served_means_the_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = Endpoint(_closed_port() + "/v1")
    choice = probe(closed, ollama=_closed_port())
    assert choice.base_url == "" and "did not answer" in choice.reason
    monkeypatch.setattr("companion.llm.auto.OLLAMA", _closed_port())
    llm = auto_llm(closed)
    assert llm.name.startswith("embedded:") and "did not answer" in llm.reason


def test_a_served_model_is_used_and_named(served: _Served,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # named in the environment, as a user would: the settings hand it to the backend
    monkeypatch.setenv("COMPANION_LLM_BASE_URL", served.url)
    monkeypatch.delenv("COMPANION_LLM_MODEL", raising=False)
    llm = auto_llm(endpoint(load_settings(file=None)))
    assert isinstance(llm, FallbackLLM) and llm.model == "served-model"
    assert served.url in llm.reason
    assert _ask(llm, "Hi") == "Hello from the server."


def test_a_failing_server_falls_back_with_a_spoken_notice(served: _Served) -> None:
    from companion.llm.openai_compat import OpenAICompatLLM

    llm = FallbackLLM(OpenAICompatLLM("served-model", served.url), embedded_llm, "test")
    assert _ask(llm, "Hi") == "Hello from the server."
    served.down = True
    reply = _ask(llm, "How are you?")
    assert reply.startswith(NOTICE) and len(reply) > len(NOTICE) + 2  # the embedded model spoke
    assert llm.failed_over and llm.name.startswith("embedded:") and "503" in llm.reason
    served.down = False
    assert not _ask(llm, "Still there?").startswith(NOTICE)  # it stays on the embedded model
    llm.close()
