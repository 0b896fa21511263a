"""Speech recognition backends by name, on real speech."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.audio.io import decode_audio
from companion.errors import InputError, ModelError
from companion.stt import make_stt


@pytest.mark.parametrize("name", ["faster-whisper:tiny.en", "faster-whisper:base"])
def test_whisper_by_name_transcribes_real_speech(name: str, data: Path) -> None:
    words = make_stt(name).words(decode_audio(data / "jfk.flac", 16000))
    text = " ".join(w.text for w in words).lower()
    for word in ("fellow", "americans", "country"):
        assert word in text, text
    assert all(0 <= w.start <= w.end <= 11.5 for w in words)


def test_openai_whisper_needs_its_package_or_checkpoint(tmp_path: Path, data: Path) -> None:
    import importlib.util

    stt = make_stt(f"openai-whisper:{tmp_path / 'missing.pt'}")
    # without the package: it says which one; with it but no file: it says which file
    want = ("pip install openai-whisper" if importlib.util.find_spec("whisper") is None
            else "checkpoint not found")
    with pytest.raises(ModelError, match=want):
        stt.words(decode_audio(data / "jfk.flac", 16000))


def test_unknown_stt() -> None:
    with pytest.raises(InputError):
        make_stt("kaldi:foo")


def test_turn_transcripts_through_the_short_encoder_match_the_full_path(data: Path) -> None:
    """The conversation's fast path (a shortened Whisper encoder, no word times) hears real
    turns as the full 30-s path does."""
    from companion.bench.browser import speech_turns
    from companion.frames import AudioFrame

    stt = make_stt("faster-whisper:tiny.en")
    shared = total = 0
    for clip in speech_turns(data, 6):
        audio = AudioFrame(samples=clip, sample_rate=16000)
        fast = set(stt.text(audio).lower().replace(",", "").replace(".", "").split())
        full = set(" ".join(w.text for w in stt.words(audio)).lower().replace(",", "")
                   .replace(".", "").split())
        # a turn at a decision boundary may come out differently (on an AMD EPYC the full path
        # heard "and so am i fell america" where the fast one heard "and so my fellow
        # america"), so each turn must mostly agree and all of them together closely
        assert len(fast & full) >= 0.4 * len(full), (fast, full)
        shared, total = shared + len(fast & full), total + len(full)
    assert shared >= 0.8 * total, (shared, total)


def test_long_turns_are_heard_whole_in_pieces(data: Path) -> None:
    """A 25-s monologue and a 39-s one (real recordings end to end) keep every part's words on
    the fast path; past 28 s the turn is cut where it is quietest."""
    import numpy as np

    from companion.frames import AudioFrame
    from companion.stt.whisper import PIECE_S, pieces

    jfk = decode_audio(data / "jfk.flac", 16000).samples
    libri = decode_audio(data / "en_librispeech_198-209-0000_female.ogg", 16000).samples
    stt = make_stt("faster-whisper:tiny.en")
    for parts in ((jfk, libri), (jfk, libri, jfk)):
        audio = np.concatenate(parts)
        cut = pieces(audio)
        assert np.array_equal(np.concatenate(cut), audio)
        assert all(len(p) <= PIECE_S * 16000 for p in cut)
        assert len(cut) == (1 if len(audio) <= PIECE_S * 16000 else 2)
        text = stt.text(AudioFrame(samples=audio, sample_rate=16000)).lower()
        for words in ("ask not what your country", "explained everything", "white gown"):
            assert words in text, text
        jfks = sum(p is jfk for p in parts)
        assert text.count("your country") == 2 * jfks, text  # "ask not what your country…"


def test_a_conversation_sees_when_others_are_being_recognised() -> None:
    """Guesses (speculative transcripts, hearing ahead) are skipped while another conversation's
    recognition runs on the shared recogniser — never because of the conversation's own."""
    import threading

    import numpy as np

    from companion.frames import AudioFrame, Word
    from tests.fakes import ScriptedSTT

    release = threading.Event()

    class Held(ScriptedSTT):
        def _words(self, audio: AudioFrame) -> list[Word]:
            release.wait(5)
            return super()._words(audio)

    stt = Held(["hello there"])
    me, other = object(), object()
    audio = AudioFrame(samples=np.zeros(1600, np.float32), sample_rate=16000)
    worker = threading.Thread(target=stt.text, args=(audio, other))
    worker.start()
    for _ in range(200):
        if stt.others_busy(me):
            break
        threading.Event().wait(0.01)
    assert stt.others_busy(me) and not stt.others_busy(other)
    release.set()
    worker.join(5)
    assert not stt.others_busy(me)
