"""Smart Turn v3.2: is the user's turn finished, or only a pause? (pipecat's BSD-2 ONNX model)

The model reads the last 8 s of the turn as Whisper-style log-mel features (80 bins, 10 ms hop)
and returns the probability that the speaker has finished — from intonation and rhythm, not
words: "I'd like a coffee." ends the turn after a short silence, "I was thinking that…" does not.
~12 ms per call on one core with VNNI (Intel, AVX-512), ~120 ms on an AVX2-only EPYC core. The
file ships inside the `pipecat-ai` wheel, installed with --no-deps (its runtime pins
protobuf ≥ 5, which MediaPipe cannot use); pipecat is never imported.
"""

from __future__ import annotations

import numpy as np

from companion import models
from companion.cpu import budget, has_int8_dot, onnx_options

RATE = 16000
WINDOW_S = 8


class SmartTurn:
    """Callable: 16 kHz mono float audio of the turn so far → P(turn is complete)."""

    def __init__(self, threads: int | None = None) -> None:
        import onnxruntime
        from faster_whisper.feature_extractor import FeatureExtractor

        path = models.require("smart-turn-v3.2") / models.spec("smart-turn-v3.2").files[0].relpath
        opts = onnx_options(threads or budget().small)
        if not has_int8_dot():
            # the int8 weights are dequantised and multiplied in float (cpu.has_int8_dot: the
            # fused int8 kernels saturate on such CPUs); ~25 % slower, the same answers
            opts.add_session_config_entry("session.disable_quant_qdq", "1")
        self._session = onnxruntime.InferenceSession(str(path), sess_options=opts,
                                                     providers=["CPUExecutionProvider"])
        self._features = FeatureExtractor(feature_size=80, sampling_rate=RATE, hop_length=160,
                                          chunk_length=WINDOW_S, n_fft=400)

    def features(self, audio: np.ndarray) -> np.ndarray:
        """(1, 80, 800) log-mel of the last 8 s, zero-padded at the start when shorter."""
        n = WINDOW_S * RATE
        x = np.asarray(audio, np.float32)[-n:]
        x = np.concatenate([np.zeros(n - len(x), np.float32), x])
        # Whisper's extractor normalises the waveform to zero mean and unit variance first.
        x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
        mel = self._features(x, padding=0)[:, : n // 160]
        return mel[None].astype(np.float32)

    def __call__(self, audio: np.ndarray) -> float:
        out = self._session.run(None, {"input_features": self.features(audio)})
        return float(np.asarray(out[0]).reshape(-1)[0])
