"""The mouth makes the shapes of the sounds, judged on landmarks re-detected in rendered frames
(companion/bench/mouth.py): lips meet on /m b p/, round on /u o w ʃ/, part wide on open vowels."""

from __future__ import annotations

import numpy as np

from companion.bench.mouth import function_word_phones, measure, phone_class, score_phones
from companion.face import engine
from companion.face.rig import Rig
from companion.frames import Phoneme
from companion.tts import make_tts

SENTENCE = "Mum put a warm blue scarf on Bob, then we walked home past the park."


def test_function_words_are_found_by_their_phone_runs() -> None:
    phones = tuple(Phoneme(s, 0.1 * i, 0.1 * i + 0.1) for i, s in enumerate(
        [" ", "w", "ʌ", "z", " ", "k", "ʌ", "p", " ", "ʌ", "v", " "]))
    assert function_word_phones(phones) == {1, 2, 3, 9, 10}  # "was", "of"; not "cup"


def test_phone_classes_drop_length_and_stress_marks() -> None:
    assert phone_class("ˈɑː") == "ɑ"
    assert phone_class("aɪ") == "a"
    assert phone_class("tʃ") == "tʃ"
    assert phone_class("oʊ") == "o"


def test_the_mouth_closes_rounds_and_opens_with_the_phones(mona: Rig) -> None:
    speech = engine.speech_from_segment(make_tts("piper").synthesize(SENTENCE))
    opts = engine.RenderOptions(label=False)
    rest = measure(list(engine.frames(mona, engine.plan(None, 1.0, opts), opts)))
    track = measure(list(engine.frames(mona, engine.plan(speech, speech.duration, opts), opts)))
    r = score_phones(speech.phonemes, track, float(np.nanmedian(rest.width)), opts.fps)
    counts = r["counts"]
    assert min(counts["bilabial"], counts["rounded"], counts["open"]) >= 4, counts
    assert r["bilabials_closed"] >= 0.9, r
    assert r["rounded_narrowed"] >= 0.8, r
    assert r["open_vowels_opened"] >= 0.8, r
    # and it does not gape: the widest opening stays a human one
    assert r["opening_p50_p90_max"][2] < 0.6, r
