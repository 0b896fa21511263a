"""openai-whisper backend, for users who have a Whisper checkpoint (.pt) on disk.

Nothing is downloaded: the checkpoint path is required and loaded with `whisper.load_model`."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from companion.errors import ModelError
from companion.frames import AudioFrame, Word
from companion.stt.base import STT


class OpenAIWhisperSTT(STT):
    name = "openai-whisper"

    def __init__(self, checkpoint: str) -> None:
        self.checkpoint = Path(checkpoint)
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    import whisper
                except ImportError:
                    raise ModelError("the openai-whisper backend needs its package",
                                     "pip install openai-whisper") from None
                if not self.checkpoint.is_file():
                    raise ModelError(f"Whisper checkpoint not found: {self.checkpoint}",
                                     "give the path of a downloaded .pt checkpoint")
                self._model = whisper.load_model(str(self.checkpoint), device="cpu")
            return self._model

    def _words(self, audio: AudioFrame) -> list[Word]:
        result = self.load().transcribe(audio.samples, word_timestamps=True, fp16=False)
        return [Word(str(w["word"]).strip(), float(w["start"]), float(w["end"]),
                     float(w.get("probability", 1.0)))
                for seg in result.get("segments", []) for w in seg.get("words", [])]
