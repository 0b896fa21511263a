"""`companion bench mouth`: does the mouth make the shapes of the sounds? Measured on landmarks
re-detected in rendered frames, never on the motion parameters.

Each avatar says the same text with piper's phone timings. For every phone of a class, the
frames over its interval are read: a bilabial (/p b m/) counts as closed when the inner lips
meet (opening ≤ CLOSED_IOD), a rounded phone (/u o w ʃ ʒ tʃ dʒ ʊ/) as rounded when the mouth is
≥ 10 % narrower than at rest, an open vowel (/a ɑ æ ɒ ʌ/) as open when the lips part
≥ OPEN_IOD inter-ocular distances, an /f v/ as tucked when the upper teeth show resting on the
lower lip (read from the pixels down the middle of the mouth). With the opening's range, the
lip-sync r of `bench quality` and a contact sheet of mouth crops per viseme
(docs/mouth-sheet.png) so a person can judge the look. Results → mouth.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from companion.avatars import resolve
from companion.bench import quality as Q
from companion.face import engine
from companion.face import topology as T
from companion.face.rig import Rig, build_rig
from companion.face.visemes import LEAD_S, is_pause
from companion.frames import Phoneme

AVATARS = ("mona-lisa", "difficult-lesson", "toonhead")
# Not the text the viseme table was tuned on: ordinary sentences with every class in them.
TEXT = ("Bob moved the blue boat to the harbour, but the water was far too shallow. "
        "Would you pass me a warm cup of soup? Father thought the lamp was on the car. "
        "She should choose the pool by the old mill, it is much cooler there. "
        "My aunt laughed as the dark cars parked by the calm lake; what a marvellous job.")
CLOSED_IOD = 0.03
OPEN_IOD = 0.15
NARROWER = 0.9
# a phone's frames start this early: the lips lead the sound (visemes.LEAD_S), plus a margin
WINDOW_LEAD_S = LEAD_S + 0.01
BILABIAL = {"p", "b", "m"}
ROUNDED = {"u", "o", "w", "ʃ", "ʒ", "tʃ", "dʒ", "ʊ"}
OPEN = {"a", "ɑ", "æ", "ɒ", "ʌ"}
LABIODENTAL = {"f", "v"}
# /f v/ is read from the pixels down the middle of the mouth (MediaPipe refits a lip under the
# teeth as a whole lip, so its landmarks do not show the tuck): the upper teeth show — a band
# at least TEETH_IOD tall, brighter than any row of the lips at rest — with no cavity (darker
# than CAVITY × the lips' median) within EDGE_IOD below them, and less of the lower lip shows
# below their edge than TUCKED × its height at rest. Teeth seen through parted lips pass the
# first two and fail the last.
STEP_IOD = 0.005
TEETH_IOD = 0.02
EDGE_IOD = 0.03
CAVITY = 0.6
TUCKED = 0.85
SHEET_CLASSES: tuple[tuple[str, set[str]], ...] = (
    ("rest", set()), ("m b p", BILABIAL), ("f v", {"f", "v"}), ("a", OPEN),
    ("i e s", {"i", "e", "ɛ", "s", "z", "ɪ"}), ("u o w", {"u", "o", "w", "ʊ"}),
    ("sh ch", {"ʃ", "ʒ", "tʃ", "dʒ"}), ("l t d n", {"l", "t", "d", "n"}))
LIP_RING = list(T.OUTER_UPPER + T.OUTER_LOWER)
# Function words that espeak writes with an open vowel, as piper's phone runs spell them: in
# running speech they are reduced to a schwa ("was" [wəz], "of" [əv], "but" [bət]), so their
# vowels are reported apart from the open vowels of content words.
FUNCTION_RUNS = frozenset(("wʌz", "ʌv", "bʌt", "fɹʌm", "ʌs", "æt", "ænd", "æz", "kæn", "ðæt",
                           "ðæn", "hæz", "hæd", "mʌst", "dʒʌst", "ʌp", "wʌn"))


def phone_class(symbol: str) -> str:
    """A piper/espeak symbol without length and stress marks; diphthongs by their start."""
    s = symbol.replace("ː", "").replace("ˈ", "").replace("ˌ", "")
    if s in ("tʃ", "dʒ"):
        return s
    return s[:1]


@dataclass(frozen=True)
class Column:
    """Luma down the middle of the mouth (mean over the middle fifth of its width), STEP_IOD
    apart, from the top of the upper lip (landmark 0) to EDGE_IOD below the bottom of the lower
    lip (17)."""

    luma: np.ndarray
    lips: int  # the steps between landmarks 0 and 17
    lower_lip: float  # the re-detected lower lip's height (14 to 17) / inter-ocular distance


@dataclass(frozen=True)
class MouthTrack:
    opening: np.ndarray  # inner-lip gap / inter-ocular distance, per frame
    width: np.ndarray  # corner-to-corner / inter-ocular distance, per frame
    column: list[Column | None]  # None where no face was found


def measure(frames: list[np.ndarray]) -> MouthTrack:
    tr = Q.track(frames)
    width = np.linalg.norm(tr.shapes[:, 61] - tr.shapes[:, 291], axis=1)  # already in IODs
    return MouthTrack(tr.aperture, width,
                      [mouth_column(img, lm) for img, lm in zip(frames, tr.points, strict=True)])


def mouth_column(img: np.ndarray, lm: np.ndarray) -> Column | None:
    """The Column of one frame from its re-detected landmarks `lm` (in pixels); None when
    no face was found in it."""
    if np.isnan(lm).any():
        return None
    iod = Q.inter_ocular(lm)
    x = 0.5 * (lm[13, 0] + lm[14, 0])
    half = max(1.0, 0.1 * float(np.linalg.norm(lm[61] - lm[291])))
    x0, x1 = max(0, round(x - half)), min(img.shape[1], round(x + half) + 1)
    rows = img[:, x0:x1].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    luma = rows.mean(axis=1)
    top, bottom = float(lm[0, 1]), float(lm[17, 1])
    ys = np.arange(top, bottom + EDGE_IOD * iod, STEP_IOD * iod)
    return Column(np.interp(ys, np.arange(len(luma)), luma), int(np.sum(ys <= bottom)),
                  (bottom - float(lm[14, 1])) / iod)


def teeth_on_lip(col: Column, rest_max: float, rest_median: float, rest_lower: float) -> bool:
    """Do the upper teeth show, resting on a lower lip tucked under them (/f v/)?"""
    bright = col.luma[:col.lips] > rest_max + 4.0
    if not bright.any():
        return False
    runs = np.diff(np.concatenate([[0], bright.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(runs == 1), np.flatnonzero(runs == -1)
    k = int(np.argmax(ends - starts))
    if (ends[k] - starts[k]) * STEP_IOD < TEETH_IOD:
        return False
    below = col.luma[ends[k]:ends[k] + round(EDGE_IOD / STEP_IOD)]
    if (below < CAVITY * rest_median).any():
        return False
    return (col.lips - ends[k]) * STEP_IOD <= TUCKED * rest_lower


def window(ph: Phoneme, fps: int, n: int) -> slice:
    a = max(0, int(np.floor((ph.start - WINDOW_LEAD_S) * fps)))
    b = min(n, int(np.ceil(ph.end * fps)) + 1)
    return slice(a, max(a + 1, b))


def function_word_phones(phones: tuple[Phoneme, ...]) -> set[int]:
    """Indices of the phones in runs (between pauses) that spell a function word."""
    runs: list[list[int]] = [[]]
    for i, ph in enumerate(phones):
        if is_pause(ph.symbol):
            runs.append([])
        else:
            runs[-1].append(i)
    return {i for run in runs if "".join(phones[i].symbol for i in run) in FUNCTION_RUNS
            for i in run}


def score_phones(phones: tuple[Phoneme, ...], track: MouthTrack, rest: MouthTrack,
                 fps: int) -> dict[str, Any]:
    """Each phone of a measured class, judged on the frames over its interval against the
    mouth at rest (`rest`: frames of the idle face)."""
    rest_width = float(np.nanmedian(rest.width))
    cols = [c for c in rest.column if c is not None]
    rest_lips = np.concatenate([c.luma[:c.lips] for c in cols])
    rest_max, rest_median = float(rest_lips.max()), float(np.median(rest_lips))
    rest_lower = float(np.median([c.lower_lip for c in cols]))
    n = len(track.opening)
    closed: list[bool] = []
    rounded: list[bool] = []
    opened: list[bool] = []
    reduced: list[bool] = []
    tucked: list[bool] = []
    function = function_word_phones(phones)
    for k, ph in enumerate(phones):
        c = phone_class(ph.symbol)
        w = window(ph, fps, n)
        op, wd = track.opening[w], track.width[w]
        if np.isnan(op).all():
            continue
        if c in BILABIAL:
            closed.append(float(np.nanmin(op)) <= CLOSED_IOD)
        elif c in ROUNDED:
            rounded.append(float(np.nanmin(wd)) <= NARROWER * rest_width)
        elif c in OPEN:
            (reduced if k in function else opened).append(float(np.nanmax(op)) >= OPEN_IOD)
        elif c in LABIODENTAL:
            tucked.append(any(teeth_on_lip(col, rest_max, rest_median, rest_lower)
                              for col in track.column[w] if col is not None))
    ok = track.opening[~np.isnan(track.opening)]
    wk = track.width[~np.isnan(track.width)]
    return {
        "bilabials_closed": _share(closed), "rounded_narrowed": _share(rounded),
        "open_vowels_opened": _share(opened),
        "function_word_vowels_opened": _share(reduced),
        "labiodental_tucked": _share(tucked),
        "counts": {"bilabial": len(closed), "rounded": len(rounded), "open": len(opened),
                   "function_word_open": len(reduced), "labiodental": len(tucked)},
        "opening_p50_p90_max": [round(float(np.percentile(ok, q)), 3) for q in (50, 90, 100)],
        "width_range": round(float((wk.max() - wk.min()) / wk.min()), 3),
        "rest_width": round(rest_width, 3), "rest_lower_lip": round(rest_lower, 3),
    }


def _share(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 3) if flags else float("nan")


def _crop(img: np.ndarray, rig: Rig, size: int = 160) -> np.ndarray:
    lm = rig.landmarks[LIP_RING, :2]
    c = lm.mean(axis=0)
    half = 0.75 * float(np.ptp(lm[:, 0]))
    x0, y0 = (c - half).astype(int)
    x1, y1 = (c + half).astype(int)
    h, w = img.shape[:2]
    patch = img[max(0, y0):min(h, y1), max(0, x0):min(w, x1)]
    return cv2.resize(patch, (size, size), interpolation=cv2.INTER_CUBIC)


def _marked(name: str, opening: float, width: float) -> float:
    """How clearly a frame shows its class: closures and the lip tuck at their tightest,
    rounding at its narrowest, spreading at its widest, open vowels at their most open, the
    tongue consonants as they usually look (an opening near a fifth of the eye distance)."""
    if name in ("m b p", "f v"):
        return -opening
    if name == "u o w":
        return -width
    if name == "i e s":
        return width
    if name == "l t d n":
        return -abs(opening - 0.2)
    return opening


def sheet_row(rig: Rig, frames: list[np.ndarray], rest: np.ndarray,
              phones: tuple[Phoneme, ...], track: MouthTrack, fps: int) -> np.ndarray:
    """One crop per viseme class: the mouth at rest, then the phone of each class with the
    most marked shape."""
    cells = []
    for name, members in SHEET_CLASSES:
        best, best_score = -1, -np.inf
        for ph in phones:
            if phone_class(ph.symbol) not in members:
                continue
            i = min(len(frames) - 1, int(0.5 * (ph.start + ph.end) * fps))
            score = _marked(name, track.opening[i], track.width[i])
            if not np.isnan(score) and score > best_score:
                best, best_score = i, score
        cell = _crop(frames[best] if best >= 0 else rest, rig).copy()
        cv2.putText(cell, name, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 2)
        cv2.putText(cell, name, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1)
        cells.append(cell)
    return np.concatenate(cells, axis=1)


def interior_texture(rig: Rig) -> dict[str, float]:
    """The fine texture (grain.noise_level) of the painted inside of a wide-open mouth and of
    the portrait's cheeks: a painting's or a photo's interior should carry about the cheeks'
    grain, a flat drawing's none."""
    from companion.face.eyes import CHEEK_POINTS
    from companion.face.grain import noise_level
    from companion.face.params import INDEX, NAMES
    from companion.face.render import CpuRenderer

    r = CpuRenderer(rig)
    p = np.zeros(len(NAMES), np.float32)
    p[INDEX["jaw"]] = 1.0
    img = r.render(p)
    main, _ = r.vertices(p)
    poly = np.concatenate([main[list(T.INNER_UPPER)], main[list(T.INNER_LOWER)][::-1]])
    filled = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(filled, [np.round(poly[:, :2]).astype(np.int32)], (1,))
    inside = cv2.erode(filled, np.ones((5, 5), np.uint8)).astype(bool)  # not the lips' edge
    cheeks = np.zeros(img.shape[:2], bool)
    half = max(2, round(0.06 * rig.iod))
    for x, y in np.round(rig.landmarks[list(CHEEK_POINTS), :2]).astype(int):
        cheeks[max(y - half, 0):y + half, max(x - half, 0):x + half] = True
    return {"mouth_inside": round(noise_level(img, inside), 2),
            "cheeks": round(noise_level(rig.image, cheeks), 2)}


def one_avatar(name: str, speech: engine.Speech) -> tuple[dict[str, Any], np.ndarray]:
    av = resolve(name)
    rig = build_rig(av.image, av.consent)
    opts = engine.RenderOptions(label=False)
    rest = list(engine.frames(rig, engine.plan(None, 1.0, opts), opts))
    rest_track = measure(rest)
    params = engine.plan(speech, speech.duration, opts)
    frames = list(engine.frames(rig, params, opts))
    track = measure(frames)
    row = {"avatar": name, **score_phones(speech.phonemes, track, rest_track, opts.fps),
           "texture": interior_texture(rig)}
    calm = rest[int(np.nanargmin(rest_track.opening))]  # not mid-blink or mid-breath
    return row, sheet_row(rig, frames, calm, speech.phonemes, track, opts.fps)


def run(out_dir: Path, data: Path, avatars: tuple[str, ...] = AVATARS,
        sheet: Path = Path("docs/mouth-sheet.png")) -> dict[str, Any]:
    from companion.bench.lipsync import lipsync
    from companion.cpu import cpu_model
    from companion.tts import make_tts

    speech = engine.speech_from_segment(make_tts("piper").synthesize(TEXT))
    rows, cells = [], []
    for name in avatars:
        row, cell = one_avatar(name, speech)
        rows.append(row)
        cells.append(cell)
        print(f"{name}: bilabials closed {row['bilabials_closed']:.0%}, rounded narrowed "
              f"{row['rounded_narrowed']:.0%}, open vowels opened {row['open_vowels_opened']:.0%}"
              f", /f v/ teeth on the lower lip {row['labiodental_tucked']:.0%}"
              f" (of {row['counts']}; in function words "
              f"{row['function_word_vowels_opened']:.0%}); opening p50/p90/max "
              f"{row['opening_p50_p90_max']}, width range {row['width_range']:.0%}; texture "
              f"inside the mouth {row['texture']['mouth_inside']} (cheeks "
              f"{row['texture']['cheeks']})")
    mona = resolve("mona-lisa")
    rig = build_rig(mona.image, mona.consent)
    sync = [lipsync(rig, data / c) for c in ("jfk.flac", "en_librispeech_198-209-0000_female.ogg")
            if (data / c).is_file()]
    for s in sync:
        print(f"lip sync {s['clip']}: r={s['r_at_best_lag']} at lag {s['best_lag_frames']}")
    sheet.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(sheet), cv2.cvtColor(np.concatenate(cells, axis=0), cv2.COLOR_RGB2BGR))
    result = {"cpu": cpu_model(), "text": TEXT, "avatars": rows, "lipsync": sync,
              "sheet": str(sheet)}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "mouth.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"contact sheet: {sheet}")
    return result
