"""llama.cpp backend (llama-cpp-python) for any GGUF file: the embedded models and the user's own.

On two cores it decodes ~3× faster than transformers, processes prompts ~10× faster, loads in
well under a second and maps the quantised weights instead of de-quantising them. The binding
keeps the evaluated tokens of the last call and re-evaluates only what changed, so the persona,
the examples and the earlier turns are not prefilled again on every turn.

One model is shared by all sessions; llama.cpp contexts are not re-entrant, so generations take
turns (a lock), and a cancelled generation stops at its next token.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from companion.cpu import budget
from companion.errors import ModelError
from companion.frames import Message
from companion.llm.base import LLM, LLMOptions
from companion.llm.transcript import TRANSCRIPT_STOPS, chat_examples, transcript_prompt

# A prefill evaluates at most this many new tokens (a conversation's own prompt is cached).
PREFILL_MOST = 96
# Marks where the user's words end in a prompt that is cut for a prefill (never in real text).
_CUT = "\x00\x01cut\x01\x00"
INSTALL_HINT = ("pip install llama-cpp-python==0.3.36 with CMAKE_ARGS=\"-DGGML_NATIVE=OFF "
                "-DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON\" (README: set-up)")


class LlamaCppLLM(LLM):
    name = "llama.cpp"
    serial = True  # one reply at a time: the others wait their turn
    keeps_prompt = True

    def __init__(self, path: str, few_shot: bool | None = None, threads: int | None = None,
                 batch_threads: int | None = None, n_ctx: int = 2048) -> None:
        self.path = Path(path)
        self.model = self.path.stem
        self.few_shot = few_shot
        self.threads = threads or budget().llm_decode
        self.batch_threads = batch_threads or budget().llm_prompt
        self.n_ctx = n_ctx
        self._llm: Any = None
        self._template: Any = None  # the chat template's formatter (chat models)
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._llm is not None:
                return
            if not self.path.is_file():
                raise ModelError(f"GGUF file not found: {self.path}")
            try:
                from llama_cpp import Llama
            except ImportError as e:
                raise ModelError(f"the llama.cpp binding is not installed ({e})",
                                 INSTALL_HINT) from None
            try:
                self._llm = Llama(model_path=str(self.path), n_ctx=self.n_ctx,
                                  n_threads=self.threads, n_threads_batch=self.batch_threads,
                                  n_batch=256, seed=0, verbose=False)
            except (ValueError, RuntimeError) as e:
                raise ModelError(f"llama.cpp cannot load {self.path.name}: {e}",
                                 "check that the file is a GGUF model") from e
            meta = getattr(self._llm, "metadata", {}) or {}
            if self.few_shot is None:
                self.few_shot = "tokenizer.chat_template" not in meta
            if not self.few_shot:
                self._template = _chat_template(self._llm, meta)

    def warm(self, messages: Sequence[Message], options: LLMOptions) -> None:
        """One token after the persona, the examples and a greeting: the first real turn then
        evaluates only its own words (~2.5 s of prompt on two cores otherwise)."""
        self.load()
        probe = [*messages, Message("user", "Hello.")]
        for _ in self._generate(probe, replace(options, max_tokens=1), threading.Event()):
            break

    def prefill(self, messages: Sequence[Message], options: LLMOptions) -> bool:
        """Evaluate the prompt up to the end of the last message's text (the user's words so
        far, while they are still speaking), without replying. The reply's prompt shares this
        prefix, so when the turn ends only its last words are evaluated. Skipped (False) while
        the model is answering: a reply never waits for a guess. Skipped too when the model
        holds another conversation's prompt (several sessions share it): evaluating this one's
        whole prompt would hold the model for seconds on two cores, for a guess."""
        self.load()
        turn = self._turn_lock()
        if not turn.acquire(blocking=False):
            return False
        self._prefilling = True  # holding the model, but not answering anyone (busy())
        try:
            with self._lock:
                tokens = self._prompt_tokens(list(messages), options, open_end=True)
                kept = self._llm.longest_token_prefix(self._llm._input_ids, tokens)
                if len(tokens) - kept > PREFILL_MOST:
                    return False
                # generate() reuses the cached prefix and evaluates the rest; its first sample
                # is taken and dropped (never evaluated), so the cache ends on the user's words
                steps = self._llm.generate(tokens, temp=0.0)
                next(steps, None)
                steps.close()
        finally:
            self._prefilling = False
            turn.release()
        return True

    def options_for_transcript(self, options: LLMOptions) -> LLMOptions:
        if self.few_shot is None:
            self.load()
        if not self.few_shot:
            return options
        return replace(options, stop=(*options.stop, *TRANSCRIPT_STOPS))

    def _sampling(self, options: LLMOptions) -> dict[str, Any]:
        return {"max_tokens": options.max_tokens, "temperature": options.temperature,
                "top_p": 0.9, "top_k": 40, "repeat_penalty": 1.15, "seed": 0,
                "stop": list(options.stop) or None}

    def _prompt_tokens(self, messages: list[Message], options: LLMOptions,
                       open_end: bool = False) -> list[int]:
        """The prompt as tokens, built the same way for a reply and for a prefill (so that their
        tokens agree): a transcript for base models, the model's own chat template otherwise.
        `open_end`: stop right after the last message's text, which is still growing."""
        if open_end:
            last = messages[-1]
            messages = [*messages[:-1], Message(last.role, last.content + _CUT)]
        if self.few_shot:
            text = transcript_prompt(messages, options.speaker)
        else:
            chat = [{"role": m.role, "content": m.content} for m in _with_examples(messages)]
            text = self._template(messages=chat).prompt
        if open_end:
            text = text[: text.index(_CUT)]
        # a transcript starts with the model's BOS; a chat template writes its own specials
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=bool(self.few_shot),
                                       special=True))

    def _generate(self, messages: list[Message], options: LLMOptions,
                  stop: threading.Event) -> Iterator[str]:
        self.load()
        with self._lock:
            # the binding keeps the tokens it evaluated last and evaluates only what differs
            chunks = self._llm.create_completion(self._prompt_tokens(messages, options),
                                                 stream=True, **self._sampling(options))
            try:
                for chunk in chunks:
                    if stop.is_set():
                        break
                    piece = _completion_text(chunk)
                    if piece:
                        yield piece
            finally:
                chunks.close()  # ends the native generation before the lock is released


def _with_examples(messages: list[Message]) -> list[Message]:
    system = [m for m in messages if m.role == "system"]
    return [*system, *chat_examples(), *(m for m in messages if m.role != "system")]


def _completion_text(chunk: dict[str, Any]) -> str:
    return str(chunk["choices"][0].get("text") or "")


def _chat_template(llm: Any, meta: dict[str, str]) -> Any:
    """The model's chat template (from its GGUF), applied by us rather than inside the binding's
    chat call: the prompt must be cut after the user's words for a prefill, and tokenised the
    same way when the reply comes."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = meta.get("tokenizer.chat_template")
    if not template:
        raise ModelError("this GGUF has no chat template", "use it as a base model (few-shot)")

    def text(token: int) -> str:
        return "" if token < 0 else llm.detokenize([token], special=True).decode("utf-8", "ignore")

    return Jinja2ChatFormatter(template, eos_token=text(llm.token_eos()),
                               bos_token=text(llm.token_bos()))
