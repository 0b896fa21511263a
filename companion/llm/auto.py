"""`--llm auto` (the default): a real model when one is there, the embedded one otherwise.

At start-up it asks, each with a short timeout: the OpenAI-compatible endpoint named by
the settings' llm_base_url (its /models), then a local Ollama (http://127.0.0.1:11434/api/tags).
The first that answers with a model is used; otherwise the embedded model. `reason` says which
and why (the page and `doctor` show it). If the served model fails during a conversation, that
reply — and every one after it — comes from the embedded model, after a spoken notice.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from companion.frames import Message
from companion.llm.base import LLM, Endpoint, LLMError, LLMOptions

OLLAMA = "http://127.0.0.1:11434"
NOTICE = "My usual language model is not answering, so I'll use my small built-in one. "


@dataclass(frozen=True)
class Choice:
    base_url: str  # "" = none answered
    model: str
    reason: str


def _get_json(url: str, timeout_s: float, api_key: str = "") -> object:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"}
                                 if api_key else {})
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        return json.loads(resp.read(1 << 20))


def probe(endpoint: Endpoint | None = None, timeout_s: float = 1.0,
          ollama: str | None = None) -> Choice:
    """Which served model answers now, if any (blocking, a second or two at most)."""
    ollama = ollama or OLLAMA
    endpoint = endpoint or Endpoint()
    base, want = endpoint.base_url, endpoint.model
    tried = []
    if base:
        base = base.rstrip("/")
        try:
            doc = _get_json(f"{base}/models", timeout_s, endpoint.api_key)
            names = [str(m.get("id")) for m in doc.get("data", []) if isinstance(m, dict)] \
                if isinstance(doc, dict) else []
            if want or names:
                name = want or names[0]
                return Choice(base, name, f"{base} answered; using {name}")
            tried.append(f"{base} lists no models")
        except (urllib.error.URLError, OSError, ValueError) as e:
            tried.append(f"{base} did not answer ({_short(e)})")
    try:
        doc = _get_json(f"{ollama}/api/tags", timeout_s)
        names = [str(m.get("name")) for m in doc.get("models", []) if isinstance(m, dict)] \
            if isinstance(doc, dict) else []
        if names:
            name = want if want in names else names[0]
            return Choice(f"{ollama}/v1", name, f"Ollama at {ollama} answered; using {name}")
        tried.append("Ollama is running but has no model pulled")
    except (urllib.error.URLError, OSError, ValueError) as e:
        tried.append(f"no Ollama at {ollama} ({_short(e)})")
    return Choice("", "", "; ".join(tried))


def _short(e: BaseException) -> str:
    return str(getattr(e, "reason", e))[:80]


class FallbackLLM(LLM):
    """A served model with the embedded one behind it: a failure before the first word switches
    to the embedded model for good (a served model that failed once is not waited on again)."""

    def __init__(self, primary: LLM, fallback: Callable[[], LLM], reason: str) -> None:
        self.primary = primary
        self._make_fallback = fallback
        self._fallback: LLM | None = None
        self.failed_over = False
        self.reason = reason
        self.name = primary.name
        self.model = primary.model

    def load(self) -> None:
        self.primary.load()

    def busy(self) -> bool:
        return (self._fallback if self.failed_over and self._fallback else self.primary).busy()

    def warm(self, messages: Sequence[Message], options: LLMOptions) -> None:
        (self._fallback or self.primary).warm(messages, options)

    def prefill(self, messages: Sequence[Message], options: LLMOptions) -> bool:
        backup = self._fallback if self.failed_over else None  # a served model keeps nothing
        return backup is not None and backup.prefill(messages,
                                                     backup.options_for_transcript(options))

    def _backup(self) -> LLM:
        if self._fallback is None:
            self._fallback = self._make_fallback()
            self._fallback.load()
        return self._fallback

    async def stream(self, messages: Sequence[Message], options: LLMOptions | None = None,
                     go: threading.Event | None = None) -> AsyncIterator[str]:
        opts = options or LLMOptions()
        if not self.failed_over:
            started = False
            try:
                # a served model that hangs is given up on sooner than the embedded one
                quick = replace(opts, first_token_timeout_s=min(opts.first_token_timeout_s, 6.0))
                async for piece in self.primary.stream(messages, quick, go):
                    started = True
                    yield piece
                return
            except LLMError as e:
                if started:
                    raise  # half a reply was spoken: the stage apologises, as for any model
                self.failed_over = True
                self.reason = f"{self.primary.name} failed ({e}); using the embedded model"
        backup = await asyncio.to_thread(self._backup)
        self.keeps_prompt = backup.keeps_prompt
        if self.name != backup.name:  # the first reply after the switch says so
            self.name, self.model = backup.name, backup.model
            yield NOTICE
        async for piece in backup.stream(messages, backup.options_for_transcript(opts), go):
            yield piece

    def _generate(self, messages: list[Message], options: LLMOptions,
                  stop: threading.Event
                  ) -> Iterator[str]:  # pragma: no cover - stream() is overridden
        raise NotImplementedError

    def close(self, timeout: float = 10.0) -> None:
        self.primary.close(timeout)
        if self._fallback is not None:
            self._fallback.close(timeout)


def auto_llm(endpoint: Endpoint | None = None, timeout_s: float = 1.0) -> LLM:
    from companion.llm.embedded import embedded_llm
    from companion.llm.openai_compat import OpenAICompatLLM

    endpoint = endpoint or Endpoint()
    choice = probe(endpoint, timeout_s)
    if not choice.base_url:
        llm: LLM = embedded_llm()
        llm.reason = f"embedded model: {choice.reason}"
        return llm
    served = OpenAICompatLLM(model=choice.model, base_url=choice.base_url,
                             api_key=endpoint.api_key
                             if choice.base_url == endpoint.base_url.rstrip("/") else "")
    return FallbackLLM(served, embedded_llm, choice.reason)
