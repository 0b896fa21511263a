"""LLM base class. `stream()` owns timeouts, stop strings, cancellation and errors; a backend
implements only `_generate`, a blocking token iterator that runs in a worker thread."""

from __future__ import annotations

import abc
import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass

from companion.errors import CompanionError
from companion.frames import Message


class LLMError(CompanionError):
    """The model failed or timed out; the conversation goes on without this reply."""


@dataclass(frozen=True)
class Endpoint:
    """A served model (OpenAI-compatible): from the settings, handed to the backends."""

    base_url: str = ""
    model: str = ""
    api_key: str = ""


@dataclass(frozen=True)
class LLMOptions:
    max_tokens: int = 80
    temperature: float = 0.7
    first_token_timeout_s: float = 15.0  # from when this reply's generation starts
    total_timeout_s: float = 60.0  # likewise: waiting for the model is counted apart
    # how long a reply may wait while a local model answers other conversations
    queue_timeout_s: float = 90.0
    stop: tuple[str, ...] = ()
    # The avatar's name, for backends that prompt with a transcript. Per call, not per backend:
    # one loaded model serves sessions with different personas.
    speaker: str = "Companion"


_DONE = object()
_MAKING_LOCKS = threading.Lock()
_STARTED = object()  # the worker has the model: the reply's own timeouts start now


class LLM(abc.ABC):
    name = "llm"
    model = ""
    reason = ""  # why this model answers (for `--llm auto`: what was found), shown to the user
    # A local model answers one conversation at a time (its weights and its two cores are
    # shared); the others wait their turn, told so (busy()), without their timeouts running.
    serial = False
    # Keeps the tokens it evaluated, so a prompt evaluated ahead (`prefill`) is not evaluated
    # again: worth recognising the user's words while they still speak.
    keeps_prompt = False
    _prefilling = False  # the model is held by a prefill, which no reply needs to wait out

    def busy(self) -> bool:
        """Is another reply being generated, so that a new one would wait? (A prefill holds
        the model for a moment only: no "one moment" for that.)"""
        return self.serial and self._turn_lock().locked() and not self._prefilling

    def _turn_lock(self) -> threading.Lock:
        with _MAKING_LOCKS:  # two first replies at once must not each make their own
            if not hasattr(self, "_turn"):
                self._turn = threading.Lock()
        return self._turn

    def _take_turn(self, stop: threading.Event) -> bool:
        """Wait for the model (serial backends); False if the reply was cancelled first."""
        while not self._turn_lock().acquire(timeout=0.1):
            if stop.is_set():
                return False
        return True

    def load(self) -> None:  # noqa: B027 - an optional hook: most backends load lazily
        """Load weights / check the endpoint (blocking; call once, off the event loop)."""

    def warm(self, messages: Sequence[Message], options: LLMOptions) -> None:  # noqa: B027
        """Evaluate the prompt's fixed part (persona, examples) ahead of the first turn, for
        backends that keep it (blocking). A served model needs nothing."""

    async def stream(self, messages: Sequence[Message], options: LLMOptions | None = None,
                     go: threading.Event | None = None) -> AsyncIterator[str]:
        """Text pieces as they are generated. Cancelling the consumer stops the generation.
        `go`: while it is cleared, the model waits between tokens (its cores go to the voice)."""
        opts = options or LLMOptions()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def send(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the consumer's loop is gone: nobody is listening any more
                stop.set()

        def worker() -> None:
            held = False
            try:
                if self.serial:
                    held = self._take_turn(stop)
                    if not held:
                        return
                send(_STARTED)
                for piece in self._generate(list(messages), opts, stop):
                    if stop.is_set():
                        break
                    send(piece)
                    if go is not None:
                        _wait_to_go(go, stop)
            except Exception as e:  # handed to the consumer as an LLMError
                send(e)
            finally:
                if held:
                    self._turn_lock().release()
                send(_DONE)

        thread = threading.Thread(target=worker, name=f"llm:{self.name}", daemon=True)
        thread.start()
        self._workers().append(thread)
        text = ""
        emitted = 0
        deadline = first_deadline = loop.time() + opts.queue_timeout_s  # until it has the model
        started = False
        first = True
        try:
            while True:
                limit = (first_deadline if started and first else deadline) - loop.time()
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=max(0.01, limit))
                except TimeoutError:
                    what = ("busy with other conversations" if not started else
                            "first token" if first else "reply")
                    raise LLMError(f"{self.name} did not answer in time ({what})") from None
                if item is _STARTED:
                    started = True
                    first_deadline = loop.time() + opts.first_token_timeout_s
                    deadline = loop.time() + opts.total_timeout_s
                    continue
                if item is _DONE:
                    break
                if isinstance(item, Exception):
                    raise LLMError(f"{self.name} failed: {item}") from item
                first = False
                text += str(item)
                cut = _find_stop(text, opts.stop)
                if cut is not None:
                    if cut > emitted:
                        yield text[emitted:cut]
                    break
                # Hold back a tail that could be the start of a stop string.
                safe = len(text) - max((len(s) - 1 for s in opts.stop), default=0)
                if safe > emitted:
                    yield text[emitted:safe]
                    emitted = safe
            else:  # pragma: no cover
                pass
            if _find_stop(text, opts.stop) is None and len(text) > emitted:
                yield text[emitted:]
        finally:
            stop.set()

    def prefill(self, messages: Sequence[Message], options: LLMOptions) -> bool:
        """Evaluate the prompt up to the end of the last message's text ahead of a reply (the
        user's words so far, while they speak), for backends that keep evaluated tokens
        (blocking). False: nothing was done (a served model, or the model is busy)."""
        return False

    def options_for_transcript(self, options: LLMOptions) -> LLMOptions:
        """Options adjusted to how this backend prompts (a chat API needs nothing extra)."""
        return options

    def _workers(self) -> list[threading.Thread]:
        if not hasattr(self, "_threads"):
            self._threads: list[threading.Thread] = []
        self._threads = [t for t in self._threads if t.is_alive()]
        return self._threads

    def close(self, timeout: float = 10.0) -> None:
        """Wait for generations that were cancelled to wind down (they stop at the next token);
        native threads still running when the interpreter exits can abort it."""
        for t in list(self._workers()):
            t.join(timeout)

    async def complete(self, messages: Sequence[Message], options: LLMOptions | None = None
                       ) -> str:
        return "".join([p async for p in self.stream(messages, options)])

    @abc.abstractmethod
    def _generate(self, messages: list[Message], options: LLMOptions,
                  stop: threading.Event) -> Iterator[str]: ...


def _wait_to_go(go: threading.Event, stop: threading.Event, most_s: float = 3.0) -> None:
    """Paused between tokens while `go` is cleared; never longer than `most_s` (a voice that
    never comes must not stall the reply) and not once the reply is stopped."""
    deadline = time.monotonic() + most_s
    while not go.wait(0.05) and not stop.is_set() and time.monotonic() < deadline:
        pass


def _find_stop(text: str, stops: Sequence[str]) -> int | None:
    hits = [text.find(s) for s in stops if s and s in text]
    return min(hits) if hits else None
