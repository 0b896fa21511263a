from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from companion.audio.features import analyse
from companion.audio.io import decode_audio, resample
from companion.errors import InputError
from companion.face import align
from companion.frames import AudioFrame, Word


@pytest.mark.parametrize("name,seconds", [("jfk.flac", 11.0),
                                          ("en_librispeech_198-209-0000_female.ogg", 13.9),
                                          ("en_vctk_p240_00000_female.mp3", 5.0)])
def test_decode_any_format(data: Path, name: str, seconds: float) -> None:
    a = decode_audio(data / name, 16000)
    assert a.sample_rate == 16000
    assert abs(a.duration - seconds) < 0.6
    assert np.abs(a.samples).max() > 0.05


def test_too_long_audio_is_refused(data: Path) -> None:
    with pytest.raises(InputError, match="longer than"):
        decode_audio(data / "jfk.flac", 16000, max_seconds=5)


def test_resample_keeps_duration() -> None:
    a = AudioFrame(samples=np.sin(np.arange(22050) / 10).astype(np.float32), sample_rate=22050)
    b = resample(a, 48000)
    assert b.sample_rate == 48000 and abs(b.duration - 1.0) < 1e-3


def test_features_find_speech_and_silence(data: Path) -> None:
    a = decode_audio(data / "jfk.flac", 16000)
    f = analyse(a)
    assert 0.3 < f.voiced.mean() < 0.9
    silent = analyse(AudioFrame(samples=np.zeros(16000, np.float32), sample_rate=16000))
    assert not silent.voiced.any()
    assert (f.f0[f.voiced] > 0).mean() > 0.3  # pitch found on much of the speech
    voiced_f0 = f.f0[f.f0 > 0]
    assert voiced_f0.min() >= 60 and voiced_f0.max() <= 400
    assert voiced_f0.std() > 10  # intonation moves: there is prosody to follow


def test_misplaced_word_stamps_are_snapped_to_the_voice(data: Path) -> None:
    """A word stamped across a pause (as tiny.en does) is moved onto the speech it covers."""
    a = decode_audio(data / "jfk.flac", 16000)
    f = analyse(a)
    first_voice = float(np.flatnonzero(f.voiced)[0] * f.hop)
    phones = align.from_words([Word("And", 0.0, first_voice + 0.25)], f)
    assert phones and phones[0].start >= first_voice - 0.05


def test_hallucinated_words_in_silence_are_dropped() -> None:
    silent = analyse(AudioFrame(samples=np.zeros(32000, np.float32), sample_rate=16000))
    assert align.from_words([Word("you", 0.2, 0.6)], silent) == []


def test_pronunciations() -> None:
    assert [p for p, _ in align.pronounce("Bob")] == ["b", "ɑ", "b"]
    assert align.pronounce("zxqwv")  # unknown words still get phones from their spelling
