"""Phones → mouth shapes, with co-articulation (dominance blending, Cohen–Massaro style).

Each phone pulls the mouth toward its target with a dominance that is flat over the phone and
decays outside it (the jaw may have its own, weaker pull: rounding and closures are the lips'
work); open vowels pull hard so they open even when short; /h/ and schwa barely assert
themselves and take their neighbours' shape. The lips meet on /p b m/ through a closure envelope
over the jaw, whatever the vowels around them want, and part at the release.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.frames import Phoneme


@dataclass(frozen=True)
class Viseme:
    jaw: float
    width: float = 0.0
    pucker: float = 0.0
    upper_raise: float = 0.0
    strength: float = 1.0
    decay: float = 0.04  # seconds: how far the phone's pull reaches beyond its own interval
    # The jaw's own pull, where it differs: rounding and closures are the lips' work, and a
    # /w/ or /m/ that held the jaw as hard as its lips kept the next vowel from opening.
    jaw_strength: float | None = None
    tongue: float = 0.0  # how far the tongue tip rises toward the upper teeth
    # (the tip is free during vowels: they pull it down weakly, the tip consonants hard)
    bite: float = 0.0  # the lower lip tucked under the upper teeth (/f v/)


REST = Viseme(0.0, strength=0.4)
_V = Viseme
TABLE: dict[str, Viseme] = {
    # closures and near-closures
    # The lips meet on /p b m/ by the closure envelope in mouth_curves, not by outweighing the
    # vowels around them: a strong pull here kept "Bob" and "pass" from opening at all.
    "p": _V(0.0, strength=3, decay=0.012, jaw_strength=1.0),
    "b": _V(0.0, strength=3, decay=0.012, jaw_strength=1.0),
    "m": _V(0.0, strength=3, decay=0.012, jaw_strength=1.0),
    "f": _V(0.04, upper_raise=0.35, strength=5, decay=0.025, bite=1.0),
    "v": _V(0.04, upper_raise=0.35, strength=5, decay=0.025, bite=1.0),
    "θ": _V(0.14, width=0.2, strength=1.2, tongue=0.8),
    "ð": _V(0.14, width=0.2, strength=1.2, tongue=0.8),
    # tongue consonants keep the jaw fairly high
    "t": _V(0.14, width=0.25, strength=0.9, tongue=0.9),
    "d": _V(0.14, width=0.25, strength=0.9, tongue=0.9),
    "n": _V(0.13, width=0.2, strength=0.8, tongue=0.9),
    "l": _V(0.18, width=0.15, strength=0.7, tongue=1.0),
    "s": _V(0.07, width=0.45, strength=1.5, jaw_strength=1.0),
    "z": _V(0.07, width=0.45, strength=1.5, jaw_strength=1.0),
    "ʃ": _V(0.12, pucker=0.85, strength=2.0, jaw_strength=1.0),
    "ʒ": _V(0.12, pucker=0.85, strength=2.0, jaw_strength=1.0),
    "tʃ": _V(0.12, pucker=0.85, strength=2.0, jaw_strength=1.0),
    "dʒ": _V(0.12, pucker=0.85, strength=2.0, jaw_strength=1.0),
    "k": _V(0.22, strength=0.7), "g": _V(0.22, strength=0.7), "ɡ": _V(0.22, strength=0.7),
    "ŋ": _V(0.2, strength=0.6), "ɹ": _V(0.16, pucker=0.45, strength=0.9),
    "r": _V(0.16, pucker=0.45, strength=0.9),
    "w": _V(0.1, pucker=1.0, strength=3.0, jaw_strength=0.6),
    "j": _V(0.14, width=0.4, strength=0.8), "h": _V(0.3, strength=0.15),
    "ʔ": _V(0.1, strength=0.5), "ɾ": _V(0.16, width=0.2, strength=0.7),
    # vowels
    "i": _V(0.18, width=0.7), "ɪ": _V(0.3, width=0.5), "e": _V(0.36, width=0.5),
    "ɛ": _V(0.52, width=0.4), "æ": _V(0.9, width=0.45, strength=2.5, decay=0.05),
    "a": _V(1.0, width=0.15, strength=2.5, decay=0.05),
    "ɑ": _V(1.0, strength=2.5, decay=0.05), "ɒ": _V(0.9, pucker=0.35, strength=2.5, decay=0.05),
    "ɔ": _V(0.6, pucker=0.6), "ʌ": _V(0.95, width=0.1, strength=2.5, decay=0.05),
    "ə": _V(0.3, strength=0.6), "ɜ": _V(0.34, pucker=0.3),
    "ɚ": _V(0.3, pucker=0.35), "ɝ": _V(0.32, pucker=0.35),
    "o": _V(0.45, pucker=0.9, strength=1.5),
    "ʊ": _V(0.28, pucker=0.85, strength=1.5),
    "u": _V(0.2, pucker=1.0, strength=2.2, jaw_strength=1.0),
    "ᵻ": _V(0.28, width=0.4),
    "ɐ": _V(0.5), "ɨ": _V(0.28, width=0.3), "y": _V(0.2, pucker=0.8),
}
PAUSE = {"", " ", "sil", "sp", "^", "$", "_", ".", ",", "?", "!", ";", ":", "-", "…"}
VOWELS = set("iɪeɛæaɑɒɔʌəɜɚɝoʊuᵻɐɨy")
BILABIALS = {"p", "b", "m"}

# ARPAbet (CMUdict) → IPA
ARPABET = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "B": "b", "CH": "tʃ",
    "D": "d", "DH": "ð", "EH": "ɛ", "ER": "ɝ", "EY": "eɪ", "F": "f", "G": "ɡ", "HH": "h",
    "IH": "ɪ", "IY": "i", "JH": "dʒ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ",
    "OW": "oʊ", "OY": "ɔɪ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ",
    "UH": "ʊ", "UW": "u", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}


def viseme(symbol: str) -> Viseme:
    if symbol in PAUSE:
        return REST
    if symbol in TABLE:
        return TABLE[symbol]
    # Multi-character symbols (diphthongs, affricates): take the first known part.
    for ch in symbol:
        if ch in TABLE:
            return TABLE[ch]
    return Viseme(0.25, strength=0.5)


def is_pause(symbol: str) -> bool:
    return symbol in PAUSE


LEAD_S = 0.03  # the lips move this much before the sound they shape


# The columns of mouth_curves, named as the face parameters they drive.
MOUTH_COLUMNS = ("jaw", "width", "pucker", "upper_raise", "tongue", "bite", "seal")


def mouth_curves(phonemes: list[Phoneme] | tuple[Phoneme, ...], times: np.ndarray,
                 lead: float = LEAD_S) -> np.ndarray:
    """Mouth parameters (len(times), len(MOUTH_COLUMNS)) at each time; the last, `seal`, is the
    closure envelope, which also holds the jaw shut.

    `lead` shifts targets earlier: the lips move before the sound they shape. A closure still
    holds until its release: the lips close early but do not open before the burst.
    """
    t = np.asarray(times, np.float64) + lead
    num = np.zeros((len(t), 6))
    # A faint pull toward rest everywhere closes the mouth far from any phone.
    den = np.full((len(t), 6), 0.051)
    for ph in phonemes:
        v = viseme(ph.symbol)
        end = ph.end + (lead if ph.symbol in BILABIALS else 0.0)
        half = max(end - ph.start, 1e-3) / 2.0
        c = ph.start + half
        outside = np.maximum(np.abs(t - c) - half, 0.0)
        near = outside < 8 * v.decay
        if not near.any():
            continue
        pull = np.exp(-outside[near] / v.decay)[:, None] * np.array(
            [v.strength if v.jaw_strength is None else v.jaw_strength, v.strength, v.strength,
             v.strength, 3.0 * v.strength if v.tongue > 0 else 0.25 * v.strength,
             v.strength if v.bite > 0 else 0.25 * v.strength])
        num[near] += pull * np.array([v.jaw, v.width, v.pucker, v.upper_raise, v.tongue,
                                      v.bite])
        den[near] += pull
    shut = closure(phonemes, t, lead)
    out = np.column_stack([num / den, shut])
    out[:, 0] *= 1.0 - shut
    return out.astype(np.float32)


CLOSE_RAMP_S = 0.008  # how fast the lips part after a closure's release (and meet before it)


def closure(phonemes: list[Phoneme] | tuple[Phoneme, ...], t: np.ndarray,
            lead: float) -> np.ndarray:
    """1 where the lips are held shut for /p b m/ (their interval, lead included), falling off
    within ~CLOSE_RAMP_S either side: the jaw may be where the vowels want it, the lips still
    meet, then part with a visible release. `t` is already shifted by `lead`: the lips meet
    early but do not part before the burst."""
    c = np.zeros(len(t))
    for ph in phonemes:
        if ph.symbol not in BILABIALS:
            continue
        outside = np.maximum(np.maximum(ph.start - t, t - ph.end - lead), 0.0)
        c = np.maximum(c, np.exp(-((outside / CLOSE_RAMP_S) ** 2)))
    return c
