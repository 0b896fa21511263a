"""Silero VAD (the ONNX model inside the silero-vad wheel), run with onnxruntime and numpy.

The model takes 512-sample chunks at 16 kHz (32 ms) with the previous chunk's last 64 samples
as context and carries a recurrent state between calls.
"""

from __future__ import annotations

import numpy as np

from companion import models
from companion.cpu import budget, onnx_options

CHUNK = 512
CONTEXT = 64
RATE = 16000


class SileroVAD:
    def __init__(self) -> None:
        import onnxruntime

        root = models.require("silero-vad")
        self._session = onnxruntime.InferenceSession(
            str(root / "data" / "silero_vad.onnx"), sess_options=onnx_options(budget().small),
            providers=["CPUExecutionProvider"])
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros((1, CONTEXT), np.float32)

    def __call__(self, chunk: np.ndarray) -> float:
        """Speech probability of one 32 ms chunk (512 samples, 16 kHz, float32 in [-1, 1])."""
        if chunk.shape != (CHUNK,):
            raise ValueError(f"VAD chunks are {CHUNK} samples at {RATE} Hz")
        x = np.concatenate([self._context, chunk.astype(np.float32)[None, :]], axis=1)
        out, state = self._session.run(None, {"input": x, "state": self._state,
                                              "sr": np.array(RATE, np.int64)})
        self._state = state
        self._context = x[:, -CONTEXT:]
        return float(out.reshape(-1)[0])
