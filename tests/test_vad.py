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


def _turn_ends(samples: np.ndarray) -> tuple[list[TurnEvent], float]:
    """Events with Smart Turn deciding, and when the voice last sounded (VAD ≥ 0.5)."""
    from companion.vad.smart_turn import SmartTurn

    vad, det = SileroVAD(), TurnDetector(TurnConfig(), end_of_turn=SmartTurn())
    events: list[TurnEvent] = []
    last_voice = 0.0
    for i in range(0, len(samples) - 511, 512):
        chunk = samples[i:i + 512]
        p = vad(chunk)
        if p >= 0.5:
            last_voice = (i + 512) / 16000
        events += det.push(chunk, p)
    return events, last_voice


def test_a_finished_sentence_ends_the_turn_quickly(data: Path) -> None:
    for name in ("en_librispeech_198-209-0000_female.ogg", "en_vctk_p240_00000_female.mp3"):
        speech = decode_audio(data / name, 16000).samples
        audio = np.concatenate([np.zeros(8000, np.float32), speech,
                                np.zeros(3 * 16000, np.float32)])
        events, last_voice = _turn_ends(audio)
        ends = [e for e in events if e.kind == "end"]
        assert ends, name
        end = ends[-1]
        assert end.p_complete is not None and end.p_complete >= 0.5, (name, end.p_complete)
        # ended on the model's word after ~200 ms of silence, not after the 1.6 s fallback
        assert end.time - last_voice < 0.6, (name, end.time, last_voice)


def test_a_sentence_broken_off_waits_for_more(data: Path) -> None:
    speech = decode_audio(data / "en_librispeech_198-209-0000_female.ogg", 16000).samples
    cut = speech[: int(len(speech) * 0.55)]  # stopped mid-sentence
    audio = np.concatenate([np.zeros(8000, np.float32), cut, np.zeros(3 * 16000, np.float32)])
    events, last_voice = _turn_ends(audio)
    end = [e for e in events if e.kind == "end"][-1]
    assert end.p_complete is not None and end.p_complete < 0.5
    assert end.time - last_voice >= 1.4  # it waited for the unfinished turn to go on


def test_push_to_talk_release_ends_the_turn_at_once() -> None:
    det = TurnDetector(TurnConfig(min_speech_ms=96, silence_ms=600))
    loud = np.full(512, 0.1, np.float32)
    events = [e for _ in range(10) for e in det.push(loud, 0.9)]
    assert [e.kind for e in events] == ["start"]
    (end,) = det.end_now()  # no silence needed
    assert end.kind == "end" and end.audio is not None and len(end.audio) >= 10 * 512
    assert not det.in_turn and det.end_now() == []


def test_the_turn_so_far_is_handed_over_while_the_user_speaks(data: Path) -> None:
    speech = decode_audio(data / "en_librispeech_198-209-0000_female.ogg", 16000).samples
    audio = np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(16000, np.float32)])
    events = _run(audio, TurnConfig(partial_ms=1000))
    kinds = [e.kind for e in events]
    first = events[: kinds.index("end") + 1]  # the first turn (the clip has a few)
    partial = [e for e in first if e.kind == "partial"]
    assert len(partial) >= 2, kinds  # one about every second of speech
    assert kinds.index("partial") > kinds.index("start")
    lengths = [len(e.audio) for e in partial if e.audio is not None]
    assert lengths == sorted(lengths) and len(set(lengths)) == len(lengths)  # each holds more
    assert first[-1].audio is not None and lengths[-1] < len(first[-1].audio)
    assert not any(e.kind == "partial" for e in _run(audio, TurnConfig(partial_ms=0)))
