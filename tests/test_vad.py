"""VAD and turn taking on real speech (silero, 32 ms chunks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from companion.audio.io import decode_audio
from companion.vad import SileroVAD, TurnConfig, TurnDetector, TurnEvent


def _run(samples: np.ndarray, cfg: TurnConfig | None = None) -> list[TurnEvent]:
    vad, det = SileroVAD(), TurnDetector(cfg)
    events: list[TurnEvent] = []
    for i in range(0, len(samples) - 511, 512):
        chunk = samples[i:i + 512]
        events += det.push(chunk, vad(chunk))
    return events


def test_silero_separates_speech_from_silence(data: Path) -> None:
    speech = decode_audio(data / "jfk.flac", 16000).samples
    vad = SileroVAD()
    probs = [vad(speech[i:i + 512]) for i in range(0, len(speech) - 511, 512)]
    assert max(probs) > 0.9
    vad.reset()
    assert vad(np.zeros(512, np.float32)) < 0.1


def test_turns_in_real_speech(data: Path) -> None:
    speech = decode_audio(data / "jfk.flac", 16000).samples
    audio = np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(16000, np.float32)])
    events = _run(audio)
    kinds = [e.kind for e in events]
    starts = [e for e in events if e.kind == "start"]
    ends = [e for e in events if e.kind == "end"]
    assert starts and len(starts) == len(ends)
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert 0.5 <= starts[0].time <= 1.2  # speech begins ~0.36 s into the clip, +0.5 s lead
    total = sum(len(e.audio) for e in ends if e.audio is not None) / 16000
    assert 6.0 < total < 12.0  # the turns hold the speech, not the silences around it
    # a pause before each end: the recogniser could start early
    assert kinds.count("pause") >= len(ends)


def test_short_noise_is_not_a_turn(data: Path) -> None:
    rng = np.random.default_rng(0)
    silence = np.zeros(16000, np.float32)
    burst = (0.3 * rng.standard_normal(int(0.15 * 16000))).astype(np.float32)
    assert _run(np.concatenate([silence, burst, silence])) == []
    speech = decode_audio(data / "jfk.flac", 16000).samples
    first_voice = int(0.4 * 16000)
    mm = speech[first_voice: first_voice + int(0.2 * 16000)]  # 200 ms of voice: an "mm-hm"
    assert not any(e.kind == "start" for e in _run(np.concatenate([silence, mm, silence])))
