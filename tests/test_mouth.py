"""The mouth makes the shapes of the sounds, judged on landmarks re-detected in rendered frames
(companion/bench/mouth.py): lips meet on /m b p/, round on /u o w ʃ/, part wide on open vowels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from companion.bench.mouth import (
    function_word_phones,
    measure,
    phone_class,
    score_phones,
    window,
)
from companion.face import engine
from companion.face.image import load_image
from companion.face.rig import Rig, build_rig
from companion.frames import Phoneme
from companion.tts import make_tts
from tests.conftest import recorded_consent

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
    r = score_phones(speech.phonemes, track, rest, opts.fps)
    counts = r["counts"]
    assert min(counts["bilabial"], counts["rounded"], counts["open"]) >= 4, counts
    assert r["bilabials_closed"] >= 0.9, r
    assert r["rounded_narrowed"] >= 0.8, r
    assert r["open_vowels_opened"] >= 0.8, r
    # and it does not gape: the widest opening stays a human one
    assert r["opening_p50_p90_max"][2] < 0.6, r


def test_lips_apart_in_the_photo_still_meet_on_bilabials(data: Path) -> None:
    """obama.jpg smiles with his teeth showing: the jaw's zero is that open mouth, so the
    lips must be sealed by their own shape (deform: seal) to say /m b p/."""
    img = load_image(data / "obama.jpg")
    rig = build_rig(img, recorded_consent(img))
    speech = engine.speech_from_segment(make_tts("piper").synthesize("Bob, Mum and Pam."))
    opts = engine.RenderOptions(label=False)
    rest = measure(list(engine.frames(rig, engine.plan(None, 1.0, opts), opts)))
    track = measure(list(engine.frames(rig, engine.plan(speech, speech.duration, opts), opts)))
    at_rest = float(np.nanmedian(rest.opening))
    closures = [float(np.nanmin(track.opening[window(ph, opts.fps, len(track.opening))]))
                for ph in speech.phonemes if ph.symbol in ("m", "b", "p")]
    assert at_rest > 0.15  # the photo's mouth really is open
    assert len(closures) >= 5
    assert np.median(closures) < 0.3 * at_rest, (at_rest, closures)


def test_the_tongue_tip_rises_for_l_t_d_n(mona: Rig) -> None:
    """The painted tongue, not a warp: with the jaw open, `tongue` = 1 moves the tongue's
    pixels up toward the upper teeth. The phones set it: /l/ raises it, /ɑ/ leaves it low."""
    from companion.face.params import INDEX, NAMES
    from companion.face.render import CpuRenderer
    from companion.face.visemes import mouth_curves

    render = CpuRenderer(mona)

    def frame(up: float) -> np.ndarray:
        p = np.zeros(len(NAMES), np.float32)
        p[INDEX["jaw"]] = 0.7
        p[INDEX["tongue"]] = up
        return render.render(p).astype(np.int32).sum(axis=2)

    low, high = frame(0.0), frame(1.0)
    lit = high > low + 30  # where the raised tongue now covers the dark cavity
    left = high < low - 30  # where it used to lie
    assert lit.sum() > 50 and left.sum() > 10
    assert np.nonzero(lit)[0].mean() < np.nonzero(left)[0].mean() - 0.05 * mona.iod
    phones = [Phoneme("ɑ", 0.0, 0.2), Phoneme("l", 0.2, 0.3), Phoneme("ɑ", 0.3, 0.5)]
    m = mouth_curves(phones, np.array([0.1, 0.25]), lead=0.0)
    assert m[1, 4] > 0.6 and m[0, 4] < 0.3


def test_the_mouths_inside_takes_the_portraits_texture(data: Path) -> None:
    """A painting's mouth is painted and a photo's photographic: the painted interior carries
    the cheeks' own grain (within a factor of two; before, the Mona Lisa's and the photo's
    read 0.15-0.2 of it); a flat-shaded drawing's is flat fills, like the drawing."""
    from companion.avatars import resolve
    from companion.bench.mouth import interior_texture

    img = load_image(data / "biden.jpg")
    rigs = {"photo": build_rig(img, recorded_consent(img))}
    for name in ("mona-lisa", "difficult-lesson", "toonhead"):
        a = resolve(name)
        rigs[name] = build_rig(a.image, a.consent)
    for name, rig in rigs.items():
        t = interior_texture(rig)
        if name == "toonhead":
            assert t["cheeks"] < 0.1 and t["mouth_inside"] < 0.1, t
        else:
            assert 0.5 * t["cheeks"] - 0.2 <= t["mouth_inside"] <= 2 * t["cheeks"] + 0.2, (name, t)


def test_the_lower_lip_tucks_under_the_upper_teeth_on_f_v() -> None:
    """/f v/: the upper teeth show resting on the lower lip, and less of the lip shows below
    their edge than at rest — read from the pixels down the middle of the mouth, as `bench
    mouth` does. Teeth seen between parted lips (all /f v/ showed before `bite`) read 0 %."""
    from companion.avatars import resolve
    from companion.face.visemes import MOUTH_COLUMNS, mouth_curves

    phones = [Phoneme("ɑ", 0.0, 0.2), Phoneme("f", 0.2, 0.3), Phoneme("ɑ", 0.3, 0.5)]
    m = mouth_curves(phones, np.array([0.1, 0.25]), lead=0.0)
    bite = MOUTH_COLUMNS.index("bite")
    assert m[1, bite] > 0.8 and m[0, bite] < 0.2
    speech = engine.speech_from_segment(make_tts("piper").synthesize(
        "Five of us have a very fine view of the valley."))
    opts = engine.RenderOptions(label=False)
    for name in ("difficult-lesson", "toonhead"):  # a painting and a flat drawing
        a = resolve(name)
        rig = build_rig(a.image, a.consent)
        rest = measure(list(engine.frames(rig, engine.plan(None, 1.0, opts), opts)))
        track = measure(list(engine.frames(rig, engine.plan(speech, speech.duration, opts),
                                           opts)))
        r = score_phones(speech.phonemes, track, rest, opts.fps)
        assert r["counts"]["labiodental"] >= 5, r
        assert r["labiodental_tucked"] >= 0.8, (name, r)
