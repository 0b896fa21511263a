"""Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server, hosted APIs), streamed
with server-sent events over plain HTTP (no client library needed)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

from companion.frames import Message
from companion.llm.base import LLM, LLMError, LLMOptions


class OpenAICompatLLM(LLM):
    name = "openai"

    def __init__(self, model: str = "", base_url: str = "", api_key: str = "",
                 timeout_s: float = 30.0) -> None:
        # no endpoint given: a local Ollama's OpenAI-compatible API
        self.base_url = (base_url or "http://127.0.0.1:11434/v1").rstrip("/")
        self.api_key = api_key
        self.model = model
        self.timeout_s = timeout_s

    def _generate(self, messages: list[Message], options: LLMOptions,
                  stop: threading.Event) -> Iterator[str]:
        body = {"model": self.model, "stream": True, "max_tokens": options.max_tokens,
                "temperature": options.temperature,
                "messages": [{"role": m.role, "content": m.content} for m in messages]}
        if options.stop:
            body["stop"] = list(options.stop)
        req = urllib.request.Request(
            f"{self.base_url}/chat/completions", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "Accept": "text/event-stream",
                     **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {})})
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout_s)
        except urllib.error.HTTPError as e:
            raise LLMError(f"endpoint answered {e.code}: {e.read()[:200]!r}") from None
        except (urllib.error.URLError, OSError) as e:
            raise LLMError(f"cannot reach {self.base_url}: {e}") from None
        with resp:
            for raw in resp:
                if stop.is_set():
                    return
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                try:
                    chunk = json.loads(data)
                    delta = chunk["choices"][0].get("delta", {}).get("content")
                except (ValueError, KeyError, IndexError, TypeError):
                    raise LLMError(f"malformed stream chunk: {data[:120]!r}") from None
                if delta:
                    yield str(delta)
