"""Hugging Face transformers backend: a local model directory, an HF id (already in the local
cache; nothing is downloaded unless COMPANION_ALLOW_DOWNLOAD=1), or a GGUF file.

A GGUF file is de-quantised by transformers once (about a minute for 270M parameters) and saved
as a safetensors copy in the cache, so later loads take a fraction of a second.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from companion.cache import model_cache
from companion.errors import ModelError
from companion.frames import Message
from companion.llm.base import LLM, LLMOptions
from companion.llm.transcript import TRANSCRIPT_STOPS, transcript_prefix, transcript_prompt


def llm_cache_dir() -> Path:
    return model_cache("llm")


def _file_key(path: Path) -> str:
    st = path.stat()
    return hashlib.sha256(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()
                          ).hexdigest()[:16]


class TransformersLLM(LLM):
    name = "transformers"
    serial = True  # one reply at a time: the others wait their turn

    def __init__(self, source: str, few_shot: bool | None = None, threads: int = 2,
                 allow_download: bool = False) -> None:
        if not source:
            raise ModelError("transformers backend needs a model directory, HF id or .gguf file")
        self.source = source
        self.model = Path(source).name
        self.few_shot = few_shot
        self.threads = threads
        self.allow_download = allow_download  # an HF id may be fetched from the hub
        self._tok: Any = None
        self._model: Any = None
        self._prefix_cache: tuple[str, Any, Any] | None = None
        self.prefix_caching = True
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            torch.set_num_threads(self.threads)
            local_only = not self.allow_download
            src = Path(self.source)
            if src.suffix == ".gguf":
                if not src.is_file():
                    raise ModelError(f"GGUF file not found: {src}")
                cached = llm_cache_dir() / f"{src.stem}-{_file_key(src)}"
                if not (cached / "config.json").is_file():
                    self._convert(src, cached)
                where = str(cached)
            else:
                where = self.source
            try:
                self._tok = AutoTokenizer.from_pretrained(where, local_files_only=local_only)
                self._model = AutoModelForCausalLM.from_pretrained(
                    where, local_files_only=local_only, dtype=torch.float32)
            except OSError as e:
                raise ModelError(f"cannot load model {self.source}: {e}",
                                 "give a local directory or a .gguf file (offline), or set "
                                 "COMPANION_ALLOW_DOWNLOAD=1 where a model hub is reachable") from e
            self._model.eval()
            if self.few_shot is None:
                self.few_shot = not getattr(self._tok, "chat_template", None)

    @staticmethod
    def _convert(gguf: Path, target: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # The de-quantised weights are plain tensors; the GGUF quantiser object that remains on
        # the model cannot be serialised and is not needed by the copy.
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = target.with_name(target.name + ".tmp")
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        tmp.rename(target)

    def prefix(self, messages: list[Message], speaker: str) -> str:
        """The part of the prompt that does not change between turns (persona, examples)."""
        system = [m for m in messages if m.role == "system"]
        if not self.few_shot:
            return str(self._tok.apply_chat_template(
                [{"role": m.role, "content": m.content} for m in system], tokenize=False,
                add_generation_prompt=False))
        return transcript_prefix(messages, speaker)

    def _prefill(self, prefix: str, ids: Any) -> Any:
        """A copy of the key/value cache for `prefix` when `ids` starts with it, else None.

        Persona and examples are ~200 tokens that every turn repeats; computing them once
        takes most of the prompt time off the first token."""
        import copy

        import torch
        from transformers import DynamicCache

        pre = self._prefix_cache
        if pre is None or pre[0] != prefix:
            pre_ids = self._tok(prefix, return_tensors="pt")["input_ids"]
            cache = DynamicCache(config=self._model.config)
            with torch.inference_mode():
                self._model(input_ids=pre_ids, past_key_values=cache, use_cache=True)
            self._prefix_cache = pre = (prefix, pre_ids, cache)
        pre_ids = pre[1]
        n = pre_ids.shape[1]
        if ids.shape[1] <= n or not torch.equal(ids[0, :n], pre_ids[0]):
            return None  # tokenisation at the seam differs: no reuse, still correct
        return copy.deepcopy(pre[2])

    def prompt(self, messages: list[Message], speaker: str = "Companion") -> str:
        if not self.few_shot:
            return str(self._tok.apply_chat_template(
                [{"role": m.role, "content": m.content} for m in messages],
                tokenize=False, add_generation_prompt=True))
        return transcript_prompt(messages, speaker)

    def _generate(self, messages: list[Message], options: LLMOptions,
                  stop: threading.Event) -> Iterator[str]:
        self.load()
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class Stop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop.is_set()

        text = self.prompt(messages, options.speaker)
        inputs = self._tok(text, return_tensors="pt")
        streamer = TextIteratorStreamer(self._tok, skip_prompt=True, skip_special_tokens=True)
        cache = None
        if self.prefix_caching:
            try:
                cache = self._prefill(self.prefix(messages, options.speaker), inputs["input_ids"])
            except Exception:  # a model whose cache cannot be reused just runs without it
                self.prefix_caching = False
        kwargs: dict[str, Any] = {
            **inputs, "max_new_tokens": options.max_tokens, "streamer": streamer,
            **({"past_key_values": cache} if cache is not None else {}),
            "stopping_criteria": StoppingCriteriaList([Stop()]),
            "do_sample": options.temperature > 0, "repetition_penalty": 1.15,
            "pad_token_id": self._tok.pad_token_id or self._tok.eos_token_id}
        if options.temperature > 0:
            kwargs.update(temperature=options.temperature, top_p=0.9)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    self._model.generate(**kwargs)
            except BaseException as e:  # surfaced to the caller below
                errors.append(e)
                streamer.end()

        worker = threading.Thread(target=run, daemon=True, name="llm-generate")
        worker.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            # Also when the consumer stops early (stop strings, barge-in): the generation ends
            # at its next token, and this thread waits for it so none outlives its caller.
            stop.set()
            worker.join(timeout=60)
        if errors:
            raise errors[0]

    def options_for_transcript(self, options: LLMOptions) -> LLMOptions:
        """Stop strings a transcript-style prompt needs (the model would go on as the user)."""
        if not self.few_shot:
            return options
        from dataclasses import replace

        return replace(options, stop=(*options.stop, *TRANSCRIPT_STOPS))
